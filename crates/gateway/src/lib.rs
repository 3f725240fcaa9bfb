//! gateway (being built; see the crate essay once written).
#![warn(missing_docs)]

pub mod search;
