//! Flags over file, written once: [`Merge`] says how one value overrides
//! another, and [`option_group!`](crate::option_group) declares an option group (a struct that
//! is clap arguments and a serde config section at once) together with its
//! `Merge` impl, from the same field list. Adding an option to a group
//! therefore needs no merge code.

/// A value that can be overridden by another of its kind: `over` wins where
/// it was given.
pub trait Merge {
    /// `self` (the file) overridden by `over` (the flags).
    #[must_use]
    fn merge(self, over: Self) -> Self;
}

/// A single value: given beats absent.
impl<T> Merge for Option<T> {
    fn merge(self, over: Self) -> Self {
        over.or(self)
    }
}

/// A list (`--allow`, `--extract`, seeds): a non-empty list replaces the
/// other whole, so flags never mix with the file's list.
impl<T> Merge for Vec<T> {
    fn merge(self, over: Self) -> Self {
        if over.is_empty() { self } else { over }
    }
}

/// Declares an option group: the struct (clap `Args` for the flags, serde
/// `Deserialize` with `deny_unknown_fields` for the config file, `Default`
/// for "nothing given") and its field-by-field [`Merge`].
///
/// Every field must be an `Option`, a `Vec` or another [`Merge`] type, so
/// "not given" is representable and the flags can be laid over the file.
/// Doc comments are the `--help` text; `#[arg]` and `#[serde]` attributes
/// pass through.
#[macro_export]
macro_rules! option_group {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty,
            )*
        }
    ) => {
        #[derive(Clone, Debug, Default, PartialEq, clap::Args, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::config::Merge for $name {
            fn merge(self, over: Self) -> Self {
                Self { $( $field: $crate::config::Merge::merge(self.$field, over.$field), )* }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_beats_absent_and_lists_replace_whole() {
        let cases: [(Option<u32>, Option<u32>, Option<u32>); 4] = [
            (None, None, None),
            (Some(1), None, Some(1)),
            (None, Some(2), Some(2)),
            (Some(1), Some(2), Some(2)),
        ];
        for (file, flag, want) in cases {
            assert_eq!(file.merge(flag), want, "{file:?} under {flag:?}");
        }
        let file = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(file.clone().merge(Vec::new()), file);
        assert_eq!(file.merge(vec!["c".to_owned()]), ["c"]);
    }
}
