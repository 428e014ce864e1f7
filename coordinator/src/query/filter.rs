//! Query filters, compiled once from their text form. Typed filters look
//! at the record directly; `--where` predicates look at the JSON view, so
//! they reach every output field (including `fields.*`).

use super::QueryError;
use super::compile::{bad, check_field};
use crate::store::PageRecord;
use serde_json::Value;

/// A `--where` predicate: `PATH OP VALUE`, `PATH exists` or `PATH missing`.
#[derive(Debug)]
pub(crate) enum Predicate {
    Exists(Vec<String>, bool),
    Compare(Vec<String>, Op, String),
    Regex(Vec<String>, regex::Regex, bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

fn path(p: &str) -> Vec<String> {
    p.split('.').map(str::to_owned).collect()
}

/// The comparison operators, as written.
const OPS: [(&str, Option<Op>); 8] = [
    ("=", Some(Op::Eq)),
    ("!=", Some(Op::Ne)),
    (">", Some(Op::Gt)),
    (">=", Some(Op::Ge)),
    ("<", Some(Op::Lt)),
    ("<=", Some(Op::Le)),
    ("~", None),
    ("!~", None),
];
const OP_CHARS: &str = "=!<>~";

impl Predicate {
    /// Parses one `--where` expression; the field must be an output field
    /// (or `fields.NAME`) and the operator one of [`OPS`].
    pub(crate) fn parse(text: &str) -> Result<Self, QueryError> {
        let t = text.trim();
        let ops = || OPS.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(" ");
        // `FIELD exists|missing`, any whitespace between; `title = a missing`
        // compares with the text "a missing".
        if let Some((p, word)) = t.rsplit_once(char::is_whitespace)
            && let Some(want) = match word {
                "exists" => Some(true),
                "missing" => Some(false),
                _ => None,
            }
            && !p.contains(|c| OP_CHARS.contains(c))
        {
            check_field("where", p.trim(), &[])?;
            return Ok(Self::Exists(path(p.trim()), want));
        }
        // The operator is the first run of operator characters.
        let Some(start) = t.find(|c| OP_CHARS.contains(c)) else {
            return Err(bad(
                "where",
                format!(
                    "expected `FIELD OP VALUE` (OP: {}) or `FIELD exists|missing`, got {text:?}",
                    ops()
                ),
            ));
        };
        let end = t[start..].find(|c| !OP_CHARS.contains(c)).map_or(t.len(), |i| start + i);
        let (l, sym, r) = (t[..start].trim(), &t[start..end], t[end..].trim());
        if l.is_empty() {
            return Err(bad("where", format!("no field before {sym:?} in {text:?}")));
        }
        let Some(&(_, op)) = OPS.iter().find(|(s, _)| *s == sym) else {
            return Err(bad(
                "where",
                format!("unknown operator {sym:?} in {text:?}; expected one of {}", ops()),
            ));
        };
        check_field("where", l, &[])?;
        Ok(match op {
            Some(op) => Self::Compare(path(l), op, r.to_owned()),
            None => Self::Regex(
                path(l),
                regex::RegexBuilder::new(r)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| bad("where", format!("bad regex in {text:?}: {e}")))?,
                sym == "~",
            ),
        })
    }

    /// Does the JSON view of a page satisfy it?
    pub(crate) fn matches(&self, view: &Value) -> bool {
        let get = |p: &[String]| {
            p.iter().try_fold(view, |v, k| v.get(k.as_str())).filter(|v| !v.is_null())
        };
        match self {
            Self::Exists(p, want) => get(p).is_some() == *want,
            Self::Regex(p, re, want) => get(p).is_some_and(|v| re.is_match(&text(v))) == *want,
            Self::Compare(p, op, rhs) => {
                let Some(v) = get(p) else { return *op == Op::Ne };
                let ord = match (v.as_f64(), rhs.parse::<f64>()) {
                    (Some(a), Ok(b)) => a.partial_cmp(&b),
                    _ => Some(text(v).as_str().cmp(rhs.as_str())),
                };
                let Some(ord) = ord else { return false };
                match op {
                    Op::Eq => ord.is_eq(),
                    Op::Ne => ord.is_ne(),
                    Op::Gt => ord.is_gt(),
                    Op::Ge => ord.is_ge(),
                    Op::Lt => ord.is_lt(),
                    Op::Le => ord.is_le(),
                }
            }
        }
    }
}

/// A JSON value as text: strings bare, everything else as JSON.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `200`, or a class such as `2xx`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StatusFilter {
    Exact(u16),
    Class(u16),
}

impl StatusFilter {
    pub(crate) fn parse(s: &str) -> Result<Self, QueryError> {
        let s = s.trim().to_ascii_lowercase();
        if let Some(c) = s.strip_suffix("xx")
            && let Ok(d) = c.parse::<u16>()
            && (1..=5).contains(&d)
        {
            return Ok(Self::Class(d));
        }
        s.parse::<u16>().map(Self::Exact).map_err(|_| {
            bad("status", format!("expected a code like 404 or a class like 4xx, got {s:?}"))
        })
    }

    pub(crate) fn matches(self, status: Option<u16>) -> bool {
        match (self, status) {
            (Self::Exact(c), Some(s)) => s == c,
            (Self::Class(c), Some(s)) => s / 100 == c,
            (_, None) => false,
        }
    }
}

/// The typed filters.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub(crate) glob: Option<globset::GlobMatcher>,
    pub(crate) regex: Option<regex::Regex>,
    pub(crate) host: Option<String>,
    pub(crate) status: Option<StatusFilter>,
    pub(crate) content_type: Option<String>,
    pub(crate) depth: Option<(u32, u32)>,
    pub(crate) outcome: Option<String>,
    pub(crate) since_ms: Option<u64>,
    pub(crate) until_ms: Option<u64>,
    pub(crate) changed_since_ms: Option<u64>,
    /// `--gone`: only 404/410 pages here; whether they were there before
    /// is the history's to say (see `execute`).
    pub(crate) gone: bool,
}

impl Filters {
    pub(crate) fn matches(&self, r: &PageRecord) -> bool {
        self.glob.as_ref().is_none_or(|g| g.is_match(&r.url))
            && self.regex.as_ref().is_none_or(|re| re.is_match(&r.url))
            && self
                .host
                .as_deref()
                .is_none_or(|h| crate::frontier::authority(&r.url).eq_ignore_ascii_case(h))
            && self.status.is_none_or(|s| s.matches(r.status))
            && self.content_type.as_deref().is_none_or(|ct| {
                r.content_type.as_deref().is_some_and(|c| c.to_ascii_lowercase().starts_with(ct))
            })
            && self.depth.is_none_or(|(lo, hi)| (lo..=hi).contains(&r.depth))
            && self.outcome.as_deref().is_none_or(|o| r.outcome.kind() == o)
            && self.since_ms.is_none_or(|t| r.fetched_at_ms >= t)
            && self.until_ms.is_none_or(|t| r.fetched_at_ms < t)
            && self.changed_since_ms.is_none_or(|t| r.changed_at_ms.is_some_and(|c| c >= t))
            && (!self.gone || matches!(r.status, Some(404 | 410)))
    }
}

/// Parses `N` or `LO..HI` (inclusive).
pub(crate) fn depth_range(s: &str) -> Result<(u32, u32), QueryError> {
    let err = || bad("depth", format!("expected N or LO..HI, got {s:?}"));
    let range = match s.split_once("..") {
        Some((a, b)) => {
            let lo = if a.trim().is_empty() { 0 } else { a.trim().parse().map_err(|_| err())? };
            let hi = if b.trim().is_empty() {
                u32::MAX
            } else {
                b.trim().trim_start_matches('=').parse().map_err(|_| err())?
            };
            (lo, hi)
        }
        None => s.trim().parse().map(|d| (d, d)).map_err(|_| err())?,
    };
    if range.0 > range.1 {
        return Err(bad("depth", format!("{s:?} is empty: LO must not exceed HI")));
    }
    Ok(range)
}

/// Parses an RFC 3339 time (or a date) to ms since the epoch.
pub(crate) fn time_ms(param: &str, s: &str) -> Result<u64, QueryError> {
    // Full RFC 3339 with any UTC offset first; then the looser UTC forms.
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return u64::try_from(t.timestamp_millis()).map_err(|_| bad(param, "before 1970"));
    }
    let t = humantime::parse_rfc3339_weak(s.trim())
        .or_else(|_| humantime::parse_rfc3339_weak(&format!("{} 00:00:00", s.trim())))
        .map_err(|e| {
            bad(param, format!("expected a time like 2026-11-24T18:00:00Z, got {s:?}: {e}"))
        })?;
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .map_err(|_| bad(param, "before 1970"))
}

/// Parses a time as [`time_ms`] does, or a duration (`1h`, `90m`,
/// `2days`) meaning that long before `now_ms`.
pub(crate) fn time_or_ago_ms(param: &str, s: &str, now_ms: u64) -> Result<u64, QueryError> {
    if let Ok(ago) = humantime::parse_duration(s.trim()) {
        let ago = u64::try_from(ago.as_millis()).unwrap_or(u64::MAX);
        return Ok(now_ms.saturating_sub(ago));
    }
    time_ms(param, s).map_err(|_| {
        bad(
            param,
            format!(
                "expected a time like 2026-11-24T18:00:00Z or a duration ago like 1h, got {s:?}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_since_takes_a_time_or_a_duration_ago() {
        let now = time_ms("x", "2026-11-24T18:00:00Z").unwrap();
        assert_eq!(time_or_ago_ms("changed_since", "1h", now).unwrap(), now - 3_600_000);
        assert_eq!(time_or_ago_ms("changed_since", "90m", now).unwrap(), now - 5_400_000);
        let t = time_or_ago_ms("changed_since", "2026-11-24T17:00:00+01:00", now).unwrap();
        assert_eq!(t, now - 7_200_000);
        let e = time_or_ago_ms("changed_since", "soon", now).unwrap_err().to_string();
        assert!(e.contains("changed_since") && e.contains("\"soon\""), "{e}");
    }

    #[test]
    fn predicates() {
        let v = json!({"title": "Learning Rust", "status": 200, "fields": {"posts": ["a"]}, "detail": null});
        let m = |t: &str| Predicate::parse(t).unwrap().matches(&v);
        assert!(m("title~rust"));
        assert!(!m("title!~rust"));
        assert!(m("status>=200") && m("status<300") && !m("status>200") && m("status=200"));
        assert!(m("fields.posts exists") && m("fields.other missing") && m("detail missing"));
        assert!(m("title = Learning Rust") && m("title != x"));
        assert!(Predicate::parse("=x").is_err());
        assert!(Predicate::parse("title~(").is_err());
        assert!(Predicate::parse("nonsense").is_err());
        for (text, names) in [
            ("title=~x", &["\"=~\"", "!~"][..]),
            ("nosuch>3", &["\"nosuch\"", "title", "fields.NAME"][..]),
            ("nosuch exists", &["\"nosuch\""][..]),
        ] {
            let e = Predicate::parse(text).unwrap_err().to_string();
            assert!(e.contains("where"), "{e}");
            for n in names {
                assert!(e.contains(n), "{text}: {e} lacks {n}");
            }
        }
        assert!(Predicate::parse("fields.anything>3").is_ok(), "fields.* is open-ended");
        assert!(m("detail != x missing"), "an operator wins over the exists/missing suffix");
        assert!(m("detail\t\r\nmissing") && m("fields.posts  exists"), "any whitespace");
    }

    #[test]
    fn status_and_depth() {
        assert!(StatusFilter::parse("4xx").unwrap().matches(Some(404)));
        assert!(!StatusFilter::parse("4xx").unwrap().matches(Some(500)));
        assert!(StatusFilter::parse("200").unwrap().matches(Some(200)));
        assert!(StatusFilter::parse("9xx").is_err() && StatusFilter::parse("abc").is_err());
        assert_eq!(depth_range("2").unwrap(), (2, 2));
        assert_eq!(depth_range("1..3").unwrap(), (1, 3));
        assert_eq!(depth_range("2..").unwrap(), (2, u32::MAX));
        assert!(depth_range("x").is_err());
        assert!(depth_range("3..1").unwrap_err().to_string().contains("depth"));
        assert!(time_ms("since", "2026-11-24").unwrap() > 0);
        let z = time_ms("since", "2026-11-24T18:00:00Z").unwrap();
        assert_eq!(time_ms("since", "2026-11-24T19:00:00+01:00").unwrap(), z);
        assert_eq!(time_ms("since", "2026-11-24T13:00:00-05:00").unwrap(), z);
        assert!(time_ms("since", "yesterday").is_err());
    }
}
