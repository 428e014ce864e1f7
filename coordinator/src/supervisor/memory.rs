//! How much memory a worker can use before the kernel's OOM killer (or a
//! cgroup limit) may end it: the input to the rule that tells an outside
//! SIGKILL from an out-of-memory death (see `scheduler/crashes.rs`).

/// The smaller of the machine's memory (`MemTotal`) and this process's
/// cgroup v2 limit (`memory.max`), in bytes; `None` where neither can be
/// read (then every SIGKILL counts as a possible OOM death).
pub fn memory_budget() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok().and_then(|s| {
        let path = s.lines().find_map(|l| l.strip_prefix("0::"))?.trim().to_owned();
        let max = std::fs::read_to_string(format!("/sys/fs/cgroup{path}/memory.max")).ok()?;
        max.trim().parse::<u64>().ok()
    });
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_has_a_budget() {
        let b = super::memory_budget().expect("Linux has /proc/meminfo");
        assert!(b > 16 << 20, "{b}");
    }
}
