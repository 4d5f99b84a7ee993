import { captureLogs } from '../../../test/support/logs';
import type { OutboundRow, SendRepo } from './send.port';
import { createSendService } from './send.service';

/**
 * The send step when Redis or the database fail around the Graph call (what the fault tests
 * found): before the request leaves, the claim is undone so that a retry sends the message; after
 * Meta accepted it, the send is recorded even if the wamid could not be kept in the job.
 */
function setup() {
  const calls: string[] = [];
  const row = { id: 'msg_1', workspace_id: 'ws_1', phone_number_id: 'num_1', meta_phone_number_id: '1065', test: false, graph_body: { to: '+1555' }, send_attempts: 1 } as unknown as OutboundRow;
  const repo: SendRepo = {
    claim: async () => ({ outcome: 'claimed', row }),
    markSent: async (row, wamid) => {
      calls.push(`markSent ${row.id} ${wamid}`);
      return { pendingStatuses: false };
    },
    markFailed: async (id, e) => {
      calls.push(`markFailed ${id} ${e.title}`);
    },
    requeue: async (id) => {
      calls.push(`requeue ${id}`);
    },
    applyPendingStatuses: async () => 0,
  };
  const graph = {
    sendMessage: async () => {
      calls.push('graph');
      return { wamid: 'wamid.OK1' };
    },
  };
  const service = createSendService({ repo, graph, tenancy: { credentials: async () => ({ accessToken: 'EAAG-token' }) } as never, logger: captureLogs().logger });
  return { service, calls };
}

describe('send service around Redis and database failures', () => {
  it('a rate gate that fails before the call (Redis down) undoes the claim and rethrows: nothing sent, nothing failed', async () => {
    const { service, calls } = setup();
    await expect(
      service.send('msg_1', {
        remember: async () => undefined,
        beforeCall: async () => {
          throw new Error('Connection is closed.');
        },
      }),
    ).rejects.toThrow('Connection is closed.');
    expect(calls).toEqual(['requeue msg_1']);
  });

  it('Meta accepted the message but the job could not keep its wamid (Redis down): the send is recorded anyway', async () => {
    const { service, calls } = setup();
    const outcome = await service.send('msg_1', {
      remember: async () => {
        throw new Error('Connection is closed.');
      },
    });
    expect(outcome).toEqual({ outcome: 'sent', wamid: 'wamid.OK1' });
    expect(calls).toEqual(['graph', 'markSent msg_1 wamid.OK1']);
  });
});
