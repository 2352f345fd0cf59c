//! End-to-end throughput on a file of any size, on the synthetic cluster:
//!
//! ```sh
//! cargo run --release -p tabby-replay --example replay_file -- gen 20000000 /tmp/flows.jsonl
//! cargo run --release -p tabby-replay --example replay_file -- run /tmp/flows.jsonl [THREADS [MEMO [CHUNK_KIB]]]
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
            // Optional 4th argument: decision memo entries per generation (0: none).
            let memo: usize = args.get(4).map_or(0, |t| t.parse().unwrap());
            let replayer = Replayer::new(&engine, None, ReplayOptions::default()).with_memo(memo);
            // Optional 5th argument: chunk size in KiB.
            let chunk = args.get(5).map_or(tabby_flowlog::DEFAULT_CHUNK, |c| {
                c.parse::<usize>().unwrap() << 10
            });
            let opts = RunOptions {
                threads,
                chunk,
                ..RunOptions::default()
            };
            let t = Instant::now();
            let cpu0 = cpu_seconds();
            let f = std::fs::File::open(arg(&args, 2)).unwrap();
            let r = run(f, 0, &opts, || replayer.worker(), &mut |_| {}).unwrap();
            let mut tally = Tally::default();
            let (mut lookups, mut hits) = (0, 0);
            for w in r.sinks {
                let (l, h) = w.memo_stats();
                lookups += l;
                hits += h;
                tally.merge(w.finish(), 3);
            }
            if lookups > 0 {
                println!(
                    "memo: {memo} entries per generation per worker, {hits} hits of {lookups} lookups ({:.1} %)",
                    hits as f64 * 100.0 / lookups as f64
                );
            }
            let secs = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu0;
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
            // CPU time is less disturbed than wall-clock time when others share the machine.
            println!(
                "CPU {cpu:.2} s (user+sys, all threads): {:.2} µs/record; at that cost {:.0} records/s per core",
                cpu * 1e6 / r.stats.records.max(1) as f64,
                r.stats.records as f64 / cpu.max(1e-9)
            );
        }
        _ => eprintln!("usage: replay_file gen N FILE | run FILE [THREADS]"),
    }
}

/// User plus system CPU time of this process so far (Linux `/proc`, clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map_or("", String::as_str)
}
