import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger';

/**
 * Returns the key that seals secrets at rest. MASTER_KEY wins; without it (never in production,
 * which the config refuses) the key lives in DATA_DIR/master.key, created on first use with mode
 * 0600. Losing that file makes stored tokens and secrets unreadable, so we say where it is.
 */
export function resolveMasterKey(configured: Buffer | undefined, dataDir: string, logger: Logger): Buffer {
  if (configured) return configured;
  const file = path.join(dataDir, 'master.key');
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte hex key; restore it or set MASTER_KEY`);
    return key;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  // 'wx' fails if another process created it meanwhile; then we read theirs.
  try {
    fs.writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return resolveMasterKey(undefined, dataDir, logger);
    throw e;
  }
  logger.warn(
    { file },
    'MASTER_KEY is not set: generated a master key for secrets at rest. Back this file up with the database, or set MASTER_KEY.',
  );
  return key;
}
