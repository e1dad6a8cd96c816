// Connections made from kubeconfig files: the CA, client certificate and
// token reach a real HTTPS server, a token file is read again, and an exec
// credential plugin (which @kubernetes/client-node runs) supplies a token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeClient, kubeConfigFrom } from '../../adapter/kube/client.js';
import { issueCA, issueClient, issueServing } from '../support/certs.js';

interface Seen {
  readonly authorization: string | undefined;
  readonly clientCN: string | undefined;
}

describe('connections from a kubeconfig', () => {
  let server: Server;
  let url: string;
  let dir: string;
  let caPem: string;
  let client: { cert: string; key: string };
  const seen: Seen[] = [];

  before(async () => {
    const ca = await issueCA('test-cluster-ca');
    caPem = ca.cert;
    const serving = await issueServing(ca);
    client = await issueClient(ca, 'hpa-bridge-client');
    server = createServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push({ authorization: req.headers.authorization, clientCN: peer && 'subject' in peer ? String(peer.subject?.CN) : undefined });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"APIVersions"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubeconn-'));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): Promise<string> {
    const path = join(dir, name);
    await writeFile(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64'), ...cluster } }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    return path;
  }

  const get = (path: string, options: Parameters<typeof kubeConfigFrom>[0] = {}) => new KubeClient(kubeConfigFrom({ kubeconfigPath: path, ...options })).request('/api', { idleMs: 5000 });

  test('the CA, the client certificate and the token reach the API server', async () => {
    const path = await kubeconfig('cert', {
      token: 'static-token',
      'client-certificate-data': Buffer.from(client.cert).toString('base64'),
      'client-key-data': Buffer.from(client.key).toString('base64'),
    });
    const answer = await get(path);
    assert.equal(answer.status, 200);
    assert.deepEqual(seen.at(-1), { authorization: 'Bearer static-token', clientCN: 'hpa-bridge-client' });
  });

  test('a server certificate the kubeconfig CA did not sign is refused', async () => {
    const other = await issueCA('another-ca');
    const path = await kubeconfig('wrong-ca', { token: 't' }, { 'certificate-authority-data': Buffer.from(other.cert).toString('base64') });
    await assert.rejects(get(path), /certificate/);
  });

  test('a token file is read again once the refresh period has passed', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first\n');
    const path = await kubeconfig('token-file', { tokenFile });
    const c = new KubeClient(kubeConfigFrom({ kubeconfigPath: path, tokenRefreshMs: 50 }));
    await c.request('/api', { idleMs: 5000 });
    assert.equal(seen.at(-1)?.authorization, 'Bearer first');
    await writeFile(tokenFile, 'rotated\n');
    await new Promise((r) => setTimeout(r, 80));
    await c.request('/api', { idleMs: 5000 });
    assert.equal(seen.at(-1)?.authorization, 'Bearer rotated');
  });

  test('an exec credential plugin supplies the token through the client library', async () => {
    const plugin = join(dir, 'credential-plugin.sh');
    await writeFile(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`);
    await chmod(plugin, 0o755);
    const path = await kubeconfig('exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } });
    const answer = await get(path);
    assert.equal(answer.status, 200);
    assert.equal(seen.at(-1)?.authorization, 'Bearer from-exec');
  });
});
