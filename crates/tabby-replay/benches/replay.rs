//! Replay throughput: tabby JSON Lines in memory → parse → map → decide → tally,
//! on the 10k-pod synthetic cluster (docs/bench/flows.md).

#![allow(clippy::panic, clippy::unwrap_used, reason = "bench harness")]

use divan::counter::ItemsCount;
use divan::Bencher;
use tabby_eval::{Engine, EngineOptions};
use tabby_flowlog::{write_jsonl, FlowRecord, ReadOptions};
use tabby_replay::{run, ReplayOptions, Replayer, RunOptions, Tally};

const RECORDS: usize = 200_000;

fn setup() -> (Engine, Vec<u8>) {
    let cluster = tabby_eval::gen::synthetic_cluster(10_000, 100, 1_000, 1);
    let engine = Engine::new(&cluster, EngineOptions::default());
    let mut generator = tabby_replay::gen::generator_for(&engine, 1);
    let mut text = String::new();
    let mut rec = FlowRecord::default();
    for _ in 0..RECORDS {
        generator.next_into(&mut rec);
        write_jsonl(&rec, &mut text);
    }
    (engine, text.into_bytes())
}

fn main() {
    divan::main();
}

#[divan::bench(args = [1, 2], sample_count = 5)]
fn replay_jsonl(bencher: Bencher, threads: usize) {
    let (engine, bytes) = setup();
    let replayer = Replayer::new(&engine, None, ReplayOptions::default());
    let opts = RunOptions {
        threads,
        ..RunOptions::default()
    };
    bencher.counter(ItemsCount::new(RECORDS)).bench_local(|| {
        let r = run(&bytes[..], 0, &opts, || replayer.worker(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let mut t = Tally::default();
        for w in r.sinks {
            t.merge(w.finish(), 3);
        }
        t.records
    });
}

#[divan::bench(sample_count = 5)]
fn parse_only_jsonl(bencher: Bencher) {
    let (_, bytes) = setup();
    bencher.counter(ItemsCount::new(RECORDS)).bench_local(|| {
        let text = std::str::from_utf8(&bytes).unwrap_or_default();
        let mut rec = FlowRecord::default();
        let mut n = 0u64;
        for line in text.lines() {
            if tabby_flowlog::parse_jsonl_into(line, &mut rec, &ReadOptions { policies: false })
                .is_ok()
            {
                n += rec.num_flows;
            }
        }
        n
    });
}
