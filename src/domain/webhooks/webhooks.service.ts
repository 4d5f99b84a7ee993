import { randomBytes } from 'node:crypto';
import { AppError, errors } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { SecretBox } from '../../lib/secret-box';
import type { Page } from '../shared/pagination';
import type { DeliveryJob, EndpointPatch, WebhookDelivery, WebhookEndpoint, WebhooksRepo } from './webhooks.port';

/** How long a rotated-out secret keeps signing beside the new one. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** Standard Webhooks secret: whsec_ + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The secret box context binds a sealed secret to its endpoint (copied elsewhere it does not open). */
export const secretContext = (endpointId: string) => `webhook_endpoints.secret:${endpointId}`;

export interface WebhooksService {
  create(workspaceId: string, input: { url: string; events: string[]; description?: string | null; active?: boolean }): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  list(workspaceId: string, page: { limit: number; startingAfter?: string }): Promise<Page<WebhookEndpoint>>;
  get(workspaceId: string, id: string): Promise<WebhookEndpoint>;
  update(workspaceId: string, id: string, patch: EndpointPatch): Promise<WebhookEndpoint>;
  remove(workspaceId: string, id: string): Promise<WebhookEndpoint>;
  rotateSecret(workspaceId: string, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  sendTest(workspaceId: string, id: string): Promise<WebhookDelivery>;
  deliveries(workspaceId: string, id: string, page: { limit: number; startingAfter?: string }): Promise<Page<WebhookDelivery>>;
  redeliver(workspaceId: string, id: string, deliveryId: string): Promise<WebhookDelivery>;
  /**
   * A secret sealed for an idempotent replay of the answer that showed it: stored answers are
   * kept in Postgres, and a plaintext secret never is.
   */
  sealSecret(endpointId: string, secret: string): string;
  openSecret(endpointId: string, sealed: string): string;
}

export function createWebhooksService(deps: {
  repo: WebhooksRepo;
  secrets: SecretBox;
  /** The SSRF guard: resolves and checks the URL; throws an Error saying what is wrong. */
  checkUrl: (url: string) => Promise<void>;
  /** Puts attempts on the queue; `unique` gives a redelivery its own job. */
  enqueue: (jobs: DeliveryJob[], opts?: { unique?: boolean }) => Promise<void>;
}): WebhooksService {
  const { repo } = deps;

  async function checkUrl(url: string): Promise<void> {
    try {
      await deps.checkUrl(url);
    } catch (e) {
      throw new AppError({ type: 'invalid_request_error', code: 'url_refused', status: 400, message: `url: ${(e as Error).message}`, param: 'url' });
    }
  }

  async function found(workspaceId: string, id: string): Promise<WebhookEndpoint> {
    const e = await repo.getEndpoint(workspaceId, id);
    if (!e) throw errors.notFound('webhook_endpoint', id);
    return e;
  }

  // The queue is an accelerator: a delivery that is not enqueued now is found by the sweeper.
  const enqueue = (jobs: DeliveryJob[], opts?: { unique?: boolean }) => deps.enqueue(jobs, opts).catch(() => undefined);

  return {
    async create(workspaceId, input) {
      await checkUrl(input.url);
      const id = newId('webhookEndpoint');
      const secret = newSigningSecret();
      const endpoint = await repo.createEndpoint({
        id,
        workspaceId,
        url: input.url,
        events: input.events,
        description: input.description ?? null,
        active: input.active ?? true,
        secretEnc: deps.secrets.encrypt(secret, secretContext(id)),
      });
      return { endpoint, secret };
    },

    list: (workspaceId, page) => repo.listEndpoints(workspaceId, page),
    get: found,

    async update(workspaceId, id, patch) {
      await found(workspaceId, id);
      if (patch.url !== undefined) await checkUrl(patch.url);
      const updated = await repo.updateEndpoint(workspaceId, id, patch);
      if (!updated) throw errors.notFound('webhook_endpoint', id);
      return updated;
    },

    async remove(workspaceId, id) {
      const e = await found(workspaceId, id);
      if (!(await repo.deleteEndpoint(workspaceId, id))) throw errors.notFound('webhook_endpoint', id);
      return e;
    },

    async rotateSecret(workspaceId, id) {
      await found(workspaceId, id);
      const secret = newSigningSecret();
      const endpoint = await repo.rotateSecret(workspaceId, id, deps.secrets.encrypt(secret, secretContext(id)), new Date(Date.now() + SECRET_OVERLAP_MS));
      if (!endpoint) throw errors.notFound('webhook_endpoint', id);
      return { endpoint, secret };
    },

    async sendTest(workspaceId, id) {
      const e = await found(workspaceId, id);
      if (!e.active) throw errors.conflict('endpoint_disabled', `The webhook endpoint "${id}" is disabled; enable it (PATCH active: true) first.`);
      const delivery = await repo.createTestDelivery(workspaceId, id, { endpoint_id: id, message: 'This is a test event from the WhatsApp agent gateway.' });
      await enqueue([{ workspaceId, deliveryId: delivery.id, attempt: 0 }]);
      return delivery;
    },

    async deliveries(workspaceId, id, page) {
      await found(workspaceId, id);
      return repo.listDeliveries(workspaceId, id, page);
    },

    async redeliver(workspaceId, id, deliveryId) {
      const e = await found(workspaceId, id);
      if (!e.active) throw errors.conflict('endpoint_disabled', `The webhook endpoint "${id}" is disabled; enable it (PATCH active: true) first.`);
      const d = await repo.redeliver(workspaceId, id, deliveryId);
      if (!d) throw errors.notFound('webhook_delivery', deliveryId);
      await enqueue([{ workspaceId, deliveryId: d.id, attempt: d.attempts }], { unique: true });
      return d;
    },

    sealSecret: (endpointId, secret) => deps.secrets.encrypt(secret, `idempotency.${secretContext(endpointId)}`),
    openSecret: (endpointId, sealed) => deps.secrets.decrypt(sealed, `idempotency.${secretContext(endpointId)}`),
  };
}
