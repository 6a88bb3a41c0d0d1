#!/usr/bin/env python3
"""Helpers for bench/run.sh: free ports, CPU snapshots, wrk parsing, report.

Subcommands (all called by run.sh; nothing here starts or kills processes):
  ports N                      print N free TCP ports on 127.0.0.1
  snap NAME=PID ...            JSON snapshot: /proc/stat per-CPU counters and
                               the CPU ticks / RSS of each process tree
  record ...                   parse one wrk output + two snapshots, append a
                               JSON line to the results file, print a summary
  meta --root R --node N       JSON: date, machine facts, tool versions
  report ...                   medians, ratios to nginx, checks; Markdown to
                               stdout and (optionally) into docs/benchmarks.md
Only the Python 3 standard library is used.
"""

import argparse
import json
import os
import re
import socket
import statistics
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")
# A run whose CPU 0 spent more than this share on other processes is
# "contended"; run.sh repeats such a round (see --max-retries).
FOREIGN_LIMIT = float(os.environ.get("BENCH_MAX_FOREIGN", "0.15"))
START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"


# ---------------------------------------------------------------- ports

def cmd_ports(args):
    socks = []
    try:
        for _ in range(args.n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- snapshots

def read_cpu_counters():
    """Per-CPU [busy, total, steal] jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            parts = line.split()
            vals = [int(v) for v in parts[1:]]
            # user nice system idle iowait irq softirq steal guest guest_nice;
            # guest time is already included in user/nice.
            total = sum(vals[:8])
            idle = vals[3] + vals[4]
            steal = vals[7] if len(vals) > 7 else 0
            # [busy (excluding steal), total, steal]: steal is time the
            # hypervisor ran someone else while this vCPU wanted to run.
            out[parts[0]] = [total - idle - steal, total, steal]
    return out


def read_proc_table():
    """pid -> (ppid, utime+stime ticks, rss kB) for every live process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(")") + 2:].split()
        # rest[0] is field 3 (state): ppid=field 4, utime=14, stime=15, rss=24 (pages)
        ppid = int(rest[1])
        ticks = int(rest[11]) + int(rest[12])
        rss_kb = int(rest[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        table[int(name)] = (ppid, ticks, rss_kb)
    return table


def tree_of(root, table):
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    pids, stack = [], [root]
    while stack:
        p = stack.pop()
        if p in table:
            pids.append(p)
            stack.extend(children.get(p, []))
    return pids


def read_stub_status(url):
    """nginx stub_status: {"accepts": n, "requests": n}; the fetch itself
    counts as one connection and one request."""
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            text = r.read().decode("ascii", "replace")
    except OSError:
        return None
    m = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$", text, re.M)
    if not m:
        return None
    return {"accepts": int(m.group(1)), "requests": int(m.group(3))}


def cmd_snap(args):
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    table = read_proc_table()
    procs = {}
    for spec in args.procs:
        name, _, pid = spec.partition("=")
        if not pid:
            continue
        pids = tree_of(int(pid), table)
        procs[name] = {
            "pids": pids,
            "ticks": sum(table[p][1] for p in pids),
            "rss_kb": sum(table[p][2] for p in pids),
        }
    snap = {"uptime": uptime, "cpus": read_cpu_counters(), "procs": procs}
    if args.status:
        snap["backend_status"] = read_stub_status(args.status)
    json.dump(snap, sys.stdout)
    print()


# ---------------------------------------------------------------- wrk parsing

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unparsable latency {text!r}")
    return float(m.group(1)) * _TIME_UNITS[m.group(2)]


def parse_wrk(text):
    res = {"errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}, "non2xx": 0}
    m = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if m:
        res["lat_avg_ms"] = to_ms(m.group(1))
        res["lat_max_ms"] = to_ms(m.group(3))
    for pct, key in (("50", "p50_ms"), ("75", "p75_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s*{pct}%\s+(\S+)", text, re.M)
        if m:
            res[key] = to_ms(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", text, re.M)
    if m:
        res["requests"] = int(m.group(1))
        res["duration_s"] = float(m.group(2)) * _TIME_UNITS[m.group(3)] / 1e3
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        res["errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        res["rps"] = float(m.group(1))
    return res


# ---------------------------------------------------------------- record

def cmd_record(args):
    with open(args.before) as f:
        before = json.load(f)
    with open(args.after) as f:
        after = json.load(f)
    with open(args.wrk) as f:
        text = f.read()
    w = parse_wrk(text)
    rec = {
        "kind": args.kind, "round": args.round, "target": args.target, "conns": args.conns, "rep": args.rep,
        "wrk_exit": args.wrk_exit, "probe_ok": args.probe_ok == "1",
    }
    rec.update(w)
    wall = after["uptime"] - before["uptime"]
    rec["wall_s"] = wall
    for cpu in ("cpu0", "cpu1"):
        if cpu in before["cpus"] and cpu in after["cpus"]:
            db = after["cpus"][cpu][0] - before["cpus"][cpu][0]
            dt = after["cpus"][cpu][1] - before["cpus"][cpu][1]
            rec[f"{cpu}_busy"] = db / dt if dt > 0 else None
            if len(after["cpus"][cpu]) > 2:
                ds = after["cpus"][cpu][2] - before["cpus"][cpu][2]
                rec[f"{cpu}_steal"] = ds / dt if dt > 0 else None
    for name in after["procs"]:
        a, b = after["procs"][name], before["procs"].get(name)
        if b is None:
            continue
        ticks = a["ticks"] - b["ticks"]
        key = "proxy" if name == args.target else name
        rec[f"{key}_cpu_s"] = ticks / CLK_TCK
        rec[f"{key}_rss_mb"] = a["rss_kb"] / 1024
        rec[f"{key}_pids"] = len(a["pids"])
    bs, bs0 = after.get("backend_status"), before.get("backend_status")
    if bs and bs0:
        # minus the 'after' status fetch itself
        rec["upstream_conns"] = bs["accepts"] - bs0["accepts"] - 1
        rec["backend_requests"] = bs["requests"] - bs0["requests"] - 1
    if rec.get("requests") and "proxy_cpu_s" in rec:
        rec["us_per_req"] = rec["proxy_cpu_s"] * 1e6 / rec["requests"]
    if "proxy_cpu_s" in rec and rec.get("duration_s"):
        # share of one core the proxy's processes used during the run
        rec["proxy_util"] = rec["proxy_cpu_s"] / rec["duration_s"]
    if "proxy_cpu_s" in rec and rec.get("cpu0_busy") is not None and wall > 0:
        # CPU 0 time that did not go to the proxy under test (other tenants'
        # processes, mostly): the proxy's core was shared during this run.
        rec["cpu0_foreign"] = max(0.0, rec["cpu0_busy"] - rec["proxy_cpu_s"] / wall)
    if args.load_cpu_s is not None:
        rec["wrk_cpu_s"] = args.load_cpu_s
        if "backend_cpu_s" in rec and rec.get("cpu1_busy") is not None and wall > 0:
            # same for the load core: CPU 1 should only run the backend and wrk
            rec["cpu1_foreign"] = max(0.0, rec["cpu1_busy"] - (rec["backend_cpu_s"] + args.load_cpu_s) / wall)
    rec["contended"] = contention(rec)
    if rec.get("rps") and rec.get("cpu0_busy") is not None:
        rec["cpu0_us_per_req"] = rec["cpu0_busy"] * 1e6 / rec["rps"]
    if rec.get("rps") and "lat_avg_ms" in rec:
        rec["eff_conc_avg"] = rec["rps"] * rec["lat_avg_ms"] / 1e3
    if rec.get("rps") and "p50_ms" in rec:
        rec["eff_conc_p50"] = rec["rps"] * rec["p50_ms"] / 1e3
    rec["flags"] = run_flags(rec)
    if "rps" not in rec:
        rec["wrk_output"] = text[-2000:]
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(one_line(rec))


def contention(rec):
    """Share of the proxy core (CPU 0) or of the load core (CPU 1) that was
    not available to the benchmark: other processes plus hypervisor steal."""
    worst = 0.0
    for cpu in ("cpu0", "cpu1"):
        worst = max(worst, (rec.get(f"{cpu}_foreign") or 0) + (rec.get(f"{cpu}_steal") or 0))
    return worst


def cmd_quiet(args):
    """Wait (at most --max-wait s) until both CPUs are nearly idle for one
    second while our proxies are idle: other sessions' bursts (test suites,
    builds) then end before a round starts instead of landing in it."""
    import time
    deadline = time.monotonic() + args.max_wait
    said = False
    while True:
        a = read_cpu_counters()
        time.sleep(1.0)
        b = read_cpu_counters()
        worst = 0.0
        for cpu in ("cpu0", "cpu1"):
            dt = b[cpu][1] - a[cpu][1]
            if dt > 0:
                worst = max(worst, (b[cpu][0] - a[cpu][0] + b[cpu][2] - a[cpu][2]) / dt)
        if worst <= args.limit:
            if said:
                print("  quiet again")
            return 0
        if time.monotonic() >= deadline:
            print(f"  machine still busy ({worst * 100:.0f}% of a core) after {args.max_wait:.0f}s; going on")
            return 0
        if not said:
            print(f"  waiting for the machine to quiet down ({worst * 100:.0f}% of a core busy with other work)")
            said = True


def cmd_round_check(args):
    """Exit 0 if no run of the round had a shared CPU 0, else 3 (and with
    --discard, relabel the round's runs 'discarded' so medians skip them)."""
    with open(args.results) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    mine = [r for r in recs if r.get("round") == args.round and r["kind"] == "run"]
    bad = [r for r in mine if (r.get("contended") or 0) > FOREIGN_LIMIT]
    if not bad:
        return 0
    worst = max(r["contended"] for r in bad)
    print(f"  round {args.round}: other processes or hypervisor steal took up to {worst * 100:.0f}% of a benchmark core"
          + ("; discarding the round and repeating it" if args.discard else "; keeping it (no retries left)"))
    if args.discard:
        for r in mine:
            r["kind"] = "discarded"
        tmp = args.results + ".tmp"
        with open(tmp, "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        os.replace(tmp, args.results)
    return 3


def run_flags(rec):
    """Per-run warnings (perf-calibration.md §6: rps alone hides stalls)."""
    flags = []
    c = rec["conns"]
    if "rps" not in rec:
        return [f"wrk produced no result (exit {rec['wrk_exit']})"]
    if rec["wrk_exit"] not in (0,):
        flags.append(f"wrk exit {rec['wrk_exit']}")
    eff = rec.get("eff_conc_avg")
    # Little's law for a closed loop: rps x mean latency ~= connections that
    # are making progress. Requests that never complete are invisible to
    # wrk's latency and rps, so a shortfall here means stalled connections.
    if eff is not None and eff < 0.8 * c:
        flags.append(f"stall? rps x avg latency = {eff:.1f} of {c} connections")
    eff50 = rec.get("eff_conc_p50")
    if eff50 is not None and eff50 < 0.3 * c:
        flags.append(f"stall? rps x p50 = {eff50:.1f} of {c} connections")
    errs = {k: v for k, v in rec["errors"].items() if v}
    if errs:
        flags.append("socket errors " + ", ".join(f"{k} {v}" for k, v in errs.items()))
    if rec["non2xx"]:
        flags.append(f"{rec['non2xx']} non-2xx responses")
    util = rec.get("proxy_util")
    foreign = rec.get("cpu0_foreign")
    if (rec.get("contended") or 0) > FOREIGN_LIMIT:
        flags.append("cores shared: other processes took {:.0f}% of CPU 0 and {:.0f}% of CPU 1, steal {:.0f}% / {:.0f}%".format(
            *((rec.get(k) or 0) * 100 for k in ("cpu0_foreign", "cpu1_foreign", "cpu0_steal", "cpu1_steal"))))
    elif util is not None and util < 0.6:
        flags.append(f"proxy used only {util * 100:.0f}% of its otherwise idle core (stall, or the load side is the bottleneck)")
    if not rec["probe_ok"]:
        flags.append("post-run probe failed (proxy not answering a fresh request)")
    return flags


def one_line(rec):
    if "rps" not in rec:
        return f"  {rec['target']:>9} c{rec['conns']:<4} {rec['kind']:<6} NO RESULT {rec['flags']}"
    parts = [
        f"  {rec['target']:>9} c{rec['conns']:<4} {rec['kind']:<6}",
        f"{rec['rps']:>10,.0f} rps",
        f"p50 {rec.get('p50_ms', float('nan')):6.2f} ms",
        f"p99 {rec.get('p99_ms', float('nan')):6.2f} ms",
    ]
    if rec.get("us_per_req") is not None:
        parts.append(f"{rec['us_per_req']:6.1f} us/req")
    if rec.get("cpu0_busy") is not None:
        parts.append(f"cpu0 {rec['cpu0_busy'] * 100:3.0f}%")
    if rec.get("proxy_util") is not None:
        parts.append(f"proxy {rec['proxy_util'] * 100:3.0f}%")
    if rec.get("cpu1_busy") is not None:
        parts.append(f"cpu1 {rec['cpu1_busy'] * 100:3.0f}%")
    if rec.get("contended") is not None:
        parts.append(f"lost {rec['contended'] * 100:2.0f}%")
    if rec.get("eff_conc_avg") is not None:
        parts.append(f"eff.conc {rec['eff_conc_avg']:.0f}/{rec['conns']}")
    if rec.get("upstream_conns") is not None:
        parts.append(f"new upstream conns {rec['upstream_conns']}")
    line = "  ".join(parts)
    if rec["flags"]:
        line += "  !! " + "; ".join(rec["flags"])
    return line


# ---------------------------------------------------------------- meta

def _first_line(cmd):
    import subprocess
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (r.stdout or "") + (r.stderr or "")
    return text.strip().split("\n")[0] if text.strip() else "?"


def cmd_meta(args):
    import datetime
    import platform
    cpu_model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    git = _first_line(["git", "-C", args.root, "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", args.root, "status", "--porcelain", "--untracked-files=no"])
    if git != "?" and dirty != "?":
        git += " (with uncommitted changes)"
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "nginx_version": _first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "haproxy_version": _first_line(["haproxy", "-v"]).split(" - ")[0].replace("HAProxy version ", ""),
        "wrk_version": _first_line(["wrk", "-v"]).split(" Copyright")[0],
        "node_version": _first_line([args.node, "--version"]),
        "git": git,
        "loadavg": loadavg,
        "load_desc": args.load_desc,
    }
    json.dump(meta, sys.stdout, indent=1)
    print()


# ---------------------------------------------------------------- report

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec, dash="–"):
    return dash if v is None else format(v, spec)


def summarise(results):
    runs = [r for r in results if r["kind"] == "run"]
    targets, conns = [], []
    for r in runs:
        if r["target"] not in targets:
            targets.append(r["target"])
        if r["conns"] not in conns:
            conns.append(r["conns"])
    rows = []
    for c in conns:
        by_rep_nginx = {r["rep"]: r for r in runs if r["target"] == "nginx" and r["conns"] == c and "rps" in r}
        nginx_us = med(r.get("us_per_req") for r in by_rep_nginx.values())
        for t in targets:
            sel = [r for r in runs if r["target"] == t and r["conns"] == c]
            ok = [r for r in sel if "rps" in r]
            if not sel:
                continue
            rps = [r["rps"] for r in ok]
            ratios = [r["rps"] / by_rep_nginx[r["rep"]]["rps"] for r in ok if r["rep"] in by_rep_nginx]
            us = med(r.get("us_per_req") for r in ok)
            rows.append({
                "target": t, "conns": c, "n": len(ok), "n_total": len(sel),
                "rps_med": med(rps), "rps_min": min(rps) if rps else None, "rps_max": max(rps) if rps else None,
                "p50": med(r.get("p50_ms") for r in ok), "p99": med(r.get("p99_ms") for r in ok),
                "p99_max": max((r.get("p99_ms", 0) for r in ok), default=None),
                "us_per_req": us,
                "cpu0": med(r.get("cpu0_busy") for r in ok), "cpu1": med(r.get("cpu1_busy") for r in ok),
                "rss": max((r.get("proxy_rss_mb", 0) for r in ok), default=None),
                "ratio": med(ratios),
                "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
                "cpu_ratio": (nginx_us / us) if (nginx_us and us) else None,
                "eff": med(r.get("eff_conc_avg") for r in ok),
                "flags": [f"rep {r['rep']}: {fl}" for r in sel for fl in r["flags"]]
                + [f"rep {r['rep']}: outlier, {r['rps']:,.0f} req/s is under 0.7 x this target's median"
                   for r in ok if med(rps) and r["rps"] < 0.7 * med(rps)],
                "steal": max((r.get("contended") or 0 for r in ok), default=None),
                "util": med(r.get("proxy_util") for r in ok),
                "upconns": med(r.get("upstream_conns") for r in ok),
                "contended_reps": len({r["rep"] for r in runs if r["conns"] == c and "rps" in r
                                       and (r.get("contended") or 0) > FOREIGN_LIMIT
                                       and r["target"] in (t, "nginx")}),
            })
    return rows


def render(rows, meta, results):
    out = []
    out.append(f"Run finished {meta.get('date', '?')}.")
    out.append("")
    facts = [
        ("machine", f"{meta.get('nproc', '?')} CPUs ({meta.get('cpu_model', '?')}), kernel {meta.get('kernel', '?')}"),
        ("nginx", meta.get("nginx_version", "?")),
        ("HAProxy", meta.get("haproxy_version", "?")),
        ("wrk", meta.get("wrk_version", "?")),
        ("Node.js (Martello)", meta.get("node_version", "?")),
        ("Martello commit", meta.get("git", "?")),
        ("load", meta.get("load_desc", "?")),
        ("load average before the run", meta.get("loadavg", "?")),
    ]
    for k, v in facts:
        out.append(f"- **{k}**: {v}")
    out.append("")
    out.append("| target | conns | req/s median (min–max) | **ratio to nginx** (min–max) | p50 ms | p99 ms | proxy CPU µs/req | CPU-cost ratio | proxy core use | CPU0 / CPU1 busy | max lost | eff. concurrency | new upstream conns | RSS MB |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def pct(v):
        return "–" if v is None else f"{v * 100:.0f}%"

    for r in rows:
        reps = "" if r["n"] == r["n_total"] else f" ({r['n']}/{r['n_total']} runs)"
        out.append(
            "| {t}{reps} | {c} | {rps} ({lo}–{hi}) | **{ratio}** ({rmin}–{rmax}) | {p50} | {p99} | {us} | {cr} | {util} | {c0} / {c1} | {steal} | {eff} / {c} | {up} | {rss} |".format(
                t=r["target"], reps=reps, c=r["conns"],
                rps=fmt(r["rps_med"], ",.0f"), lo=fmt(r["rps_min"], ",.0f"), hi=fmt(r["rps_max"], ",.0f"),
                ratio=fmt(r["ratio"], ".2f"), rmin=fmt(r["ratio_min"], ".2f"), rmax=fmt(r["ratio_max"], ".2f"),
                p50=fmt(r["p50"], ".2f"), p99=fmt(r["p99"], ".2f"),
                us=fmt(r["us_per_req"], ".1f"), cr=fmt(r["cpu_ratio"], ".2f"), util=pct(r["util"]),
                c0=pct(r["cpu0"]), c1=pct(r["cpu1"]), steal=pct(r["steal"]),
                eff=fmt(r["eff"], ".0f"), up=fmt(r["upconns"], ".0f"), rss=fmt(r["rss"], ".0f"),
            ))
    out.append("")
    out.append("Columns: medians over the repetitions unless noted. *ratio to nginx* is the median over repetitions of "
               "(target req/s ÷ nginx req/s in the same repetition). *proxy CPU µs/req* is the CPU time of the proxy's "
               "processes (all threads, master and workers) ÷ requests; *CPU-cost ratio* is nginx's µs/req ÷ the target's, "
               "i.e. the req/s ratio each would reach on a saturated core of its own. *proxy core use* is the proxy's CPU "
               "time ÷ run time. *max lost* is the largest share of CPU 0 or CPU 1 that other processes plus hypervisor steal took in any counted repetition. "
               "*eff. concurrency* is req/s × mean latency (Little's law; should be close to the connection count). "
               "*new upstream conns* is how many connections the backend accepted during a run (its nginx `stub_status`): "
               "a few hundred at most, against the request count, means the proxy reused its keep-alive upstream connections. "
               "*RSS* is the largest resident set of the proxy's processes at the end of a run.")
    out.append("")
    discarded = [r for r in results if r["kind"] == "discarded"]
    if discarded:
        rounds = sorted({r.get("round", "?") for r in discarded})
        out.append(f"Repeated because other processes or hypervisor steal took more than {FOREIGN_LIMIT * 100:.0f}% of CPU 0 or CPU 1 "
                   f"(not in the medians): {len(rounds)} round(s), " + ", ".join(rounds) + ".")
        out.append("")
    flagged = [(r, fl) for r in rows for fl in r["flags"]]
    if flagged:
        out.append("**Checks flagged** (a flagged repetition still counts in the medians above; judge it before quoting them):")
        out.append("")
        for r, fl in flagged:
            out.append(f"- {r['target']} c{r['conns']} {fl}")
    else:
        out.append("**Checks:** no run flagged (every run: wrk exited 0, no socket errors or non-2xx, "
                   "rps × mean latency ≥ 0.8 × connections, and a fresh request through the proxy answered after the run).")
    out.append("")
    bar = meta.get("bar")
    mart = [r for r in rows if r["target"] == "martello"]
    if bar and mart:
        parts = []
        for r in mart:
            if r["ratio"] is None:
                parts.append(f"c{r['conns']}: no nginx run to compare with")
                continue
            verdict = "meets" if r["ratio"] >= bar else "does NOT meet"
            shown = f"{r['ratio']:.3f}" if abs(r["ratio"] - bar) < 0.01 else f"{r['ratio']:.2f}"
            extra = f"; CPU-cost ratio {fmt(r['cpu_ratio'], '.2f')}×"
            if r["contended_reps"]:
                extra += (f"; {r['contended_reps']} repetition(s) of this point ran on shared cores, "
                          "so trust the CPU-cost ratio more than the req/s ratio")
            parts.append(f"c{r['conns']}: {shown}× ({verdict} {bar}×{extra})")
        out.append(f"**Bar** (Martello ≥ {bar}× nginx req/s on keep-alive small responses): " + "; ".join(parts) + ".")
        out.append("")
    cmds = meta.get("commands")
    if cmds:
        out.append("<details><summary>Exact commands of this run</summary>")
        out.append("")
        out.append("```sh")
        out.extend(cmds.rstrip("\n").split("\n"))
        out.append("```")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out)


def update_docs(path, md, markers="results"):
    start_mark, end_mark = f"<!-- bench:{markers}:start -->", f"<!-- bench:{markers}:end -->"
    block = f"{start_mark}\n{md}\n{end_mark}"
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n\n## Results\n\n"
    if start_mark in doc and end_mark in doc and doc.index(start_mark) < doc.index(end_mark):
        head = doc[: doc.index(start_mark)]
        tail = doc[doc.index(end_mark) + len(end_mark):]
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)


def cmd_report(args):
    with open(args.results) as f:
        results = [json.loads(line) for line in f if line.strip()]
    meta = {}
    if args.meta:
        with open(args.meta) as f:
            meta = json.load(f)
    if args.commands:
        with open(args.commands) as f:
            meta["commands"] = f.read()
    meta["bar"] = args.bar
    rows = summarise(results)
    md = render(rows, meta, results)
    print(md)
    if args.docs:
        update_docs(args.docs, md, args.markers)
        print(f"\n(written between the bench:{args.markers} markers of {args.docs})", file=sys.stderr)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("ports")
    s.add_argument("n", type=int)
    s.set_defaults(fn=cmd_ports)
    s = sub.add_parser("snap")
    s.add_argument("--status", help="URL of the backend's nginx stub_status")
    s.add_argument("procs", nargs="*")
    s.set_defaults(fn=cmd_snap)
    s = sub.add_parser("record")
    for name in ("out", "target", "before", "after", "wrk", "kind", "probe-ok"):
        s.add_argument(f"--{name}", required=True)
    s.add_argument("--conns", type=int, required=True)
    s.add_argument("--rep", type=int, required=True)
    s.add_argument("--wrk-exit", type=int, required=True)
    s.add_argument("--round", default="")
    s.add_argument("--load-cpu-s", type=float, default=None)
    s.set_defaults(fn=cmd_record)
    s = sub.add_parser("quiet")
    s.add_argument("--max-wait", type=float, default=60)
    s.add_argument("--limit", type=float, default=FOREIGN_LIMIT)
    s.set_defaults(fn=cmd_quiet)
    s = sub.add_parser("round-check")
    s.add_argument("--results", required=True)
    s.add_argument("--round", required=True)
    s.add_argument("--discard", action="store_true")
    s.set_defaults(fn=cmd_round_check)
    s = sub.add_parser("meta")
    s.add_argument("--root", required=True)
    s.add_argument("--node", required=True)
    s.add_argument("--load-desc", default="?")
    s.set_defaults(fn=cmd_meta)
    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.add_argument("--meta")
    s.add_argument("--commands")
    s.add_argument("--docs")
    s.add_argument("--markers", default="results")
    s.add_argument("--bar", type=float, default=0.2)
    s.set_defaults(fn=cmd_report)
    args = p.parse_args()
    sys.exit(args.fn(args) or 0)


if __name__ == "__main__":
    main()
