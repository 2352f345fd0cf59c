//! Replays every input in `fuzz/corpus/selector/` through the fuzz target's
//! check, so the corpus (and any crash reproducer added to it) is a
//! regression test that runs with `cargo test`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation should stop the test"
)]

use std::path::Path;

#[test]
fn replay_fuzz_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/selector");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        tabby_selector::check::round_trip(&String::from_utf8_lossy(&bytes));
        n += 1;
    }
    assert!(n >= 30, "only {n} corpus files in {}", dir.display());
}
