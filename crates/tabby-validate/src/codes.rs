//! Stable diagnostic codes of the validator (documented in `docs/diagnostics.md`).

/// A selector does not parse.
pub const SELECTOR_SYNTAX: &str = "E0201";
