//! Whole-cluster analyses on top of the engine: reachability ([`reach`],
//! [`reach_port`]) and the difference two policy sets make ([`diff`]).
//!
//! Results are data; renderers (`to_json`, `to_table`, `to_csv`, `to_markdown`,
//! `to_dot`) are pure methods returning text. The JSON forms are documented in
//! `docs/reach.md`.

mod diff;
mod ports;
mod reach;

pub use diff::{diff, Change, Diff, DiffEntry};
pub use ports::{PortRanges, Summary};
pub use reach::{
    reach, reach_port, Connection, PortMatrix, Reach, ReachEndpoint, ReachOptions, Unit, UnitKind,
};
