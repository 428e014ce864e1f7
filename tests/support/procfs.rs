//! The process table as `/proc` shows it: stat lines, command lines,
//! children, the crawl's worker processes, and signals to processes a
//! test started. Linux only, like the crawler's own supervision.

use super::timing::wait_until;
use std::time::Duration;

/// One process as seen in `/proc/PID/stat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) pid: u32,
    pub(crate) state: char,
    pub(crate) ppid: u32,
    /// Start time in clock ticks since boot (tells a reused pid apart).
    pub(crate) start: u64,
}

/// Reads `/proc/PID/stat`; `None` if the process does not exist.
pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ..."; comm may contain spaces and parens.
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] = state (field 3), fields[1] = ppid (4), fields[19] = starttime (22)
    Some(ProcStat {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// The command line of a process (empty if gone).
pub(crate) fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Pids whose parent is `ppid`.
pub(crate) fn children_of(ppid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut kids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.ppid == ppid))
        .collect();
    kids.sort_unstable();
    kids
}

/// Pids whose parent is `pid`, from `/proc/PID/task/*/children` (much
/// faster than scanning `/proc`, for racing a just-forked child).
pub(crate) fn children_fast(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut kids = Vec::new();
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            kids.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    kids
}

/// Children of `ppid` that are `trawl worker` processes.
pub(crate) fn worker_children(ppid: u32) -> Vec<ProcStat> {
    children_of(ppid)
        .into_iter()
        .filter(|&pid| cmdline(pid).iter().any(|a| a == "worker"))
        .filter_map(proc_stat)
        .filter(|s| s.state != 'Z' && s.state != 'X')
        .collect()
}

/// Is this exact process (same pid and start time) still running? A
/// zombie counts as gone.
pub(crate) fn is_alive(p: &ProcStat) -> bool {
    proc_stat(p.pid).is_some_and(|now| now.start == p.start && now.state != 'Z' && now.state != 'X')
}

/// SIGKILL, ignoring errors.
pub(crate) fn kill9(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a valid signal number has no memory effects.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Sends `sig` to `pid`; true if it was delivered.
pub(crate) fn signal(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, sig) };
    rc == 0
}

/// SIGINT to `pid` (a process this test started).
pub(crate) fn sigint(pid: u32) {
    signal(pid, libc::SIGINT);
}

/// Is the process still running (not exited, not a zombie)?
pub(crate) fn is_running(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X')
}

/// Records every live worker child of `pid` not seen before.
pub(crate) fn note_workers(pid: u32, seen: &mut Vec<ProcStat>) {
    for w in worker_children(pid) {
        if !seen.iter().any(|s| s.pid == w.pid && s.start == w.start) {
            seen.push(w);
        }
    }
}

/// Fails (after killing them) if any of `procs` is still alive `limit`
/// after the call.
#[track_caller]
pub(crate) fn assert_all_gone(procs: &[ProcStat], limit: Duration, when: &str) {
    let mut alive = Vec::new();
    wait_until(limit, || {
        alive = procs.iter().filter(|p| is_alive(p)).cloned().collect();
        alive.is_empty()
    });
    for p in &alive {
        kill9(p.pid);
    }
    let described: Vec<String> = alive
        .iter()
        .map(|p| {
            format!("pid {} state {} ppid {} cmd {:?}", p.pid, p.state, p.ppid, cmdline(p.pid))
        })
        .collect();
    assert!(
        alive.is_empty(),
        "{} worker(s) alive {when}:\n  {}",
        alive.len(),
        described.join("\n  ")
    );
}
