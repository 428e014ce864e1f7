//! Thread CPU time of `extract` (DOM path with a rule, and the token path)
//! on pathological inputs at two sizes, to spot superlinear ones.
//! `cargo run --release -p trawl-worker --example parse_cost [FILTER]`;
//! `ONE=rt N=200000 ...` runs one input once on the DOM path.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use trawl_common::protocol::{ExtractRule, Take};
use trawl_common::url::{Scope, ScopeKind, Url};
use trawl_worker::extract;

fn cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// A named input generator: markup for a size.
type Case = (&'static str, fn(usize) -> String);

fn cases() -> Vec<Case> {
    vec![
        ("div", |n| "<div>".repeat(n)),
        ("rt", |n| "<rt>".repeat(n)),
        ("rb", |n| "<rb>".repeat(n)),
        ("li", |n| "<li>".repeat(n)),
        ("dd", |n| "<dd>".repeat(n)),
        ("option", |n| "<option>".repeat(n)),
        ("optgroup", |n| "<optgroup>".repeat(n)),
        ("p", |n| "<p>".repeat(n)),
        ("td", |n| "<td>".repeat(n)),
        ("tr", |n| "<tr>".repeat(n)),
        ("a", |n| "<a href=x>".repeat(n)),
        ("attrs", |n| format!("<div {}>", (0..n).map(|i| format!("a{i}=1 ")).collect::<String>())),
        ("dup-attrs", |n| format!("<div {}>", "a=1 ".repeat(n))),
        ("biu", |n| "<b><i><u>".repeat(n / 3)),
        ("b-p", |n| "<b><p>".repeat(n / 2)),
        ("b-div-close", |n| "<b><div></b>".repeat(n / 3)),
        ("table", |n| "<table><tr><td>".repeat(n / 3)),
        ("a-in-div", |n| format!("<div>{}</div>", "<a href=x>y</a>".repeat(n))),
        ("long-attr", |n| format!("<a href=\"{}\">", "x".repeat(n * 10))),
        ("template", |n| "<template>".repeat(n)),
        ("svg", |n| format!("<svg>{}", "<g>".repeat(n))),
        ("math", |n| format!("<math>{}", "<mi>".repeat(n))),
        ("select", |n| "<select>".repeat(n)),
        ("comments", |n| "<!-- x -->".repeat(n)),
        ("nobr", |n| "<nobr>".repeat(n)),
        ("button", |n| "<button>".repeat(n)),
        ("form", |n| "<form>".repeat(n)),
        ("h1", |n| "<h1>".repeat(n)),
        ("ruby-rt", |n| format!("<ruby>{}", "<rt>".repeat(n))),
        ("font", |n| "<font>".repeat(n)),
        ("heading-nest", |n| "<h1><h2>".repeat(n / 2)),
        ("frameset", |n| "<frameset>".repeat(n)),
        ("colgroup", |n| format!("<table>{}", "<colgroup>".repeat(n))),
        ("caption", |n| format!("<table>{}", "<caption>".repeat(n))),
        ("close-b", |n| format!("{}{}", "<b>".repeat(n / 2), "</p>".repeat(n / 2))),
        ("svg-a", |n| format!("<svg>{}", "<a>".repeat(n))),
        ("svg-rt", |n| format!("<svg>{}", "<rt>".repeat(n))),
        ("math-li", |n| format!("<math>{}", "<mi><li>".repeat(n / 2))),
        ("ruby-table-rt", |n| format!("<ruby><table><tr><td>{}", "<rt>".repeat(n))),
        ("select-optgroup", |n| format!("<select>{}", "<optgroup>".repeat(n))),
        ("option-optgroup", |n| "<option><optgroup>".repeat(n / 2)),
        ("rt-div", |n| "<rt><div>".repeat(n / 2)),
        ("end-tags", |n| format!("<div>{}", "</span>".repeat(n))),
    ]
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let page = Url::parse("http://h.test/").unwrap();
    let scope = Scope::new(ScopeKind::Any, std::slice::from_ref(&page)).matcher().unwrap();
    let rule = ExtractRule {
        name: "t".into(),
        selector: "title".into(),
        take: Take::Text,
        pair: None,
        all: false,
    };
    let dom = extract::Rules::new(&[rule], false);
    let tokens = extract::Rules::default();
    let n: usize = std::env::var("N").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    if let Ok(one) = std::env::var("ONE") {
        // One input, DOM path, size N (for /usr/bin/time: RSS).
        let (_, make) = cases().into_iter().find(|(name, _)| *name == one).unwrap();
        let html = make(n);
        let t0 = cpu();
        let _ = extract::extract(&page, &html, &scope, &dom);
        println!("{one} n={n}: {:.1} ms", (cpu() - t0).as_secs_f64() * 1000.0);
        return;
    }
    println!("{:<14} {:>10} {:>10} {:>10} {:>10}", "input", "dom n", "dom 2n", "tok n", "tok 2n");
    for (name, make) in cases() {
        if !name.contains(&filter) {
            continue;
        }
        let mut row = Vec::new();
        for rules in [&dom, &tokens] {
            for k in [n, 2 * n] {
                let html = make(k);
                let t0 = cpu();
                let _ = extract::extract(&page, &html, &scope, rules);
                row.push((cpu() - t0).as_secs_f64() * 1000.0);
            }
        }
        println!(
            "{name:<14} {:>9.1}ms {:>9.1}ms {:>9.1}ms {:>9.1}ms",
            row[0], row[1], row[2], row[3]
        );
    }
}
