import { z } from 'zod';

/**
 * The body of an outbound message as API users write it (POST /v1/messages, and the agent reply
 * route minus to/from), with WhatsApp's limits checked here so that a bad message is a 400 naming
 * the field, never a failed send later. Limits: shared/reference/whatsapp-cloud-api.md section 5.
 */

const httpsUrl = z
  .string()
  .max(2000)
  .refine((v) => {
    try {
      return new URL(v).protocol === 'https:';
    } catch {
      return false;
    }
  }, { message: 'must be an https URL' });

const text = (max: number) => z.string().min(1, { message: 'must not be empty' }).max(max, { message: `must be at most ${max} characters` });

/** Media by our/Meta's uploaded id or by an https link: exactly one of them. */
const media = <T extends z.ZodRawShape>(extra: T) =>
  z
    .strictObject({ id: z.string().min(1).max(256).optional(), link: httpsUrl.optional(), ...extra })
    .refine((m) => {
      const r = m as { id?: string; link?: string };
      return (r.id === undefined) !== (r.link === undefined);
    }, { message: 'give exactly one of id or link', path: ['id'] });

const header = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: text(60) }),
  z.strictObject({ type: z.literal('image'), image: media({}) }),
  z.strictObject({ type: z.literal('video'), video: media({}) }),
  z.strictObject({ type: z.literal('document'), document: media({ filename: z.string().max(240).optional() }) }),
]);
const body = z.strictObject({ text: text(1024) });
const footer = z.strictObject({ text: text(60) });

const uniqueBy = <T>(items: T[], pick: (t: T) => string) => new Set(items.map(pick)).size === items.length;

const buttonInteractive = z.strictObject({
  type: z.literal('button'),
  header: header.optional(),
  body,
  footer: footer.optional(),
  action: z.strictObject({
    buttons: z
      .array(z.strictObject({ type: z.literal('reply'), reply: z.strictObject({ id: text(256), title: text(20) }) }))
      .min(1, { message: 'must have 1 to 3 buttons' })
      .max(3, { message: 'must have 1 to 3 buttons' })
      .refine((b) => uniqueBy(b, (x) => x.reply.id), { message: 'button ids must be unique' })
      .refine((b) => uniqueBy(b, (x) => x.reply.title), { message: 'button titles must be unique' }),
  }),
});

const listInteractive = z.strictObject({
  type: z.literal('list'),
  header: z.strictObject({ type: z.literal('text'), text: text(60) }).optional(),
  body,
  footer: footer.optional(),
  action: z
    .strictObject({
      button: text(20),
      sections: z
        .array(
          z.strictObject({
            title: text(24).optional(),
            rows: z
              .array(z.strictObject({ id: text(200), title: text(24), description: text(72).optional() }))
              .min(1, { message: 'every section needs at least one row' }),
          }),
        )
        .min(1, { message: 'must have 1 to 10 sections' })
        .max(10, { message: 'must have 1 to 10 sections' }),
    })
    .superRefine((a, ctx) => {
      const rows = a.sections.flatMap((s) => s.rows);
      if (rows.length > 10) ctx.addIssue({ code: 'custom', path: ['sections'], message: 'may hold at most 10 rows in all sections together' });
      if (!uniqueBy(rows, (r) => r.id)) ctx.addIssue({ code: 'custom', path: ['sections'], message: 'row ids must be unique' });
      if (a.sections.length > 1) {
        a.sections.forEach((s, i) => {
          if (!s.title) ctx.addIssue({ code: 'custom', path: ['sections', i, 'title'], message: 'is required when there is more than one section' });
        });
      }
    }),
});

const ctaInteractive = z.strictObject({
  type: z.literal('cta_url'),
  header: header.optional(),
  body,
  footer: footer.optional(),
  action: z.strictObject({
    name: z.literal('cta_url'),
    parameters: z.strictObject({ display_text: text(20), url: httpsUrl }),
  }),
});

const templateParameter = z.looseObject({ type: z.string().min(1) });
const templateComponent = z.looseObject({
  type: z.enum(['header', 'body', 'button']),
  sub_type: z.string().optional(),
  index: z.union([z.string(), z.number()]).optional(),
  parameters: z.array(templateParameter).optional(),
});

const contact = z.looseObject({
  name: z.looseObject({ formatted_name: text(512) }),
  phones: z.array(z.looseObject({ phone: z.string().max(64).optional(), type: z.string().optional(), wa_id: z.string().optional() })).optional(),
  emails: z.array(z.looseObject({ email: z.string().email().optional(), type: z.string().optional() })).optional(),
});

const common = {
  from: z.string().min(1).max(64).optional(),
  to: z
    .string()
    .regex(/^\+?[1-9]\d{6,14}$/, { message: 'must be an E.164 phone number, like +16505551234' })
    .transform((v) => (v.startsWith('+') ? v : `+${v}`)),
  reply_to: z.string().min(1).max(512).optional(),
  metadata: z
    .record(z.string().max(64), z.string().max(500))
    .refine((m) => Object.keys(m).length <= 20, { message: 'may hold at most 20 keys' })
    .optional(),
};

export const outboundMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...common, type: z.literal('text'), text: z.strictObject({ body: text(4096), preview_url: z.boolean().optional() }) }),
  z.strictObject({ ...common, type: z.literal('image'), image: media({ caption: text(1024).optional() }) }),
  z.strictObject({ ...common, type: z.literal('video'), video: media({ caption: text(1024).optional() }) }),
  z.strictObject({ ...common, type: z.literal('audio'), audio: media({ voice: z.boolean().optional() }) }),
  z.strictObject({ ...common, type: z.literal('document'), document: media({ caption: text(1024).optional(), filename: z.string().min(1).max(240).optional() }) }),
  z.strictObject({ ...common, type: z.literal('sticker'), sticker: media({}) }),
  z.strictObject({
    ...common,
    type: z.literal('location'),
    location: z.strictObject({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: z.string().max(1000).optional(),
      address: z.string().max(1000).optional(),
    }),
  }),
  z.strictObject({ ...common, type: z.literal('contacts'), contacts: z.array(contact).min(1).max(50) }),
  z.strictObject({
    ...common,
    type: z.literal('interactive'),
    interactive: z.discriminatedUnion('type', [buttonInteractive, listInteractive, ctaInteractive]),
  }),
  z.strictObject({
    ...common,
    type: z.literal('reaction'),
    // An empty emoji removes the reaction.
    reaction: z.strictObject({ message_id: z.string().min(1).max(512), emoji: z.string().max(16) }),
  }),
  z.strictObject({
    ...common,
    type: z.literal('template'),
    template: z.strictObject({
      name: z.string().regex(/^[a-z0-9_]{1,512}$/, { message: 'must be a template name: lower-case letters, digits and _' }),
      language: z.strictObject({ code: z.string().regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, { message: 'must be a language code like en_US' }) }),
      components: z.array(templateComponent).max(20).optional(),
    }),
  }),
]);

export type OutboundMessage = z.output<typeof outboundMessageSchema>;
export type OutboundType = OutboundMessage['type'];
export const FREE_FORM_TYPES: readonly OutboundType[] = [
  'text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'reaction',
];
