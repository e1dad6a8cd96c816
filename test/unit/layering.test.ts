// The import directions between top-level folders (README, Layout): first
// the checker on synthetic files, so it is known to find what it must, then
// on every source file of the tree.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkLayering, formatFinding, LAYERS, type SourceText } from '../support/layering.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function findings(path: string, text: string): string[] {
  return checkLayering([{ path, text }]).map(formatFinding);
}

describe('the layering checker', () => {
  const forbidden: { name: string; path: string; text: string; want: string }[] = [
    {
      name: 'k8s/ importing rules/ is reported with file, line and rule',
      path: 'k8s/quantity.ts',
      text: "// Quantities.\nimport { x } from '../rules/y.js';\n",
      want: "k8s/quantity.ts:2: imports '../rules/y.js' (rules/), but k8s/ imports nothing of ours (only node: built-ins and npm packages)",
    },
    {
      name: 'rules/ importing adapter/ is reported',
      path: 'rules/query.ts',
      text: "import type { Sample } from '../adapter/prometheus.js';",
      want: "rules/query.ts:1: imports '../adapter/prometheus.js' (adapter/), but rules/ imports only k8s/",
    },
    {
      name: 'adapter/ re-exporting webhook/ is reported',
      path: 'adapter/objects/index.ts',
      text: "export { handler } from '../../webhook/handler.js';",
      want: "adapter/objects/index.ts:1: imports '../../webhook/handler.js' (webhook/), but adapter/ imports only rules/ and k8s/ (never webhook/ or cli/)",
    },
    {
      name: 'webhook/ importing adapter/ dynamically is reported',
      path: 'webhook/review.ts',
      text: "async function f() {\n  return import('../adapter/errors.js');\n}\n",
      want: "webhook/review.ts:2: imports '../adapter/errors.js' (adapter/), but webhook/ imports only rules/ and k8s/ (never adapter/ or cli/)",
    },
    {
      name: 'adapter/ importing cli/ across a multi-line import is reported at the specifier',
      path: 'adapter/router.ts',
      text: "import {\n  a,\n  b,\n} from '../cli/serve.js';\n",
      want: "adapter/router.ts:4: imports '../cli/serve.js' (cli/), but adapter/ imports only rules/ and k8s/ (never webhook/ or cli/)",
    },
    {
      name: 'hpa/ importing adapter/ is reported',
      path: 'hpa/quantity.ts',
      text: "import { toMilli } from '../adapter/quantity.js';",
      want: "hpa/quantity.ts:1: imports '../adapter/quantity.js' (adapter/), but hpa/ imports only k8s/",
    },
    {
      name: 'explain/ importing adapter/ is reported',
      path: 'explain/explain.ts',
      text: "import { MetricsProvider } from '../adapter/provider.js';",
      want: "explain/explain.ts:1: imports '../adapter/provider.js' (adapter/), but explain/ imports only hpa/, rules/ and k8s/ (never adapter/, webhook/ or cli/)",
    },
    {
      name: 'bench/ importing a test is reported',
      path: 'bench/run.ts',
      text: "import '../test/unit/router.test.js';",
      want: "bench/run.ts:1: imports '../test/unit/router.test.js' (test/), but bench/ may import anything but test/ (test/support/ excepted)",
    },
    {
      name: 'an import that leaves the repository is reported',
      path: 'rules/load.ts',
      text: "import x from '../../shared/notes.js';",
      want: "rules/load.ts:1: imports '../../shared/notes.js' (outside the repository), but rules/ imports only k8s/",
    },
  ];
  for (const c of forbidden) {
    test(c.name, () => {
      assert.deepEqual(findings(c.path, c.text), [c.want]);
    });
  }

  const allowed: { name: string; path: string; text: string }[] = [
    {
      name: 'k8s/ may import node: built-ins, npm packages and itself',
      path: 'k8s/names.ts',
      text: "import { Buffer } from 'node:buffer';\nimport re2 from 're2js';\nimport { utf8Length } from './go-strings.js';",
    },
    { name: 'rules/ may import k8s/', path: 'rules/defaults.ts', text: "import { matchesLabels } from '../k8s/label-selector.js';" },
    { name: 'adapter/ may import rules/ and k8s/', path: 'adapter/auth/x.ts', text: "import '../../rules/query.js';\nimport '../../k8s/quantity.js';" },
    { name: 'webhook/ may import rules/ and k8s/', path: 'webhook/patch.ts', text: "import '../rules/defaults.js';\nimport '../k8s/quantity.js';" },
    { name: 'hpa/ may import k8s/', path: 'hpa/quantity.ts', text: "import * as resource from '../k8s/quantity.js';" },
    { name: 'explain/ may import hpa/, rules/ and k8s/', path: 'explain/explain.ts', text: "import '../hpa/index.js';\nimport '../rules/defaults.js';\nimport '../k8s/quantity.js';" },
    { name: 'cli/ may import anything', path: 'cli/serve.ts', text: "import '../adapter/router.js';\nimport '../webhook/handler.js';\nimport '../hpa/index.js';" },
    { name: 'bench/ may import the product', path: 'bench/run.ts', text: "import '../cli/serve.js';\nimport '../adapter/router.js';" },
    { name: 'bench/ may import the test harness in test/support', path: 'bench/run.ts', text: "import { KubeApiDouble } from '../test/support/kube-api-double.js';" },
    { name: 'an import inside a comment or a string is not an import', path: 'k8s/x.ts', text: "// import '../rules/a.js';\nconst s = \"import('../adapter/b.js')\";" },
    { name: 'files outside the checked folders are not checked', path: 'test/unit/x.test.ts', text: "import '../../adapter/router.js';" },
  ];
  for (const c of allowed) {
    test(c.name, () => {
      assert.deepEqual(findings(c.path, c.text), []);
    });
  }
});

function sourceFiles(dir: string): SourceText[] {
  const out: SourceText[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name)) {
      out.push({ path: relative(REPO, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
    }
  }
  return out;
}

test('every source file imports only what its folder may import', () => {
  const files = Object.keys(LAYERS).flatMap((folder) => {
    const found = sourceFiles(join(REPO, folder));
    assert.ok(found.length > 0, `no source file found under ${join(REPO, folder)}`);
    return found;
  });
  const broken = checkLayering(files).map(formatFinding);
  assert.deepEqual(broken, [], `forbidden imports:\n${broken.join('\n')}`);
});
