{{/*
prometheus-adapter's default custom rules (its chart's rules.default): every
container_* series per pod as a rate or a gauge, and every series with a
namespace label per object it names. The same rules as that chart renders.
*/}}
{{- define "hpa-bridge.adapterDefaultRuleList" -}}
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters: []
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
    - isNot: ^container_.*_seconds_total$
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
    - isNot: ^container_.*_total$
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)$
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
    - isNot: .*_total$
  resources:
    template: <<.Resource>>
  name:
    matches: ""
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
    - isNot: .*_seconds_total
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters: []
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
{{- end -}}

{{/* config.yaml as prometheus-adapter's chart builds it from rules.default, custom, external and resource. */}}
{{- define "hpa-bridge.adapterConfig" -}}
{{- $config := dict -}}
{{- $rules := list -}}
{{- if include "hpa-bridge.adapterDefaultRules" . -}}
{{- $rules = include "hpa-bridge.adapterDefaultRuleList" . | fromYamlArray -}}
{{- end -}}
{{- $rules = concat $rules (.Values.rules.custom | default list) -}}
{{- with $rules -}}
{{- $_ := set $config "rules" . -}}
{{- end -}}
{{- with .Values.rules.external -}}
{{- $_ := set $config "externalRules" . -}}
{{- end -}}
{{- with .Values.rules.resource -}}
{{- $_ := set $config "resourceRules" . -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
The rule files the chart's ConfigMap holds, as a map of file name to text:
  ours: every file-name key of rules;
  prometheus-adapter's: config.yaml, unless rules.existing names a ConfigMap
    that holds it;
and in both
  defaults.yaml (webhook.defaults) while the webhook is on, unless rules has
    a file of that name;
  resource-metrics.yaml (resourceMetrics.rules) with resourceMetrics.enabled,
    unless rules.resource gives the resource rules.
*/}}
{{- define "hpa-bridge.ruleFiles" -}}
{{- $files := dict -}}
{{- if include "hpa-bridge.adapterLayout" . -}}
{{- if not .Values.rules.existing -}}
{{- $_ := set $files "config.yaml" (include "hpa-bridge.adapterConfig" .) -}}
{{- end -}}
{{- else -}}
{{- range $file, $text := .Values.rules -}}
{{- $_ := set $files $file $text -}}
{{- end -}}
{{- end -}}
{{- if and .Values.webhook.enabled (not (hasKey $files "defaults.yaml")) -}}
{{- $_ := set $files "defaults.yaml" .Values.webhook.defaults -}}
{{- end -}}
{{- if and .Values.resourceMetrics.enabled (not .Values.rules.resource) -}}
{{- $_ := set $files "resource-metrics.yaml" .Values.resourceMetrics.rules -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}
