#!/usr/bin/env bash
# Installs onnxruntime-node (pinned in package.json) into tools/onnxruntime/node_modules for the
# ONNX tests and tools/bench/predict_bench.sh. Test and benchmark only: flowrt never links it.
# `--ignore-scripts`: the package ships its Linux x64 engine (libonnxruntime.so) in the tarball;
# its install script would only fetch GPU providers. Idempotent (a no-op when the pinned version
# is there) and safe to run from concurrent tests (flock).
#   bash tools/onnxruntime/install.sh     # exit 0 when `node ort_run.js` can run
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WANT="$(sed -n 's/.*"onnxruntime-node": "\(.*\)".*/\1/p' "$HERE/package.json")"
installed() {
  [[ -f "$HERE/node_modules/onnxruntime-node/package.json" ]] &&
    grep -q "\"version\": \"$WANT\"" "$HERE/node_modules/onnxruntime-node/package.json"
}
command -v node >/dev/null 2>&1 || { echo "onnxruntime: node is not installed" >&2; exit 1; }
exec 9>"$HERE/.install.lock"
flock 9
if installed; then
  echo "[onnxruntime] onnxruntime-node $WANT present in $HERE/node_modules"
  exit 0
fi
echo "[onnxruntime] + npm install --ignore-scripts onnxruntime-node@$WANT (in $HERE)"
(cd "$HERE" && npm install --ignore-scripts --no-audit --no-fund --no-save --loglevel=warn)
installed || { echo "onnxruntime: npm did not install onnxruntime-node $WANT" >&2; exit 1; }
node -e "require('$HERE/node_modules/onnxruntime-node')" ||
  { echo "onnxruntime: onnxruntime-node $WANT does not load" >&2; exit 1; }
echo "[onnxruntime] installed onnxruntime-node $WANT"
