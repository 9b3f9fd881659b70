#!/usr/bin/env python3
"""Turns one `cargo bench -p bench` run's criterion estimates into the ratio tables of
BENCHMARKS.md (printed as markdown) and the log-log plot of the cache-write scaling figures
(bench/cache_write_scaling.svg). Ratios come from medians of the same run.

Usage: python3 bench/report.py [CRITERION_DIR] [SVG_PATH]
CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [100, 1000, 10000]
READ_SIZES = ["4KiB", "64KiB", "1MiB", "64MiB"]
READ_BYTES = {"4KiB": 4 << 10, "64KiB": 64 << 10, "1MiB": 1 << 20, "64MiB": 64 << 20}


def criterion_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")


def median_ns(root, *parts):
    """The median time per iteration of one benchmark, in nanoseconds, or None."""
    path = os.path.join(root, *parts, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def ms(ns):
    return "n/a" if ns is None else f"{ns / 1e6:.3f}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.1f}x"


def scaling_table(root, group, title):
    print(f"### {title} (`{group}`), median ms per build of N targets\n")
    print("| N | pack ms | passthrough ms | pack / passthrough |")
    print("|---:|---:|---:|---:|")
    series = {"pack": [], "passthrough": []}
    for n in SIZES:
        pack = median_ns(root, group, "pack", str(n))
        thru = median_ns(root, group, "passthrough", str(n))
        series["pack"].append(pack)
        series["passthrough"].append(thru)
        print(f"| {n:,} | {ms(pack)} | {ms(thru)} | {ratio(pack, thru)} |")
    print()
    return series


def read_table(root):
    print("### Verified read versus plain read (`verified_read`), median throughput\n")
    print("| size | page cache | plain GiB/s | verified GiB/s | verified / plain |")
    print("|---:|---|---:|---:|---:|")
    for size in READ_SIZES:
        for cache, suffix in (("hot", ""), ("cold (evicted)", "_cold")):
            plain = median_ns(root, "verified_read", "plain" + suffix, size)
            ver = median_ns(root, "verified_read", "verified" + suffix, size)
            if plain is None and ver is None and suffix:
                continue
            gib = lambda ns: "n/a" if ns is None else f"{READ_BYTES[size] / ns / 1.073741824:.2f}"
            share = "n/a" if plain is None or ver is None else f"{plain / ver:.2f}x"
            print(f"| {size} | {cache} | {gib(plain)} | {gib(ver)} | {share} |")
    print()


def observer_table(root):
    noop = median_ns(root, "observer_cost", "noop")
    counting = median_ns(root, "observer_cost", "counting")
    print("### Probe cost (`observer_cost`), median µs per MemFs build\n")
    print("| NoopObserver µs | counting observer µs | difference |")
    print("|---:|---:|---:|")
    if noop and counting:
        diff = (counting - noop) / noop * 100
        print(f"| {noop / 1e3:.1f} | {counting / 1e3:.1f} | {diff:+.1f}% |")
    print()


def svg_plot(path, phase, cold):
    """A hand-written log-log SVG: build time (ms) against N for both modes and both benches."""
    width, height, left, right, top, bottom = 640, 420, 70, 190, 40, 50
    lines = [
        ("pack, cache-write phase", phase["pack"], "#c0392b", ""),
        ("passthrough, cache-write phase", phase["passthrough"], "#2471a3", ""),
        ("pack, whole cold build", cold["pack"], "#c0392b", "6,4"),
        ("passthrough, whole cold build", cold["passthrough"], "#2471a3", "6,4"),
    ]
    values = [v / 1e6 for _, s, _, _ in lines for v in s if v]
    if not values:
        return
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    x0, x1 = math.log10(SIZES[0]), math.log10(SIZES[-1])
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(n):
        return left + (math.log10(n) - x0) / (x1 - x0) * plot_w

    def py(v):
        return top + (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14">Cache write, N fs:file targets on DiskFs '
        "(median ms, log-log)</text>",
    ]
    decade = lo
    while decade <= hi * 1.0001:
        y = py(decade)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{decade:g}</text>')
        decade *= 10
    for n in SIZES:
        x = px(n)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{n:,}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">N targets</text>')
    out.append(
        f'<text transform="translate(16,{top + plot_h / 2}) rotate(-90)" text-anchor="middle">ms</text>'
    )
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    for i, (label, series, color, dash) in enumerate(lines):
        points = [(px(n), py(v / 1e6)) for n, v in zip(SIZES, series) if v]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"{dash_attr}/>')
        for x, y in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        ly = top + 10 + i * 20
        lx = left + plot_w + 12
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{color}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{lx + 30}" y="{ly + 4}" font-size="11">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"plot written to {os.path.relpath(path)}\n")


def main():
    root = criterion_dir()
    svg = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "cache_write_scaling.svg")
    if not os.path.isdir(root):
        sys.exit(f"no criterion results under {root}: run `cargo bench -p bench` first")
    phase = scaling_table(root, "cache_write_phase", "Cache-write phase only")
    cold = scaling_table(root, "build_cold", "Whole cold build (group over N sources)")
    read_table(root)
    observer_table(root)
    svg_plot(svg, phase, cold)


if __name__ == "__main__":
    main()
