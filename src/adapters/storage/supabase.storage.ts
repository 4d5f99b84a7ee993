import { Readable } from 'node:stream';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import type { MediaStorage } from '../../domain/media/media.port';

/**
 * Media in a private Supabase Storage bucket, through @supabase/supabase-js with the service-role
 * key (server side only). The bucket is created on first use if it does not exist.
 */
export function createSupabaseStorage(opts: { url: string; serviceRoleKey: string; bucket: string }): MediaStorage {
  const client = createClient(opts.url, opts.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // supabase-js builds a realtime client even when unused; on Node 20 it needs `ws`.
    realtime: { transport: WebSocket as never },
  });
  let bucketReady: Promise<void> | undefined;
  const ensureBucket = () => {
    bucketReady ??= (async () => {
      const { data } = await client.storage.getBucket(opts.bucket);
      if (data) return;
      const { error } = await client.storage.createBucket(opts.bucket, { public: false });
      if (error && !/already exists/i.test(error.message)) throw new Error(`Supabase Storage: cannot create bucket: ${error.message}`);
    })().catch((e: unknown) => {
      bucketReady = undefined;
      throw e;
    });
    return bucketReady;
  };
  return {
    kind: 'supabase',
    async put(key, data, contentType) {
      await ensureBucket();
      const { error } = await client.storage.from(opts.bucket).upload(key, data, { contentType, upsert: true });
      if (error) throw new Error(`Supabase Storage upload failed: ${error.message}`);
    },
    async open(key) {
      const { data, error } = await client.storage.from(opts.bucket).download(key);
      if (error) {
        const status = (error as { status?: number; statusCode?: string | number }).status ?? Number((error as { statusCode?: string }).statusCode);
        if (status === 404 || status === 400 || /not found/i.test(error.message)) return null;
        throw new Error(`Supabase Storage download failed: ${error.message}`);
      }
      const buf = Buffer.from(await data.arrayBuffer());
      return { stream: Readable.from(buf), size: buf.length };
    },
  };
}
