import type { GraphCall } from '../../test/support/graph-emulator';
import { ROOT, startServer, stop } from './processes';
import path from 'node:path';

/** Starts bench/lib/graph-emulator-process.ts; `calls()` fetches what it has recorded. */
export async function startGraphEmulatorProcess(token: string): Promise<{ url: string; calls(): Promise<GraphCall[]>; sends(): Promise<number>; close(): Promise<void> }> {
  const started = await startServer([path.join(ROOT, 'bench/lib/graph-emulator-process.ts'), token], {}, /emulator \S+ (\d+)/);
  const m = /emulator (\S+) (\d+)/.exec(started.output()) as RegExpExecArray;
  const url = m[1] as string;
  const control = `http://127.0.0.1:${m[2]}`;
  return {
    url,
    calls: async () => (await (await fetch(`${control}/calls`)).json()) as GraphCall[],
    sends: async () => Number(await (await fetch(`${control}/sends`)).text()),
    close: async () => void (await stop(started.child)),
  };
}
