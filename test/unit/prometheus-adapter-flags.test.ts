// prometheus-adapter's flags, as docs/migrating-from-prometheus-adapter.md
// lists them: each one parses, and lands where the table says. The table
// and these cases are checked against each other, so a flag added to one
// and not the other fails here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../../cli/args.js';
import { parseServeArgs, SERVE_FLAGS, type ServeConfig } from '../../cli/serve-config.js';

const DOC = readFileSync(new URL('../../../docs/migrating-from-prometheus-adapter.md', import.meta.url), 'utf8');

const base = ['--rules=r.yaml', '--prometheus-url=http://prometheus.monitoring.svc:9090/'];
const parse = (...args: string[]): ServeConfig => parseServeArgs([...base, ...args], {});
const baseline = parse();

/** The configuration without its notices, to compare what a flag changed. */
const effect = (c: ServeConfig): Omit<ServeConfig, 'notices'> => {
  const { notices: _, ...rest } = c;
  return rest;
};

interface Case {
  readonly args: readonly string[];
  readonly check: (c: ServeConfig) => void;
}

/** A flag that is accepted, changes nothing, and says so once. */
const noEffect = (name: string, args: readonly string[]): Case => ({
  args,
  check: (c) => {
    assert.deepEqual(effect(c), effect(baseline));
    assert.equal(c.notices?.filter((n) => n.startsWith(`--${name} has no effect here: `)).length, 1);
  },
});

const noEffectFlag = (name: string): Case => {
  const kind = SERVE_FLAGS.find((f) => f.name === name)?.kind;
  assert.ok(kind, `--${name} is not declared`);
  return noEffect(name, [kind === 'boolean' ? `--${name}` : `--${name}=1`]);
};

const CASES: Readonly<Record<string, Case>> = {
  '--config': { args: ['--config=/etc/adapter/config.yaml'], check: (c) => assert.deepEqual(c.rules, ['r.yaml', '/etc/adapter/config.yaml']) },
  '--prometheus-url': { args: ['--prometheus-url=https://thanos.example:10902/prefix'], check: (c) => assert.equal(c.prometheusUrl, 'https://thanos.example:10902/prefix') },
  '--prometheus-auth-config': { args: ['--prometheus-auth-config=/etc/prom/kubeconfig'], check: (c) => assert.equal(c.prometheus?.authConfig, '/etc/prom/kubeconfig') },
  '--prometheus-auth-incluster': { args: ['--prometheus-auth-incluster'], check: (c) => assert.equal(c.prometheus?.authInCluster, true) },
  '--prometheus-ca-file': { args: ['--prometheus-ca-file=/ca.pem'], check: (c) => assert.equal(c.prometheus?.caFile, '/ca.pem') },
  '--prometheus-client-tls-cert-file': {
    args: ['--prometheus-client-tls-cert-file=/c.pem', '--prometheus-client-tls-key-file=/k.pem'],
    check: (c) => assert.equal(c.prometheus?.clientCertFile, '/c.pem'),
  },
  '--prometheus-client-tls-key-file': {
    args: ['--prometheus-client-tls-cert-file=/c.pem', '--prometheus-client-tls-key-file=/k.pem'],
    check: (c) => assert.equal(c.prometheus?.clientKeyFile, '/k.pem'),
  },
  '--prometheus-token-file': { args: ['--prometheus-token-file=/t'], check: (c) => assert.equal(c.prometheus?.tokenFile, '/t') },
  '--prometheus-header': { args: ['--prometheus-header=X-Scope-OrgID=a', '--prometheus-header=B=c=d'], check: (c) => assert.deepEqual(c.prometheus?.headers, { 'X-Scope-OrgID': 'a', B: 'c=d' }) },
  '--prometheus-verb': {
    args: ['--prometheus-verb=GET'],
    check: (c) => {
      assert.equal(c.prometheus?.verb, 'GET');
      assert.equal(c.notices?.length ?? 0, 0);
      assert.deepEqual(effect(parse('--prometheus-verb=POST')), effect(baseline));
    },
  },
  '--metrics-relist-interval': { args: ['--metrics-relist-interval=1m30s'], check: (c) => assert.deepEqual([c.relistIntervalMs, c.maxAgeSeconds], [90_000, 90]) },
  '--metrics-max-age': { args: ['--metrics-max-age=1.5h'], check: (c) => assert.equal(c.maxAgeSeconds, 5400) },
  '--disable-http2': noEffectFlag('disable-http2'),
  '--v': {
    args: ['--v=4'],
    check: (c) => {
      assert.equal(c.logLevel, 'debug');
      assert.deepEqual(
        ['0', '2', '3', '4', '10'].map((v) => parse(`--v=${v}`).logLevel),
        ['info', 'info', 'info', 'debug', 'debug'],
      );
      assert.equal(parse('-v', '5').logLevel, 'debug');
      assert.equal(parse('--v=6', '--log-level=warn').logLevel, 'warn');
    },
  },
  '--vmodule': noEffectFlag('vmodule'),
  '--log-flush-frequency': noEffectFlag('log-flush-frequency'),
  '--logtostderr': noEffect('logtostderr', ['--logtostderr=true']),
  '--alsologtostderr': noEffectFlag('alsologtostderr'),
  '--log_dir': noEffectFlag('log_dir'),
  '--log_file': noEffectFlag('log_file'),
  '--log_file_max_size': noEffectFlag('log_file_max_size'),
  '--add_dir_header': noEffectFlag('add_dir_header'),
  '--skip_headers': noEffectFlag('skip_headers'),
  '--skip_log_headers': noEffectFlag('skip_log_headers'),
  '--one_output': noEffectFlag('one_output'),
  '--stderrthreshold': noEffectFlag('stderrthreshold'),
  '--log_backtrace_at': noEffectFlag('log_backtrace_at'),
  '--legacy_stderr_threshold_behavior': noEffectFlag('legacy_stderr_threshold_behavior'),
  '--secure-port': { args: ['--secure-port=443'], check: (c) => assert.equal(c.securePort, 443) },
  '--bind-address': { args: ['--bind-address=::'], check: (c) => assert.equal(c.bindAddress, '::') },
  '--cert-dir': {
    args: ['--cert-dir=/var/run/serving-cert'],
    check: (c) => {
      assert.equal(c.certDir, '/var/run/serving-cert');
      const withFiles = parse('--cert-dir=/tmp/cert', '--tls-cert-file=/t.crt', '--tls-private-key-file=/t.key');
      assert.equal(withFiles.certDir, undefined);
      assert.deepEqual(withFiles.notices, ['--cert-dir has no effect here: --tls-cert-file is given']);
    },
  },
  '--tls-cert-file': { args: ['--tls-cert-file=/t.crt', '--tls-private-key-file=/t.key'], check: (c) => assert.equal(c.tlsCertFile, '/t.crt') },
  '--tls-private-key-file': { args: ['--tls-cert-file=/t.crt', '--tls-private-key-file=/t.key'], check: (c) => assert.equal(c.tlsKeyFile, '/t.key') },
  '--tls-cipher-suites': {
    args: ['--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_256_CBC_SHA'],
    check: (c) => assert.deepEqual(c.tls, { minVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA' }),
  },
  '--tls-min-version': { args: ['--tls-min-version=VersionTLS13'], check: (c) => assert.deepEqual(c.tls, { minVersion: 'TLSv1.3' }) },
  '--tls-sni-cert-key': {
    args: [],
    check: () =>
      assert.throws(
        () => parse('--tls-sni-cert-key=a.crt,a.key'),
        (e: unknown) => e instanceof UsageError && e.message.startsWith('--tls-sni-cert-key is not supported here: serve one certificate'),
      ),
  },
  '--http2-max-streams-per-connection': noEffectFlag('http2-max-streams-per-connection'),
  '--permit-port-sharing': noEffectFlag('permit-port-sharing'),
  '--permit-address-sharing': noEffectFlag('permit-address-sharing'),
  '--lister-kubeconfig': { args: ['--lister-kubeconfig=/l.kubeconfig'], check: (c) => assert.deepEqual(c.listerKubeconfig, { flag: 'lister-kubeconfig', path: '/l.kubeconfig' }) },
  '--authentication-kubeconfig': {
    args: ['--authentication-kubeconfig=/a.kubeconfig'],
    check: (c) => assert.deepEqual(c.authKubeconfig, { flag: 'authentication-kubeconfig', path: '/a.kubeconfig' }),
  },
  '--authorization-kubeconfig': {
    args: ['--authorization-kubeconfig=/a.kubeconfig'],
    check: (c) => {
      assert.deepEqual(c.authKubeconfig, { flag: 'authorization-kubeconfig', path: '/a.kubeconfig' });
      assert.deepEqual(parse('--authorization-kubeconfig=/a', '--authentication-kubeconfig=/a').authKubeconfig?.path, '/a');
      assert.throws(
        () => parse('--authorization-kubeconfig=/a', '--authentication-kubeconfig=/b'),
        (e: unknown) => e instanceof UsageError && e.message.includes('name different files'),
      );
    },
  },
  '--authentication-token-webhook-cache-ttl': { args: ['--authentication-token-webhook-cache-ttl=1m'], check: (c) => assert.equal(c.authCacheTtlMs?.token, 60_000) },
  '--authorization-webhook-cache-authorized-ttl': { args: ['--authorization-webhook-cache-authorized-ttl=30s'], check: (c) => assert.equal(c.authCacheTtlMs?.allowed, 30_000) },
  '--authorization-webhook-cache-unauthorized-ttl': { args: ['--authorization-webhook-cache-unauthorized-ttl=0'], check: (c) => assert.equal(c.authCacheTtlMs?.denied, 0) },
  '--authentication-skip-lookup': { args: ['--authentication-skip-lookup'], check: (c) => assert.equal(c.authFlags?.skipLookup, true) },
  '--authentication-tolerate-lookup-failure': { args: ['--authentication-tolerate-lookup-failure=true'], check: (c) => assert.equal(c.authFlags?.tolerateLookupFailure, true) },
  '--authorization-always-allow-paths': {
    args: ['--authorization-always-allow-paths=/healthz,/readyz', '--authorization-always-allow-paths=/metrics*'],
    check: (c) => assert.deepEqual(c.authFlags?.alwaysAllowPaths, ['/healthz', '/readyz', '/metrics*']),
  },
  '--client-ca-file': { args: ['--client-ca-file=/ca'], check: (c) => assert.equal(c.authFlags?.clientCAFile, '/ca') },
  '--requestheader-client-ca-file': { args: ['--requestheader-client-ca-file=/rh'], check: (c) => assert.equal(c.authFlags?.requestheaderClientCAFile, '/rh') },
  '--requestheader-allowed-names': { args: ['--requestheader-allowed-names=front-proxy-client'], check: (c) => assert.deepEqual(c.authFlags?.requestheaderAllowedNames, ['front-proxy-client']) },
  '--requestheader-username-headers': { args: ['--requestheader-username-headers=X-Remote-User'], check: (c) => assert.deepEqual(c.authFlags?.requestheaderUsernameHeaders, ['X-Remote-User']) },
  '--requestheader-group-headers': { args: ['--requestheader-group-headers=X-Remote-Group'], check: (c) => assert.deepEqual(c.authFlags?.requestheaderGroupHeaders, ['X-Remote-Group']) },
  '--requestheader-extra-headers-prefix': {
    args: ['--requestheader-extra-headers-prefix=X-Remote-Extra-'],
    check: (c) => assert.deepEqual(c.authFlags?.requestheaderExtraHeadersPrefix, ['X-Remote-Extra-']),
  },
  '--discovery-interval': noEffectFlag('discovery-interval'),
  '--client-qps': noEffectFlag('client-qps'),
  '--client-burst': noEffectFlag('client-burst'),
  '--profiling': noEffectFlag('profiling'),
  '--contention-profiling': noEffectFlag('contention-profiling'),
  '--debug-socket-path': noEffectFlag('debug-socket-path'),
  '--enable-priority-and-fairness': noEffectFlag('enable-priority-and-fairness'),
  '--audit-policy-file': noEffectFlag('audit-policy-file'),
};

/** `--audit-log-*` in the table stands for every declared flag with that prefix. */
const PREFIXES = ['--audit-log-', '--audit-webhook-'];

/** The prometheus-adapter names in the first column of the table. */
function documentedFlags(): string[] {
  const rows = DOC.split('\n').filter((l) => l.startsWith('| `--'));
  return rows.flatMap((row) => [...(row.split(' | ')[0] ?? '').matchAll(/`(--[a-z0-9_-]+\*?)`/g)].map((m) => m[1] as string));
}

describe("prometheus-adapter's flags", () => {
  test('the migration table and these cases name the same flags', () => {
    const documented = documentedFlags().filter((f) => !f.endsWith('*'));
    assert.deepEqual([...documented].sort(), Object.keys(CASES).sort());
    assert.deepEqual(
      documentedFlags()
        .filter((f) => f.endsWith('*'))
        .map((f) => f.slice(0, -1)),
      PREFIXES,
    );
  });

  for (const [name, c] of Object.entries(CASES)) {
    test(`${name} ${c.args.join(' ')} parses to what the table says`, () => {
      c.check(parse(...c.args));
    });
  }

  for (const prefix of PREFIXES) {
    test(`every ${prefix}* flag is accepted without effect`, () => {
      const names = SERVE_FLAGS.filter((f) => `--${f.name}`.startsWith(prefix)).map((f) => f.name);
      assert.ok(names.length >= 10, `${names.length} flags`);
      for (const name of names) noEffectFlag(name).check(parse(...noEffectFlag(name).args));
    });
  }

  test('a flag whose name the table gives with no effect changes nothing else, with any value', () => {
    const c = parse('--logtostderr', '--v=2', '--profiling=false');
    assert.deepEqual(effect(c), effect(baseline));
    assert.equal(c.notices?.length, 2);
  });
});

describe('flags that read durations', () => {
  const durations = SERVE_FLAGS.filter((f) => f.value === 'DUR').map((f) => f.name);

  test('each one reads Go durations, fractions and compounds included', () => {
    const differing = durations.filter((name) => {
      const a = parseServeArgs([...base, `--${name}=1.5m`, ...(name === 'metrics-max-age' ? [] : ['--metrics-max-age=2h'])], {});
      const b = parseServeArgs([...base, `--${name}=1m30s`, ...(name === 'metrics-max-age' ? [] : ['--metrics-max-age=2h'])], {});
      return !isDeepStrictEqual(a, b) || isDeepStrictEqual(effect(a), effect(parseServeArgs([...base, '--metrics-max-age=2h'], {})));
    });
    assert.deepEqual(differing, []);
  });

  for (const bad of ['1', '1d', '5 s', '-', '1h-2m']) {
    test(`each one refuses ${JSON.stringify(bad)} with a usage error naming it`, () => {
      const accepting = durations.filter((name) => {
        try {
          parseServeArgs([...base, `--${name}=${bad}`], {});
          return true;
        } catch (e) {
          return !(e instanceof UsageError && e.message.includes(`--${name}`) && e.message.includes(JSON.stringify(bad)));
        }
      });
      assert.deepEqual(accepting, []);
    });
  }

  test('0 needs no unit, and a negative duration is refused', () => {
    assert.equal(parse('--cache-ttl=0').cacheTtlSeconds, 0);
    assert.throws(() => parse('--cache-ttl=-1s'), /--cache-ttl must not be negative/);
  });

  test('a max age shorter than the relist interval is a usage error, as in prometheus-adapter', () => {
    assert.throws(
      () => parse('--metrics-relist-interval=10m', '--metrics-max-age=5m'),
      (e: unknown) => e instanceof UsageError && e.message.includes('--metrics-max-age 5m is less than --metrics-relist-interval'),
    );
  });
});
