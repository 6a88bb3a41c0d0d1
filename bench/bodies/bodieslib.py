#!/usr/bin/env python3
"""Helpers for bench/bodies.sh (large bodies and memory). Reuses
bench/benchlib.py (process trees, CPU snapshots, wrk parsing, medians).

Subcommands (nothing here starts or kills benchmark processes):
  rss NAME=PID ...             JSON: VmRSS (/proc/PID/status) of each process
                               tree now: sum and per process
  watch --out F NAME=PID ...   sample the trees' VmRSS every --interval s until
                               SIGTERM, then write the peak sum to F (JSON)
  record ...                   one measured run (wrk or curl output, two CPU
                               snapshots, one watch file) -> a JSON line
  report ...                   medians, ratios to nginx, memory table;
                               Markdown to stdout and optionally into the docs
                               page between the bench:bodies markers
Only the Python 3 standard library is used.
"""

import argparse
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402  (bench/benchlib.py)

START_MARK = "<!-- bench:bodies:start -->"
END_MARK = "<!-- bench:bodies:end -->"
BIG = 100 * 1024 * 1024
SMALL = 16 * 1024


def vmrss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def trees(specs):
    table = benchlib.read_proc_table()
    out = {}
    for spec in specs:
        name, _, pid = spec.partition("=")
        out[name] = benchlib.tree_of(int(pid), table)
    return out


def cmd_rss(args):
    res = {}
    for name, pids in trees(args.procs).items():
        per = {str(p): vmrss_kb(p) for p in pids}
        res[name] = {"sum_kb": sum(per.values()), "per_pid_kb": per}
    json.dump(res, sys.stdout)
    print()


def cmd_watch(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    peak, samples, t_tree = {}, 0, 0.0
    pids = {}
    while True:
        now = time.monotonic()
        if now - t_tree >= 1.0:  # re-read the trees once a second (workers may restart)
            pids, t_tree = trees(args.procs), now
        for name, ps in pids.items():
            per = {p: vmrss_kb(p) for p in ps}
            s = sum(per.values())
            if s > peak.get(name, {}).get("sum_kb", -1):
                peak[name] = {"sum_kb": s, "max_proc_kb": max(per.values(), default=0)}
        samples += 1
        if stop:
            break
        time.sleep(args.interval)
    with open(args.out, "w") as f:
        json.dump({"peak": peak, "samples": samples}, f)


def cmd_record(args):
    with open(args.before) as f:
        before = json.load(f)
    with open(args.after) as f:
        after = json.load(f)
    with open(args.load_out) as f:
        text = f.read()
    rec = {"case": args.case, "kind": args.kind, "target": args.target, "rep": args.rep, "exit": args.exit, "flags": []}
    if args.case == "16k":
        w = benchlib.parse_wrk(text)
        rec.update({k: w[k] for k in ("rps", "requests", "duration_s", "p50_ms", "p99_ms") if k in w})
        if "rps" in w:
            rec["mbps"] = w["rps"] * SMALL / 1e6
        else:
            rec["flags"].append(f"wrk produced no result (exit {args.exit})")
        errs = {k: v for k, v in w["errors"].items() if v}
        if errs:
            rec["flags"].append("socket errors " + ", ".join(f"{k} {v}" for k, v in errs.items()))
        if w["non2xx"]:
            rec["flags"].append(f"{w['non2xx']} non-2xx responses")
    else:
        # one line per transfer: curl -w '%{http_code} %{size_download} %{size_upload} %{time_total}'
        xfers = re.findall(r"^(\d{3}) (\d+) (\d+) ([\d.]+)\s*$", text, re.M)
        total_b, total_s, mbps_each = 0, 0.0, []
        for code, down, up, secs in xfers:
            size = int(down) if args.case == "down" else int(up)
            total_b += size
            total_s += float(secs)
            mbps_each.append(size / float(secs) / 1e6 if float(secs) > 0 else None)
            if code != "200":
                rec["flags"].append(f"HTTP {code}")
            if size != BIG:
                rec["flags"].append(f"{size} bytes transferred, not {BIG}")
        if len(xfers) != args.transfers:
            rec["flags"].append(f"curl produced {len(xfers)} of {args.transfers} results (exit {args.exit}): {text[-200:]!r}")
        if xfers and total_s > 0:
            rec.update({"transfers": len(xfers), "bytes": total_b, "seconds": total_s, "mbps": total_b / total_s / 1e6,
                        "mbps_each": mbps_each})
        if args.case == "up" and args.sink_said is not None:
            said = args.sink_said.split()
            if said != ["received", str(BIG)] * args.transfers:
                rec["flags"].append(f"sink answered {args.sink_said.strip()[:80]!r}, not {args.transfers} x 'received {BIG}'")
    if args.exit != 0:
        rec["flags"].append(f"load tool exit {args.exit}")
    wall = after["uptime"] - before["uptime"]
    p_a, p_b = after["procs"].get(args.target), before["procs"].get(args.target)
    if p_a and p_b:
        rec["proxy_cpu_s"] = (p_a["ticks"] - p_b["ticks"]) / benchlib.CLK_TCK
    for cpu in ("cpu0", "cpu1"):
        db = after["cpus"][cpu][0] - before["cpus"][cpu][0]
        dt = after["cpus"][cpu][1] - before["cpus"][cpu][1]
        ds = after["cpus"][cpu][2] - before["cpus"][cpu][2]
        rec[f"{cpu}_busy"] = db / dt if dt > 0 else None
        rec[f"{cpu}_steal"] = ds / dt if dt > 0 else None
    if rec.get("proxy_cpu_s") is not None and rec.get("cpu0_busy") is not None and wall > 0:
        rec["cpu0_foreign"] = max(0.0, rec["cpu0_busy"] - rec["proxy_cpu_s"] / wall)
    rec["contended"] = (rec.get("cpu0_foreign") or 0) + (rec.get("cpu0_steal") or 0)
    if rec["contended"] > benchlib.FOREIGN_LIMIT:
        rec["flags"].append(f"CPU 0 busy beyond the proxy's own CPU time: {rec['contended'] * 100:.0f}% "
                            "(other processes, steal, or kernel softirq work for loopback traffic)")
    with open(args.watch) as f:
        watch = json.load(f)
    pk = watch["peak"].get(args.target)
    if pk:
        rec["peak_rss_kb"] = pk["sum_kb"]
        rec["peak_max_proc_kb"] = pk["max_proc_kb"]
    rec["rss_samples"] = watch["samples"]
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    line = f"  {args.target:>9} {args.case:>4} {args.kind:<6} rep {args.rep}"
    if rec.get("rps"):
        line += f"  {rec['rps']:>9,.0f} req/s  {rec['mbps']:7.1f} MB/s"
    elif rec.get("mbps"):
        line += f"  {rec['mbps']:7.1f} MB/s  {rec['seconds']:.3f} s"
    if rec.get("proxy_cpu_s") is not None:
        line += f"  proxy CPU {rec['proxy_cpu_s']:.2f} s"
    if rec.get("peak_rss_kb"):
        line += f"  peak RSS {rec['peak_rss_kb'] / 1024:.1f} MB"
    if rec["flags"]:
        line += "  !! " + "; ".join(rec["flags"])
    print(line)


def mb(kb):
    return None if kb is None else kb / 1024


def cmd_report(args):
    with open(args.results) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    with open(args.rss_idle) as f:
        idle = json.load(f)
    with open(args.rss_after) as f:
        after = json.load(f)
    meta = {}
    if args.meta:
        with open(args.meta) as f:
            meta = json.load(f)
    runs = [r for r in recs if r["kind"] == "run"]
    targets = []
    for r in recs:
        if r["target"] not in targets:
            targets.append(r["target"])
    fmt, med = benchlib.fmt, benchlib.med

    def point(t, case):
        sel = [r for r in runs if r["target"] == t and r["case"] == case]
        ok = [r for r in sel if r.get("mbps") and not any(not f.startswith(("CPU 0", "load tool")) for f in r["flags"])]
        ng = {r["rep"]: r for r in runs if r["target"] == "nginx" and r["case"] == case and r.get("mbps")}
        ratios = [r["mbps"] / ng[r["rep"]]["mbps"] for r in ok if r["rep"] in ng]
        mbps = [r["mbps"] for r in ok]
        return {
            "n": len(ok), "n_total": len(sel),
            "rps": med(r.get("rps") for r in ok), "mbps": med(mbps),
            "mbps_min": min(mbps) if mbps else None, "mbps_max": max(mbps) if mbps else None,
            "ratio": med(ratios), "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
            "cpu_s": med(r["proxy_cpu_s"] / r.get("transfers", 1) for r in ok if r.get("proxy_cpu_s") is not None),
            "us_per_req": med((r["proxy_cpu_s"] * 1e6 / r["requests"]) for r in ok if r.get("requests") and r.get("proxy_cpu_s") is not None),
            "peak_kb": max((r.get("peak_rss_kb") or 0 for r in sel), default=None),
            "flags": [f"rep {r['rep']}: {fl}" for r in sel for fl in r["flags"]],
        }

    cases = [("16k", "16 KiB GET, wrk c50"), ("down", "100 MB download"), ("up", "100 MB upload")]
    pts = {(t, c): point(t, c) for t in targets for c, _ in cases}
    out = []
    out.append(f"Run finished {meta.get('date', '?')}.")
    out.append("")
    for k, v in (
        ("machine", f"{meta.get('nproc', '?')} CPUs ({meta.get('cpu_model', '?')}), kernel {meta.get('kernel', '?')}"),
        ("nginx", meta.get("nginx_version", "?")), ("HAProxy", meta.get("haproxy_version", "?")),
        ("wrk", meta.get("wrk_version", "?")), ("curl", args.curl_version or "?"),
        ("Node.js (Martello, upload sink)", meta.get("node_version", "?")), ("Martello commit", meta.get("git", "?")),
        ("load", meta.get("load_desc", "?")), ("load average before the run", meta.get("loadavg", "?")),
    ):
        out.append(f"- **{k}**: {v}")
    out.append("")
    out.append(f"**Throughput** (medians over the repetitions; one 100 MB run = {args.transfers} transfers back to back, "
               "MB/s = their bytes ÷ their summed curl times; MB = 10⁶ bytes of body; ratio = median over repetitions of target ÷ nginx in the same repetition; "
               "a run whose transfer failed or came back short is left out and the row says so)")
    out.append("")
    out.append("| target | 16 KiB req/s | 16 KiB MB/s | **16 KiB ratio** (min–max) | proxy CPU µs/req | 100 MB download MB/s (min–max) | **download ratio** (min–max) | proxy CPU s per download | 100 MB upload MB/s (min–max) | **upload ratio** (min–max) | proxy CPU s per upload |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in targets:
        a, d, u = pts[(t, "16k")], pts[(t, "down")], pts[(t, "up")]
        short = [f"{c} {pts[(t, c)]['n']}/{pts[(t, c)]['n_total']} runs" for c, _ in cases if pts[(t, c)]["n"] != pts[(t, c)]["n_total"]]
        out.append("| {t} | {rps} | {m} | **{r}** ({rl}–{rh}) | {us} | {dm} ({dl}–{dh}) | **{dr}** ({drl}–{drh}) | {dc} | {um} ({ul}–{uh}) | **{ur}** ({url}–{urh}) | {uc} |".format(
            t=t + (f" ({', '.join(short)})" if short else ""), rps=fmt(a["rps"], ",.0f"), m=fmt(a["mbps"], ",.0f"), r=fmt(a["ratio"], ".2f"), rl=fmt(a["ratio_min"], ".2f"), rh=fmt(a["ratio_max"], ".2f"),
            us=fmt(a["us_per_req"], ".1f"),
            dm=fmt(d["mbps"], ",.0f"), dl=fmt(d["mbps_min"], ",.0f"), dh=fmt(d["mbps_max"], ",.0f"),
            dr=fmt(d["ratio"], ".2f"), drl=fmt(d["ratio_min"], ".2f"), drh=fmt(d["ratio_max"], ".2f"), dc=fmt(d["cpu_s"], ".3f"),
            um=fmt(u["mbps"], ",.0f"), ul=fmt(u["mbps_min"], ",.0f"), uh=fmt(u["mbps_max"], ",.0f"),
            ur=fmt(u["ratio"], ".2f"), url=fmt(u["ratio_min"], ".2f"), urh=fmt(u["ratio_max"], ".2f"), uc=fmt(u["cpu_s"], ".3f")))
    out.append("")
    out.append("**Memory** (VmRSS summed over the proxy's processes, MB = MiB; *peak* is the highest sum sampled every "
               f"{args.interval * 1000:.0f} ms during the measured runs of that case; *growth* = highest peak − idle)")
    out.append("")
    out.append("| target | processes (idle RSS each) | idle | peak 16 KiB c50 | peak 100 MB download | peak 100 MB upload | **growth** | after all load (+ {s} s) |".format(s=args.settle))
    out.append("|---|---|---|---|---|---|---|---|")
    growth = {}
    for t in targets:
        i = idle.get(t, {})
        per = ", ".join(f"{kb / 1024:.1f}" for kb in i.get("per_pid_kb", {}).values())
        peaks = [pts[(t, c)]["peak_kb"] for c, _ in cases]
        top = max((p for p in peaks if p), default=None)
        g = (top - i["sum_kb"]) if (top and i.get("sum_kb")) else None
        growth[t] = (g, (after.get(t, {}).get("sum_kb", 0) - i.get("sum_kb", 0)) if i else None)
        out.append("| {t} | {n}: {per} | {idle} | {p1} | {p2} | {p3} | **{g}** | {af} |".format(
            t=t, n=len(i.get("per_pid_kb", {})), per=per, idle=fmt(mb(i.get("sum_kb")), ".1f"),
            p1=fmt(mb(peaks[0]), ".1f"), p2=fmt(mb(peaks[1]), ".1f"), p3=fmt(mb(peaks[2]), ".1f"),
            g=fmt(mb(g), "+.1f"), af=fmt(mb(after.get(t, {}).get("sum_kb")), ".1f")))
    out.append("")
    flagged = [(t, c, fl) for t in targets for c, _ in cases for fl in pts[(t, c)]["flags"]]
    if flagged:
        out.append("**Checks flagged** (a flagged repetition still counts unless its transfer failed):")
        out.append("")
        for t, c, fl in flagged:
            out.append(f"- {t} {c}: {fl}")
    else:
        out.append("**Checks:** no run flagged (every run: load tool exit 0, HTTP 200, exactly 104857600 body bytes each way "
                   "and the sink confirmed every uploaded byte, no socket errors or non-2xx in wrk, CPU 0 not busy beyond "
                   f"the proxy's own CPU time by more than {benchlib.FOREIGN_LIMIT * 100:.0f}%).")
    out.append("")
    if "martello" in targets and "nginx" in targets:
        parts = []
        for c, label in cases:
            r = pts[("martello", c)]["ratio"]
            parts.append(f"{label}: {fmt(r, '.2f')}× ({'meets' if r is not None and r >= args.bar else 'does NOT meet'} {args.bar}×)")
        g, a = growth["martello"]
        flat = g is not None and g <= args.flat_mb * 1024 and a is not None and a <= args.flat_mb * 1024
        parts.append(f"memory: peak − idle {fmt(mb(g), '+.1f')} MB, after − idle {fmt(mb(a), '+.1f')} MB "
                     f"({'flat' if flat else 'NOT flat'} by this page's test: both ≤ {args.flat_mb:g} MB, far below the 100 MB body)")
        out.append(f"**Bars** (Martello ≥ {args.bar}× nginx throughput; memory flat): " + "; ".join(parts) + ".")
        out.append("")
    if args.commands:
        with open(args.commands) as f:
            cmds = f.read().rstrip("\n")
        out += ["<details><summary>Exact commands of this run</summary>", "", "```sh", cmds, "```", "", "</details>", ""]
    md = "\n".join(out)
    print(md)
    if args.docs:
        update_docs(args.docs, md)
        print(f"\n(written between the bench:bodies markers of {args.docs})", file=sys.stderr)


def update_docs(path, md):
    with open(path) as f:
        doc = f.read()
    if not (START_MARK in doc and END_MARK in doc and doc.index(START_MARK) < doc.index(END_MARK)):
        raise SystemExit(f"bodies: {path} has no {START_MARK} ... {END_MARK} markers; add them where the results belong")
    doc = doc[: doc.index(START_MARK)] + f"{START_MARK}\n{md}\n{END_MARK}" + doc[doc.index(END_MARK) + len(END_MARK):]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("rss")
    s.add_argument("procs", nargs="+")
    s.set_defaults(fn=cmd_rss)
    s = sub.add_parser("watch")
    s.add_argument("--out", required=True)
    s.add_argument("--interval", type=float, default=0.05)
    s.add_argument("procs", nargs="+")
    s.set_defaults(fn=cmd_watch)
    s = sub.add_parser("record")
    for name in ("out", "target", "case", "kind", "before", "after", "load-out", "watch"):
        s.add_argument(f"--{name}", required=True)
    s.add_argument("--rep", type=int, required=True)
    s.add_argument("--exit", type=int, required=True)
    s.add_argument("--sink-said")
    s.add_argument("--transfers", type=int, default=1)
    s.set_defaults(fn=cmd_record)
    s = sub.add_parser("report")
    for name in ("results", "rss-idle", "rss-after"):
        s.add_argument(f"--{name}", required=True)
    s.add_argument("--meta")
    s.add_argument("--commands")
    s.add_argument("--docs")
    s.add_argument("--curl-version")
    s.add_argument("--bar", type=float, default=0.8)
    s.add_argument("--flat-mb", type=float, default=32)
    s.add_argument("--interval", type=float, default=0.05)
    s.add_argument("--settle", type=int, default=3)
    s.add_argument("--transfers", type=int, default=1)
    s.set_defaults(fn=cmd_report)
    args = p.parse_args()
    sys.exit(args.fn(args) or 0)


if __name__ == "__main__":
    main()
