import request from 'supertest';
import type { Express } from 'express';
import { SCOPES } from '../../src/domain/keys/scopes';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, createIngressFixture, type IngressFixture } from '../support/ingress';
import { SPEC_WABA_ID } from '../support/meta';

describe('template catalog: POST /v1/templates/sync and GET /v1/templates', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let app: Express;
  let key: string;
  const t = (id: number, name: string, status: string, category = 'UTILITY', language = 'en_US') => ({
    id: String(id),
    name,
    language,
    status,
    category,
    parameter_format: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'Hello {{1}}' }],
  });

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture({ WHATSAPP_GRAPH_URL: graph.url });
    app = f.rt.app as Express;
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'k', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });
  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
  });
  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });

  it('pulls every page of the catalog, filters it, and marks templates Meta dropped as DELETED', async () => {
    graph.setTemplates(SPEC_WABA_ID, [
      t(1, 'order_ready', 'APPROVED'),
      t(2, 'order_ready', 'APPROVED', 'UTILITY', 'pt_BR'),
      t(3, 'summer_sale', 'PENDING', 'MARKETING'),
      t(4, 'login_code', 'APPROVED', 'AUTHENTICATION'),
      t(5, 'old_promo', 'PAUSED', 'MARKETING'),
    ]);
    const sync = await request(app).post('/v1/templates/sync').set(auth()).expect(200);
    expect(sync.body).toEqual({ object: 'template_sync', accounts: 1, templates: 5 });
    expect(graph.calls.filter((c) => c.path.endsWith('/message_templates'))).toHaveLength(3);

    const all = await request(app).get('/v1/templates').set(auth()).expect(200);
    expect(all.body.data).toHaveLength(5);
    const approvedUtility = await request(app).get('/v1/templates').query({ status: 'APPROVED', category: 'UTILITY' }).set(auth()).expect(200);
    expect(approvedUtility.body.data.map((x: { language: string }) => x.language).sort()).toEqual(['en_US', 'pt_BR']);
    const byName = await request(app).get('/v1/templates').query({ name: 'summer_sale' }).set(auth()).expect(200);
    expect(byName.body.data).toEqual([expect.objectContaining({ object: 'template', status: 'PENDING', meta_template_id: '3' })]);

    graph.setTemplates(SPEC_WABA_ID, [t(1, 'order_ready', 'APPROVED'), t(3, 'summer_sale', 'APPROVED', 'MARKETING')]);
    await request(app).post('/v1/templates/sync').set(auth()).expect(200);
    const deleted = await request(app).get('/v1/templates').query({ status: 'DELETED' }).set(auth()).expect(200);
    expect(deleted.body.data.map((x: { name: string; language: string }) => `${x.name}/${x.language}`).sort()).toEqual(['login_code/en_US', 'old_promo/en_US', 'order_ready/pt_BR']);
    expect((await request(app).get('/v1/templates').query({ name: 'summer_sale' }).set(auth()).expect(200)).body.data[0].status).toBe('APPROVED');
  });

  it("Meta refusing the token is a 502 naming Meta's code, not a 500", async () => {
    graph.failNext(/message_templates$/, 401, { code: 190, message: 'Invalid OAuth access token' });
    const res = await request(app).post('/v1/templates/sync').set(auth()).expect(502);
    expect(res.body.error).toMatchObject({ code: 'whatsapp_error', meta_code: 190 });
    expect(JSON.stringify(res.body)).not.toContain(ACCESS_TOKEN);
  });

  it('scopes and workspaces', async () => {
    const ro = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'ro', scopes: ['templates:read'], mode: 'live', source: 'cli' })).plaintext;
    await request(app).post('/v1/templates/sync').set(auth(ro)).expect(403);
    await request(app).get('/v1/templates').set(auth(ro)).expect(200);
    const ws = await f.rt.services.tenancy.createWorkspace({ name: 'other' });
    const theirs = (await f.rt.services.apiKeys.create({ workspaceId: ws.id, name: 'k', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
    expect((await request(app).get('/v1/templates').set(auth(theirs)).expect(200)).body.data).toEqual([]);
    expect((await request(app).post('/v1/templates/sync').set(auth(theirs)).expect(400)).body.error.code).toBe('no_number');
  });
});
