//! Facts about the current process that both sides report.

/// Resident set size of this process in bytes (Linux `/proc/self/statm`),
/// or 0 where that is not available.
pub fn rss_bytes() -> u64 {
    rss_of("self")
}

/// Resident set size of process `pid` in bytes, or 0 if it is gone.
pub fn rss_of_pid(pid: u32) -> u64 {
    rss_of(&pid.to_string())
}

fn rss_of(which: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{which}/statm")) else { return 0 };
    s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).map_or(0, |p| p * 4096)
}

/// CPU time (user + system) consumed by process `pid` so far, in seconds,
/// from `/proc/PID/stat`; `None` if unavailable.
pub fn cpu_seconds_of_pid(pid: u32) -> Option<f64> {
    cpu_seconds_of(&pid.to_string())
}

/// CPU time (user + system) of this process so far, in seconds.
pub fn cpu_seconds() -> Option<f64> {
    cpu_seconds_of("self")
}

fn cpu_seconds_of(which: &str) -> Option<f64> {
    stat_ticks(which, 11)
}

/// CPU time (user + system) of this process's children that have exited
/// and been waited for, in seconds.
pub fn children_cpu_seconds() -> Option<f64> {
    stat_ticks("self", 13)
}

/// Sum of two consecutive tick fields of `/proc/WHICH/stat`, counted from
/// the first field after the command name, converted to seconds.
fn stat_ticks(which: &str, skip: usize) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    // utime, stime are fields 14 and 15 overall (11 and 12 after the
    // parenthesised command name); cutime, cstime are 16 and 17.
    let rest = &s[s.rfind(')')? + 1..];
    let mut it = rest.split_whitespace().skip(skip);
    let a: f64 = it.next()?.parse().ok()?;
    let b: f64 = it.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux target we run on.
    Some((a + b) / 100.0)
}

/// Peak resident set size of this process (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resets this process's peak RSS (`VmHWM`) to its current RSS, so a
/// long-lived process can measure the peak of one phase (Linux >= 4.0:
/// writes `5` to `/proc/self/clear_refs`). Returns false where that is not
/// possible; the next peak then still covers earlier phases.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The open-files limit (`RLIMIT_NOFILE`) after [`raise_open_files_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFilesLimit {
    /// Soft limit before (`None`: unlimited).
    pub before: Option<u64>,
    /// Soft limit now.
    pub now: Option<u64>,
    /// Hard limit.
    pub hard: Option<u64>,
}

/// Raises this process's soft open-files limit to its hard limit: every
/// request in flight is a socket, so `--concurrency` 10,000 passes the
/// usual soft limit of 1,024 long before the hard one. Logged at debug;
/// a refusal is logged at warn and the old limit kept (the process still
/// works, it just fails earlier with "too many open files").
pub fn raise_open_files_limit() -> OpenFilesLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let old = getrlimit(Resource::Nofile);
    // An unlimited hard limit cannot be the soft one for files: Linux caps
    // it at fs.nr_open.
    let target = old.maximum.or_else(|| {
        std::fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|s| s.trim().parse().ok())
    });
    let wanted = match (old.current, target) {
        (Some(cur), Some(t)) if cur < t => Some(t),
        _ => None,
    };
    if let Some(t) = wanted
        && let Err(e) = setrlimit(Resource::Nofile, Rlimit { current: Some(t), ..old })
    {
        tracing::warn!(error = %e, soft = ?old.current, wanted = t, "could not raise the open-files limit");
    }
    let now = getrlimit(Resource::Nofile);
    let limit = OpenFilesLimit { before: old.current, now: now.current, hard: now.maximum };
    tracing::debug!(before = ?limit.before, soft = ?limit.now, hard = ?limit.hard, "open-files limit");
    limit
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_process_is_measurable() {
        assert!(super::rss_bytes() > 0);
        assert!(super::cpu_seconds().is_some());
        assert!(super::children_cpu_seconds().is_some());
        assert!(super::peak_rss_bytes() >= super::rss_bytes() / 2);
    }

    #[test]
    fn peak_rss_can_be_reset() {
        let grown: Vec<u8> = vec![1; 64 << 20];
        let peak = super::peak_rss_bytes();
        drop(std::hint::black_box(grown));
        if super::reset_peak_rss() {
            assert!(super::peak_rss_bytes() < peak, "peak was not reset");
        }
    }

    #[test]
    fn open_files_limit_is_raised_to_the_hard_one() {
        let l = super::raise_open_files_limit();
        assert!(l.now >= l.before || l.before.is_none(), "{l:?}");
        if let (Some(now), Some(hard)) = (l.now, l.hard) {
            assert_eq!(now, hard, "{l:?}");
        }
        assert_eq!(super::raise_open_files_limit().now, l.now, "idempotent");
    }
}
