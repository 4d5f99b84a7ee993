/** One model call (or message) worth counting against a workspace. */
export interface UsageEntry {
  workspaceId: string;
  kind: 'chat' | 'embedding' | 'transcription';
  model: string;
  inputTokens: number;
  outputTokens: number;
}

export interface UsageSummary {
  tokens: { input: number; output: number; total: number };
  costUsd: number;
  byKind: { kind: string; model: string | null; inputTokens: number; outputTokens: number; costUsd: number; calls: number }[];
  answers: number;
  handoffs: number;
  messages: { in: number; out: number };
  byPricingCategory: Record<string, number>;
}

export interface UsageRepo {
  insert(entry: UsageEntry & { costUsd: number }): Promise<void>;
  summary(workspaceId: string, from: Date, to: Date): Promise<UsageSummary>;
}

/** Price per million tokens, by model name. */
export type PriceTable = Record<string, { input: number; output: number }>;

export interface UsageRecorder {
  record(entry: UsageEntry): Promise<void>;
}

export function costOf(prices: PriceTable, entry: Pick<UsageEntry, 'model' | 'inputTokens' | 'outputTokens'>): number {
  const price = prices[entry.model];
  if (!price) return 0;
  return (entry.inputTokens * price.input + entry.outputTokens * price.output) / 1_000_000;
}

/** Records usage; a failure to record never fails the answer it describes (it is logged). */
export function createUsageRecorder(deps: { repo: UsageRepo; prices: PriceTable; onError(e: Error): void }): UsageRecorder {
  return {
    async record(entry) {
      if (entry.inputTokens === 0 && entry.outputTokens === 0) return;
      await deps.repo.insert({ ...entry, costUsd: costOf(deps.prices, entry) }).catch((e: Error) => deps.onError(e));
    },
  };
}
