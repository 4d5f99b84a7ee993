import { randomBytes } from 'node:crypto';
import type { PhoneNumber } from '../../domain/tenancy/tenancy.service';
import type { MetaError } from './meta-errors';
import type { SimulatorContext } from './simulator.context';
import type { ChatStatus } from './simulator.store';

/**
 * What happens to an accepted message on its way to the customer's phone: `sent`, `delivered`
 * and `read` status webhooks, each after its configured delay and only after the gateway took the
 * previous one (Meta does not promise that order; the ingress copes with any). A fault injected
 * with delivery "status" makes the second webhook a `failed` one carrying Meta's error. The phone
 * shows each status once the gateway has accepted its webhook.
 */
export interface Pricing {
  billable: boolean;
  pricing_model: 'PMP';
  type: string;
  category: string;
}

export function pricingFor(templateCategory: string | null): Pricing {
  return templateCategory
    ? { billable: true, pricing_model: 'PMP', type: 'regular', category: templateCategory.toLowerCase() }
    : { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' };
}

export function scheduleStatuses(
  ctx: SimulatorContext,
  p: { number: PhoneNumber; wamid: string; waId: string; pricing: Pricing; apiVersion: string; failure?: MetaError },
): void {
  // Until v24.0, `conversation` comes with the sent status and one of delivered/read.
  const major = Number(/^v(\d+)/.exec(p.apiVersion)?.[1] ?? 23);
  const conversation =
    major < 24
      ? { id: randomBytes(16).toString('hex'), origin: { type: p.pricing.category === 'service' ? 'service' : p.pricing.category } }
      : undefined;
  const steps: { status: ChatStatus; delayMs: number }[] = p.failure
    ? [
        { status: 'sent', delayMs: ctx.delays.sentMs },
        { status: 'failed', delayMs: ctx.delays.deliveredMs },
      ]
    : [
        { status: 'sent', delayMs: ctx.delays.sentMs },
        { status: 'delivered', delayMs: ctx.delays.deliveredMs },
        { status: 'read', delayMs: ctx.delays.readMs },
      ];

  ctx.background(async () => {
    const target = await ctx.webhookNumber(p.number);
    for (const step of steps) {
      if (!(await ctx.sleep(step.delayMs))) return;
      const seconds = Math.floor(ctx.now().getTime() / 1000);
      const status: Record<string, unknown> = {
        id: p.wamid,
        status: step.status,
        timestamp: String(seconds),
        recipient_id: p.waId,
      };
      if (step.status === 'failed' && p.failure) {
        status.errors = [p.failure.toStatusError()];
      } else if (step.status !== 'read') {
        if (conversation) {
          status.conversation = step.status === 'sent' ? { ...conversation, expiration_timestamp: String(seconds + 24 * 3600) } : conversation;
        }
        status.pricing = p.pricing;
      }
      const accepted = await ctx.webhooks.deliver(target, { statuses: [status] }).final;
      // The gateway did not take it (not listening, refused): the phone stops here, as a phone
      // that never comes back online would.
      if (!accepted) return;
      const error = step.status === 'failed' && p.failure ? { code: p.failure.code, title: p.failure.title } : undefined;
      if (await ctx.store.setStatus(p.wamid, step.status, error)) {
        ctx.publish(p.number.workspaceId, { kind: 'status', phone_number_id: p.number.phoneNumberId, wa_id: p.waId, id: p.wamid, status: step.status, ...(error ? { error } : {}) });
      }
    }
  });
}
