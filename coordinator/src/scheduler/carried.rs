//! Cluster mode: what the database tells the scheduler besides URLs. A
//! takeover's robots.txt answers and crash counts
//! ([`crate::cluster_mode::Carried`]) are applied before the partition's
//! queue arrives, and a crash counted in the database releases its parked
//! suspect (see `crashes.rs`).

use super::Scheduler;
use crate::cluster_mode::{Carried, carry_fetch};
use std::time::Instant;

impl Scheduler<'_> {
    /// Applies what a takeover carried over.
    pub(super) fn carried(&mut self, carried: Carried, now: Instant) {
        for row in &carried.robots {
            let sitemaps = self.frontier.robots_known(&row.host, &carry_fetch(row), now);
            if self.config.sitemaps {
                self.sitemaps.want(sitemaps, &self.config.scope);
            }
        }
        self.crashes.preload(carried.crashes);
    }

    /// Crashes committed (`durable`) or fenced (`dropped`).
    pub(super) fn crashes_settled(&mut self, durable: &[String], dropped: &[String]) {
        for url in durable {
            self.crashes.settled(url, true);
        }
        for url in dropped {
            self.crashes.settled(url, false);
        }
    }
}
