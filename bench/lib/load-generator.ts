// A closed-loop HTTP/1.1 load generator, run as its own process so it does not share a CPU with
// the server under test more than the machine forces. It reads its job from argv (JSON) and
// prints one JSON result line. Every request is unique (a fresh wamid, signed), and the generator
// remembers which ones the server acknowledged, so durability can be checked afterwards.
//
// Like autocannon, it writes requests on raw keep-alive sockets and reads only the status line
// and Content-Length of each answer: node's http client would cost about as much CPU per request
// as a bare express route, CPU the server under test then could not use (both share the machine).
// Bodies are built from a template split around the parts that change (no JSON.stringify per
// request); only the signature is computed per request.
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { machineCpuMs } from './process-cpu';

interface Job {
  url: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  /** Sign bodies with this app secret (X-Hub-Signature-256). */
  appSecret?: string;
  phoneNumberId: string;
  /** Also print every measured latency (ms), for a caller that merges several runs. */
  latencies?: boolean;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const target = new URL(job.url);
const port = Number(target.port);
let seq = 0;

// The body with markers where each request differs; split around them once.
const MARKERS = ['\u0001FROM\u0001', '\u0001NAME\u0001', '\u0001WAMID\u0001', '\u0001TS\u0001', '\u0001SEQ\u0001'] as const;
const template = JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: job.phoneNumberId },
            contacts: [{ profile: { name: `Customer ${MARKERS[1]}` }, wa_id: MARKERS[0] }],
            messages: [{ from: MARKERS[0], id: MARKERS[2], timestamp: MARKERS[3], type: 'text', text: { body: `Hello, is the shop open today? (${MARKERS[4]})` } }],
          },
        },
      ],
    },
  ],
});
const parts: { text: string; marker: number }[] = [];
{
  const re = /\\u0001(FROM|NAME|WAMID|TS|SEQ)\\u0001/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    parts.push({ text: template.slice(last, m.index), marker: MARKERS.indexOf(`\u0001${m[1]}\u0001` as (typeof MARKERS)[number]) });
    last = m.index + m[0].length;
  }
  parts.push({ text: template.slice(last), marker: -1 });
}
const head = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n`;

function request(): { wamid: string; bytes: Buffer } {
  seq++;
  const from = `1555${String(seq % 5000).padStart(7, '0')}`;
  const wamid = `wamid.BENCH${process.pid}${seq.toString(36).padStart(8, '0')}`;
  const values = [from, String(seq % 5000), wamid, String(Math.floor(Date.now() / 1000)), String(seq)];
  let raw = '';
  for (const p of parts) raw += p.marker < 0 ? p.text : p.text + values[p.marker];
  const body = Buffer.from(raw);
  const signature = job.appSecret ? `X-Hub-Signature-256: sha256=${createHmac('sha256', job.appSecret).update(body).digest('hex')}\r\n` : '';
  return { wamid, bytes: Buffer.concat([Buffer.from(`${head}${signature}Content-Length: ${body.length}\r\n\r\n`), body]) };
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection: sends a request, reads its answer, and so on until `end`. */
function connection(end: number, onAnswer: (wamid: string, status: number, ms: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let socket: net.Socket;
    let pending: Buffer = Buffer.alloc(0);
    let current: { wamid: string; started: bigint } | undefined;
    let closeAfter = false;
    const next = () => {
      if (Date.now() >= end) {
        socket.destroy();
        resolve();
        return;
      }
      const r = request();
      current = { wamid: r.wamid, started: process.hrtime.bigint() };
      socket.write(r.bytes);
    };
    const open = () => {
      pending = Buffer.alloc(0);
      closeAfter = false;
      socket = net.connect({ host: target.hostname, port, noDelay: true }, next);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        const headerEnd = pending.indexOf(HEADER_END);
        if (headerEnd < 0 || !current) return;
        const headers = pending.toString('latin1', 0, headerEnd);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
        if (pending.length < headerEnd + 4 + length) return;
        const status = Number(headers.slice(9, 12));
        closeAfter = /\r\nconnection:\s*close/i.test(headers);
        pending = pending.subarray(headerEnd + 4 + length);
        const done = current;
        current = undefined;
        onAnswer(done.wamid, status, Number(process.hrtime.bigint() - done.started) / 1e6);
        if (closeAfter) socket.destroy();
        else next();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        // A request without an answer counts as status 0; the loop goes on on a new connection.
        if (current) onAnswer(current.wamid, 0, Number(process.hrtime.bigint() - current.started) / 1e6);
        current = undefined;
        if (Date.now() < end) setTimeout(open, closeAfter ? 0 : 10);
        else resolve();
      });
    };
    open();
  });
}

async function main() {
  // The CPU of the load alone, not of the process's start (tsx compiling this file).
  const cpu0 = process.cpuUsage();
  const latencies: number[] = [];
  const acknowledged: string[] = [];
  const statuses: Record<string, number> = {};
  let answered = 0;
  const machine0 = machineCpuMs();
  const t0 = Date.now();
  const warmEnd = t0 + job.warmupMs;
  const end = warmEnd + job.durationMs;
  const onAnswer = (wamid: string, status: number, ms: number) => {
    answered++;
    if (status === 200) acknowledged.push(wamid);
    if (Date.now() < warmEnd) return;
    latencies.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  await Promise.all(Array.from({ length: job.connections }, () => connection(end, onAnswer)));
  const measuredMs = Date.now() - warmEnd;
  const runMs = Date.now() - t0;
  const machine1 = machineCpuMs();
  const machineBusy = machine0 && machine1 ? (machine1.busy - machine0.busy) / (machine1.total - machine0.total) : undefined;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `${JSON.stringify({ requests: latencies.length, rps: latencies.length / (measuredMs / 1000), p50: pct(50), p99: pct(99), statuses, acknowledged, answered, runMs, machineBusy, cpuMs: (cpu.user + cpu.system) / 1000, ...(job.latencies ? { latencies } : {}) })}\n`,
  );
}

void main();
