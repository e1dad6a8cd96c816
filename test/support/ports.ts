// A free loopback port for a child process to listen on.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

// The port is released before the child binds it, so another process can
// grab it in between; callers retry on "address already in use".
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
