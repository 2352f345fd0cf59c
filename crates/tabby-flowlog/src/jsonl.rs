//! tabby's own flow-log format: JSON Lines, one flat object per record (docs/flowlogs.md).
//!
//! Reading goes through the allocation-free [`Scanner`](crate::scan) straight into a reused
//! [`FlowRecord`]: strings are cleared and refilled in place, so a steady stream of similar
//! records allocates nothing once the buffers have grown.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::record::{EndpointKind, FlowEndpoint, FlowRecord, PolicyHit, Reporter};
use crate::scan::{write_str, ScanError, Scanner};
use crate::{ParseError, ReadOptions};

/// Version tag written in the `v` field; readers accept records without it.
pub const JSONL_VERSION: u64 = 1;

/// Reusable scratch buffers for parsing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scratch {
    a: String,
    b: String,
}

fn scan_err(e: ScanError) -> ParseError {
    ParseError::new(format!("{} (at byte {})", e.message, e.offset + 1))
}

/// Parses one tabby JSON Lines record into `rec`, reusing its buffers.
pub fn parse_jsonl_into(
    line: &str,
    rec: &mut FlowRecord,
    opts: &ReadOptions,
) -> Result<(), ParseError> {
    let mut scratch = Scratch::default();
    parse_with(line, rec, opts, &mut scratch)
}

pub(crate) fn parse_with(
    line: &str,
    rec: &mut FlowRecord,
    opts: &ReadOptions,
    scratch: &mut Scratch,
) -> Result<(), ParseError> {
    let mut s = Scanner::new(line);
    let mut seen = Seen::default();
    rec.start_time = 0;
    rec.end_time = 0;
    rec.src_port = None;
    rec.dst_port = None;
    rec.src.ip = None;
    rec.dst.ip = None;
    rec.src.kind = EndpointKind::Net;
    rec.dst.kind = EndpointKind::Net;
    rec.reporter = Reporter::Src;
    rec.staged_action = None;
    rec.packets_in = 0;
    rec.packets_out = 0;
    rec.bytes_in = 0;
    rec.bytes_out = 0;
    rec.num_flows = 1;
    rec.policies.clear();
    rec.pending_policies.clear();
    let mut have_action = false;
    let mut have_proto = false;
    s.begin_object().map_err(scan_err)?;
    let mut first = true;
    while let Some(key) = s.next_key(&mut first).map_err(scan_err)? {
        let field = |k: &[u8]| -> String { String::from_utf8_lossy(k).chars().take(60).collect() };
        let r: Result<(), ParseError> = (|| {
            match key {
                b"v" => {
                    let v = s.u64().map_err(scan_err)?;
                    if v > JSONL_VERSION {
                        return Err(ParseError::new(format!(
                            "format version `{v}` is newer than this tabby understands (up to {JSONL_VERSION})"
                        )));
                    }
                }
                b"start_time" => rec.start_time = s.u64().map_err(scan_err)?,
                b"end_time" => rec.end_time = s.u64().map_err(scan_err)?,
                b"src_type" => rec.src.kind = kind(&mut s, &mut scratch.a)?,
                b"dst_type" => rec.dst.kind = kind(&mut s, &mut scratch.a)?,
                b"src_namespace" => opt_string(&mut s, &mut rec.src.namespace, &mut seen.src_ns)?,
                b"dst_namespace" => opt_string(&mut s, &mut rec.dst.namespace, &mut seen.dst_ns)?,
                b"src_name" => opt_string(&mut s, &mut rec.src.name, &mut seen.src_name)?,
                b"dst_name" => opt_string(&mut s, &mut rec.dst.name, &mut seen.dst_name)?,
                b"src_labels" => labels(&mut s, &mut rec.src, scratch, &mut seen.src_labels)?,
                b"dst_labels" => labels(&mut s, &mut rec.dst, scratch, &mut seen.dst_labels)?,
                b"src_ip" => rec.src.ip = ip(&mut s, &mut scratch.a)?,
                b"dst_ip" => rec.dst.ip = ip(&mut s, &mut scratch.a)?,
                b"src_port" => rec.src_port = port(&mut s)?,
                b"dst_port" => rec.dst_port = port(&mut s)?,
                b"proto" => {
                    rec.protocol = protocol(&mut s, &mut scratch.a)?;
                    have_proto = true;
                }
                b"action" => {
                    rec.action = enum_str(&mut s, &mut scratch.a)?;
                    have_action = true;
                }
                b"reporter" => rec.reporter = enum_str(&mut s, &mut scratch.a)?,
                b"staged_action" => {
                    rec.staged_action = if s.null() {
                        None
                    } else {
                        Some(enum_str(&mut s, &mut scratch.a)?)
                    }
                }
                b"policies" => hits(&mut s, &mut rec.policies, opts, &mut scratch.a)?,
                b"pending_policies" => {
                    hits(&mut s, &mut rec.pending_policies, opts, &mut scratch.a)?
                }
                b"domain" => opt_string(&mut s, &mut rec.domain, &mut seen.domain)?,
                b"packets_in" => rec.packets_in = s.u64().map_err(scan_err)?,
                b"packets_out" => rec.packets_out = s.u64().map_err(scan_err)?,
                b"bytes_in" => rec.bytes_in = s.u64().map_err(scan_err)?,
                b"bytes_out" => rec.bytes_out = s.u64().map_err(scan_err)?,
                b"num_flows" => {
                    rec.num_flows = s.u64().map_err(scan_err)?;
                    if rec.num_flows == 0 {
                        return Err(ParseError::new("`num_flows` must be at least 1"));
                    }
                }
                // Unknown fields are ignored so that newer writers stay readable.
                _ => s.skip_value().map_err(scan_err)?,
            }
            Ok(())
        })();
        r.map_err(|e| e.in_field(&field(key)))?;
    }
    if !s.at_end() {
        return Err(ParseError::new("trailing characters after the record"));
    }
    if !have_action {
        return Err(ParseError::new("missing field `action`")
            .with_help("add `\"action\":\"allow\"` or `\"deny\"`"));
    }
    if !have_proto {
        return Err(ParseError::new("missing field `proto`")
            .with_help("add the IANA protocol number, e.g. `\"proto\":6` for TCP"));
    }
    seen.finish(rec);
    Ok(())
}

/// Which optional string fields a record set (the others are reset to `None`).
#[derive(Debug, Default)]
struct Seen {
    src_ns: bool,
    dst_ns: bool,
    src_name: bool,
    dst_name: bool,
    src_labels: bool,
    dst_labels: bool,
    domain: bool,
}

impl Seen {
    fn finish(&self, rec: &mut FlowRecord) {
        for (seen, slot) in [
            (self.src_ns, &mut rec.src.namespace),
            (self.dst_ns, &mut rec.dst.namespace),
            (self.src_name, &mut rec.src.name),
            (self.dst_name, &mut rec.dst.name),
            (self.domain, &mut rec.domain),
        ] {
            if !seen {
                *slot = None;
            }
        }
        if !self.src_labels {
            rec.src.labels.clear();
        }
        if !self.dst_labels {
            rec.dst.labels.clear();
        }
    }
}

fn opt_string(
    s: &mut Scanner<'_>,
    slot: &mut Option<String>,
    seen: &mut bool,
) -> Result<(), ParseError> {
    if s.null() {
        *slot = None;
        *seen = true;
        return Ok(());
    }
    let mut buf = slot.take().unwrap_or_default();
    buf.clear();
    s.string_into(&mut buf).map_err(scan_err)?;
    *slot = Some(buf);
    *seen = true;
    Ok(())
}

fn kind(s: &mut Scanner<'_>, scratch: &mut String) -> Result<EndpointKind, ParseError> {
    if s.null() {
        return Ok(EndpointKind::Net);
    }
    enum_str(s, scratch)
}

fn enum_str<T: std::str::FromStr<Err = crate::UnknownValue>>(
    s: &mut Scanner<'_>,
    scratch: &mut String,
) -> Result<T, ParseError> {
    scratch.clear();
    s.string_into(scratch).map_err(scan_err)?;
    scratch
        .parse::<T>()
        .map_err(|e| ParseError::new(e.to_string()))
}

fn ip(s: &mut Scanner<'_>, scratch: &mut String) -> Result<Option<IpAddr>, ParseError> {
    if s.null() {
        return Ok(None);
    }
    scratch.clear();
    s.string_into(scratch).map_err(scan_err)?;
    if scratch.is_empty() || scratch == "-" {
        return Ok(None);
    }
    parse_ip(scratch).map(Some)
}

pub(crate) fn parse_ip(text: &str) -> Result<IpAddr, ParseError> {
    text.parse::<IpAddr>().map_err(|_| {
        ParseError::new(format!(
            "invalid IP address `{}`",
            text.chars().take(60).collect::<String>()
        ))
    })
}

fn port(s: &mut Scanner<'_>) -> Result<Option<u16>, ParseError> {
    if s.null() {
        return Ok(None);
    }
    let v = s.u64().map_err(scan_err)?;
    if v == 0 {
        return Ok(None);
    }
    u16::try_from(v)
        .map(Some)
        .map_err(|_| ParseError::new(format!("port `{v}` is out of range 1-65535")))
}

fn protocol(s: &mut Scanner<'_>, scratch: &mut String) -> Result<u8, ParseError> {
    if s.peek_string() {
        scratch.clear();
        s.string_into(scratch).map_err(scan_err)?;
        return parse_protocol(scratch);
    }
    let v = s.u64().map_err(scan_err)?;
    u8::try_from(v).map_err(|_| ParseError::new(format!("protocol `{v}` is out of range 0-255")))
}

/// A protocol by name (`tcp`, `UDP`, `sctp`, `icmp`, `icmpv6`, `icmp6`) or number.
pub fn parse_protocol(text: &str) -> Result<u8, ParseError> {
    let t = text.trim();
    let n = match t.to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "sctp" => 132,
        "icmp" => 1,
        "icmpv6" | "icmp6" | "ipv6-icmp" => 58,
        "udplite" => 136,
        _ => {
            return t.parse::<u8>().map_err(|_| {
                ParseError::new(format!(
                    "unknown protocol `{}`",
                    t.chars().take(30).collect::<String>()
                ))
                .with_help("use a protocol number 0-255 or one of tcp, udp, sctp, icmp, icmpv6")
            })
        }
    };
    Ok(n)
}

/// The lower-case name of a protocol number, for display (`tcp`, ..., or the number).
pub fn protocol_name(p: u8) -> std::borrow::Cow<'static, str> {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        132 => "sctp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        136 => "udplite".into(),
        n => n.to_string().into(),
    }
}

fn labels(
    s: &mut Scanner<'_>,
    ep: &mut FlowEndpoint,
    scratch: &mut Scratch,
    seen: &mut bool,
) -> Result<(), ParseError> {
    *seen = true;
    if s.null() {
        ep.labels.clear();
        return Ok(());
    }
    let mut n = 0usize;
    let list = &mut ep.labels;
    s.string_map(&mut scratch.a, &mut scratch.b, |k, v| {
        set_label(list, n, k, v);
        n += 1;
    })
    .map_err(scan_err)?;
    list.truncate(n);
    Ok(())
}

/// Writes label `n` of `list`, reusing the strings already there.
pub(crate) fn set_label(list: &mut Vec<(String, String)>, n: usize, k: &str, v: &str) {
    if let Some((ks, vs)) = list.get_mut(n) {
        ks.clear();
        ks.push_str(k);
        vs.clear();
        vs.push_str(v);
    } else {
        list.push((k.to_owned(), v.to_owned()));
    }
}

fn hits(
    s: &mut Scanner<'_>,
    out: &mut Vec<PolicyHit>,
    opts: &ReadOptions,
    scratch: &mut String,
) -> Result<(), ParseError> {
    out.clear();
    if s.null() {
        return Ok(());
    }
    if !opts.policies {
        return s.skip_value().map_err(scan_err);
    }
    let mut err = None;
    s.string_array(scratch, |h| {
        match h.parse::<PolicyHit>() {
            Ok(hit) => out.push(hit),
            Err(e) => {
                if err.is_none() {
                    err = Some(ParseError::new(e.message().to_owned()));
                }
            }
        }
        Ok(())
    })
    .map_err(scan_err)?;
    match err {
        Some(e) => Err(e.with_help(
            "policy hits are `<index>|<tier>|<kind>:<namespace>/<name>|<action>|<rule>`",
        )),
        None => Ok(()),
    }
}

/// Appends `rec` to `out` as one tabby JSON Lines record (with its newline).
/// Fields that are absent (`None`, empty lists) are left out; readers treat them as absent.
pub fn write_jsonl(rec: &FlowRecord, out: &mut String) {
    let _ = write!(
        out,
        "{{\"v\":{JSONL_VERSION},\"start_time\":{},\"end_time\":{}",
        rec.start_time, rec.end_time
    );
    for (p, ep, port) in [
        ("src", &rec.src, rec.src_port),
        ("dst", &rec.dst, rec.dst_port),
    ] {
        let _ = write!(out, ",\"{p}_type\":\"{}\"", ep.kind.as_str());
        if let Some(ns) = &ep.namespace {
            let _ = write!(out, ",\"{p}_namespace\":");
            write_str(out, ns);
        }
        if let Some(n) = &ep.name {
            let _ = write!(out, ",\"{p}_name\":");
            write_str(out, n);
        }
        if !ep.labels.is_empty() {
            let _ = write!(out, ",\"{p}_labels\":{{");
            for (i, (k, v)) in ep.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_str(out, v);
            }
            out.push('}');
        }
        if let Some(ip) = ep.ip {
            let _ = write!(out, ",\"{p}_ip\":\"{ip}\"");
        }
        if let Some(port) = port {
            let _ = write!(out, ",\"{p}_port\":{port}");
        }
    }
    let _ = write!(
        out,
        ",\"proto\":{},\"action\":\"{}\",\"reporter\":\"{}\"",
        rec.protocol, rec.action, rec.reporter
    );
    for (name, list) in [
        ("policies", &rec.policies),
        ("pending_policies", &rec.pending_policies),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, ",\"{name}\":[");
        for (i, h) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, &h.to_string());
        }
        out.push(']');
    }
    if let Some(a) = rec.staged_action {
        let _ = write!(out, ",\"staged_action\":\"{a}\"");
    }
    if let Some(d) = &rec.domain {
        out.push_str(",\"domain\":");
        write_str(out, d);
    }
    let _ = writeln!(
        out,
        ",\"packets_in\":{},\"packets_out\":{},\"bytes_in\":{},\"bytes_out\":{},\"num_flows\":{}}}",
        rec.packets_in, rec.packets_out, rec.bytes_in, rec.bytes_out, rec.num_flows
    );
}
