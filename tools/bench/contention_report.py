#!/usr/bin/python3
"""Turns a tools/bench/contention.sh log into RESULTS.md's issue-15 section.

Usage: /usr/bin/python3 tools/bench/contention_report.py --log=build/contention_*.log \
           [--out=tools/bench/RESULTS.md] [--command="tools/bench/contention.sh"]

Per step row (model, framework, threads) and hog state: the median over every timed step of every
round, the spread (lowest and highest per-round median), % of the FMA peak (report.py's FLOP
count; peak = threads x the 1-thread probe's per-core GFLOP/s), hog / quiet and flowrt / PyTorch
at the same threads. The start-up rows: median ms from exec to the end of the first step and its
parts. Then issue 15's targets, each met or missed with its distance: LeNet >= 85% of the FMA peak
at 1 thread and >= 80% at 2 (quiet); with the hog, flowrt's 2-thread step no slower than its
1-thread step and at most 1.5x its quiet 2-thread step; the MLP at 2 threads never slower than at
1. Last, flowrt's per-op profile of LeNet (the "profile" a missed target is reported with).
"""
import argparse
import collections
import datetime
import statistics

import report

BEGIN = "<!-- contention: begin (tools/bench/contention_report.py rewrites this section) -->"
END = "<!-- contention: end -->"

STEP_ROWS = (("flowrt", 1), ("flowrt", 2), ("flowrt (adaptive)", 2), ("flowrt (bound)", 2),
             ("flowrt (bound, adaptive)", 2), ("flowrt (passive)", 2), ("pytorch", 1),
             ("pytorch", 2))
# contention.sh's variants of flowrt's 2-thread row, as the tables name them.
VARIANTS = {"passive": "passive", "adaptive": "adaptive", "bound": "bound",
            "bound_adaptive": "bound, adaptive"}
# Start-up parts: (RESULT key, column title). PyTorch's init_ms includes `import numpy, torch`.
STARTUP_PARTS = (("init_ms", "exec → main (loader; Python: + imports)"), ("load_ms", "load MNIST"),
                 ("load_cpu_ms", "load CPU"), ("compile_ms", "build + compile"),
                 ("first_step_ms", "first step"))


def startup_section(results):
    runs = collections.defaultdict(list)  # (model, framework) -> RESULT dicts
    for r in results:
        if r.get("mode") == "startup":
            runs[(r["model"], r["framework"])].append(r)
    if not runs:
        return []

    def med(rs, key):
        return statistics.median(float(r[key]) for r in rs)

    lines = ["### Start-up: process start to the end of the first training step\n"]
    lines.append("`--mode=startup`, quiet, %s thread(s): from the exec (stamped by the script "
                 "with bash's `$EPOCHREALTIME` just before it; `start=` in the log) through the "
                 "dynamic loader (and for PyTorch the interpreter and `import numpy, torch`), "
                 "reading both MNIST splits into float tensors (flowrt: `load_mnist`; PyTorch: "
                 "`np.frombuffer(...).astype(np.float32) / 255`), building and compiling the "
                 "train job (PyTorch: the model and optimizer), to the end of one step on the first "
                 "batch of 100. Median over rounds, ms; spread = lowest–highest run.\n" %
                 ", ".join(sorted({r["threads"] for rs in runs.values() for r in rs})))
    lines.append("| model | framework | total ms | spread | " +
                 " | ".join(title for _, title in STARTUP_PARTS) + " | peak RSS MB | runs |")
    lines.append("|---|---|---|---|" + "---|" * len(STARTUP_PARTS) + "---|---|")
    totals = {}
    for (model, fw), rs in sorted(runs.items()):
        totals[(model, fw)] = med(rs, "total_ms")
        lines.append("| %s | %s | **%.0f** | %.0f–%.0f | %s | %.0f | %d |" % (
            model, fw, totals[(model, fw)], min(float(r["total_ms"]) for r in rs),
            max(float(r["total_ms"]) for r in rs),
            " | ".join("%.1f" % med(rs, key) for key, _ in STARTUP_PARTS),
            max(float(r["peak_rss_mb"]) for r in rs), len(rs)))
    lines.append("")
    for model in ("lenet", "mlp"):
        f, t = totals.get((model, "flowrt")), totals.get((model, "pytorch"))
        if f and t:
            lines.append("- %s: start-up flowrt / PyTorch = **%s** (PyTorch / flowrt = %.2f)." %
                         (model, report.fmt_ratio(f, t), t / f))
    return lines + [""]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--log", required=True)
    p.add_argument("--out", default="tools/bench/RESULTS.md")
    p.add_argument("--command", default="tools/bench/contention.sh")
    args = p.parse_args()
    results, extra, profile = report.parse(args.log)
    probe = [r for r in results if r.get("mode") == "probe"]
    per_core = max(float(r["core_gflops"]) for r in probe)
    isa = probe[0].get("dnnl_isa", "?")
    cpu = extra.get("MACHINE", ["cpu=?"])[0].split("|")[0].replace("cpu=", "").strip()

    rounds = collections.defaultdict(lambda: collections.defaultdict(list))  # key -> round -> ms
    cpu_ms = collections.defaultdict(list)
    loads = collections.defaultdict(list)
    for r in results:
        if r.get("mode") != "step":
            continue
        variant = r.get("variant", "-")
        fw = r["framework"] + (" (%s)" % VARIANTS[variant] if variant in VARIANTS else "")
        key = (r["model"], fw, int(r["threads"]), r["hog"])
        rounds[key][r["round"]] += [float(t) for t in r["times_ms"].split(",") if t]
        cpu_ms[key].append(float(r.get("cpu_ms_per_step", 0)))
        loads[key].append(float(r["load"]))

    def median(key):
        return statistics.median(t for ts in rounds[key].values() for t in ts) if key in rounds else 0

    def spread(key):
        meds = [statistics.median(ts) for ts in rounds[key].values()]
        return "%.2f–%.2f" % (min(meds), max(meds)) if meds else "-"

    def peak_share(model, threads, ms):  # fraction of the FMA peak of `threads` cores
        return report.train_flops(model, 100) / 1e9 / (ms / 1e3) / (per_core * threads) if ms else 0

    def pct(model, threads, ms):
        return "%.0f%%" % (100 * peak_share(model, threads, ms)) if ms else "-"

    lines = ["## Issue 15: training step under contention, FMA roofline, start-up\n"]
    lines.append("Generated by `tools/bench/contention_report.py` from one `tools/bench/contention.sh` "
                 "run on %s. Do not edit by hand.\n" %
                 datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    lines.append("- CPU: **%s**; oneDNN ISA: **`%s`**; FMA peak probe: **%.1f GFLOP/s per core** "
                 "(`train_step_bench --mode=probe`, FLOPs per CPU second of a probe thread); "
                 "%% peak = FLOPs per step / (median ms × threads × that)." % (cpu, isa, per_core))
    for key in ("MACHINE", "SOFTWARE", "UPTIME_START", "UPTIME_END"):
        for v in extra.get(key, []):
            lines.append("- %s: `%s`" % (key.lower(), v))
    lines.append("")
    if rounds:
        lines.append("### Training step, quiet and beside a CPU hog\n")
        lines.append("flowrt's rows run with its own OpenMP wait policy (a bounded spin, "
                     "`GOMP_SPINCOUNT=1000`, runtime/openmp_wait_policy.h); *flowrt (passive)* is "
                     "the same binary with `OMP_WAIT_POLICY=passive`, its default before; "
                     "*flowrt (adaptive)* runs with its thread governor (`--adapt_threads`, "
                     "runtime/thread_governor.h: each step on 2 threads or 1, whichever ran faster "
                     "lately; once the process gets preempted it pins the 2 threads to distinct "
                     "cores (runtime/team_pinning.h) and then tries 1 thread; flowrt's default "
                     "since it does nothing on a quiet machine, while the *flowrt* rows fix the "
                     "thread count, unpinned), "
                     "timed after 18 more warm-up steps (a window unpinned, one pinned, a probe); "
                     "*flowrt (bound)* runs "
                     "with `OMP_PROC_BIND=true`, each thread bound to one core, and *flowrt "
                     "(bound, adaptive)* with both (README: on a shared machine).\n")
        lines.append("Batch 100. *hog*: one busy loop pinned to one core, started and stopped by the "
                     "script. ms = median over all timed steps of all rounds; spread = lowest–highest "
                     "per-round median; CPU ms = the process's CPU time per quiet step (at 1 thread the "
                     "step's cost even when the machine is shared); vs PyTorch = flowrt ms / PyTorch ms "
                     "at the same threads (quiet, hog); load = the 1-minute load average when each run "
                     "ended (other processes included).\n")
        lines.append("| model | framework | threads | quiet ms | spread | % peak | CPU ms | hog ms | "
                     "spread | % peak | hog / quiet | vs PyTorch | load (quiet, hog) |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for model in ("lenet", "mlp"):
            for fw, threads in STEP_ROWS:
                q, h = (model, fw, threads, "off"), (model, fw, threads, "on")
                if q not in rounds and h not in rounds:
                    continue
                mq, mh = median(q), median(h)
                vs = "-"
                if fw.startswith("flowrt"):
                    tq, th = median((model, "pytorch", threads, "off")), median(
                        (model, "pytorch", threads, "on"))
                    vs = "%s, %s" % (report.fmt_ratio(mq, tq), report.fmt_ratio(mh, th))
                lines.append("| %s | %s | %d | %.2f | %s | %s | %s | %.2f | %s | %s | %s | %s | %s, %s |" % (
                    model, fw, threads, mq, spread(q), pct(model, threads, mq),
                    "%.2f" % statistics.median(cpu_ms[q]) if cpu_ms[q] else "-", mh, spread(h),
                    pct(model, threads, mh), report.fmt_ratio(mh, mq), vs,
                    "%.1f" % statistics.mean(loads[q]) if loads[q] else "-",
                    "%.1f" % statistics.mean(loads[h]) if loads[h] else "-"))
        lines.append("")

    lines += startup_section(results)

    # The targets: (what, measured text, met, distance text).
    lines.append("### Issue 15's targets (flowrt)\n")
    lines.append("| target | measured | met? | distance |")
    lines.append("|---|---|---|---|")

    def share_target(threads, want):
        ms = median(("lenet", "flowrt", threads, "off"))
        if not ms:
            lines.append("| LeNet, %d thread(s), quiet: ≥ %.0f%% of FMA peak | - | not measured | - |"
                         % (threads, 100 * want))
            return
        got = peak_share("lenet", threads, ms)
        need_ms = report.train_flops("lenet", 100) / 1e9 / (want * per_core * threads) * 1e3
        distance = ("%.1f points short: needs ≤ %.2f ms/step, %.0f%% less" % (
            100 * (want - got), need_ms, 100 * (1 - need_ms / ms)) if got < want else
            "%.1f points to spare" % (100 * (got - want)))
        lines.append("| LeNet, %d thread%s, quiet: ≥ %.0f%% of FMA peak | %.1f%% (%.2f ms) | %s "
                     "| %s |" % (threads, "s" if threads > 1 else "", 100 * want, 100 * got, ms,
                                 "**met**" if got >= want else "**missed**", distance))

    def ratio_target(what, a, b, limit):
        if not a or not b:
            lines.append("| %s ≤ %.1f | - | not measured | - |" % (what, limit))
            return
        ratio = a / b
        distance = ("%.0f%% over (%.2f ms vs ≤ %.2f ms)" % (100 * (ratio / limit - 1), a, b * limit)
                    if ratio > limit else "%.0f%% to spare" % (100 * (1 - ratio / limit)))
        lines.append("| %s ≤ %.1f | %.2f | %s | %s |" % (
            what, limit, ratio, "**met**" if ratio <= limit else "**missed**", distance))

    share_target(1, 0.85)
    share_target(2, 0.80)
    for model, name in (("lenet", "LeNet"), ("mlp", "MLP")):
        one_h, one_q = median((model, "flowrt", 1, "on")), median((model, "flowrt", 1, "off"))
        for fw, how in (("flowrt", ""), ("flowrt (adaptive)", ", adaptive"),
                        ("flowrt (bound)", ", bound"), ("flowrt (bound, adaptive)", ", bound, adaptive")):
            two_h, two_q = median((model, fw, 2, "on")), median((model, fw, 2, "off"))
            ratio_target("%s%s, hog: 2 threads / 1 thread" % (name, how), two_h, one_h, 1.0)
            ratio_target("%s%s, 2 threads: hog / quiet" % (name, how), two_h, two_q, 1.5)
            if model == "mlp":
                ratio_target("MLP%s, quiet: 2 threads / 1 thread" % how, two_q, one_q, 1.0)

    slices = [r for r in results if r.get("mode") == "slices"]
    if slices:
        lines.append("\nHow the kernel shares the hog's CPU (`train_step_bench --mode=slices`, a "
                     "thread spinning there for 1 s, once per round): it runs %s ms at a time and "
                     "then waits %s ms (medians per round), %s of the time. A thread of flowrt's "
                     "team taken off there in the middle of a chunk holds up the other for up to "
                     "one gap." % (
                         ", ".join(r["burst_ms"] for r in slices),
                         ", ".join(r["gap_ms"] for r in slices),
                         ", ".join("%.0f%%" % (100 * float(r["share"])) for r in slices)))

    if profile:
        lines.append("\n### flowrt per-op profile of LeNet (after the rounds)\n")
        lines.append("```")
        lines += profile
        lines.append("```")
    lines.append("\nCommand:\n\n```\n%s\n```\n" % args.command.strip())
    report.write_section(args.out, "\n".join(lines) + "\n", BEGIN, END)


if __name__ == "__main__":
    main()
