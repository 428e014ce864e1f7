//! Reading the TOML config file into the option groups.
//!
//! The file is flat (`workers = 2`, `timeout_secs = 30`, an `[extract]`
//! table): its keys are the serde names of the groups' fields. The
//! document is parsed once with spans; each group takes the keys it knows
//! (learnt from its own `Deserialize`, so no key list is kept by hand) and
//! is deserialized from them, so a bad value is reported with its key and
//! its line and column in the file. A key no group takes is an error too.
//! Every problem in the file is reported, not only the first.

use super::ConfigErrors;
use crate::error::ConfigError;
use serde::de::{self, DeserializeOwned, Visitor};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;
use toml::de::DeTable;

/// Where each key's value is in the file (`path:line:column`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Locations(BTreeMap<String, String>);

impl Locations {
    /// `e` (found by resolving the file's values, named by its flag)
    /// renamed to the file's key and placed at its value.
    pub(crate) fn locate(
        &self,
        e: ConfigError,
        key_of: impl Fn(&str) -> Option<&'static str>,
    ) -> ConfigError {
        // `extract.NAME` is a key of its own; `--timeout` is `timeout_secs`.
        let key = key_of(&e.field).map_or_else(|| e.field.clone(), str::to_owned);
        match self.0.get(&key) {
            Some(at) => ConfigError::new(key, format!("{at}: {}", e.message)),
            None => e,
        }
    }
}

/// A parsed config document, handed out group by group.
pub(crate) struct Document<'a> {
    text: &'a str,
    /// `path:` or empty, put before `line:column` in messages.
    origin: String,
    root: Spanned<DeTable<'a>>,
    taken: BTreeSet<String>,
    /// Problems with the byte offset they were found at (for ordering).
    errors: Vec<(usize, ConfigError)>,
}

impl<'a> Document<'a> {
    /// Parses TOML syntax; `origin` (a file name) prefixes locations.
    pub(crate) fn parse(text: &'a str, origin: Option<&str>) -> Result<Self, ConfigErrors> {
        let origin = origin.map_or_else(String::new, |o| format!("{o}:"));
        match DeTable::parse(text) {
            Ok(root) => Ok(Self { text, origin, root, taken: BTreeSet::new(), errors: Vec::new() }),
            Err(e) => {
                let at = location(text, e.span().map_or(0, |s| s.start));
                let msg = e.message().trim().replace('\n', " ");
                Err(ConfigErrors(vec![ConfigError::new("config", format!("{origin}{at}: {msg}"))]))
            }
        }
    }

    /// The group `T` deserialized from the keys it knows. On a bad value
    /// the error is recorded and `T::default()` returned, so later groups
    /// are still checked.
    pub(crate) fn section<T: DeserializeOwned + Default>(&mut self) -> T {
        let keys = serde_keys::<T>();
        let part: DeTable<'a> = self
            .root
            .get_ref()
            .iter()
            .filter(|(k, _)| keys.contains(&k.get_ref().as_ref()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.taken.extend(part.keys().map(|k| k.get_ref().to_string()));
        let part = Spanned::new(self.root.span(), part);
        match T::deserialize(toml::de::Deserializer::from(part)) {
            Ok(v) => v,
            Err(e) => {
                let start = e.span().map_or(0, |s| s.start);
                let key = self.key_at(start).unwrap_or_else(|| "config".to_owned());
                let msg = e.message().trim().replace('\n', " ");
                self.errors.push((start, self.error(key, start, &msg)));
                T::default()
            }
        }
    }

    /// Every problem found: values of the wrong type or range, and keys no
    /// group took (with the keys that exist). Without any, where each key's
    /// value is, for errors found later by resolving.
    pub(crate) fn finish(mut self) -> Result<Locations, ConfigErrors> {
        let unknown: Vec<(String, usize)> = self
            .root
            .get_ref()
            .keys()
            .filter(|k| !self.taken.contains(k.get_ref().as_ref()))
            .map(|k| (k.get_ref().to_string(), k.span().start))
            .collect();
        if !unknown.is_empty() {
            let mut known = super::file_keys();
            known.sort_unstable();
            for (key, at) in unknown {
                let msg = match known.iter().find(|k| edit_distance(k, &key) <= 2) {
                    Some(k) => format!("unknown key (did you mean `{k}`?)"),
                    None => format!("unknown key; the keys are: {}", known.join(", ")),
                };
                self.errors.push((at, self.error(key, at, &msg)));
            }
        }
        let mut errors = self.errors;
        errors.sort_by_key(|(at, _)| *at);
        if errors.is_empty() {
            let at =
                |v: &Spanned<_>| format!("{}{}", self.origin, location(self.text, v.span().start));
            let mut found = BTreeMap::new();
            for (k, v) in self.root.get_ref() {
                found.insert(k.get_ref().to_string(), at(v));
                // One level down, for `extract.NAME`.
                for (sub, sv) in v.get_ref().as_table().into_iter().flatten() {
                    found.insert(format!("{}.{}", k.get_ref(), sub.get_ref()), at(sv));
                }
            }
            Ok(Locations(found))
        } else {
            Err(ConfigErrors(errors.into_iter().map(|(_, e)| e).collect()))
        }
    }

    /// The top-level key whose entry holds byte `at`: the last one to
    /// start before it (a value follows its key; the entries of a table
    /// such as `[extract]` follow its header).
    fn key_at(&self, at: usize) -> Option<String> {
        self.root
            .get_ref()
            .iter()
            .filter(|(k, _)| k.span().start <= at)
            .max_by_key(|(k, _)| k.span().start)
            .map(|(k, _)| k.get_ref().to_string())
    }

    fn error(&self, key: String, at: usize, msg: &str) -> ConfigError {
        ConfigError::new(key, format!("{}{}: {msg}", self.origin, location(self.text, at)))
    }
}

/// `line:column` (1-based, columns in characters) of byte `at`.
fn location(text: &str, at: usize) -> String {
    let at = (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{col}")
}

/// Levenshtein distance, for "did you mean" on a mistyped key.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The keys a struct's `Deserialize` accepts, asked of the derive itself:
/// a deserializer that records the field list of `deserialize_struct`.
pub(crate) fn serde_keys<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field list probe")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> de::Deserializer<'de> for &mut Probe {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut probe = Probe(None);
    let _ = T::deserialize(&mut probe);
    probe.0.unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_lines_and_columns() {
        let text = "a = 1\nbé = \"x\"\n";
        for (at, want) in [(0, "1:1"), (4, "1:5"), (6, "2:1"), (11, "2:5"), (99, "3:1")] {
            assert_eq!(location(text, at), want, "byte {at}");
        }
    }

    #[test]
    fn edit_distances() {
        for (a, b, d) in [
            ("wokers", "workers", 1),
            ("max_pagez", "max_pages", 1),
            ("", "ab", 2),
            ("abc", "abc", 0),
            ("delay", "delay_secs", 5),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
        }
    }

    #[test]
    fn keys_come_from_the_derive() {
        #[derive(serde::Deserialize, Default)]
        struct G {
            #[serde(rename = "timeout_secs")]
            #[allow(dead_code)]
            timeout: Option<f64>,
            #[allow(dead_code)]
            plain: Option<u32>,
        }
        assert_eq!(serde_keys::<G>(), ["timeout_secs", "plain"]);
    }
}
