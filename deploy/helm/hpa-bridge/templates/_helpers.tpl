{{/* The name of every object; fullnameOverride is prometheus-adapter's value. */}}
{{- define "hpa-bridge.fullname" -}}
{{- .Values.fullnameOverride | default .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespace of every namespaced object; namespaceOverride is prometheus-adapter's value. */}}
{{- define "hpa-bridge.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace -}}
{{- end -}}

{{- define "hpa-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "hpa-bridge.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "hpa-bridge.labels" -}}
app.kubernetes.io/name: hpa-bridge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: hpa-bridge
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The Deployment's selector; must never change after install. */}}
{{- define "hpa-bridge.selectorLabels" -}}
app.kubernetes.io/name: hpa-bridge
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
metadata.annotations of an object, on a new line indented by .indent:
customAnnotations merged with .extra (which wins). Nothing when both are
empty. Call as:
  include "hpa-bridge.annotations" (dict "indent" 2 "root" $ "extra" (dict ...))
*/}}
{{- define "hpa-bridge.annotations" -}}
{{- $all := merge (deepCopy (.extra | default dict)) (deepCopy (.root.Values.customAnnotations | default dict)) -}}
{{- with $all -}}
{{- printf "annotations:\n%s" (toYaml . | indent 2) | nindent $.indent -}}
{{- end -}}
{{- end -}}

{{/*
prometheus-adapter's image under its own name cannot run `serve`: a values
file written for that chart names it, so it gives way to hpa-bridge's image.
*/}}
{{- define "hpa-bridge.image" -}}
{{- $repository := .Values.image.repository -}}
{{- $tag := .Values.image.tag -}}
{{- if regexMatch "(^|/)(k8s-)?prometheus-adapter(-[a-z0-9]+)?$" $repository -}}
{{- $repository = "hpa-bridge" -}}
{{- $tag = "" -}}
{{- end -}}
{{ $repository }}:{{ $tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
Where the serving certificate comes from, one of:
  values       prometheus-adapter's tls.enable: the chart writes tls.certificate
               and tls.key into Secret tls.secretName and gives tls.ca to the
               APIServices and the webhook.
  certManager  prometheus-adapter's certManager.enabled, or tls.mode certManager.
  secret       tls.mode secret: the Secret exists; tls.caBundle is its CA.
prometheus-adapter's values win over tls.mode when they switch TLS on. With
both off (that chart's default) tls.mode decides: the aggregator and the
webhook need a CA to trust, so there is no insecureSkipTLSVerify here.
*/}}
{{- define "hpa-bridge.tlsMode" -}}
{{- if .Values.tls.enable -}}
values
{{- else if .Values.certManager.enabled -}}
certManager
{{- else if has .Values.tls.mode (list "certManager" "secret") -}}
{{- .Values.tls.mode -}}
{{- else -}}
{{- fail (printf "tls.mode must be certManager or secret, not %q" .Values.tls.mode) -}}
{{- end -}}
{{- end -}}

{{/* cert-manager's CA injector annotation, when it provides the CA. */}}
{{- define "hpa-bridge.caInjection" -}}
{{- if eq (include "hpa-bridge.tlsMode" .) "certManager" -}}
{{- toYaml (dict "cert-manager.io/inject-ca-from" (printf "%s/%s-serving" (include "hpa-bridge.namespace" .) (include "hpa-bridge.fullname" .))) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{- define "hpa-bridge.caBundle" -}}
{{- $mode := include "hpa-bridge.tlsMode" . -}}
{{- if eq $mode "secret" -}}
caBundle: {{ required "tls.caBundle (base64 PEM of the CA) is required when tls.mode is secret" .Values.tls.caBundle }}
{{- else if eq $mode "values" -}}
caBundle: {{ required "tls.ca (PEM of the CA) is required when tls.enable is true" .Values.tls.ca | b64enc }}
{{- end -}}
{{- end -}}

{{/*
Which layout `rules` is written in. prometheus-adapter's: any of its keys
default, custom, external, resource or existing is there. Ours: only file
names. The two do not mix: in prometheus-adapter's layout the file-name keys
(the examples from values.yaml among them) are not rendered.
*/}}
{{- define "hpa-bridge.adapterLayout" -}}
{{- $r := .Values.rules | default dict -}}
{{- if or (hasKey $r "default") (hasKey $r "custom") (hasKey $r "external") (hasKey $r "resource") $r.existing -}}
true
{{- end -}}
{{- end -}}

{{/* rules.default as prometheus-adapter reads it: true when absent. */}}
{{- define "hpa-bridge.adapterDefaultRules" -}}
{{- if or (not (hasKey .Values.rules "default")) .Values.rules.default -}}
true
{{- end -}}
{{- end -}}

{{/* Whether the custom, external and metrics.k8s.io APIServices are registered. */}}
{{- define "hpa-bridge.servesCustom" -}}
{{- if .Values.customMetrics.enabled -}}
{{- if or (not (include "hpa-bridge.adapterLayout" .)) (include "hpa-bridge.adapterDefaultRules" .) .Values.rules.custom -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hpa-bridge.servesExternal" -}}
{{- if .Values.externalMetrics.enabled -}}
{{- if or (not (include "hpa-bridge.adapterLayout" .)) .Values.rules.external -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{/* metrics.k8s.io: resourceMetrics.enabled, or prometheus-adapter's rules.resource. */}}
{{- define "hpa-bridge.resourceMetrics" -}}
{{- if or .Values.resourceMetrics.enabled .Values.rules.resource -}}
true
{{- end -}}
{{- end -}}

{{- define "hpa-bridge.prometheusUrl" -}}
{{- $url := tpl (.Values.prometheus.url | toString) . -}}
{{- /* prometheus-adapter builds url:port/path; a URL that already has a port (ours until 0.3.0) keeps it. */ -}}
{{- if and .Values.prometheus.port (not (regexMatch "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*:[0-9]+(/.*)?$" $url)) -}}
{{- $url = printf "%s:%v" $url .Values.prometheus.port -}}
{{- end -}}
{{ $url }}{{ .Values.prometheus.path }}
{{- end -}}
