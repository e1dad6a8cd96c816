import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AuthConfigError, authFlagsFrom, compileAuthConfig, mergeAuthSettings, parseAuthConfigMap, settingsFromFlags } from '../../adapter/auth/config.js';
import { AuthConfigSource } from '../../adapter/auth/source.js';
import { issueCA, type Issued } from '../support/certs.js';

let caA: Issued;
let caB: Issued;
before(async () => {
  caA = await issueCA('ca-a');
  caB = await issueCA('ca-b');
});

describe('the extension-apiserver-authentication ConfigMap', () => {
  it('reads CA bundles and JSON array strings as kube-apiserver writes them', () => {
    const s = parseAuthConfigMap({
      'client-ca-file': caA.cert,
      'requestheader-client-ca-file': caB.cert,
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
      'requestheader-uid-headers': '["X-Remote-Uid"]',
    });
    assert.deepEqual(s, {
      clientCA: caA.cert,
      requestheaderClientCA: caB.cert,
      requestheaderAllowedNames: ['front-proxy-client'],
      requestheaderUsernameHeaders: ['X-Remote-User'],
      requestheaderGroupHeaders: ['X-Remote-Group'],
      requestheaderExtraHeadersPrefix: ['X-Remote-Extra-'],
      requestheaderUidHeaders: ['X-Remote-Uid'],
    });
  });

  it('treats missing keys, empty strings and null as unset', () => {
    assert.deepEqual(parseAuthConfigMap(undefined), {});
    assert.deepEqual(parseAuthConfigMap({}), {});
    assert.deepEqual(parseAuthConfigMap({ 'requestheader-allowed-names': '', 'requestheader-group-headers': 'null', 'client-ca-file': '' }), {});
  });

  it('keeps an explicit empty list', () => {
    assert.deepEqual(parseAuthConfigMap({ 'requestheader-allowed-names': '[]' }), { requestheaderAllowedNames: [] });
  });

  it('refuses a list that is not a JSON array of strings', () => {
    assert.throws(() => parseAuthConfigMap({ 'requestheader-allowed-names': 'front-proxy-client' }), AuthConfigError);
    assert.throws(() => parseAuthConfigMap({ 'requestheader-allowed-names': '"front-proxy-client"' }), /expected a JSON array of strings/);
    assert.throws(() => parseAuthConfigMap({ 'requestheader-group-headers': '[1]' }), /requestheader-group-headers/);
  });
});

describe('merging flags and the ConfigMap', () => {
  it('has no request-header authenticator without a front-proxy CA', () => {
    assert.deepEqual(mergeAuthSettings({}, { requestheaderAllowedNames: ['x'] }), {});
  });

  it('fills in the default headers but no UID header', () => {
    assert.deepEqual(mergeAuthSettings({}, { requestheaderClientCA: caB.cert }), {
      requestHeader: {
        clientCA: caB.cert,
        allowedNames: [],
        usernameHeaders: ['X-Remote-User'],
        uidHeaders: [],
        groupHeaders: ['X-Remote-Group'],
        extraHeaderPrefixes: ['X-Remote-Extra-'],
      },
    });
  });

  it('lets each flag win over the same ConfigMap key', () => {
    const cm = parseAuthConfigMap({
      'client-ca-file': caA.cert,
      'requestheader-client-ca-file': caA.cert,
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
    });
    const merged = mergeAuthSettings({ requestheaderClientCA: caB.cert, requestheaderAllowedNames: ['aggregator'] }, cm);
    assert.equal(merged.clientCA, caA.cert);
    assert.equal(merged.requestHeader?.clientCA, caB.cert);
    assert.deepEqual(merged.requestHeader?.allowedNames, ['aggregator']);
    assert.deepEqual(merged.requestHeader?.usernameHeaders, ['X-Remote-User']);
  });

  it('trims header names and refuses blank ones', () => {
    assert.deepEqual(mergeAuthSettings({}, { requestheaderClientCA: caB.cert, requestheaderUsernameHeaders: [' X-User '] }).requestHeader?.usernameHeaders, ['X-User']);
    assert.throws(() => mergeAuthSettings({}, { requestheaderClientCA: caB.cert, requestheaderGroupHeaders: [' '] }), /empty value/);
  });

  it('refuses a CA bundle without certificates', () => {
    assert.throws(() => compileAuthConfig(mergeAuthSettings({}, { clientCA: 'garbage' })), /client CA: no certificate found/);
    assert.equal(compileAuthConfig(mergeAuthSettings({}, { clientCA: caA.cert + caB.cert })).clientRoots?.length, 2);
  });
});

describe('authentication flags', () => {
  it('reads repeated and comma-separated list flags', () => {
    assert.deepEqual(
      authFlagsFrom({
        'client-ca-file': '/etc/ca.crt',
        'requestheader-allowed-names': ['front-proxy-client,aggregator', 'other'],
        'requestheader-username-headers': 'X-Remote-User',
      }),
      { clientCAFile: '/etc/ca.crt', requestheaderAllowedNames: ['front-proxy-client', 'aggregator', 'other'], requestheaderUsernameHeaders: ['X-Remote-User'] },
    );
  });

  it('takes an empty value as an explicit empty list', () => {
    assert.deepEqual(authFlagsFrom({ 'requestheader-allowed-names': '' }), { requestheaderAllowedNames: [] });
    assert.deepEqual(authFlagsFrom({}), {});
  });

  it('reads the lookup switches and the always-allowed paths', () => {
    assert.deepEqual(authFlagsFrom({ 'authentication-skip-lookup': true, 'authentication-tolerate-lookup-failure': false, 'authorization-always-allow-paths': ['/healthz,/metrics', '/debug/*'] }), {
      skipLookup: true,
      tolerateLookupFailure: false,
      alwaysAllowPaths: ['/healthz', '/metrics', '/debug/*'],
    });
  });

  it('takes an empty --authorization-always-allow-paths as no paths at all', () => {
    assert.deepEqual(authFlagsFrom({ 'authorization-always-allow-paths': '' }), { alwaysAllowPaths: [] });
  });

  it('refuses blank list entries and empty file names', () => {
    assert.throws(() => authFlagsFrom({ 'requestheader-allowed-names': 'a,,b' }), /empty value in "--requestheader-allowed-names"/);
    assert.throws(() => authFlagsFrom({ 'client-ca-file': '' }), /needs a file name/);
  });

  it('reads the CA files and checks they hold certificates', async () => {
    const files: Record<string, string> = { '/a.crt': caA.cert, '/bad.crt': 'nothing here' };
    const read = async (p: string): Promise<string> => {
      const v = files[p];
      if (v === undefined) throw new Error('ENOENT: no such file');
      return v;
    };
    assert.deepEqual(await settingsFromFlags({ clientCAFile: '/a.crt', requestheaderAllowedNames: [] }, read), { clientCA: caA.cert, requestheaderAllowedNames: [] });
    await assert.rejects(settingsFromFlags({ clientCAFile: '/missing.crt' }, read), /--client-ca-file \/missing.crt: ENOENT/);
    await assert.rejects(settingsFromFlags({ requestheaderClientCAFile: '/bad.crt' }, read), /no certificate found/);
  });
});

describe('the configuration source without a cluster', () => {
  it('serves the flag configuration and does not look the ConfigMap up when both CA files are given', async () => {
    const read = async (p: string): Promise<string> => (p === '/a' ? caA.cert : caB.cert);
    let requests = 0;
    const client = {
      request: async () => {
        requests++;
        return { status: 500, body: undefined };
      },
      watch: async () => ({ status: 200, body: undefined }),
    };
    const source = new AuthConfigSource({ flags: { clientCAFile: '/a', requestheaderClientCAFile: '/b' }, client, readFile: read, fileCheckMs: 0 });
    await source.start();
    assert.equal(requests, 0);
    assert.equal(source.usesConfigMap, false);
    assert.equal(source.current.clientCA, caA.cert);
    assert.equal(source.current.requestHeader?.clientCA, caB.cert);
    await source.close();
  });

  it('fails to start when the ConfigMap cannot be read, naming the Role to bind on 403', async () => {
    const client = {
      request: async () => ({ status: 403, body: { kind: 'Status', message: 'configmaps is forbidden', reason: 'Forbidden', code: 403 } }),
      watch: async () => ({ status: 200, body: undefined }),
    };
    const source = new AuthConfigSource({ client, backoff: { initialMs: 60_000 } });
    await assert.rejects(source.start(), /403: configmaps is forbidden.*extension-apiserver-authentication-reader/);
    await source.close();
  });
});
