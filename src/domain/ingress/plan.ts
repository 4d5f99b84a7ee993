import { normalizeMessage, type NormalizedMessage } from './normalize';
import {
  contactSchema,
  inboundMessageSchema,
  messagesValueSchema,
  metaErrorSchema,
  statusSchema,
  templateStatusSchema,
  type Envelope,
  type MetaError,
  type WebhookContact,
} from './webhook.schema';

/** A number the signature was verified for. */
export interface VerifiedNumber {
  id: string;
  workspaceId: string;
  phoneNumberId: string;
  wabaId: string;
}

export type StatusName = 'sent' | 'delivered' | 'read' | 'failed';

export interface InboundItem {
  number: VerifiedNumber;
  contact: { waId: string | undefined; userId: string | undefined; name: string | undefined };
  message: NormalizedMessage;
}

export interface StatusItem {
  number: VerifiedNumber;
  wamid: string;
  status: StatusName;
  timestamp: Date;
  recipientId: string | undefined;
  error: MetaError | undefined;
  pricing: { type?: string; category?: string } | undefined;
  raw: unknown;
}

export interface TemplateItem {
  workspaceId: string;
  wabaId: string;
  metaTemplateId: string;
  name: string | undefined;
  /** In the API's form (en_US); the webhook writes en-US. */
  language: string | undefined;
  event: string;
  category: string | undefined;
  reason: string | null | undefined;
  raw: unknown;
}

export interface OtherChange {
  workspaceId: string;
  phoneNumberId: string | undefined;
  wabaId: string;
  field: string;
  value: unknown;
}

export interface IngressPlan {
  inbound: InboundItem[];
  statuses: StatusItem[];
  templates: TemplateItem[];
  other: OtherChange[];
  /** Elements we could not use (no id, bad timestamp, ...), with why; the rest is processed. */
  skipped: { where: string; reason: string }[];
  /** Changes for numbers this signature does not cover. */
  foreign: string[];
  /** The delivery's correlation id, carried on to the agent jobs of its messages. */
  correlationId?: string;
}

// Meta's 'played' (first play of a voice note) implies 'read' for our state machine.
const STATUS_ALIASES: Record<string, StatusName> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  played: 'read',
  failed: 'failed',
};

function findContact(contacts: WebhookContact[], from: string | undefined, userId: string | undefined): WebhookContact | undefined {
  return (
    contacts.find((c) => (from !== undefined && c.wa_id === from) || (userId !== undefined && c.user_id === userId)) ??
    (contacts.length === 1 ? contacts[0] : undefined)
  );
}

/**
 * Turns a verified envelope into what must be stored. `byPhoneNumberId` and `byWaba` hold only
 * the numbers whose app secret verified the signature: anything for another number is left out.
 */
export function planIngress(
  envelope: Envelope,
  byPhoneNumberId: ReadonlyMap<string, VerifiedNumber>,
  byWaba: ReadonlyMap<string, VerifiedNumber>,
): IngressPlan {
  const plan: IngressPlan = { inbound: [], statuses: [], templates: [], other: [], skipped: [], foreign: [] };
  envelope.entry.forEach((entry, ei) => {
    entry.changes.forEach((change, ci) => {
      const where = `entry.${ei}.changes.${ci}`;
      if (change.field === 'messages') {
        const value = messagesValueSchema.safeParse(change.value);
        if (!value.success) {
          plan.skipped.push({ where, reason: 'messages change without metadata.phone_number_id' });
          return;
        }
        const number = byPhoneNumberId.get(value.data.metadata.phone_number_id);
        if (!number) {
          plan.foreign.push(value.data.metadata.phone_number_id);
          return;
        }
        const contacts = (value.data.contacts ?? []).flatMap((c) => {
          const r = contactSchema.safeParse(c);
          return r.success ? [r.data] : [];
        });
        (value.data.messages ?? []).forEach((raw, mi) => {
          const m = inboundMessageSchema.safeParse(raw);
          if (!m.success) {
            plan.skipped.push({ where: `${where}.value.messages.${mi}`, reason: m.error.issues[0]?.message ?? 'invalid' });
            return;
          }
          if (!m.data.from && !m.data.from_user_id) {
            plan.skipped.push({ where: `${where}.value.messages.${mi}`, reason: 'message without sender' });
            return;
          }
          const c = findContact(contacts, m.data.from, m.data.from_user_id);
          plan.inbound.push({
            number,
            contact: { waId: m.data.from ?? c?.wa_id, userId: m.data.from_user_id ?? c?.user_id, name: c?.profile?.name },
            message: normalizeMessage(m.data, raw),
          });
        });
        (value.data.statuses ?? []).forEach((raw, si) => {
          const s = statusSchema.safeParse(raw);
          const status = s.success ? STATUS_ALIASES[s.data.status] : undefined;
          if (!s.success || !status) {
            plan.skipped.push({ where: `${where}.value.statuses.${si}`, reason: s.success ? `unknown status ${s.data.status}` : 'invalid status' });
            return;
          }
          const firstError = s.data.errors?.map((e) => metaErrorSchema.safeParse(e)).find((r) => r.success)?.data;
          plan.statuses.push({
            number,
            wamid: s.data.id,
            status,
            timestamp: s.data.timestamp,
            recipientId: s.data.recipient_id,
            error: firstError,
            pricing: s.data.pricing ? { type: s.data.pricing.type, category: s.data.pricing.category } : undefined,
            raw,
          });
        });
        if (value.data.errors?.length) {
          plan.other.push({ workspaceId: number.workspaceId, phoneNumberId: number.id, wabaId: number.wabaId, field: 'messages.errors', value: value.data.errors });
        }
        return;
      }

      // Other fields carry their data in `value` and name the account by entry.id (the WABA).
      const metadataId = (change.value as { metadata?: { phone_number_id?: unknown } } | null)?.metadata?.phone_number_id;
      const number =
        (typeof metadataId === 'string' ? byPhoneNumberId.get(metadataId) : undefined) ?? byWaba.get(entry.id);
      if (!number) {
        plan.foreign.push(typeof metadataId === 'string' ? metadataId : entry.id);
        return;
      }
      if (change.field === 'message_template_status_update') {
        const t = templateStatusSchema.safeParse(change.value);
        if (t.success) {
          plan.templates.push({
            workspaceId: number.workspaceId,
            wabaId: number.wabaId,
            metaTemplateId: t.data.message_template_id,
            name: t.data.message_template_name,
            language: t.data.message_template_language?.replace('-', '_'),
            event: t.data.event,
            category: t.data.message_template_category,
            reason: t.data.reason,
            raw: change.value,
          });
          return;
        }
        plan.skipped.push({ where, reason: 'template status update without event or template id' });
      }
      plan.other.push({
        workspaceId: number.workspaceId,
        phoneNumberId: typeof metadataId === 'string' ? number.id : undefined,
        wabaId: number.wabaId,
        field: change.field,
        value: change.value ?? null,
      });
    });
  });
  return plan;
}
