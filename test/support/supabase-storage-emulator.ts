import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/** The Supabase Storage endpoints @supabase/supabase-js uses for upload and download. */
export async function startStorageEmulator(serviceKey: string) {
  const buckets = new Map<string, { public: boolean }>();
  const objects = new Map<string, { data: Buffer; contentType: string }>();
  const app = express();
  app.use((req, res, next) => {
    if (req.get('authorization') !== `Bearer ${serviceKey}`) {
      res.status(400).json({ statusCode: '403', error: 'Unauthorized', message: 'Invalid JWT' });
      return;
    }
    next();
  });
  app.get('/storage/v1/bucket/:id', (req, res) => {
    const b = buckets.get(req.params.id);
    if (!b) return void res.status(400).json({ statusCode: '404', error: 'Bucket not found', message: 'Bucket not found' });
    res.json({ id: req.params.id, name: req.params.id, public: b.public });
  });
  app.post('/storage/v1/bucket', express.json(), (req, res) => {
    const { id, name, public: isPublic } = req.body as { id?: string; name?: string; public?: boolean };
    buckets.set(id ?? name ?? '', { public: Boolean(isPublic) });
    res.json({ name: id ?? name });
  });
  app.post(/^\/storage\/v1\/object\/([^/]+)\/(.+)$/, express.raw({ type: () => true, limit: '200mb' }), (req, res) => {
    const [bucket, key] = [req.params[0], req.params[1]] as [string, string];
    if (!buckets.has(bucket)) return void res.status(400).json({ statusCode: '404', error: 'Bucket not found', message: 'Bucket not found' });
    if (objects.has(`${bucket}/${key}`) && req.get('x-upsert') !== 'true') {
      return void res.status(400).json({ statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
    }
    objects.set(`${bucket}/${key}`, { data: req.body as Buffer, contentType: req.get('content-type') ?? 'application/octet-stream' });
    res.json({ Id: key, Key: `${bucket}/${key}` });
  });
  app.get(/^\/storage\/v1\/object\/([^/]+)\/(.+)$/, (req, res) => {
    const o = objects.get(`${req.params[0]}/${req.params[1]}`);
    if (!o) return void res.status(400).json({ statusCode: '404', error: 'not_found', message: 'Object not found' });
    res.type(o.contentType).send(o.data);
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    buckets,
    objects,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
