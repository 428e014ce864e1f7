//! A small hand-written SVG bar chart of pages/s per cell: one group per
//! worker count, one bar per concurrency, a whisker from min to max.

use super::results::BenchReport;
use std::fmt::Write as _;

const W: f64 = 720.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLORS: &[&str] = &["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"];

/// A round axis maximum and tick step for values up to `max`.
fn axis(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(raw);
    ((max / step).ceil() * step, step)
}

/// The chart as SVG text.
pub(crate) fn svg(report: &BenchReport) -> String {
    let mut workers: Vec<u32> = report.cells.iter().map(|c| c.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    let mut conc: Vec<u32> = report.cells.iter().map(|c| c.concurrency).collect();
    conc.sort_unstable();
    conc.dedup();
    let top = report.cells.iter().map(|c| c.pages_per_sec.max).fold(0.0, f64::max);
    let (ymax, step) = axis(top);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h * (1.0 - v / ymax);
    let group_w = plot_w / workers.len().max(1) as f64;
    let bar_w = group_w * 0.8 / conc.len().max(1) as f64;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">trawl bench: pages/s on a {}-page site ({} run(s) per cell, {} cores)</text>"#,
        LEFT + plot_w / 2.0,
        report.site_pages,
        report.runs,
        report.cores
    );
    let mut v = 0.0;
    while v <= ymax + step / 2.0 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0
        );
        v += step;
    }
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">pages/s</text>"#,
        TOP + plot_h / 2.0
    );
    for (gi, w) in workers.iter().enumerate() {
        let gx = LEFT + group_w * gi as f64 + group_w * 0.1;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{w} worker{}</text>"#,
            gx + group_w * 0.4,
            TOP + plot_h + 20.0,
            if *w == 1 { "" } else { "s" }
        );
        for (ci, c) in conc.iter().enumerate() {
            let Some(cell) = report.cells.iter().find(|x| x.workers == *w && x.concurrency == *c)
            else {
                continue;
            };
            let color = COLORS[ci % COLORS.len()];
            let x = gx + bar_w * ci as f64;
            let p = cell.pages_per_sec;
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{w} x {c}: {:.0} pages/s (min {:.0}, max {:.0})</title></rect>"#,
                y(p.median),
                bar_w * 0.9,
                (y(0.0) - y(p.median)).max(0.0),
                p.median,
                p.min,
                p.max
            );
            let cx = x + bar_w * 0.45;
            if p.max > p.min {
                let _ = writeln!(
                    s,
                    r#"<line x1="{cx:.1}" x2="{cx:.1}" y1="{:.1}" y2="{:.1}" stroke="black"/>"#,
                    y(p.min),
                    y(p.max)
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="10">{:.0}</text>"#,
                y(p.max) - 4.0,
                p.median
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<line x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="black"/>"#,
        LEFT + plot_w,
        y(0.0),
        y(0.0)
    );
    let lx = W - RIGHT + 20.0;
    let _ = writeln!(s, r#"<text x="{lx}" y="{}">concurrency</text>"#, TOP + 10.0);
    for (ci, c) in conc.iter().enumerate() {
        let ly = TOP + 30.0 + 20.0 * ci as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{}" y="{ly:.1}">{c} per worker</text>"#,
            ly - 10.0,
            COLORS[ci % COLORS.len()],
            lx + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{lx}" y="{:.1}" font-size="10">bar: median</text><text x="{lx}" y="{:.1}" font-size="10">whisker: min..max</text>"#,
        TOP + 50.0 + 20.0 * conc.len() as f64,
        TOP + 64.0 + 20.0 * conc.len() as f64
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::results::tests::sample;
    use super::*;

    #[test]
    fn axis_is_round() {
        assert_eq!(axis(3400.0), (4000.0, 1000.0));
        assert_eq!(axis(0.0), (1.0, 0.2));
        assert_eq!(axis(900.0), (1000.0, 200.0));
    }

    #[test]
    fn chart_has_a_bar_per_cell() {
        let cells = [(1, 1), (1, 16), (2, 1), (2, 16)];
        let samples = cells.iter().map(|_| vec![sample(100.0), sample(120.0)]).collect();
        let r = BenchReport::new(1000, 2, &cells, samples);
        let svg = svg(&r);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect x=").count(), 4 + 2, "4 bars + 2 legend swatches");
        assert!(svg.contains("2 workers"));
    }
}
