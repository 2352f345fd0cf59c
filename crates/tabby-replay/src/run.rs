//! The parallel pipeline: one reader, N parsing and deciding workers, merged results.
//!
//! ```text
//!   reader (calling thread) ── Chunk (≈256 KiB of whole lines) ──▶ bounded channel
//!        ▲                                                            │
//!        └──── empty buffers back (recycled, no steady-state allocation)
//!                                                                     ▼
//!                          worker 1..N: parse each line into a reused FlowRecord,
//!                                       feed a Sink (replay worker, summary, ...)
//!                                                                     │
//!                          join: sinks merged, errors sorted by line ─┘
//! ```
//! Memory is bounded by (2N + 2) chunks plus one line limit, whatever the file size.

use std::io::Read;
use std::sync::mpsc::{channel, sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use tabby_flowlog::{
    open_flows, parse_line, too_long_error, Chunk, ChunkReader, FlowRecord, Format, OpenError,
    ReadOptions, ReadStats, RecordError, DEFAULT_CHUNK, DEFAULT_MAX_LINE,
};

use crate::replay::Origin;

/// Something that consumes records on one worker thread.
pub trait Sink: Send {
    /// One record, read at `origin`.
    fn record(&mut self, rec: &FlowRecord, origin: Origin);

    /// Whether the sink reads the labels of endpoints that have an IP address. Sinks that
    /// map endpoints by address first (replay) answer `false`, and the parser then skips
    /// those label objects (still checking them).
    fn labels_with_ip(&self) -> bool {
        true
    }
}

/// Settings of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// The format, or `None` to detect it.
    pub format: Option<Format>,
    /// What to parse.
    pub read: ReadOptions,
    /// Longest line accepted.
    pub max_line: usize,
    /// Chunk size.
    pub chunk: usize,
    /// Record errors kept (the rest are only counted).
    pub max_errors: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            format: None,
            read: ReadOptions { policies: false },
            max_line: DEFAULT_MAX_LINE,
            chunk: DEFAULT_CHUNK,
            max_errors: 1000,
        }
    }
}

/// The result of reading one input.
#[derive(Debug)]
pub struct RunResult<S> {
    /// One sink per worker, to be merged by the caller.
    pub sinks: Vec<S>,
    /// Counts.
    pub stats: ReadStats,
    /// The first `max_errors` malformed records, by line.
    pub errors: Vec<RecordError>,
    /// The format read.
    pub format: Format,
}

/// Reads `input` (file number `file`) in parallel, feeding records to sinks made by `make`.
/// `progress` is called on the reading thread with the bytes read so far.
pub fn run<R: Read, S: Sink>(
    input: R,
    file: u32,
    opts: &RunOptions,
    make: impl Fn() -> S + Sync,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult<S>, OpenError> {
    let chunks = ChunkReader::with_limits(input, opts.chunk, opts.max_line);
    let (parser, mut chunks) = open_flows(chunks, opts.format, opts.read)?;
    let format = parser.format();
    let threads = opts.threads.max(1);
    let (tx, rx) = sync_channel::<Chunk>(threads * 2);
    let rx = Arc::new(Mutex::new(rx));
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    let max_errors = opts.max_errors;
    let max_line = opts.max_line;
    let (results, io_result) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&rx);
                let free_tx = free_tx.clone();
                let parser = parser.clone();
                let make = &make;
                scope.spawn(move || {
                    let mut sink = make();
                    let mut parser = parser.labels_only_without_ip(!sink.labels_with_ip());
                    let mut rec = FlowRecord::default();
                    let mut stats = ReadStats::default();
                    let mut errors = Vec::new();
                    let mut note = |e: RecordError, stats: &mut ReadStats| {
                        stats.skipped += 1;
                        if errors.len() < max_errors {
                            errors.push(e);
                        }
                    };
                    while let Some(chunk) = next(&rx) {
                        if let Some(len) = chunk.too_long {
                            note(too_long_error(chunk.first_line, len, max_line), &mut stats);
                            continue;
                        }
                        for (line, text) in chunk.lines() {
                            match parse_line(&mut parser, line, text, &mut rec) {
                                None => {}
                                Some(Ok(())) => {
                                    stats.records += 1;
                                    sink.record(&rec, Origin { file, line });
                                }
                                Some(Err(e)) => note(e, &mut stats),
                            }
                        }
                        let _ = free_tx.send(chunk.data);
                    }
                    (sink, stats, errors)
                })
            })
            .collect();
        drop(free_tx);
        let mut io_result = Ok(());
        loop {
            let buf = free_rx.try_recv().unwrap_or_default();
            match chunks.next_chunk(buf) {
                Ok(Some(c)) => {
                    progress(chunks.bytes_read());
                    if tx.send(c).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    io_result = Err(e);
                    break;
                }
            }
        }
        drop(tx);
        let results: Vec<_> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        (results, io_result)
    });
    io_result?;
    let mut stats = ReadStats {
        bytes: chunks.bytes_read(),
        ..ReadStats::default()
    };
    let mut sinks = Vec::new();
    let mut errors = Vec::new();
    for (s, st, e) in results {
        stats.records += st.records;
        stats.skipped += st.skipped;
        sinks.push(s);
        errors.extend(e);
    }
    errors.sort_by_key(|e| e.line);
    errors.truncate(max_errors);
    Ok(RunResult {
        sinks,
        stats,
        errors,
        format,
    })
}

fn next(rx: &Mutex<Receiver<Chunk>>) -> Option<Chunk> {
    rx.lock().ok()?.recv().ok()
}

impl Sink for crate::replay::Worker<'_, '_> {
    fn record(&mut self, rec: &FlowRecord, origin: Origin) {
        crate::replay::Worker::record(self, rec, origin);
    }

    fn labels_with_ip(&self) -> bool {
        // Endpoints with an address are mapped by it; labels only map those without.
        false
    }
}
