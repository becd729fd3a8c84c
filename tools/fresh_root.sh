#!/usr/bin/env bash
# Runs a command as root in a brand-new minimal Debian 12 root, on a clean clone of this
# checkout's HEAD: what a stranger's new machine has, and nothing a developer's machine kept from
# an earlier day. CI runs the suite this way (.ci/run), so a missing install step cannot hide.
#
#   bash tools/fresh_root.sh 'bash tools/test.sh'       # the whole suite, as CI runs it
#   bash tools/fresh_root.sh                            # the README's quick start
#   FLOWRT_FRESH_KEEP=1 bash tools/fresh_root.sh ...    # keep the root afterwards, to look inside
#
# What goes in from this machine, and nothing else:
#   - its package sources (/etc/apt/sources.list{,.d/*.sources,.d/*.list}) and apt's Acquire
#     settings (the apt.conf.d files that set Acquire::..., e.g. proxies or snapshot validity);
#   - its npm configuration (/etc/npmrc, /usr/etc/npmrc, ~/.npmrc) and CA certificates
#     (the bundle and /usr/local/share/ca-certificates), so both registries are reached the same way;
#   - /etc/resolv.conf, to resolve the registries' names.
# The clone is of HEAD: uncommitted changes are not in it. FLOWRT_* variables (but FLOWRT_FRESH_*)
# are passed to the command, e.g. FLOWRT_FUZZ_SECONDS; so is CI.
#
# Needs root, unshare and chroot (util-linux, coreutils) and git; installs mmdebstrap on first use.
# The pristine root (mmdebstrap --variant=minbase, ca-certificates included) is built once and
# kept as a tarball in $FLOWRT_FRESH_CACHE (default /var/tmp/flowrt-fresh-root); every run
# unpacks a new copy of it and removes the copy afterwards. FLOWRT_FRESH_REBUILD=1 builds it anew.
# Exit status: the command's (2 when the root cannot be made).
set -euo pipefail

REPO="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
CMD="${1:-bash tools/setup.sh && build/tools/flowrt train --job=lenet --data=data/mnist --epochs=1 --save=snapshots/lenet-\$(date +%Y%m%d-%H%M%S)}"
CACHE="${FLOWRT_FRESH_CACHE:-/var/tmp/flowrt-fresh-root}"
TARBALL="$CACHE/debian12-minbase.tar"

say() { echo "[fresh-root] $*"; }
die() { echo "[fresh-root] ERROR: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "needs root (mmdebstrap, unshare --mount and chroot)"
for tool in unshare chroot git; do command -v "$tool" >/dev/null || die "needs $tool"; done

sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [[ -s $f ]] && sources+=("$f")
done
[[ ${#sources[@]} -gt 0 ]] || die "this machine has no apt sources to copy"

started=$SECONDS
mkdir -p "$CACHE"
if [[ ! -s $TARBALL || ${FLOWRT_FRESH_REBUILD:-0} == 1 ]]; then
  if ! command -v mmdebstrap >/dev/null; then
    say "installing mmdebstrap on this machine"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  fi
  say "building a minimal Debian 12 root (mmdebstrap --variant=minbase)"
  # mmdebstrap reads the mirrors from the sources file itself (deb822 or one-line format).
  mmdebstrap --quiet --variant=minbase --include=ca-certificates --format=tar bookworm \
    "$TARBALL.partial" "${sources[0]}"
  mv -f "$TARBALL.partial" "$TARBALL"
fi

WORK="$(mktemp -d "$CACHE/run.XXXXXX")"
ROOTFS="$WORK/root"
cleanup() {
  if [[ ${FLOWRT_FRESH_KEEP:-0} == 1 ]]; then
    say "root kept at $ROOTFS"
  else
    rm -rf --one-file-system "$WORK"
  fi
}
trap cleanup EXIT
mkdir -p "$ROOTFS"
tar -C "$ROOTFS" -xf "$TARBALL"

# This machine's way to the registries, and nothing else of it.
rm -f "$ROOTFS"/etc/apt/sources.list "$ROOTFS"/etc/apt/sources.list.d/*
for f in "${sources[@]}"; do cp "$f" "$ROOTFS$f"; done
for f in /etc/apt/apt.conf.d/*; do
  [[ -f $f ]] && grep -q '^[[:space:]]*Acquire::' "$f" && cp "$f" "$ROOTFS/etc/apt/apt.conf.d/"
done
for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do
  [[ -f $f ]] && mkdir -p "$ROOTFS$(dirname "$f")" && cp "$f" "$ROOTFS$f"
done
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
if [[ -d /usr/local/share/ca-certificates ]]; then
  cp -r /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
fi
cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

# A clean clone of the commit under test.
head="$(git -C "$REPO" rev-parse HEAD)"
git clone --quiet --no-local --no-checkout "$REPO" "$ROOTFS/src/flowrt"
git -C "$ROOTFS/src/flowrt" checkout --quiet --detach "$head"
if [[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]]; then
  say "note: uncommitted changes in $REPO are not in the clone"
fi
say "root ready in $((SECONDS - started)) s; HEAD $(git -C "$REPO" log -1 --format='%h %s' | cut -c1-72)"

env_args=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
[[ -n ${CI:-} ]] && env_args+=("CI=$CI")
while IFS='=' read -r name _; do
  [[ $name == FLOWRT_* && $name != FLOWRT_FRESH_* ]] && env_args+=("$name=${!name}")
done < <(env)

say "\$ $CMD"
set +e
# A mount namespace of its own: /proc, /dev, /sys and a private /tmp for the root, all gone when
# the command ends, so nothing is left mounted on this machine.
unshare --mount --propagation private /bin/bash -c '
  set -e
  rootfs=$1; shift
  mount -t proc proc "$rootfs/proc"
  mount --rbind /dev "$rootfs/dev"
  mount --rbind /sys "$rootfs/sys"
  mount -t tmpfs tmpfs "$rootfs/tmp"
  exec chroot "$rootfs" /usr/bin/env -i "$@"
' _ "$ROOTFS" "${env_args[@]}" /bin/bash -c "cd /src/flowrt && $CMD" </dev/null
rc=$?
set -e
say "exit $rc after $((SECONDS - started)) s"
exit $rc
