import type { Job, Worker } from 'bullmq';
import type { AnswerModel, Transcriber } from '../../domain/agent/agent.port';
import type { Embedder } from '../../domain/knowledge/knowledge.port';
import type { UsageRecorder } from '../../domain/usage/usage.port';
import type { WebhookDeliveryService } from '../../domain/webhooks/webhook-delivery.service';
import { GraphApiError } from '../../domain/whatsapp/graph-errors';
import type { GraphClient } from '../whatsapp/graph-api.client';
import type { Metrics } from './metrics';

/**
 * Decorators that measure the outside systems the gateway calls (Meta's Graph API, the models,
 * webhook receivers) and its queue workers. The composition root wraps the real adapters with
 * them, so neither the domain nor the adapters know about Prometheus.
 */
const seconds = (startedNs: bigint) => Number(process.hrtime.bigint() - startedNs) / 1e9;

/** The `code` label of a failed Graph call: Meta's code, else what is known about the failure. */
export function graphErrorCode(e: unknown): string {
  if (!(e instanceof GraphApiError)) return 'error';
  if (e.code !== undefined) return String(e.code);
  if (e.httpStatus !== undefined) return `http_${e.httpStatus}`;
  return e.mayHaveReachedMeta ? 'no_response' : 'connect_error';
}

const GRAPH_OPERATIONS = {
  listTemplates: 'templates',
  sendMessage: 'send',
  getMediaInfo: 'media_info',
  downloadMedia: 'media_download',
  markRead: 'mark_read',
} as const satisfies Record<keyof GraphClient, string>;

export function instrumentGraphClient(graph: GraphClient, metrics: Metrics): GraphClient {
  const timed = <A extends unknown[], R>(method: keyof GraphClient, fn: (...args: A) => Promise<R>) => {
    const operation = GRAPH_OPERATIONS[method];
    return async (...args: A): Promise<R> => {
      const started = process.hrtime.bigint();
      try {
        const r = await fn(...args);
        metrics.graphRequests.inc({ operation, outcome: 'ok', code: 'none' });
        return r;
      } catch (e) {
        metrics.graphRequests.inc({ operation, outcome: 'error', code: graphErrorCode(e) });
        throw e;
      } finally {
        metrics.graphRequestDuration.observe({ operation }, seconds(started));
      }
    };
  };
  return {
    listTemplates: timed('listTemplates', (token: string, wabaId: string) => graph.listTemplates(token, wabaId)),
    sendMessage: timed('sendMessage', (token: string, phoneNumberId: string, body: Record<string, unknown>) => graph.sendMessage(token, phoneNumberId, body)),
    getMediaInfo: timed('getMediaInfo', (token: string, mediaId: string, phoneNumberId?: string) => graph.getMediaInfo(token, mediaId, phoneNumberId)),
    downloadMedia: timed('downloadMedia', (token: string, url: string) => graph.downloadMedia(token, url)),
    markRead: timed('markRead', (token: string, phoneNumberId: string, wamid: string) => graph.markRead(token, phoneNumberId, wamid)),
  };
}

type ModelKind = 'chat' | 'embedding' | 'transcription';

async function timeModel<R>(metrics: Metrics, kind: ModelKind, model: string, fn: () => Promise<R>): Promise<R> {
  const started = process.hrtime.bigint();
  let outcome = 'error';
  try {
    const r = await fn();
    outcome = 'ok';
    return r;
  } finally {
    metrics.modelRequestDuration.observe({ kind, model, outcome }, seconds(started));
  }
}

export function instrumentAnswerModel(model: AnswerModel, metrics: Metrics): AnswerModel {
  return {
    name: model.name,
    extractive: model.extractive,
    answer: (input) => timeModel(metrics, 'chat', model.name, () => model.answer(input)),
    async *stream(input) {
      const started = process.hrtime.bigint();
      let outcome = 'error';
      try {
        for await (const event of model.stream(input)) {
          if (event.type === 'final') outcome = 'ok';
          yield event;
        }
      } finally {
        // A client that goes away mid-stream ends the generator early: counted as an error.
        metrics.modelRequestDuration.observe({ kind: 'chat', model: model.name, outcome }, seconds(started));
      }
    },
  };
}

export function instrumentEmbedder(embedder: Embedder, metrics: Metrics): Embedder {
  return {
    model: embedder.model,
    embedDocuments: (texts) => timeModel(metrics, 'embedding', embedder.model, () => embedder.embedDocuments(texts)),
    embedQuery: (text) => timeModel(metrics, 'embedding', embedder.model, () => embedder.embedQuery(text)),
  };
}

export function instrumentTranscriber(transcriber: Transcriber, metrics: Metrics): Transcriber {
  return {
    model: transcriber.model,
    transcribe: (audio, mimeType) => timeModel(metrics, 'transcription', transcriber.model, () => transcriber.transcribe(audio, mimeType)),
  };
}

/** Tokens are counted as they are recorded for the usage report (the same numbers). */
export function instrumentUsage(usage: UsageRecorder, metrics: Metrics): UsageRecorder {
  return {
    async record(entry) {
      if (entry.inputTokens > 0) metrics.modelTokens.inc({ kind: entry.kind, model: entry.model, direction: 'input' }, entry.inputTokens);
      if (entry.outputTokens > 0) metrics.modelTokens.inc({ kind: entry.kind, model: entry.model, direction: 'output' }, entry.outputTokens);
      await usage.record(entry);
    },
  };
}

/** What webhook-delivery.service's attempt() answered, as a label. */
const DELIVERY_OUTCOMES: Record<string, string> = {
  succeeded: 'succeeded',
  pending: 'retrying',
  failed: 'failed',
  exhausted: 'exhausted',
  skipped: 'skipped',
  'endpoint disabled': 'endpoint_disabled',
  'recorded by another attempt': 'duplicate',
};

export function instrumentWebhookDelivery(service: WebhookDeliveryService, metrics: Metrics): WebhookDeliveryService {
  return {
    sweep: () => service.sweep(),
    async attempt(job) {
      try {
        const r = await service.attempt(job);
        metrics.webhookDeliveryAttempts.inc({ outcome: DELIVERY_OUTCOMES[r.outcome] ?? 'other' });
        return r;
      } catch (e) {
        metrics.webhookDeliveryAttempts.inc({ outcome: 'error' });
        throw e;
      }
    },
  };
}

const AGENT_OUTCOMES = new Set(['replied', 'handoff', 'missing', 'nothing', 'no_answer_needed', 'window_closed', 'not_bot', 'discarded', 'gave_up']);

/** Counts a worker's finished and failed jobs (and, for queue "agent", the turn's outcome). */
export function observeWorker(worker: Worker, metrics: Metrics): void {
  const queue = worker.name;
  worker.on('completed', (_job: Job, result: unknown) => {
    metrics.jobsProcessed.inc({ queue });
    const outcome = (result as { outcome?: unknown } | null)?.outcome;
    if (queue === 'agent' && typeof outcome === 'string' && AGENT_OUTCOMES.has(outcome)) metrics.agentTurns.inc({ outcome });
  });
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (err.name === 'DelayedError') return;
    const final = err.name === 'UnrecoverableError' || !job || job.attemptsMade >= (job.opts.attempts ?? 1);
    metrics.jobsFailed.inc({ queue, final: String(final) });
  });
}
