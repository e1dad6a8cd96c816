// `hpa-bridge serve` flags: defaults, and clear usage errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { parseServeArgs } from '../../cli/serve.js';
import { envName, readFromEnvironment, SERVE_FLAGS, SERVE_USAGE } from '../../cli/serve-config.js';
import { UsageError } from '../../cli/args.js';

const base = ['--rules', 'r.yaml', '--prometheus-url', 'http://127.0.0.1:9090'];

describe('serve flags', () => {
  test('defaults outside a cluster: port 6443, prometheus objects, delegated authentication, 1m relist, 5s cache', () => {
    const c = parseServeArgs(base, {});
    assert.equal(c.securePort, 6443);
    assert.equal(c.objectSource, 'prometheus');
    assert.equal(c.authentication, 'delegated');
    assert.equal(c.relistIntervalMs, 60_000);
    assert.equal(c.maxAgeSeconds, 60);
    assert.equal(c.cacheTtlSeconds, 5);
    assert.equal(c.requestTimeoutMs, 10_000);
  });

  test('in a cluster the object source defaults to kubernetes', () => {
    assert.equal(parseServeArgs(base, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).objectSource, 'kubernetes');
  });

  test('flags can come from HPA_BRIDGE_* variables, and the command line wins', () => {
    const c = parseServeArgs(['--cache-ttl', '1s'], {
      HPA_BRIDGE_RULES: 'a.yaml, b/',
      HPA_BRIDGE_PROMETHEUS_URL: 'http://prom:9090',
      HPA_BRIDGE_CACHE_TTL: '30s',
      HPA_BRIDGE_PROMETHEUS_HEADER: 'X-Scope-OrgID=team-a',
    });
    assert.deepEqual(c.rules, ['a.yaml', 'b/']);
    assert.equal(c.prometheusUrl, 'http://prom:9090');
    assert.equal(c.cacheTtlSeconds, 1);
    assert.deepEqual(c.prometheus?.headers, { 'X-Scope-OrgID': 'team-a' });
  });

  test('anonymous requests are refused unless --anonymous-auth is given', () => {
    assert.equal(parseServeArgs(base, {}).anonymousAuth, false);
    assert.equal(parseServeArgs([...base, '--anonymous-auth'], {}).anonymousAuth, true);
  });

  test('Prometheus answers are uncompressed unless --prometheus-compression is given', () => {
    assert.equal(parseServeArgs(base, {}).prometheus?.compression, undefined);
    assert.equal(parseServeArgs([...base, '--prometheus-compression'], {}).prometheus?.compression, true);
  });

  test('wildcards are evaluated once per namespace unless --shared-evaluation=false is given', () => {
    assert.equal(parseServeArgs(base, {}).sharedEvaluation, true);
    assert.equal(parseServeArgs([...base, '--shared-evaluation=false'], {}).sharedEvaluation, false);
    assert.equal(parseServeArgs(base, { HPA_BRIDGE_SHARED_EVALUATION: 'false' }).sharedEvaluation, false);
  });

  test('--rules repeats', () => {
    assert.deepEqual(parseServeArgs([...base, '--rules', 'team-b/'], {}).rules, ['r.yaml', 'team-b/']);
  });

  test('durations are Go durations', () => {
    const c = parseServeArgs([...base, '--metrics-relist-interval', '30s', '--cache-ttl=0', '--request-timeout', '1m30s'], {});
    assert.equal(c.relistIntervalMs, 30_000);
    assert.equal(c.cacheTtlSeconds, 0);
    assert.equal(c.requestTimeoutMs, 90_000);
  });

  test('the cache byte bound defaults to 64 MiB and accepts Kubernetes quantities or plain bytes', () => {
    assert.equal(parseServeArgs(base, {}).cacheMaxBytes, 64 * 1024 * 1024);
    assert.equal(parseServeArgs([...base, '--cache-max-bytes', '16Mi'], {}).cacheMaxBytes, 16 * 1024 * 1024);
    assert.equal(parseServeArgs([...base, '--cache-max-bytes=100M'], {}).cacheMaxBytes, 100_000_000);
    assert.equal(parseServeArgs([...base, '--cache-max-bytes', '1048576'], {}).cacheMaxBytes, 1_048_576);
    assert.equal(parseServeArgs([...base, '--cache-max-bytes', '0'], {}).cacheMaxBytes, 0);
    assert.equal(parseServeArgs(base, { HPA_BRIDGE_CACHE_MAX_BYTES: '1Gi' }).cacheMaxBytes, 1024 ** 3);
  });

  const errors: [string, string[], RegExp][] = [
    ['no rules', ['--prometheus-url', 'http://x'], /serve needs --rules PATH/],
    ['no Prometheus URL', ['--rules', 'r.yaml'], /serve needs --prometheus-url URL/],
    ['a Prometheus URL without a scheme', ['--rules', 'r', '--prometheus-url', 'localhost:9090'], /must be an http or https URL/],
    ['a bad duration', [...base, '--cache-ttl', 'five'], /--cache-ttl needs a duration/],
    ['an unknown object source', [...base, '--object-source', 'etcd'], /--object-source must be one of kubernetes, prometheus/],
    ['a certificate without its key', [...base, '--tls-cert-file', 'c.pem'], /go together/],
    ['a port out of range', [...base, '--secure-port', '70000'], /--secure-port must be a port number/],
    ['an unknown flag', [...base, '--promethus-url', 'x'], /unknown flag --promethus-url/],
    ['a cache bound that is not a size', [...base, '--cache-max-bytes', 'lots'], /--cache-max-bytes needs a whole number of bytes such as 64Mi, 100M or 1048576, not "lots"/],
    ['a cache bound in fractions of a byte', [...base, '--cache-max-bytes', '1500m'], /--cache-max-bytes needs a whole number of bytes/],
    ['a negative cache bound', [...base, '--cache-max-bytes', '-1Mi'], /--cache-max-bytes needs a whole number of bytes/],
    ['a misspelt flag', [...base, '--promethus-url', 'x'], /^unknown flag --promethus-url; did you mean --prometheus-url\?$/],
    ['a flag with underscores for hyphens', [...base, '--cert_dir=/x'], /^unknown flag --cert_dir; did you mean --cert-dir\?$/],
    ['a flag like no other', [...base, '--frobnicate'], /^unknown flag --frobnicate$/],
    [
      'an alias and its flag with different values',
      [...base, '--prometheus-client-cert=a', '--prometheus-client-tls-cert-file=b', '--prometheus-client-key=k'],
      /--prometheus-client-tls-cert-file and --prometheus-client-cert are the same setting/,
    ],
    ['a verbosity that is not a number', [...base, '--v=high'], /--v needs a whole number \(klog verbosity\), not "high"/],
    [
      'a kubeconfig and the in-cluster account for Prometheus',
      [...base, '--prometheus-auth-config=k', '--prometheus-auth-incluster'],
      /either --prometheus-auth-config or --prometheus-auth-incluster/,
    ],
    ['a verb other than GET or POST', [...base, '--prometheus-verb=PUT'], /--prometheus-verb must be one of GET, POST, not "PUT"/],
    ['an unknown TLS version', [...base, '--tls-min-version=TLS12'], /--tls-min-version must be one of VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13, not "TLS12"/],
    ['an unknown cipher suite', [...base, '--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,ECDHE-RSA-AES128-GCM-SHA256'], /unknown cipher suite "ECDHE-RSA-AES128-GCM-SHA256"/],
    ['an RC4 cipher suite', [...base, '--tls-cipher-suites=TLS_ECDHE_RSA_WITH_RC4_128_SHA'], /--tls-cipher-suites: TLS_ECDHE_RSA_WITH_RC4_128_SHA is insecure and not offered here/],
    ['a boolean with a value Go does not read', [...base, '--logtostderr=yes'], /--logtostderr takes true or false, not "yes"/],
  ];
  for (const [name, argv, message] of errors) {
    test(`${name} is a usage error`, () => {
      assert.throws(
        () => parseServeArgs(argv, {}),
        (e: unknown) => e instanceof UsageError && message.test((e as Error).message),
      );
    });
  }
});

describe('serve flag table', () => {
  test("prometheus-adapter's aliases and the flags without effect are read from the command line only", () => {
    const c = parseServeArgs(base, { HPA_BRIDGE_CONFIG: 'other.yaml', HPA_BRIDGE_LOGTOSTDERR: 'true', HPA_BRIDGE_TLS_SNI_CERT_KEY: 'a,b' });
    assert.deepEqual(c.rules, ['r.yaml']);
    assert.deepEqual(c.notices, []);
  });

  test('booleans take every spelling of strconv.ParseBool', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseServeArgs([...base, `--anonymous-auth=${v}`], {}).anonymousAuth, true, v);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseServeArgs([...base, `--anonymous-auth=${v}`], {}).anonymousAuth, false, v);
  });

  test('--help lists every declared flag, those without effect by name and reason', () => {
    const listed = (f: (typeof SERVE_FLAGS)[number]): boolean =>
      f.noEffect
        ? new RegExp(`--${f.name}(\\s|$)`).test(SERVE_USAGE) && SERVE_USAGE.includes(f.noEffect.split(' ').slice(0, 3).join(' '))
        : SERVE_USAGE.includes(`  --${f.name}${f.value ? ` ${f.value}` : ''}`);
    assert.deepEqual(
      SERVE_FLAGS.filter((f) => !listed(f)).map((f) => f.name),
      [],
    );
  });

  test('every declared flag read from its HPA_BRIDGE_* variable gives what the command line gives', () => {
    const values: Record<string, string> = { number: '7', boolean: 'true', list: 'x=1', string: '2s' };
    const outcome = (argv: string[], env: NodeJS.ProcessEnv): unknown => {
      try {
        return parseServeArgs(argv, env);
      } catch (e) {
        return (e as Error).message;
      }
    };
    const base = { HPA_BRIDGE_RULES: 'r.yaml', HPA_BRIDGE_PROMETHEUS_URL: 'http://p:9090' };
    const differing = SERVE_FLAGS.filter(readFromEnvironment).filter((f) => {
      const value = values[f.kind] ?? '';
      return !isDeepStrictEqual(outcome([`--${f.name}=${value}`], base), outcome([], { ...base, [envName(f.name)]: value }));
    });
    assert.deepEqual(
      differing.map((f) => f.name),
      [],
    );
  });
});
