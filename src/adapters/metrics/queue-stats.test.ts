import { Registry } from 'prom-client';
import { registerQueueStats, type QueueSnapshot } from './queue-stats';

/** The scrape-time queue gauges: one read per scrape, a cache, and a deadline on a slow Redis. */
describe('queue stats at scrape time', () => {
  const snapshot = (waiting: number): QueueSnapshot[] => [
    { queue: 'agent', waiting, active: 1, delayed: 2, failed: 3, oldestWaitingSeconds: waiting ? 4.5 : null },
    { queue: 'send-num_1', waiting: 0, active: 0, delayed: 0, failed: 0, oldestWaitingSeconds: null },
  ];
  const value = async (registry: Registry, name: string, labels: Record<string, string> = {}) => {
    const json = await registry.getMetricsAsJSON();
    const metric = json.find((m) => m.name === name);
    const hit = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return hit?.value;
  };

  it('reports every queue and state from one read shared by the gauges, cached between scrapes', async () => {
    const registry = new Registry();
    let reads = 0;
    registerQueueStats(registry, async () => {
      reads++;
      return snapshot(7);
    }, { cacheMs: 60_000 });
    const text = await registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('gateway_queue_jobs{queue="agent",state="waiting"} 7');
    expect(text).toContain('gateway_queue_jobs{queue="agent",state="active"} 1');
    expect(text).toContain('gateway_queue_jobs{queue="agent",state="delayed"} 2');
    expect(text).toContain('gateway_queue_jobs{queue="agent",state="failed"} 3');
    expect(text).toContain('gateway_queue_oldest_waiting_job_age_seconds{queue="agent"} 4.5');
    expect(text).toContain('gateway_queue_oldest_waiting_job_age_seconds{queue="send-num_1"} 0');
    expect(text).toContain('gateway_queue_stats_up 1');
    await registry.metrics();
    expect(reads).toBe(1);
  });

  it('answers within the deadline when the read hangs: the last figures, up 0, their age; fresh again once Redis answers', async () => {
    const registry = new Registry();
    let clock = 1_000_000;
    let hang = false;
    let release: (() => void) | undefined;
    let reads = 0;
    registerQueueStats(
      registry,
      async () => {
        reads++;
        if (hang) await new Promise<void>((r) => (release = r));
        return snapshot(reads);
      },
      { cacheMs: 1_000, timeoutMs: 150, now: () => clock },
    );
    await registry.metrics();
    expect(await value(registry, 'gateway_queue_stats_up')).toBe(1);

    hang = true;
    clock += 5_000;
    const started = Date.now();
    await registry.metrics();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await value(registry, 'gateway_queue_stats_up')).toBe(0);
    expect(await value(registry, 'gateway_queue_jobs', { queue: 'agent', state: 'waiting' })).toBe(1);
    expect(await value(registry, 'gateway_queue_stats_age_seconds')).toBe(5);
    // A second scrape while the first read still hangs does not start another one.
    await registry.metrics();
    expect(reads).toBe(2);

    hang = false;
    release?.();
    await new Promise((r) => setTimeout(r, 10));
    expect(await value(registry, 'gateway_queue_stats_up')).toBe(1);
    expect(await value(registry, 'gateway_queue_jobs', { queue: 'agent', state: 'waiting' })).toBe(2);
    expect(await value(registry, 'gateway_queue_stats_age_seconds')).toBe(0);
  });

  it('a failing read reports up 0 and no figures before the first success (age -1)', async () => {
    const registry = new Registry();
    registerQueueStats(registry, async () => {
      throw new Error('Connection is closed.');
    });
    const text = await registry.metrics();
    expect(text).toContain('gateway_queue_stats_up 0');
    expect(text).toContain('gateway_queue_stats_age_seconds -1');
    expect(text).not.toContain('gateway_queue_jobs{');
  });
});
