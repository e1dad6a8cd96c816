// startDelegatedAuth without an API server, and with one that cannot be
// reached, as k8s.io/apiserver's delegating options start.
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DelegatingAuthorizer, startDelegatedAuth, type KubeApi } from '../../adapter/auth/index.js';
import type { LogFields, Logger } from '../../adapter/log.js';
import type { RequestAttributes, UserInfo } from '../../adapter/auth/types.js';
import { issueCA, type Issued } from '../support/certs.js';

function recordingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger & { warnings: string[] } = {
    warnings,
    debug() {},
    info() {},
    warn(message: string, _fields?: LogFields) {
      warnings.push(message);
    },
    error() {},
    child: () => logger,
  };
  return logger;
}

const unreachable: KubeApi = {
  request: async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  },
  watch: async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  },
};

const user = (name: string, groups: string[] = []): UserInfo => ({ name, uid: '', groups, extra: {} });
const DISCOVERY: RequestAttributes = { resourceRequest: false, path: '/apis/custom.metrics.k8s.io/v1beta2', verb: 'get' };

let dir: string;
let ca: Issued;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-auth-start-'));
  ca = await issueCA('front-proxy-ca');
  await writeFile(join(dir, 'ca.crt'), ca.cert);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('delegated authentication without an API server', () => {
  it('starts with the CA flags, without TokenReview, and says so', async () => {
    const log = recordingLogger();
    const auth = await startDelegatedAuth({ flags: { requestheaderClientCAFile: join(dir, 'ca.crt') }, log });
    try {
      assert.equal(auth.tokens, undefined);
      assert.equal(auth.config.current.requestHeader?.clientCA, ca.cert);
      assert.ok(
        log.warnings.some((w) => w.includes('TokenReview is unavailable')),
        log.warnings.join('\n'),
      );
      assert.ok(
        log.warnings.some((w) => w.includes('SubjectAccessReview is unavailable')),
        log.warnings.join('\n'),
      );
      assert.ok(
        log.warnings.some((w) => w.includes('client-ca-file')),
        'the missing client CA lookup is warned about',
      );
    } finally {
      await auth.close();
    }
  });

  it('allows system:masters and forbids everyone else, with no reason, without asking anyone', async () => {
    const authorizer = new DelegatingAuthorizer({});
    assert.deepEqual(await authorizer.authorize(user('admin', ['system:masters']), DISCOVERY), { allowed: true, reason: '' });
    assert.deepEqual(await authorizer.authorize(user('bob', ['system:authenticated']), DISCOVERY), { allowed: false, reason: '' });
    assert.equal(authorizer.reviews, 0);
  });
});

describe('delegated authentication with an unreachable API server', () => {
  it('fails start-up when the ConfigMap cannot be read', async () => {
    await assert.rejects(startDelegatedAuth({ client: unreachable, log: recordingLogger() }), /list configmap kube-system\/extension-apiserver-authentication: connect ECONNREFUSED/);
  });

  it('starts with a warning when told to tolerate the lookup failure', async () => {
    const log = recordingLogger();
    const auth = await startDelegatedAuth({ client: unreachable, log, flags: { tolerateLookupFailure: true } });
    await auth.close();
    assert.ok(
      log.warnings.some((w) => w.includes('authentication configuration lookup failed')),
      log.warnings.join('\n'),
    );
  });

  it('starts when the front-proxy CA comes from a flag, since only the client CA was to come from the ConfigMap', async () => {
    const auth = await startDelegatedAuth({ client: unreachable, log: recordingLogger(), flags: { requestheaderClientCAFile: join(dir, 'ca.crt') } });
    await auth.close();
    assert.equal(auth.config.current.requestHeader?.clientCA, ca.cert);
  });

  it('never tolerates a CA flag file that cannot be used', async () => {
    await assert.rejects(
      startDelegatedAuth({ client: unreachable, log: recordingLogger(), flags: { tolerateLookupFailure: true, clientCAFile: join(dir, 'missing.crt') } }),
      /--client-ca-file .*missing\.crt/,
    );
  });

  it('does not look the ConfigMap up with --authentication-skip-lookup', async () => {
    let requests = 0;
    const counting: KubeApi = { request: async () => (requests++, { status: 500, body: undefined }), watch: async () => ({ status: 200, body: undefined }) };
    const auth = await startDelegatedAuth({ client: counting, log: recordingLogger(), flags: { skipLookup: true } });
    await auth.close();
    assert.equal(requests, 0);
  });
});
