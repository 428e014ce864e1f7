//! robots.txt (RFC 9309) through the `texting_robots` parser: user-agent
//! groups, allow/disallow with longest match, `*` and `$`, `Crawl-delay`,
//! `Sitemap`. This module adds the status-code rules:
//! - 2xx: the rules apply;
//! - 3xx that could not be followed, and 4xx: no restrictions (allow all);
//! - 5xx or unreachable: assume complete disallow, and try again later;
//!   after a few failures the host's URLs are recorded as disallowed.

use std::time::Duration;
use texting_robots::Robot;

/// robots.txt bodies are cut at this size (RFC 9309 asks for >= 500 KiB).
pub const MAX_ROBOTS_BYTES: usize = 512 * 1024;
/// Fetch attempts for a host whose robots.txt keeps failing.
pub const MAX_ATTEMPTS: u32 = 3;

/// A host's rules.
#[derive(Debug)]
pub enum Rules {
    /// No robots.txt (4xx) or an empty one.
    AllowAll,
    /// robots.txt unavailable (5xx/unreachable): nothing may be fetched.
    DisallowAll,
    /// Parsed rules.
    Parsed(Box<Robot>),
}

impl Rules {
    /// May `url` be fetched?
    pub fn allowed(&self, url: &str) -> bool {
        match self {
            Self::AllowAll => true,
            Self::DisallowAll => false,
            Self::Parsed(r) => r.allowed(url),
        }
    }

    /// `Crawl-delay` for our agent, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Self::Parsed(r) => r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(60.0))),
            _ => None,
        }
    }

    /// `Sitemap:` URLs.
    pub fn sitemaps(&self) -> &[String] {
        match self {
            Self::Parsed(r) => &r.sitemaps,
            _ => &[],
        }
    }
}

/// What a robots.txt fetch means.
#[derive(Debug)]
pub enum Verdict {
    /// Use these rules.
    Rules(Rules),
    /// Server error or unreachable: disallow, retry after this long.
    RetryLater(Duration),
}

/// Interprets a robots.txt response (`status` None = no response) after
/// `attempt` attempts (1-based).
pub fn interpret(agent: &str, status: Option<u16>, body: &str, attempt: u32) -> Verdict {
    match status {
        Some(200..=299) => {
            let body = &body.as_bytes()[..body.len().min(MAX_ROBOTS_BYTES)];
            match Robot::new(agent, body) {
                Ok(r) => Verdict::Rules(Rules::Parsed(Box::new(r))),
                // The parser is forgiving; if it still fails, RFC 9309
                // treats an unparsable file like no file.
                Err(_) => Verdict::Rules(Rules::AllowAll),
            }
        }
        Some(300..=499) => Verdict::Rules(Rules::AllowAll),
        _ if attempt >= MAX_ATTEMPTS => Verdict::Rules(Rules::DisallowAll),
        _ => Verdict::RetryLater(Duration::from_millis(500) * 2u32.pow(attempt.min(8))),
    }
}

/// The product token of a User-Agent string (`trawl/0.1 (+url)` -> `trawl`).
pub fn product_token(user_agent: &str) -> String {
    user_agent.split(['/', ' ']).next().unwrap_or(user_agent).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(txt: &str) -> Rules {
        match interpret("trawl", Some(200), txt, 1) {
            Verdict::Rules(r) => r,
            Verdict::RetryLater(_) => panic!("expected rules"),
        }
    }

    const H: &str = "http://h.test";

    #[test]
    fn disallow_and_allow_longest_match() {
        let r = rules("User-agent: *\nDisallow: /private\nAllow: /private/open\n");
        assert!(!r.allowed(&format!("{H}/private/x")));
        assert!(r.allowed(&format!("{H}/private/open/x")));
        assert!(r.allowed(&format!("{H}/public")));
    }

    #[test]
    fn wildcards_and_end_anchor() {
        let r = rules("User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\n");
        assert!(!r.allowed(&format!("{H}/a/b.pdf")));
        assert!(r.allowed(&format!("{H}/a/b.pdf?x=1")));
        assert!(!r.allowed(&format!("{H}/tmp123/x")));
        assert!(r.allowed(&format!("{H}/tmp123/y")));
    }

    #[test]
    fn our_group_wins_over_star() {
        let r = rules(
            "User-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /no\nCrawl-delay: 2\n",
        );
        assert!(r.allowed(&format!("{H}/yes")));
        assert!(!r.allowed(&format!("{H}/no")));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
        let other = rules("User-agent: otherbot\nDisallow: /\n");
        assert!(other.allowed(&format!("{H}/anything")));
    }

    #[test]
    fn sitemaps_are_listed() {
        let r = rules("Sitemap: http://h.test/sitemap.xml\nUser-agent: *\nAllow: /\n");
        assert_eq!(r.sitemaps(), ["http://h.test/sitemap.xml"]);
    }

    #[test]
    fn status_codes() {
        assert!(matches!(interpret("trawl", Some(404), "", 1), Verdict::Rules(Rules::AllowAll)));
        assert!(matches!(interpret("trawl", Some(403), "", 1), Verdict::Rules(Rules::AllowAll)));
        assert!(matches!(interpret("trawl", Some(500), "", 1), Verdict::RetryLater(_)));
        assert!(matches!(interpret("trawl", None, "", 1), Verdict::RetryLater(_)));
        assert!(matches!(
            interpret("trawl", Some(503), "", MAX_ATTEMPTS),
            Verdict::Rules(Rules::DisallowAll)
        ));
    }

    #[test]
    fn agent_token() {
        assert_eq!(product_token("trawl/0.1.0 (+https://x)"), "trawl");
        assert_eq!(product_token("MyBot"), "MyBot");
    }
}
