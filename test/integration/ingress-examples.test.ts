import type { Express } from 'express';
import { EXAMPLES, postSigned, SPEC_PHONE_NUMBER_ID } from '../support/meta';
import { APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';

/**
 * Every webhook example of Meta's OpenAPI spec, correctly signed, gets 200 and exactly the rows it
 * should produce.
 */
interface Expected {
  message?: { type: string; author?: string; content: Record<string, unknown> };
  /** An agent job is scheduled (the customer expects an answer). */
  agentJob: boolean;
  /** The 24-hour window opens. */
  window: boolean;
  media?: number;
  change?: string;
}

const TABLE: Record<string, Expected> = {
  'Text Message': { message: { type: 'text', content: { text: 'Does it come in another color?' } }, agentJob: true, window: true },
  'Text Message with Context (Product Inquiry)': {
    message: {
      type: 'text',
      content: {
        text: 'Is this still available?',
        context: expect.objectContaining({
          message_id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA',
          referred_product: { catalog_id: '194836987003835', product_retailer_id: 'di9ozbzfi4' },
        }),
      },
    },
    agentJob: true,
    window: true,
  },
  'Text Message from Click to WhatsApp Ad': {
    message: {
      type: 'text',
      content: {
        text: 'Hello! Can I get more info on this?',
        referral: expect.objectContaining({ source_type: 'ad', ctwa_clid: expect.stringMatching(/^Aff-/), headline: 'Chat with us' }),
      },
    },
    agentJob: true,
    window: true,
  },
  'Reaction Message': {
    message: { type: 'reaction', content: { reaction: { message_id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA', emoji: '👍' } } },
    agentJob: false,
    window: false,
  },
  'Image Message': {
    message: { type: 'image', content: { media: expect.objectContaining({ kind: 'image', mime_type: 'image/jpeg' }) } },
    agentJob: true,
    window: true,
    media: 1,
  },
  'Location Message': {
    message: { type: 'location', content: { location: expect.objectContaining({ latitude: expect.any(Number), longitude: expect.any(Number) }) } },
    agentJob: true,
    window: true,
  },
  'Contact Sharing Message': {
    message: { type: 'contacts', content: { contacts: expect.arrayContaining([expect.objectContaining({ name: expect.any(Object) })]) } },
    agentJob: true,
    window: true,
  },
  'Unsupported Message': {
    message: { type: 'unsupported', content: { errors: [expect.objectContaining({ code: 131051 })] } },
    agentJob: false,
    window: false,
  },
  'Button Message': {
    message: { type: 'button', content: { text: 'Unsubscribe', button: { text: 'Unsubscribe', payload: 'Unsubscribe' } } },
    agentJob: true,
    window: true,
  },
  'Interactive List Reply Message': {
    message: {
      type: 'interactive',
      content: {
        text: 'Priority Mail Express',
        interactive: { type: 'list_reply', id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' },
      },
    },
    agentJob: true,
    window: true,
  },
  'Interactive Button Reply Message': {
    message: { type: 'interactive', content: { text: 'Cancel', interactive: { type: 'button_reply', id: 'cancel-button', title: 'Cancel' } } },
    agentJob: true,
    window: true,
  },
  'Order Message': {
    message: {
      type: 'order',
      content: { order: { catalog_id: '194836987003835', text: '', product_items: expect.arrayContaining([expect.objectContaining({ quantity: 2 })]) } },
    },
    agentJob: true,
    window: true,
  },
  'System Message': {
    message: {
      type: 'system',
      author: 'system',
      content: { system: { type: 'user_changed_number', body: expect.stringContaining('changed from'), new_wa_id: '12195555358' } },
    },
    agentJob: false,
    window: false,
  },
  'Group Create Message': { agentJob: false, window: false, change: 'group_lifecycle_update' },
  'Group Settings Update': { agentJob: false, window: false, change: 'group_settings_update' },
  'Group Remove Participants': { agentJob: false, window: false, change: 'group_participants_update' },
};

describe("Meta's webhook examples", () => {
  let f: IngressFixture;
  let app: Express;
  beforeAll(async () => {
    f = await createIngressFixture();
    app = f.rt.app as Express;
  });
  afterAll(async () => {
    await f.rt.teardown();
  });
  beforeEach(async () => {
    await f.reset();
  });

  it('covers every example in the spec', () => {
    expect(Object.keys(TABLE).sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  it.each(Object.keys(TABLE))('%s', async (name) => {
    const payload = EXAMPLES[name] as {
      entry: { changes: { value: { messages?: { id: string; timestamp: string; from: string; context?: { id: string } }[] } }[] }[];
    };
    const expected = TABLE[name] as Expected;
    const res = await postSigned(app, payload, APP_SECRET);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: true, outcome: 'stored' });

    const messages = await f.rows<Record<string, unknown>>(
      'select m.*, c.wa_id, c.profile_name from messages m join conversations v on v.id = m.conversation_id join contacts c on c.id = v.contact_id',
    );
    const events = await f.rows<{ type: string }>('select type from events order by seq');
    if (expected.message) {
      const source = payload.entry[0]?.changes[0]?.value.messages?.[0];
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({
        direction: 'in',
        status: 'received',
        wamid: source?.id,
        type: expected.message.type,
        author: expected.message.author ?? 'customer',
        content: expect.objectContaining(expected.message.content),
        meta_timestamp: new Date(Number(source?.timestamp) * 1000),
        wa_id: source?.from,
        // A reply (quoted message, button or list answer) names the message it answers.
        reply_to_wamid: source?.context?.id ?? null,
      });
      expect(messages[0]?.raw).toEqual(source); // the raw element is kept untouched
      expect(events.map((e) => e.type)).toEqual(['conversation.created', 'message.received']);
      const [conv] = await f.rows<{ window_expires_at: Date | null; last_inbound_at: Date | null }>('select * from conversations');
      if (expected.window) {
        expect(conv?.window_expires_at).toEqual(new Date((Number(source?.timestamp) + 86_400) * 1000));
      } else {
        expect(conv?.window_expires_at).toBeNull();
      }
    } else {
      expect(messages).toHaveLength(0);
      expect(events).toHaveLength(0);
    }
    expect(await f.agentJobs()).toBe(expected.agentJob ? 1 : 0);
    const media = await f.rows('select * from media');
    expect(media).toHaveLength(expected.media ?? 0);
    const changes = await f.rows<{ field: string; phone_number_id: string | null }>('select field, phone_number_id from meta_webhook_changes');
    expect(changes.map((c) => c.field)).toEqual(expected.change ? [expected.change] : []);
    if (expected.change) expect(changes[0]?.phone_number_id).toBe(f.numberId);
  });

  it('contacts carry the profile name and the business-scoped user id', async () => {
    const payload = structuredClone(EXAMPLES['Text Message']) as { entry: { changes: { value: { contacts: Record<string, unknown>[] } }[] }[] };
    const contact = payload.entry[0]?.changes[0]?.value.contacts[0] as Record<string, unknown>;
    contact.user_id = 'US.13491208655302741918';
    await postSigned(app, payload, APP_SECRET).expect(200);
    const [row] = await f.rows('select wa_id, user_id, profile_name from contacts');
    expect(row).toEqual({ wa_id: '16505551234', user_id: 'US.13491208655302741918', profile_name: 'Sheena Nelson' });
    expect(SPEC_PHONE_NUMBER_ID).toBe('106540352242922');
  });
});
