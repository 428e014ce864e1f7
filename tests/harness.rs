//! The helpers under the module name the tests have always imported
//! (`use crate::harness::*`); they live in `tests/support/`, one concept
//! per file.

#[allow(unused_imports)]
pub(crate) use crate::support::*;
