//! Exit codes, the same for every subcommand (README "Exit codes").
//!
//! 1 and 3 are kept apart on purpose: 1 means trawl could not do what was
//! asked (store in use, disk error, no crawl running for `status`), 3 means
//! the crawl ran to its end but not one page came back (every seed
//! unreachable, disallowed or an HTTP error): a script retrying later, or
//! checking its seed list, wants to tell those apart, as wget's 4 and 8
//! separate network from server failures.
//!
//! One Ctrl-C (or SIGTERM) is a request to stop *cleanly*: what was in
//! flight finishes and is stored, the rest stays queued for a rerun, and
//! the exit code is 0 (the `--json` summary says `stopped`), as Scrapy's
//! graceful shutdown does; systemd's `systemctl stop` sees a clean exit.
//! Only a second signal, which abandons requests in flight, exits with
//! 130 (SIGINT) or 143 (SIGTERM), the codes a shell reports for a kill.

/// Everything asked was done.
pub(crate) const OK: u8 = 0;
/// trawl failed: the store is in use or unreadable, a disk or process
/// error, `status`/`scale` on a store where no crawl runs.
pub(crate) const FAILED: u8 = 1;
/// Bad flags, config file or query: nothing was started.
pub(crate) const USAGE: u8 = 2;
/// The crawl ran, but no page succeeded (no `ok`, `not_html` or `redirect`
/// outcome).
pub(crate) const NO_PAGE: u8 = 3;
/// Stopped at once by a second SIGINT (Ctrl-C), abandoning requests.
pub(crate) const INTERRUPTED: u8 = 130;
/// Stopped at once by a second SIGTERM.
pub(crate) const TERMINATED: u8 = 143;

/// `trawl crawl --help` epilogue.
pub(crate) const HELP: &str = "\
Exit codes:
  0    the crawl finished, stopped at --max-pages, or stopped cleanly after one
       Ctrl-C/SIGTERM (in-flight requests stored, the rest queued for a rerun)
  1    trawl failed (store in use, I/O error, worker processes could not start)
  2    bad flags or config: nothing was started
  3    the crawl ran but no page succeeded (seeds unreachable, disallowed, errors)
  130  stopped at once by a second Ctrl-C (SIGINT); 143: by a second SIGTERM
With --json the summary on stdout has the same `exit_code` and an `exit_reason`.";

#[cfg(test)]
mod tests {
    #[test]
    fn help_lists_every_code() {
        for code in [super::OK, super::FAILED, super::USAGE, super::NO_PAGE, super::INTERRUPTED] {
            assert!(super::HELP.contains(&format!("  {code} ")), "{code} missing");
        }
        assert!(super::HELP.contains(&super::TERMINATED.to_string()));
    }
}
