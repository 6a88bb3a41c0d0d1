#!/usr/bin/env python3
"""Helpers for bench/tls/run.sh: parse the load generators, record runs,
summarise TLS facts and CPU profiles, render the report.

Reuses bench/benchlib.py (ports, snapshots, quiet wait, round check, CPU
accounting conventions) by import; nothing here starts or kills processes.

Subcommands:
  record ...            parse one load run (handshake-load JSON or h2load text)
                        and two `benchlib.py snap` snapshots; append a JSON line
  tlsfacts ...          parse `openssl s_client` transcripts into a JSON list
  meta ...              JSON: date, machine, tool versions
  report ...            medians, ratios, bars; Markdown to stdout and
                        (optionally) between the bench:tls markers of the docs
  cpuprofile FILE ...   top self-time functions of a V8 .cpuprofile
Only the Python 3 standard library is used.
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to bench/benchlib.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402  (bench/benchlib.py)

START_MARK = "<!-- bench:tls:start -->"
END_MARK = "<!-- bench:tls:end -->"
FOREIGN_LIMIT = benchlib.FOREIGN_LIMIT
CASES = {
    # name: (kind, title, bar)
    "hs-ecdsa": ("hs", "TLS handshakes/s, ECDSA P-256 certificate", 0.7),
    "hs-rsa": ("hs", "TLS handshakes/s, RSA-2048 certificate", 0.7),
    "h2-m10": ("h2", "HTTP/2 req/s, h2load 50 connections × 10 streams", 0.5),
    "h2-m1": ("h2", "HTTP/2 req/s, h2load 50 connections × 1 stream", 0.5),
}
# Below this share of its core, nginx was not the bottleneck of its run.
SATURATED = 0.85


# ---------------------------------------------------------------- load output parsing

def parse_handshake_load(text):
    """bench/tls/handshake-load.go prints one JSON object."""
    line = next((ln for ln in reversed(text.strip().split("\n")) if ln.startswith("{")), None)
    if line is None:
        return {}
    d = json.loads(line)
    lat = d.get("latency_ms") or {}
    res = {
        "requests": d["requests"], "completed": d.get("completed", d["requests"]), "duration_s": d["duration_s"], "rps": d["rps"],
        "errors": d["errors"], "non2xx": d["non2xx"], "resumed": d["resumed"],
        "negotiated": d.get("negotiated"),
    }
    if d["requests"]:
        res.update({"lat_avg_ms": lat["avg"], "p50_ms": lat["p50"], "p99_ms": lat["p99"], "lat_max_ms": lat["max"]})
    return res


_H2_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _h2_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _H2_UNITS[m.group(2)] if m else None


def parse_h2load(text):
    res = {"errors": {"failed": 0, "errored": 0, "timeout": 0}, "non2xx": 0}
    m = re.search(r"^finished in ([\d.]+)s, ([\d.]+) req/s", text, re.M)
    if m:
        res["rps"] = float(m.group(2))
    m = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text, re.M)
    if m:
        total, _, done, ok, failed, errored, timeout = map(int, m.groups())
        res["requests"] = ok
        res["completed"] = done
        res["errors"] = {"failed": failed, "errored": errored, "timeout": timeout}
        if res.get("rps"):
            res["duration_s"] = done / res["rps"] if done else 0.0
    m = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    if m:
        res["non2xx"] = int(m.group(2)) + int(m.group(3)) + int(m.group(4))
    m = re.search(r"^time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if m:
        res["lat_max_ms"] = _h2_ms(m.group(2))
        res["lat_avg_ms"] = _h2_ms(m.group(3))
    neg = {}
    for key, label in (("protocol", "TLS Protocol"), ("cipher", "Cipher"), ("group", "Server Temp Key"), ("alpn", "Application protocol")):
        m = re.search(rf"^{label}: (.+)$", text, re.M)
        if m:
            neg[key] = m.group(1).strip()
    if neg:
        res["negotiated"] = neg
    return res


# ---------------------------------------------------------------- record

def cmd_record(args):
    with open(args.before) as f:
        before = json.load(f)
    with open(args.after) as f:
        after = json.load(f)
    with open(args.load_out, errors="replace") as f:
        text = f.read()
    kind = CASES[args.case][0]
    try:
        parsed = parse_handshake_load(text) if kind == "hs" else parse_h2load(text)
    except (ValueError, KeyError):
        parsed = {}
    rec = {
        "kind": args.kind, "round": args.round, "case": args.case, "target": args.target, "rep": args.rep,
        "conns": args.conns, "streams": args.streams, "load_exit": args.load_exit, "probe_ok": args.probe_ok == "1",
        # benchlib.round-check groups by these
        "errors": {}, "non2xx": 0,
    }
    rec.update(parsed)
    wall = after["uptime"] - before["uptime"]
    rec["wall_s"] = wall
    for cpu in ("cpu0", "cpu1"):
        if cpu in before["cpus"] and cpu in after["cpus"]:
            db = after["cpus"][cpu][0] - before["cpus"][cpu][0]
            dt = after["cpus"][cpu][1] - before["cpus"][cpu][1]
            ds = after["cpus"][cpu][2] - before["cpus"][cpu][2]
            rec[f"{cpu}_busy"] = db / dt if dt > 0 else None
            rec[f"{cpu}_steal"] = ds / dt if dt > 0 else None
    for name in after["procs"]:
        a, b = after["procs"][name], before["procs"].get(name)
        if b is None:
            continue
        key = "proxy" if name == args.target else name
        rec[f"{key}_cpu_s"] = (a["ticks"] - b["ticks"]) / benchlib.CLK_TCK
        rec[f"{key}_rss_mb"] = a["rss_kb"] / 1024
    bs, bs0 = after.get("backend_status"), before.get("backend_status")
    if bs and bs0:
        rec["upstream_conns"] = bs["accepts"] - bs0["accepts"] - 1
        rec["backend_requests"] = bs["requests"] - bs0["requests"] - 1
    # CPU per request over everything the proxy did during the load process's
    # life: the requests counted in the measured time plus those completed
    # just after it (in flight when time ran out).
    done = rec.get("completed") or rec.get("requests")
    if done and "proxy_cpu_s" in rec:
        rec["us_per_req"] = rec["proxy_cpu_s"] * 1e6 / done
    if "proxy_cpu_s" in rec and wall > 0:
        rec["proxy_util"] = rec["proxy_cpu_s"] / wall
    if "proxy_cpu_s" in rec and rec.get("cpu0_busy") is not None and wall > 0:
        rec["cpu0_foreign"] = max(0.0, rec["cpu0_busy"] - rec["proxy_cpu_s"] / wall)
    if args.load_cpu_s is not None:
        rec["load_cpu_s"] = args.load_cpu_s
        if "backend_cpu_s" in rec and rec.get("cpu1_busy") is not None and wall > 0:
            rec["cpu1_foreign"] = max(0.0, rec["cpu1_busy"] - (rec["backend_cpu_s"] + args.load_cpu_s) / wall)
    rec["contended"] = benchlib.contention(rec)
    if rec.get("rps") and rec.get("lat_avg_ms") is not None:
        rec["eff_conc_avg"] = rec["rps"] * rec["lat_avg_ms"] / 1e3
    rec["flags"] = run_flags(rec)
    if "rps" not in rec:
        rec["load_output"] = text[-2000:]
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(one_line(rec))


def run_flags(rec):
    if "rps" not in rec:
        return [f"load generator produced no result (exit {rec['load_exit']})"]
    flags = []
    if rec["load_exit"] != 0:
        flags.append(f"load generator exit {rec['load_exit']}")
    errs = {k: v for k, v in (rec.get("errors") or {}).items() if v}
    if errs:
        flags.append("errors " + ", ".join(f"{k} {v}" for k, v in errs.items()))
    if rec.get("non2xx"):
        flags.append(f"{rec['non2xx']} non-2xx responses")
    if rec.get("resumed"):
        flags.append(f"{rec['resumed']} handshakes were resumptions")
    want = rec["conns"] * rec["streams"]
    eff = rec.get("eff_conc_avg")
    # Little's law for a closed loop: requests that never complete would
    # show as a shortfall here (see docs/benchmarks.md, stall check).
    # h2load's request time starts when the client submits the stream, so
    # the time a request waits inside a busy client is missing from it:
    # hence the lower threshold for HTTP/2.
    limit = 0.8 if CASES[rec["case"]][0] == "hs" else 0.5
    if eff is not None and eff < limit * want:
        flags.append(f"stall? rps x mean latency = {eff:.0f} of {want} in flight")
    if (rec.get("contended") or 0) > FOREIGN_LIMIT:
        flags.append("cores shared: other processes took {:.0f}% of CPU 0 and {:.0f}% of CPU 1, steal {:.0f}% / {:.0f}%".format(
            *((rec.get(k) or 0) * 100 for k in ("cpu0_foreign", "cpu1_foreign", "cpu0_steal", "cpu1_steal"))))
    if not rec["probe_ok"]:
        flags.append("post-run probe failed (proxy not answering a fresh request)")
    return flags


def one_line(rec):
    head = f"  {rec['case']:>8} {rec['target']:>9} {rec['kind']:<6}"
    if "rps" not in rec:
        return f"{head} NO RESULT {rec['flags']}"
    parts = [head, f"{rec['rps']:>9,.0f} req/s"]
    if rec.get("us_per_req") is not None:
        parts.append(f"{rec['us_per_req']:6.1f} us/req")
    if rec.get("proxy_util") is not None:
        parts.append(f"proxy {rec['proxy_util'] * 100:3.0f}%")
    if rec.get("cpu1_busy") is not None:
        parts.append(f"cpu1 {rec['cpu1_busy'] * 100:3.0f}%")
    if rec.get("contended") is not None:
        parts.append(f"lost {rec['contended'] * 100:2.0f}%")
    if rec.get("lat_avg_ms") is not None:
        parts.append(f"mean {rec['lat_avg_ms']:.1f} ms")
    line = "  ".join(parts)
    if rec["flags"]:
        line += "  !! " + "; ".join(rec["flags"])
    return line


# ---------------------------------------------------------------- TLS facts

def cmd_tlsfacts(args):
    """Each input is TARGET:HOST=FILE, an `openssl s_client` transcript."""
    facts = []
    for spec in args.transcripts:
        label, _, path = spec.partition("=")
        target, _, host = label.partition(":")
        with open(path, errors="replace") as f:
            text = f.read()

        def grab(rx):
            m = re.search(rx, text, re.M)
            return m.group(1).strip() if m else "?"
        facts.append({
            "target": target, "host": host,
            "protocol": grab(r"^New, (TLSv[\d.]+), Cipher is"),
            "cipher": grab(r"^New, TLSv[\d.]+, Cipher is (\S+)"),
            "group": grab(r"^Server Temp Key: (.+)$"),
            "signature": grab(r"^Peer signature type: (.+)$"),
            "alpn": grab(r"^ALPN protocol: (.+)$"),
            "tickets": len(re.findall(r"Post-Handshake New Session Ticket arrived", text)),
            "fingerprint": grab(r"^sha256 Fingerprint=(.+)$").replace(":", "")[:16].lower(),
        })
    json.dump(facts, sys.stdout, indent=1)
    print()


# ---------------------------------------------------------------- meta

def cmd_meta(args):
    import datetime
    import platform
    first = benchlib._first_line
    cpu_model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    git = first(["git", "-C", args.root, "rev-parse", "--short", "HEAD"])
    dirty = first(["git", "-C", args.root, "status", "--porcelain", "--untracked-files=no"])
    if git != "?" and dirty != "?":
        git += " (with uncommitted changes)"
    try:
        nginx_v = subprocess.run(["nginx", "-V"], capture_output=True, text=True, timeout=10).stderr
    except (OSError, subprocess.TimeoutExpired):
        nginx_v = ""
    m = re.search(r"running with (OpenSSL [\d.]+\w*)", nginx_v) or re.search(r"built with (OpenSSL [\d.]+\w*)", nginx_v)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "nginx_version": first(["nginx", "-v"]).replace("nginx version: ", "") + (f" ({m.group(1)})" if m else ""),
        "node_version": first([args.node, "-p", "process.version + ' (OpenSSL ' + process.versions.openssl + ')'"]),
        "h2load_version": first(["h2load", "--version"]),
        "go_version": first(["go", "version"]).replace("go version ", ""),
        "git": git,
        "loadavg": loadavg,
        "load_desc": args.load_desc,
    }
    json.dump(meta, sys.stdout, indent=1)
    print()


# ---------------------------------------------------------------- report

def med(values):
    return benchlib.med(values)


def fmt(v, spec, dash="–"):
    return benchlib.fmt(v, spec, dash)


def summarise(results):
    runs = [r for r in results if r["kind"] == "run"]
    rows = []
    for case in CASES:
        sel_case = [r for r in runs if r["case"] == case]
        if not sel_case:
            continue
        nginx_by_rep = {r["rep"]: r for r in sel_case if r["target"] == "nginx" and "rps" in r}
        nginx_us = med(r.get("us_per_req") for r in nginx_by_rep.values())
        nginx_util = med(r.get("proxy_util") for r in nginx_by_rep.values())
        targets = []
        for r in sel_case:
            if r["target"] not in targets:
                targets.append(r["target"])
        for t in targets:
            sel = [r for r in sel_case if r["target"] == t]
            ok = [r for r in sel if "rps" in r]
            rps = [r["rps"] for r in ok]
            ratios = [r["rps"] / nginx_by_rep[r["rep"]]["rps"] for r in ok if r["rep"] in nginx_by_rep and nginx_by_rep[r["rep"]]["rps"]]
            us = med(r.get("us_per_req") for r in ok)
            rows.append({
                "case": case, "target": t, "n": len(ok), "n_total": len(sel),
                "conns": sel[0]["conns"], "streams": sel[0]["streams"],
                "rps_med": med(rps), "rps_min": min(rps) if rps else None, "rps_max": max(rps) if rps else None,
                "ratio": med(ratios), "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
                "us_per_req": us, "capacity": (1e6 / us) if us else None,
                "cpu_ratio": (nginx_us / us) if (nginx_us and us) else None,
                "nginx_util": nginx_util,
                "util": med(r.get("proxy_util") for r in ok),
                "cpu0": med(r.get("cpu0_busy") for r in ok), "cpu1": med(r.get("cpu1_busy") for r in ok),
                "steal": max((r.get("contended") or 0 for r in ok), default=None),
                "p50": med(r.get("p50_ms") for r in ok), "p99": med(r.get("p99_ms") for r in ok),
                "lat_avg": med(r.get("lat_avg_ms") for r in ok), "lat_max": max((r.get("lat_max_ms") or 0 for r in ok), default=None),
                "eff": med(r.get("eff_conc_avg") for r in ok),
                "upconns": med(r.get("upstream_conns") for r in ok),
                "rss": max((r.get("proxy_rss_mb") or 0 for r in ok), default=None),
                "load_cpu_per_req": med((r["load_cpu_s"] * 1e6 / r["completed"]) if r.get("load_cpu_s") is not None and r.get("completed") else None for r in ok),
                "negotiated": next((r.get("negotiated") for r in ok if r.get("negotiated")), None),
                "flags": [f"rep {r['rep']}: {fl}" for r in sel for fl in r["flags"]]
                + [f"rep {r['rep']}: outlier, {r['rps']:,.0f} req/s is under 0.7 × this target's median"
                   for r in ok if med(rps) and r["rps"] < 0.7 * med(rps)],
            })
    return rows


def pct(v):
    return "–" if v is None else f"{v * 100:.0f}%"


def render(rows, meta, results, facts):
    out = [f"Run finished {meta.get('date', '?')}.", ""]
    for k, v in (
        ("machine", f"{meta.get('nproc', '?')} CPUs ({meta.get('cpu_model', '?')}), kernel {meta.get('kernel', '?')}"),
        ("nginx", meta.get("nginx_version", "?")),
        ("Node.js (Martello)", meta.get("node_version", "?")),
        ("Martello commit", meta.get("git", "?")),
        ("handshake client", f"bench/tls/handshake-load.go built with {meta.get('go_version', '?')}"),
        ("HTTP/2 client", meta.get("h2load_version", "?")),
        ("load", meta.get("load_desc", "?")),
        ("load average before the run", meta.get("loadavg", "?")),
    ):
        out.append(f"- **{k}**: {v}")
    out.append("")
    if facts:
        out.append("What each proxy negotiated with `openssl s_client` before the run (same certificate files for both):")
        out.append("")
        out.append("| proxy | SNI | protocol | cipher | key exchange | server signature | ALPN | certificate SHA-256 (first 8 bytes) | session tickets sent per full handshake |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for f in facts:
            out.append(f"| {f['target']} | {f['host']} | {f['protocol']} | {f['cipher']} | {f['group']} | {f['signature']} | {f['alpn']} | `{f['fingerprint']}` | {f['tickets']} |")
        out.append("")

    for kind, title, unit in (("hs", "TLS handshakes per second (one new connection per request, never resumed)", "handshake"),
                              ("h2", "HTTP/2 requests per second (h2load)", "request")):
        krows = [r for r in rows if CASES[r["case"]][0] == kind]
        if not krows:
            continue
        out.append(f"**{title}**")
        out.append("")
        lat_head = "p50 / p99 ms" if kind == "hs" else "mean / max ms"
        out.append(f"| case | target | {unit}s/s median (min–max) | **ratio to nginx** (min–max) | proxy CPU µs/{unit} | {unit}s/s per saturated core | **CPU-cost ratio** | proxy core use | CPU0 / CPU1 busy | max lost | {lat_head} | load side CPU µs/{unit} | RSS MB |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in krows:
            reps = "" if r["n"] == r["n_total"] else f" ({r['n']}/{r['n_total']} runs)"
            lat = (f"{fmt(r['p50'], '.1f')} / {fmt(r['p99'], '.1f')}" if kind == "hs"
                   else f"{fmt(r['lat_avg'], '.1f')} / {fmt(r['lat_max'], '.0f')}")
            out.append(
                f"| {r['case']} | {r['target']}{reps} | {fmt(r['rps_med'], ',.0f')} ({fmt(r['rps_min'], ',.0f')}–{fmt(r['rps_max'], ',.0f')}) "
                f"| **{fmt(r['ratio'], '.2f')}** ({fmt(r['ratio_min'], '.2f')}–{fmt(r['ratio_max'], '.2f')}) "
                f"| {fmt(r['us_per_req'], '.1f')} | {fmt(r['capacity'], ',.0f')} | **{fmt(r['cpu_ratio'], '.2f')}** "
                f"| {pct(r['util'])} | {pct(r['cpu0'])} / {pct(r['cpu1'])} | {pct(r['steal'])} | {lat} "
                f"| {fmt(r['load_cpu_per_req'], '.0f')} | {fmt(r['rss'], '.0f')} |")
        out.append("")
        negs = []
        for r in krows:
            n = r.get("negotiated") or {}
            if n:
                negs.append(f"{r['case']} {r['target']}: " + " ".join(str(n[k]) for k in ("protocol", "cipher", "group", "alpn") if n.get(k)))
        if negs:
            out.append("Negotiated with the load generator: " + "; ".join(negs) + ".")
            out.append("")
    out.append("Columns: medians over the repetitions unless noted. *ratio to nginx*: median over repetitions of "
               "(target ÷ nginx in the same repetition). *proxy CPU µs*: CPU time of all the proxy's processes ÷ completed "
               "requests; *per saturated core* = 10⁶ ÷ that, the rate one fully used core would reach at the same cost; "
               "*CPU-cost ratio* = nginx's µs ÷ the target's, the throughput ratio on saturated cores. *proxy core use*: "
               "proxy CPU time ÷ run time (below ~85 % the proxy was not the bottleneck: the load core was). *max lost*: the "
               "largest share of CPU 0 or CPU 1 taken by other processes plus hypervisor steal in a counted repetition. "
               "*load side CPU*: the load generator's CPU per request (the backend's is not included).")
    out.append("")
    discarded = [r for r in results if r["kind"] == "discarded"]
    if discarded:
        rounds = sorted({r.get("round", "?") for r in discarded})
        out.append(f"Repeated because other processes or hypervisor steal took more than {FOREIGN_LIMIT * 100:.0f}% of CPU 0 or CPU 1 "
                   f"(not in the medians): {len(rounds)} round(s), " + ", ".join(rounds) + ".")
        out.append("")
    flagged = [(r, fl) for r in rows for fl in r["flags"]]
    if flagged:
        out.append("**Checks flagged** (a flagged repetition still counts in the medians above):")
        out.append("")
        for r, fl in flagged:
            out.append(f"- {r['case']} {r['target']} {fl}")
    else:
        out.append("**Checks:** no run flagged (every run: the load generator exited 0 with no errors, no non-2xx, "
                   "no resumed handshake, rps × mean latency ≥ 0.8 × requests in flight (0.5 × for h2load, whose request time "
                   "leaves out the time a request waits in the busy client), and a fresh request through "
                   "the proxy answered after the run).")
    out.append("")
    out.append("**Bars** (issue 4: TLS handshake rate ≥ 0.7× nginx, HTTP/2 throughput ≥ 0.5× nginx):")
    out.append("")
    for r in rows:
        if r["target"] != "martello":
            continue
        bar = CASES[r["case"]][2]
        if r["ratio"] is None or r["cpu_ratio"] is None:
            out.append(f"- {r['case']}: no nginx run to compare with.")
            continue

        def verdict(x):
            return "meets" if x >= bar else "does NOT meet"
        nginx_sat = r["nginx_util"] is not None and r["nginx_util"] >= SATURATED
        if nginx_sat:
            out.append(f"- {r['case']}: req/s ratio {r['ratio']:.2f}× ({verdict(r['ratio'])} {bar}×), "
                       f"CPU-cost ratio {r['cpu_ratio']:.2f}× ({verdict(r['cpu_ratio'])}).")
        else:
            out.append(f"- {r['case']}: **CPU-cost ratio {r['cpu_ratio']:.2f}× ({verdict(r['cpu_ratio'])} {bar}×)**; the req/s ratio, "
                       f"{r['ratio']:.2f}× ({verdict(r['ratio'])}), is no per-core comparison here: nginx used only "
                       f"{pct(r['nginx_util'])} of its core (the load core or other work was the limit).")
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


def update_docs(path, md):
    block = f"{START_MARK}\n{md}\n{END_MARK}"
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n\n"
    if START_MARK in doc and END_MARK in doc and doc.index(START_MARK) < doc.index(END_MARK):
        doc = doc[: doc.index(START_MARK)] + block + doc[doc.index(END_MARK) + len(END_MARK):]
    else:
        doc = doc.rstrip("\n") + "\n\n## TLS handshakes and HTTP/2\n\n" + block + "\n"
    tmp = path + ".tls.tmp"
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
    facts = []
    if args.facts:
        with open(args.facts) as f:
            facts = json.load(f)
    md = render(summarise(results), meta, results, facts)
    print(md)
    if args.docs:
        update_docs(args.docs, md)
        print(f"\n(written between the bench:tls markers of {args.docs})", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- CPU profile

def profile_area(name, where):
    """Coarse owner of a profile frame, for the 'by area' table."""
    if not where:
        if name == "(program)":
            return "(program): native code with no JS frame on the stack (libuv, nghttp2, OpenSSL, V8)"
        if name == "(garbage collector)":
            return "(garbage collector)"
        return "native calls from JS (socket writes, shutdown, close: syscalls and TLS record encryption)"
    if name == "requestOCSPDone":
        return "TLS handshake in OpenSSL (resumed from the SNI callback inside requestOCSPDone)"
    if "undici" in where or where.startswith("wasm"):
        return "undici (upstream HTTP/1.1 client)"
    if where.startswith("src/"):
        return "Martello (src/" + "/".join(where.split("/")[1:3]) + ")"
    if where.startswith("node:internal/http2"):
        return "Node.js http2 (JS side)"
    if "tls" in where:
        return "Node.js TLS socket (JS side)"
    if where.startswith("node:"):
        return "Node.js net, streams, events, timers, modules"
    return where


def cmd_cpuprofile(args):
    """Self time per function of a V8 .cpuprofile (--cpu-prof), top N.
    Samples are attributed to the node on top of the stack; nodes of the
    same function (name, script, line) are merged."""
    with open(args.file) as f:
        prof = json.load(f)
    nodes = {n["id"]: n for n in prof["nodes"]}
    counts = {}
    for sid in prof.get("samples", []):
        counts[sid] = counts.get(sid, 0) + 1
    # time per sample: deltas are in µs
    deltas = prof.get("timeDeltas", [])
    total_us = sum(deltas) if deltas else 0
    n_samples = len(prof.get("samples", []))
    per_sample = total_us / n_samples if n_samples else 0
    by_fn = {}
    for nid, c in counts.items():
        cf = nodes[nid]["callFrame"]
        url = cf.get("url", "")
        short = re.sub(r"^file://", "", url)
        if args.root and short.startswith(args.root):
            short = short[len(args.root):].lstrip("/")
        name = cf.get("functionName") or "(anonymous)"
        key = (name, short, cf.get("lineNumber", -1) + 1 if short else 0)
        by_fn[key] = by_fn.get(key, 0) + c
    idle = sum(c for (name, _, _), c in by_fn.items() if name == "(idle)")
    busy = n_samples - idle
    top = sorted(((k, c) for k, c in by_fn.items() if k[0] != "(idle)"), key=lambda kv: -kv[1])[: args.top]
    lines = [f"{args.label or os.path.basename(args.file)}: {n_samples} samples over {total_us / 1e6:.1f} s "
             f"({per_sample:.0f} µs each), busy {busy * 100 / max(n_samples, 1):.0f}% (idle {idle * 100 / max(n_samples, 1):.0f}%)",
             "",
             "| self % of busy | function | where |",
             "|---|---|---|"]
    for (name, where, line), c in top:
        loc = f"{where}:{line}" if where else "native / V8"
        lines.append(f"| {c * 100 / busy:.1f} | `{name}` | {loc} |" if busy else f"| – | `{name}` | {loc} |")
    areas = {}
    for (name, where, _), c in by_fn.items():
        if name != "(idle)":
            areas[profile_area(name, where)] = areas.get(profile_area(name, where), 0) + c
    lines += ["", "| self % of busy | area |", "|---|---|"]
    for area, c in sorted(areas.items(), key=lambda kv: -kv[1]):
        if busy and c * 100 / busy >= 0.5:
            lines.append(f"| {c * 100 / busy:.1f} | {area} |")
    print("\n".join(lines))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("record")
    for name in ("out", "case", "target", "before", "after", "load-out", "kind", "probe-ok"):
        s.add_argument(f"--{name}", required=True)
    s.add_argument("--conns", type=int, required=True)
    s.add_argument("--streams", type=int, default=1)
    s.add_argument("--rep", type=int, required=True)
    s.add_argument("--load-exit", type=int, required=True)
    s.add_argument("--round", default="")
    s.add_argument("--load-cpu-s", type=float, default=None)
    s.set_defaults(fn=cmd_record)
    s = sub.add_parser("tlsfacts")
    s.add_argument("transcripts", nargs="*")
    s.set_defaults(fn=cmd_tlsfacts)
    s = sub.add_parser("meta")
    s.add_argument("--root", required=True)
    s.add_argument("--node", required=True)
    s.add_argument("--load-desc", default="?")
    s.set_defaults(fn=cmd_meta)
    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.add_argument("--meta")
    s.add_argument("--commands")
    s.add_argument("--facts")
    s.add_argument("--docs")
    s.set_defaults(fn=cmd_report)
    s = sub.add_parser("cpuprofile")
    s.add_argument("file")
    s.add_argument("--top", type=int, default=15)
    s.add_argument("--root", default="")
    s.add_argument("--label", default="")
    s.set_defaults(fn=cmd_cpuprofile)
    args = p.parse_args()
    sys.exit(args.fn(args) or 0)


if __name__ == "__main__":
    main()
