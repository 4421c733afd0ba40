#!/usr/bin/env python3
"""Tables and chart for BENCHMARKS.md, from the JSON reports of scripts/bench.sh.

usage: python3 scripts/bench-report.py [results-dir] [chart.png]

Prints one Markdown table per scenario (each target beside the baseline of the
same run, with the ratio: the chat server on real and on embedded Kafka, and
Centrifugo) and draws p99 (and p50) latency against load for every target from
the `sweep-<rate>` runs. The chart needs matplotlib: when it is missing, the
script installs it into .bench-venv/ (git-ignored) and runs itself again from
there.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results"
CHART = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "benchmarks-latency.png"
TARGETS = ["baseline", "kafka", "embedded", "centrifugo", "centrifugo-warm"]
TARGET_NAMES = {
    "baseline": "raw tokio baseline",
    "kafka": "chat server, real Kafka",
    "embedded": "chat server, embedded Kafka",
    "centrifugo": "Centrifugo v6, memory engine",
    # The storm only: Centrifugo not restarted (as the baseline).
    "centrifugo-warm": "Centrifugo v6, not restarted",
}
SHORT_NAMES = {"baseline": "baseline", "kafka": "chat, Kafka", "embedded": "chat, embedded", "centrifugo": "Centrifugo"}
# Line colours of the chart, one per target.
COLORS = {"baseline": "tab:gray", "kafka": "tab:purple", "embedded": "tab:blue", "centrifugo": "tab:orange"}


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        venv = ROOT / ".bench-venv"
        python = venv / "bin" / "python"
        # Already running inside the venv (its python links to the system one: compare prefixes).
        if Path(sys.prefix).resolve() == venv.resolve():
            raise
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "matplotlib"], check=True)
        os.execv(str(python), [str(python), *sys.argv])


def load(name):
    return {t: json.loads(p.read_text()) for t in TARGETS if (p := RESULTS / f"{name}.{t}.json").exists()}


def ratio(value, base):
    return f"{value / base:.2f}x" if base else "-"


def kib(report):
    b = report.get("server_bytes_per_connection")
    return f"{b / 1024:.1f}" if b is not None else "-"


def cpu_per_delivery(report, base):
    """The server's CPU per delivery over the send phase, and against the baseline's."""
    us = report.get("server_cpu_us_per_delivery")
    if us is None:
        return "-"
    b = (base or {}).get("server_cpu_us_per_delivery")
    return f"{us:.2f}" + (f" ({ratio(us, b)})" if b and report is not base else "")


def table(name):
    runs = load(name)
    if not runs:
        return
    base = runs.get("baseline")
    print(f"\n#### {name}\n")
    print("| server | clients | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | lost | dup | KiB/conn | connects/s "
          "| server CPU µs/delivery | p50 / p99 vs baseline |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for target, r in runs.items():
        lat = r["latency_ms"]
        measured = lat["samples"] > 0  # an idle hold has no latency
        vs = "-" if target == "baseline" or not base or not measured else (
            f"{ratio(lat['p50'], base['latency_ms']['p50'])} / {ratio(lat['p99'], base['latency_ms']['p99'])}"
        )
        ms = " | ".join(f"{lat[q]:.2f}" if measured else "-" for q in ("p50", "p90", "p99", "max"))
        print(
            f"| {TARGET_NAMES[target]} | {r['clients_connected']:,} | {r['deliveries_per_second']:,.0f} "
            f"| {ms} "
            f"| {r['lost']} | {r['duplicated']} | {kib(r)} | {r['connect_rate']:,.0f} | {cpu_per_delivery(r, base)} | {vs} |"
        )
    for target, r in runs.items():
        problems = {k: v for k, v in (r["errors"] | r["connect_errors"]).items() if v}
        if problems or r["disconnected"] or r["send_queue_full"]:
            print(f"\n{TARGET_NAMES[target]}: errors {problems}, disconnected {r['disconnected']}, "
                  f"send queue full {r['send_queue_full']}")


def cpu_per_connection(report):
    us = report.get("server_cpu_us_per_connection")
    return f"{us:.0f}" if us is not None else "-"


def connect_table():
    """Connections opened as fast as each server takes them, at most N under way at once."""
    runs = load("connect")
    if not runs:
        return
    r0 = next(iter(runs.values()))
    print(f"\n#### connect: {r0['clients_requested']:,} connections, as fast as taken, "
          f"{r0.get('connect_concurrency', 0)} at once, from {r0.get('processes', 1)} bench process(es)\n")
    print("| server | connected | connects/s | connected before the first failure | in s | connects/s until then "
          "| failed | refused below the limit | KiB/conn | server CPU µs/connection |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for target, r in runs.items():
        first = r.get("first_failure_seconds")
        until = f"{first:.2f}" if first is not None else "- (none failed)"
        print(f"| {TARGET_NAMES[target]} | {r['clients_connected']:,} | {r['connect_rate']:,.0f} "
              f"| {r.get('connected_before_first_failure', r['clients_connected']):,} | {until} "
              f"| {r.get('connect_rate_before_first_failure', r['connect_rate']):,.0f} | {r['connect_failures']} "
              f"| {r.get('refused_below_limit', '-')} | {kib(r)} | {cpu_per_connection(r)} |")
    for target, r in runs.items():
        if r["connect_errors"]:
            print(f"\n{TARGET_NAMES[target]}: {r['connect_errors']} (limit {r.get('server_limit')})")


def sweep_rates():
    return sorted({int(p.name.split(".")[0].split("-")[1]) for p in RESULTS.glob("sweep-*.json")})


def sweep_shape():
    """Clients and seconds of sending of the sweep's runs (from the first of them)."""
    r = json.loads(next(iter(sorted(RESULTS.glob("sweep-*.json")))).read_text())
    return r["clients_requested"], round(r["send_seconds"])


def sweep_targets():
    """The targets that have sweep runs, in the usual order."""
    return [t for t in TARGETS if any(RESULTS.glob(f"sweep-*.{t}.json"))]


def sweep_table():
    """One row per fan-out rate: every target's p50 / p99 at that rate, and p99 against the baseline's."""
    rates, targets = sweep_rates(), sweep_targets()
    if not rates:
        return
    others = [t for t in targets if t != "baseline"]
    clients, seconds = sweep_shape()
    print(f"\n#### sweep: 1 room x {clients:,} clients, {seconds:g} s per rate\n")
    print("| msg/s in | deliveries/s | " + " | ".join(f"{SHORT_NAMES[t]} p50 / p99 ms" for t in targets) + " | "
          + " | ".join(f"{SHORT_NAMES[t]} p99 vs baseline" for t in others) + " | lost | dup |")
    print("|---" * (4 + len(targets) + len(others)) + "|")
    for rate in rates:
        runs = load(f"sweep-{rate}")
        if not runs:
            continue
        base = runs.get("baseline")
        cells = [f"{runs[t]['latency_ms']['p50']:.2f} / {runs[t]['latency_ms']['p99']:.2f}" if t in runs else "-"
                 for t in targets]
        vs = [ratio(runs[t]["latency_ms"]["p99"], base["latency_ms"]["p99"]) if t in runs and base else "-"
              for t in others]
        deliveries = max(r["deliveries_per_second"] for r in runs.values())
        print(f"| {rate} | {deliveries:,.0f} | " + " | ".join(cells) + " | " + " | ".join(vs) + " | "
              f"{sum(r['lost'] for r in runs.values())} | {sum(r['duplicated'] for r in runs.values())} |")


def variance_table():
    """The fan-out run again, on fresh servers: how far one run's figures are from another's."""
    runs = [(p.name.split(".")[0], json.loads(p.read_text())) for p in sorted(RESULTS.glob("variance-*.kafka.json"))]
    if not runs:
        return
    print("\n#### variance: the fan-out again, chat server on real Kafka, 30 s each\n")
    print("| run | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | lost | dup |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in runs:
        lat = r["latency_ms"]
        print(f"| {name} | {r['deliveries_per_second']:,.0f} | {lat['p50']:.2f} | {lat['p90']:.2f} | {lat['p99']:.2f} "
              f"| {lat['max']:.2f} | {r['lost']} | {r['duplicated']} |")


def linger_table():
    """The producer's linger.ms against latency and load, on real Kafka."""
    runs = [(name, int(p.name.split(".")[0].rsplit("linger", 1)[1]), json.loads(p.read_text()))
            for p in sorted(RESULTS.glob("*-linger*.kafka.json"))
            for name in [p.name.split("-linger")[0]]]
    if not runs:
        return
    print("\n#### linger.ms (chat server, real Kafka)\n")
    print("| scenario | linger.ms | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | lost | dup |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, linger, r in sorted(runs, key=lambda x: (x[0], x[1])):
        lat = r["latency_ms"]
        print(f"| {name} | {linger} | {r['deliveries_per_second']:,.0f} | {lat['p50']:.2f} | {lat['p90']:.2f} "
              f"| {lat['p99']:.2f} | {lat['max']:.2f} | {r['lost']} | {r['duplicated']} |")


def storm_table():
    """The reconnect storm: each run against each server, beside the goal."""
    runs = [(p.name.split(".")[0], p.name.split(".")[1], json.loads(p.read_text()))
            for p in RESULTS.glob("storm*.json")]
    runs.sort(key=lambda run: (run[0], TARGETS.index(run[1])))
    if not runs:
        return
    r0 = runs[0][2]
    print(f"\n#### storm: {r0['clients']:,} clients, {r0['rooms']} rooms, {r0['behind']} messages behind each; "
          f"goal: all recovered within {r0['goal_seconds']:g} s\n")
    print("| run | server | restarted | last recovered s | p50 / p99 s | TCP connect p99 s | history wait p99 s "
          "| recovered | failed connects (503) | evicted | lost | dup | recovered=false | Kafka reads / rooms "
          "| listen overflows | CPU s server / bench | RSS MiB after | goal |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, target, r in runs:
        at = r["recovered_at_ms"]
        cpu = r["cpu"]
        last = f"{r['storm_seconds']:.2f}" if r["storm_seconds"] is not None else "-"
        reads = f"{r['kafka_reads']:g} / {r['rooms']}" if r["kafka_reads"] is not None else "-"
        rss = f"{r['server_rss_kib'] / 1024:.0f}" if r.get("server_rss_kib") else "-"
        server = cpu.get("server_seconds")
        bench = cpu.get("bench_seconds")
        cpus = f"{server:.2f} / {bench:.2f}" if server is not None and bench is not None else "-"
        print(f"| {name} | {TARGET_NAMES[target]} | {'yes' if r['restarted'] else 'no'} | {last} "
              f"| {at['p50'] / 1000:.2f} / {at['p99'] / 1000:.2f} | {r['tcp_ms']['p99'] / 1000:.2f} "
              f"| {r['history_wait_ms']['p99'] / 1000:.2f} | {r['clients_recovered']:,} "
              f"| {r['connect_failures']} ({r['connects_refused']}) | {r['evicted']} | {r['lost']} | {r['duplicated']} "
              f"| {r['recovered_false']} | {reads} | {cpu.get('tcp', {}).get('ListenOverflows', '-')} | {cpus} | {rss} "
              f"| {'met' if r['goal_met'] else 'missed'} |")
    for name, target, r in runs:
        if r["goal_misses"]:
            print(f"\n{name} {TARGET_NAMES[target]}: {'; '.join(r['goal_misses'])}")


def chart():
    sweeps = sweep_rates()
    if not sweeps:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    for target in sweep_targets():
        points = [(r, load(f"sweep-{r}").get(target)) for r in sweeps]
        points = [(p["deliveries_per_second"], p["latency_ms"]) for _, p in points if p]
        if not points:
            continue
        x = [d / 1000 for d, _ in points]
        color, label = COLORS.get(target, "black"), TARGET_NAMES[target]
        ax.plot(x, [lat["p99"] for _, lat in points], "-", color=color, marker="o", label=f"{label} p99")
        ax.plot(x, [lat["p50"] for _, lat in points], ":", color=color, marker=".", label=f"{label} p50")
    ax.axhline(50, color="tab:red", linewidth=0.8, linestyle=":", label="fan-out goal: p99 50 ms")
    ax.set_yscale("log")
    ax.set_xlabel(f"deliveries per second, thousands (1 room x {sweep_shape()[0]:,} clients)")
    ax.set_ylabel("send -> receive latency, ms (log)")
    ax.set_title("Latency against fan-out load, 2 cores shared with the load tool and Kafka", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART)
    print(f"\nchart: {CHART.relative_to(ROOT) if CHART.is_relative_to(ROOT) else CHART}")


def main():
    if any(RESULTS.glob("sweep-*.json")):
        ensure_matplotlib()  # before any output: it may re-run this script in the venv
    for name in ["latency", "fanout", "rooms", "rooms-half", "idle", "idle-limit"]:
        table(name)
    connect_table()
    sweep_table()
    linger_table()
    variance_table()
    storm_table()
    chart()


if __name__ == "__main__":
    main()
