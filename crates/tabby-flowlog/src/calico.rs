//! Calico's flow-log JSON, one record per line.
//!
//! Two shapes are read, with field names compared after lower-casing and dropping `_`
//! (so `source_namespace`, `sourceNamespace` and `SourceNamespace` are the same):
//!
//! - Felix's flow-log records as the file/HTTP exporters write them: flat
//!   `source_name`/`source_name_aggr`/`source_namespace`/`source_type`/`source_labels`/`source_ip`,
//!   the same with `dest_`, `proto`, `action`, `reporter`, `policies: {enforced_policies,
//!   pending_policies}` (Felix's policy strings), `num_flows`, packet and byte counters.
//! - Goldmane's `Flow` (`goldmane/proto/api.proto`): the flow key under `key` (possibly inside a
//!   `flow` wrapper), `source_type: WorkloadEndpoint|HostEndpoint|NetworkSet|Network`,
//!   policy hits as objects (`kind`, `namespace`, `name`, `tier`, `action`, `policy_index`,
//!   `rule_index`), `num_connections_started`.
//!
//! Values `-` and empty strings mean "absent", as Felix writes them.

use serde_json::{Map, Value};

use crate::jsonl::{parse_ip, parse_protocol};
use crate::record::{
    Action, EndpointKind, FlowEndpoint, FlowRecord, HitAction, PolicyHit, PolicyKind, Reporter,
};
use crate::ParseError;

/// Lower-case and drop `_`: `source_name` == `sourceName`.
fn norm(k: &str) -> String {
    k.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Parses one Calico flow-log JSON record.
pub fn parse_calico(line: &str) -> Result<FlowRecord, ParseError> {
    let v: Value = serde_json::from_str(line).map_err(|e| ParseError::new(json_err(&e)))?;
    let Value::Object(obj) = v else {
        return Err(ParseError::new("expected a JSON object"));
    };
    let mut fields: Vec<(String, Value)> = Vec::new();
    flatten(obj, &mut fields, 0);
    let mut rec = FlowRecord::default();
    let mut have_action = false;
    let mut src_aggr = None;
    let mut dst_aggr = None;
    let mut have_num_flows = false;
    for (k, v) in fields {
        let r: Result<(), ParseError> = (|| {
            match k.as_str() {
                "starttime" => rec.start_time = int(&v)?,
                "endtime" => rec.end_time = int(&v)?,
                "sourceip" | "srcip" => rec.src.ip = ip(&v)?,
                "destip" | "dstip" => rec.dst.ip = ip(&v)?,
                "sourcename" => rec.src.name = text(&v),
                "destname" => rec.dst.name = text(&v),
                "sourcenameaggr" => src_aggr = text(&v),
                "destnameaggr" => dst_aggr = text(&v),
                "sourcenamespace" => rec.src.namespace = text(&v),
                "destnamespace" => rec.dst.namespace = text(&v),
                "sourcetype" => rec.src.kind = kind(&v)?,
                "desttype" => rec.dst.kind = kind(&v)?,
                "sourcelabels" => rec.src.labels = labels(&v)?,
                "destlabels" => rec.dst.labels = labels(&v)?,
                "sourceport" => rec.src_port = port(&v)?,
                "destport" => rec.dst_port = port(&v)?,
                "proto" | "protocol" => {
                    rec.protocol = match &v {
                        Value::String(s) => parse_protocol(s)?,
                        _ => u8::try_from(int(&v)?)
                            .map_err(|_| ParseError::new("protocol out of range 0-255"))?,
                    }
                }
                "action" => {
                    rec.action = action(&v)?;
                    have_action = true;
                }
                "reporter" => {
                    rec.reporter = text(&v)
                        .map(|s| s.parse::<Reporter>())
                        .transpose()
                        .map_err(|e| ParseError::new(e.to_string()))?
                        .unwrap_or_default()
                }
                "policies" => match &v {
                    Value::Object(m) => {
                        for (pk, pv) in m {
                            match norm(pk).as_str() {
                                "enforcedpolicies" | "allpolicies" => rec.policies = hits(pv)?,
                                "pendingpolicies" => rec.pending_policies = hits(pv)?,
                                _ => {}
                            }
                        }
                    }
                    other => rec.policies = hits(other)?,
                },
                "enforcedpolicies" => rec.policies = hits(&v)?,
                "pendingpolicies" => rec.pending_policies = hits(&v)?,
                "destdomains" | "domain" | "destdomain" => {
                    rec.domain = match &v {
                        Value::Array(a) => a.iter().find_map(text),
                        other => text(other),
                    }
                }
                "numflows" => {
                    rec.num_flows = int(&v)?.max(1);
                    have_num_flows = true;
                }
                "numconnectionsstarted" if !have_num_flows => rec.num_flows = int(&v)?.max(1),
                "packetsin" => rec.packets_in = int(&v)?,
                "packetsout" => rec.packets_out = int(&v)?,
                "bytesin" => rec.bytes_in = int(&v)?,
                "bytesout" => rec.bytes_out = int(&v)?,
                _ => {}
            }
            Ok(())
        })();
        r.map_err(|e| e.in_field(&k))?;
    }
    if !have_action {
        return Err(ParseError::new("missing field `action`"));
    }
    if rec.src.name.is_none() {
        rec.src.name = src_aggr;
    }
    if rec.dst.name.is_none() {
        rec.dst.name = dst_aggr;
    }
    Ok(rec)
}

fn json_err(e: &serde_json::Error) -> String {
    // serde_json's messages are lowercase already; drop its own position suffix.
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => format!(
            "{} (at byte {})",
            s.get(..i).unwrap_or_default(),
            e.column()
        ),
        None => s,
    }
}

/// Collects the fields of the record, descending into `flow` and `key` wrappers.
fn flatten(obj: Map<String, Value>, out: &mut Vec<(String, Value)>, depth: u32) {
    for (k, v) in obj {
        let n = norm(&k);
        match (n.as_str(), v) {
            ("flow" | "key", Value::Object(inner)) if depth < 4 => flatten(inner, out, depth + 1),
            (_, v) => out.push((n, v)),
        }
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() && s != "-" => Some(s.clone()),
        _ => None,
    }
}

fn int(v: &Value) -> Result<u64, ParseError> {
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            ParseError::new(format!("expected a non-negative integer, found `{n}`"))
        }),
        Value::String(s) if s.is_empty() || s == "-" => Ok(0),
        Value::String(s) => s.parse().map_err(|_| {
            ParseError::new(format!(
                "expected a non-negative integer, found `{}`",
                s.chars().take(40).collect::<String>()
            ))
        }),
        Value::Null => Ok(0),
        _ => Err(ParseError::new("expected a non-negative integer")),
    }
}

fn ip(v: &Value) -> Result<Option<std::net::IpAddr>, ParseError> {
    text(v).map(|s| parse_ip(&s)).transpose()
}

fn port(v: &Value) -> Result<Option<u16>, ParseError> {
    match int(v)? {
        0 => Ok(None),
        p => u16::try_from(p)
            .map(Some)
            .map_err(|_| ParseError::new(format!("port `{p}` is out of range 1-65535"))),
    }
}

fn kind(v: &Value) -> Result<EndpointKind, ParseError> {
    match text(v) {
        None => Ok(EndpointKind::Net),
        Some(s) => s
            .parse()
            .map_err(|e: crate::UnknownValue| ParseError::new(e.to_string())),
    }
}

fn action(v: &Value) -> Result<Action, ParseError> {
    let s = text(v).unwrap_or_default();
    // Goldmane can report `Pass` for a flow whose last verdict was a pass to profiles that allowed.
    if s.eq_ignore_ascii_case("pass") {
        return Ok(Action::Allow);
    }
    s.parse()
        .map_err(|e: crate::UnknownValue| ParseError::new(e.to_string()))
}

/// Labels as Felix writes them (`{"labels": ["k=v"]}`, `"[k=v,k2=v2]"`, `"-"`), as Goldmane
/// does (`["k=v"]`), or as a plain object.
fn labels(v: &Value) -> Result<Vec<(String, String)>, ParseError> {
    let pair = |s: &str| -> Result<(String, String), ParseError> {
        let (k, val) = s.split_once('=').ok_or_else(|| {
            ParseError::new(format!(
                "label `{}` is not `key=value`",
                s.chars().take(60).collect::<String>()
            ))
        })?;
        Ok((k.trim().to_owned(), val.trim().to_owned()))
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || s == "-" {
                return Ok(Vec::new());
            }
            let inner = s
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(s);
            inner
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(pair)
                .collect()
        }
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => pair(s),
                _ => Err(ParseError::new("expected a `key=value` string")),
            })
            .collect(),
        Value::Object(m) => {
            if let Some(inner) = m.get("labels") {
                return labels(inner);
            }
            m.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(ParseError::new(format!(
                        "label `{k}` has a value that is not a string"
                    ))),
                })
                .collect()
        }
        _ => Err(ParseError::new("expected labels")),
    }
}

fn hits(v: &Value) -> Result<Vec<PolicyHit>, ParseError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a.iter().enumerate().map(|(i, h)| hit(h, i)).collect(),
        _ => Err(ParseError::new("expected a list of policy hits")),
    }
}

fn hit(v: &Value, position: usize) -> Result<PolicyHit, ParseError> {
    match v {
        Value::String(s) => s
            .parse::<PolicyHit>()
            .map_err(|e| ParseError::new(e.message().to_owned())),
        Value::Object(m) => {
            let get = |name: &str| m.iter().find(|(k, _)| norm(k) == name).map(|(_, v)| v);
            let kind_text = get("kind").and_then(text).unwrap_or_default();
            let kind: PolicyKind = kind_text
                .parse()
                .map_err(|e: crate::UnknownValue| ParseError::new(e.to_string()))?;
            let action_text = get("action").and_then(text).unwrap_or_default();
            let action: HitAction = action_text
                .parse()
                .map_err(|e: crate::UnknownValue| ParseError::new(e.to_string()))?;
            let rule_index = match get("ruleindex") {
                Some(Value::Number(n)) => {
                    n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(-1)
                }
                _ => 0,
            };
            let index = match get("policyindex") {
                Some(v) => u32::try_from(int(v)?).unwrap_or(u32::MAX),
                None => u32::try_from(position).unwrap_or(u32::MAX),
            };
            let name = get("name").and_then(text).unwrap_or_else(|| {
                if kind == PolicyKind::EndOfTier {
                    "__NO_MATCH__".to_owned()
                } else {
                    String::new()
                }
            });
            if name.is_empty() {
                return Err(ParseError::new("policy hit without a `name`"));
            }
            let hit = PolicyHit {
                index,
                tier: get("tier").and_then(text).unwrap_or_default(),
                kind,
                namespace: get("namespace").and_then(text),
                name,
                action,
                rule_index,
            };
            hit.check()
                .map_err(|e| ParseError::new(e.message().to_owned()))?;
            Ok(hit)
        }
        _ => Err(ParseError::new("expected a policy hit string or object")),
    }
}

fn felix_kind(k: EndpointKind) -> &'static str {
    k.as_str()
}

fn labels_value(ep: &FlowEndpoint) -> Value {
    if ep.labels.is_empty() {
        return Value::String("-".into());
    }
    let list: Vec<Value> = ep
        .labels
        .iter()
        .map(|(k, v)| Value::String(format!("{k}={v}")))
        .collect();
    serde_json::json!({ "labels": list })
}

/// Appends `rec` as one Felix-style Calico flow-log JSON line (with its newline).
/// Aggregated names (ending in `*`) go to `*_name_aggr` with `*_name` set to `-`, as Felix writes them.
pub fn write_calico(rec: &FlowRecord, out: &mut String) {
    let mut m = Map::new();
    m.insert("start_time".into(), rec.start_time.into());
    m.insert("end_time".into(), rec.end_time.into());
    for (p, ep, port) in [
        ("source", &rec.src, rec.src_port),
        ("dest", &rec.dst, rec.dst_port),
    ] {
        let dash = || Value::String("-".into());
        m.insert(
            format!("{p}_ip"),
            ep.ip.map_or_else(dash, |ip| Value::String(ip.to_string())),
        );
        let (name, aggr) = match &ep.name {
            Some(n) if n.ends_with('*') => (dash(), Value::String(n.clone())),
            Some(n) => (Value::String(n.clone()), Value::String(n.clone())),
            None => (dash(), dash()),
        };
        m.insert(format!("{p}_name"), name);
        m.insert(format!("{p}_name_aggr"), aggr);
        m.insert(
            format!("{p}_namespace"),
            ep.namespace.clone().map_or_else(dash, Value::String),
        );
        m.insert(
            format!("{p}_type"),
            Value::String(felix_kind(ep.kind).into()),
        );
        m.insert(format!("{p}_labels"), labels_value(ep));
        m.insert(format!("{p}_port"), port.map_or(Value::Null, Value::from));
    }
    m.insert(
        "proto".into(),
        Value::String(crate::jsonl::protocol_name(rec.protocol).into_owned()),
    );
    m.insert("action".into(), Value::String(rec.action.as_str().into()));
    m.insert(
        "reporter".into(),
        Value::String(rec.reporter.as_str().into()),
    );
    let hits =
        |l: &[PolicyHit]| Value::Array(l.iter().map(|h| Value::String(h.to_string())).collect());
    m.insert(
        "policies".into(),
        serde_json::json!({ "enforced_policies": hits(&rec.policies), "pending_policies": hits(&rec.pending_policies) }),
    );
    if let Some(d) = &rec.domain {
        m.insert(
            "dest_domains".into(),
            Value::Array(vec![Value::String(d.clone())]),
        );
    }
    m.insert("num_flows".into(), rec.num_flows.into());
    m.insert("packets_in".into(), rec.packets_in.into());
    m.insert("packets_out".into(), rec.packets_out.into());
    m.insert("bytes_in".into(), rec.bytes_in.into());
    m.insert("bytes_out".into(), rec.bytes_out.into());
    out.push_str(&Value::Object(m).to_string());
    out.push('\n');
}
