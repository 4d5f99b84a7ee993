import { OpenAIEmbeddings } from '@langchain/openai';
import type { Embedder } from '../../domain/knowledge/knowledge.port';
import { OfflineEmbeddings } from './offline-embeddings';

/** The model name recorded for documents indexed by the offline provider. */
export const OFFLINE_EMBEDDING_MODEL = 'offline-hashed-ngrams-v1';

export function createEmbedder(cfg: {
  apiKey: string | undefined;
  baseUrl: string | undefined;
  model: string;
  timeoutMs: number;
  maxRetries: number;
}): Embedder {
  if (!cfg.apiKey) {
    const offline = new OfflineEmbeddings();
    return { model: OFFLINE_EMBEDDING_MODEL, embedDocuments: (t) => offline.embedDocuments(t), embedQuery: (t) => offline.embedQuery(t) };
  }
  const openai = new OpenAIEmbeddings({
    model: cfg.model,
    apiKey: cfg.apiKey,
    // The schema stores vector(1536): text-embedding-3 models can be asked for that size.
    dimensions: cfg.model.startsWith('text-embedding-3') ? 1536 : undefined,
    batchSize: 64,
    timeout: cfg.timeoutMs,
    maxRetries: cfg.maxRetries,
    ...(cfg.baseUrl ? { configuration: { baseURL: cfg.baseUrl } } : {}),
  });
  return { model: cfg.model, embedDocuments: (t) => openai.embedDocuments(t), embedQuery: (t) => openai.embedQuery(t) };
}
