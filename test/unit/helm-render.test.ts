// The Helm renderer in test/support/helm.ts that the manifest tests use in
// place of `helm template`: each case is what helm prints for the template
// (Go's text/template semantics and sprig's functions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenderError, renderText } from '../support/helm.js';

const DATA = {
  Values: { name: 'web', replicas: 2, on: true, off: false, empty: '', list: ['a', 'b'], map: { b: 2, a: 1 }, nested: { port: 443 } },
  Release: { Name: 'rel', Namespace: 'ns' },
};
const PARTIALS = `{{- define "labels" -}}
app: {{ .Values.name }}
release: {{ $.Release.Name }}
{{- end -}}`;

const CASES: readonly (readonly [string, string, string])[] = [
  ['plain fields and a number', 'n={{ .Values.name }} r={{ .Values.replicas }} p={{ .Values.nested.port }}', 'n=web r=2 p=443'],
  ['a missing key prints nothing', '[{{ .Values.missing }}]', '[]'],
  ['{{- trims the whitespace before, -}} the whitespace after', 'a  \n  {{- "b" -}}  \n  c', 'abc'],
  ['a dash without a space is a negative number, not a trim', 'x {{ -1 }}', 'x -1'],
  ['comments print nothing', 'a{{/* note */}}b{{- /* note */ -}} c', 'abc'],
  ['if, else if and else', '{{ if .Values.off }}1{{ else if .Values.empty }}2{{ else }}3{{ end }}', '3'],
  ['empty strings, zero and empty lists are false', '{{ if or .Values.empty 0 (list) }}t{{ else }}f{{ end }}', 'f'],
  ['range over a list with index and value', '{{ range $i, $v := .Values.list }}{{ $i }}={{ $v }};{{ end }}', '0=a;1=b;'],
  ['range over a map visits keys in sorted order', '{{ range $k, $v := .Values.map }}{{ $k }}{{ $v }}{{ end }}', 'a1b2'],
  ['range sets dot to the element', '{{ range .Values.list }}<{{ . }}>{{ end }}', '<a><b>'],
  ['range over nothing takes else', '{{ range .Values.missing }}x{{ else }}none{{ end }}', 'none'],
  ['with sets dot', '{{ with .Values.nested }}{{ .port }}{{ end }}', '443'],
  ['a variable declared in a block ends with it; = assigns the outer one', '{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}', '2'],
  ['$ is the data passed to include', '{{ include "labels" . | nindent 2 }}', '\n  app: web\n  release: rel'],
  ['quote and printf %q use Go quoting', '{{ .Values.name | quote }} {{ printf "%s-%q-%d" "a" "b\\"c" 3 }}', '"web" a-"b\\"c"-3'],
  ['default takes the fallback for an empty value only', '{{ .Values.empty | default "x" }} {{ .Values.name | default "x" }}', 'x web'],
  ['list, concat, index and has', '{{ $l := concat (list 1 2) (list 3) }}{{ index $l 2 }} {{ has 2 $l }} {{ has "2" $l }}', '3 true false'],
  ['eq compares the first argument with each of the others', '{{ eq .Values.name "api" "web" }} {{ ne 1 1 }} {{ not .Values.on }}', 'true false false'],
  ['toYaml sorts keys; indent pads every line', '{{ toYaml .Values.map | indent 2 }}', '  a: 1\n  b: 2'],
];

for (const [name, template, want] of CASES) {
  test(`helm renderer: ${name}`, () => {
    assert.equal(renderText(template, DATA, PARTIALS), want);
  });
}

const ERRORS: readonly (readonly [string, string, RegExp])[] = [
  ['an unknown function', '{{ lookup "v1" "Secret" "ns" "name" }}', /function "lookup" is not supported/],
  ['fail', '{{ fail "stop here" }}', /^stop here$/],
  ['required on an empty value', '{{ required "name is required" .Values.empty }}', /^name is required$/],
  ['a field of a missing key', '{{ .Values.missing.port }}', /nil pointer evaluating \.port/],
  ['an unclosed block', '{{ if true }}x', /missing \{\{end\}\}/],
  ['a named template not defined', '{{ include "nope" . }}', /no template "nope"/],
  ['an unsupported keyword', '{{ template "labels" . }}', /\{\{template\}\} is not supported/],
];

for (const [name, template, want] of ERRORS) {
  test(`helm renderer: ${name} is an error`, () => {
    assert.throws(
      () => renderText(template, DATA, PARTIALS),
      (e: unknown) => e instanceof RenderError && want.test(e.message),
    );
  });
}
