//! Selector parser: no panic on any input, and printing a parsed selector
//! gives text that parses back to the same tree (after removing double
//! negations, which Calico's printer writes as `!!x`). Also checks that the
//! compiled evaluator agrees with the plain one on a few label sets.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run selector -s none`
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabby_selector::check;

fuzz_target!(|data: &[u8]| {
    check::round_trip(&String::from_utf8_lossy(data));
});
