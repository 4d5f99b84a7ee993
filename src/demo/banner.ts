import fs from 'node:fs';
import path from 'node:path';

/**
 * What `npm start` prints once it listens: where to click, and on the start that seeded the demo,
 * the admin key, once. It is written to stdout directly, never through the logger, so the key
 * cannot end up in log files or collectors. The sandbox link carries the key in the URL fragment,
 * which browsers do not send to the server: it is not in access logs either.
 * When stdout is not a terminal (a container, a service manager, a pipe), whatever the process
 * prints is kept as its log: the key then goes to a file only its user can read
 * (`writeDemoKeyFile`), and the banner says where.
 */
export interface BannerInput {
  /** e.g. http://localhost:3000 */
  baseUrl: string;
  demo?: { workspaceId: string; workspaceName: string; documents: number; template: string; displayNumber: string | null; apiKey: string };
  /** Where the demo key was written instead of being printed. */
  keyFile?: string;
}

export const DEMO_KEY_FILE = 'demo-admin-key';

/** Writes the key to DATA_DIR/demo-admin-key, readable by this user only; returns its path. */
export function writeDemoKeyFile(dataDir: string, apiKey: string): string {
  const file = path.join(dataDir, DEMO_KEY_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  // A file left by an earlier seed may have looser permissions: tighten them before writing.
  if (fs.existsSync(file)) fs.chmodSync(file, 0o600);
  fs.writeFileSync(file, `${apiKey}\n`, { mode: 0o600 });
  return file;
}

export function formatBanner({ baseUrl, demo, keyFile }: BannerInput): string {
  const printed = demo && !keyFile;
  const sandbox = printed ? `${baseUrl}/sandbox#key=${encodeURIComponent(demo.apiKey)}` : `${baseUrl}/sandbox`;
  const lines = [
    '',
    demo
      ? `  Demo workspace "${demo.workspaceName}" is ready: ${demo.documents} knowledge documents, the approved template ${demo.template}, sandbox number ${demo.displayNumber ?? '(no display number)'}.`
      : '  WhatsApp agent gateway',
    '',
    `  Sandbox (chat as a customer)  ${sandbox}`,
    `  Agent console                 ${baseUrl}/console`,
    `  API reference                 ${baseUrl}/docs`,
  ];
  if (demo && keyFile) {
    lines.push(
      '',
      `  Admin API key (every scope)   in ${keyFile} (readable by this user only)`,
      '  This output is not a terminal, so the key is not printed: what a process prints here is kept as its log.',
      '  Sign in to the sandbox and the console with it, and delete the file once the key is stored elsewhere.',
      `  Another key later: npm run cli -- key:create --workspace ${demo.workspaceId} --name <name> --scopes <scopes>`,
    );
  } else if (demo) {
    lines.push(
      '',
      `  Admin API key (every scope)   ${demo.apiKey}`,
      '  This key is shown only this once and will not be shown again: copy it now.',
      `  Another key later: npm run cli -- key:create --workspace ${demo.workspaceId} --name <name> --scopes <scopes>`,
    );
  }
  lines.push('', '');
  return lines.join('\n');
}

/** localhost for the wildcard and loopback addresses; the configured host otherwise. */
export function bannerBaseUrl(host: string, port: number): string {
  const local = ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(host);
  const name = local ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}
