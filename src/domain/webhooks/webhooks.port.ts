import type { Page } from '../shared/pagination';

/** A subscriber's endpoint. The secrets stay sealed (secret box) everywhere but in the worker. */
export interface WebhookEndpoint {
  id: string;
  workspaceId: string;
  url: string;
  events: string[];
  description: string | null;
  active: boolean;
  secretEnc: string;
  previousSecretEnc: string | null;
  previousSecretExpiresAt: Date | null;
  disabledReason: string | null;
  disabledAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'exhausted';

export interface WebhookDelivery {
  id: string;
  workspaceId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastResponseExcerpt: string | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One queue job = one attempt: `attempt` is how many attempts the delivery had when it was enqueued. */
export interface DeliveryJob {
  workspaceId: string;
  deliveryId: string;
  attempt: number;
}

export interface EventRecord {
  id: string;
  workspaceId: string;
  conversationId: string | null;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  active?: boolean;
}

export interface AttemptOutcome {
  status: DeliveryStatus;
  statusCode: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
  nextAttemptAt: Date | null;
  /** The endpoint failed (true) or succeeded (false); null: no attempt was made. */
  failed: boolean | null;
}

export interface WebhooksRepo {
  createEndpoint(e: { id: string; workspaceId: string; url: string; events: string[]; description: string | null; active: boolean; secretEnc: string }): Promise<WebhookEndpoint>;
  listEndpoints(workspaceId: string, page: { limit: number; startingAfter?: string }): Promise<Page<WebhookEndpoint>>;
  getEndpoint(workspaceId: string, id: string): Promise<WebhookEndpoint | null>;
  updateEndpoint(workspaceId: string, id: string, patch: EndpointPatch): Promise<WebhookEndpoint | null>;
  deleteEndpoint(workspaceId: string, id: string): Promise<boolean>;
  /** The current secret becomes the previous one (until `previousExpiresAt`); `secretEnc` is the new one. */
  rotateSecret(workspaceId: string, id: string, secretEnc: string, previousExpiresAt: Date): Promise<WebhookEndpoint | null>;
  /** Writes a webhook.test event (not on the live stream) and its one delivery. */
  createTestDelivery(workspaceId: string, endpointId: string, data: Record<string, unknown>): Promise<WebhookDelivery>;
  listDeliveries(workspaceId: string, endpointId: string, page: { limit: number; startingAfter?: string }): Promise<Page<WebhookDelivery>>;
  /** Makes the delivery pending and due now (one more attempt); null when it does not exist. */
  redeliver(workspaceId: string, endpointId: string, id: string): Promise<WebhookDelivery | null>;
  /**
   * Takes the attempt: only when the delivery is pending, still at `job.attempt` attempts and due.
   * Moves next_attempt_at past the lease so that the sweeper leaves it alone while it runs.
   */
  claim(job: DeliveryJob, leaseMs: number): Promise<{ delivery: WebhookDelivery; endpoint: WebhookEndpoint; event: EventRecord } | null>;
  /**
   * Records the attempt (only if nobody recorded attempt `job.attempt` already) and the endpoint's
   * health; disables the endpoint (emitting webhook.endpoint_disabled) when `disable` says so or
   * when it has been failing since before `failingCutoff`. Returns whether it was recorded.
   */
  recordAttempt(job: DeliveryJob, outcome: AttemptOutcome, opts: { disable: 'gone' | null; failingCutoff: Date }): Promise<{ recorded: boolean; disabled: boolean }>;
  /** Pending deliveries due before `before` (their job may be lost), oldest first. */
  due(before: Date, limit: number): Promise<DeliveryJob[]>;
}

/** What the HTTP client of a delivery reports: a status code, or an error (timeout, refused, ...). */
export interface DeliveryAttempt {
  statusCode: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
}

export interface WebhookSender {
  send(req: { url: string; id: string; body: string; secrets: string[]; now?: Date }): Promise<DeliveryAttempt>;
}
