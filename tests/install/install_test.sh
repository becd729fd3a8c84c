#!/usr/bin/env bash
# InstallTest.OutOfTreeBuild — what a user of an installed flowrt gets:
#  1. `cmake --install` the build tree into a temp prefix: libflowrt.so, bin/flowrt, the config
#     files and the public headers only (no generated *.pb.h, no internal headers).
#  2. The public headers leak neither protobuf nor oneDNN: all installed headers, and the README
#     program, compile with -nostdinc and a copy of /usr/include that lacks google/ (protobuf),
#     onnx/ (ONNX's schema, private to libflowrt_onnx.so),
#     oneapi/ and dnnl*.h (oneDNN). The script first checks that this include path really cannot
#     reach those headers, so a leak coming back fails here. The programs of examples/ compile
#     there too, so they use the installed API only. A program defining glog- and absl-style
#     CHECK / RETURN_IF_ERROR macros around the public headers compiles with -Werror.
#  3. The README's "Writing a job in C++" program — extracted from README.md, not copied — builds
#     with find_package(flowrt CONFIG) against the prefix (tests/install/app/CMakeLists.txt).
#     Without data it must fail telling the user to run `bash tools/setup.sh`; with data/mnist
#     (fetched by tools/setup.sh) it trains its epoch and writes ./mlp_models_1, which the
#     installed `flowrt ckpt verify` then accepts.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$1
source_dir=$(cd "$2" && pwd)
cxx=${CXX:-c++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowrt_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# ---- 1. install ----
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log"
test -f "$prefix/lib/cmake/flowrt/flowrtConfig.cmake"
test -f "$prefix/lib/cmake/flowrt/flowrtConfigVersion.cmake"
test -f "$prefix/include/flowrt/graph/flow.h"
test -x "$prefix/bin/flowrt"
test -f "$prefix/include/flowrt/deploy/onnx_export.h"
test -f "$prefix/lib/libflowrt_onnx.so"  # flow::export_onnx; ONNX's schema stays inside it
if find "$prefix/include" -name '*.pb.h' | grep -q .; then
  echo "generated protobuf headers were installed:"; find "$prefix/include" -name '*.pb.h'; exit 1
fi

# ---- 2. no protobuf / oneDNN behind the public headers ----
sysinclude=$tmp/usr-include
mkdir "$sysinclude"
for entry in /usr/include/*; do
  case ${entry##*/} in google | oneapi | dnnl* | onnx) continue ;; esac
  ln -s "$entry" "$sysinclude/"
done
# The compiler's own search path, with /usr/include swapped for the filtered copy.
sandbox=(-std=c++20 -fsyntax-only -nostdinc)
while read -r dir; do
  case $dir in
    /usr/include) sandbox+=(-isystem "$sysinclude") ;;
    /usr/local/include) ;;
    *) sandbox+=(-isystem "$dir") ;;
  esac
done < <(echo | "$cxx" -x c++ -E -v - 2>&1 | sed -n '/<...> search starts here:/,/End of search/p' |
  grep '^ ')
for leak in '<google/protobuf/message.h>' '"oneapi/dnnl/dnnl.hpp"' '<dnnl.hpp>' \
  '<onnx/onnx_pb.h>'; do
  if echo "#include $leak" | "$cxx" "${sandbox[@]}" -x c++ - 2>/dev/null; then
    echo "the sandbox include path still reaches $leak: this check would prove nothing"; exit 1
  fi
done
(cd "$prefix/include/flowrt" && find . -name '*.h' | sed 's|^\./||' | sort) >"$tmp/headers.txt"
echo "installed headers: $(tr '\n' ' ' <"$tmp/headers.txt")"
sed 's|.*|#include "&"|' "$tmp/headers.txt" >"$tmp/all_headers.cc"
"$cxx" "${sandbox[@]}" -I"$prefix/include/flowrt" "$tmp/all_headers.cc" ||
  { echo "an installed header needs protobuf, oneDNN or an uninstalled flowrt header"; exit 1; }
for example in "$source_dir"/examples/*.cc; do
  "$cxx" "${sandbox[@]}" -I"$prefix/include/flowrt" "$example" ||
    { echo "${example#"$source_dir"/} needs protobuf, oneDNN or an uninstalled header"; exit 1; }
done

# The public headers define no unprefixed macro: a program that has glog-style CHECK macros
# before the flowrt headers and absl-log-style ones after them compiles with -Werror (a clash is a
# "redefined" warning, or worse, flowrt's CHECK silently used in the user's code).
cat >"$tmp/macro_clash.cc" <<'PROGRAM'
#include <cstdlib>
// glog style, defined before the flowrt headers
#define CHECK(condition) (condition) ? (void)0 : std::abort()
#define CHECK_EQ(a, b) CHECK((a) == (b))
#define RETURN_IF_ERROR(expr) if (!(expr).ok()) return (expr)
#include "graph/flow.h"
#include "graph/checkpoint.h"
#include "data/mnist.h"
// absl/log/check.h style, defined after them
#define CHECK_OK(status) CHECK((status).ok())
#define CHECK_NE(a, b) CHECK((a) != (b))
#define ASSIGN_OR_RETURN(lhs, expr) lhs = *(expr)
absl::Status UsesTheUsersMacros(int x) {
  CHECK_EQ(x, 1);
  CHECK_NE(x, 2);
  CHECK_OK(absl::OkStatus());
  RETURN_IF_ERROR(absl::OkStatus());
  ASSIGN_OR_RETURN(int y, absl::StatusOr<int>(x));
  return y == 1 ? absl::OkStatus() : absl::InternalError("y");
}
PROGRAM
"$cxx" "${sandbox[@]}" -Werror -I"$prefix/include/flowrt" "$tmp/macro_clash.cc" ||
  { echo "the public headers define macros that clash with glog's / absl's CHECK"; exit 1; }

# ---- 3. the README's MLP against the installed package ----
mkdir "$tmp/app"
cp "$source_dir/tests/install/app/CMakeLists.txt" "$tmp/app/"
awk '/^## Writing a job in C\+\+/ { section = 1 }
     section == 1 && /^```cpp/ { section = 2; next }
     section == 2 && /^```/ { exit }
     section == 2 { print }' "$source_dir/README.md" >"$tmp/app/mlp_app.cc"
grep -q 'int main' "$tmp/app/mlp_app.cc" ||
  { echo "no complete C++ program under README.md's 'Writing a job in C++'"; exit 1; }
"$cxx" "${sandbox[@]}" -I"$prefix/include/flowrt" "$tmp/app/mlp_app.cc" ||
  { echo "the README program needs protobuf or oneDNN headers"; exit 1; }
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$tmp/app" -B "$tmp/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" -j2 >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }

mkdir "$tmp/no-data"
if (cd "$tmp/no-data" && "$tmp/build/mlp_app") >"$tmp/no-data.log" 2>&1; then
  echo "the README program succeeded without data/mnist"; exit 1
fi
grep -q 'bash tools/setup.sh' "$tmp/no-data.log" ||
  { echo "without data the README program does not say how to fetch it:"; cat "$tmp/no-data.log"; exit 1; }

if [[ -f $source_dir/data/mnist/train-images-idx3-ubyte ]]; then
  mkdir -p "$tmp/run/data"
  ln -s "$source_dir/data/mnist" "$tmp/run/data/mnist"
  (cd "$tmp/run" && "$tmp/build/mlp_app") >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; exit 1; }
  tail -n 3 "$tmp/run.log"
  grep -q '^step 580 ' "$tmp/run.log" || { echo "no 'step 580' line:"; cat "$tmp/run.log"; exit 1; }
  "$prefix/bin/flowrt" ckpt verify "$tmp/run/mlp_models_1"
else
  echo "data/mnist absent (bash tools/setup.sh fetches it): built the README program, not run it"
  # The installed CLI runs (finds libflowrt.so) and refuses a directory that is no snapshot.
  out=$("$prefix/bin/flowrt" ckpt verify "$tmp/no-data" 2>&1) && exit 1
  grep -q "$tmp/no-data" <<<"$out" || { echo "bin/flowrt: $out"; exit 1; }
fi
echo "InstallTest.OutOfTreeBuild: passed"
