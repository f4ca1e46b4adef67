#!/usr/bin/env bash
# Tools the test suite drives (Debian packages): headless Chromium for browser tests,
# promtool for alert rules and metrics, docker-compose to validate the compose file, and
# kustomize (built with Go from the module proxy into state/bin) for the Kubernetes files.
# Installs what is missing when root (or sudo) is available.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ ! -x "$root/state/bin/kustomize" ]; then
  echo "tools: building kustomize v5.5.0 into state/bin" >&2
  mkdir -p "$root/state/bin"
  (cd /tmp && GOBIN="$root/state/bin" GOFLAGS=-mod=mod go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0) \
    || { echo "tools: could not build kustomize (needs Go and the module proxy)" >&2; exit 1; }
fi
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v promtool >/dev/null || need+=(prometheus)
command -v docker-compose >/dev/null || need+=(docker-compose)
# CJK glyphs, so screenshots of the Chinese survey form and dashboard are legible.
[ -d /usr/share/fonts/truetype/wqy ] || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then run=(); elif command -v sudo >/dev/null; then run=(sudo); else
  echo "tools: missing ${need[*]}; install them with apt-get (needs root)" >&2; exit 1; fi
echo "tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
  "${run[@]}" apt-get update -qq && "${run[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
