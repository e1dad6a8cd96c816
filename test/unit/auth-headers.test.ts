import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bearerToken, withAuthenticatedGroup } from '../../adapter/auth/authenticate.js';
import { DEFAULT_REQUEST_HEADERS } from '../../adapter/auth/config.js';
import { authenticationHeaderNames, pathUnescape, userFromHeaders, type DistinctHeaders } from '../../adapter/auth/headers.js';

let server: Server;
let seen: DistinctHeaders[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(req.headersDistinct as DistinctHeaders);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Node's own headersDistinct for header lines exactly as a client sent them. */
async function distinct(lines: [string, string][]): Promise<DistinctHeaders> {
  seen = [];
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  const head = ['GET / HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close', ...lines.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  socket.end(head);
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
  const got = seen[0];
  assert.ok(got, 'the server saw the request');
  return got;
}

const WITH_UID = { ...DEFAULT_REQUEST_HEADERS, uidHeaders: ['X-Remote-Uid'] };

describe('front-proxy request headers', () => {
  it('reads user, uid, every group line and extras', async () => {
    const user = userFromHeaders(
      await distinct([
        ['X-Remote-User', 'alice'],
        ['X-Remote-Uid', 'uid-1'],
        ['X-Remote-Group', 'team-a'],
        ['X-Remote-Group', 'team-b, with comma'],
        ['X-Remote-Extra-Scopes', 'read'],
        ['X-Remote-Extra-Scopes', 'write'],
      ]),
      WITH_UID,
    );
    assert.deepEqual(user, { name: 'alice', uid: 'uid-1', groups: ['team-a', 'team-b, with comma'], extra: { scopes: ['read', 'write'] } });
  });

  it('matches header names case-insensitively', async () => {
    const user = userFromHeaders(
      await distinct([
        ['x-remote-user', 'bob'],
        ['X-REMOTE-GROUP', 'g1'],
        ['x-Remote-Group', 'g2'],
        ['X-REMOTE-EXTRA-Foo', 'a'],
        ['x-remote-extra-foo', 'b'],
      ]),
      { usernameHeaders: ['X-Remote-User'], uidHeaders: [], groupHeaders: ['x-remote-group'], extraHeaderPrefixes: ['X-Remote-Extra-'] },
    );
    assert.deepEqual(user, { name: 'bob', uid: '', groups: ['g1', 'g2'], extra: { foo: ['a', 'b'] } });
  });

  it('lower-cases extra keys and then percent-decodes them', async () => {
    const user = userFromHeaders(
      await distinct([
        ['X-Remote-User', 'carol'],
        ['X-Remote-Extra-Acme.com%2Fproject', 'p1'],
        ['X-Remote-Extra-Example.org%2fteam%20name', 't'],
        ['X-Remote-Extra-Plus+Sign', 'kept'],
        ['X-Remote-Extra-Bad%zz', 'raw'],
        ['X-Remote-Extra-Upper%41', 'decoded after lower-casing'],
      ]),
      DEFAULT_REQUEST_HEADERS,
    );
    assert.deepEqual(user?.extra, {
      'acme.com/project': ['p1'],
      'example.org/team name': ['t'],
      'plus+sign': ['kept'],
      'bad%zz': ['raw'],
      upperA: ['decoded after lower-casing'],
    });
  });

  it('uses the first header with a value and skips empty groups', async () => {
    const user = userFromHeaders(
      await distinct([
        ['X-Remote-User', ''],
        ['X-Proxy-User', 'dave'],
        ['X-Remote-Group', ''],
        ['X-Remote-Group', 'g'],
      ]),
      { ...DEFAULT_REQUEST_HEADERS, usernameHeaders: ['X-Remote-User', 'X-Proxy-User'] },
    );
    assert.equal(user?.name, 'dave');
    assert.deepEqual(user?.groups, ['g']);
  });

  it('has no user without a username header', async () => {
    assert.equal(userFromHeaders(await distinct([['X-Remote-Group', 'system:masters']]), DEFAULT_REQUEST_HEADERS), undefined);
  });

  it('ignores the uid header unless it is configured', async () => {
    const user = userFromHeaders(
      await distinct([
        ['X-Remote-User', 'e'],
        ['X-Remote-Uid', 'spoofed'],
      ]),
      DEFAULT_REQUEST_HEADERS,
    );
    assert.equal(user?.uid, '');
  });

  it('lists the authentication headers to remove', () => {
    assert.deepEqual(authenticationHeaderNames(['x-remote-user', 'x-remote-group', 'x-remote-extra-a', 'accept', 'x-remote-uid'], WITH_UID), [
      'x-remote-user',
      'x-remote-group',
      'x-remote-extra-a',
      'x-remote-uid',
    ]);
  });

  it('decodes paths as Go url.PathUnescape does', () => {
    assert.equal(pathUnescape('a%2Fb+c'), 'a/b+c');
    assert.equal(pathUnescape('%e2%9c%93'), '✓');
    assert.equal(pathUnescape('%2'), undefined);
  });
});

describe('bearer tokens and groups', () => {
  it('takes the second word of a Bearer authorization header', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer abc'), 'abc');
    assert.equal(bearerToken('  Bearer abc  '), 'abc');
    assert.equal(bearerToken('Bearer abc def'), 'abc');
  });

  it('has no opinion on other schemes and empty tokens', () => {
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(''), undefined);
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer  abc'), undefined);
  });

  it('adds system:authenticated once, and never to anonymous', () => {
    const u = { name: 'a', uid: '', groups: ['g'], extra: {} };
    assert.deepEqual(withAuthenticatedGroup(u).groups, ['g', 'system:authenticated']);
    assert.deepEqual(withAuthenticatedGroup({ ...u, groups: ['system:authenticated'] }).groups, ['system:authenticated']);
    assert.deepEqual(withAuthenticatedGroup({ ...u, name: 'system:anonymous', groups: [] }).groups, []);
  });
});
