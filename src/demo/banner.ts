/**
 * What `npm start` prints once it listens: where to click, and on the start that seeded the demo,
 * the admin key, once. It is written to stdout directly, never through the logger, so the key
 * cannot end up in log files or collectors. The sandbox link carries the key in the URL fragment,
 * which browsers do not send to the server: it is not in access logs either.
 */
export interface BannerInput {
  /** e.g. http://localhost:3000 */
  baseUrl: string;
  demo?: { workspaceId: string; workspaceName: string; documents: number; template: string; displayNumber: string | null; apiKey: string };
}

export function formatBanner({ baseUrl, demo }: BannerInput): string {
  const sandbox = demo ? `${baseUrl}/sandbox#key=${encodeURIComponent(demo.apiKey)}` : `${baseUrl}/sandbox`;
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
  if (demo) {
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
