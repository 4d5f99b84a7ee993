import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** The environment a child process gets: only what it needs, none of the test runner's. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

export interface Gateway {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

/** Starts `tsx src/main.ts` (what npm start runs) and resolves once it listens. */
export function startGateway(env: Record<string, string>, timeoutMs = 30_000): Promise<Gateway> {
  return startListening(TSX, [path.join(ROOT, 'src/main.ts')], ROOT, env, timeoutMs);
}

/**
 * Starts `tsx src/main.ts` with a pseudo-terminal for its stdout and stderr (script(1), from
 * util-linux), as at a person's terminal. SIGTERM ends script's session: the gateway is killed,
 * not shut down gracefully.
 */
export function startGatewayInTerminal(env: Record<string, string>, timeoutMs = 30_000): Promise<Gateway> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  return startListening('script', ['-qfec', `${quote(TSX)} ${quote(path.join(ROOT, 'src/main.ts'))}`, '/dev/null'], ROOT, env, timeoutMs);
}

/** Starts the compiled gateway as the image runs it (`node dist/src/main.js` in `dir`). */
export function startCompiledGateway(dir: string, env: Record<string, string>, timeoutMs = 30_000): Promise<Gateway> {
  return startListening(process.execPath, ['dist/src/main.js'], dir, env, timeoutMs);
}

async function startListening(command: string, args: string[], cwd: string, env: Record<string, string>, timeoutMs: number): Promise<Gateway> {
  const child = spawn(command, args, { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not listen within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      // The message names the port in both log formats (JSON and LOG_FORMAT=pretty).
      const m = /gateway listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${out}`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => out, exit };
}

/** Runs `tsx src/cli/main.ts ...args`; resolves with exit code and output. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
