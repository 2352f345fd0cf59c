//! Lint checks (see the crate README).
