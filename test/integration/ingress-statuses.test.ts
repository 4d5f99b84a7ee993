import type { Express } from 'express';
import { postSigned, statusPayload, textPayload, uniqueWamid, SPEC_WABA_ID } from '../support/meta';
import { APP_SECRET, createIngressFixture, type IngressFixture } from '../support/ingress';
import { newId } from '../../src/lib/ids';
import { createIngressRepo } from '../../src/adapters/postgres/ingress.repo';

describe('ingress: statuses and template updates', () => {
  let f: IngressFixture;
  let app: Express;
  let conversationId: string;
  beforeAll(async () => {
    f = await createIngressFixture();
    app = f.rt.app as Express;
  });
  afterAll(async () => {
    await f.rt.teardown();
  });
  beforeEach(async () => {
    await f.reset();
    await postSigned(app, textPayload({}), APP_SECRET).expect(200);
    conversationId = (await f.rows<{ id: string }>('select id from conversations'))[0]?.id as string;
  });

  async function outbound(wamid: string | null, status = 'sent'): Promise<string> {
    const id = newId('message');
    await f.rt.db.pool.query(
      `insert into messages (id, workspace_id, conversation_id, phone_number_id, direction, wamid, type, content, author, status)
       values ($1, $2, $3, $4, 'out', $5, 'text', '{"text":"hi"}', 'bot', $6)`,
      [id, f.workspaceId, conversationId, f.numberId, wamid, status],
    );
    return id;
  }
  const state = async (id: string) =>
    (await f.rows<{ status: string; error_code: number | null; error_title: string | null; pricing_category: string | null; pricing_type: string | null }>(
      'select status, error_code, error_title, pricing_category, pricing_type from messages where id = $1',
      [id],
    ))[0];
  const statusEvents = async () =>
    (await f.rows<{ type: string }>("select type from events where type like 'message.%' and type <> 'message.received' order by seq")).map((e) => e.type);

  it('out of order and duplicated statuses end in the right final state, each event once', async () => {
    const wamid = uniqueWamid();
    const id = await outbound(wamid, 'sending');
    const sequence = ['read', 'delivered', 'sent', 'read', 'delivered', 'sent'];
    for (const s of sequence) await postSigned(app, statusPayload([{ wamid, status: s }]), APP_SECRET).expect(200);
    expect((await state(id))?.status).toBe('read');
    expect(await statusEvents()).toEqual(['message.read']);

    const second = uniqueWamid();
    const id2 = await outbound(second, 'sending');
    // One batch, shuffled, with duplicates.
    await postSigned(app, statusPayload(['delivered', 'sent', 'delivered', 'sent'].map((status) => ({ wamid: second, status }))), APP_SECRET).expect(200);
    expect((await state(id2))?.status).toBe('delivered');
  });

  it('failed is terminal and keeps Meta\'s code, title and details; a late delivered changes nothing', async () => {
    const wamid = uniqueWamid();
    const id = await outbound(wamid, 'sent');
    const errors = [{ code: 131049, title: 'This message was not delivered to maintain healthy ecosystem engagement.', message: 'x', error_data: { details: 'held back' } }];
    await postSigned(app, statusPayload([{ wamid, status: 'failed', errors }]), APP_SECRET).expect(200);
    await postSigned(app, statusPayload([{ wamid, status: 'delivered' }, { wamid, status: 'read' }]), APP_SECRET).expect(200);
    expect(await state(id)).toMatchObject({ status: 'failed', error_code: 131049, error_title: errors[0]?.title });
    expect(await statusEvents()).toEqual(['message.failed']);
    const [evt] = await f.rows<{ data: { message: { error: unknown } } }>("select data from events where type = 'message.failed'");
    expect(evt?.data.message.error).toEqual({ code: 131049, title: errors[0]?.title, details: 'held back' });
  });

  it('a failed after delivered is ignored (a delivered message did not fail)', async () => {
    const wamid = uniqueWamid();
    const id = await outbound(wamid, 'delivered');
    await postSigned(app, statusPayload([{ wamid, status: 'failed', errors: [{ code: 131000, title: 'x' }] }]), APP_SECRET).expect(200);
    expect((await state(id))?.status).toBe('delivered');
  });

  it('records pricing even when the status itself is stale', async () => {
    const wamid = uniqueWamid();
    const id = await outbound(wamid, 'read');
    await postSigned(app, statusPayload([{ wamid, status: 'sent', pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' } }]), APP_SECRET).expect(200);
    expect(await state(id)).toMatchObject({ status: 'read', pricing_category: 'utility', pricing_type: 'regular' });
  });

  it('a status for a wamid not stored yet waits, and is applied when the row gets that wamid', async () => {
    const wamid = uniqueWamid();
    await postSigned(app, statusPayload([{ wamid, status: 'delivered' }, { wamid, status: 'sent' }]), APP_SECRET).expect(200);
    expect(await f.rows('select status from pending_statuses where wamid = $1 order by status', [wamid])).toEqual([
      { status: 'delivered' },
      { status: 'sent' },
    ]);
    // The send worker stores the wamid Graph returned, then applies what was waiting.
    const id = await outbound(null, 'sending');
    await f.rt.db.pool.query("update messages set wamid = $2, status = 'sent' where id = $1", [id, wamid]);
    const applied = await createIngressRepo(f.rt.db.pool).applyPendingStatuses(f.numberId, wamid);
    expect(applied).toBe(1);
    expect((await state(id))?.status).toBe('delivered');
    expect(await f.rows('select * from pending_statuses where wamid = $1', [wamid])).toEqual([]);
  });

  it('pending statuses older than their bound are pruned', async () => {
    const wamid = uniqueWamid();
    await postSigned(app, statusPayload([{ wamid, status: 'read' }]), APP_SECRET).expect(200);
    const repo = createIngressRepo(f.rt.db.pool);
    expect(await repo.prunePendingStatuses(new Date(Date.now() - 7 * 86_400_000))).toBe(0);
    expect(await repo.prunePendingStatuses(new Date(Date.now() + 1000))).toBe(1);
  });

  it('message_template_status_update updates the catalog and emits template.status_updated', async () => {
    await f.rt.db.pool.query(
      `insert into templates (id, workspace_id, waba_id, meta_template_id, name, language, category, status)
       values ('tpl_1', $1, $2, '1689556908129832', 'order_confirmation', 'en_US', 'UTILITY', 'APPROVED')`,
      [f.workspaceId, SPEC_WABA_ID],
    );
    const change = (event: string) => ({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: SPEC_WABA_ID,
          time: 1750000000,
          changes: [
            {
              field: 'message_template_status_update',
              value: {
                event,
                message_template_id: 1689556908129832,
                message_template_name: 'order_confirmation',
                message_template_language: 'en-US',
                reason: 'NONE',
              },
            },
          ],
        },
      ],
    });
    await postSigned(app, change('PAUSED'), APP_SECRET).expect(200);
    expect((await f.rows('select status from templates'))[0]).toEqual({ status: 'PAUSED' });
    await postSigned(app, change('REINSTATED'), APP_SECRET).expect(200);
    expect((await f.rows('select status from templates'))[0]).toEqual({ status: 'APPROVED' });
    const events = await f.rows<{ data: Record<string, unknown> }>("select data from events where type = 'template.status_updated' order by seq");
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ template_id: 'tpl_1', event: 'PAUSED', status: 'PAUSED', language: 'en_US' }),
      expect.objectContaining({ template_id: 'tpl_1', event: 'REINSTATED', status: 'APPROVED' }),
    ]);
  });

  it('other fields are stored raw and answered 200', async () => {
    const payload = {
      object: 'whatsapp_business_account',
      entry: [{ id: SPEC_WABA_ID, time: 1750000000, changes: [{ field: 'phone_number_quality_update', value: { display_phone_number: '15550783881', event: 'FLAGGED', current_limit: 'TIER_10K' } }] }],
    };
    await postSigned(app, payload, APP_SECRET).expect(200);
    expect(await f.rows('select field, value, phone_number_id from meta_webhook_changes')).toEqual([
      { field: 'phone_number_quality_update', value: payload.entry[0]?.changes[0]?.value, phone_number_id: null },
    ]);
  });
});
