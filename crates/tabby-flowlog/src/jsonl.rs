//! tabby's own flow-log format: JSON Lines, one flat object per record (docs/flowlogs.md).
//!
//! Reading goes through the allocation-free [`Scanner`](crate::scan) straight into a reused
//! [`FlowRecord`]: strings are cleared and refilled in place, so a steady stream of similar
//! records allocates nothing once the buffers have grown.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::record::{Action, EndpointKind, FlowEndpoint, FlowRecord, PolicyHit, Reporter};
use crate::scan::{write_str, KeyLit, MapCache, ScanError, Scanner};
use crate::{ParseError, ReadOptions};

/// Version tag written in the `v` field; readers accept records without it.
pub const JSONL_VERSION: u64 = 1;

/// Reusable scratch buffers for parsing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scratch {
    a: String,
    b: String,
    /// Buffers of optional strings a record left out, kept for the next record that has
    /// them (so that records alternating between having a name and not don't allocate).
    spare: Vec<String>,
    /// Label objects already checked (replay's lazy labels).
    maps: MapCache,
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
    parse_with(line, rec, opts, &mut scratch, false)
}

/// Parses one record. With `lazy_labels`, a label object is checked as usual but only
/// read into the record when that endpoint has no address (the only case where replay
/// needs labels); otherwise the endpoint's labels come out empty.
pub(crate) fn parse_with(
    line: &str,
    rec: &mut FlowRecord,
    opts: &ReadOptions,
    scratch: &mut Scratch,
    lazy_labels: bool,
) -> Result<(), ParseError> {
    let mut s = Scanner::new(line);
    let mut seen = Seen::default();
    let mut spans: [Option<(usize, usize)>; 2] = [None, None];
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
    let mut predict = 0usize;
    loop {
        let fast = if first {
            None
        } else {
            fast_next(&mut s, &mut predict)
        };
        let (f, key) = match fast {
            Some(found) => found,
            None => {
                if !s.more_members(&mut first).map_err(scan_err)? {
                    break;
                }
                next_field(&mut s, &mut predict).map_err(scan_err)?
            }
        };
        first = false;
        let field = |k: &[u8]| -> String { String::from_utf8_lossy(k).chars().take(60).collect() };
        let r: Result<(), ParseError> = (|| {
            match f {
                F::V => {
                    let v = s.u64().map_err(scan_err)?;
                    if v > JSONL_VERSION {
                        return Err(ParseError::new(format!(
                            "format version `{v}` is newer than this tabby understands (up to {JSONL_VERSION})"
                        )));
                    }
                }
                F::StartTime => rec.start_time = s.u64().map_err(scan_err)?,
                F::EndTime => rec.end_time = s.u64().map_err(scan_err)?,
                F::SrcType => rec.src.kind = kind(&mut s, &mut scratch.a)?,
                F::DstType => rec.dst.kind = kind(&mut s, &mut scratch.a)?,
                F::SrcNamespace => opt_string(
                    &mut s,
                    &mut rec.src.namespace,
                    &mut seen.src_ns,
                    &mut scratch.spare,
                )?,
                F::DstNamespace => opt_string(
                    &mut s,
                    &mut rec.dst.namespace,
                    &mut seen.dst_ns,
                    &mut scratch.spare,
                )?,
                F::SrcName => opt_string(
                    &mut s,
                    &mut rec.src.name,
                    &mut seen.src_name,
                    &mut scratch.spare,
                )?,
                F::DstName => opt_string(
                    &mut s,
                    &mut rec.dst.name,
                    &mut seen.dst_name,
                    &mut scratch.spare,
                )?,
                F::SrcLabels if lazy_labels => {
                    spans[0] = label_span(&mut s, scratch, &mut seen.src_labels)?;
                }
                F::DstLabels if lazy_labels => {
                    spans[1] = label_span(&mut s, scratch, &mut seen.dst_labels)?;
                }
                F::SrcLabels => labels(&mut s, &mut rec.src, scratch, &mut seen.src_labels)?,
                F::DstLabels => labels(&mut s, &mut rec.dst, scratch, &mut seen.dst_labels)?,
                F::SrcIp => {
                    rec.src.ip = match fast_ipv4(&mut s) {
                        Some(a) => Some(a),
                        None => ip(&mut s, &mut scratch.a)?,
                    }
                }
                F::DstIp => {
                    rec.dst.ip = match fast_ipv4(&mut s) {
                        Some(a) => Some(a),
                        None => ip(&mut s, &mut scratch.a)?,
                    }
                }
                F::SrcPort => {
                    rec.src_port = match s.u64_here() {
                        Some(v) => port_value(v)?,
                        None => port(&mut s)?,
                    }
                }
                F::DstPort => {
                    rec.dst_port = match s.u64_here() {
                        Some(v) => port_value(v)?,
                        None => port(&mut s)?,
                    }
                }
                F::Proto => {
                    rec.protocol = protocol(&mut s, &mut scratch.a)?;
                    have_proto = true;
                }
                F::Action => {
                    rec.action = if s.short_literal(&ALLOW) {
                        Action::Allow
                    } else if s.short_literal(&DENY) {
                        Action::Deny
                    } else {
                        enum_str(&mut s, &mut scratch.a)?
                    };
                    have_action = true;
                }
                F::Reporter => {
                    rec.reporter = if s.short_literal(&SRC) {
                        Reporter::Src
                    } else if s.short_literal(&DST) {
                        Reporter::Dst
                    } else {
                        enum_str(&mut s, &mut scratch.a)?
                    }
                }
                F::StagedAction => {
                    rec.staged_action = if s.null() {
                        None
                    } else {
                        Some(enum_str(&mut s, &mut scratch.a)?)
                    }
                }
                F::Policies => hits(&mut s, &mut rec.policies, opts, &mut scratch.a)?,
                F::PendingPolicies => {
                    hits(&mut s, &mut rec.pending_policies, opts, &mut scratch.a)?
                }
                F::Domain => opt_string(
                    &mut s,
                    &mut rec.domain,
                    &mut seen.domain,
                    &mut scratch.spare,
                )?,
                F::PacketsIn => rec.packets_in = s.u64().map_err(scan_err)?,
                F::PacketsOut => rec.packets_out = s.u64().map_err(scan_err)?,
                F::BytesIn => rec.bytes_in = s.u64().map_err(scan_err)?,
                F::BytesOut => rec.bytes_out = s.u64().map_err(scan_err)?,
                F::NumFlows => {
                    rec.num_flows = s.u64().map_err(scan_err)?;
                    if rec.num_flows == 0 {
                        return Err(ParseError::new("`num_flows` must be at least 1"));
                    }
                }
                // Unknown fields are ignored so that newer writers stay readable.
                F::Unknown => s.skip_value().map_err(scan_err)?,
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
    if lazy_labels {
        for (span, ep) in spans.into_iter().zip([&mut rec.src, &mut rec.dst]) {
            match span {
                Some(span) if ep.ip.is_none() => {
                    let mut n = 0usize;
                    let list = &mut ep.labels;
                    s.at(span)
                        .string_map(&mut scratch.a, &mut scratch.b, |k, v| {
                            set_label(list, n, k, v);
                            n += 1;
                        })
                        .map_err(scan_err)?;
                    list.truncate(n);
                }
                _ => ep.labels.clear(),
            }
        }
    }
    seen.finish(rec, &mut scratch.spare);
    Ok(())
}

/// A label object checked but not read: its span, or `None` for `null`.
fn label_span(
    s: &mut Scanner<'_>,
    scratch: &mut Scratch,
    seen: &mut bool,
) -> Result<Option<(usize, usize)>, ParseError> {
    *seen = true;
    if s.null() {
        return Ok(None);
    }
    s.skip_string_map_cached(&mut scratch.maps, &mut scratch.a)
        .map(Some)
        .map_err(scan_err)
}

/// The fields of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    V,
    StartTime,
    EndTime,
    SrcType,
    SrcNamespace,
    SrcName,
    SrcLabels,
    SrcIp,
    SrcPort,
    DstType,
    DstNamespace,
    DstName,
    DstLabels,
    DstIp,
    DstPort,
    Proto,
    Action,
    Reporter,
    Policies,
    PendingPolicies,
    StagedAction,
    Domain,
    PacketsIn,
    PacketsOut,
    BytesIn,
    BytesOut,
    NumFlows,
    Unknown,
}

/// `"key":` for every field, in the order [`write_jsonl`] writes them.
const FIELDS: [(&[u8], F); 27] = [
    (b"\"v\":", F::V),
    (b"\"start_time\":", F::StartTime),
    (b"\"end_time\":", F::EndTime),
    (b"\"src_type\":", F::SrcType),
    (b"\"src_namespace\":", F::SrcNamespace),
    (b"\"src_name\":", F::SrcName),
    (b"\"src_labels\":", F::SrcLabels),
    (b"\"src_ip\":", F::SrcIp),
    (b"\"src_port\":", F::SrcPort),
    (b"\"dst_type\":", F::DstType),
    (b"\"dst_namespace\":", F::DstNamespace),
    (b"\"dst_name\":", F::DstName),
    (b"\"dst_labels\":", F::DstLabels),
    (b"\"dst_ip\":", F::DstIp),
    (b"\"dst_port\":", F::DstPort),
    (b"\"proto\":", F::Proto),
    (b"\"action\":", F::Action),
    (b"\"reporter\":", F::Reporter),
    (b"\"policies\":", F::Policies),
    (b"\"pending_policies\":", F::PendingPolicies),
    (b"\"staged_action\":", F::StagedAction),
    (b"\"domain\":", F::Domain),
    (b"\"packets_in\":", F::PacketsIn),
    (b"\"packets_out\":", F::PacketsOut),
    (b"\"bytes_in\":", F::BytesIn),
    (b"\"bytes_out\":", F::BytesOut),
    (b"\"num_flows\":", F::NumFlows),
];

/// `,"key":` for every field (the member after the first), in the same order as [`FIELDS`].
const KEYS: [KeyLit; 27] = {
    let mut keys = [KeyLit::new(b"", b""); 27];
    let mut j = 0;
    while j < FIELDS.len() {
        #[expect(
            clippy::indexing_slicing,
            reason = "evaluated at compile time: an index out of range fails the build"
        )]
        {
            keys[j] = KeyLit::new(b",", FIELDS[j].0);
        }
        j += 1;
    }
    keys
};

/// Values in tabby's spelling, read as literals (quotes included).
const WEP: KeyLit = KeyLit::new(b"", b"\"wep\"");
const NET: KeyLit = KeyLit::new(b"", b"\"net\"");
const HEP: KeyLit = KeyLit::new(b"", b"\"hep\"");
const NS: KeyLit = KeyLit::new(b"", b"\"ns\"");
const ALLOW: KeyLit = KeyLit::new(b"", b"\"allow\"");
const DENY: KeyLit = KeyLit::new(b"", b"\"deny\"");
const SRC: KeyLit = KeyLit::new(b"", b"\"src\"");
const DST: KeyLit = KeyLit::new(b"", b"\"dst\"");

/// After the first member: the next member's field and raw key, when the input continues
/// with `,"key":` for one of the keys that usually come next (as [`next_field`] would find
/// after the comma); `None` leaves the input as it was.
#[inline(always)]
fn fast_next(s: &mut Scanner<'_>, predict: &mut usize) -> Option<(F, &'static [u8])> {
    let here = s.word_here();
    for j in *predict..*predict + 4 {
        let (k, (lit, f)) = (KEYS.get(j)?, FIELDS.get(j)?);
        if s.key_literal(here, k) {
            *predict = j + 1;
            return Some((*f, lit.get(1..lit.len() - 2).unwrap_or_default()));
        }
    }
    None
}

fn field_of(key: &[u8]) -> F {
    match key {
        b"v" => F::V,
        b"start_time" => F::StartTime,
        b"end_time" => F::EndTime,
        b"src_type" => F::SrcType,
        b"src_namespace" => F::SrcNamespace,
        b"src_name" => F::SrcName,
        b"src_labels" => F::SrcLabels,
        b"src_ip" => F::SrcIp,
        b"src_port" => F::SrcPort,
        b"dst_type" => F::DstType,
        b"dst_namespace" => F::DstNamespace,
        b"dst_name" => F::DstName,
        b"dst_labels" => F::DstLabels,
        b"dst_ip" => F::DstIp,
        b"dst_port" => F::DstPort,
        b"proto" => F::Proto,
        b"action" => F::Action,
        b"reporter" => F::Reporter,
        b"policies" => F::Policies,
        b"pending_policies" => F::PendingPolicies,
        b"staged_action" => F::StagedAction,
        b"domain" => F::Domain,
        b"packets_in" => F::PacketsIn,
        b"packets_out" => F::PacketsOut,
        b"bytes_in" => F::BytesIn,
        b"bytes_out" => F::BytesOut,
        b"num_flows" => F::NumFlows,
        _ => F::Unknown,
    }
}

/// The next member's field and raw key. Tries the keys that usually come next (the writer's
/// order, skipping a few absent ones) as literals first; any other spelling (whitespace,
/// escapes, other order, unknown keys) goes through the general path, with the same result.
#[inline]
fn next_field<'a>(
    s: &mut Scanner<'a>,
    predict: &mut usize,
) -> Result<(F, &'a [u8]), crate::scan::ScanError> {
    for j in *predict..*predict + 4 {
        let Some((lit, f)) = FIELDS.get(j) else {
            break;
        };
        if s.literal(lit) {
            *predict = j + 1;
            let key = lit.get(1..lit.len() - 2).unwrap_or_default();
            return Ok((*f, key));
        }
    }
    let key = s.key()?;
    let f = field_of(key);
    if let Some(j) = FIELDS.iter().position(|(_, g)| *g == f) {
        *predict = j + 1;
    }
    Ok((f, key))
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
    fn finish(&self, rec: &mut FlowRecord, spare: &mut Vec<String>) {
        for (seen, slot) in [
            (self.src_ns, &mut rec.src.namespace),
            (self.dst_ns, &mut rec.dst.namespace),
            (self.src_name, &mut rec.src.name),
            (self.dst_name, &mut rec.dst.name),
            (self.domain, &mut rec.domain),
        ] {
            if !seen {
                release(slot, spare);
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

/// Empties an optional string, keeping its buffer in `spare` (a few at most).
fn release(slot: &mut Option<String>, spare: &mut Vec<String>) {
    if let Some(buf) = slot.take() {
        if spare.len() < 8 {
            spare.push(buf);
        }
    }
}

fn opt_string(
    s: &mut Scanner<'_>,
    slot: &mut Option<String>,
    seen: &mut bool,
    spare: &mut Vec<String>,
) -> Result<(), ParseError> {
    // The common case first: a string without escapes right here.
    if let Some(text) = s.plain_str_here() {
        let buf = slot.get_or_insert_with(|| spare.pop().unwrap_or_default());
        buf.clear();
        buf.push_str(text);
        *seen = true;
        return Ok(());
    }
    opt_string_slow(s, slot, seen, spare)
}

/// [`opt_string`] for `null`, whitespace, escapes and errors.
fn opt_string_slow(
    s: &mut Scanner<'_>,
    slot: &mut Option<String>,
    seen: &mut bool,
    spare: &mut Vec<String>,
) -> Result<(), ParseError> {
    if s.null() {
        release(slot, spare);
        *seen = true;
        return Ok(());
    }
    // Refilled in place (on an error the record is rejected whatever the slot holds).
    let buf = slot.get_or_insert_with(|| spare.pop().unwrap_or_default());
    buf.clear();
    s.string_into(buf).map_err(scan_err)?;
    *seen = true;
    Ok(())
}

fn kind(s: &mut Scanner<'_>, scratch: &mut String) -> Result<EndpointKind, ParseError> {
    // tabby's own spellings, compact, first.
    for (lit, k) in [
        (&WEP, EndpointKind::Workload),
        (&NET, EndpointKind::Net),
        (&HEP, EndpointKind::Host),
        (&NS, EndpointKind::NetworkSet),
    ] {
        if s.short_literal(lit) {
            return Ok(k);
        }
    }
    kind_slow(s, scratch)
}

/// [`kind`] for `null`, other spellings, whitespace, escapes and errors.
fn kind_slow(s: &mut Scanner<'_>, scratch: &mut String) -> Result<EndpointKind, ParseError> {
    if s.null() {
        return Ok(EndpointKind::Net);
    }
    // Then the same with whitespace or escapes; the rest (Calico's, any case) through `FromStr`.
    match s.str_value(scratch).map_err(scan_err)? {
        "wep" => Ok(EndpointKind::Workload),
        "net" => Ok(EndpointKind::Net),
        "hep" => Ok(EndpointKind::Host),
        "ns" => Ok(EndpointKind::NetworkSet),
        other => other
            .parse::<EndpointKind>()
            .map_err(|e| ParseError::new(e.to_string())),
    }
}

fn enum_str<T: std::str::FromStr<Err = crate::UnknownValue>>(
    s: &mut Scanner<'_>,
    scratch: &mut String,
) -> Result<T, ParseError> {
    s.str_value(scratch)
        .map_err(scan_err)?
        .parse::<T>()
        .map_err(|e| ParseError::new(e.to_string()))
}

/// A dotted quad right here, between quotes, read straight from the line; `None` (nothing
/// consumed) for anything else, which [`ip`] then reads.
#[inline(always)]
fn fast_ipv4(s: &mut Scanner<'_>) -> Option<IpAddr> {
    let body = s.rest().strip_prefix(b"\"")?;
    let (v4, n) = dotted_quad_prefix(body)?;
    if body.get(n) != Some(&b'"') {
        return None;
    }
    s.advance(n + 2);
    Some(IpAddr::V4(v4))
}

fn ip(s: &mut Scanner<'_>, scratch: &mut String) -> Result<Option<IpAddr>, ParseError> {
    if s.null() {
        return Ok(None);
    }
    let text = s.str_value(scratch).map_err(scan_err)?;
    if text.is_empty() || text == "-" {
        return Ok(None);
    }
    parse_ip(text).map(Some)
}

pub(crate) fn parse_ip(text: &str) -> Result<IpAddr, ParseError> {
    if let Some(v4) = dotted_quad(text.as_bytes()) {
        return Ok(IpAddr::V4(v4));
    }
    text.parse::<IpAddr>().map_err(|_| {
        ParseError::new(format!(
            "invalid IP address `{}`",
            text.chars().take(60).collect::<String>()
        ))
    })
}

/// A strict dotted quad (`10.0.0.1`: four decimal octets, no leading zeros), the common case,
/// parsed without the general parser. Anything else is `None` and left to `IpAddr`'s parser,
/// which accepts exactly these strings as IPv4 too.
#[inline]
fn dotted_quad(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    match dotted_quad_prefix(b) {
        Some((v4, n)) if n == b.len() => Some(v4),
        _ => None,
    }
}

/// A strict dotted quad at the start of `b` (as [`dotted_quad`]) and its length.
#[inline(always)]
fn dotted_quad_prefix(b: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, o) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while let Some(c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 || i - start == 3 {
                break;
            }
            v = v * 10 + u32::from(d);
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    Some((std::net::Ipv4Addr::from(octets), i))
}

fn port(s: &mut Scanner<'_>) -> Result<Option<u16>, ParseError> {
    if s.null() {
        return Ok(None);
    }
    port_value(s.u64().map_err(scan_err)?)
}

/// A port number as read: 0 is none.
#[inline(always)]
fn port_value(v: u64) -> Result<Option<u16>, ParseError> {
    if v == 0 {
        return Ok(None);
    }
    u16::try_from(v)
        .map(Some)
        .map_err(|_| ParseError::new(format!("port `{v}` is out of range 1-65535")))
}

fn protocol(s: &mut Scanner<'_>, scratch: &mut String) -> Result<u8, ParseError> {
    if s.peek_string() {
        return parse_protocol(s.str_value(scratch).map_err(scan_err)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quad_accepts_exactly_what_the_std_parser_accepts() {
        let mut cases: Vec<String> = [
            "10.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.0.0.1",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            ".1.2.3",
            "1..2.3",
            "1.2.3.04",
            "1.2.3.400",
            "1234.1.1.1",
            "1.2.3.4 ",
            " 1.2.3.4",
            "+1.2.3.4",
            "1.2.3.-4",
            "::1",
            "fe80::1",
            "::ffff:1.2.3.4",
            "",
            "1.2.3.4a",
            "999.999.999.999",
            "0.00.0.0",
            "1.2.3.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for a in [0u32, 1, 9, 10, 99, 100, 199, 255, 256, 999] {
            for b in ["", "0", "00"] {
                cases.push(format!("{b}{a}.{a}.1.{a}"));
            }
        }
        for c in &cases {
            let std = c.parse::<std::net::Ipv4Addr>().ok();
            let fast = dotted_quad(c.as_bytes());
            // The fast path may decline (then the std parser decides) but never disagree.
            if fast.is_some() {
                assert_eq!(fast, std, "{c}");
            }
            if c.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                assert_eq!(fast, std, "{c}");
            }
            assert_eq!(parse_ip(c).ok(), c.parse::<IpAddr>().ok(), "{c}");
        }
    }
}
