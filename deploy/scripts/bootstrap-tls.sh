#!/usr/bin/env bash
# Provides hpa-bridge's serving certificate without cert-manager:
#
#   1. makes a private CA and a serving certificate for
#      <service>.<namespace>.svc with openssl (or keeps the current one),
#   2. stores tls.crt, tls.key and ca.crt in Secret <namespace>/<secret>,
#   3. patches the CA into the caBundle of the three APIServices (five with
#      metrics.k8s.io, deploy/kustomize/resource-metrics/self-signed) and of
#      the MutatingWebhookConfiguration, which the aggregator and the API
#      server's webhook client use to verify that certificate.
#
# Run it after `kubectl apply -k deploy/kustomize/self-signed`. It is safe to
# run again: a certificate that names the service, chains to its CA, matches
# its key and has more than RENEW_DAYS left is kept, and the patches then
# change nothing. Re-run it before the certificate expires (CERT_DAYS).
#
# The CA's private key is never stored: a renewal makes a new CA. While the
# pods still serve the old certificate, the caBundle holds both CAs; the next
# run after the rollout drops the old one.
set -euo pipefail

NAMESPACE="${NAMESPACE:-hpa-bridge}"
SERVICE="${SERVICE:-hpa-bridge}"
SECRET="${SECRET:-hpa-bridge-tls}"
DEPLOYMENT="${DEPLOYMENT:-hpa-bridge}"
WEBHOOK_CONFIGURATION="${WEBHOOK_CONFIGURATION:-hpa-bridge-defaults}"
APISERVICES="${APISERVICES:-v1beta2.custom.metrics.k8s.io v1beta1.custom.metrics.k8s.io v1beta1.external.metrics.k8s.io}"
# Opt-in: patched when they exist and point at SERVICE, and left alone when
# they belong to another server (metrics-server).
RESOURCE_METRICS_APISERVICES="${RESOURCE_METRICS_APISERVICES:-v1beta1.metrics.k8s.io v1.metrics.k8s.io}"
CA_DAYS="${CA_DAYS:-3650}"
CERT_DAYS="${CERT_DAYS:-365}"
RENEW_DAYS="${RENEW_DAYS:-30}"
KUBECTL="${KUBECTL:-kubectl}"

usage() {
  cat <<EOF
Usage: $(basename "$0") [--force] [--no-restart]

  --force       issue a new CA and certificate even if the current one is good
  --no-restart  do not restart deployment/${DEPLOYMENT} after a new certificate

Environment (defaults in brackets): NAMESPACE [${NAMESPACE}], SERVICE [${SERVICE}],
SECRET [${SECRET}], DEPLOYMENT [${DEPLOYMENT}],
WEBHOOK_CONFIGURATION [${WEBHOOK_CONFIGURATION}], APISERVICES [space-separated],
RESOURCE_METRICS_APISERVICES [space-separated, patched only when they point at SERVICE],
CA_DAYS [${CA_DAYS}], CERT_DAYS [${CERT_DAYS}], RENEW_DAYS [${RENEW_DAYS}], KUBECTL [${KUBECTL}].
EOF
}

force=0
restart=1
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --no-restart) restart=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

for tool in openssl "$KUBECTL"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required" >&2; exit 1; }
done

log() { printf '%s\n' "$*" >&2; }
kc() { "$KUBECTL" "$@"; }
# openssl's base64 behaves the same on Linux and macOS (base64 -d / -D differ).
b64encode() { openssl base64 -A; }
b64decode() { openssl base64 -d -A; }

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
umask 077

host="${SERVICE}.${NAMESPACE}.svc"

# Fails fast, before any change, when the objects to patch are missing.
for name in $APISERVICES; do
  kc get apiservice "$name" -o name >/dev/null || {
    log "APIService $name not found: apply deploy/kustomize/self-signed first"
    exit 1
  }
done
for name in $RESOURCE_METRICS_APISERVICES; do
  owner="$(kc get apiservice "$name" -o 'jsonpath={.spec.service.namespace}/{.spec.service.name}' 2>/dev/null || true)"
  if [ "$owner" = "${NAMESPACE}/${SERVICE}" ]; then
    APISERVICES="$APISERVICES $name"
  elif [ -n "$owner" ] && [ "$owner" != "/" ]; then
    log "leaving apiservice/$name alone: it points at service $owner"
  fi
done
kc get mutatingwebhookconfiguration "$WEBHOOK_CONFIGURATION" -o name >/dev/null || {
  log "MutatingWebhookConfiguration $WEBHOOK_CONFIGURATION not found: apply deploy/kustomize/self-signed first"
  exit 1
}

secret_key() { # $1: data key, with dots escaped for jsonpath
  kc -n "$NAMESPACE" get secret "$SECRET" -o "jsonpath={.data.$1}" 2>/dev/null | b64decode
}

# Succeeds when dir $1 holds a certificate worth keeping.
usable() {
  local dir="$1"
  [ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ] && [ -s "$dir/ca.crt" ] || return 1
  openssl x509 -in "$dir/tls.crt" -noout -checkend $((RENEW_DAYS * 86400)) >/dev/null || return 1
  openssl x509 -in "$dir/tls.crt" -noout -text | grep -Eq "DNS:${host//./\\.}(,|\$)" || return 1
  openssl verify -CAfile "$dir/ca.crt" "$dir/tls.crt" >/dev/null 2>&1 || return 1
  [ "$(openssl x509 -in "$dir/tls.crt" -noout -pubkey | openssl sha256)" = \
    "$(openssl pkey -in "$dir/tls.key" -pubout | openssl sha256)" ]
}

mkdir -p "$workdir/current" "$workdir/new"
have_secret=0
if kc -n "$NAMESPACE" get secret "$SECRET" -o name >/dev/null 2>&1; then
  have_secret=1
  secret_key 'tls\.crt' >"$workdir/current/tls.crt" || true
  secret_key 'tls\.key' >"$workdir/current/tls.key" || true
  secret_key 'ca\.crt' >"$workdir/current/ca.crt" || true
fi

issued=0
if [ "$force" = 0 ] && [ "$have_secret" = 1 ] && usable "$workdir/current"; then
  log "keeping the certificate in secret ${NAMESPACE}/${SECRET}"
  cp "$workdir/current/ca.crt" "$workdir/bundle.crt"
else
  log "issuing a new CA and a serving certificate for ${host}"
  cat >"$workdir/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = ${SERVICE}-ca
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
  cat >"$workdir/server.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${host}
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:${host},DNS:${host}.cluster.local,DNS:${SERVICE}.${NAMESPACE},DNS:${SERVICE}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days "$CA_DAYS" \
    -config "$workdir/ca.cnf" -keyout "$workdir/new/ca.key" -out "$workdir/new/ca.crt" 2>/dev/null
  openssl req -new -nodes -newkey rsa:2048 -sha256 \
    -config "$workdir/server.cnf" -keyout "$workdir/new/tls.key" -out "$workdir/new/tls.csr" 2>/dev/null
  openssl x509 -req -sha256 -days "$CERT_DAYS" -in "$workdir/new/tls.csr" \
    -CA "$workdir/new/ca.crt" -CAkey "$workdir/new/ca.key" -CAcreateserial -CAserial "$workdir/new/ca.srl" \
    -extfile "$workdir/server.cnf" -extensions server -out "$workdir/new/tls.crt" 2>/dev/null
  usable "$workdir/new" || { log "the new certificate failed its own checks"; exit 1; }

  # Trust old and new CA until the pods serve the new certificate, so the
  # aggregator and the webhook client never see a certificate they reject.
  cp "$workdir/new/ca.crt" "$workdir/bundle.crt"
  if [ -s "$workdir/current/ca.crt" ] && openssl x509 -in "$workdir/current/ca.crt" -noout -checkend 0 >/dev/null 2>&1 \
    && ! cmp -s "$workdir/current/ca.crt" "$workdir/new/ca.crt"; then
    cat "$workdir/current/ca.crt" >>"$workdir/bundle.crt"
  fi
  issued=1
fi

bundle="$(b64encode <"$workdir/bundle.crt")"

# caBundle first, so the new CA is trusted before any pod serves the new
# certificate.
for name in $APISERVICES; do
  kc patch apiservice "$name" --type=merge \
    -p "{\"spec\":{\"caBundle\":\"${bundle}\",\"insecureSkipTLSVerify\":false}}" >/dev/null
  log "caBundle set on apiservice/${name}"
done
count="$(kc get mutatingwebhookconfiguration "$WEBHOOK_CONFIGURATION" -o 'jsonpath={range .webhooks[*]}x{end}')"
ops=""
for ((i = 0; i < ${#count}; i++)); do
  ops="${ops}${ops:+,}{\"op\":\"add\",\"path\":\"/webhooks/${i}/clientConfig/caBundle\",\"value\":\"${bundle}\"}"
done
if [ -n "$ops" ]; then
  kc patch mutatingwebhookconfiguration "$WEBHOOK_CONFIGURATION" --type=json -p "[${ops}]" >/dev/null
  log "caBundle set on mutatingwebhookconfiguration/${WEBHOOK_CONFIGURATION}"
fi

if [ "$issued" = 1 ]; then
  # Server-side apply: no last-applied-configuration annotation, which would
  # hold a second copy of the private key.
  kc -n "$NAMESPACE" create secret generic "$SECRET" --type=kubernetes.io/tls \
    --from-file=tls.crt="$workdir/new/tls.crt" \
    --from-file=tls.key="$workdir/new/tls.key" \
    --from-file=ca.crt="$workdir/new/ca.crt" \
    --dry-run=client -o yaml |
    kc apply --server-side --force-conflicts --field-manager=hpa-bridge-bootstrap-tls -f - >/dev/null
  log "secret ${NAMESPACE}/${SECRET} written"
  if [ "$restart" = 1 ] && kc -n "$NAMESPACE" get deployment "$DEPLOYMENT" -o name >/dev/null 2>&1; then
    kc -n "$NAMESPACE" rollout restart deployment "$DEPLOYMENT" >/dev/null
    log "deployment ${NAMESPACE}/${DEPLOYMENT} restarted to load the new certificate"
  fi
  if [ "$(grep -c 'BEGIN CERTIFICATE' "$workdir/bundle.crt")" -gt 1 ]; then
    log "the caBundle still trusts the previous CA: run this script again once the rollout is done"
  fi
fi
