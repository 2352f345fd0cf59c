//! Replays flow logs against a policy set (docs/replay.md).

pub mod gen;
pub mod hash;
mod map;
mod replay;
mod report;
mod run;
pub mod summary;

pub use map::{Directory, Mapper, Unmapped};
pub use replay::{
    flow_of, Example, Group, GroupKey, Origin, ReplayOptions, Replayer, Side, Tally, Worker,
};
pub use report::{describe, ExampleReport, GroupReport, Report};
pub use run::{run, RunOptions, RunResult, Sink};
