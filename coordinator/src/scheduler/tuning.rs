//! The scheduler's timings and limits in one struct, so tests can shrink
//! them and nothing else reads a clock constant.

use std::time::Duration;

/// Timeouts, back-offs and caps of the scheduler and its pool.
#[derive(Clone, Debug)]
pub(crate) struct Tuning {
    /// Event-loop tick: progress publication, pool upkeep.
    pub(crate) tick: Duration,
    /// How long a worker may take to start and say hello.
    pub(crate) handshake_timeout: Duration,
    /// How long workers get to drain and say goodbye at the end.
    pub(crate) shutdown_grace: Duration,
    /// A worker that sent nothing (not even a heartbeat) for this long is
    /// killed and replaced; workers heartbeat every second.
    pub(crate) heartbeat_timeout: Duration,
    /// First delay before a respawn; doubles while workers die young.
    pub(crate) min_backoff: Duration,
    /// Longest delay between respawns of a crash-looping worker slot.
    pub(crate) max_backoff: Duration,
    /// A worker that dies sooner than this after starting is crash-looping.
    pub(crate) young: Duration,
    /// Consecutive failed spawns after which the crawl gives up.
    pub(crate) max_spawn_failures: u32,
    /// How often autoscaling looks at the pool.
    pub(crate) autoscale_every: Duration,
    /// Memory a worker may use before an out-of-memory kill is plausible
    /// (machine or cgroup); `None`: every SIGKILL may be one.
    pub(crate) memory_budget: Option<u64>,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(100),
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(10),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            young: Duration::from_secs(1),
            max_spawn_failures: 5,
            autoscale_every: Duration::from_secs(2),
            memory_budget: None,
        }
    }
}
