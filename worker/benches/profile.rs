//! A fixed workload to count instructions under callgrind (stable on a
//! noisy machine, unlike time): decode + extract of the generated site's
//! pages, `REPEAT` times each. Run it twice with different `REPEAT`s and
//! divide the difference by the extra extractions to get instructions
//! per page without the set-up (see README, performance):
//!
//! ```text
//! cargo bench -p trawl-worker --bench profile --no-run
//! PROFILE_RULES=bench PROFILE_REPEAT=1 valgrind --tool=callgrind target/release/deps/profile-*
//! ```
//!
//! `PROFILE_RULES`: `bench` (the bench's `posts=a.post-item-title@href+text*`
//! and the title, on the streaming path), `dom` (the same rules forced
//! through scraper), `none` (links only, streamed), `tokens` (links only
//! through html5ever's tokenizer, as before the streaming links path).

use std::hint::black_box;
use trawl_common::config::FieldRule;
use trawl_common::url::{Scope, ScopeKind, Url};
use trawl_site::SiteSpec;
use trawl_worker::extract;

const ORIGIN: &str = "http://127.0.0.1:8080";

fn main() {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let repeat: usize = var("PROFILE_REPEAT", "1").parse().expect("PROFILE_REPEAT");
    let pages: u32 = var("PROFILE_PAGES", "20").parse().expect("PROFILE_PAGES");
    let mode = var("PROFILE_RULES", "bench");
    let flags: &[&str] = match mode.as_str() {
        "none" | "tokens" => &[],
        "bench" | "dom" => &["posts=a.post-item-title@href+text*"],
        other => panic!("PROFILE_RULES={other}: none, tokens, bench or dom"),
    };
    let rules: Vec<_> = flags
        .iter()
        .map(|f| {
            let (name, rule) = FieldRule::parse_flag(f).expect("rule");
            rule.resolve(&name).expect("valid rule")
        })
        .collect();
    let mut rules = extract::Rules::new(&rules, false);
    if mode == "dom" || mode == "tokens" {
        rules = rules.without_fast_path();
    }
    let spec = SiteSpec::with_pages(20_000);
    let site: Vec<(Url, Vec<u8>)> = (0..pages)
        .map(|i| {
            let url = Url::parse(&format!("{ORIGIN}{}", spec.path(i * 97 % 20_000))).expect("url");
            (url, spec.render(i * 97 % 20_000, ORIGIN, "http://localhost:8080").into_bytes())
        })
        .collect();
    let seed = Url::parse(&format!("{ORIGIN}/")).expect("seed");
    let scope = Scope::new(ScopeKind::Host, &[seed]).matcher().expect("scope");
    let mut links = 0usize;
    for _ in 0..repeat {
        for (url, body) in &site {
            let text = extract::decode(black_box(body), Some("text/html; charset=utf-8"));
            let e = extract::extract(url, &text, &scope, &rules).expect("within budget");
            links += e.links.len() + e.fields.len();
        }
    }
    println!(
        "fast={} pages={} repeat={repeat} links+fields={links}",
        rules.fast_path(),
        site.len()
    );
}
