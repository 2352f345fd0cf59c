//! The flow-log readers (tabby JSON Lines, Calico JSON, CSV) on arbitrary bytes: no panic,
//! bounded lines, and every record read survives a JSON Lines round trip.
//!
//! Run: `cargo fuzz run flowlog fuzz/corpus/flowlog` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tabby_flowlog::fuzzing::check(data);
});
