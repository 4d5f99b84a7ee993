import type { Express } from 'express';
import { postSigned, textPayload, uniqueWamid, EXAMPLES } from '../support/meta';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';

describe('read receipts on receipt (READ_RECEIPTS=on_receipt)', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture({ WHATSAPP_GRAPH_URL: graph.url, READ_RECEIPTS: 'on_receipt' }, { workers: true });
    await f.rt.runWorkers();
  });
  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
  });

  it('marks a new customer message read once, and not reactions or retries', async () => {
    const wamid = uniqueWamid();
    const payload = textPayload({ wamid });
    await postSigned(f.rt.app as Express, payload, APP_SECRET).expect(200);
    await postSigned(f.rt.app as Express, payload, APP_SECRET).expect(200); // Meta's retry
    await postSigned(f.rt.app as Express, EXAMPLES['Reaction Message'], APP_SECRET).expect(200);
    const reads = () => graph.calls.filter((c) => c.method === 'POST' && (c.body as { status?: string }).status === 'read');
    for (let i = 0; i < 100 && reads().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(reads()).toEqual([
      expect.objectContaining({
        path: '/v23.0/106540352242922/messages',
        authorization: `Bearer ${ACCESS_TOKEN}`,
        body: { messaging_product: 'whatsapp', status: 'read', message_id: wamid },
      }),
    ]);
  });
});
