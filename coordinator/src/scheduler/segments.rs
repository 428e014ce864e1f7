//! Bookkeeping of persisted queue segments: every batch of newly admitted
//! URLs (one page's new links, the seeds, a sitemap) is stored as one
//! segment, and a segment is deleted in the same atomic batch as the page
//! record of its last URL. On resume, the URLs of live segments that have
//! no page record go back into the frontier.

use crate::frontier::{Frontier, Queued, SegmentSource};
use crate::store::{Segment, SegmentId};
use std::collections::HashMap;

/// Live segments and how many of their URLs are not stored yet.
#[derive(Debug, Default)]
pub(crate) struct Segments {
    live: HashMap<SegmentId, u32>,
}

impl Segments {
    /// Admits `urls` at `depth` as one segment; returns it for persisting,
    /// or `None` if none of them was new.
    pub(crate) fn admit<'u, S: SegmentSource>(
        &mut self,
        frontier: &mut Frontier<S>,
        depth: u32,
        urls: impl IntoIterator<Item = &'u str>,
    ) -> Option<Segment> {
        let first_seq = frontier.next_seq();
        let urls: Vec<String> = urls
            .into_iter()
            .filter(|u| frontier.push(u, depth, first_seq))
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return None;
        }
        self.live.insert((depth, first_seq), u32::try_from(urls.len()).unwrap_or(u32::MAX));
        Some(Segment { depth, first_seq, urls })
    }

    /// The page of `q` was stored; returns its segment if that was the
    /// segment's last unstored URL.
    pub(crate) fn stored(&mut self, q: &Queued) -> Option<SegmentId> {
        let id = (q.depth, q.seg);
        let left = self.live.get_mut(&id)?;
        *left -= 1;
        if *left == 0 {
            self.live.remove(&id);
            Some(id)
        } else {
            None
        }
    }

    /// Resume: re-queues the URLs of a persisted segment that are not
    /// stored (call after marking every stored URL seen). Returns the
    /// segment's id if nothing in it is left, so it can be deleted.
    pub(crate) fn restore<S: SegmentSource>(
        &mut self,
        frontier: &mut Frontier<S>,
        seg: Segment,
    ) -> Option<SegmentId> {
        let id = (seg.depth, seg.first_seq);
        let mut left = 0u32;
        for (i, url) in seg.urls.into_iter().enumerate() {
            let seq = seg.first_seq + i as u64;
            frontier.reserve_seq(seq);
            if url.is_empty() || frontier.is_seen(&url) {
                continue;
            }
            frontier.restore(Queued { url, depth: seg.depth, seq, seg: seg.first_seq });
            left += 1;
        }
        if left == 0 {
            Some(id)
        } else {
            self.live.insert(id, left);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::Popped;
    use crate::politeness::PolitenessConfig;
    use std::time::Instant;

    fn frontier() -> Frontier {
        Frontier::new(PolitenessConfig { agent: "trawl".into(), ..Default::default() })
    }

    #[test]
    fn a_segment_retires_with_its_last_url() {
        let mut f = frontier();
        let mut s = Segments::default();
        let seg = s
            .admit(&mut f, 1, ["http://127.0.0.1/a", "http://127.0.0.1/b", "http://127.0.0.1/a"])
            .unwrap();
        assert_eq!(seg.urls, ["http://127.0.0.1/a", "http://127.0.0.1/b"]);
        assert!(s.admit(&mut f, 1, ["http://127.0.0.1/b"]).is_none(), "nothing new");
        let now = Instant::now();
        let Some(Popped::Fetch(a)) = f.pop(now, true).unwrap() else { panic!() };
        let Some(Popped::Fetch(b)) = f.pop(now, true).unwrap() else { panic!() };
        assert_eq!((a.seq, b.seq), (seg.first_seq, seg.first_seq + 1));
        assert_eq!(s.stored(&a), None);
        assert_eq!(s.stored(&b), Some((1, seg.first_seq)));
    }

    #[test]
    fn restore_skips_stored_urls_and_keeps_seqs_unique() {
        let mut f = frontier();
        f.mark_seen("http://h/stored");
        let mut s = Segments::default();
        let seg = Segment {
            depth: 2,
            first_seq: 10,
            urls: vec!["http://h/stored".into(), "http://h/todo".into()],
        };
        assert_eq!(s.restore(&mut f, seg), None);
        assert_eq!(f.len(), 1);
        assert!(f.next_seq() >= 12);
        let gone = Segment { depth: 0, first_seq: 3, urls: vec!["http://h/stored".into()] };
        assert_eq!(s.restore(&mut f, gone), Some((0, 3)));
    }
}
