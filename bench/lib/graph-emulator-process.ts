// The Graph API emulator as its own process, for benchmarks: Meta's servers are not on the
// gateway's machine, so their work (HTTP, validating every body against Meta's schema) should not
// share the gateway's event loop. Prints `emulator <url> <control port>`; GET /calls on the control
// port answers the calls recorded so far, GET /sends how many messages were sent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGraphEmulator } from '../../test/support/graph-emulator';

async function main() {
  const graph = await startGraphEmulator(process.argv[2] ?? 'bench-token');
  const control = http.createServer((req, res) => {
    if (req.url === '/calls') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(graph.calls));
      return;
    }
    if (req.url === '/sends') {
      // How many messages were sent so far (polled while the bench waits).
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(String(graph.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/messages')).length));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
  process.stdout.write(`emulator ${graph.url} ${(control.address() as AddressInfo).port}\n`);
  process.once('SIGTERM', () => {
    control.close();
    void graph.close().then(() => process.exit(0));
  });
}

void main();
