// `npm run bench`: runs every benchmark in bench/ and prints one table of ratios and latencies,
// with the machine it ran on. Each benchmark measures ours and its baseline in the same run.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { BenchRow } from './ingress.bench';

async function main() {
  const only = process.argv[2];
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only || f.startsWith(only))
    .sort();
  const rows: BenchRow[] = [];
  for (const file of files) {
    process.stderr.write(`running ${file} ...\n`);
    const mod = (await import(path.join(__dirname, file))) as { run: () => Promise<BenchRow[]> };
    rows.push(...(await mod.run()));
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Machine: ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
    '',
    '| bench | metric | value |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.bench} | ${r.metric} | ${r.value} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
