//! Flow logs: the [`FlowRecord`] type, and streaming readers and writers for tabby's JSON
//! Lines format, Calico's flow-log JSON and CSV (docs/flowlogs.md).
//!
//! Reading never loads a whole file: a [`ChunkReader`] cuts the input into chunks of whole
//! lines (memory bounded by the chunk size plus the line limit); a [`RecordParser`] turns
//! each line into a record, reusing the record's buffers, so a worker thread can parse
//! millions of records without allocating. [`FlowReader`] puts the two together for
//! single-threaded use; `tabby-replay` hands chunks to worker threads instead.
//!
//! Malformed lines are errors with a line number ([`RecordError`]); readers skip them and
//! count them in [`ReadStats`].
//!
//! ```
//! use tabby_flowlog::{write_record, FlowReader, FlowRecord, Format};
//! let rec = FlowRecord { protocol: 17, dst_port: Some(53), ..FlowRecord::default() };
//! for format in [Format::Jsonl, Format::Calico, Format::Csv] {
//!     let mut text = String::new();
//!     tabby_flowlog::write_header(format, &mut text);
//!     write_record(format, &rec, &mut text);
//!     let back: Vec<_> = FlowReader::new(text.as_bytes(), None, Default::default())
//!         .unwrap()
//!         .collect::<Result<_, _>>()
//!         .unwrap();
//!     assert_eq!(back, vec![rec.clone()]);
//! }
//! ```

mod calico;
mod csv;
#[doc(hidden)]
pub mod fuzzing;
pub mod gen;
mod jsonl;
mod reader;
mod record;
mod scan;

use std::fmt;

pub use calico::{parse_calico, write_calico};
pub use csv::{csv_header_line, write_csv, CsvHeader, CSV_COLUMNS};
pub use jsonl::{parse_jsonl_into, parse_protocol, protocol_name, write_jsonl, JSONL_VERSION};
pub use reader::{
    detect_format, open_flows, parse_line, too_long_error, Chunk, ChunkReader, FlowReader, Lines,
    OpenError, ReadError, ReadStats, RecordError, RecordParser, DEFAULT_CHUNK, DEFAULT_MAX_LINE,
};
pub use record::{
    Action, EndpointKind, FlowEndpoint, FlowRecord, HitAction, PolicyHit, PolicyHitError,
    PolicyKind, Reporter, UnknownValue,
};

/// A flow-log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// tabby's JSON Lines (docs/flowlogs.md).
    Jsonl,
    /// Calico's flow-log JSON (Felix's file exporter; Goldmane's `Flow`), one per line.
    Calico,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// `jsonl`, `calico` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Calico => "calico",
            Self::Csv => "csv",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "json" | "tabby" => Ok(Self::Jsonl),
            "calico" => Ok(Self::Calico),
            "csv" => Ok(Self::Csv),
            _ => Err(UnknownValue::new_pub("format", s)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Parse the policy traces (`policies`, `pending_policies`). Replay does not need them,
    /// and skipping them keeps parsing allocation-free.
    pub policies: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { policies: true }
    }
}

/// What is wrong with one record. Messages are lowercase, without a full stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: String,
    help: Option<String>,
}

impl ParseError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
        }
    }

    /// Adds help text (what would be valid).
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Prefixes the message with the field it concerns.
    pub fn in_field(mut self, field: &str) -> Self {
        if !self.message.starts_with("field `") && !self.message.starts_with("missing field") {
            self.message = format!("field `{field}`: {}", self.message);
        }
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The help text, if any.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Appends the header a format needs before its first record (CSV only).
pub fn write_header(format: Format, out: &mut String) {
    if format == Format::Csv {
        out.push_str(&csv_header_line());
    }
}

/// Appends one record in `format`, with its newline.
pub fn write_record(format: Format, rec: &FlowRecord, out: &mut String) {
    match format {
        Format::Jsonl => write_jsonl(rec, out),
        Format::Calico => write_calico(rec, out),
        Format::Csv => write_csv(rec, out),
    }
}

/// Writes records in one format to a `Write`, buffering and writing the CSV header first.
#[derive(Debug)]
pub struct FlowWriter<W: std::io::Write> {
    out: W,
    format: Format,
    buf: String,
}

impl<W: std::io::Write> FlowWriter<W> {
    /// A writer; writes the header (CSV) immediately into its buffer.
    pub fn new(out: W, format: Format) -> Self {
        let mut buf = String::with_capacity(64 << 10);
        write_header(format, &mut buf);
        Self { out, format, buf }
    }

    /// Writes one record.
    pub fn write(&mut self, rec: &FlowRecord) -> std::io::Result<()> {
        write_record(self.format, rec, &mut self.buf);
        if self.buf.len() >= 60 << 10 {
            self.out.write_all(self.buf.as_bytes())?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes everything written so far.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        self.out.flush()
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }
}
