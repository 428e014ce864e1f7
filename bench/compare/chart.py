#!/usr/bin/env python3
"""Summarise bench/compare/run.sh's runs.jsonl: a Markdown table
(min/median/max per crawler) and an SVG chart (two panels of horizontal
bars: pages/s and CPU ms/page; bar = median, whisker = min..max).
Standard library only.

    chart.py runs.jsonl --table table.md --svg compare.svg [--title TEXT]
"""
import argparse
import json
import math
import statistics
from xml.sax.saxutils import escape

LABELS = {
    "trawl-1x64": "trawl 1 worker x 64 (fields, sled)",
    "trawl-2x64": "trawl 2 workers x 64 (fields, sled)",
    "spider": "spider-rs x 64 + scraper (fields, file)",
    "trawl-links-1x64": "trawl 1 worker x 64, links only",
    "wget2": "wget2 64 threads, links only",
}
ORDER = ["trawl-1x64", "trawl-2x64", "spider", "trawl-links-1x64", "wget2"]
COLORS = {"trawl": "#4e79a7", "spider": "#e15759", "wget2": "#59a14f"}


def spread(values):
    return min(values), statistics.median(values), max(values)


def summarise(runs):
    by = {}
    for r in runs:
        by.setdefault(r["crawler"], []).append(r)
    rows = []
    for name in sorted(by, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        rs = by[name]
        rows.append({
            "crawler": name,
            "runs": len(rs),
            "pages": spread([r["pages"] for r in rs]),
            "pages_per_s": spread([r["pages_per_s"] for r in rs]),
            "cpu_ms_per_page": spread([r["cpu_ms_per_page"] for r in rs]),
            "peak_rss_mb": spread([r["peak_rss_mb"] for r in rs]),
            "load1": spread([r["load1"] for r in rs]),
        })
    return rows


def fmt(s, digits):
    return " / ".join(f"{v:,.{digits}f}" for v in s)


def table(rows):
    out = ["| crawler | pages/s (min / median / max) | CPU ms/page | peak RSS MB | pages | load (1 min) |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {LABELS.get(r['crawler'], r['crawler'])} | {fmt(r['pages_per_s'], 0)} | "
            f"{fmt(r['cpu_ms_per_page'], 3)} | {fmt(r['peak_rss_mb'], 0)} | "
            f"{fmt(r['pages'], 0)} | {r['load1'][0]:.1f}-{r['load1'][2]:.1f} |")
    return "\n".join(out) + "\n"


def axis(top):
    """A round axis maximum and tick step for values up to `top`."""
    top = top if top > 0 else 1.0
    raw = top / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    return math.ceil(top / step - 1e-9) * step, step


def svg(rows, title):
    label_w, panel_w, gap, bar_h, top = 270, 300, 40, 22, 56
    width = label_w + 2 * panel_w + gap + 30
    height = top + bar_h * 1.5 * len(rows) + 60
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
         f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
         f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
         f'<text x="{width / 2:.0f}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']
    panels = [("pages/s (higher is better)", "pages_per_s", 0),
              ("CPU ms per page (lower is better)", "cpu_ms_per_page", 2)]
    for p, (name, key, digits) in enumerate(panels):
        x0 = label_w + p * (panel_w + gap)
        vmax, step = axis(max(r[key][2] for r in rows))
        scale = panel_w / vmax
        s.append(f'<text x="{x0 + panel_w / 2:.0f}" y="42" text-anchor="middle">{name}</text>')
        bottom = top + bar_h * 1.5 * len(rows)
        v = 0.0
        while v <= vmax + step / 2:
            x = x0 + v * scale
            s.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{bottom:.1f}" stroke="#ddd"/>'
                     f'<text x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle" font-size="10">'
                     f'{v:,.{digits if step < 1 else 0}f}</text>')
            v += step
        for i, r in enumerate(rows):
            y = top + bar_h * 1.5 * i
            lo, med, hi = r[key]
            color = COLORS["trawl" if r["crawler"].startswith("trawl") else r["crawler"]]
            if p == 0:
                s.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">'
                         f'{escape(LABELS.get(r["crawler"], r["crawler"]))}</text>')
            s.append(f'<rect x="{x0}" y="{y:.1f}" width="{med * scale:.1f}" height="{bar_h}" fill="{color}">'
                     f'<title>{escape(r["crawler"])}: median {med:,.{digits}f} (min {lo:,.{digits}f}, '
                     f'max {hi:,.{digits}f})</title></rect>')
            cy = y + bar_h / 2
            s.append(f'<line x1="{x0 + lo * scale:.1f}" x2="{x0 + hi * scale:.1f}" y1="{cy:.1f}" '
                     f'y2="{cy:.1f}" stroke="black"/>')
            for v in (lo, hi):
                s.append(f'<line x1="{x0 + v * scale:.1f}" x2="{x0 + v * scale:.1f}" y1="{cy - 5:.1f}" '
                         f'y2="{cy + 5:.1f}" stroke="black"/>')
            s.append(f'<text x="{x0 + hi * scale + 4:.1f}" y="{cy + 4:.1f}" font-size="10">'
                     f'{med:,.{digits}f}</text>')
    s.append(f'<text x="{label_w}" y="{height - 12:.0f}" font-size="10">bar: median; whisker: '
             f'min..max over {rows[0]["runs"]} runs; CPU = user + system of the crawler and its '
             f'child processes (GNU time)</text>')
    s.append("</svg>")
    return "\n".join(s) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs")
    ap.add_argument("--table", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--title", default="trawl, spider-rs and wget2 side by side")
    a = ap.parse_args()
    runs = [json.loads(line) for line in open(a.runs) if line.strip()]
    if not runs:
        raise SystemExit(f"{a.runs}: no runs")
    rows = summarise(runs)
    with open(a.table, "w") as f:
        f.write(table(rows))
    with open(a.svg, "w") as f:
        f.write(svg(rows, a.title))


if __name__ == "__main__":
    main()
