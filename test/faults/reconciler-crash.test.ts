import { startPrivateRedis, type PrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import type { GatewayProcess } from './lib/cluster';
import { createHarness, type Harness } from './lib/harness';
import { reconcilerTotals, unhandledErrors, writeReport } from './lib/report';
import { startTap, type Tap } from './lib/tap';
import { deliver, inboundText, repliesByCustomer, replyText } from './lib/traffic';

/**
 * Issue 9, scenario 6: after a crash (the worker process killed in the middle of a send, then
 * Redis killed and restarted empty), a new worker's reconciler finds what Postgres says is
 * unfinished and drives it on:
 * - a message left `sending` (Meta had accepted it, the worker died before hearing so; its job is
 *   gone): the unknown-outcome policy, failed with `unknown_outcome`, never sent again, and a
 *   `message.failed` event;
 * - a message left `queued` (its job is gone): sent;
 * - a customer message whose agent job is gone: answered;
 * - events whose webhook deliveries were waiting for a retry (the retry jobs are gone): delivered.
 * The rows are aged past the reconciler's grace periods instead of waiting for them.
 */
describe('fault: the reconciler after a crash', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let receiver: WebhookReceiver;
  let graphTap: Tap;
  let api: GatewayProcess;
  let crashed: GatewayProcess;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    receiver = await startWebhookReceiver();
    h = await createHarness({ redisUrl: redis.url, env: { ALLOW_INSECURE_WEBHOOKS: 'true', ALLOW_PRIVATE_WEBHOOK_URLS: 'true', WEBHOOK_RETRY_SCHEDULE: '5s,5s,5s' } });
    graphTap = await startTap(h.graph.url);
    api = await h.start('api', 'api', h.apiEnv());
    crashed = await h.start('worker-crashed', 'worker', { WHATSAPP_GRAPH_URL: graphTap.url });
  });

  afterAll(async () => {
    await h?.teardown();
    await Promise.all([receiver?.close(), graphTap?.close()]);
    await redis?.stop();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('drives on stuck sends, an unanswered customer and undelivered events', async () => {
    const t0 = Date.now();
    const [a, b, c] = ['16505596001', '16505596002', '16505596003'];
    // The subscriber is down at first: deliveries fail and wait for their retry.
    let subscriberUp = false;
    receiver.answer(() => (subscriberUp ? { status: 200, body: 'ok' } : { status: 500, body: 'down' }));
    expect((await call('POST', '/v1/webhooks', { url: receiver.url('/hooks'), events: ['*'] })).status).toBe(201);

    for (const [i, w] of [a, b].entries()) expect(await deliver(api.url, inboundText(w as string, 'Hi, are you open?', `wamid.RC${i}x${t0}`))).toBe(200);
    await waitFor('the agent to answer a and b', () => repliesByCustomer(h.graph.calls).get(a as string)?.length === 1 && repliesByCustomer(h.graph.calls).get(b as string)?.length === 1, 30_000);
    await waitFor('failed first delivery attempts', () => receiver.to('/hooks').length >= 4, 30_000);

    // M1: Meta accepts it, and the worker is killed before it hears so.
    let killed!: () => void;
    const kill = new Promise<void>((resolve) => (killed = resolve));
    graphTap.setHooks({
      async beforeRelay(tapped) {
        if (!tapped.body.toString('utf8').includes('Message one')) return 'relay';
        await crashed.kill('SIGKILL');
        killed();
        return 'hold';
      },
    });
    const m1 = await call('POST', '/v1/messages', { to: `+${a}`, type: 'text', text: { body: 'Message one' } });
    expect(m1.status).toBe(202);
    await kill;
    // With no worker running: M2 is queued, customer c writes.
    const m2 = await call('POST', '/v1/messages', { to: `+${b}`, type: 'text', text: { body: 'Message two' } });
    expect(m2.status).toBe(202);
    expect(await deliver(api.url, inboundText(c as string, 'Hi, can I book a table?', `wamid.RC2x${t0}`))).toBe(200);

    // Then Redis dies too, and comes back empty: every job above is gone.
    await redis.stop();
    await redis.start();
    subscriberUp = true;
    const [stuck] = await h.rows<{ sending: number; queued: number }>(
      "select count(*) filter (where status = 'sending')::int as sending, count(*) filter (where status = 'queued')::int as queued from messages where direction = 'out'",
    );
    expect(stuck).toEqual({ sending: 1, queued: 1 });
    // Time passes (instead of waiting out the grace periods).
    await h.rows("update messages set updated_at = now() - interval '5 minutes' where status in ('queued', 'sending')");
    await h.rows("update messages set created_at = created_at - interval '5 minutes' where direction = 'in'");
    await h.rows("update webhook_deliveries set next_attempt_at = now() - interval '1 minute' where status = 'pending'");

    const recovered = await h.start('worker-new', 'worker');
    const status = async (id: unknown) => (await h.rows<{ status: string; error_title: string | null }>('select status, error_title from messages where id = $1', [id]))[0];
    await waitFor(
      'the reconciler to drive everything on',
      async () => {
        const [s1, s2] = [await status(m1.body.id), await status(m2.body.id)];
        const undelivered = await h.rows("select 1 from webhook_deliveries where status <> 'succeeded'");
        const undispatched = await h.rows('select 1 from events where dispatched_at is null');
        return s1?.status === 'failed' && s2?.status === 'sent' && (repliesByCustomer(h.graph.calls).get(c as string)?.length ?? 0) >= 1 && undelivered.length === 0 && undispatched.length === 0;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2_000));

    expect(await status(m1.body.id)).toEqual({ status: 'failed', error_title: 'unknown_outcome' });
    const replies = repliesByCustomer(h.graph.calls);
    // Meta got M1 once (before the crash), M2 once, c's answer once: nothing twice.
    expect(replies.get(a as string)?.map(replyText).filter((t) => t === 'Message one')).toHaveLength(1);
    expect(replies.get(b as string)?.map(replyText).filter((t) => t === 'Message two')).toHaveLength(1);
    expect(replies.get(c as string)).toHaveLength(1);
    // Every event reached the subscriber, the failure of M1 included.
    const events = await h.rows<{ id: string; type: string; data: { message?: { id?: string } } }>('select id, type, data from events');
    const received = new Set(receiver.to('/hooks').map((r) => r.headers['webhook-id']));
    expect(events.filter((e) => !received.has(e.id)).map((e) => e.type)).toEqual([]);
    expect(events.filter((e) => e.type === 'message.failed' && e.data.message?.id === m1.body.id)).toHaveLength(1);
    // The new worker's reconciler says what it did.
    const totals = reconcilerTotals([recovered]);
    expect(totals).toMatchObject({ sends_requeued: 1, sends_resolved: 1 });
    expect(totals.agent_redriven).toBeGreaterThanOrEqual(1);
    expect(totals.deliveries_redriven).toBeGreaterThanOrEqual(1);
    expect(unhandledErrors([...h.processes])).toEqual([]);
    writeReport('reconciler-crash', { events: events.length, deliveries_received: receiver.to('/hooks').length, reconciler: totals });
  }, 120_000);
});
