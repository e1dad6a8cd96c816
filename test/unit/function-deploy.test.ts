// deploy/knative/function (func.yaml, the entry file func builds, the webhook
// configuration) and deploy/cloud-run-function. Running the entry files under
// the real runtimes is test/integration/function-runtimes.test.ts; this
// checks what only a cluster would otherwise show: a volume or an
// environment variable that does not match, a limit below serve's, a webhook
// configuration that differs from the others, a runtime version other than
// the one tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MAX_BODY_BYTES } from '../../webhook/handler.js';
import * as entry from '../../webhook/function.js';
import { at, buildKustomization, DEPLOY, find, one, readManifests, REPO, schemaProblems, type JsonObject } from '../support/manifests.js';

const DIR = join(DEPLOY, 'knative', 'function');
const base = buildKustomization(join(DEPLOY, 'kustomize', 'base'));
const knative = readManifests(join(DEPLOY, 'knative', 'webhook-service.yaml'));
const registration = readManifests(join(DIR, 'webhook-configuration.yaml'));

interface FuncYaml {
  readonly name: string;
  readonly namespace: string;
  readonly runtime: string;
  readonly run: { readonly envs: { name: string; value: string }[]; readonly volumes: { configMap?: string; path: string }[] };
  readonly deploy: { readonly namespace: string; readonly options: { readonly scale: { readonly min: number } } };
}
const func = parseYaml(readFileSync(join(DIR, 'func.yaml'), 'utf8')) as FuncYaml;
const env = Object.fromEntries(func.run.envs.map((e) => [e.name, e.value]));
const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as { main: string; type: string; scripts: { start: string }; dependencies: Record<string, string> };
const rootPkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

// The top-level fields of func.yaml's schema (knative/func schema/func_yaml-schema.json), which allows no others.
const FUNC_YAML_FIELDS = ['specVersion', 'name', 'domain', 'runtime', 'registry', 'image', 'namespace', 'created', 'invoke', 'build', 'run', 'deploy'];

test('func.yaml uses only the fields func knows, and the node runtime', () => {
  assert.deepEqual(
    Object.keys(func).filter((k) => !FUNC_YAML_FIELDS.includes(k)),
    [],
  );
  assert.equal(func.runtime, 'node');
});

test("the function mounts the base's rules ConfigMap, from its own namespace, where HPA_BRIDGE_RULES points", () => {
  const volume = func.run.volumes.find((v) => v.configMap !== undefined);
  assert.ok(volume);
  assert.equal(env[entry.RULES_ENV], volume.path);
  assert.equal(func.deploy.namespace, func.namespace);
  assert.ok(find(base, 'ConfigMap', volume.configMap).some((c) => c.metadata.namespace === func.deploy.namespace));
});

test("the runtime's body limit is serve's, so no review serve takes is turned away first", () => {
  assert.equal(Number(env.FUNC_BODY_LIMIT), MAX_BODY_BYTES);
});

test('the function stays warm: min scale at least 1', () => {
  assert.ok(func.deploy.options.scale.min >= 1);
});

test('package.json starts faas-js-runtime on its main file, of the version the tests run, with the packed hpa-bridge', () => {
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.scripts.start, `faas-js-runtime ./${pkg.main}`);
  assert.equal(pkg.dependencies['faas-js-runtime'], rootPkg.devDependencies['faas-js-runtime']);
  assert.equal(pkg.dependencies['hpa-bridge'], `file:hpa-bridge-${rootPkg.version}.tgz`);
});

test('the entry file re-exports what faas-js-runtime calls, and webhook/function.ts has each as a function', () => {
  const text = readFileSync(join(DIR, pkg.main), 'utf8');
  const m = /^export \{ ([^}]+) \} from 'hpa-bridge\/dist\/webhook\/function\.js';$/m.exec(text);
  assert.ok(m, text);
  const names = (m[1] ?? '').split(',').map((s) => s.trim());
  assert.deepEqual(names, ['handle', 'init', 'shutdown']);
  for (const n of names) assert.equal(typeof (entry as Record<string, unknown>)[n], 'function', n);
});

test('the webhook configuration validates, calls the route root over https with no query, and is named apart from the others', () => {
  const mwc = one(registration, 'MutatingWebhookConfiguration');
  assert.deepEqual(schemaProblems(mwc), []);
  const names = [mwc, one(base, 'MutatingWebhookConfiguration'), one(knative, 'MutatingWebhookConfiguration')].map((o) => o.metadata.name);
  assert.equal(new Set(names).size, 3);
  const w = (mwc['webhooks'] as JsonObject[])[0] as JsonObject;
  const url = new URL(at(w, 'clientConfig.url') as string);
  assert.equal(url.protocol, 'https:');
  assert.equal(url.pathname, '/');
  assert.equal(url.search + url.hash + url.username + url.password, '');
  assert.equal(at(w, 'clientConfig.service'), undefined);
});

test("the webhook configuration's rules, policies and namespace exclusions are the Knative Service's", () => {
  const ours = (one(registration, 'MutatingWebhookConfiguration')['webhooks'] as JsonObject[])[0] as JsonObject;
  const theirs = (one(knative, 'MutatingWebhookConfiguration')['webhooks'] as JsonObject[])[0] as JsonObject;
  for (const key of ['name', 'failurePolicy', 'timeoutSeconds', 'sideEffects', 'reinvocationPolicy', 'matchPolicy', 'admissionReviewVersions', 'rules', 'namespaceSelector']) {
    assert.deepEqual(ours[key], theirs[key], key);
  }
});

const CLOUD_RUN = join(DEPLOY, 'cloud-run-function');
const cloudRunPkg = JSON.parse(readFileSync(join(CLOUD_RUN, 'package.json'), 'utf8')) as typeof pkg;

test('the Cloud Run function depends on the functions-framework version the tests run, with the packed hpa-bridge', () => {
  assert.equal(cloudRunPkg.type, 'module');
  assert.equal(cloudRunPkg.dependencies['@google-cloud/functions-framework'], rootPkg.devDependencies['@google-cloud/functions-framework']);
  assert.equal(cloudRunPkg.dependencies['hpa-bridge'], `file:hpa-bridge-${rootPkg.version}.tgz`);
  assert.equal(cloudRunPkg.scripts.start, 'functions-framework --target=mutate');
});

test("the Cloud Run function's main file re-exports the target its start script names", () => {
  const text = readFileSync(join(CLOUD_RUN, cloudRunPkg.main), 'utf8');
  const m = /^export \{ (\w+) \} from 'hpa-bridge\/dist\/webhook\/function\.js';$/m.exec(text);
  assert.ok(m, text);
  assert.equal(`functions-framework --target=${m[1] ?? ''}`, cloudRunPkg.scripts.start);
  assert.equal(typeof (entry as Record<string, unknown>)[m[1] ?? ''], 'function');
});
