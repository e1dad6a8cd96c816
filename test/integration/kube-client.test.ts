// The shared Kubernetes API client against a bare HTTP server: what it
// sends, the limits it enforces, and how a watch stream is split.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeApiError, KubeClient, kubeConfigFrom, type KubeConnection } from '../../adapter/kube/client.js';

const TOKEN = 'client-test-token';

let server: Server;
let handle: (req: IncomingMessage, res: ServerResponse) => void;
let client: KubeClient;

before(async () => {
  server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new KubeClient(kubeConfigFrom({ server: url, token: TOKEN, insecureSkipTLSVerify: true }));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

describe('KubeClient', () => {
  test('a POST carries the credentials, the query and its body as JSON', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handle = (req, res) => {
      void bodyOf(req).then((body) => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(201, { 'Content-Type': 'application/json' }).end('{"status":{"allowed":true}}');
      });
    };
    const answer = await client.request('/apis/x/v1/reviews', { method: 'POST', query: { dryRun: 'All', skipped: undefined }, body: { spec: {} }, idleMs: 2000 });
    assert.deepEqual(answer, { status: 201, body: { status: { allowed: true } } });
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/apis/x/v1/reviews?dryRun=All');
    assert.equal(seen.headers?.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen.headers?.['content-type'], 'application/json');
    assert.equal(seen.headers?.accept, 'application/json');
    assert.equal(seen.body, '{"spec":{}}');
  });

  test('Retry-After seconds come back with the answer', async () => {
    handle = (_req, res) => res.writeHead(429, { 'Retry-After': '3' }).end('{"kind":"Status","code":429}');
    const answer = await client.request('/api', { idleMs: 2000 });
    assert.equal(answer.status, 429);
    assert.equal(answer.retryAfterSeconds, 3);
  });

  test('a body longer than maxChars fails the request with a KubeApiError', async () => {
    handle = (_req, res) => res.writeHead(200).end(`"${'x'.repeat(100)}"`);
    await assert.rejects(client.request('/api', { idleMs: 2000, maxChars: 50 }), (err: unknown) => {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.message, 'GET /api: the response exceeds 50 characters');
      return true;
    });
  });

  test('a server that stays silent past idleMs fails the request with a KubeApiError naming it', async () => {
    handle = () => undefined;
    await assert.rejects(client.request('/apis', { idleMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof KubeApiError);
      assert.match(err.message, /^GET \/apis: no answer from the API server within \d+ s$/);
      return true;
    });
  });

  test('a watch that goes silent past idleMs after its first event fails with the idle error', async () => {
    handle = (_req, res) => res.writeHead(200).write('{"type":"ADDED"}\n');
    const lines: string[] = [];
    await assert.rejects(
      client.watch('/api/v1/pods', { idleMs: 200, maxLineChars: 1000, idleError: (ms) => new Error(`silent for ${ms} ms`) }, (line) => lines.push(line)),
      /^Error: silent for 200 ms$/,
    );
    assert.deepEqual(lines, ['{"type":"ADDED"}']);
  });

  test('a watch hands over each non-empty line trimmed, the last one without a newline too', async () => {
    handle = (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED"}\n\n  {"type":"MODI');
      setTimeout(() => res.end('FIED"}  \n{"type":"DELETED"}'), 20);
    };
    const lines: string[] = [];
    const answer = await client.watch('/api/v1/pods', { query: { watch: 'true' }, idleMs: 2000, maxLineChars: 1000 }, (line) => lines.push(line));
    assert.equal(answer.status, 200);
    assert.deepEqual(lines, ['{"type":"ADDED"}', '{"type":"MODIFIED"}', '{"type":"DELETED"}']);
  });

  test('a watch refused by the server resolves with its status and Status body', async () => {
    handle = (_req, res) => res.writeHead(403).end('{"kind":"Status","reason":"Forbidden","message":"no"}');
    const lines: string[] = [];
    const answer = await client.watch('/api/v1/pods', { idleMs: 2000, maxLineChars: 1000 }, (line) => lines.push(line));
    assert.deepEqual(answer, { status: 403, body: { kind: 'Status', reason: 'Forbidden', message: 'no' } });
    assert.deepEqual(lines, []);
  });

  test('a watch line longer than maxLineChars fails the watch with a KubeApiError', async () => {
    handle = (_req, res) => res.writeHead(200).end(`{"type":"${'x'.repeat(100)}"}\n`);
    await assert.rejects(
      client.watch('/api/v1/pods', { idleMs: 2000, maxLineChars: 50, what: 'watch pods' }, () => undefined),
      (err: unknown) => {
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.message, 'watch pods: an event exceeds 50 characters');
        return true;
      },
    );
  });

  test('aborting the signal ends an open watch', { timeout: 5000 }, async () => {
    handle = (_req, res) => res.writeHead(200).write('{"type":"ADDED"}\n');
    const abort = new AbortController();
    const watching = client.watch('/api/v1/pods', { idleMs: 60_000, maxLineChars: 1000, signal: abort.signal }, () => abort.abort());
    await assert.rejects(watching);
  });

  test('a connection not made by kubeConfigFrom is refused', () => {
    const fake = { server: 'https://example.invalid' } as unknown as KubeConnection;
    assert.throws(() => new KubeClient(fake), /use kubeConfigFrom\(\) to make the connection/);
  });
});
