//! Set comparisons that fail with a short diff: the first few missing and
//! unexpected entries, not two thousand-line dumps.

use std::collections::BTreeSet;
use std::fmt::Display;

/// Fails listing the first few missing and unexpected entries.
#[track_caller]
pub(crate) fn assert_sets_eq<T: Ord + Display>(
    what: &str,
    expected: &BTreeSet<T>,
    actual: &BTreeSet<T>,
) {
    let missing: Vec<&T> = expected.difference(actual).collect();
    let extra: Vec<&T> = actual.difference(expected).collect();
    if missing.is_empty() && extra.is_empty() {
        return;
    }
    panic!(
        "{what}: expected {} entries, got {}\n{}\n{}",
        expected.len(),
        actual.len(),
        sample("missing", &missing),
        sample("unexpected", &extra)
    );
}

/// "LABEL (N): a, b, c, ... and K more".
pub(crate) fn sample<T: Display>(label: &str, items: &[T]) -> String {
    const SHOW: usize = 12;
    let mut s = format!("{label} ({}):", items.len());
    for it in items.iter().take(SHOW) {
        s.push_str("\n  ");
        s.push_str(&it.to_string());
    }
    if items.len() > SHOW {
        s.push_str(&format!("\n  ... and {} more", items.len() - SHOW));
    }
    s
}
