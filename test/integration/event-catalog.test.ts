import type { Express } from 'express';
import request from 'supertest';
import { parseEventData } from '../../src/domain/events/catalog';
import { SCOPES } from '../../src/domain/keys/scopes';
import { startGraphEmulator, type GraphEmulator } from '../support/graph-emulator';
import { ACCESS_TOKEN, APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { postSigned, SPEC_WABA_ID, statusPayload, textPayload } from '../support/meta';
import { waitFor } from '../support/webhook-receiver';

/**
 * The catalog against reality: run the flows that emit events (inbound, the agent handing off,
 * a takeover with a reply and its statuses, notes, handback, close, reopen, a template status)
 * and parse every outbox row with its type's schema.
 */
describe('event catalog against emitted events', () => {
  let f: IngressFixture;
  let graph: GraphEmulator;
  let key: string;
  const app = () => f.rt.app as Express;
  const auth = () => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    graph = await startGraphEmulator(ACCESS_TOKEN);
    f = await createIngressFixture(
      { WHATSAPP_GRAPH_URL: graph.url, AGENT_DEBOUNCE_MS: '20', AGENT_HANDOFF_KEYWORDS: 'human please', KNOWLEDGE_GAP_THRESHOLD: '1', EVENT_DISPATCH_INTERVAL_MS: '20' },
      { workers: true },
    );
    await f.rt.runWorkers();
    key = (await f.rt.services.apiKeys.create({ workspaceId: f.workspaceId, name: 'all', scopes: [...SCOPES], mode: 'live', source: 'cli' })).plaintext;
  });

  afterAll(async () => {
    await f.rt.teardown();
    await graph.close();
  });

  it('every event written by the flows parses with its schema', async () => {
    const waId = '16505590001';
    await postSigned(app(), textPayload({ from: waId, body: 'human please' }), APP_SECRET).expect(200);
    await postSigned(app(), textPayload({ from: '16505590002', body: 'what is the airspeed of an unladen swallow?' }), APP_SECRET).expect(200);
    const id = await waitFor('the handoff', async () => (await f.rows<{ conversation_id: string }>(`select conversation_id from events where type = 'conversation.handoff_requested'`))[0]?.conversation_id);
    await request(app()).post(`/v1/conversations/${id}/takeover`).set(auth()).send({ agent: { id: 'agt_1', name: 'Maria' } }).expect(200);
    const reply = await request(app()).post(`/v1/conversations/${id}/reply`).set(auth()).send({ type: 'text', text: { body: 'Maria here' } }).expect(202);
    const wamid = await waitFor('the send', async () => (await f.rows<{ wamid: string | null }>('select wamid from messages where id = $1', [reply.body.id]))[0]?.wamid ?? undefined);
    await postSigned(app(), statusPayload([{ wamid, status: 'delivered' }]), APP_SECRET).expect(200);
    await postSigned(app(), statusPayload([{ wamid, status: 'read' }]), APP_SECRET).expect(200);
    await request(app()).post(`/v1/conversations/${id}/notes`).set(auth()).send({ body: 'VIP customer', agent: { id: 'agt_1', name: 'Maria' } }).expect(201);
    await request(app()).post(`/v1/conversations/${id}/handback`).set(auth()).send({}).expect(200);
    await request(app()).post(`/v1/conversations/${id}/close`).set(auth()).send({}).expect(200);
    await request(app()).post(`/v1/conversations/${id}/reopen`).set(auth()).send({}).expect(200);
    await postSigned(
      app(),
      {
        object: 'whatsapp_business_account',
        entry: [{ id: SPEC_WABA_ID, time: 1750000000, changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED', message_template_id: 42, message_template_name: 'hello', message_template_language: 'en_US', reason: 'NONE' } }] }],
      },
      APP_SECRET,
    ).expect(200);

    const rows = await f.rows<{ id: string; type: string; data: unknown }>('select id, type, data from events order by seq');
    const problems = rows.flatMap((r) => {
      try {
        parseEventData(r.type, r.data);
        return [];
      } catch (e) {
        return [`${r.type} ${r.id}: ${(e as Error).message.slice(0, 500)}`];
      }
    });
    expect(problems).toEqual([]);
    expect(new Set(rows.map((r) => r.type))).toEqual(
      new Set([
        'conversation.created',
        'message.received',
        'conversation.handoff_requested',
        'knowledge_gap.detected',
        'conversation.takeover',
        'agent.replied',
        'message.sent',
        'message.delivered',
        'message.read',
        'conversation.note_added',
        'conversation.handback',
        'conversation.closed',
        'conversation.reopened',
        'template.status_updated',
        ...rows.map((r) => r.type).filter((t) => t === 'message.failed'),
      ]),
    );
  });
});
