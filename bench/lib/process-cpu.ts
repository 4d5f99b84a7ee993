import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * CPU time (user + system, ms) of a process and all its descendants, from /proc (Linux only;
 * undefined elsewhere). `tsx` runs the script in a child of the pid it was started as, so the
 * tree is what counts.
 */
let ticksPerSecond: number | undefined;

/** A process and its descendants (pids), read from /proc; empty where that is not available. */
function processTree(pid: number): number[] {
  const seen = new Set<number>();
  const visit = (p: number) => {
    if (seen.has(p)) return;
    seen.add(p);
    try {
      for (const tid of fs.readdirSync(`/proc/${p}/task`)) {
        const children = fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        for (const c of children ? children.split(' ') : []) visit(Number(c));
      }
    } catch {
      // Not Linux, or the process ended while we looked.
    }
  };
  visit(pid);
  return [...seen];
}

export function treeCpuMs(pid: number): number | undefined {
  if (!fs.existsSync(`/proc/${pid}/stat`)) return undefined;
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      // Fields after the command (which may hold spaces) start after the last ')'.
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we looked.
    }
  }
  return (ticks / ticksPerSecond) * 1000;
}

/** The whole machine's CPU time so far (ms, all cores), from /proc/stat; undefined elsewhere. */
export function machineCpuMs(): { busy: number; total: number; steal: number } | undefined {
  if (!fs.existsSync('/proc/stat')) return undefined;
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal (guest time is already in user).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const ms = (t: number) => (t / (ticksPerSecond as number)) * 1000;
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy: ms(busy), total: ms(busy + (idle ?? 0) + (iowait ?? 0)), steal: ms(steal ?? 0) };
}

/**
 * Per thread of a process and its descendants: time on a CPU and time runnable but waiting for
 * one (ms, from /proc/<pid>/task/<tid>/schedstat; empty where that is not available). The wait
 * shows a process that had work but no core to do it on.
 */
export function threadSchedMs(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  for (const p of processTree(pid)) {
    try {
      for (const tid of fs.readdirSync(`/proc/${p}/task`)) {
        const [run, wait] = fs.readFileSync(`/proc/${p}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number) as [number, number];
        out.set(`${p}/${tid}`, { run: run / 1e6, wait: wait / 1e6 });
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** The thread that ran most between two threadSchedMs() readings (a node process's main thread). */
export function busiestThread(before: Map<string, { run: number; wait: number }>, after: Map<string, { run: number; wait: number }>) {
  let best: { run: number; wait: number } | undefined;
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { run: 0, wait: 0 };
    const d = { run: a.run - b.run, wait: a.wait - b.wait };
    if (!best || d.run > best.run) best = d;
  }
  return best;
}
