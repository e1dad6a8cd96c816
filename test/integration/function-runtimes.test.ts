// The webhook under the real function runtimes, as child processes on
// loopback ports: faas-js-runtime (Knative Functions) running the entry file
// of deploy/knative/function with func.yaml's environment, and
// functions-framework (Cloud Run functions) running deploy/cloud-run-function.
// Every review is also sent to `hpa-bridge serve --http-port` with the same
// rule files, and each runtime's status code and body must equal serve's
// (differential). Where a runtime answers before the function is called
// (its own body parser or router), the case says so and what it answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_BODY_BYTES } from '../../webhook/handler.js';
import { admissionFixtureReview, decodePatch, dig, patchedObject, readAdmissionFixture, realWorkloads, reviewOf, type Json } from '../support/admission.js';
import { eventually } from '../support/eventually.js';
import {
  cloudRunFunctionDirectory,
  faasCommand,
  firstAnswer,
  frameworkCommand,
  funcYamlEnv,
  knativeFunctionDirectory,
  send,
  serveCommand,
  startHost,
  type RunningHost,
  type Sending,
  type Sent,
} from '../support/function-hosts.js';

const POLICY = (cpu: string): string => `# The policy every host loads in these tests.
defaults:
  - name: everything
    match: {}
    requests: {cpu: ${cpu}, memory: 96Mi}
  - name: batch
    match: {kinds: [Job, CronJob]}
    requests: {cpu: 300m}
    limitRatio: {memory: 2}
  - name: sidecars
    match: {containers: ["*-proxy"]}
    requests: {cpu: 20m, memory: 32Mi}
`;

/** A custom rule as the rules ConfigMap would also hold; only serve compiles it. */
const CUSTOM_RULE = `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
`;

let work: string;
let serve: RunningHost;
let faas: RunningHost;
let framework: RunningHost;
const hosts = (): RunningHost[] => [serve, faas, framework];

/** A directory laid out as the kubelet mounts a ConfigMap: files are symlinks into ..data, a symlink to a timestamped directory. */
async function configMapVolume(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(join(dir, '..v1'), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, '..v1', name), text);
  await symlink('..v1', join(dir, '..data'));
  for (const name of Object.keys(files)) await symlink(`..data/${name}`, join(dir, name));
}

/** The kubelet's update of that volume: a new timestamped directory, then an atomic rename of ..data onto it. */
async function swapConfigMap(dir: string, version: string, files: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(join(dir, version));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, version, name), text);
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
}

async function startFunctionHosts(rules: string): Promise<{ faas: RunningHost; framework: RunningHost }> {
  const env = { ...(await funcYamlEnv()), HPA_BRIDGE_RULES: rules };
  const copies = await mkdtemp(join(work, 'fn-'));
  const knative = await knativeFunctionDirectory(copies);
  const f = startHost(await faasCommand(join(knative, 'index.js'), knative, env));
  const g = startHost(await frameworkCommand(await cloudRunFunctionDirectory(copies), 'mutate', { HPA_BRIDGE_RULES: rules }));
  return { faas: f, framework: g };
}

const ready = (sent: Sent): boolean => sent.status === 200;
const aReview = JSON.stringify(reviewOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: 'default' } }, { uid: 'probe' }));

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'hpa-bridge-fn-'));
  const rules = join(work, 'rules');
  await configMapVolume(rules, { 'defaults.yaml': POLICY('150m'), 'custom.yaml': CUSTOM_RULE });
  serve = startHost(await serveCommand(rules));
  ({ faas, framework } = await startFunctionHosts(rules));
  await Promise.all(hosts().map((h) => firstAnswer(h, aReview, ready)));
});

after(async () => {
  await Promise.all(hosts().map((h) => h?.stop()));
  await rm(work, { recursive: true, force: true });
});

function parsed(sent: Sent): unknown {
  try {
    return JSON.parse(sent.text) as unknown;
  } catch {
    return sent.text;
  }
}

/** What a runtime answers itself, without calling the function: its status code and a word of its body. */
interface RuntimeAnswer {
  readonly status: number;
  readonly says: RegExp;
}

interface Case {
  readonly name: string;
  readonly request: Sending & { readonly path?: string };
  /** The runtimes that answer this request themselves, and how. */
  readonly runtime?: Partial<Record<'faas-js-runtime' | 'functions-framework', RuntimeAnswer>>;
}

const json = (body: unknown, contentType = 'application/json'): Sending => ({ contentType, body: JSON.stringify(body) });
const deployment = (name: string, containers: Json[]): Json => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' }, spec: { template: { spec: { containers } } } });

/** A review padded with trailing spaces to exactly `bytes`. */
function padded(bytes: number, uid: string): string {
  const text = JSON.stringify(reviewOf(deployment('big', [{ name: 'app', image: 'nginx' }]), { uid }));
  return text + ' '.repeat(bytes - Buffer.byteLength(text));
}

const cases: Case[] = [
  ...realWorkloads().map((w): Case => ({ name: `a CREATE of workload fixture ${w.name}`, request: json(reviewOf(w.object, { uid: `uid-${w.name}`, kind: w.kind })) })),
  ...['01-kubewarden-deploy-limits-only', '04-whorf-deploy-create-full', '05-connaisseur-statefulset-create', '06-connaisseur-pod-initcontainer'].map((f): Case => ({
    name: `admission fixture ${f} as stored`,
    request: json(admissionFixtureReview(`admissionreview-${f}`)),
  })),
  {
    name: 'a Job, which the batch entry covers',
    request: json(reviewOf({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly', namespace: 'shop' }, spec: { template: { spec: { containers: [{ name: 'run' }] } } } })),
  },
  { name: 'a Deployment with an injected sidecar, which the glob entry covers', request: json(reviewOf(deployment('web', [{ name: 'app' }, { name: 'istio-proxy' }]), { uid: 'sidecar' })) },
  {
    name: 'an autoscaling/v2 HPA on a Deployment admitted just before, whose container lacks nothing',
    request: json(
      reviewOf({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [
            { type: 'ContainerResource', containerResource: { name: 'cpu', container: 'gone', target: { type: 'Utilization', averageUtilization: 50 } } },
            { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '10' } } },
          ],
        },
      }),
    ),
  },
  { name: 'a v1beta1 review', request: json(reviewOf(deployment('old', [{ name: 'app' }]), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'v1beta1' })) },
  {
    name: 'an UPDATE of a bare Pod',
    request: json(reviewOf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app' }] } }, { operation: 'UPDATE' })),
  },
  { name: 'an unknown kind', request: json(reviewOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: {} }, { uid: 'cm-1' })) },
  {
    name: 'a Deployment whose metadata.annotations is a string',
    request: json(reviewOf({ ...deployment('odd', [{ name: 'app' }]), metadata: { name: 'odd', namespace: 'shop', annotations: 'x' } }, { uid: 'odd' })),
  },
  { name: 'Content-Type application/json with a charset', request: json(reviewOf(deployment('charset', [{ name: 'app' }])), 'application/json; charset=utf-8') },
  { name: 'Content-Type text/plain', request: json(reviewOf(deployment('text', [{ name: 'app' }])), 'text/plain') },
  { name: 'a GET', request: { method: 'GET' } },
  {
    name: 'a PUT',
    request: { method: 'PUT', ...json(reviewOf(deployment('put', [{ name: 'app' }]))) },
    runtime: { 'faas-js-runtime': { status: 404, says: /Route PUT:\/ not found/ } },
  },
  { name: 'a review without a request', request: json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }) },
  { name: 'a review with apiVersion admission.k8s.io/v2', request: json({ ...reviewOf(deployment('v2', [])), apiVersion: 'admission.k8s.io/v2' }) },
  { name: 'the broken review of fixture 07 (no uid)', request: json(readAdmissionFixture('admissionreview-07-connaisseur-broken-request')) },
  { name: 'a JSON array', request: json([1, 2]) },
  {
    name: 'a JSON number',
    request: json(1),
    // body-parser's strict mode takes only objects and arrays.
    runtime: { 'functions-framework': { status: 400, says: /Bad Request/ } },
  },
  {
    name: 'a body that is not JSON',
    request: { contentType: 'application/json', body: '{"apiVersion": ' },
    runtime: { 'faas-js-runtime': { status: 400, says: /Unexpected end of JSON input/ }, 'functions-framework': { status: 400, says: /Bad Request/ } },
  },
  {
    name: 'an empty body',
    request: { contentType: 'application/json', body: '' },
    runtime: { 'faas-js-runtime': { status: 400, says: /FST_ERR_CTP_EMPTY_JSON_BODY/ } },
  },
  {
    name: 'an object with a __proto__ key',
    request: { contentType: 'application/json', body: JSON.stringify(reviewOf(deployment('proto', [{ name: 'app' }]), { uid: 'proto' })).replace('"metadata":{', '"metadata":{"__proto__":{"x":1},') },
    // fastify refuses prototype poisoning by default (onProtoPoisoning: error).
    runtime: { 'faas-js-runtime': { status: 400, says: /prototype property/ } },
  },
  { name: 'a body of exactly 3 MiB', request: { contentType: 'application/json', body: padded(MAX_BODY_BYTES, 'exactly-3mib') } },
  {
    name: 'a body of 3 MiB + 1 byte with its Content-Length',
    request: { contentType: 'application/json', body: padded(MAX_BODY_BYTES + 1, 'over-3mib') },
    // FUNC_BODY_LIMIT from func.yaml: fastify's 413 comes first.
    runtime: { 'faas-js-runtime': { status: 413, says: /FST_ERR_CTP_BODY_TOO_LARGE/ } },
  },
  {
    name: 'a chunked body over 3 MiB without a Content-Length',
    request: { contentType: 'application/json', body: [Buffer.from(padded(MAX_BODY_BYTES, 'chunked')), Buffer.from(' ')] },
    runtime: { 'faas-js-runtime': { status: 413, says: /FST_ERR_CTP_BODY_TOO_LARGE/ } },
  },
];

describe('the function runtimes answer as serve does', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const fromServe = await send(serve.url, c.request);
      assert.ok(fromServe.status !== 0);
      for (const host of [faas, framework]) {
        const got = await send(host.url, c.request);
        const own = c.runtime?.[host.name as 'faas-js-runtime' | 'functions-framework'];
        if (own) {
          assert.equal(got.status, own.status, `${host.name}: ${got.text.slice(0, 300)}`);
          assert.match(got.text, own.says, host.name);
          assert.notDeepEqual(parsed(got), parsed(fromServe), `${host.name} now answers as serve does; drop the exception`);
        } else {
          assert.equal(got.status, fromServe.status, `${host.name}: ${got.text.slice(0, 300)}`);
          assert.deepEqual(parsed(got), parsed(fromServe), host.name);
          assert.match(String(got.headers['content-type']), /^application\/json\b/, host.name);
        }
      }
    });
  }

  test('the differential cases include patched reviews, warnings and every Status code serve answers with', async () => {
    // Guards the table above against checking only the easy answers.
    const codes = new Set<number>();
    let patched = 0;
    let warned = 0;
    for (const c of cases) {
      const sent = await send(serve.url, c.request);
      codes.add(sent.status);
      const response = (parsed(sent) as Json).response as Json | undefined;
      if (response && decodePatch(response)) patched++;
      if (Array.isArray(response?.warnings)) warned++;
    }
    assert.deepEqual([...codes].sort(), [200, 400, 405, 413, 415]);
    assert.ok(patched >= 10, `${patched} patched`);
    assert.ok(warned >= 10, `${warned} with warnings`);
  });
});

describe('the policy under a function runtime', () => {
  const probe = reviewOf(deployment('probe', [{ name: 'app' }]), { uid: 'policy-probe' });
  const cpuAdded = async (host: RunningHost): Promise<unknown> => {
    const sent = await send(host.url, { contentType: 'application/json', body: JSON.stringify(probe) });
    assert.equal(sent.status, 200, sent.text);
    return dig(patchedObject(probe, parsed(sent) as Json), 'spec', 'template', 'spec', 'containers', 0, 'resources', 'requests', 'cpu');
  };

  test('a ConfigMap update changes the defaults, and a broken one after it keeps the last good policy', async () => {
    const rules = join(work, 'reload-rules');
    await configMapVolume(rules, { 'defaults.yaml': POLICY('150m') });
    const started = await startFunctionHosts(rules);
    try {
      for (const host of [started.faas, started.framework]) {
        await firstAnswer(host, aReview, ready);
        assert.equal(await cpuAdded(host), '150m', host.name);
      }
      await swapConfigMap(rules, '..v2', { 'defaults.yaml': POLICY('250m') });
      for (const host of [started.faas, started.framework]) await eventually(async () => assert.equal(await cpuAdded(host), '250m', host.name), 10_000);
      await swapConfigMap(rules, '..v3', { 'defaults.yaml': 'defaults:\n- match: {}\n  requests: {cpu: lots}\n' });
      for (const host of [started.faas, started.framework]) {
        await eventually(() => assert.match(host.output(), /defaults policy change rejected; keeping the last good policy/, host.name), 10_000);
        assert.equal(await cpuAdded(host), '250m', host.name);
      }
    } finally {
      await Promise.all([started.faas.stop(), started.framework.stop()]);
    }
  });

  test('with no policy file the runtimes start, review with the built-in fallback and log a warning', async () => {
    const started = await startFunctionHosts(join(work, 'no-such-rules'));
    try {
      for (const host of [started.faas, started.framework]) {
        await firstAnswer(host, aReview, ready);
        assert.equal(await cpuAdded(host), '100m', host.name);
        assert.match(host.output(), /"level":"warn".*defaults policy failed to load; using the built-in fallback/, host.name);
      }
    } finally {
      await Promise.all([started.faas.stop(), started.framework.stop()]);
    }
  });
});
