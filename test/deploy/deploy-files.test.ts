import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema, loadConfig } from '../../src/config/env';

/**
 * The deployment files are not run by CI here (no registry access for docker), so their shape
 * is checked instead: docker-compose.yml, the Dockerfile and the manifests in
 * deploy/kubernetes.md name only variables the gateway reads, probe the right endpoints, and
 * give SIGTERM more time than SHUTDOWN_TIMEOUT_MS.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const KNOWN = new Set(Object.keys(envSchema.shape));

/** Compose's interpolation: ${X:-default} gives the default, ${X:?error} the value we supply. */
function interpolate(value: string, supplied: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string | undefined) => {
    if (supplied[name] !== undefined) return supplied[name] as string;
    if (op === ':-' || op === '-') return arg ?? '';
    if (op === ':?' || op === '?') throw new Error(`${name} is required: ${arg}`);
    return '';
  });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML, checked by the assertions */
describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as any;
  const services = compose.services as Record<string, any>;

  it('runs the API and a worker from this image, Redis with AOF and noeviction, Postgres with pgvector, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
    expect(services.api.environment.ROLE).toBe('api');
    expect(services.worker.environment.ROLE).toBe('worker');
    for (const s of [services.api, services.worker]) {
      expect(s.build).toBe('.');
      expect(s.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
      expect(s.volumes).toEqual(['gateway-data:/data']);
    }
    expect(services.api.ports).toEqual(['3000:3000']);
    expect(services.worker.ports).toBeUndefined();
    expect(services.postgres.image).toBe('pgvector/pgvector:pg16');
    expect(services.redis.image).toMatch(/^redis:7/);
    const redisArgs = (services.redis.command as string[]).join(' ');
    expect(redisArgs).toContain('--appendonly yes');
    expect(redisArgs).toContain('--maxmemory-policy noeviction');
    for (const [name, s] of Object.entries(services)) expect({ name, test: s.healthcheck?.test?.length > 0 }).toEqual({ name, test: true });
    // The probes hit /readyz on the port each role listens on.
    expect(services.api.healthcheck.test.join(' ')).toContain(`127.0.0.1:${services.api.environment.PORT}/readyz`);
    expect(services.worker.healthcheck.test.join(' ')).toContain(`127.0.0.1:${services.worker.environment.METRICS_PORT}/readyz`);
  });

  it('sets only variables the gateway reads, and they load as a valid configuration for each role', () => {
    const supplied = { MASTER_KEY: 'ab'.repeat(32) };
    for (const role of ['api', 'worker']) {
      const env = services[role].environment as Record<string, string>;
      expect(Object.keys(env).filter((k) => !KNOWN.has(k))).toEqual([]);
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), supplied)]));
      const config = loadConfig(resolved);
      expect(config).toMatchObject({ role, nodeEnv: 'production', redisUrl: 'redis://redis:6379', dataDir: '/data', queuePrefix: 'gw', metrics: { port: 9091 } });
      expect(config.databaseUrl).toBe('postgres://gateway:gateway@postgres:5432/gateway');
      // The database host, user and database are the postgres service's.
      expect(services.postgres.environment).toMatchObject({ POSTGRES_USER: 'gateway', POSTGRES_DB: 'gateway' });
      // docker compose stop waits longer than the gateway's own shutdown deadline.
      expect(Number.parseInt(services[role].stop_grace_period, 10) * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
    }
    expect(() => interpolate(services.api.environment.MASTER_KEY, {})).toThrow(/MASTER_KEY is required/);
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const stages = lines.filter((l) => /^FROM /.test(l));

  it('builds in stages (npm ci, tsc) and runs the compiled code on node:20-slim as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    expect(stages.at(-1)).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
    expect(text).toContain('RUN npm ci --no-audit --no-fund');
    expect(text).toContain('RUN npm run build');
    expect(text).toMatch(/npm ci --omit=dev/);
    const runtime = lines.slice(lines.indexOf(stages.at(-1) as string));
    const user = runtime.find((l) => l.startsWith('USER '));
    expect(user).toBe('USER node');
    expect(runtime.findIndex((l) => l.startsWith('USER '))).toBeLessThan(runtime.findIndex((l) => l.startsWith('CMD ')));
    expect(runtime.find((l) => l.startsWith('CMD '))).toBe('CMD ["node", "dist/src/main.js"]');
    // What the compiled code reads at run time is in the image: migrations, the console and the
    // sandbox page (image-layout.test.ts starts the stage's layout).
    expect(runtime).toEqual(expect.arrayContaining(['COPY supabase ./supabase', 'COPY src/http/console ./src/http/console', 'COPY src/http/sandbox ./src/http/sandbox']));
    expect(fs.existsSync(path.join(ROOT, 'supabase/migrations'))).toBe(true);
    // npm run build compiles what the image runs.
    expect(JSON.parse(read('package.json')).scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(JSON.parse(read('tsconfig.build.json')).include).toEqual(['src', 'workers']);
  });

  it('declares DATA_DIR as a volume and checks /readyz (on METRICS_PORT for a worker)', () => {
    const dataDir = /DATA_DIR=(\S+)/.exec(text)?.[1];
    expect(dataDir).toBe('/data');
    expect(text).toContain(`VOLUME ["${dataDir}"]`);
    const health = text.slice(text.indexOf('HEALTHCHECK'));
    expect(health).toContain('/readyz');
    expect(health).toContain('process.env.METRICS_PORT||process.env.PORT');
    for (const name of ['NODE_ENV', 'HOST', 'PORT', 'DATA_DIR', 'REDIS_AUTOSTART']) expect(KNOWN.has(name)).toBe(true);
    // The build context leaves out local data, dependencies and secrets.
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data', '.env', '.git']));
  });
});

describe('deploy/kubernetes.md', () => {
  const blocks = [...read('deploy/kubernetes.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const docs = blocks.flatMap((b) => parseAllDocuments(b).map((d) => d.toJS() as any)).filter((d) => d && d.kind);
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

  it('parses, and every variable it sets is one the gateway reads', () => {
    expect(docs.length).toBeGreaterThanOrEqual(9);
    const names = [
      ...byKind('ConfigMap').flatMap((c) => Object.keys(c.data)),
      ...byKind('Secret').flatMap((s) => Object.keys(s.stringData)),
      ...byKind('Deployment').flatMap((d) => d.spec.template.spec.containers.flatMap((c: any) => (c.env ?? []).map((e: any) => e.name))),
    ];
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !KNOWN.has(n))).toEqual([]);
  });

  it('has an API and a worker Deployment with liveness on /healthz, readiness on /readyz, and a grace period longer than SHUTDOWN_TIMEOUT_MS', () => {
    const deployments = byKind('Deployment');
    const roles = deployments.map((d) => d.spec.template.spec.containers[0].env.find((e: any) => e.name === 'ROLE').value);
    expect(roles.sort()).toEqual(['api', 'worker']);
    const shutdownMs = Number(byKind('ConfigMap')[0].data.SHUTDOWN_TIMEOUT_MS);
    expect(shutdownMs).toBeGreaterThan(0);
    for (const d of deployments) {
      const spec = d.spec.template.spec;
      const c = spec.containers[0];
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs + 5_000);
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      // A worker is probed on its metrics listener, the only HTTP it has.
      const probePort = c.readinessProbe.httpGet.port;
      const ports = Object.fromEntries(c.ports.map((p: any) => [p.name, p.containerPort]));
      expect(ports[probePort]).toBe(probePort === 'metrics' ? Number(byKind('ConfigMap')[0].data.METRICS_PORT) : 3000);
    }
    const worker = deployments.find((d) => d.metadata.name === 'gateway-worker');
    expect(worker.spec.template.spec.containers[0].readinessProbe.httpGet.port).toBe('metrics');
  });

  it('scales the API on CPU and the workers on queue depth, with a disruption budget for each', () => {
    const hpas = Object.fromEntries(byKind('HorizontalPodAutoscaler').map((h) => [h.spec.scaleTargetRef.name, h]));
    expect(hpas['gateway-api'].spec.metrics[0]).toMatchObject({ type: 'Resource', resource: { name: 'cpu' } });
    expect(hpas['gateway-worker'].spec.metrics[0]).toMatchObject({ type: 'External', external: { metric: { name: 'gateway_queue_waiting_jobs' } } });
    expect(byKind('PodDisruptionBudget').map((p) => p.spec.selector.matchLabels.role).sort()).toEqual(['api', 'worker']);
    // The adapter rule reads a metric the gateway exports.
    expect(read('deploy/kubernetes.md')).toContain("seriesQuery: 'gateway_queue_jobs{state=\"waiting\"}'");
    expect(read('src/adapters/metrics/queue-stats.ts')).toContain("name: 'gateway_queue_jobs'");
  });
});
