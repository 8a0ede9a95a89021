"""The benchmark suite's results, from the measurements the scripts record (lib.sh `record`).

  results.py scenario NAME DESCRIPTION RECORDS.tsv [RESULTS-DIR]
      Prints each metric's median and spread per proxy and the ratios of Heddle (and of each
      Heddle variant, such as two-hop's mtls) over HAProxy and over nginx; writes
      RESULTS-DIR/NAME.json when RESULTS-DIR is given.
  results.py summary RESULTS-DIR [NAME...]
      From NAME.json there for each NAME given (else every one): summary.md (one table of medians and ratios) and latency.png
      (the open-loop latency percentiles, when that scenario ran; needs matplotlib).

A record is `metric, unit, name, value` for one round. Names: `heddle` or a Heddle variant,
the peers `haproxy` and `nginx`, and `direct` (no proxy). Metrics whose name starts with
`latency ` are absolute latencies (direct included), kept for the plot; the table shows the
`added latency ...` ones.
"""
import csv
import json
import math
import re
import statistics
import sys
from pathlib import Path

PEERS = ("haproxy", "nginx")


def summarize(rows):
    """Groups records by metric (in recorded order) into medians, spread and ratios."""
    metrics = {}
    for metric, unit, name, value in rows:
        entry = metrics.setdefault(metric, {"metric": metric, "unit": unit, "values": {}})
        entry["values"].setdefault(name, []).append(float(value))
    for entry in metrics.values():
        values = entry["values"]
        entry["median"] = {name: statistics.median(v) for name, v in values.items()}
        entry["spread"] = {name: [min(v), max(v)] for name, v in values.items()}
        entry["ratios"] = ratios(entry["median"])
    return list(metrics.values())


def ratios(median):
    """Each Heddle variant's median over each peer's, where both are above zero (an added
    latency below zero, a peer's percentile under direct's in that round, has no ratio)."""
    return {f"{name} / {peer}": median[name] / median[peer]
            for name in median if name not in PEERS + ("direct",) and median[name] > 0
            for peer in PEERS if median.get(peer, 0) > 0}


def fmt(x):
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def scenario(name, description, records, results_dir=""):
    with open(records) as f:
        metrics = summarize(csv.reader(f, delimiter="\t"))
    for m in (m for m in metrics if not m["metric"].startswith("latency ")):  # those are for the plot
        values = ", ".join(
            f"{n} {fmt(m['median'][n])}" + (f" ({fmt(lo)}-{fmt(hi)})" if lo != hi else "")
            for n, (lo, hi) in m["spread"].items())
        ratios = "".join(f"; {k} = {v:.2f}" for k, v in m["ratios"].items())
        print(f"{name}: {m['metric']} ({m['unit']}, median of {max(len(v) for v in m['values'].values())}): {values}{ratios}")
    if results_dir:
        out = {"scenario": name, "description": description, "metrics": metrics}
        Path(results_dir, f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")


def cell(m, name):
    if name not in m["median"]:
        return "—"
    lo, hi = m["spread"][name]
    return fmt(m["median"][name]) + (f" ({fmt(lo)}–{fmt(hi)})" if lo != hi else "")


def summary(results_dir, *names):
    paths = [Path(results_dir, f"{n}.json") for n in names] if names else sorted(Path(results_dir).glob("*.json"))
    scenarios = [json.loads(p.read_text()) for p in paths if p.exists()]
    lines = ["| scenario | metric | unit | Heddle (variant) | HAProxy | nginx | Heddle ÷ HAProxy | Heddle ÷ nginx |",
             "|---|---|---|---|---|---|---|---|"]
    for s in scenarios:
        for m in s["metrics"]:
            if m["metric"].startswith("latency "):
                continue
            by_peer = ratios(m["median"])
            for name in (n for n in m["median"] if n not in PEERS + ("direct",)):
                ratio = lambda peer: f"{by_peer[f'{name} / {peer}']:.2f}" if f"{name} / {peer}" in by_peer else "—"
                lines.append(f"| {s['scenario']} | {m['metric']} | {m['unit']} | {cell(m, name)}"
                             f"{'' if name == 'heddle' else f' ({name})'} | {cell(m, 'haproxy')} | {cell(m, 'nginx')}"
                             f" | {ratio('haproxy')} | {ratio('nginx')} |")
    text = ["# Benchmark results", "", "Medians over the rounds (spread: min–max). Ratios are of medians.", ""]
    text += lines + [""] + [f"- **{s['scenario']}**: {s['description']}" for s in scenarios]
    Path(results_dir, "summary.md").write_text("\n".join(text) + "\n")
    print("\n".join(lines))
    plot([m for s in scenarios for m in s["metrics"]], Path(results_dir, "latency.png"))


def plot(metrics, path):
    """One panel per rate: latency against percentile, a line per proxy and for direct."""
    curves = {}  # rate -> name -> [(percentile, median µs)]
    for m in metrics:
        match = re.fullmatch(r"latency p([\d.]+) at (\d+) rps", m["metric"])
        if match:
            for name, value in m["median"].items():
                curves.setdefault(int(match[2]), {}).setdefault(name, []).append((float(match[1]), value))
    if not curves:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.5), squeeze=False)
    for ax, (rate, by_name) in zip(axes[0], sorted(curves.items())):
        for name, points in by_name.items():
            points.sort()
            nines = [-math.log10(1 - p / 100) for p, _ in points]  # p90 -> 1, p99 -> 2
            ax.plot(nines, [v for _, v in points], marker="o", label=name)
            ax.set_xticks(nines, [f"p{p:g}" for p, _ in points])
        ax.set_yscale("log")
        ax.set_title(f"open loop, {rate} rps")
        ax.set_ylabel("latency from scheduled send (µs)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"scenario": scenario, "summary": summary}[command](*args)
