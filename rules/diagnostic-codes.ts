// The codes `hpa-bridge lint` and every reload report, one entry per kind of
// problem. A code is a stable identifier that CI scripts and dashboards can
// key on, so it lives here once: DiagnosticList accepts only these names, and
// the table in docs/rules.md is generated from this list (`npm run docs`).

interface DiagnosticCodeInfo {
  /** The severity every report of this code has; absent when it depends on the rule (see `meaning`). */
  readonly severity?: 'error' | 'warning';
  /** One line: what the code means. */
  readonly meaning: string;
  /** One line: an example of how to fix it. */
  readonly fix: string;
}

export const DIAGNOSTIC_CODES = {
  unreadable: {
    severity: 'error',
    meaning: 'A rule path or file could not be read.',
    fix: 'Check the path and its permissions; a ConfigMap must be mounted where `--rules` points.',
  },
  'no-files': {
    severity: 'error',
    meaning: 'No `*.yaml` or `*.yml` file was found under the paths given.',
    fix: 'Point at the rule files or their directory, and name them `*.yaml`.',
  },
  'empty-file': {
    severity: 'warning',
    meaning: 'A rule file holds no rules.',
    fix: 'Delete the file, or add its rules.',
  },
  'yaml-syntax': {
    severity: 'error',
    meaning: 'The file is not valid YAML; the message comes from the YAML parser.',
    fix: 'Quote a value that holds `: ` or starts with `{`, `[`, `*` or `&`; indent with spaces, not tabs.',
  },
  'duplicate-key': {
    severity: 'error',
    meaning: 'A key appears twice in one mapping, which strict decoding rejects.',
    fix: 'Keep one of the two `metricsQuery:` keys of the rule.',
  },
  'multiple-documents': {
    severity: 'error',
    meaning: 'A file holds more than one YAML document (`---`).',
    fix: 'Move each document after a `---` into a file of its own.',
  },
  'wrong-type': {
    severity: 'error',
    meaning: 'A field has the wrong type, such as a mapping where a list belongs.',
    fix: 'Write `rules:` as a list, each rule starting with `- `.',
  },
  'bad-key': {
    severity: 'error',
    meaning: 'A mapping key is not a string.',
    fix: 'Write the key as plain text: `pod:` rather than `[pod]:`.',
  },
  'empty-value': {
    severity: 'error',
    meaning: 'A named entry, such as a label override, has no value.',
    fix: 'Give `overrides.pod` its value: `pod: {resource: pod}`.',
  },
  'empty-item': {
    severity: 'error',
    meaning: 'A list item that should be an object is empty.',
    fix: 'Delete the lone `-`, or fill in the item.',
  },
  'unknown-field': {
    severity: 'error',
    meaning: 'A key is not a field of the format, often a typo or a mis-indented key.',
    fix: 'Rename `metricQuery` to `metricsQuery`, or indent the key under the object it belongs to.',
  },
  'missing-field': {
    severity: 'error',
    meaning: 'A required field is absent or empty.',
    fix: 'Add `metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`.',
  },
  'bad-filter': {
    severity: 'error',
    meaning: 'A series filter has both `is` and `isNot`, or neither.',
    fix: 'Split `{is: a, isNot: b}` into two filters, `- is: a` and `- isNot: b`.',
  },
  'bad-regex': {
    severity: 'error',
    meaning: 'A regex is not valid RE2 syntax (look-around, backreferences) or is past the limits of RE2.',
    fix: 'Replace `^(?!container_).*` with the filter `isNot: ^container_`.',
  },
  'missing-as': {
    severity: 'error',
    meaning: '`name.matches` has several capture groups and `name.as` does not say which to use.',
    fix: 'Add `as: "${1}"`.',
  },
  'unknown-group': {
    severity: 'warning',
    meaning: '`name.as` refers to a group `name.matches` does not have, so it expands to an empty string.',
    fix: 'Write `${1}_per_second` instead of `$1_per_second`.',
  },
  'bad-template': {
    severity: 'error',
    meaning: 'A Go template does not parse, uses an unsupported construct or an unknown field, or cannot render a query.',
    fix: 'Close every action: `<<.Series>>`, not `<<.Series}`.',
  },
  'bad-promql': {
    severity: 'error',
    meaning: 'A `seriesQuery` is not a series selector, or the query rendered for an example request is not valid PromQL.',
    fix: 'Balance the parentheses: `sum(rate(x[5m])) by (pod)`.',
  },
  'promql-lint': {
    severity: 'warning',
    meaning: 'An `=` or `!=` matcher compares a label to text that looks like a regex.',
    fix: 'Write `code=~"500|503"` instead of `code="500|503"`.',
  },
  'no-label-matchers': {
    severity: 'warning',
    meaning: '`metricsQuery` does not use `<<.LabelMatchers>>`, so requests are not narrowed to what was asked.',
    fix: 'Select with `<<.Series>>{<<.LabelMatchers>>}`.',
  },
  'missing-resource': {
    severity: 'error',
    meaning: 'A `resources.overrides` entry names no resource.',
    fix: 'Write `pod: {resource: pod}`.',
  },
  'bad-label-name': {
    severity: 'error',
    meaning: 'A `resources.overrides` key is not a Prometheus label name.',
    fix: 'Use the label as Prometheus stores it: `kubernetes_pod_name`, not `kubernetes.pod-name`.',
  },
  'duplicate-override': {
    severity: 'error',
    meaning: 'Two override labels map to the same resource.',
    fix: 'Keep the one label the series carry, e.g. drop `pod_name` when `pod` is there.',
  },
  'no-resources': {
    severity: 'warning',
    meaning: 'A custom rule maps no label to a Kubernetes resource, so it publishes no metric.',
    fix: 'Add `resources: {template: <<.Resource>>}` or `resources.overrides`.',
  },
  'external-namespace': {
    meaning: 'An external rule cannot be scoped to a namespace: an error when it has a `resources` section, a warning when it has none (such a rule still loads, but its requests fail).',
    fix: 'Add `resources: {overrides: {namespace: {resource: namespace}}}`, or `resources: {namespaced: false}` for a metric with no namespace.',
  },
  'duplicate-metric': {
    severity: 'error',
    meaning: 'Two rules, in any files, publish the same fixed metric name for the same resource.',
    fix: 'Rename one with `name.as`.',
  },
  'duplicate-resource-rules': {
    severity: 'error',
    meaning: '`resourceRules` is defined in more than one file.',
    fix: 'Keep `resourceRules` in one file.',
  },
  'bad-duration': {
    severity: 'error',
    meaning: '`resourceRules.window` is not a Prometheus duration.',
    fix: 'Write `window: 5m` instead of `window: 5 minutes`.',
  },
  'missing-mapping': {
    severity: 'error',
    meaning: 'A resource-metrics query has no label mapped to the resource it reads (pods for `containerQuery`, nodes for `nodeQuery`).',
    fix: 'Add `resources: {overrides: {node: {resource: node}}}`.',
  },
  'ignored-field': {
    severity: 'warning',
    meaning: 'A field has no effect where it is: `resources.namespaced` on a custom rule, or `requests` on a `defaults` entry that is `off`.',
    fix: 'Delete the field, or move the rule to `externalRules`.',
  },
  'bad-selector': {
    severity: 'error',
    meaning: 'A `defaults` label selector expression lacks a key, has an unknown operator, or has values that do not fit its operator.',
    fix: 'Write `{key: tier, operator: In, values: [web]}`.',
  },
  'bad-quantity': {
    severity: 'error',
    meaning: 'A `defaults` request or limit is not a Kubernetes quantity, or is negative.',
    fix: 'Write `memory: 128Mi` instead of `memory: 128 MB`.',
  },
  'tiny-quantity': {
    severity: 'warning',
    meaning: 'A `defaults` memory or storage amount is less than one byte, usually `m` written for `Mi`.',
    fix: 'Write `128Mi` instead of `128m`.',
  },
  'bad-ratio': {
    severity: 'error',
    meaning: 'A `defaults` `limitRatio` is not a number of at least 1.',
    fix: 'Write `cpu: "2"` instead of `cpu: "0.5"`.',
  },
  'request-above-limit': {
    severity: 'error',
    meaning: 'A `defaults` request is above the limit for the same resource, which the API server would reject.',
    fix: 'Lower `requests.memory` to at most `limits.memory`.',
  },
  'unknown-kind': {
    severity: 'error',
    meaning: 'A `defaults` `match.kinds` entry is not a workload kind the webhook handles.',
    fix: 'Write `Deployment`, not `deployment` or `Deployments`.',
  },
  unsupported: {
    severity: 'error',
    meaning: 'A `defaults` entry asks for something Kubernetes does not allow (resources on ephemeral containers).',
    fix: 'Delete `ephemeralContainers: true`.',
  },
  'defaults-tie': {
    severity: 'error',
    meaning: 'Two `defaults` entries are equally specific and can match the same container, so neither wins.',
    fix: 'Make one more specific: add `containers`, a `selector` or `namespaces`.',
  },
} as const satisfies Record<string, DiagnosticCodeInfo>;

type Catalog = typeof DIAGNOSTIC_CODES;

export type DiagnosticCode = keyof Catalog;

/** The codes that may be reported as errors: all but the warning-only ones. */
export type ErrorCode = { [C in DiagnosticCode]: Catalog[C] extends { severity: 'warning' } ? never : C }[DiagnosticCode];

/** The codes that may be reported as warnings: all but the error-only ones. */
export type WarningCode = { [C in DiagnosticCode]: Catalog[C] extends { severity: 'error' } ? never : C }[DiagnosticCode];

/** The table in docs/rules.md. */
export function describeDiagnosticCodes(): string {
  // A bare | ends a table cell in Markdown, even inside backticks.
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const rows = Object.entries(DIAGNOSTIC_CODES).map(([code, info]: [string, DiagnosticCodeInfo]) => `| \`${code}\` | ${info.severity ?? 'either'} | ${cell(info.meaning)} | ${cell(info.fix)} |`);
  return ['| code | severity | meaning | example fix |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
