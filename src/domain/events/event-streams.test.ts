import type { EventBus, EventStreamRepo, StreamEvent } from './event-stream';
import { createEventStreams } from './event-streams';

/** An outbox and a bus in memory: the bus can lose messages, as Redis pub/sub does. */
function fakes() {
  const stored: StreamEvent[] = [];
  const listeners = new Set<(e: StreamEvent) => void>();
  let lose = false;
  const repo: EventStreamRepo = {
    dispatch: async () => ({ events: [], deliveries: [] }),
    after: async (_ws, seq, limit) => stored.filter((e) => e.seq > seq).slice(0, limit),
    position: async (_ws, id) => stored.find((e) => e.id === id)?.seq ?? null,
    head: async () => stored.at(-1)?.seq ?? 0,
  };
  const bus: EventBus = {
    publish: async (events) => {
      for (const e of events) if (!lose) for (const l of listeners) l(e);
    },
    subscribe: async (_ws, l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close: async () => undefined,
  };
  const emit = async (conversationId = 'conv_a') => {
    const prev = stored.at(-1)?.seq ?? 0;
    const e: StreamEvent = { id: `evt_${prev + 1}`, seq: prev + 1, prev, workspaceId: 'ws_1', conversationId, type: 'message.received', data: {}, createdAt: new Date() };
    stored.push(e);
    await bus.publish([e]);
    return e;
  };
  return { repo, bus, emit, setLose: (v: boolean) => (lose = v) };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('event streams', () => {
  it('delivers live events in order, starting after the latest one at connect time', async () => {
    const f = fakes();
    await f.emit();
    const got: string[] = [];
    const l = await createEventStreams(f).open({ workspaceId: 'ws_1', deliver: (e) => got.push(e.id), onError: (e) => { throw e; } });
    await f.emit();
    await f.emit();
    await settle();
    expect(got).toEqual(['evt_2', 'evt_3']);
    l.close();
    await f.emit();
    await settle();
    expect(got).toEqual(['evt_2', 'evt_3']);
  });

  it('notices a lost publish through the next event and reads the gap back, each event once', async () => {
    const f = fakes();
    const got: string[] = [];
    await createEventStreams(f).open({ workspaceId: 'ws_1', deliver: (e) => got.push(e.id), onError: (e) => { throw e; } });
    await f.emit();
    f.setLose(true);
    await f.emit();
    await f.emit();
    f.setLose(false);
    await f.emit();
    await settle();
    expect(got).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4']);
  });

  it('finds a lost last event at the next poll', async () => {
    const f = fakes();
    const got: string[] = [];
    const l = await createEventStreams(f).open({ workspaceId: 'ws_1', deliver: (e) => got.push(e.id), onError: (e) => { throw e; } });
    f.setLose(true);
    await f.emit();
    await settle();
    expect(got).toEqual([]);
    l.poll();
    await settle();
    expect(got).toEqual(['evt_1']);
  });

  it('resumes after Last-Event-ID and filters by conversation while following the whole sequence', async () => {
    const f = fakes();
    await f.emit('conv_a');
    await f.emit('conv_b');
    await f.emit('conv_a');
    const got: string[] = [];
    await createEventStreams(f).open({ workspaceId: 'ws_1', conversationId: 'conv_a', lastEventId: 'evt_1', deliver: (e) => got.push(e.id), onError: (e) => { throw e; } });
    await settle();
    await f.emit('conv_b');
    await f.emit('conv_a');
    await settle();
    expect(got).toEqual(['evt_3', 'evt_5']);
  });

  it('refuses an unknown Last-Event-ID and a bus that does not answer', async () => {
    const f = fakes();
    await expect(createEventStreams(f).open({ workspaceId: 'ws_1', lastEventId: 'evt_9', deliver: () => undefined, onError: () => undefined })).rejects.toMatchObject({ status: 400, code: 'unknown_last_event_id' });
    const silent = { ...f.bus, subscribe: () => new Promise<() => void>(() => undefined) };
    await expect(createEventStreams({ repo: f.repo, bus: silent, subscribeTimeoutMs: 50 }).open({ workspaceId: 'ws_1', deliver: () => undefined, onError: () => undefined })).rejects.toMatchObject({ status: 503 });
  });
});
