// What the function entry point loads: a child node process imports it (as
// both function runtimes do), initialises it with a rules directory and
// reviews a Deployment and an HPA, then lists every module it has loaded
// (test/support/module-recorder.ts). Neither the metrics APIs nor their
// clients, nor the custom-rule compiler and its PromQL parser, may be among
// them. Two controls show the recorder sees such modules when they do load.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { admissionFixtureReview, reviewOf } from '../support/admission.js';
import { FUNCTION_MODULE } from '../support/function-hosts.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const RECORDER = new URL('../support/module-recorder.js', import.meta.url).href;
const EXAMPLES = join(REPO, 'rules', 'examples');
const url = (path: string): string => pathToFileURL(join(REPO, path)).href;

/** What may never load for the webhook alone. */
const FORBIDDEN = [
  'node_modules/express/',
  'node_modules/prometheus-query/',
  'node_modules/@kubernetes/',
  'node_modules/@prometheus-io/',
  'node_modules/axios/',
  'dist/adapter/',
  'dist/cli/',
  'dist/rules/compile.js',
].map(url);

/** Runs `script` (an ES module body) in a child node with the recorder, and returns the modules it printed. */
function modulesOf(script: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const printing = `${script}\nconst { loadedModules } = await import(${JSON.stringify(RECORDER)});\nprocess.stdout.write(JSON.stringify(await loadedModules()));\nprocess.exit(0);\n`;
    execFile(process.execPath, ['--import', RECORDER, '--input-type=module', '-e', printing], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as string[]);
    });
  });
}

const forbiddenIn = (modules: readonly string[]): string[] => modules.filter((m) => FORBIDDEN.some((f) => m.startsWith(f)));

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'hpa-bridge-fn-modules-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the function entry point', () => {
  let modules: string[];
  before(async () => {
    const deployment = admissionFixtureReview('admissionreview-04-whorf-deploy-create-full');
    const hpa = reviewOf({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'default' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2, metrics: [{ type: 'Pods', pods: { metric: { name: 'x' }, target: { type: 'AverageValue', averageValue: '1' } } }] },
    });
    const script = `
      const fn = await import(${JSON.stringify(pathToFileURL(FUNCTION_MODULE).href)});
      await fn.init();
      const context = { method: 'POST', headers: { 'content-type': 'application/json' } };
      for (const review of [${JSON.stringify(deployment)}, ${JSON.stringify(hpa)}]) {
        const answer = await fn.handle(context, review);
        if (answer.statusCode !== 200 || !answer.body.includes('"allowed":true')) throw new Error(answer.body);
      }
      fn.shutdown();`;
    modules = await modulesOf(script, { HPA_BRIDGE_RULES: EXAMPLES, HPA_BRIDGE_LOG_LEVEL: 'silent' });
  });

  test('loads the review, the defaults policy and YAML', () => {
    for (const m of ['dist/webhook/review.js', 'dist/webhook/handler.js', 'dist/rules/defaults.js', 'dist/rules/defaults-files.js', 'dist/k8s/quantity.js', 'dist/k8s/label-selector.js']) {
      assert.ok(modules.includes(url(m)), `${m} not loaded`);
    }
    assert.ok(
      modules.some((m) => m.startsWith(url('node_modules/yaml/'))),
      'yaml not loaded',
    );
  });

  test('loads neither the metrics APIs, their clients, express, the Kubernetes client nor the custom-rule compiler', () => {
    assert.deepEqual(forbiddenIn(modules), []);
  });
});

describe('the module recorder', () => {
  test('sees an ES module package and the CommonJS one it requires: prometheus-query and axios under adapter/', async () => {
    const modules = await modulesOf(`await import(${JSON.stringify(url('dist/adapter/prometheus.js'))});`);
    assert.ok(modules.some((m) => m.startsWith(url('node_modules/prometheus-query/'))));
    assert.ok(modules.some((m) => m.startsWith(url('node_modules/axios/'))));
  });

  test('sees the PromQL parser the full rule loader brings in', async () => {
    const modules = await modulesOf(`await import(${JSON.stringify(url('dist/rules/load.js'))});`);
    assert.ok(modules.some((m) => m.startsWith(url('node_modules/@prometheus-io/'))));
    assert.ok(modules.includes(url('dist/rules/compile.js')));
  });
});
