import { metaMessageValidator } from '../../../test/support/meta-spec';
import { outboundMessageSchema } from '../../domain/messages/outbound.schema';
import { parseInput } from '../../http/validate';
import { AppError } from '../../lib/errors';
import { toGraphBody } from './message-body';

const validate = metaMessageValidator();
const to = '+16505551234';

const VALID: Record<string, Record<string, unknown>> = {
  text: { to, type: 'text', text: { body: 'Hello ☕', preview_url: true } },
  'text reply': { to, type: 'text', text: { body: 'Yes' }, reply_to: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=' },
  'image by link': { to, type: 'image', image: { link: 'https://example.com/cup.jpg', caption: 'Our latte' } },
  'image by id': { to, type: 'image', image: { id: '1003383421387256' } },
  video: { to, type: 'video', video: { link: 'https://example.com/v.mp4', caption: 'Tour' } },
  'voice note': { to, type: 'audio', audio: { id: '1003383421387257', voice: true } },
  document: { to, type: 'document', document: { link: 'https://example.com/menu.pdf', filename: 'menu.pdf', caption: 'Menu' } },
  sticker: { to, type: 'sticker', sticker: { id: '1003383421387258' } },
  location: { to, type: 'location', location: { latitude: 37.48, longitude: -122.15, name: 'Corner Coffee', address: '1 Hacker Way' } },
  contacts: {
    to,
    type: 'contacts',
    contacts: [{ name: { formatted_name: 'Barista Bob', first_name: 'Bob' }, phones: [{ phone: '+16505550000', type: 'WORK', wa_id: '16505550000' }] }],
  },
  'reply buttons': {
    to,
    type: 'interactive',
    interactive: {
      type: 'button',
      header: { type: 'text', text: 'Your order' },
      body: { text: 'Pick up or delivery?' },
      footer: { text: 'Corner Coffee' },
      action: { buttons: [{ type: 'reply', reply: { id: 'pickup', title: 'Pick up' } }, { type: 'reply', reply: { id: 'delivery', title: 'Delivery' } }] },
    },
  },
  list: {
    to,
    type: 'interactive',
    interactive: {
      type: 'list',
      body: { text: 'Choose a drink' },
      action: {
        button: 'Menu',
        sections: [
          { title: 'Hot', rows: [{ id: 'latte', title: 'Latte', description: 'Espresso and milk' }] },
          { title: 'Cold', rows: [{ id: 'cold-brew', title: 'Cold brew' }] },
        ],
      },
    },
  },
  'cta url': {
    to,
    type: 'interactive',
    interactive: { type: 'cta_url', body: { text: 'See the menu' }, action: { name: 'cta_url', parameters: { display_text: 'Open menu', url: 'https://example.com/menu' } } },
  },
  reaction: { to, type: 'reaction', reaction: { message_id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', emoji: '👍' } },
  'reaction removed': { to, type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '' } },
  template: {
    to,
    type: 'template',
    template: {
      name: 'order_confirmation',
      language: { code: 'en_US' },
      components: [
        { type: 'header', parameters: [{ type: 'image', image: { link: 'https://example.com/h.jpg' } }] },
        { type: 'body', parameters: [{ type: 'text', text: 'Jessica' }, { type: 'currency', currency: { fallback_value: '$10', code: 'USD', amount_1000: 10000 } }] },
        { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'YES' }] },
      ],
    },
  },
  'template without parameters': { to: '16505551234', type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } },
};

describe('outbound bodies against Meta\'s Message schema', () => {
  it.each(Object.keys(VALID))('%s: accepted, and the Graph body validates', (name) => {
    const msg = outboundMessageSchema.parse(VALID[name]);
    const body = toGraphBody(msg);
    expect(validate(body)).toEqual([]);
    expect(body).toMatchObject({ messaging_product: 'whatsapp', recipient_type: 'individual', to });
  });

  it('the validator does refuse bodies Meta would refuse', () => {
    const body = toGraphBody(outboundMessageSchema.parse(VALID.text));
    expect(validate({ ...body, type: 'text', text: { body: 'x', colour: 'red' } })).not.toEqual([]);
    expect(validate({ ...body, surprise: true })).not.toEqual([]);
    const { recipient_type: _r, ...withoutRecipientType } = body;
    expect(validate(withoutRecipientType)).not.toEqual([]);
  });

  it('a reply carries the quoted message as context', () => {
    expect(toGraphBody(outboundMessageSchema.parse(VALID['text reply']))).toMatchObject({ context: { message_id: expect.stringMatching(/^wamid\./) } });
  });
});

const button = (id: string, title: string) => ({ type: 'reply', reply: { id, title } });
const buttons = (list: unknown[]) => ({ to, type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, action: { buttons: list } } });
const list = (sections: unknown[], extra: Record<string, unknown> = {}) => ({
  to,
  type: 'interactive',
  interactive: { type: 'list', body: { text: 'b' }, action: { button: 'Menu', sections, ...extra } },
});
const rows = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, title: `Row ${prefix}${i}` }));

const INVALID: [string, Record<string, unknown>, string][] = [
  ['no to', { type: 'text', text: { body: 'x' } }, 'to'],
  ['to not E.164', { to: '555-1234', type: 'text', text: { body: 'x' } }, 'to'],
  ['to with letters', { to: '+1650555ABCD', type: 'text', text: { body: 'x' } }, 'to'],
  ['no type', { to, text: { body: 'x' } }, 'type'],
  ['unknown type', { to, type: 'hologram' }, 'type'],
  ['text missing', { to, type: 'text' }, 'text'],
  ['empty text', { to, type: 'text', text: { body: '' } }, 'text.body'],
  ['text over 4096', { to, type: 'text', text: { body: 'x'.repeat(4097) } }, 'text.body'],
  ['unknown field on text', { to, type: 'text', text: { body: 'x', bold: true } }, 'text.bold'],
  ['unknown top-level field', { to, type: 'text', text: { body: 'x' }, priority: 'high' }, 'priority'],
  ['image without id or link', { to, type: 'image', image: { caption: 'x' } }, 'image.id'],
  ['image with id and link', { to, type: 'image', image: { id: '1', link: 'https://x.example/a.jpg' } }, 'image.id'],
  ['image link over http', { to, type: 'image', image: { link: 'http://x.example/a.jpg' } }, 'image.link'],
  ['caption over 1024', { to, type: 'image', image: { id: '1', caption: 'x'.repeat(1025) } }, 'image.caption'],
  ['caption on a sticker', { to, type: 'sticker', sticker: { id: '1', caption: 'no' } }, 'sticker.caption'],
  ['latitude out of range', { to, type: 'location', location: { latitude: 91, longitude: 0 } }, 'location.latitude'],
  ['longitude missing', { to, type: 'location', location: { latitude: 1 } }, 'location.longitude'],
  ['contacts empty', { to, type: 'contacts', contacts: [] }, 'contacts'],
  ['contact without a name', { to, type: 'contacts', contacts: [{ phones: [] }] }, 'contacts.0.name'],
  ['no buttons', buttons([]), 'interactive.action.buttons'],
  ['four buttons', buttons([button('a', 'A'), button('b', 'B'), button('c', 'C'), button('d', 'D')]), 'interactive.action.buttons'],
  ['button title over 20', buttons([button('a', 'x'.repeat(21))]), 'interactive.action.buttons.0.reply.title'],
  ['button id over 256', buttons([button('x'.repeat(257), 'A')]), 'interactive.action.buttons.0.reply.id'],
  ['duplicate button ids', buttons([button('a', 'A'), button('a', 'B')]), 'interactive.action.buttons'],
  ['duplicate button titles', buttons([button('a', 'A'), button('b', 'A')]), 'interactive.action.buttons'],
  ['interactive body over 1024', { to, type: 'interactive', interactive: { type: 'button', body: { text: 'x'.repeat(1025) }, action: { buttons: [button('a', 'A')] } } }, 'interactive.body.text'],
  ['footer over 60', { to, type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, footer: { text: 'x'.repeat(61) }, action: { buttons: [button('a', 'A')] } } }, 'interactive.footer.text'],
  ['list button over 20', list([{ rows: rows(1) }], { button: 'x'.repeat(21) }), 'interactive.action.button'],
  ['list with 11 rows', list([{ title: 'A', rows: rows(6, 'a') }, { title: 'B', rows: rows(5, 'b') }]), 'interactive.action.sections'],
  ['list with 11 sections', list(Array.from({ length: 11 }, (_, i) => ({ title: `S${i}`, rows: rows(1, `s${i}`) }))), 'interactive.action.sections'],
  ['list section without title when several', list([{ title: 'A', rows: rows(1, 'a') }, { rows: rows(1, 'b') }]), 'interactive.action.sections.1.title'],
  ['list row title over 24', list([{ rows: [{ id: 'a', title: 'x'.repeat(25) }] }]), 'interactive.action.sections.0.rows.0.title'],
  ['list row description over 72', list([{ rows: [{ id: 'a', title: 'A', description: 'x'.repeat(73) }] }]), 'interactive.action.sections.0.rows.0.description'],
  ['list duplicate row ids', list([{ rows: [{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }] }]), 'interactive.action.sections'],
  ['cta url not https', { to, type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'Go', url: 'ftp://x' } } } }, 'interactive.action.parameters.url'],
  ['cta display text over 20', { to, type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'x'.repeat(21), url: 'https://x.example' } } } }, 'interactive.action.parameters.display_text'],
  ['interactive type unknown', { to, type: 'interactive', interactive: { type: 'carousel', body: { text: 'b' } } }, 'interactive.type'],
  ['reaction without message id', { to, type: 'reaction', reaction: { emoji: '👍' } }, 'reaction.message_id'],
  ['template name with capitals', { to, type: 'template', template: { name: 'Order', language: { code: 'en_US' } } }, 'template.name'],
  ['template language bad', { to, type: 'template', template: { name: 'order', language: { code: 'English' } } }, 'template.language.code'],
  ['template component type unknown', { to, type: 'template', template: { name: 'order', language: { code: 'en' }, components: [{ type: 'footer' }] } }, 'template.components.0.type'],
  ['metadata not strings', { to, type: 'text', text: { body: 'x' }, metadata: { order: 5 } }, 'metadata.order'],
];

describe('outbound validation names the field', () => {
  it(`has at least 30 cases (${INVALID.length})`, () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(30);
  });

  it.each(INVALID)('%s -> 400 on %s', (_name, input, param) => {
    let error: unknown;
    try {
      parseInput(outboundMessageSchema, input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    expect((error as AppError).param).toBe(param);
  });
});
