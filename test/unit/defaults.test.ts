// The `defaults` section: loading, validation with positions, and which
// entry applies to which container.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_FALLBACK, matchNamespace, resolveDefaults, type CriterionResult, type DefaultsMatch, type DefaultsPolicy, type DefaultsTarget } from '../../rules/defaults.js';
import { compileYaml, formatted } from '../support/rules.js';
import { callInWorker } from '../support/worker.js';

function policyOf(yaml: string): DefaultsPolicy {
  const result = compileYaml(yaml);
  assert.deepEqual(formatted(result).errors, []);
  assert.ok(result.ruleSet);
  return result.ruleSet.defaults;
}

const target = (over: Partial<DefaultsTarget> = {}): DefaultsTarget => ({
  namespace: 'default',
  kind: 'Deployment',
  workloadLabels: {},
  container: 'app',
  ...over,
});

function chosen(policy: DefaultsPolicy, t: DefaultsTarget): Record<string, string> {
  const r = resolveDefaults(policy, t);
  return Object.fromEntries(Object.entries(r.requests).map(([k, v]) => [k, `${v?.quantity.text} from ${v?.from.name}`]));
}

describe('defaults: loading', () => {
  test('a file without a defaults section gets the built-in fallback', () => {
    const p = policyOf('rules: []\n');
    assert.deepEqual(p.entries, [BUILTIN_FALLBACK]);
  });

  test('an entry with an empty match replaces the built-in fallback', () => {
    const p = policyOf('defaults:\n- match: {}\n  requests: {cpu: 50m}\n');
    assert.equal(p.entries.length, 1);
    assert.deepEqual(chosen(p, target()), { cpu: '50m from defaults[0]' });
  });

  test('an off entry with an empty match switches defaulting off', () => {
    const p = policyOf('defaults:\n- name: none\n  match: {}\n  off: true\n');
    assert.deepEqual(chosen(p, target()), {});
  });

  test('the example rules shipped with the demo load', () => {
    const p = policyOf(`defaults:
- name: everything
  match: {}
  requests: {cpu: 100m, memory: 128Mi}
- name: batch
  match: {kinds: [Job, CronJob]}
  requests: {cpu: 250m, memory: 256Mi}
  limitRatio: {memory: 2}
`);
    assert.deepEqual(chosen(p, target({ kind: 'CronJob' })), { cpu: '250m from batch', memory: '256Mi from batch' });
  });
});

describe('defaults: validation', () => {
  const cases: { name: string; yaml: string; errors: string[] }[] = [
    {
      name: 'a quantity that does not parse is an error at its position',
      yaml: 'defaults:\n- match: {}\n  requests: {cpu: 100 m}\n',
      errors: [
        'rules.yaml:3:19: error: defaults[0].requests.cpu: invalid quantity "100 m": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\' (bad-quantity)',
      ],
    },
    {
      name: 'a request above the explicit limit is an error',
      yaml: 'defaults:\n- match: {}\n  requests: {memory: 1Gi}\n  limits: {memory: 512Mi}\n',
      errors: ['rules.yaml:3:22: error: defaults[0].requests.memory: requests.memory 1Gi is above limits.memory 512Mi; the API server would reject every object it is added to (request-above-limit)'],
    },
    {
      name: 'a limit ratio below one is an error',
      yaml: 'defaults:\n- match: {}\n  requests: {cpu: 1}\n  limitRatio: {cpu: 0.5}\n',
      errors: ['rules.yaml:4:21: error: defaults[0].limitRatio.cpu: limitRatio.cpu must be a number of at least 1 (a smaller ratio would put the limit below the request), not "0.5" (bad-ratio)'],
    },
    {
      name: 'an unknown workload kind is an error',
      yaml: 'defaults:\n- match: {kinds: [Deploymnet]}\n  requests: {cpu: 1}\n',
      errors: ['rules.yaml:2:19: error: defaults[0].match.kinds: unknown workload kind "Deploymnet" (known: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) (unknown-kind)'],
    },
    {
      name: 'two equally specific entries that can match the same container tie, naming both places',
      yaml: 'defaults:\n- match: {namespaces: [a]}\n  requests: {cpu: 1}\n- match: {namespaces: [a, b]}\n  requests: {cpu: 2}\n',
      errors: [
        'rules.yaml:4:3: error: defaults[1]: defaults[1] and defaults[0] (rules.yaml:2:3) are equally specific and can match the same container; make one more specific (e.g. add containers, a selector or namespaces) (defaults-tie)',
      ],
    },
    {
      name: 'a bad selector operator is an error',
      yaml: 'defaults:\n- match: {selector: {matchExpressions: [{key: app, operator: Equals, values: [x]}]}}\n  requests: {cpu: 1}\n',
      errors: ['rules.yaml:2:62: error: defaults[0].match.selector.matchExpressions[0].operator: operator must be In, NotIn, Exists or DoesNotExist, not "Equals" (bad-selector)'],
    },
    {
      name: 'an unknown resource key is an unknown field',
      yaml: 'defaults:\n- match: {}\n  requests: {gpu: 1}\n',
      errors: ['rules.yaml:3:14: error: defaults[0].requests.gpu: unknown field "gpu" (known fields: cpu, memory, ephemeral-storage) (unknown-field)'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = compileYaml(c.yaml);
      assert.equal(result.ruleSet, undefined);
      assert.deepEqual(formatted(result).errors, c.errors);
    });
  }

  test('entries with disjoint namespaces do not tie', () => {
    const p = policyOf('defaults:\n- match: {namespaces: [a]}\n  requests: {cpu: 1}\n- match: {namespaces: [b]}\n  requests: {cpu: 2}\n');
    assert.equal(p.entries.length, 3);
  });

  test('memory written in milli-units warns that it is less than a byte', () => {
    const result = compileYaml('defaults:\n- match: {}\n  requests: {memory: 128m}\n');
    assert.deepEqual(formatted(result).warnings, ['rules.yaml:3:22: warning: defaults[0].requests.memory: memory 128m is less than one byte; did you mean 128Mi? (tiny-quantity)']);
  });
});

describe('defaults: which entry applies', () => {
  const p = policyOf(`defaults:
- name: ns-a
  match: {namespaces: [team-a]}
  requests: {memory: 512Mi}
- name: team-globs
  match: {namespaces: ["team-*"]}
  requests: {cpu: 300m}
- name: web
  match: {selector: {matchLabels: {app: web}}}
  requests: {cpu: 400m, memory: 400Mi}
- name: proxy
  match: {containers: [istio-proxy]}
  requests: {cpu: 10m, memory: 20Mi}
- name: batch
  match: {kinds: [Job]}
  requests: {cpu: 250m}
- name: quiet
  match: {namespaces: [quiet]}
  off: true
`);

  const cases: { name: string; t: DefaultsTarget; want: Record<string, string> }[] = [
    { name: 'the built-in fallback applies where nothing else matches', t: target(), want: { cpu: '100m from built-in fallback', memory: '128Mi from built-in fallback' } },
    { name: 'an exact namespace beats a namespace glob, and unset keys fall through', t: target({ namespace: 'team-a' }), want: { cpu: '300m from team-globs', memory: '512Mi from ns-a' } },
    { name: 'a namespace glob matches', t: target({ namespace: 'team-b' }), want: { cpu: '300m from team-globs', memory: '128Mi from built-in fallback' } },
    { name: 'a workload selector beats namespaces', t: target({ namespace: 'team-a', workloadLabels: { app: 'web' } }), want: { cpu: '400m from web', memory: '400Mi from web' } },
    { name: 'a container name beats everything else', t: target({ workloadLabels: { app: 'web' }, container: 'istio-proxy' }), want: { cpu: '10m from proxy', memory: '20Mi from proxy' } },
    { name: 'a kind match applies to that kind only', t: target({ kind: 'Job' }), want: { cpu: '250m from batch', memory: '128Mi from built-in fallback' } },
    { name: 'an off entry stops the chain', t: target({ namespace: 'quiet' }), want: {} },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(chosen(p, c.t), c.want));
});

describe('defaults: name globs', () => {
  const matchOf = (namespaces: string[]): DefaultsMatch => ({ namespaces, selector: [], containers: [], kinds: [] });
  const cases: { name: string; glob: string; value: string; want: CriterionResult }[] = [
    { name: 'a star matches any run of characters, including none', glob: 'team-*', value: 'team-', want: 'match' },
    { name: 'a question mark matches exactly one character', glob: 'team-?', value: 'team-ab', want: 'no-match' },
    { name: 'a dot in a glob is a literal dot', glob: 'a.*', value: 'ab', want: 'no-match' },
    { name: 'a glob matches the whole name, not a part of it', glob: 'prod-*', value: 'preprod-1', want: 'no-match' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(matchNamespace(matchOf([c.glob]), c.value), c.want));

  // Each `*` of a backtracking regex tries every position, so `*a` repeated k
  // times costs about 63^k steps against a 63-character name that ends
  // without the final `b`: seconds at six stars, and the webhook answers
  // nothing meanwhile.
  test('a glob with many stars gives up on a long name it does not match within moments', { timeout: 30_000 }, async () => {
    const result = await callInWorker<CriterionResult>(new URL('../../rules/defaults.js', import.meta.url), 'matchNamespace', [matchOf(['*a*a*a*a*a*a*a*b']), 'a'.repeat(63)], 5_000);
    assert.equal(result, 'no-match');
  });
});
