import fs from 'node:fs';
import path from 'node:path';
import type { MediaStorage } from '../../domain/media/media.port';

/** Media under DATA_DIR/media/<workspace>/<media id>, written atomically (temp file + rename). */
export function createLocalDiskStorage(root: string): MediaStorage {
  const file = (key: string) => {
    if (!/^[A-Za-z0-9_/-]{1,200}$/.test(key) || key.includes('..')) throw new Error('invalid storage key');
    return path.join(root, key);
  };
  return {
    kind: 'local',
    async put(key, data) {
      const target = file(key);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.tmp`;
      await fs.promises.writeFile(tmp, data, { mode: 0o600 });
      await fs.promises.rename(tmp, target);
    },
    async open(key) {
      const target = file(key);
      try {
        const stat = await fs.promises.stat(target);
        return { stream: fs.createReadStream(target), size: stat.size };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
  };
}
