//! The checks of the `flowlog` fuzz target (`fuzz/fuzz_targets/flowlog.rs`), shared with the
//! corpus replay test so both check the same thing. Not part of the stable API.

use crate::{write_jsonl, ChunkReader, FlowReader, FlowRecord, Format, ReadOptions};

/// Panics (that is the point: the fuzzer reports it) when a check fails.
///
/// Reads `data` as every format with small limits: no panic, and every record read
/// survives a round trip through tabby's JSON Lines unchanged.
#[expect(clippy::panic, reason = "a fuzz check reports failure by panicking")]
pub fn check(data: &[u8]) {
    for format in [
        None,
        Some(Format::Jsonl),
        Some(Format::Calico),
        Some(Format::Csv),
    ] {
        let Ok(mut reader) = FlowReader::with_max_line(data, format, ReadOptions::default(), 4096)
        else {
            continue;
        };
        let mut rec = FlowRecord::default();
        let mut n = 0u32;
        while let Ok(Some(r)) = reader.next_into(&mut rec) {
            n += 1;
            if n > 10_000 {
                break;
            }
            if r.is_err() {
                continue;
            }
            let mut line = String::new();
            write_jsonl(&rec, &mut line);
            let mut back = FlowRecord::default();
            if let Err(e) =
                crate::parse_jsonl_into(line.trim_end(), &mut back, &ReadOptions::default())
            {
                panic!("record read from fuzz input does not re-read: {e}\n{line}");
            }
            assert_eq!(back, rec, "JSON Lines round trip changed the record");
        }
    }
    // Chunking at odd sizes never loses or invents a line.
    let lines = data.iter().filter(|b| **b == b'\n').count() as u64
        + u64::from(data.last().is_some_and(|b| *b != b'\n'));
    let mut cr = ChunkReader::with_limits(data, 3, 1 << 20);
    let mut seen = 0u64;
    while let Ok(Some(c)) = cr.next_chunk(Vec::new()) {
        seen += c.lines().count() as u64;
    }
    assert_eq!(seen, lines, "chunked line count");
}
