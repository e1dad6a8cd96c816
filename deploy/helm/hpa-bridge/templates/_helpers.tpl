{{/* Labels on every object. */}}
{{- define "hpa-bridge.labels" -}}
app.kubernetes.io/name: hpa-bridge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: hpa-bridge
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Deployment's selector; must never change after install. */}}
{{- define "hpa-bridge.selectorLabels" -}}
app.kubernetes.io/name: hpa-bridge
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hpa-bridge.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Stops the install on an unknown tls.mode instead of rendering no CA at all. */}}
{{- define "hpa-bridge.checkTls" -}}
{{- if not (has .Values.tls.mode (list "certManager" "secret")) -}}
{{- fail (printf "tls.mode must be certManager or secret, not %q" .Values.tls.mode) -}}
{{- end -}}
{{- end -}}

{{/*
How the APIServices and the webhook learn the CA that signed the serving
certificate: an annotation for cert-manager's CA injector (certManager), or
the caBundle given in values (secret).
*/}}
{{- define "hpa-bridge.caAnnotations" -}}
{{- include "hpa-bridge.checkTls" . -}}
{{- if eq .Values.tls.mode "certManager" -}}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ .Release.Name }}-serving
{{- end -}}
{{- end -}}

{{- define "hpa-bridge.caBundle" -}}
{{- if eq .Values.tls.mode "secret" -}}
caBundle: {{ required "tls.caBundle (base64 PEM of the CA) is required when tls.mode is secret" .Values.tls.caBundle }}
{{- end -}}
{{- end -}}
