//! Parses every line of a JSON Lines file with the four reader settings (policy traces on
//! or off, labels of addressed endpoints read or only checked) and prints each result:
//! a differential tool for parser changes (run the old and the new build, diff the outputs).
//!
//! ```sh
//! cargo run --release -p tabby-flowlog --example parse_dump -- FILE > out.txt
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "example")]

use std::fmt::Write as _;
use std::io::BufRead;

use tabby_flowlog::{FlowRecord, Format, ReadOptions, RecordParser};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut parsers: Vec<RecordParser> =
        [(true, false), (false, false), (true, true), (false, true)]
            .into_iter()
            .map(|(policies, lazy)| {
                RecordParser::new(Format::Jsonl, None, ReadOptions { policies })
                    .labels_only_without_ip(lazy)
            })
            .collect();
    let mut rec = FlowRecord::default();
    let mut out = String::new();
    for (n, line) in file.split(b'\n').enumerate() {
        let line = line.unwrap();
        let Ok(line) = std::str::from_utf8(&line) else {
            continue;
        };
        for (i, p) in parsers.iter_mut().enumerate() {
            match p.parse_into(line, &mut rec) {
                Ok(()) => {
                    let _ = writeln!(out, "{n}.{i} ok {rec:?}");
                }
                Err(e) => {
                    let _ = writeln!(out, "{n}.{i} err {} | {:?}", e.message(), e.help());
                }
            }
        }
        if out.len() > 1 << 20 {
            print!("{out}");
            out.clear();
        }
    }
    print!("{out}");
}
