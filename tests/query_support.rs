//! The helpers under the module name the query, API, export and dashboard
//! tests once imported; they live in `tests/support/`. Kept only so test
//! files written against the old name still build.

#[allow(unused_imports)]
pub(crate) use crate::support::*;
