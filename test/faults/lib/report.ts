import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../support/processes';
import type { GatewayProcess } from './cluster';

const FIELDS = ['agent_redriven', 'agent_gave_up', 'sends_requeued', 'sends_resolved', 'events_dispatched', 'deliveries_redriven'] as const;

/** What the reconcilers of these processes reported doing, summed over their log lines. */
export function reconcilerTotals(processes: GatewayProcess[]): Record<(typeof FIELDS)[number] | 'passes' | 'unknown_outcomes', number> {
  const totals = Object.fromEntries([...FIELDS, 'passes', 'unknown_outcomes'].map((f) => [f, 0])) as Record<(typeof FIELDS)[number] | 'passes' | 'unknown_outcomes', number>;
  for (const p of processes) {
    for (const line of p.logs()) {
      if (line.msg === 'reconciler drove stuck work on') {
        totals.passes++;
        for (const f of FIELDS) totals[f] += Number(line[f] ?? 0);
      }
      if (typeof line.msg === 'string' && line.msg.startsWith('send outcome unknown')) totals.unknown_outcomes++;
    }
  }
  return totals;
}

/** The scenario's numbers: printed, and kept in test/artifacts/faults/<name>.json. */
export function writeReport(name: string, summary: Record<string, unknown>): void {
  const dir = path.join(ROOT, 'test', 'artifacts', 'faults');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`fault ${name}: ${JSON.stringify(summary)}\n`);
}

/** Log lines that say a process hit an error nobody handled (it exits after an uncaught exception). */
export function unhandledErrors(processes: GatewayProcess[]): string[] {
  return processes.flatMap((p) =>
    p
      .logs()
      .filter((l) => l.msg === 'uncaught exception' || l.msg === 'unhandled rejection')
      .map((l) => `${p.name}: ${String(l.msg)}: ${String((l.err as { message?: string } | undefined)?.message)}`),
  );
}
