import net from 'node:net';

/**
 * A TCP proxy on loopback that the test controls, between gateway processes and a server
 * (Postgres): `down()` cuts every open connection and refuses new ones (accepted, then reset at
 * once) until `up()`. What the processes see is what a crashed or unreachable server looks like.
 */
export interface TcpProxy {
  port: number;
  down(): void;
  up(): void;
  /** Connections cut or refused while down. */
  refused(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let isDown = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (isDown) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    down() {
      isDown = true;
      for (const s of open) {
        refused++;
        s.resetAndDestroy();
      }
      open.clear();
    },
    up() {
      isDown = false;
    },
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
