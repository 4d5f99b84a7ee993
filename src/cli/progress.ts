import { Presets, SingleBar } from 'cli-progress';

/**
 * How a long command tells the person at the terminal where it is. Commands run inside a gateway
 * (over the admin socket) get none and return per-item lines instead.
 */
export interface Progress {
  start(total: number): void;
  /** The item now being worked on. */
  working(label: string): void;
  /** The item is finished; `line` says how it went. */
  done(line: string): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, working() {}, done() {}, stop() {} };

/** A bar (files done / total, current file) on a terminal; one line per item otherwise. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return { start() {}, working() {}, done: (line) => void stream.write(`${line}\n`), stop() {} };
  }
  const bar = new SingleBar(
    { format: '{bar} {value}/{total} {item}', stream, hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  let started = false;
  return {
    start(total) {
      if (total > 0) {
        bar.start(total, 0, { item: '' });
        started = true;
      }
    },
    working(label) {
      if (started) bar.update({ item: label });
    },
    done() {
      if (started) bar.increment(1, { item: '' });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
