//! Continuous crawling: what a revisit found ([`change`]), how often to
//! come back ([`adaptive`]), what `trawl refresh` fetches ([`select`]).
//! Sync and pure: every function takes the times it needs; the
//! scheduler's revisit path and `trawl refresh` drive them.

pub mod adaptive;
pub mod change;
pub mod select;

pub use adaptive::next_interval;
pub use change::{classify, merge};
pub use select::{due_pages, is_due};

use std::collections::BTreeMap;
use trawl_common::protocol::FieldValue;

/// xxh3-64 of a page's title and extracted fields: equal when the data a
/// crawl keeps is equal, even if the markup around it changed.
pub fn fields_hash(title: Option<&str>, fields: &BTreeMap<String, FieldValue>) -> u64 {
    // Encoding owned serde data into a Vec cannot fail; a BTreeMap keeps
    // the fields in name order, so equal data gives equal bytes.
    let bytes = bincode::serde::encode_to_vec((title, fields), bincode::config::standard())
        .unwrap_or_default();
    trawl_common::hash::content_hash(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_hash_sees_data_not_order_of_insertion() {
        let mut a = BTreeMap::new();
        a.insert("x".to_owned(), FieldValue::One(Some("1".into())));
        a.insert("y".to_owned(), FieldValue::Many(vec!["a".into()]));
        let mut b = BTreeMap::new();
        b.insert("y".to_owned(), FieldValue::Many(vec!["a".into()]));
        b.insert("x".to_owned(), FieldValue::One(Some("1".into())));
        assert_eq!(fields_hash(Some("t"), &a), fields_hash(Some("t"), &b));
        assert_ne!(fields_hash(Some("t"), &a), fields_hash(Some("u"), &a));
        assert_ne!(fields_hash(None, &a), fields_hash(Some(""), &a));
        b.insert("x".to_owned(), FieldValue::One(Some("2".into())));
        assert_ne!(fields_hash(Some("t"), &a), fields_hash(Some("t"), &b));
    }
}
