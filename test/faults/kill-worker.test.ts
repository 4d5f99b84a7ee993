import type { GatewayProcess } from './lib/cluster';
import { createHarness, type Harness } from './lib/harness';
import { reconcilerTotals, unhandledErrors, writeReport } from './lib/report';
import { startTap, type Tap, type TapCall } from './lib/tap';
import { deliverUntilAccepted, inboundText, repliesByCustomer } from './lib/traffic';

/**
 * Issue 9, scenario 1: kill -9 a worker process between the model's answer and the Graph send,
 * 50 times. Three worker processes, each behind its own taps (one in front of the OpenAI
 * emulator, one in front of the Graph emulator), so the test knows which process is at which
 * point of which customer's turn and SIGKILLs exactly that one there; the killed process is
 * restarted at once while the next round goes on with the others.
 *
 * Kill points, cycled over the rounds:
 * - model-answered +N ms: the model's answer reached the worker; killed N ms later (before the
 *   reply is stored, while it is, before or after its send job is queued, ...);
 * - graph-answer-held: Meta (the emulator) accepted the send; the worker dies before it hears so;
 * - graph-answered +N ms: Meta's answer reached the worker; killed N ms later (before or after it
 *   remembered the wamid, before or after it recorded the send);
 * - graph-request: the send's request is held before it reaches Meta and the worker dies.
 *
 * Expected, per the documented policy (send.service.ts, README "Sending messages"): every
 * customer message gets exactly one reply at the Graph emulator, except where the worker died
 * after claiming the send and before Meta had it: the outcome is unknown, so the reply is marked
 * failed (`unknown_outcome`) and never sent: at most one, and that gap is counted and reported.
 * Nothing is ever sent twice. Killed jobs come back through BullMQ's stalled-job check (30 s
 * lock); jobs killed twice fail and come back through the reconciler.
 */
type KillPoint = { at: 'model-answered'; afterMs: number } | { at: 'graph-request' } | { at: 'graph-answer-held' } | { at: 'graph-answered'; afterMs: number };

const ROUNDS = 50;
const SLOTS = 3;
const MODEL_DELAYS = [0, 1, 2, 5, 10, 20, 40];
const GRAPH_DELAYS = [0, 1, 3, 10];

function plan(round: number): KillPoint {
  const k = round % 10;
  if (k <= 3) return { at: 'model-answered', afterMs: MODEL_DELAYS[(round * 4 + k) % MODEL_DELAYS.length] as number };
  if (k <= 5) return { at: 'graph-answer-held' };
  if (k <= 8) return { at: 'graph-answered', afterMs: GRAPH_DELAYS[round % GRAPH_DELAYS.length] as number };
  return { at: 'graph-request' };
}

const isSendTo = (call: TapCall, waId: string) => {
  if (!call.path.endsWith('/messages')) return false;
  try {
    const b = JSON.parse(call.body.toString('utf8')) as { to?: string; type?: string };
    return b.type === 'text' && b.to === `+${waId}`;
  } catch {
    return false;
  }
};

describe('fault: kill -9 a worker between the model answer and the Graph send, 50 times', () => {
  let h: Harness;
  let api: GatewayProcess;
  const modelTaps: Tap[] = [];
  const graphTaps: Tap[] = [];
  const slots: (GatewayProcess | undefined)[] = [];
  const restarts: Promise<unknown>[] = [];
  const kills: { round: number; slot: number; point: KillPoint; at: number }[] = [];
  let generation = 0;

  const startSlot = async (i: number) => {
    const p = await h.start(`worker-${i}.${++generation}`, 'worker', { OPENAI_BASE_URL: `${modelTaps[i]?.url}/v1`, WHATSAPP_GRAPH_URL: graphTaps[i]?.url as string });
    slots[i] = p;
    return p;
  };

  beforeAll(async () => {
    h = await createHarness();
    const origin = new URL(h.openai.url).origin;
    for (let i = 0; i < SLOTS; i++) {
      modelTaps.push(await startTap(origin));
      graphTaps.push(await startTap(h.graph.url));
    }
    api = await h.start('api', 'api', h.apiEnv({ OPENAI_BASE_URL: h.openai.url, WHATSAPP_GRAPH_URL: h.graph.url }));
    await Promise.all(Array.from({ length: SLOTS }, (_, i) => startSlot(i)));
  });

  afterAll(async () => {
    await Promise.allSettled(restarts);
    await h?.teardown();
    await Promise.all([...modelTaps, ...graphTaps].map((t) => t.close()));
  });

  it('every customer message ends with exactly one reply at Meta, or none with the gap reported; never two', async () => {
    let pending: { round: number; waId: string; marker: string; point: KillPoint; fired: boolean; done: () => void } | undefined;

    const kill = async (slot: number, p: NonNullable<typeof pending>) => {
      const proc = slots[slot];
      slots[slot] = undefined;
      if (proc) await proc.kill('SIGKILL');
      kills.push({ round: p.round, slot, point: p.point, at: Date.now() });
      restarts.push(startSlot(slot));
      p.done();
    };
    const claim = (match: boolean, at: KillPoint['at']) => {
      const p = pending;
      if (!p || p.fired || p.point.at !== at || !match) return undefined;
      p.fired = true;
      return p;
    };

    for (let i = 0; i < SLOTS; i++) {
      modelTaps[i]?.setHooks({
        afterRelay(call) {
          const p = claim(call.path.endsWith('/chat/completions') && call.body.toString('utf8').includes(pending?.marker ?? '\u0000'), 'model-answered');
          if (p && p.point.at === 'model-answered') setTimeout(() => void kill(i, p), p.point.afterMs);
        },
      });
      graphTaps[i]?.setHooks({
        async beforeForward(call) {
          const p = claim(isSendTo(call, pending?.waId ?? ''), 'graph-request');
          if (!p) return 'forward';
          await kill(i, p);
          return 'hold';
        },
        async beforeRelay(call) {
          const p = claim(isSendTo(call, pending?.waId ?? ''), 'graph-answer-held');
          if (!p) return 'relay';
          await kill(i, p);
          return 'hold';
        },
        afterRelay(call) {
          const p = claim(isSendTo(call, pending?.waId ?? ''), 'graph-answered');
          if (p && p.point.at === 'graph-answered') setTimeout(() => void kill(i, p), p.point.afterMs);
        },
      });
    }

    const customers: string[] = [];
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      const waId = String(16505560100 + round);
      customers.push(waId);
      const marker = `#r${round}#`;
      const killed = new Promise<void>((resolve) => {
        pending = { round, waId, marker, point: plan(round), fired: false, done: resolve };
      });
      const delivery = inboundText(waId, `Hello ${marker} do you deliver on Sundays?`, `wamid.KILL${round}x${started}`);
      expect(await deliverUntilAccepted(() => api.url, delivery, 20_000)).toBe(200);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        killed,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`round ${round}: the worker never reached ${plan(round).at} within 90 s`)), 90_000);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    pending = undefined;
    const roundsDoneAt = Date.now();
    await Promise.all(restarts);

    // Settle: every conversation answered (or handed off) and every reply finished (sent or failed).
    const settleStart = Date.now();
    let settled = false;
    while (!settled && Date.now() - settleStart < 240_000) {
      const [open] = await h.rows<{ unanswered: number; unfinished: number }>(
        `select (select count(*)::int from conversations c where c.mode = 'bot' and exists (
                   select 1 from messages m where m.conversation_id = c.id and m.direction = 'in'
                      and (c.last_answered_message_id is null or m.id > c.last_answered_message_id))) as unanswered,
                (select count(*)::int from messages where direction = 'out' and status in ('queued', 'sending')) as unfinished`,
      );
      settled = open?.unanswered === 0 && open?.unfinished === 0;
      if (!settled) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(settled).toBe(true);
    await new Promise((r) => setTimeout(r, 3_000)); // a late duplicate would show up here

    const replies = repliesByCustomer(h.graph.calls);
    const rows = await h.rows<{ wa_id: string; status: string; error_title: string | null; author: string }>(
      `select c.wa_id, m.status, m.error_title, m.author from messages m
         join conversations v on v.id = m.conversation_id join contacts c on c.id = v.contact_id
        where m.direction = 'out'`,
    );
    expect(kills).toHaveLength(ROUNDS);
    const outcome = { exactlyOne: 0, gaps: 0, deliveredButUnknown: 0, recordedSent: 0 };
    const problems: string[] = [];
    customers.forEach((waId, round) => {
      const point = plan(round);
      const atMeta = replies.get(waId)?.length ?? 0;
      const mine = rows.filter((r) => r.wa_id === waId);
      const row = mine[0];
      if (mine.length !== 1 || row?.author !== 'bot') problems.push(`round ${round}: ${mine.length} reply rows`);
      if (atMeta > 1) problems.push(`round ${round} (${point.at}): ${atMeta} replies at Meta`);
      if (atMeta === 1) {
        outcome.exactlyOne++;
        if (row?.status === 'sent') outcome.recordedSent++;
        else if (row?.error_title === 'unknown_outcome') outcome.deliveredButUnknown++;
        else problems.push(`round ${round}: delivered but recorded ${row?.status}`);
      }
      if (atMeta === 0) {
        outcome.gaps++;
        // The only way to lose a reply: the unknown-outcome policy, and it says so on the row.
        if (row?.status !== 'failed' || row.error_title !== 'unknown_outcome') problems.push(`round ${round} (${point.at}): no reply and the row is ${row?.status}/${row?.error_title}`);
      }
      // Meta had it before the kill: it must be there exactly once, whatever the row says.
      if ((point.at === 'graph-answer-held' || point.at === 'graph-answered') && atMeta !== 1) problems.push(`round ${round} (${point.at}): ${atMeta} replies at Meta`);
      // Held before Meta: the policy forbids a second try, so there is none.
      if (point.at === 'graph-request' && atMeta !== 0) problems.push(`round ${round} (graph-request): ${atMeta} replies at Meta`);
    });

    const processes = [...h.processes];
    const summary = {
      rounds: ROUNDS,
      kills: kills.length,
      kill_points: kills.reduce<Record<string, number>>((a, k) => ({ ...a, [k.point.at]: (a[k.point.at] ?? 0) + 1 }), {}),
      ...outcome,
      gap_rounds: customers.flatMap((w, r) => ((replies.get(w)?.length ?? 0) === 0 ? [`${r}:${plan(r).at}`] : [])),
      worker_processes_started: processes.length - 1,
      rounds_s: Math.round((roundsDoneAt - started) / 1000),
      settle_s: Math.round((Date.now() - roundsDoneAt) / 1000),
      reconciler: reconcilerTotals(processes),
    };
    writeReport('kill-worker', summary);
    expect(unhandledErrors([...h.processes])).toEqual([]);
    expect(problems).toEqual([]);
    expect(outcome.exactlyOne + outcome.gaps).toBe(ROUNDS);
  }, 480_000);
});
