//! CSV flow logs: a header row naming the columns (the same names as the JSON Lines
//! fields), then one record per line. Labels are `k=v;k2=v2`, policy hits `;`-separated.
//! Fields are quoted as RFC 4180 does when they hold `,`, `"` or a line break.

use std::fmt::Write as _;

use crate::jsonl::{parse_ip, parse_protocol, set_label};
use crate::record::{Action, EndpointKind, FlowRecord, PolicyHit, Reporter};
use crate::{ParseError, ReadOptions};

/// The columns tabby writes, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "start_time",
    "end_time",
    "src_type",
    "src_namespace",
    "src_name",
    "src_labels",
    "src_ip",
    "src_port",
    "dst_type",
    "dst_namespace",
    "dst_name",
    "dst_labels",
    "dst_ip",
    "dst_port",
    "proto",
    "action",
    "reporter",
    "policies",
    "pending_policies",
    "staged_action",
    "domain",
    "packets_in",
    "packets_out",
    "bytes_in",
    "bytes_out",
    "num_flows",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    StartTime,
    EndTime,
    Type(bool),
    Namespace(bool),
    Name(bool),
    Labels(bool),
    Ip(bool),
    Port(bool),
    Proto,
    Action,
    Reporter,
    Policies,
    Pending,
    StagedAction,
    Domain,
    PacketsIn,
    PacketsOut,
    BytesIn,
    BytesOut,
    NumFlows,
    Ignored,
}

fn col(name: &str) -> Col {
    let (src, rest) = if let Some(r) = name.strip_prefix("src_") {
        (true, r)
    } else if let Some(r) = name.strip_prefix("dst_") {
        (false, r)
    } else {
        (true, name)
    };
    let side = match rest {
        "type" => Some(Col::Type(src)),
        "namespace" => Some(Col::Namespace(src)),
        "name" => Some(Col::Name(src)),
        "labels" => Some(Col::Labels(src)),
        "ip" => Some(Col::Ip(src)),
        "port" => Some(Col::Port(src)),
        _ => None,
    };
    if name != rest {
        return side.unwrap_or(Col::Ignored);
    }
    match name {
        "start_time" => Col::StartTime,
        "end_time" => Col::EndTime,
        "proto" | "protocol" => Col::Proto,
        "action" => Col::Action,
        "reporter" => Col::Reporter,
        "policies" => Col::Policies,
        "pending_policies" => Col::Pending,
        "staged_action" => Col::StagedAction,
        "domain" => Col::Domain,
        "packets_in" => Col::PacketsIn,
        "packets_out" => Col::PacketsOut,
        "bytes_in" => Col::BytesIn,
        "bytes_out" => Col::BytesOut,
        "num_flows" => Col::NumFlows,
        _ => Col::Ignored,
    }
}

/// A parsed CSV header: which column holds which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvHeader {
    cols: Vec<Col>,
}

impl CsvHeader {
    /// Reads a header row. Unknown columns are ignored; `action` and `proto` are required.
    pub fn parse(line: &str) -> Result<Self, ParseError> {
        let mut buf = String::new();
        let mut ranges = Vec::new();
        split(line, &mut buf, &mut ranges)?;
        let cols: Vec<Col> = ranges
            .iter()
            .map(|&(a, b)| col(buf.get(a..b).unwrap_or_default().trim()))
            .collect();
        for (need, c) in [("action", Col::Action), ("proto", Col::Proto)] {
            if !cols.contains(&c) {
                return Err(
                    ParseError::new(format!("the CSV header has no `{need}` column"))
                        .with_help(format!("tabby's CSV header is `{}`", CSV_COLUMNS.join(","))),
                );
            }
        }
        Ok(Self { cols })
    }

    /// Does `line` look like a tabby CSV header (names at least `action` and `proto`)?
    pub fn looks_like_header(line: &str) -> bool {
        Self::parse(line).is_ok()
    }
}

/// Splits one CSV line into `buf`, recording each field's byte range.
fn split(line: &str, buf: &mut String, ranges: &mut Vec<(usize, usize)>) -> Result<(), ParseError> {
    buf.clear();
    ranges.clear();
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut rest = line;
    loop {
        let start = buf.len();
        if let Some(q) = rest.strip_prefix('"') {
            // Quoted field: `""` is a quote.
            let mut r = q;
            loop {
                let Some(i) = r.find('"') else {
                    return Err(ParseError::new("unterminated quoted field"));
                };
                buf.push_str(r.get(..i).unwrap_or_default());
                r = r.get(i + 1..).unwrap_or_default();
                if let Some(r2) = r.strip_prefix('"') {
                    buf.push('"');
                    r = r2;
                } else {
                    break;
                }
            }
            ranges.push((start, buf.len()));
            if r.is_empty() {
                return Ok(());
            }
            rest = r
                .strip_prefix(',')
                .ok_or_else(|| ParseError::new("unexpected text after a quoted field"))?;
        } else {
            match rest.find(',') {
                Some(i) => {
                    buf.push_str(rest.get(..i).unwrap_or_default());
                    ranges.push((start, buf.len()));
                    rest = rest.get(i + 1..).unwrap_or_default();
                }
                None => {
                    buf.push_str(rest);
                    ranges.push((start, buf.len()));
                    return Ok(());
                }
            }
        }
    }
}

/// Scratch space for CSV parsing.
#[derive(Debug, Default, Clone)]
pub(crate) struct CsvScratch {
    buf: String,
    ranges: Vec<(usize, usize)>,
}

/// Parses one CSV data line into `rec`.
pub(crate) fn parse_csv_into(
    line: &str,
    header: &CsvHeader,
    rec: &mut FlowRecord,
    opts: &ReadOptions,
    scratch: &mut CsvScratch,
) -> Result<(), ParseError> {
    split(line, &mut scratch.buf, &mut scratch.ranges)?;
    if scratch.ranges.len() != header.cols.len() {
        return Err(ParseError::new(format!(
            "expected {} fields as in the header, found {}",
            header.cols.len(),
            scratch.ranges.len()
        )));
    }
    *rec = FlowRecord {
        src: std::mem::take(&mut rec.src),
        dst: std::mem::take(&mut rec.dst),
        policies: std::mem::take(&mut rec.policies),
        pending_policies: std::mem::take(&mut rec.pending_policies),
        ..FlowRecord::default()
    };
    for ep in [&mut rec.src, &mut rec.dst] {
        ep.kind = EndpointKind::Net;
        ep.namespace = None;
        ep.name = None;
        ep.labels.clear();
        ep.ip = None;
    }
    rec.policies.clear();
    rec.pending_policies.clear();
    let mut have_action = false;
    for (&c, &(a, b)) in header.cols.iter().zip(&scratch.ranges) {
        let v = scratch.buf.get(a..b).unwrap_or_default();
        let r: Result<(), ParseError> = (|| {
            match c {
                Col::StartTime => rec.start_time = num(v)?,
                Col::EndTime => rec.end_time = num(v)?,
                Col::Type(s) => {
                    ep(s, &mut *rec).kind = v
                        .parse()
                        .map_err(|e: crate::UnknownValue| ParseError::new(e.to_string()))?
                }
                Col::Namespace(s) => ep(s, &mut *rec).namespace = opt(v),
                Col::Name(s) => ep(s, &mut *rec).name = opt(v),
                Col::Labels(s) => {
                    let list = &mut ep(s, &mut *rec).labels;
                    let mut n = 0;
                    for kv in v.split(';').filter(|kv| !kv.is_empty()) {
                        let (k, val) = kv.split_once('=').ok_or_else(|| {
                            ParseError::new(format!("label `{kv}` is not `key=value`"))
                        })?;
                        set_label(list, n, k, val);
                        n += 1;
                    }
                    list.truncate(n);
                }
                Col::Ip(s) => {
                    ep(s, &mut *rec).ip = if v.is_empty() || v == "-" {
                        None
                    } else {
                        Some(parse_ip(v)?)
                    }
                }
                Col::Port(s) => {
                    let p = if v.is_empty() || v == "-" {
                        None
                    } else {
                        Some(num(v)?)
                    };
                    let p = match p {
                        None | Some(0) => None,
                        Some(p) => Some(u16::try_from(p).map_err(|_| {
                            ParseError::new(format!("port `{p}` is out of range 1-65535"))
                        })?),
                    };
                    if s {
                        rec.src_port = p;
                    } else {
                        rec.dst_port = p;
                    }
                }
                Col::Proto => rec.protocol = parse_protocol(v)?,
                Col::Action => {
                    rec.action = v
                        .parse::<Action>()
                        .map_err(|e| ParseError::new(e.to_string()))?;
                    have_action = true;
                }
                Col::Reporter => {
                    if !v.is_empty() {
                        rec.reporter = v
                            .parse::<Reporter>()
                            .map_err(|e| ParseError::new(e.to_string()))?;
                    }
                }
                Col::Policies | Col::Pending if opts.policies => {
                    let list = if c == Col::Policies {
                        &mut rec.policies
                    } else {
                        &mut rec.pending_policies
                    };
                    for h in v.split(';').filter(|h| !h.is_empty()) {
                        list.push(
                            h.parse::<PolicyHit>()
                                .map_err(|e| ParseError::new(e.message().to_owned()))?,
                        );
                    }
                }
                Col::Policies | Col::Pending | Col::Ignored => {}
                Col::StagedAction => {
                    rec.staged_action = if v.is_empty() || v == "-" {
                        None
                    } else {
                        Some(
                            v.parse::<Action>()
                                .map_err(|e| ParseError::new(e.to_string()))?,
                        )
                    }
                }
                Col::Domain => rec.domain = opt(v),
                Col::PacketsIn => rec.packets_in = num(v)?,
                Col::PacketsOut => rec.packets_out = num(v)?,
                Col::BytesIn => rec.bytes_in = num(v)?,
                Col::BytesOut => rec.bytes_out = num(v)?,
                Col::NumFlows => {
                    rec.num_flows = if v.is_empty() { 1 } else { num(v)? };
                    if rec.num_flows == 0 {
                        return Err(ParseError::new("`num_flows` must be at least 1"));
                    }
                }
            }
            Ok(())
        })();
        r.map_err(|e| e.in_field(CSV_COLUMN_NAME(c)))?;
    }
    if !have_action {
        return Err(ParseError::new("empty `action`"));
    }
    Ok(())
}

#[expect(non_snake_case, reason = "reads like a table lookup")]
fn CSV_COLUMN_NAME(c: Col) -> &'static str {
    match c {
        Col::StartTime => "start_time",
        Col::EndTime => "end_time",
        Col::Type(s) => {
            if s {
                "src_type"
            } else {
                "dst_type"
            }
        }
        Col::Namespace(s) => {
            if s {
                "src_namespace"
            } else {
                "dst_namespace"
            }
        }
        Col::Name(s) => {
            if s {
                "src_name"
            } else {
                "dst_name"
            }
        }
        Col::Labels(s) => {
            if s {
                "src_labels"
            } else {
                "dst_labels"
            }
        }
        Col::Ip(s) => {
            if s {
                "src_ip"
            } else {
                "dst_ip"
            }
        }
        Col::Port(s) => {
            if s {
                "src_port"
            } else {
                "dst_port"
            }
        }
        Col::Proto => "proto",
        Col::Action => "action",
        Col::Reporter => "reporter",
        Col::Policies => "policies",
        Col::Pending => "pending_policies",
        Col::StagedAction => "staged_action",
        Col::Domain => "domain",
        Col::PacketsIn => "packets_in",
        Col::PacketsOut => "packets_out",
        Col::BytesIn => "bytes_in",
        Col::BytesOut => "bytes_out",
        Col::NumFlows => "num_flows",
        Col::Ignored => "?",
    }
}

fn ep(src: bool, rec: &mut FlowRecord) -> &mut crate::record::FlowEndpoint {
    if src {
        &mut rec.src
    } else {
        &mut rec.dst
    }
}

fn opt(v: &str) -> Option<String> {
    (!v.is_empty() && v != "-").then(|| v.to_owned())
}

fn num(v: &str) -> Result<u64, ParseError> {
    if v.is_empty() {
        return Ok(0);
    }
    v.parse::<u64>().map_err(|_| {
        ParseError::new(format!(
            "expected a non-negative integer, found `{}`",
            v.chars().take(40).collect::<String>()
        ))
    })
}

/// The header row tabby writes (with its newline).
pub fn csv_header_line() -> String {
    let mut s = CSV_COLUMNS.join(",");
    s.push('\n');
    s
}

fn field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// Appends `rec` as one CSV line in [`CSV_COLUMNS`] order.
pub fn write_csv(rec: &FlowRecord, out: &mut String) {
    let _ = write!(out, "{},{}", rec.start_time, rec.end_time);
    for (ep, port) in [(&rec.src, rec.src_port), (&rec.dst, rec.dst_port)] {
        let _ = write!(out, ",{},", ep.kind);
        field(out, ep.namespace.as_deref().unwrap_or(""));
        out.push(',');
        field(out, ep.name.as_deref().unwrap_or(""));
        out.push(',');
        let labels: Vec<String> = ep.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        field(out, &labels.join(";"));
        out.push(',');
        if let Some(ip) = ep.ip {
            let _ = write!(out, "{ip}");
        }
        out.push(',');
        if let Some(p) = port {
            let _ = write!(out, "{p}");
        }
    }
    let _ = write!(out, ",{},{},{},", rec.protocol, rec.action, rec.reporter);
    for (i, list) in [&rec.policies, &rec.pending_policies]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        let hits: Vec<String> = list.iter().map(ToString::to_string).collect();
        field(out, &hits.join(";"));
    }
    out.push(',');
    if let Some(a) = rec.staged_action {
        out.push_str(a.as_str());
    }
    out.push(',');
    field(out, rec.domain.as_deref().unwrap_or(""));
    let _ = writeln!(
        out,
        ",{},{},{},{},{}",
        rec.packets_in, rec.packets_out, rec.bytes_in, rec.bytes_out, rec.num_flows
    );
}
