//! Formats the tests read and write by hand, as independent checks of the
//! crawler's writers: CSV, the Prometheus text format, JSON paths of query
//! records, and a (stored-blocks) gzip encoder for served bodies.

use super::fixtures::s;
use serde_json::Value;
use std::collections::BTreeMap;

/// The value at a dotted path (`fields.posts`), `None` if absent.
pub(crate) fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// A value as query text: strings bare, everything else as JSON.
pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The URLs of records, in order.
pub(crate) fn urls_of(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| s(r, "url").to_owned()).collect()
}

/// `host:port` of a URL.
pub(crate) fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("").to_owned()
}

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF).
pub(crate) fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            c => field.push(c),
        }
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// One sample of the Prometheus text format.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Parses the Prometheus text exposition format (0.0.4): `# HELP`/`# TYPE`
/// comments and `name{label="v",...} value` lines. Errors name the line.
pub(crate) fn parse_prometheus(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    for (no, line) in text.lines().enumerate() {
        let no = no + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let words: Vec<&str> = c.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                let ok = words.len() == 3
                    && name_ok(words[1])
                    && ["counter", "gauge", "histogram", "summary", "untyped"].contains(&words[2]);
                if !ok {
                    return Err(format!("line {no}: bad TYPE line {line:?}"));
                }
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or(format!("line {no}: no value: {line:?}"))?;
        let name = &line[..name_end];
        if !name_ok(name) {
            return Err(format!("line {no}: bad metric name {name:?}"));
        }
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            let mut r = r;
            loop {
                if let Some(after) = r.strip_prefix('}') {
                    r = after;
                    break;
                }
                let eq = r.find('=').ok_or(format!("line {no}: bad labels in {line:?}"))?;
                let key = r[..eq].trim_start_matches(',').trim();
                if !name_ok(key) {
                    return Err(format!("line {no}: bad label name {key:?}"));
                }
                let mut val = String::new();
                let mut chars = r[eq + 1..].char_indices();
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(format!("line {no}: unquoted label value in {line:?}"));
                }
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => val.push('\n'),
                            Some(c @ ('\\' | '"')) => val.push(c),
                            _ => return Err(format!("line {no}: bad escape in {line:?}")),
                        },
                        '"' => {
                            end = Some(eq + 1 + i + 1);
                            break;
                        }
                        c => val.push(c),
                    }
                }
                let end = end.ok_or(format!("line {no}: unterminated label in {line:?}"))?;
                labels.insert(key.to_owned(), val);
                r = r[end..].trim_start_matches(',');
            }
            rest = r;
        }
        let mut parts = rest.split_whitespace();
        let value = parts.next().ok_or(format!("line {no}: no value in {line:?}"))?;
        let value: f64 = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| format!("line {no}: bad value {v:?} in {line:?}"))?,
        };
        if let Some(ts) = parts.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(format!("line {no}: bad timestamp in {line:?}"));
        }
        if parts.next().is_some() {
            return Err(format!("line {no}: trailing text in {line:?}"));
        }
        out.push(Sample { name: name.to_owned(), labels, value });
    }
    Ok(out)
}

/// The single unlabelled sample `name`.
#[track_caller]
pub(crate) fn metric(samples: &[Sample], name: &str) -> f64 {
    let found: Vec<&Sample> =
        samples.iter().filter(|s| s.name == name && s.labels.is_empty()).collect();
    assert_eq!(found.len(), 1, "exactly one unlabelled {name} sample: {found:?}");
    found[0].value
}

/// The gzip encoding of `data` (stored deflate blocks: valid, not small).
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(65_535).peekable();
    if data.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}
