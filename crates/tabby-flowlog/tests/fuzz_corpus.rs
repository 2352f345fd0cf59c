//! Replays every seed of the `flowlog` fuzz target (`fuzz/corpus/flowlog`) as a normal test.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::PathBuf;

#[test]
fn corpus_replays_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/flowlog");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/flowlog exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        tabby_flowlog::fuzzing::check(&data);
        n += 1;
    }
    assert!(n >= 4, "corpus has {n} seeds");
}
