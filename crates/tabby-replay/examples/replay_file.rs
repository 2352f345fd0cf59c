//! End-to-end throughput on a file of any size, on the synthetic cluster:
//!
//! ```sh
//! cargo run --release -p tabby-replay --example replay_file -- gen 20000000 /tmp/flows.jsonl
//! cargo run --release -p tabby-replay --example replay_file -- run /tmp/flows.jsonl [THREADS]
//! ```
//! `gen` writes the same traffic as `tabby flows generate --records N` (10k pods, 100
//! namespaces, 1000 policies, seed 1). `run` replays the file and prints records/s and the
//! peak resident memory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "example"
)]

use std::io::Write;
use std::time::Instant;

use tabby_eval::{Engine, EngineOptions};
use tabby_flowlog::{FlowRecord, FlowWriter, Format};
use tabby_replay::{run, ReplayOptions, Replayer, RunOptions, Tally};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cluster = tabby_eval::gen::synthetic_cluster(10_000, 100, 1_000, 1);
    let t0 = Instant::now();
    let engine = Engine::new(&cluster, EngineOptions::default());
    eprintln!("engine built in {:?}", t0.elapsed());
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let n: u64 = arg(&args, 2).parse().unwrap();
            let f = std::io::BufWriter::new(std::fs::File::create(arg(&args, 3)).unwrap());
            let mut w = FlowWriter::new(f, Format::Jsonl);
            let mut g = tabby_replay::gen::generator_for(&engine, 1);
            let mut rec = FlowRecord::default();
            for _ in 0..n {
                g.next_into(&mut rec);
                w.write(&rec).unwrap();
            }
            w.finish().unwrap().flush().unwrap();
        }
        Some("run") => {
            let threads = args.get(3).map_or(2, |t| t.parse().unwrap());
            let replayer = Replayer::new(&engine, None, ReplayOptions::default());
            let opts = RunOptions {
                threads,
                ..RunOptions::default()
            };
            let t = Instant::now();
            let f = std::fs::File::open(arg(&args, 2)).unwrap();
            let r = run(f, 0, &opts, || replayer.worker(), &mut |_| {}).unwrap();
            let mut tally = Tally::default();
            for w in r.sinks {
                tally.merge(w.finish(), 3);
            }
            let secs = t.elapsed().as_secs_f64();
            let rss = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmHWM"))
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            println!(
                "{} records ({} MB) in {secs:.2} s: {:.0} records/s, {:.0} MB/s, {} threads; newly denied {}; {rss}",
                r.stats.records,
                r.stats.bytes / 1_000_000,
                r.stats.records as f64 / secs,
                r.stats.bytes as f64 / 1e6 / secs,
                threads,
                tally.breakage_records()
            );
        }
        _ => eprintln!("usage: replay_file gen N FILE | run FILE [THREADS]"),
    }
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map_or("", String::as_str)
}
