import { z } from 'zod';

/**
 * Meta's webhook payloads, parsed tolerantly: every object is loose (unknown fields are kept), and
 * each element of a batch is parsed on its own so that one odd element never costs the others.
 * Reference: shared/reference/whatsapp-cloud-api.md sections 1-4 and 10.
 */

/** Meta sends unix seconds as strings; we accept numbers too, and refuse nonsense. */
export const metaTimestamp = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const seconds = typeof v === 'number' ? v : Number(v);
  // 2000-01-01 .. 2100-01-01: anything else is not a message timestamp.
  if (!Number.isFinite(seconds) || seconds < 946_684_800 || seconds > 4_102_444_800) {
    ctx.addIssue({ code: 'custom', message: 'timestamp must be unix seconds' });
    return z.NEVER;
  }
  return new Date(Math.round(seconds * 1000));
});

const idString = z.union([z.string(), z.number()]).transform(String).pipe(z.string().min(1).max(64));

export const envelopeSchema = z.looseObject({
  object: z.string().max(64),
  entry: z
    .array(
      z.looseObject({
        id: idString,
        time: z.number().optional(),
        changes: z.array(z.looseObject({ field: z.string().min(1).max(128), value: z.unknown() })).max(10_000),
      }),
    )
    .max(10_000),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export const messagesValueSchema = z.looseObject({
  messaging_product: z.string().optional(),
  metadata: z.looseObject({
    display_phone_number: z.string().max(64).optional(),
    phone_number_id: idString,
  }),
  contacts: z.array(z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
  errors: z.array(z.unknown()).optional(),
});

export const contactSchema = z.looseObject({
  wa_id: z.string().max(64).optional(),
  user_id: z.string().max(256).optional(),
  profile: z.looseObject({ name: z.string().max(1024).optional() }).optional(),
});
export type WebhookContact = z.infer<typeof contactSchema>;

export const metaErrorSchema = z.looseObject({
  code: z.number().int(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});
export type MetaError = z.infer<typeof metaErrorSchema>;

export const inboundMessageSchema = z.looseObject({
  id: z.string().min(1).max(512),
  from: z.string().max(64).optional(),
  from_user_id: z.string().max(256).optional(),
  timestamp: metaTimestamp,
  type: z.string().min(1).max(64),
  context: z
    .looseObject({
      from: z.string().optional(),
      id: z.string().optional(),
      forwarded: z.boolean().optional(),
      frequently_forwarded: z.boolean().optional(),
      referred_product: z.looseObject({}).optional(),
    })
    .optional(),
  referral: z.looseObject({}).optional(),
  errors: z.array(z.unknown()).optional(),
});
export type InboundMessage = z.infer<typeof inboundMessageSchema>;

export const statusSchema = z.looseObject({
  id: z.string().min(1).max(512),
  status: z.string().min(1).max(32),
  timestamp: metaTimestamp,
  recipient_id: z.string().max(64).optional(),
  biz_opaque_callback_data: z.string().optional(),
  conversation: z.looseObject({}).optional(),
  pricing: z
    .looseObject({
      billable: z.boolean().optional(),
      pricing_model: z.string().optional(),
      type: z.string().optional(),
      category: z.string().optional(),
    })
    .optional(),
  errors: z.array(z.unknown()).optional(),
});
export type WebhookStatus = z.infer<typeof statusSchema>;

export const templateStatusSchema = z.looseObject({
  event: z.string().min(1).max(64),
  message_template_id: idString,
  message_template_name: z.string().max(512).optional(),
  message_template_language: z.string().max(32).optional(),
  message_template_category: z.string().max(64).optional(),
  reason: z.string().nullable().optional(),
});
export type TemplateStatusUpdate = z.infer<typeof templateStatusSchema>;

// --- Per-type bodies of inbound messages (all optional fields tolerated). ---

const mediaBody = z.looseObject({
  id: z.string().min(1),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
  url: z.string().optional(),
});

export const typeBodies = {
  text: z.looseObject({ body: z.string() }),
  image: mediaBody,
  video: mediaBody,
  audio: mediaBody,
  document: mediaBody,
  sticker: mediaBody,
  location: z.looseObject({
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().optional(),
    address: z.string().optional(),
    url: z.string().optional(),
  }),
  contacts: z.array(z.looseObject({})),
  interactive: z.looseObject({
    type: z.string(),
    button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
    list_reply: z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
    nfm_reply: z
      .looseObject({ name: z.string().optional(), body: z.string().optional(), response_json: z.string().optional() })
      .optional(),
  }),
  button: z.looseObject({ text: z.string().optional(), payload: z.string().optional() }),
  reaction: z.looseObject({ message_id: z.string(), emoji: z.string().optional() }),
  order: z.looseObject({
    catalog_id: z.string().optional(),
    text: z.string().optional(),
    product_items: z.array(z.looseObject({})).optional(),
  }),
  system: z.looseObject({
    body: z.string().optional(),
    wa_id: z.string().optional(),
    type: z.string().optional(),
    customer: z.string().optional(),
  }),
  unsupported: z.looseObject({ type: z.string().optional() }),
} as const;

export type KnownType = keyof typeof typeBodies;
export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
