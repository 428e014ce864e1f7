//! Redirect chains. The crawler follows redirects itself (each hop is a
//! page record and goes through scope, robots, politeness and dedup), so
//! it also keeps each chain: a hop back into its own chain is recorded as
//! `redirect_loop`, and a chain longer than [`MAX_HOPS`] as
//! `too_many_redirects`; neither is followed further.

use std::collections::HashMap;
use trawl_common::protocol::FetchOutcome;

/// Longest chain followed.
pub(crate) const MAX_HOPS: usize = 10;

/// Chains in progress, by the URL they lead to next.
#[derive(Debug, Default)]
pub(crate) struct Redirects {
    chains: HashMap<String, Vec<String>>,
}

impl Redirects {
    /// Looks at the report for `url`; may rewrite a `Redirect` outcome into
    /// a loop or an overlong chain. Returns whether the redirect target (in
    /// `links`) may be followed.
    pub(crate) fn on_report(
        &mut self,
        url: &str,
        outcome: &mut FetchOutcome,
        links: &[String],
    ) -> bool {
        let mut chain = self.chains.remove(url).unwrap_or_default();
        let FetchOutcome::Redirect { location } = outcome else { return true };
        chain.push(url.to_owned());
        if chain.iter().any(|u| u == location) {
            chain.push(location.clone());
            *outcome = FetchOutcome::RedirectLoop { chain };
            return false;
        }
        if chain.len() >= MAX_HOPS {
            chain.push(location.clone());
            *outcome = FetchOutcome::TooManyRedirects { chain };
            return false;
        }
        if links.iter().any(|l| l == location) {
            self.chains.insert(location.clone(), chain);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(r: &mut Redirects, from: &str, to: &str) -> (FetchOutcome, bool) {
        let mut o = FetchOutcome::Redirect { location: to.into() };
        let follow = r.on_report(from, &mut o, &[to.to_owned()]);
        (o, follow)
    }

    #[test]
    fn loop_is_detected() {
        let mut r = Redirects::default();
        assert!(hop(&mut r, "a", "b").1);
        assert!(hop(&mut r, "b", "c").1);
        let (o, follow) = hop(&mut r, "c", "a");
        assert!(!follow);
        assert_eq!(
            o,
            FetchOutcome::RedirectLoop {
                chain: vec!["a".into(), "b".into(), "c".into(), "a".into()]
            }
        );
        let (o, _) = hop(&mut r, "x", "x");
        assert_eq!(o.kind(), "redirect_loop");
    }

    #[test]
    fn long_chains_stop_at_the_limit() {
        let mut r = Redirects::default();
        for i in 0..MAX_HOPS - 1 {
            assert!(hop(&mut r, &format!("u{i}"), &format!("u{}", i + 1)).1, "hop {i}");
        }
        let (o, follow) = hop(&mut r, &format!("u{}", MAX_HOPS - 1), "u-final");
        assert!(!follow);
        let FetchOutcome::TooManyRedirects { chain } = o else { panic!("{o:?}") };
        assert_eq!(chain.len(), MAX_HOPS + 1);
    }

    #[test]
    fn a_page_ends_its_chain() {
        let mut r = Redirects::default();
        hop(&mut r, "a", "b");
        let mut ok = FetchOutcome::Ok;
        assert!(r.on_report("b", &mut ok, &[]));
        assert!(r.chains.is_empty());
    }
}
