#!/usr/bin/env bash
# One data-parallel test case (CTest label "mpi", tests/CMakeLists.txt): runs flowrt under
# Open MPI's mpirun on loopback, as root in CI, and checks it against a one-process run.
#
#   bash tests/mpi/mpi_case.sh CASE FLOWRT_BINARY MLP_PROGRAM
#
# Cases: lenet_np2 lenet_np3 mlp_np2 mlp_np3 resume load refuse_batch refuse_flags refuse_job
#        save_failure kill_step kill_save
set -euo pipefail
CASE=$1 FLOWRT=$2 PROGRAM=$3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flowrt-mpi-$CASE.XXXXXX")
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$WORK"' EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
python3 "$HERE/make_synthetic_mnist.py" "$WORK/data"

# Every rank a single thread; loopback only (shared memory between local ranks, TCP on lo).
MPIRUN=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
        mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
# LeNet with dropout 0.5 and momentum 0.9 at global batch 120 (1200 synthetic examples: one
# epoch is 10 steps), lr 0.02. Runs at different rank counts sum the gradient in different orders,
# so they agree only to float rounding (2e-8 to 4e-8 after one step), and training amplifies that:
# as soon as a ReLU input or a max-pool pair lies within the rounding of a tie, one run takes the
# other branch and the weights part by 1e-6 at that step and by 1e-4 to 1e-2 a few steps later.
# When that happens is luck. One process against 2 ranks on AVX-512 (AMD EPYC Zen 5), max |a-b|
# after 2 and 5 steps, for this data (seed 13) and seeds 1-3 of the same generator:
#   summing conv2's weight gradient as oneDNN's one primitive (before 2026-12-04):
#     4.5e-8, 9.7e-8 | 3.7e-8, 9.7e-8 | 4.5e-8, 7.0e-4 | 4.1e-8, 5.3e-4
#   in 16 chunks of images (ops/conv2d.cc):
#     2.7e-6, 1.3e-3 | 3.0e-8, 7.5e-8 | 3.0e-8, 2.8e-4 | 3.0e-8, 1.4e-6
# So runs at different rank counts are compared over 2 steps (the second runs the momentum and the
# step counter from the first; one flip moves the weights by less than 1e-5), and a resumed run
# against an uninterrupted run at the same rank count, which must give the same bits at any
# length (kill_save).
TRAIN=(train --job=lenet --data="$WORK/data" --batch_size=120 --momentum=0.9 --dropout=0.5
       --lr=0.02 --threads=1 --log_every=0 --metrics=none --quiet)

fail() { echo "FAIL ($CASE): $*" >&2; exit 1; }

# Two snapshots hold the same variables, every value within 1e-5 (summation order only).
same_weights() {
  local out
  out=$("$FLOWRT" ckpt diff "$1" "$2" || true)
  echo "$out" | awk -v a="$1" -v b="$2" '
    /^identical$/ || /differences$/ { next }
    /^changed values:/ { if ($NF + 0 > 1e-5) { print "over 1e-5: " $0; bad = 1 } ; next }
    { print "structural difference: " $0; bad = 1 }
    END { exit bad }' || fail "$1 and $2 differ:"$'\n'"$out"
  echo "$1 ~ $2: $(echo "$out" | awk '/^changed values:/ { if ($NF + 0 > m) m = $NF + 0 } END { printf "max |a-b| = %g", m + 0 }')"
}

# Two snapshots hold the same variables with the same bits.
identical_weights() {
  local out
  out=$("$FLOWRT" ckpt diff "$1" "$2" || true)
  [[ $out == identical ]] || fail "$1 and $2 differ:"$'\n'"$out"
  echo "$1 = $2: identical"
}

# Runs "$@" expecting failure within 60 s; the output must hold $want once per rank ($ranks).
expect_refusal() {
  local ranks=$1 want=$2 rc=0
  shift 2
  timeout 60 "$@" >"$WORK/out.txt" 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || fail "expected a refusal, got exit 0"
  [[ $rc -ne 124 ]] || fail "hung (killed by timeout after 60 s)"
  local n
  n=$(grep -o -F -- "$want" "$WORK/out.txt" | wc -l)  # ranks' lines may interleave
  [[ $n -eq $ranks ]] || { cat "$WORK/out.txt"; fail "'$want' printed $n times, expected $ranks"; }
  echo "refused on all $ranks ranks: $(grep -m1 -F -- "$want" "$WORK/out.txt")"
}

# Starts `mpirun -np 2 flowrt ...` in the background; each rank writes its pid to $WORK/pid.<rank>
# (bash execs flowrt, so the pid is the rank's), and waits until both have.
start_two_ranks() {
  "${MPIRUN[@]}" -np 2 bash -c 'echo $$ > "$0/pid.$OMPI_COMM_WORLD_RANK"; exec "$@"' "$WORK" \
    "$FLOWRT" "$@" >"$WORK/run.txt" 2>&1 &
  MPIRUN_PID=$!
  for _ in $(seq 300); do [[ -s "$WORK/pid.0" && -s "$WORK/pid.1" ]] && return; sleep 0.1; done
  fail "the ranks did not start within 30 s"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Waits for the background mpirun to end after a SIGKILL: non-zero, within 10 s, no survivor.
expect_whole_job_ends() {
  local killed_at=$1 rc=0
  for _ in $(seq 100); do kill -0 "$MPIRUN_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$MPIRUN_PID" 2>/dev/null; then
    kill -9 "$MPIRUN_PID" || true
    fail "mpirun still running 10 s after the kill"
  fi
  wait "$MPIRUN_PID" || rc=$?
  local took=$(( $(date +%s%N) / 1000000 - killed_at ))
  [[ $rc -ne 0 ]] || fail "mpirun exited 0 after a rank was killed"
  local f state
  for f in "$WORK"/pid.*; do  # a dead rank may linger as a zombie (Z) until init reaps it
    state=$(awk '{ print $3 }' "/proc/$(cat "$f")/stat" 2>/dev/null || true)
    if [[ -n $state && $state != Z ]]; then fail "rank pid $(cat "$f") survived (state $state)"; fi
  done
  echo "whole job ended (exit $rc) ${took} ms after the SIGKILL; no rank survived"
}

case "$CASE" in
  lenet_np2 | lenet_np3)
    np=${CASE#lenet_np}
    "$FLOWRT" "${TRAIN[@]}" --steps=2 --save="$WORK/one"
    "${MPIRUN[@]}" -np "$np" "$FLOWRT" "${TRAIN[@]}" --steps=2 --save="$WORK/dp"
    same_weights "$WORK/one" "$WORK/dp"
    ;;
  mlp_np2 | mlp_np3)
    np=${CASE#mlp_np}
    "$PROGRAM" "$WORK/one"
    "${MPIRUN[@]}" -np "$np" "$PROGRAM" "$WORK/dp"
    same_weights "$WORK/one" "$WORK/dp"
    ;;
  resume)  # 1 step at 2 ranks, then --resume at 1 and at 3 ranks: as 2 uninterrupted steps
    "$FLOWRT" "${TRAIN[@]}" --steps=2 --save="$WORK/one"
    "${MPIRUN[@]}" -np 2 "$FLOWRT" "${TRAIN[@]}" --steps=1 --snapshot_root="$WORK/root2"
    compgen -G "$WORK/root2/snapshot_*1/snapshot_done" >/dev/null || fail "no snapshot at step 1"
    cp -r "$WORK/root2" "$WORK/root1" && cp -r "$WORK/root2" "$WORK/root3"
    "$FLOWRT" "${TRAIN[@]}" --steps=2 --resume --snapshot_root="$WORK/root1" --save="$WORK/r1"
    "${MPIRUN[@]}" -np 3 "$FLOWRT" "${TRAIN[@]}" --steps=2 --resume \
      --snapshot_root="$WORK/root3" --save="$WORK/r3"
    same_weights "$WORK/one" "$WORK/r1"
    same_weights "$WORK/one" "$WORK/r3"
    ;;
  load)  # --load across rank counts: 1 step at 1 → 1 more at 3; 1 at 3 → 1 more at 2
    "$FLOWRT" "${TRAIN[@]}" --steps=2 --save="$WORK/one"
    "$FLOWRT" "${TRAIN[@]}" --steps=1 --save="$WORK/l1"
    "${MPIRUN[@]}" -np 3 "$FLOWRT" "${TRAIN[@]}" --steps=1 --load="$WORK/l1" --save="$WORK/l13"
    "${MPIRUN[@]}" -np 3 "$FLOWRT" "${TRAIN[@]}" --steps=1 --save="$WORK/l3"
    "${MPIRUN[@]}" -np 2 "$FLOWRT" "${TRAIN[@]}" --steps=1 --load="$WORK/l3" --save="$WORK/l32"
    same_weights "$WORK/one" "$WORK/l13"
    same_weights "$WORK/one" "$WORK/l32"
    ;;
  refuse_batch)
    expect_refusal 2 "cannot split evenly" \
      "${MPIRUN[@]}" -np 2 "$FLOWRT" "${TRAIN[@]}" --steps=1 --batch_size=121
    ;;
  refuse_flags)  # MPMD: the two ranks get different --lr
    expect_refusal 2 "the train flags on rank(s) 1 differs from rank 0's" \
      "${MPIRUN[@]}" -np 1 "$FLOWRT" "${TRAIN[@]}" --steps=1 --lr=0.1 \
      : -np 1 "$FLOWRT" "${TRAIN[@]}" --steps=1 --lr=0.05
    ;;
  refuse_job)  # the same program, but rank 1 builds a wider layer: the compiled jobs differ
    expect_refusal 2 "the compiled job 'train_job' on rank(s) 1 differs" \
      "${MPIRUN[@]}" -np 1 "$PROGRAM" "$WORK/a" 64 : -np 1 "$PROGRAM" "$WORK/b" 32
    ;;
  save_failure)  # rank 0 cannot write the snapshot: every rank fails with its message
    touch "$WORK/file"
    expect_refusal 2 "rank 0 of 2: cannot save snapshot $WORK/file/snapshot" \
      "${MPIRUN[@]}" -np 2 "$FLOWRT" "${TRAIN[@]}" --steps=2 --save="$WORK/file/snapshot"
    ;;
  kill_step)  # SIGKILL rank 1 mid-training: the whole job ends, non-zero, within 10 s
    start_two_ranks "${TRAIN[@]}" --steps=100000
    sleep 3  # compiled and training (a kill during start-up must end the job as well)
    kill -9 "$(cat "$WORK/pid.1")"
    expect_whole_job_ends "$(now_ms)"
    ;;
  kill_save)  # SIGKILL rank 0, the writer, while it snapshots every step; then --resume
    start_two_ranks "${TRAIN[@]}" --steps=100000 --snapshot_root="$WORK/root" --snapshot_every=1
    for _ in $(seq 600); do compgen -G "$WORK/root/snapshot_*/snapshot_done" >/dev/null && break; sleep 0.1; done
    sleep "0.$((RANDOM % 10))"
    kill -9 "$(cat "$WORK/pid.0")"
    expect_whole_job_ends "$(now_ms)"
    # Every visible snapshot is complete and sound; a half-written one stays hidden (.tmp).
    for snap in "$WORK"/root/snapshot_*; do
      [[ -f "$snap/snapshot_done" ]] || fail "$snap is visible but not committed"
      "$FLOWRT" ckpt verify "$snap" >/dev/null || fail "$snap does not verify"
    done
    latest=$(ls -d "$WORK"/root/snapshot_* | sort | tail -n 1)
    step=$((10#${latest##*_}))
    echo "killed after the snapshot at step $step"
    "${MPIRUN[@]}" -np 2 "$FLOWRT" "${TRAIN[@]}" --steps=$((step + 2)) --resume \
      --snapshot_root="$WORK/root" --save="$WORK/resumed"
    "${MPIRUN[@]}" -np 2 "$FLOWRT" "${TRAIN[@]}" --steps=$((step + 2)) --save="$WORK/straight"
    identical_weights "$WORK/straight" "$WORK/resumed"
    ;;
  *) fail "unknown case" ;;
esac
echo "PASS ($CASE)"
