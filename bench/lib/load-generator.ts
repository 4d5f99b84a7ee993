// A closed-loop HTTP load generator, run as its own process so it does not share a CPU with the
// server under test more than the machine forces. It reads its job from argv (JSON) and prints
// one JSON result line. Each request can be unique (a fresh wamid, signed), and the generator
// remembers which ones the server acknowledged, so durability can be checked afterwards.
import { createHmac } from 'node:crypto';
import http from 'node:http';

interface Job {
  url: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  /** Sign bodies with this app secret (X-Hub-Signature-256). */
  appSecret?: string;
  phoneNumberId: string;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
const target = new URL(job.url);
let seq = 0;

function body(): { wamid: string; raw: string } {
  seq++;
  const wamid = `wamid.BENCH${process.pid}${seq.toString(36).padStart(8, '0')}`;
  const from = `1555${String(seq % 5000).padStart(7, '0')}`;
  const payload = {
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
              contacts: [{ profile: { name: `Customer ${seq % 5000}` }, wa_id: from }],
              messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Hello, is the shop open today? (${seq})` } }],
            },
          },
        ],
      },
    ],
  };
  return { wamid, raw: JSON.stringify(payload) };
}

function send(raw: string): Promise<{ status: number; ms: number }> {
  const started = process.hrtime.bigint();
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) };
  if (job.appSecret) headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', job.appSecret).update(raw).digest('hex')}`;
  return new Promise((resolve) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    req.end(raw);
  });
}

async function main() {
  const latencies: number[] = [];
  const acknowledged: string[] = [];
  const statuses: Record<string, number> = {};
  let measuring = false;
  const warmEnd = Date.now() + job.warmupMs;
  const end = warmEnd + job.durationMs;
  const worker = async () => {
    while (Date.now() < end) {
      const b = body();
      const r = await send(b.raw);
      if (r.status === 200) acknowledged.push(b.wamid);
      if (!measuring && Date.now() >= warmEnd) measuring = true;
      if (measuring) {
        latencies.push(r.ms);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: job.connections }, worker));
  const measuredMs = Date.now() - Math.max(t0, warmEnd);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ requests: latencies.length, rps: latencies.length / (measuredMs / 1000), p50: pct(50), p99: pct(99), statuses, acknowledged })}\n`,
  );
  agent.destroy();
}

void main();
