#!/usr/bin/env bash
# InstallTest.OutOfTreeBuild: `cmake --install` the build tree into a temp prefix, configure and
# build tests/install/app against it with find_package(flowrt CONFIG), run one training step.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$1
source_dir=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowrt_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log"
test -f "$tmp/prefix/lib/cmake/flowrt/flowrtConfig.cmake"
test -f "$tmp/prefix/lib/cmake/flowrt/flowrtConfigVersion.cmake"
test -f "$tmp/prefix/include/flowrt/graph/flow.h"
test -f "$tmp/prefix/include/flowrt/proto/job.pb.h"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$source_dir/tests/install/app" -B "$tmp/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" -j2 >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
out=$("$tmp/build/mlp_app" "$tmp/mlp_models_1")
echo "$out"
[[ "$out" == ok\ loss=* ]]
test -f "$tmp/mlp_models_1/snapshot_done"
echo "InstallTest.OutOfTreeBuild: passed"
