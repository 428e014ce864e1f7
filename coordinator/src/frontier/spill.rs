//! The part of the queue that waits on disk.
//!
//! Every admitted URL is persisted in a queue segment (the new URLs of one
//! page) before it can be fetched. The frontier keeps at most a *budget* of
//! URLs in memory; past it, a host's new URLs stay only in their segments
//! and the host keeps a [`Run`] per segment instead: where in the segment
//! its URLs start and how many there are (16 bytes instead of the URL).
//! Once a host spills, all its later URLs spill too, so each host's order
//! stays breadth-first and first-in first-out; when its in-memory queue
//! runs dry (or holds only deeper URLs), its runs are read back in
//! (depth, seq) order through a [`SegmentSource`].

use super::Queued;
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;

/// Reads persisted queue segments back (the store, in a crawl).
pub trait SegmentSource {
    /// Why a read failed.
    type Error;
    /// The URLs of segment (`depth`, `first_seq`), in seq order. One
    /// segment usually holds runs of several hosts, read one after the
    /// other: a source should keep the last few segments it decoded.
    fn segment(&mut self, depth: u32, first_seq: u64) -> Result<&[String], Self::Error>;
    /// Is `url` stored already? (After a resume, a segment may hold URLs
    /// that were fetched before the crash.)
    fn is_stored(&self, url: &str) -> Result<bool, Self::Error>;
}

/// The source of a frontier that keeps everything in memory: it never
/// spills, so it never reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDisk;

impl SegmentSource for NoDisk {
    type Error = Infallible;
    fn segment(&mut self, _: u32, _: u64) -> Result<&[String], Infallible> {
        Ok(&[])
    }
    fn is_stored(&self, _: &str) -> Result<bool, Infallible> {
        Ok(false)
    }
}

/// A host's URLs in one segment that wait on disk: those of the host from
/// index `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Run {
    pub(super) first_seq: u64,
    from: u32,
    pub(super) count: u32,
}

/// One host's runs, breadth-first.
#[derive(Debug, Default)]
pub(super) struct Spilled {
    runs: BTreeMap<u32, VecDeque<Run>>,
    len: usize,
}

impl Spilled {
    /// Records that `q` waits on disk.
    pub(super) fn push(&mut self, q: &Queued) {
        let runs = self.runs.entry(q.depth).or_default();
        match runs.back_mut() {
            Some(run) if run.first_seq == q.seg => run.count += 1,
            _ => runs.push_back(Run {
                first_seq: q.seg,
                from: u32::try_from(q.seq - q.seg).unwrap_or(u32::MAX),
                count: 1,
            }),
        }
        self.len += 1;
    }

    /// Depth of the shallowest run.
    pub(super) fn head_depth(&self) -> Option<u32> {
        self.runs.first_key_value().map(|(d, _)| *d)
    }

    /// Takes the first run of the shallowest depth.
    pub(super) fn take(&mut self) -> Option<(u32, Run)> {
        let mut entry = self.runs.first_entry()?;
        let depth = *entry.key();
        let run = entry.get_mut().pop_front();
        if entry.get().is_empty() {
            entry.remove();
        }
        let run = run?;
        self.len -= run.count as usize;
        Some((depth, run))
    }

    /// URLs waiting on disk.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Reads `run` back: the URLs of host `key` in its segment from the run's
/// index on, minus any stored since.
pub(super) fn load<S: SegmentSource>(
    src: &mut S,
    key: &str,
    depth: u32,
    run: Run,
) -> Result<Vec<Queued>, S::Error> {
    // Every URL of the host from `from` on is in the run: once a host
    // spills, all its later URLs do.
    let mut mine = Vec::with_capacity(run.count as usize);
    for (i, url) in src.segment(depth, run.first_seq)?.iter().enumerate().skip(run.from as usize) {
        if super::authority(url) == key {
            mine.push(Queued {
                url: url.clone(),
                depth,
                seq: run.first_seq + i as u64,
                seg: run.first_seq,
            });
        }
    }
    let mut out = Vec::with_capacity(mine.len());
    for q in mine {
        if !src.is_stored(&q.url)? {
            out.push(q);
        }
    }
    Ok(out)
}
