#!/usr/bin/python3
"""Checkpoint benchmark: flowrt SaveSnapshot/GetSnapshot+Read next to raw disk bandwidth and
PyTorch's torch.save/torch.load, same model, same file system, same run.

    cmake -S . -B build-ckpt -G Ninja -DCMAKE_BUILD_TYPE=Release
    ninja -C build-ckpt -j2 checkpoint_bench
    /usr/bin/python3 tools/bench/checkpoint_bench.py --bench build-ckpt/tools/bench/checkpoint_bench \
        --dir /work/bench_tmp --sizes 100 1000 --repeats 3 --thp both

Every measurement runs in a fresh process (as a resuming run loads into fresh memory), per model
size and repeat: C++ `checkpoint_bench --mode=save` (raw write+fsync of one file of the model's
size, the same with each 8 MiB chunk's writeback started at once (sync_file_range, as the save
does), and one file per tensor; then SaveSnapshot), `--mode=load_warm` (GetSnapshot + Read of
every variable right after the save), `--mode=load_cold` (the same after
posix_fadvise(DONTNEED) on every file), then the same three with PyTorch (this script with
--torch_worker) on a dict of float32 tensors of the same names and shapes:
  - torch.save into an open file, then flush + os.fsync (flowrt's save fsyncs every file, so
    torch pays for durability too; without it torch.save would only be timed into the page cache);
  - torch.load warm and cold (same eviction as the C++ side).
Also the peak RSS growth during each save (VmHWM reset through /proc/self/clear_refs).
--thp both runs the set twice: with glibc's malloc defaults (what users get) and with
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 for both sides (transparent huge pages for malloc's large
chunks: flowrt's tensors already ask for them, runtime/tensor.cc AllocateAligned, so this mostly
speeds up torch, the peer at its best).
Prints `uptime` before and after, then a Markdown table of medians and the issue's targets.
MB = 10^6 bytes.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import torch


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def torch_worker(action, path, shapes, seed):
    """One measurement in this (fresh) process; prints a JSON line like the C++ side."""
    if action == "save":
        gen = torch.Generator().manual_seed(seed)
        model = {name: torch.rand(shape, generator=gen, dtype=torch.float32) * 4 - 2
                 for name, shape in shapes}
        nbytes = sum(t.numel() * t.element_size() for t in model.values())
        if os.path.exists(path):
            os.remove(path)
        rss_before = status_kb("VmRSS")
        reset_peak_rss()
        start = time.perf_counter()
        with open(path, "wb") as f:
            torch.save(model, f)
            f.flush()
            os.fsync(f.fileno())
        seconds = time.perf_counter() - start
        extra = (status_kb("VmHWM") - rss_before) / 1024.0
        print(json.dumps({"kind": "torch_save", "bytes": nbytes, "seconds": seconds,
                          "extra_peak_rss_mib": extra}))
    else:
        if action == "load_cold":
            evict(path)
        start = time.perf_counter()
        loaded = torch.load(path)
        seconds = time.perf_counter() - start
        nbytes = sum(t.numel() * t.element_size() for t in loaded.values())
        print(json.dumps({"kind": "torch_" + action, "bytes": nbytes, "seconds": seconds}))


def run(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def run_size(bench, directory, mb, repeats, env, cpp_env):
    keys = ("raw_write", "raw_write_srf", "raw_write_files", "save", "load_warm", "load_cold", "save_extra_mib", "torch_save",
            "torch_load_warm", "torch_load_cold", "torch_extra_mib", "save_cpu", "load_warm_cpu",
            "load_cold_cpu", "load_huge_mib")
    rows = {k: [] for k in keys}
    nbytes = None
    torch_path = os.path.join(directory, "torch_model.pt")
    me = os.path.abspath(__file__)
    for r in range(repeats):
        shapes = None
        for rec in run([bench, "--mode=save", f"--dir={directory}", f"--mb={mb}"], cpp_env):
            if rec["kind"] == "shapes":
                shapes, nbytes = rec["shapes"], rec["bytes"]
            else:
                rows[rec["kind"]].append(rec["seconds"])
                if rec["kind"] == "save":
                    rows["save_extra_mib"].append(rec["extra_peak_rss_mib"])
                    rows["save_cpu"].append(rec["cpu_seconds"])
        for mode in ("load_warm", "load_cold"):
            check = ["--check"] if r == 0 and mode == "load_warm" else []
            for rec in run([bench, f"--mode={mode}", f"--dir={directory}", f"--mb={mb}"] + check,
                           cpp_env):
                assert rec["bytes"] == nbytes
                rows[mode].append(rec["seconds"])
                rows[mode + "_cpu"].append(rec["cpu_seconds"])
                rows["load_huge_mib"].append(rec["anon_huge_mib"])
        shutil.rmtree(os.path.join(directory, "flowrt_snapshot"))
        for action in ("save", "load_warm", "load_cold"):
            for rec in run([sys.executable, me, "--torch_worker", action, "--dir", directory,
                            "--shapes", json.dumps(shapes), "--seed", str(r)], env):
                assert rec["bytes"] == nbytes, (rec, nbytes)
                rows[rec["kind"]].append(rec["seconds"])
                if rec["kind"] == "torch_save":
                    rows["torch_extra_mib"].append(rec["extra_peak_rss_mib"])
        os.remove(torch_path)
        print(f"# {mb} MiB repeat {r + 1}/{repeats}: " + ", ".join(
            f"{k}={v[-1]:.3f}" for k, v in rows.items() if v), file=sys.stderr, flush=True)
    return nbytes, rows


def table(results, title):
    print(f"\n{title}\n")
    print("| model | raw write+fsync: 1 file / 1 file + early writeback / 1 per tensor | "
          "flowrt save | torch.save+fsync | "
          "flowrt load warm | torch.load warm | flowrt load cold | torch.load cold | "
          "save extra RSS flowrt / torch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mb, (nbytes, rows) in results.items():
        med = {k: statistics.median(v) for k, v in rows.items()}
        rate = lambda k: nbytes / med[k] / 1e6
        raw = max(rate("raw_write"), rate("raw_write_srf"), rate("raw_write_files"))
        print(f"| {nbytes / 1e6:.0f} MB | {rate('raw_write'):.0f} / {rate('raw_write_srf'):.0f} / "
              f"{rate('raw_write_files'):.0f} MB/s | "
              f"{rate('save'):.0f} MB/s ({rate('save') / raw:.2f}x raw) | "
              f"{rate('torch_save'):.0f} MB/s | "
              f"{rate('load_warm'):.0f} MB/s ({rate('load_warm') / rate('torch_load_warm'):.2f}x "
              f"torch) | {rate('torch_load_warm'):.0f} MB/s | "
              f"{rate('load_cold'):.0f} MB/s ({rate('load_cold') / rate('torch_load_cold'):.2f}x "
              f"torch) | {rate('torch_load_cold'):.0f} MB/s | "
              f"{max(rows['save_extra_mib']):.1f} / {max(rows['torch_extra_mib']):.1f} MiB |")
        spread = {k: (min(v), max(v)) for k, v in rows.items()
                  if not k.endswith("_mib") and not k.endswith("_cpu")}
        print("|  | seconds min-max: " + ", ".join(
            f"{k} {lo:.2f}-{hi:.2f}" for k, (lo, hi) in spread.items()) +
              f"; flowrt CPU s (median): save {med['save_cpu']:.3f}, load warm "
              f"{med['load_warm_cpu']:.3f}, load cold {med['load_cold_cpu']:.3f}; "
              f"loaded tensors on 2 MiB pages: {min(rows['load_huge_mib'])}-"
              f"{max(rows['load_huge_mib'])} MiB | | | | | | | |")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", default=os.path.join(root, "build-ckpt", "tools", "bench",
                                                        "checkpoint_bench"))
    parser.add_argument("--dir", default=os.path.join(root, "build-ckpt", "bench_tmp"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000],
                        help="model sizes in MiB of weights (8 x (mb*32, 1024) float32 + biases)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the raw timings here")
    parser.add_argument("--thp", choices=["off", "on", "both"], default="both",
                        help="run with glibc's default malloc, with "
                             "GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (transparent huge pages for "
                             "large allocations, both sides), or both")
    parser.add_argument("--torch_worker", help=argparse.SUPPRESS)
    parser.add_argument("--shapes", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.torch_worker:
        torch_worker(args.torch_worker, os.path.join(args.dir, "torch_model.pt"),
                     json.loads(args.shapes), args.seed)
        return
    os.makedirs(args.dir, exist_ok=True)

    variants = {"off": [("glibc malloc defaults", {})],
                "on": [("GLIBC_TUNABLES=glibc.malloc.hugetlb=1", {"GLIBC_TUNABLES":
                                                                  "glibc.malloc.hugetlb=1"})]}
    variants["both"] = variants["off"] + variants["on"]
    uptime_start = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime before: {uptime_start}", file=sys.stderr, flush=True)
    all_results = {}
    for title, extra_env in variants[args.thp]:
        env = dict(os.environ, **extra_env)
        print(f"## {title}", file=sys.stderr, flush=True)
        results = {mb: run_size(args.bench, args.dir, mb, args.repeats, env, env)
                   for mb in args.sizes}
        all_results[title] = results
    if args.json:
        with open(args.json, "w") as f:
            json.dump({t: {str(k): {"bytes": v[0], **v[1]} for k, v in res.items()}
                       for t, res in all_results.items()}, f, indent=1)
    uptime_end = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime before: {uptime_start}\nuptime after:  {uptime_end}")
    print(f"kernel {os.uname().release}, torch {torch.__version__}, dir {args.dir}, "
          f"median of {args.repeats}, MB = 10^6 B, every measurement in a fresh process")
    for title, results in all_results.items():
        table(results, title)
    print("\nTargets: save >= 0.8x raw (the fastest of the three raw baselines); "
          "load >= 2x torch.load; save extra RSS <= 64 MiB (max over repeats).")


if __name__ == "__main__":
    main()
