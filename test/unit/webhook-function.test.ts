// The webhook as a function, in-process: the defaults-only policy loader
// against the full rule loader, the policy store's fallback and last-good
// behaviour, and the runtime adapters' reading of bodies the runtime parsed.
// The real runtimes are driven in test/integration/function-runtimes.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultsStore, FALLBACK_POLICY, loadDefaultsPolicy } from '../../rules/defaults-files.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import { loadRuleSet } from '../../rules/load.js';
import { MAX_BODY_BYTES } from '../../webhook/handler.js';
import { createFunctionWebhook, faasHandler, functionLogger, optionsFromEnv, type FaasContext } from '../../webhook/function.js';
import { admissionFixtureReview, decodePatch, dig, FALLBACK_POLICY as SUPPORT_FALLBACK, type Json } from '../support/admission.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples/', import.meta.url));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-function-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A directory `name` holding the given files. */
async function ruleDir(name: string, files: Readonly<Record<string, string>>): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(d, file), text);
  return d;
}

interface Logged {
  readonly level: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

function recordingLog(): { log: { info: (m: string, f?: Readonly<Record<string, unknown>>) => void; warn: (m: string, f?: Readonly<Record<string, unknown>>) => void }; lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    log: {
      info: (msg, fields = {}) => lines.push({ level: 'info', msg, fields }),
      warn: (msg, fields = {}) => lines.push({ level: 'warn', msg, fields }),
    },
  };
}

const TEAM_POLICY = `defaults:
  - name: everything
    match: {}
    requests: {cpu: 150m, memory: 96Mi}
  - name: batch
    match: {kinds: [Job, CronJob]}
    requests: {cpu: 300m}
    limitRatio: {memory: 2}
  - name: sidecars
    match: {containers: ["*-proxy"]}
    requests: {cpu: 20m, memory: 32Mi}
`;

const json = (over: Partial<FaasContext> = {}): FaasContext => ({ method: 'POST', headers: { 'content-type': 'application/json' }, ...over });

/** The requests the answer's patch adds to the first container of fixture 04's Deployment, decoded. */
function addedRequests(body: string): unknown {
  const ops = decodePatch((JSON.parse(body) as Json).response as Json) ?? [];
  return ops.find((op) => op.path === '/spec/template/spec/containers/0/resources/requests')?.value;
}

describe('the defaults-only loader', () => {
  test('it gives the example rules the same policy as the full rule loader', async () => {
    const full = await loadRuleSet([EXAMPLES]);
    const defaultsOnly = await loadDefaultsPolicy([EXAMPLES]);
    assert.deepEqual(defaultsOnly.errors, []);
    assert.ok(full.ruleSet);
    assert.deepEqual(defaultsOnly.policy, full.ruleSet.defaults);
    assert.equal(defaultsOnly.digest, full.digest);
    assert.deepEqual(defaultsOnly.files, full.files);
  });

  test('for files of defaults alone it reports what the full loader reports, across files', async () => {
    const d = await ruleDir('tie', {
      'a.yaml': 'defaults:\n- match: {namespaces: [a]}\n  requests: {cpu: 1}\n',
      'b.yaml': 'defaults:\n- match: {namespaces: [a, b]}\n  requests: {cpu: 2}\n- match: {namespaces: [c], kinds: [Job]}\n  requests: {memory: 1Gi}\n  limits: {memory: 512Mi}\n',
    });
    const full = await loadRuleSet([d]);
    const defaultsOnly = await loadDefaultsPolicy([d]);
    assert.equal(defaultsOnly.errors.length, 2);
    assert.deepEqual(defaultsOnly.errors.map(formatDiagnostic), full.errors.map(formatDiagnostic));
    assert.equal(defaultsOnly.policy, undefined);
  });

  test('an unknown key anywhere in a file is an error, as the file format is checked whole', async () => {
    const d = await ruleDir('unknown-key', { 'rules.yaml': `${TEAM_POLICY}rulez: []\n` });
    const r = await loadDefaultsPolicy([d]);
    assert.equal(r.policy, undefined);
    assert.deepEqual(
      r.errors.map((e) => e.code),
      ['unknown-field'],
    );
  });

  test('a custom rule whose PromQL does not parse does not stop the defaults, which the full loader rejects', async () => {
    const broken = `${TEAM_POLICY}rules:\n- seriesQuery: 'up{'\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n`;
    const d = await ruleDir('bad-promql', { 'rules.yaml': broken });
    const r = await loadDefaultsPolicy([d]);
    assert.deepEqual(r.errors, []);
    assert.equal(r.policy?.entries[0]?.name, 'sidecars');
    assert.equal((await loadRuleSet([d])).ruleSet, undefined);
  });

  test('a missing path is an unreadable error and no policy', async () => {
    const r = await loadDefaultsPolicy([join(dir, 'nowhere')]);
    assert.equal(r.policy, undefined);
    assert.deepEqual(
      r.errors.map((e) => e.code),
      ['unreadable'],
    );
  });
});

describe('the defaults store', () => {
  test('before any load the built-in fallback is in force', () => {
    const store = new DefaultsStore([join(dir, 'never-loaded')]);
    assert.equal(store.loaded, false);
    assert.deepEqual(store.policy, SUPPORT_FALLBACK);
    assert.deepEqual(FALLBACK_POLICY, SUPPORT_FALLBACK);
  });

  test('a bad edit after a good load keeps the good policy and says so', async () => {
    const d = await ruleDir('store-edit', { 'defaults.yaml': TEAM_POLICY });
    const store = new DefaultsStore([d]);
    const events: string[] = [];
    store.on('applied', () => events.push('applied'));
    store.on('rejected', (r) => events.push(`rejected ${r.errors.map((e) => e.code).join(',')}`));
    await store.reload();
    const good = store.policy;
    assert.equal(good.entries.length, 3);
    await writeFile(join(d, 'defaults.yaml'), 'defaults:\n- match: {}\n  requests: {cpu: lots}\n');
    await store.reload();
    assert.equal(store.policy, good);
    assert.deepEqual(events, ['applied', 'rejected bad-quantity']);
  });

  test('a reload of unchanged files applies nothing new', async () => {
    const d = await ruleDir('store-same', { 'defaults.yaml': TEAM_POLICY });
    const store = new DefaultsStore([d]);
    let applied = 0;
    store.on('applied', () => applied++);
    await store.reload();
    const first = store.policy;
    await store.reload();
    assert.equal(applied, 1);
    assert.equal(store.policy, first);
  });
});

describe('the function webhook', () => {
  test('without rule paths it reviews with the built-in fallback and logs a warning', async () => {
    const { log, lines } = recordingLog();
    const webhook = createFunctionWebhook({ rules: [], log });
    const answer = await faasHandler(webhook)(json(), admissionFixtureReview('admissionreview-04-whorf-deploy-create-full'));
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(addedRequests(answer.body), { cpu: '100m', memory: '128Mi' });
    assert.deepEqual(lines[0], { level: 'warn', msg: 'HPA_BRIDGE_RULES is not set; using the built-in fallback policy', fields: {} });
  });

  test('with a policy that does not load it reviews with the built-in fallback and logs the errors as a warning', async () => {
    const d = await ruleDir('broken', { 'defaults.yaml': 'defaults:\n- match: {}\n  requests: {cpu: lots}\n' });
    const { log, lines } = recordingLog();
    const webhook = createFunctionWebhook({ rules: [d], log, watch: { pollMs: 0 } });
    try {
      const answer = await faasHandler(webhook)(json(), admissionFixtureReview('admissionreview-04-whorf-deploy-create-full'));
      assert.equal(answer.statusCode, 200);
      assert.deepEqual(addedRequests(answer.body), { cpu: '100m', memory: '128Mi' });
      const warning = lines.find((l) => l.level === 'warn');
      assert.equal(warning?.msg, 'defaults policy failed to load; using the built-in fallback');
      assert.match(String((warning?.fields.errors as string[])[0]), /defaults\.yaml:3:.*invalid quantity "lots".*\(bad-quantity\)$/);
    } finally {
      webhook.close();
    }
  });

  test('with a policy that loads it reviews with that policy', async () => {
    const d = await ruleDir('team', { 'defaults.yaml': TEAM_POLICY });
    const { log, lines } = recordingLog();
    const webhook = createFunctionWebhook({ rules: [d], log, watch: { pollMs: 0 } });
    try {
      const answer = await faasHandler(webhook)(json(), admissionFixtureReview('admissionreview-04-whorf-deploy-create-full'));
      assert.deepEqual(addedRequests(answer.body), { cpu: '150m', memory: '96Mi' });
      assert.deepEqual(
        lines.map((l) => `${l.level} ${l.msg}`),
        ['info defaults policy loaded', 'info admission review'],
      );
    } finally {
      webhook.close();
    }
  });

  test('the faas answer is the review as JSON text with its status code and a JSON content type', async () => {
    const webhook = createFunctionWebhook({ rules: [], log: recordingLog().log });
    const review = admissionFixtureReview('admissionreview-03-kubewarden-deploy-requests-partial-limits');
    const answer = await faasHandler(webhook)(json(), review);
    assert.deepEqual(answer, {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: dig(review, 'request', 'uid'), allowed: true } }),
    });
  });

  test('a body the runtime left as text is parsed here, with the 400 serve gives when it is not JSON', async () => {
    const webhook = createFunctionWebhook({ rules: [], log: recordingLog().log });
    const handle = faasHandler(webhook);
    const review = admissionFixtureReview('admissionreview-04-whorf-deploy-create-full');
    assert.equal((await handle(json(), JSON.stringify(review))).statusCode, 200);
    const bad = await handle(json(), '{"apiVersion": ');
    assert.equal(bad.statusCode, 400);
    assert.match((JSON.parse(bad.body) as Json).message as string, /^the body is not valid JSON: /);
  });

  test('an empty raw body is the 400 serve gives, even when the runtime made an object of it', async () => {
    const webhook = createFunctionWebhook({ rules: [], log: recordingLog().log });
    const answer = await faasHandler(webhook)(json({ rawBody: '' }), {});
    assert.equal(answer.statusCode, 400);
    assert.equal((JSON.parse(answer.body) as Json).message, 'the body is not valid JSON: Unexpected end of JSON input');
  });

  test('a declared length over 3 MiB is the 413 serve gives, whatever the runtime read', async () => {
    const webhook = createFunctionWebhook({ rules: [], log: recordingLog().log });
    const headers = { 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) };
    const answer = await faasHandler(webhook)(json({ headers }), admissionFixtureReview('admissionreview-04-whorf-deploy-create-full'));
    assert.equal(answer.statusCode, 413);
    assert.equal((JSON.parse(answer.body) as Json).message, `request body of ${MAX_BODY_BYTES + 1} bytes is over the ${MAX_BODY_BYTES}-byte limit`);
  });

  test('raw bytes counted over 3 MiB are the 413 serve gives for a body without a length', async () => {
    const webhook = createFunctionWebhook({ rules: [], log: recordingLog().log });
    const answer = await faasHandler(webhook)(json({ rawBody: ' '.repeat(MAX_BODY_BYTES + 1) }), {});
    assert.equal(answer.statusCode, 413);
    assert.equal((JSON.parse(answer.body) as Json).message, `request body is over the ${MAX_BODY_BYTES}-byte limit`);
  });

  test('GET is 405 before the body is looked at', async () => {
    const webhook = createFunctionWebhook({ rules: [], log: recordingLog().log });
    const answer = await faasHandler(webhook)(json({ method: 'GET' }), undefined);
    assert.equal(answer.statusCode, 405);
  });
});

describe('function configuration and logs', () => {
  test('HPA_BRIDGE_RULES is a comma-separated list of paths', () => {
    assert.deepEqual(optionsFromEnv({ HPA_BRIDGE_RULES: ' /etc/rules , /etc/more.yaml,,' }, () => undefined).rules, ['/etc/rules', '/etc/more.yaml']);
  });

  test('an unknown HPA_BRIDGE_LOG_LEVEL is a warning, and info lines are still written', () => {
    const out: string[] = [];
    const { log } = optionsFromEnv({ HPA_BRIDGE_LOG_LEVEL: 'toString' }, (l) => out.push(l));
    log.info('after');
    assert.deepEqual(
      out.map((l) => (JSON.parse(l) as Json).msg),
      ['HPA_BRIDGE_LOG_LEVEL must be one of debug, info, warn, error, silent, not "toString"; logging at info', 'after'],
    );
  });

  test('a log line is one JSON object with the level, the Cloud Logging severity, the fields and the message', () => {
    const out: string[] = [];
    functionLogger('info', (l) => out.push(l)).warn('admission review rejected', { code: 400 });
    assert.equal(out.length, 1);
    assert.ok(out[0]?.endsWith('\n'));
    const line = JSON.parse(out[0] ?? '') as Json;
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual({ ...line, time: undefined }, { level: 'warn', time: undefined, name: 'hpa-bridge', severity: 'WARNING', code: 400, msg: 'admission review rejected' });
  });

  test('at level warn, info lines are dropped', () => {
    const out: string[] = [];
    const log = functionLogger('warn', (l) => out.push(l));
    log.info('dropped');
    log.warn('kept');
    assert.deepEqual(
      out.map((l) => (JSON.parse(l) as Json).msg),
      ['kept'],
    );
  });
});
