//! Reading a robots.txt body (RFC 9309 §2.1-2.2) into the rules of one
//! user agent, stored compactly: all patterns in one string, 16 bytes of
//! bookkeeping per rule, nothing compiled. A host's rules therefore cost
//! about the bytes of its robots.txt that apply to us, at most
//! [`MAX_ROBOTS_BYTES`] plus 16 bytes per rule.
//!
//! Groups: consecutive `User-agent` lines open a group; the rules up to the
//! next `User-agent` line after a rule belong to it. Every group naming our
//! product token (case-insensitively) applies, merged; if none does, every
//! `*` group applies; a file without any `User-agent` line applies as a
//! whole. Keys are case-insensitive, common misspellings are accepted (as
//! texting_robots, the parser used before, accepted them), `#` starts a
//! comment, and an empty `Disallow:` or `Allow:` is no rule at all.

use super::pattern;
use std::time::Duration;

/// Bytes of a robots.txt that are parsed; the rest is ignored (RFC 9309
/// §2.5 asks for at least 500 KiB).
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;
/// Longest `Crawl-delay` honoured.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// Sitemaps kept per host.
const MAX_SITEMAPS: usize = 1000;

/// One rule: `text[start..start + len]` is its normalized pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    start: u32,
    len: u32,
    /// Precedence: the normalized pattern's length. Longer wins; at equal
    /// length, allow wins.
    prio: u32,
    allow: bool,
    /// Ended with `$`.
    anchored: bool,
}

/// The rules of robots.txt that apply to us.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    /// All patterns, concatenated.
    text: Box<str>,
    /// Sorted by precedence, highest first: the first match decides.
    rules: Box<[Rule]>,
    /// `Crawl-delay` for us, capped at a minute.
    pub delay: Option<Duration>,
    /// `Sitemap:` URLs (they apply to every agent).
    pub sitemaps: Vec<String>,
}

impl Parsed {
    /// Parses `body` for the agent whose product token is `agent`.
    pub fn new(agent: &str, body: &[u8]) -> Self {
        let body = cut(body);
        let body = String::from_utf8_lossy(body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body));
        let mut b = Builder::default();
        // "Group" state: are we in a run of User-agent lines, and does the
        // current group name us / name `*`?
        let (mut in_agents, mut ours, mut star) = (false, false, false);
        for line in body.split(['\n', '\r', '\0']) {
            let Some((key, value)) = key_value(line) else { continue };
            match key {
                Key::Agent => {
                    if !in_agents {
                        (ours, star) = (false, false);
                    }
                    in_agents = true;
                    b.any_agent = true;
                    let token = value.split(['/', ' ', '\t']).next().unwrap_or("");
                    if token.eq_ignore_ascii_case(agent) {
                        ours = true;
                        b.named_us = true;
                    }
                    star |= value == "*";
                }
                Key::Allow | Key::Disallow => {
                    in_agents = false;
                    if !value.is_empty() {
                        b.rule(ours, star, key == Key::Allow, value);
                    }
                }
                Key::CrawlDelay => {
                    in_agents = false;
                    if let Ok(secs) = value.parse::<f64>()
                        && secs.is_finite()
                        && secs >= 0.0
                    {
                        let d = Duration::from_secs_f64(secs.min(MAX_CRAWL_DELAY.as_secs_f64()));
                        b.delay(ours, star, d);
                    }
                }
                Key::Sitemap if b.sitemaps.len() < MAX_SITEMAPS => {
                    b.sitemaps.push(value.to_owned());
                }
                Key::Sitemap => {}
            }
        }
        b.finish()
    }

    /// May `path` (path and query of a URL, starting with `/`) be fetched?
    pub fn allowed(&self, path: &str) -> bool {
        if path == "/robots.txt" {
            return true;
        }
        self.rules
            .iter()
            .find(|r| {
                let pat = &self.text[r.start as usize..(r.start + r.len) as usize];
                pattern::matches(pat, r.anchored, path)
            })
            .is_none_or(|r| r.allow)
    }

    /// Number of rules kept.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Heap bytes held (patterns, rules, sitemaps): what the frontier
    /// budgets.
    pub fn heap_bytes(&self) -> usize {
        self.text.len()
            + self.rules.len() * size_of::<Rule>()
            + self.sitemaps.iter().map(|s| s.len() + size_of::<String>()).sum::<usize>()
    }
}

/// The first [`MAX_ROBOTS_BYTES`] of `body`, without a line the cut split.
fn cut(body: &[u8]) -> &[u8] {
    if body.len() <= MAX_ROBOTS_BYTES {
        return body;
    }
    let head = &body[..MAX_ROBOTS_BYTES];
    head.iter().rposition(|&b| b == b'\n').map_or(head, |i| &head[..i])
}

/// The keys we read (others are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Agent,
    Allow,
    Disallow,
    CrawlDelay,
    Sitemap,
}

/// Spellings of each key, as texting_robots (the parser before this one)
/// accepted them; compared case-insensitively.
const KEYS: &[(&str, Key)] = &[
    ("user-agent", Key::Agent),
    ("user agent", Key::Agent),
    ("useragent", Key::Agent),
    ("allow", Key::Allow),
    ("disallow", Key::Disallow),
    ("dissallow", Key::Disallow),
    ("dissalow", Key::Disallow),
    ("disalow", Key::Disallow),
    ("diasllow", Key::Disallow),
    ("disallaw", Key::Disallow),
    ("crawl-delay", Key::CrawlDelay),
    ("crawl delay", Key::CrawlDelay),
    ("crawldelay", Key::CrawlDelay),
    ("sitemap", Key::Sitemap),
    ("site-map", Key::Sitemap),
    ("site map", Key::Sitemap),
];

/// `key: value` (or `key value`) with the comment cut off; `None` for
/// blank and comment lines and unknown keys. Allocates nothing.
fn key_value(line: &str) -> Option<(Key, &str)> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return None;
    }
    let (key, value) = match line.split_once(':') {
        Some(kv) => kv,
        None => line.split_once([' ', '\t'])?,
    };
    let key = key.trim();
    let (_, k) = KEYS.iter().find(|(name, _)| name.eq_ignore_ascii_case(key))?;
    Some((*k, value.trim()))
}

/// Collects the rules of our groups and of `*` groups, and keeps one set.
#[derive(Default)]
struct Builder {
    any_agent: bool,
    named_us: bool,
    ours: Set,
    star: Set,
    /// Rules before any User-agent line (used only if there is none).
    loose: Set,
    /// `Crawl-delay` before any User-agent line.
    global_delay: Option<Duration>,
    sitemaps: Vec<String>,
}

#[derive(Default)]
struct Set {
    text: String,
    rules: Vec<Rule>,
    delay: Option<Duration>,
}

impl Set {
    fn push(&mut self, allow: bool, raw: &str) {
        let (raw, anchored) = match raw.strip_suffix('$') {
            Some(r) => (r, true),
            None => (raw, false),
        };
        let start = self.text.len();
        pattern::normalize_into(raw, &mut self.text);
        let len = self.text.len() - start;
        // Precedence counts the pattern's octets (a `$` counts too).
        let prio = len + usize::from(anchored);
        let (Ok(start), Ok(len), Ok(prio)) =
            (u32::try_from(start), u32::try_from(len), u32::try_from(prio))
        else {
            self.text.truncate(start);
            return;
        };
        self.rules.push(Rule { start, len, prio, allow, anchored });
    }
}

impl Builder {
    fn rule(&mut self, ours: bool, star: bool, allow: bool, raw: &str) {
        if !self.any_agent {
            self.loose.push(allow, raw);
        }
        if ours {
            self.ours.push(allow, raw);
        }
        if star {
            self.star.push(allow, raw);
        }
    }

    fn delay(&mut self, ours: bool, star: bool, d: Duration) {
        if !self.any_agent {
            self.global_delay = Some(d);
        }
        for (applies, set) in [(ours, &mut self.ours), (star, &mut self.star)] {
            if applies && set.delay.is_none() {
                set.delay = Some(d);
            }
        }
    }

    fn finish(self) -> Parsed {
        let set = if self.named_us {
            self.ours
        } else if self.any_agent {
            self.star
        } else {
            self.loose
        };
        let mut rules = set.rules;
        rules.sort_by_key(|r| (std::cmp::Reverse(r.prio), !r.allow));
        Parsed {
            text: set.text.into_boxed_str(),
            rules: rules.into_boxed_slice(),
            delay: set.delay.or(self.global_delay),
            sitemaps: self.sitemaps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(txt: &str) -> Parsed {
        Parsed::new("trawl", txt.as_bytes())
    }

    #[test]
    fn longest_match_wins_and_allow_wins_ties() {
        let r = p("User-agent: *\nDisallow: /private\nAllow: /private/open\n");
        assert!(!r.allowed("/private/x"));
        assert!(r.allowed("/private/open/x"));
        assert!(r.allowed("/public"));
        // Equal length: allow wins, whatever the order.
        for txt in ["Disallow: /page\nAllow: /page\n", "Allow: /page\nDisallow: /page\n"] {
            assert!(p(&format!("User-agent: *\n{txt}")).allowed("/page"), "{txt}");
        }
        // A longer wildcard disallow beats a shorter allow.
        let r = p("User-agent: *\nAllow: /a\nDisallow: /a*.gif$\n");
        assert!(!r.allowed("/a/b.gif"));
        assert!(r.allowed("/a/b.gifx"));
    }

    #[test]
    fn groups() {
        let txt = "User-agent: *\nDisallow: /\n\nUser-agent: otherbot\nDisallow: /yes\n\n\
                   User-agent: somebot\nUser-agent: Trawl/2.0\nDisallow: /no\n\
                   Crawl-delay: 2\n\nUser-agent: trawl\nDisallow: /also\n";
        let r = p(txt);
        assert!(r.allowed("/yes") && r.allowed("/maybe"));
        assert!(!r.allowed("/no/deeper") && !r.allowed("/also"));
        assert_eq!(r.delay, Some(Duration::from_secs(2)));
        assert!(p("User-agent: otherbot\nDisallow: /\n").allowed("/x"));
        // No User-agent line at all: everything applies.
        assert!(!p("Disallow: /secret\n").allowed("/secret"));
        // Rules before the first User-agent line belong to no group.
        assert!(p("Disallow: /a\nUser-agent: x\nDisallow: /b\n").allowed("/a"));
        // Crawl-delay at the top applies to all.
        assert_eq!(
            p("Crawl-delay: 1.5\nUser-agent: *\nDisallow: /x\n").delay,
            Some(Duration::from_millis(1500))
        );
        assert_eq!(p("User-agent: *\nCrawl-delay: 1e9\n").delay, Some(MAX_CRAWL_DELAY));
        assert_eq!(p("User-agent: *\nCrawl-delay: -1\nCrawl-delay: nan\n").delay, None);
    }

    #[test]
    fn patterns_share_one_string_without_bleeding() {
        let r = p("User-agent: *\nDisallow: /a*\nDisallow: *.gif$\nDisallow: /b**c\n");
        assert!(!r.allowed("/x/y.gif") && !r.allowed("/ab") && !r.allowed("/b-c"));
        assert!(r.allowed("/x/y.gifs") && r.allowed("/b"));
    }

    #[test]
    fn syntax_variants() {
        let txt = "\u{feff}USER-AGENT : *   # comment\r\ndisallow /a\r\nDisalow: /b # c\n\
                   Disallow:\nAllow:\nnonsense line\nSitemap: http://h.test/s.xml\n";
        let r = p(txt);
        assert!(!r.allowed("/a") && !r.allowed("/b/c"));
        assert!(r.allowed("/c"));
        assert_eq!(r.rule_count(), 2, "empty Disallow/Allow are no rules");
        assert_eq!(r.sitemaps, ["http://h.test/s.xml"]);
        assert!(r.allowed("/robots.txt"));
        assert!(p("User-agent: *\nDisallow: /\n").allowed("/robots.txt"));
    }

    #[test]
    fn size_is_capped_and_memory_is_the_text() {
        let rule = "Disallow: /some/long/path/segment/*.php$\n";
        let mut txt = String::from("User-agent: *\n");
        while txt.len() < 2 * MAX_ROBOTS_BYTES {
            txt.push_str(rule);
        }
        let r = p(&txt);
        let kept = (MAX_ROBOTS_BYTES - "User-agent: *\n".len()) / rule.len();
        assert_eq!(r.rule_count(), kept, "rules past the cap are ignored, a cut line too");
        assert!(r.heap_bytes() < MAX_ROBOTS_BYTES + 16 * kept, "{}", r.heap_bytes());
        assert!(!r.allowed("/some/long/path/segment/x.php"));
    }

    /// Whole files against texting_robots (the parser before this one),
    /// where the two agree by design.
    #[test]
    fn agrees_with_texting_robots_on_files() {
        let files = [
            "User-agent: *\nDisallow: /private/\nAllow: /private/open\n",
            "User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\nAllow: /tmp1/x/ok$\n",
            "User-agent: Trawl\nDisallow: /t\n\nUser-agent: *\nDisallow: /\n",
            "User-agent: a\nUser-agent: trawl\nDisallow: /ab\nAllow: /ab*c$\n",
            "user-agent: *\nallow: /x$\ndisallow: /x\ndisallow: /y*z\n",
        ];
        let paths = [
            "/",
            "/private/a",
            "/private/open",
            "/a.pdf",
            "/a.pdf?x",
            "/tmp1/x",
            "/tmp1/x/ok",
            "/tmp1/x/ok2",
            "/t",
            "/ab",
            "/abc",
            "/abcd",
            "/x",
            "/x/",
            "/yaz",
            "/ya",
        ];
        for f in files {
            let ours = p(f);
            let theirs = texting_robots::Robot::new("trawl", f.as_bytes()).unwrap();
            for path in paths {
                assert_eq!(
                    ours.allowed(path),
                    theirs.allowed(&format!("http://h.test{path}")),
                    "{f:?} on {path}"
                );
            }
        }
    }
}
