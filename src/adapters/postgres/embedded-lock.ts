import fs from 'node:fs';
import path from 'node:path';

/**
 * The embedded database belongs to one process at a time. The gateway holds DATA_DIR/gateway.pid
 * while it runs; the CLI sees it and talks to the running gateway (over its admin socket) instead
 * of opening the database files a second time.
 */
export function pidFile(dataDir: string): string {
  return path.join(dataDir, 'gateway.pid');
}

export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, 'gateway.sock');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a live process holding the embedded database, if any. */
export function embeddedOwner(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(dataDir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export class EmbeddedDatabaseBusyError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. ` +
        'Stop that gateway first, use another DATA_DIR, or set DATABASE_URL to share a Postgres server.',
    );
    this.name = 'EmbeddedDatabaseBusyError';
  }
}

/** Takes the embedded database for this process; returns a release function. */
export function acquireEmbedded(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const owner = embeddedOwner(dataDir);
  if (owner !== undefined) throw new EmbeddedDatabaseBusyError(dataDir, owner);
  fs.writeFileSync(pidFile(dataDir), `${process.pid}\n`, { mode: 0o600 });
  return () => {
    try {
      if (fs.readFileSync(pidFile(dataDir), 'utf8').trim() === String(process.pid)) fs.unlinkSync(pidFile(dataDir));
    } catch {
      // already gone
    }
  };
}
