//! Streaming input: whole-line chunks with a bounded line length, format detection, and a
//! single-threaded record reader built on them.
//!
//! ```text
//!   Read ─▶ ChunkReader ─▶ Chunk { bytes of whole lines, first line number }
//!                               │  (a line longer than the limit is skipped, reading on to
//!                               │   its end in bounded pieces, and reported by number)
//!                               ├─▶ FlowReader (one thread: records one by one)
//!                               └─▶ many workers (tabby-replay: chunks parsed in parallel)
//! ```

use std::io::{self, Read};

use crate::calico::parse_calico;
use crate::csv::{parse_csv_into, CsvHeader, CsvScratch};
use crate::jsonl::{self, Scratch};
use crate::record::FlowRecord;
use crate::{Format, ParseError, ReadOptions};

/// Default longest line accepted (bytes). Longer lines are reported and skipped.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// Default chunk size handed to workers.
pub const DEFAULT_CHUNK: usize = 256 << 10;

/// A run of whole lines.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The bytes: whole lines, each ending in `\n` except perhaps the last one of the input.
    pub data: Vec<u8>,
    /// Line number (1-based) of the first line in `data`.
    pub first_line: u64,
    /// Set when this chunk stands for one over-long line (then `data` is empty): its length
    /// in bytes (at least the limit).
    pub too_long: Option<u64>,
}

impl Chunk {
    /// The lines of the chunk with their numbers (line ends and a trailing `\r` removed).
    /// Lines that are not UTF-8 come out as `Err(line number)`.
    pub fn lines(&self) -> Lines<'_> {
        let data = self.data.strip_suffix(b"\n").unwrap_or(&self.data);
        Lines {
            data,
            // One check for the whole chunk; per line only when it fails.
            // Same acceptance as `std::str::from_utf8`, several times faster (SIMD).
            text: simdutf8::basic::from_utf8(data).ok(),
            pos: 0,
            line: self.first_line,
            done: self.data.is_empty(),
        }
    }
}

/// The lines of a [`Chunk`]: `(line number, text)`, the text `Err(())` when not UTF-8.
#[derive(Debug, Clone)]
pub struct Lines<'c> {
    data: &'c [u8],
    text: Option<&'c str>,
    pos: usize,
    line: u64,
    done: bool,
}

impl<'c> Iterator for Lines<'c> {
    type Item = (u64, Result<&'c str, ()>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let rest = self.data.get(start..).unwrap_or_default();
        let end = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                self.pos = start + i + 1;
                start + i
            }
            None => {
                self.done = true;
                self.data.len()
            }
        };
        let no = self.line;
        self.line += 1;
        let raw = self.data.get(start..end).unwrap_or_default();
        let cut = usize::from(raw.last() == Some(&b'\r'));
        let end = end - cut;
        let text = match self.text {
            // Line boundaries sit next to ASCII bytes, so they are char boundaries.
            Some(t) => t.get(start..end).ok_or(()),
            None => {
                std::str::from_utf8(raw.get(..raw.len() - cut).unwrap_or_default()).map_err(|_| ())
            }
        };
        Some((no, text))
    }
}

/// Splits a byte stream into chunks of whole lines, never holding more than
/// `chunk + max_line` bytes.
#[derive(Debug)]
pub struct ChunkReader<R> {
    inner: R,
    carry: Vec<u8>,
    next_line: u64,
    chunk: usize,
    max_line: usize,
    eof: bool,
    /// Chunks handed back before the stream (used by format detection).
    pending: Option<Chunk>,
    bytes_read: u64,
}

impl<R: Read> ChunkReader<R> {
    /// A reader with the default chunk size and line limit.
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, DEFAULT_CHUNK, DEFAULT_MAX_LINE)
    }

    /// A reader with explicit chunk size and line limit (both at least 1 byte).
    pub fn with_limits(inner: R, chunk: usize, max_line: usize) -> Self {
        Self {
            inner,
            carry: Vec::new(),
            next_line: 1,
            chunk: chunk.max(1),
            max_line: max_line.max(1),
            eof: false,
            pending: None,
            bytes_read: 0,
        }
    }

    /// Bytes read from the underlying reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Puts a chunk back to be returned by the next call.
    pub fn push_back(&mut self, chunk: Chunk) {
        self.pending = Some(chunk);
    }

    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        let start = buf.len();
        buf.reserve(want);
        // `read_to_end` reads into the spare capacity without zeroing it first, and (through
        // `take`) stops after `want` bytes; fewer means the input ended.
        match (&mut self.inner).take(want as u64).read_to_end(buf) {
            Ok(n) => {
                self.bytes_read += n as u64;
                if n < want {
                    self.eof = true;
                }
                Ok(n)
            }
            Err(e) => {
                buf.truncate(start);
                Err(e)
            }
        }
    }

    /// The next chunk, reusing `buf` for its bytes. `None` at the end of input.
    pub fn next_chunk(&mut self, mut buf: Vec<u8>) -> io::Result<Option<Chunk>> {
        if let Some(c) = self.pending.take() {
            return Ok(Some(c));
        }
        buf.clear();
        buf.append(&mut self.carry);
        loop {
            if buf.len() >= self.chunk || self.eof {
                if let Some(i) = memchr::memrchr(b'\n', &buf) {
                    self.carry
                        .extend_from_slice(buf.get(i + 1..).unwrap_or_default());
                    buf.truncate(i + 1);
                    return Ok(Some(self.make(buf)));
                }
                if self.eof {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(self.make(buf)));
                }
            }
            // INVARIANT: `buf` never grows past `max_line` + one read without holding a newline.
            if buf.len() > self.max_line && memchr::memchr(b'\n', &buf).is_none() {
                return self.skip_long_line(buf).map(Some);
            }
            let want = match self.chunk.checked_sub(buf.len()) {
                Some(short) if short > 0 => short.max(4 << 10),
                _ => 64 << 10,
            };
            self.fill(&mut buf, want)?;
        }
    }

    fn make(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        let newlines = memchr::memchr_iter(b'\n', &data).count() as u64;
        let last_unterminated = u64::from(!data.is_empty() && data.last() != Some(&b'\n'));
        self.next_line += newlines + last_unterminated;
        Chunk {
            data,
            first_line,
            too_long: None,
        }
    }

    fn too_long(&mut self, len: u64, mut buf: Vec<u8>) -> Chunk {
        buf.clear();
        let first_line = self.next_line;
        self.next_line += 1;
        Chunk {
            data: buf,
            first_line,
            too_long: Some(len),
        }
    }

    /// The current line has no newline within the limit: read on (in bounded pieces) to its end.
    fn skip_long_line(&mut self, mut buf: Vec<u8>) -> io::Result<Chunk> {
        let mut len = buf.len() as u64;
        loop {
            buf.clear();
            let n = self.fill(&mut buf, 64 << 10)?;
            if n == 0 {
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf) {
                len += i as u64;
                self.carry
                    .extend_from_slice(buf.get(i + 1..).unwrap_or_default());
                break;
            }
            len += n as u64;
        }
        Ok(self.too_long(len, buf))
    }
}

/// Turns lines into records for one format; one per thread (it owns scratch space).
#[derive(Debug, Clone)]
pub struct RecordParser {
    format: Format,
    csv: Option<CsvHeader>,
    opts: ReadOptions,
    scratch_csv: CsvScratch,
    scratch: Scratch,
    max_line: usize,
    lazy_labels: bool,
}

impl RecordParser {
    /// A parser for `format`; CSV needs its header.
    pub fn new(format: Format, csv: Option<CsvHeader>, opts: ReadOptions) -> Self {
        Self {
            format,
            csv,
            opts,
            scratch_csv: CsvScratch::default(),
            scratch: Scratch::default(),
            max_line: DEFAULT_MAX_LINE,
            lazy_labels: false,
        }
    }

    /// Reads an endpoint's labels only when it has no IP address (tabby JSON Lines; other
    /// formats always read them). Label objects are still checked, so the same lines are
    /// accepted and rejected; records just come out without the labels of addressed
    /// endpoints. For consumers that map endpoints by address first, like replay.
    pub fn labels_only_without_ip(mut self, on: bool) -> Self {
        self.lazy_labels = on;
        self
    }

    /// Sets the longest line accepted.
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// The longest line accepted.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// The format parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Parses `line` into `rec` (reusing its buffers for tabby JSON Lines).
    #[inline]
    pub fn parse_into(&mut self, line: &str, rec: &mut FlowRecord) -> Result<(), ParseError> {
        match self.format {
            Format::Jsonl => {
                jsonl::parse_with(line, rec, &self.opts, &mut self.scratch, self.lazy_labels)
            }
            Format::Calico => {
                *rec = parse_calico(line)?;
                if !self.opts.policies {
                    rec.policies.clear();
                    rec.pending_policies.clear();
                }
                Ok(())
            }
            Format::Csv => match &self.csv {
                Some(h) => parse_csv_into(line, h, rec, &self.opts, &mut self.scratch_csv),
                None => Err(ParseError::new("CSV input without a header row")),
            },
        }
    }
}

/// Detects the format from the first non-blank line: `{` with tabby field names (`src_…`, `v`)
/// is tabby JSON Lines, any other `{` is Calico flow-log JSON, and a line naming the
/// `action` and `proto` columns is a CSV header.
pub fn detect_format(first_line: &str) -> Option<Format> {
    let t = first_line.trim_start();
    if t.starts_with('{') {
        if t.contains("\"src_") || t.contains("\"dst_") || t.starts_with("{\"v\":") {
            Some(Format::Jsonl)
        } else {
            Some(Format::Calico)
        }
    } else if CsvHeader::looks_like_header(t) {
        Some(Format::Csv)
    } else {
        None
    }
}

/// Why a flow log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The format could not be detected, or the CSV header is bad.
    #[error("{0}")]
    Format(ParseError),
}

/// Reads the first chunk, detects (or checks) the format, consumes a CSV header, and
/// returns the parser and the chunk reader positioned at the first record.
pub fn open_flows<R: Read>(
    mut chunks: ChunkReader<R>,
    format: Option<Format>,
    opts: ReadOptions,
) -> Result<(RecordParser, ChunkReader<R>), OpenError> {
    let max_line = chunks.max_line;
    let Some(mut first) = chunks.next_chunk(Vec::new())? else {
        return Ok((
            RecordParser::new(format.unwrap_or(Format::Jsonl), None, opts).with_max_line(max_line),
            chunks,
        ));
    };
    // The first non-blank line.
    let mut header: Option<(u64, usize, String)> = None;
    let mut offset = 0usize;
    for line in first.data.split_inclusive(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if !text.trim().is_empty() {
            header = Some((
                0,
                offset + line.len(),
                text.trim_end_matches(['\n', '\r']).to_owned(),
            ));
            break;
        }
        offset += line.len();
    }
    let Some((_, end, line)) = header else {
        chunks.push_back(first);
        return Ok((
            RecordParser::new(format.unwrap_or(Format::Jsonl), None, opts).with_max_line(max_line),
            chunks,
        ));
    };
    let format = match format {
        Some(f) => f,
        None => detect_format(&line).ok_or_else(|| {
            OpenError::Format(
                ParseError::new("cannot tell the flow-log format from the first line")
                    .with_help("use --format jsonl, calico or csv; a CSV file needs a header row naming at least `action` and `proto`"),
            )
        })?,
    };
    let mut csv = None;
    if format == Format::Csv {
        csv = Some(CsvHeader::parse(&line).map_err(OpenError::Format)?);
        let skipped_lines = first
            .data
            .get(..end)
            .unwrap_or_default()
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        first.data.drain(..end.min(first.data.len()));
        first.first_line += skipped_lines.max(1);
    }
    chunks.push_back(first);
    Ok((
        RecordParser::new(format, csv, opts).with_max_line(max_line),
        chunks,
    ))
}

/// One malformed record: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The line number (1-based).
    pub line: u64,
    /// What is wrong.
    pub error: ParseError,
}

impl RecordError {
    /// `FILE:LINE: error: MESSAGE` (plus `  = help: ...` when there is help).
    pub fn render(&self, file: &str) -> String {
        let mut s = format!("{file}:{}: error: {}", self.line, self.error.message());
        if let Some(h) = self.error.help() {
            s.push_str("\n  = help: ");
            s.push_str(h);
        }
        s
    }
}

/// Counts of one read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Records parsed.
    pub records: u64,
    /// Malformed lines skipped.
    pub skipped: u64,
    /// Bytes read.
    pub bytes: u64,
}

impl ReadStats {
    /// Adds another run's counts.
    pub fn add(&mut self, o: &ReadStats) {
        self.records += o.records;
        self.skipped += o.skipped;
        self.bytes += o.bytes;
    }
}

/// Classifies one line of a chunk into a record (in `rec`) or an error; blank lines give `None`.
#[inline]
pub fn parse_line(
    parser: &mut RecordParser,
    line_no: u64,
    line: Result<&str, ()>,
    rec: &mut FlowRecord,
) -> Option<Result<(), RecordError>> {
    let line = match line {
        Ok(l) => l,
        Err(()) => {
            return Some(Err(RecordError {
                line: line_no,
                error: ParseError::new("the line is not valid UTF-8"),
            }))
        }
    };
    if line.len() > parser.max_line {
        return Some(Err(too_long_error(
            line_no,
            line.len() as u64,
            parser.max_line,
        )));
    }
    // A line starting with a visible ASCII character is not blank (no need to trim it).
    let visible = line.as_bytes().first().is_some_and(u8::is_ascii_graphic);
    if !visible && line.trim().is_empty() {
        return None;
    }
    Some(parser.parse_into(line, rec).map_err(|error| RecordError {
        line: line_no,
        error,
    }))
}

/// The error for an over-long line.
pub fn too_long_error(line: u64, len: u64, max: usize) -> RecordError {
    RecordError {
        line,
        error: ParseError::new(format!(
            "line of {len} bytes is longer than the limit of {max} bytes"
        ))
        .with_help("each record must be on one line; raise the limit with --max-line-bytes"),
    }
}

/// Reads records one at a time on the calling thread.
///
/// ```
/// use tabby_flowlog::{FlowReader, Action};
/// let log = "{\"src_ip\":\"10.0.0.1\",\"dst_ip\":\"10.0.0.2\",\"dst_port\":80,\"proto\":6,\"action\":\"allow\"}\nnot json\n";
/// let mut r = FlowReader::new(log.as_bytes(), None, Default::default()).unwrap();
/// let recs: Vec<_> = r.by_ref().collect();
/// assert_eq!(recs.len(), 2);
/// assert_eq!(recs[0].as_ref().unwrap().action, Action::Allow);
/// assert_eq!(recs[1].as_ref().unwrap_err().to_string(), "line 2: expected `{`, found `n` (at byte 1)");
/// assert_eq!(r.stats().records, 1);
/// assert_eq!(r.stats().skipped, 1);
/// ```
#[derive(Debug)]
pub struct FlowReader<R> {
    chunks: ChunkReader<R>,
    parser: RecordParser,
    chunk: Chunk,
    pos: usize,
    line: u64,
    stats: ReadStats,
    max_line: usize,
    done: bool,
}

/// An error from [`FlowReader`]: a malformed record (reading goes on) or an I/O error (it stops).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A malformed record, skipped.
    #[error("line {}: {}", .0.line, .0.error.message())]
    Record(RecordError),
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl<R: Read> FlowReader<R> {
    /// Opens `inner`, detecting the format unless given.
    pub fn new(inner: R, format: Option<Format>, opts: ReadOptions) -> Result<Self, OpenError> {
        Self::with_max_line(inner, format, opts, DEFAULT_MAX_LINE)
    }

    /// Like [`FlowReader::new`] with a line-length limit.
    pub fn with_max_line(
        inner: R,
        format: Option<Format>,
        opts: ReadOptions,
        max_line: usize,
    ) -> Result<Self, OpenError> {
        let (parser, chunks) = open_flows(
            ChunkReader::with_limits(inner, DEFAULT_CHUNK, max_line),
            format,
            opts,
        )?;
        Ok(Self {
            chunks,
            parser,
            chunk: Chunk::default(),
            pos: 0,
            line: 0,
            stats: ReadStats::default(),
            max_line,
            done: false,
        })
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.parser.format()
    }

    /// Counts so far.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            bytes: self.chunks.bytes_read(),
            ..self.stats
        }
    }

    /// Reads the next record into `rec`. `Ok(None)` at the end; `Ok(Some(Err(..)))` for a
    /// malformed record (already counted as skipped).
    pub fn next_into(
        &mut self,
        rec: &mut FlowRecord,
    ) -> io::Result<Option<Result<(), RecordError>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.pos >= self.chunk.data.len() {
                let buf = std::mem::take(&mut self.chunk.data);
                match self.chunks.next_chunk(buf)? {
                    None => {
                        self.done = true;
                        return Ok(None);
                    }
                    Some(c) => {
                        self.chunk = c;
                        self.pos = 0;
                        self.line = self.chunk.first_line;
                        if let Some(len) = self.chunk.too_long {
                            self.stats.skipped += 1;
                            return Ok(Some(Err(too_long_error(
                                self.chunk.first_line,
                                len,
                                self.max_line,
                            ))));
                        }
                        continue;
                    }
                }
            }
            let rest = self.chunk.data.get(self.pos..).unwrap_or_default();
            let (raw, adv) = match memchr::memchr(b'\n', rest) {
                Some(i) => (rest.get(..i).unwrap_or_default(), i + 1),
                None => (rest, rest.len()),
            };
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line_no = self.line;
            self.line += 1;
            self.pos += adv;
            let text = std::str::from_utf8(raw).map_err(|_| ());
            match parse_line(&mut self.parser, line_no, text, rec) {
                None => continue,
                Some(Ok(())) => {
                    self.stats.records += 1;
                    return Ok(Some(Ok(())));
                }
                Some(Err(e)) => {
                    self.stats.skipped += 1;
                    return Ok(Some(Err(e)));
                }
            }
        }
    }
}

impl<R: Read> Iterator for FlowReader<R> {
    type Item = Result<FlowRecord, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut rec = FlowRecord::default();
        match self.next_into(&mut rec) {
            Ok(None) => None,
            Ok(Some(Ok(()))) => Some(Ok(rec)),
            Ok(Some(Err(e))) => Some(Err(ReadError::Record(e))),
            Err(e) => {
                self.done = true;
                Some(Err(ReadError::Io(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_lines_split_number_and_check_utf8() {
        type Want<'a> = Vec<(u64, Result<&'a str, ()>)>;
        let cases: Vec<(&[u8], Want<'_>)> = vec![
            (b"", vec![]),
            (b"\n", vec![(5, Ok(""))]),
            (b"a\nb", vec![(5, Ok("a")), (6, Ok("b"))]),
            (
                b"a\r\n\r\nb\r\n",
                vec![(5, Ok("a")), (6, Ok("")), (7, Ok("b"))],
            ),
            (
                b"\xc3\xa9\n\xff\nok\n",
                vec![(5, Ok("\u{e9}")), (6, Err(())), (7, Ok("ok"))],
            ),
            (b"x\n\n\n", vec![(5, Ok("x")), (6, Ok("")), (7, Ok(""))]),
            (b"\xe2\x98\x83\r", vec![(5, Ok("\u{2603}"))]),
        ];
        for (data, want) in cases {
            let chunk = Chunk {
                data: data.to_vec(),
                first_line: 5,
                too_long: None,
            };
            let got: Want<'_> = chunk.lines().collect();
            assert_eq!(got, want, "{data:?}");
        }
    }

    #[test]
    fn chunks_cover_the_input_at_any_size() {
        let text = b"one\ntwo\r\n\nfour\nfive";
        for size in [1, 2, 3, 7, 64, 1 << 20] {
            let mut r = ChunkReader::with_limits(&text[..], size, 1 << 20);
            let mut all = Vec::new();
            let mut lines = Vec::new();
            while let Some(c) = r.next_chunk(Vec::new()).unwrap() {
                all.extend_from_slice(&c.data);
                lines.extend(c.lines().map(|(n, l)| (n, l.unwrap().to_owned())));
            }
            assert_eq!(all, text, "size {size}");
            let want: Vec<(u64, String)> = ["one", "two", "", "four", "five"]
                .iter()
                .enumerate()
                .map(|(i, l)| (i as u64 + 1, (*l).to_owned()))
                .collect();
            assert_eq!(lines, want, "size {size}");
            assert_eq!(r.bytes_read(), text.len() as u64);
        }
    }
}
