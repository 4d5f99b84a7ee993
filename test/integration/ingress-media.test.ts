import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { postSigned, SPEC_PHONE_NUMBER_ID, SPEC_WABA_ID, uniqueWamid } from '../support/meta';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { startStorageEmulator } from '../support/supabase-storage-emulator';
import { SCOPES } from '../../src/domain/keys/scopes';

function imagePayload(mediaId: string, type = 'image', extra: Record<string, unknown> = {}) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: SPEC_WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: SPEC_PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Sheena' }, wa_id: '16505551234' }],
              messages: [
                { from: '16505551234', id: uniqueWamid(), timestamp: String(Math.floor(Date.now() / 1000)), type, [type]: { id: mediaId, mime_type: 'image/jpeg', ...extra } },
              ],
            },
          },
        ],
      },
    ],
  };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each([
  ['local disk', false],
  ['Supabase Storage (emulated)', true],
])('inbound media stored on %s', (_label, useSupabase) => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let storage: Awaited<ReturnType<typeof startStorageEmulator>> | undefined;
  let key: string;
  const SERVICE_KEY = 'service-role-key-for-tests';

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    if (useSupabase) storage = await startStorageEmulator(SERVICE_KEY);
    f = await createIngressFixture(
      {
        WHATSAPP_GRAPH_URL: graph.url,
        ...(storage ? { SUPABASE_URL: storage.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY } : {}),
      },
      { workers: true },
    );
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'k', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });
  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
    await storage?.close();
  });

  const mediaRow = (mediaId: string) =>
    f.rows<{ id: string; status: string; error: string | null; size_bytes: number; storage: string }>('select * from media where meta_media_id = $1', [mediaId]);

  it('fetches, checks and stores the bytes; GET /v1/media/:id streams them back', async () => {
    const bytes = randomBytes(50_000);
    graph.addMedia('1003383421387256', bytes, 'image/jpeg');
    await postSigned(f.rt.app as Express, imagePayload('1003383421387256'), APP_SECRET).expect(200);
    const [row] = await waitFor(async () => {
      const rows = await mediaRow('1003383421387256');
      return rows[0]?.status === 'stored' ? rows : undefined;
    });
    expect(row).toMatchObject({ size_bytes: 50_000, storage: useSupabase ? 'supabase' : 'local' });
    if (storage) expect(storage.objects.size).toBe(1);
    // The message points at our copy.
    const [msg] = await f.rows<{ content: { media: { media_id: string } } }>('select content from messages where type = $1', ['image']);
    expect(msg?.content.media.media_id).toBe(row?.id);
    const res = await request(f.rt.app as Express)
      .get(`/v1/media/${row?.id}`)
      .set('Authorization', `Bearer ${key}`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    // Every Graph call carried the number's token.
    expect(graph.calls.every((c) => c.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);
  });

  it('an expired download URL is looked up afresh', async () => {
    graph.addMedia('2000000000000002', randomBytes(1000), 'image/jpeg', { expiredUrls: 1 });
    await postSigned(f.rt.app as Express, imagePayload('2000000000000002'), APP_SECRET).expect(200);
    await waitFor(async () => ((await mediaRow('2000000000000002'))[0]?.status === 'stored' ? true : undefined));
    const lookups = graph.calls.filter((c) => c.path === '/v23.0/2000000000000002');
    const downloads = graph.calls.filter((c) => c.path === '/download/2000000000000002');
    expect(downloads.length).toBe(2);
    expect(lookups.length).toBe(2);
  });

  it('media Meta no longer has is marked failed, and the API says so', async () => {
    await postSigned(f.rt.app as Express, imagePayload('3000000000000003'), APP_SECRET).expect(200);
    const [row] = await waitFor(async () => {
      const rows = await mediaRow('3000000000000003');
      return rows[0]?.status === 'failed' ? rows : undefined;
    });
    expect(row?.error).toMatch(/#100/);
    const res = await request(f.rt.app as Express).get(`/v1/media/${row?.id}`).set('Authorization', `Bearer ${key}`).expect(404);
    expect(res.body.error.code).toBe('media_unavailable');
  });

  it('GET /v1/media/:id: 404 for another workspace, 403 without messages:read', async () => {
    graph.addMedia('4000000000000004', randomBytes(10), 'image/jpeg');
    await postSigned(f.rt.app as Express, imagePayload('4000000000000004'), APP_SECRET).expect(200);
    const [row] = await waitFor(async () => {
      const rows = await mediaRow('4000000000000004');
      return rows[0]?.status === 'stored' ? rows : undefined;
    });
    const other = await f.rt.services.tenancy.createWorkspace({ name: 'other' });
    const otherKey = (await f.rt.services.apiKeys.create({ workspaceId: other.id, name: 'k', scopes: ['messages:read'], mode: 'live', source: 'cli' })).plaintext;
    await request(f.rt.app as Express).get(`/v1/media/${row?.id}`).set('Authorization', `Bearer ${otherKey}`).expect(404);
    const noScope = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'k', scopes: ['usage:read'], mode: 'live', source: 'cli' })).plaintext;
    await request(f.rt.app as Express).get(`/v1/media/${row?.id}`).set('Authorization', `Bearer ${noScope}`).expect(403);
    await request(f.rt.app as Express).get(`/v1/media/${row?.id}`).expect(401);
  });
});
