import type { Express } from 'express';
import { createIngressRepo } from '../../src/adapters/postgres/ingress.repo';
import { createSendRepo } from '../../src/adapters/postgres/send.repo';
import { createRedis } from '../../src/adapters/redis/redis';
import { createGraphClient } from '../../src/adapters/whatsapp/graph-api.client';
import { toGraphBody } from '../../src/adapters/whatsapp/message-body';
import { outboundMessageSchema } from '../../src/domain/messages/outbound.schema';
import { createSendService } from '../../src/domain/messages/send.service';
import { newId } from '../../src/lib/ids';
import { createSendWorkers, type SendWorkers } from '../../workers/send.worker';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, textPayload } from '../support/meta';
import { REDIS_URL } from '../support/runtime';

describe('send pipeline: per-number queues, rate limit, per-recipient pacing', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let workers: SendWorkers;
  const connections: ReturnType<typeof createRedis>[] = [];

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture();
    await f.rt.db.pool.query('update phone_numbers set messages_per_second = 5');
    const repo = createSendRepo(f.rt.db.pool, createIngressRepo(f.rt.db.pool));
    const producer = createRedis(REDIS_URL, 'worker');
    const workerConnection = createRedis(REDIS_URL, 'worker');
    connections.push(producer, workerConnection);
    workers = createSendWorkers({
      producer,
      workerConnection,
      prefix: f.rt.config.queuePrefix,
      service: createSendService({ repo, graph: createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0' }), tenancy: f.rt.services.tenancy, logger: f.rt.logger }),
      repo,
      logger: f.rt.logger,
      consume: true,
    });
    workers.sync(await f.rt.services.tenancy.listNumbers());
  });
  afterAll(async () => {
    await workers.close();
    for (const c of connections) c.disconnect();
    await f.rt.teardown();
    await graph.close();
  });

  async function conversationFor(waId: string): Promise<string> {
    await postSigned(f.rt.app as Express, textPayload({ from: waId }), APP_SECRET).expect(200);
    const [c] = await f.rows<{ id: string }>('select v.id from conversations v join contacts c on c.id = v.contact_id where c.wa_id = $1', [waId]);
    return c?.id as string;
  }
  async function queueTo(conversationId: string, waId: string, text: string): Promise<string> {
    const id = newId('message');
    const msg = outboundMessageSchema.parse({ to: `+${waId}`, type: 'text', text: { body: text } });
    await f.rt.db.pool.query(
      `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, type, content, author, status, recipient, graph_body)
       values ($1, $2, $3, $4, 'out', 'text', $5, 'api', 'queued', $6, $7)`,
      [id, f.workspaceId, conversationId, f.numberId, JSON.stringify({ text }), msg.to, JSON.stringify(toGraphBody(msg))],
    );
    await workers.enqueue(f.numberId, { workspaceId: f.workspaceId, messageId: id, recipient: msg.to });
    return id;
  }
  const sentTo = (to: string) => graph.calls.filter((c) => c.method === 'POST' && (c.body as { to?: string; type?: string }).to === to && (c.body as { type?: string }).type === 'text');
  async function until(cond: () => Promise<boolean>, ms = 20_000) {
    const start = Date.now();
    while (!(await cond())) {
      if (Date.now() - start > ms) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("holds the number's messages-per-second limit", async () => {
    const conv = await conversationFor('15550000001');
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) ids.push(await queueTo(conv, '15550000001', `m${i}`));
    await until(async () => (await f.rows<{ n: number }>("select count(*)::int as n from messages where id = any($1) and status = 'sent'", [ids]))[0]?.n === 15);
    const times = sentTo('+15550000001').map((c) => c.at).sort((a, b) => a - b);
    expect(times).toHaveLength(15);
    // 15 messages at 5 per second cannot all go out in less than two seconds.
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual(1_900);
  });

  it('a pair-rate error delays only that recipient', async () => {
    const a = await conversationFor('15550000002');
    const b = await conversationFor('15550000003');
    graph.failNext(/messages$/, 400, { code: 131056, message: 'pair rate limit hit' });
    const started = Date.now();
    const ida = await queueTo(a, '15550000002', 'for A');
    await until(async () => graph.calls.some((c) => c.at >= started));
    const idb = await queueTo(b, '15550000003', 'for B');
    await until(async () => (await f.rows<{ status: string }>('select status from messages where id = $1', [idb]))[0]?.status === 'sent');
    const bAt = sentTo('+15550000003')[0]?.at as number;
    await until(async () => (await f.rows<{ status: string }>('select status from messages where id = $1', [ida]))[0]?.status === 'sent');
    const aAccepted = sentTo('+15550000002').at(-1)?.at as number;
    // A waits out Meta's 4^0 s; B, queued after A on the same number, is not held behind it.
    expect(aAccepted - started).toBeGreaterThanOrEqual(1_000);
    expect(bAt).toBeLessThan(aAccepted);
  });
});
