//! A per-page CPU budget for parsing and extraction, in thread CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`): extraction runs on one blocking-pool
//! thread from start to end, so the thread's clock is the page's cost,
//! whatever else the process does. The parsers are fed in chunks and the
//! budget is checked between them, so a page costs at most the budget
//! plus one chunk.

use std::time::Duration;

/// Bytes fed to the parser between two budget checks. Inputs that are
/// superlinear are capped before parsing ([`super::guard`]), so one chunk
/// costs well under a millisecond.
pub(crate) const CHUNK: usize = 16 * 1024;

/// The page ran out of CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// CPU spent when the check failed.
    pub spent: Duration,
    /// The budget.
    pub limit: Duration,
}

/// CPU used by the calling thread so far.
pub fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}

/// A budget started on the current thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    start: Duration,
    limit: Duration,
}

impl Budget {
    /// Starts counting now, on this thread.
    pub(crate) fn start(limit: Duration) -> Self {
        Self { start: thread_cpu(), limit }
    }

    /// `Err` once more than the budget was spent.
    pub(crate) fn check(&self) -> Result<(), OverBudget> {
        let spent = thread_cpu().saturating_sub(self.start);
        if spent > self.limit { Err(OverBudget { spent, limit: self.limit }) } else { Ok(()) }
    }
}

/// `s` in pieces of about [`CHUNK`] bytes, split at char boundaries.
pub(crate) fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut at = rest.len().min(CHUNK);
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        let (head, tail) = rest.split_at(at);
        rest = tail;
        Some(head)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_text_at_char_boundaries() {
        let s = "é".repeat(CHUNK); // 2 bytes each: boundaries fall mid-char
        let parts: Vec<&str> = chunks(&s).collect();
        assert!(parts.len() >= 2);
        assert_eq!(parts.concat(), s);
        assert_eq!(chunks("").count(), 0);
    }

    #[test]
    fn the_budget_runs_out_on_busy_work() {
        let b = Budget::start(Duration::from_millis(20));
        assert!(b.check().is_ok());
        let mut x = 0u64;
        let over = loop {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            if let Err(e) = b.check() {
                break e;
            }
        };
        assert!(over.spent > over.limit && over.limit == Duration::from_millis(20));
    }
}
