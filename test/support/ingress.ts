import type { Queue } from 'bullmq';
import { createTestRuntime, type TestRuntime } from './runtime';
import { SPEC_PHONE_NUMBER_ID, SPEC_WABA_ID } from './meta';

export const APP_SECRET = 'spec-app-secret-0123456789';
export const VERIFY_TOKEN = 'spec-verify-token';

export interface IngressFixture {
  rt: TestRuntime;
  workspaceId: string;
  numberId: string;
  agentQueue: Queue;
  /** Empties the tenant tables an ingress test writes and the agent queue. */
  reset(): Promise<void>;
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Agent jobs in the queue, in any state, plus conversations waiting out their debounce. */
  agentJobs(): Promise<number>;
  /** Empties the agent queue and its debounce (as a Redis restart would). */
  clearAgent(): Promise<void>;
}

export const ACCESS_TOKEN = 'EAAG-spec-token';

export async function createIngressFixture(env: Record<string, string> = {}, opts: { workers?: boolean } = {}): Promise<IngressFixture> {
  const rt = await createTestRuntime({ env: { AGENT_DEBOUNCE_MS: '60000', READ_RECEIPTS: 'off', ...env }, workers: opts.workers });
  const ws = await rt.services.tenancy.createWorkspace({ name: 'Spec Shop' });
  const number = await rt.services.tenancy.addNumber({
    workspaceId: ws.id,
    phoneNumberId: SPEC_PHONE_NUMBER_ID,
    wabaId: SPEC_WABA_ID,
    displayNumber: '+1 555 078 3881',
    accessToken: ACCESS_TOKEN,
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
    source: 'cli',
  });
  const agentQueue = rt.queues?.get('agent') as Queue;
  const clearAgent = async () => {
    await agentQueue.obliterate({ force: true });
    await rt.agentDebounce?.clear();
  };
  const rows = async <T,>(sql: string, params: unknown[] = []) => (await rt.db.pool.query(sql, params)).rows as T[];
  return {
    rt,
    workspaceId: ws.id,
    numberId: number.id,
    agentQueue,
    rows,
    async reset() {
      await rt.db.pool.query(
        'truncate contacts, conversations, messages, events, media, meta_webhook_changes, pending_statuses, templates cascade',
      );
      await clearAgent();
      await rt.queues?.get('media').obliterate({ force: true });
    },
    async agentJobs() {
      const counts = await agentQueue.getJobCounts('delayed', 'waiting', 'active', 'completed', 'failed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0) + ((await rt.agentDebounce?.size()) ?? 0);
    },
    clearAgent,
  };
}
