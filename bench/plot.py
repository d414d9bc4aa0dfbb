"""PNG charts of a benchmark run (bench/run.py --plot DIR), with matplotlib
(Debian's python3-matplotlib; scripts/setup.sh installs it).

    python3 bench/plot.py DIR RUNS.json [IDLE.json]   # what run.py --plot does

Debian's matplotlib is importable by Debian's /usr/bin/python3; when the
python3 on PATH is another one (pyenv, a venv) run.py runs this file with
/usr/bin/python3 instead.

One chart per echo scenario (server CPU µs per message and msgs/s, every
server), one for fan-out (deliveries/s and CPU µs per delivery) and, given
idle_memory.py's --json output, one of idle memory per connection. Bars are
medians over the runs; the whiskers span the fastest and slowest run.
"""
import json
import os
import statistics
import sys

# iocpnet's rows stand out; the references share one colour per family.
COLOURS = {"iocpnet": "#1f6fb4", "iocpnet-epoll": "#5aa0d8", "java": "#2e8b57", "csharp": "#6a3d9a"}
REF = "#9a9a9a"


def _colour(name):
    return COLOURS.get(name, REF)


def _stats(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    if not vals:
        return None, 0, 0
    m = statistics.median(vals)
    return m, m - min(vals), max(vals) - m


def _panel(ax, names, runs, key, title, unit_fmt):
    meds, lo, hi = [], [], []
    for n in names:
        m, a, b = _stats(runs[n], key)
        meds.append(m or 0)
        lo.append(a)
        hi.append(b)
    y = range(len(names))
    ax.barh(y, meds, xerr=[lo, hi], color=[_colour(n) for n in names], capsize=3)
    ax.set_yticks(list(y))
    ax.set_yticklabels(names)
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    for i, m in enumerate(meds):
        if m:  # right of the whisker, so the number stays readable
            ax.text(m + hi[i], i, " " + format(m, unit_fmt), va="center", fontsize=8)
    ax.set_xlim(0, max([m + h for m, h in zip(meds, hi)] + [0]) * 1.35 or 1)


def _figure(plt, path, suptitle, names, runs, panels):
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 0.45 * len(names) + 1.6))
    for ax, (key, title, fmt) in zip(axes, panels):
        _panel(ax, names, runs, key, title, fmt)
    fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot(outdir, scenarios, idle=None):
    """scenarios: ordered {scenario: (kind, description, {server: [ok runs]})}.
    idle: idle_memory.py's list of runs, or None. Returns the files written."""
    import matplotlib
    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    written = []
    for sc, (kind, desc, runs) in scenarios.items():
        names = [n for n, rs in runs.items() if rs]
        if not names:
            continue
        for r in (r for rs in runs.values() for r in rs):
            r.setdefault("cpu_us_per_msg", r["server_cpu_us"] / r["msgs"] if r.get("msgs") else None)
        if kind in ("echo", "tls", "ws-echo"):
            panels = [("cpu_us_per_msg", "server CPU µs per message (lower is better)", ".2f"),
                      ("msgs_per_s", "round trips per second (higher is better)", ",.0f")]
        elif kind == "proxy":  # bench/proxy_bench.py
            panels = [("cpu_us_per_mb", "proxy CPU µs per MB forwarded (lower is better)", ".0f"),
                      ("mb_per_s", "MB/s forwarded, both directions (higher is better)", ",.0f")]
        else:
            panels = [("msgs_per_s", "deliveries per second (higher is better)", ",.0f"),
                      ("cpu_us_per_msg", "server CPU µs per delivery (lower is better)", ".3f")]
        written.append(_figure(plt, os.path.join(outdir, f"{sc}.png"), f"{sc}: {desc}", names, runs, panels))
    if idle:
        groups = {}
        for r in idle:
            if r.get("ok"):
                groups.setdefault(f"{r['server']} ({r['backend']})", []).append(r)
        if groups:
            names = list(groups)
            fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.4))
            _panel(ax, names, groups, "bytes_per_conn", "server RSS growth per idle connection, bytes (lower is better)", ",.0f")
            for label, bar in zip(ax.get_yticklabels(), ax.patches):
                bar.set_color(_colour(label.get_text().split(" ")[0]))
            fig.tight_layout()
            path = os.path.join(outdir, "idle-memory.png")
            fig.savefig(path, dpi=100)
            plt.close(fig)
            written.append(path)
    return written


def grouped(everything, scenarios):
    """run.py's raw runs -> plot()'s argument: only verified runs count."""
    out = {}
    for r in everything:
        kind, _, desc = scenarios.get(r["scenario"], ("echo", None, r["scenario"]))
        out.setdefault(r["scenario"], (kind, desc, {}))[2].setdefault(r["server"], [])
        if r["ok"]:
            out[r["scenario"]][2][r["server"]].append(r)
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run import SCENARIOS  # noqa: E402 (the scenario descriptions)
    with open(sys.argv[2]) as f:
        runs = json.load(f)
    idle = None
    if len(sys.argv) == 4:
        with open(sys.argv[3]) as f:
            idle = json.load(f)
    for path in plot(sys.argv[1], grouped(runs, SCENARIOS), idle):
        print(f"wrote {path}", file=sys.stderr)
