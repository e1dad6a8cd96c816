// The "Helm values" table of docs/migrating-from-prometheus-adapter.md must
// say what hpa-bridge's chart does with every value of prometheus-adapter's
// chart (its values.yaml in test/fixtures/helm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO, isObject, type JsonObject } from '../support/manifests.js';

const DOC = readFileSync(join(REPO, 'docs', 'migrating-from-prometheus-adapter.md'), 'utf8');
const ADAPTER_VALUES = parseYaml(readFileSync(join(REPO, 'test', 'fixtures', 'helm', 'prometheus-adapter-5.3.0.values.yaml'), 'utf8')) as JsonObject;

/** The first cell of each row of the table under "## Helm values". */
function valueCells(): string[] {
  const start = DOC.indexOf('\n## Helm values\n');
  assert.ok(start >= 0, 'no "## Helm values" section');
  const next = DOC.indexOf('\n## ', start + 1);
  const section = DOC.slice(start, next === -1 ? undefined : next);
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| prometheus-adapter value'))
    .map((l) => l.split(' | ')[0] as string);
}

/** The dotted names a cell lists: `a.b`, `c` (a bare name continues the last dotted prefix, as in `tls.ca`, `certificate`). */
function namesIn(cell: string): string[] {
  let prefix = '';
  return [...cell.matchAll(/`([A-Za-z.*]+)(?::[^`]*)?`/g)].map((m) => {
    const name = m[1] as string;
    if (name.includes('.')) {
      prefix = name.slice(0, name.lastIndexOf('.') + 1);
      return name;
    }
    return prefix && !(name in ADAPTER_VALUES) ? prefix + name : name;
  });
}

/** prometheus-adapter's values as dotted paths down to the first leaf, or a whole object for those the table treats as one. */
function adapterValues(): string[] {
  const WHOLE = new Set(['podSecurityContext', 'securityContext', 'livenessProbe', 'readinessProbe', 'startupProbe', 'strategy', 'resources', 'affinity', 'nodeSelector', 'dnsConfig']);
  const out: string[] = [];
  const walk = (o: JsonObject, prefix: string): void => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix + k;
      if (isObject(v) && Object.keys(v).length > 0 && !WHOLE.has(path)) walk(v, `${path}.`);
      else out.push(path);
    }
  };
  walk(ADAPTER_VALUES, '');
  return out;
}

test("the Helm values table has a row for every value of prometheus-adapter's chart", () => {
  const documented = new Set(valueCells().flatMap(namesIn));
  const covered = (path: string): boolean => documented.has(path) || [...documented].some((d) => d.endsWith('.*') && path.startsWith(d.slice(0, -1)));
  assert.deepEqual(
    adapterValues().filter((p) => !covered(p)),
    [],
  );
});
