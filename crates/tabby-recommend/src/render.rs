//! Plans → wire objects (`tabby-api` types, so field names are Calico's and
//! Kubernetes' own) → JSON values → YAML text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ipnet::IpNet;
use serde_json::Value;
use tabby_api::{calico, k8s, IntOrString, LabelSelector, LabelSelectorRequirement, ObjectMeta};

use crate::classify::{quote, selector_text};
use crate::plan::{PeerSpec, Plan, PolicyPlan, RuleSpec};
use crate::PolicyFormat;

/// `order` of the per-workload allow policies.
pub const ALLOW_ORDER: f64 = 100.0;
/// `order` of the per-namespace default deny (after every allow; in the default tier the
/// deny really comes from the end of the tier, so the order only documents intent).
pub const DENY_ORDER: f64 = 1000.0;
/// Name of the per-namespace default deny.
pub const DEFAULT_DENY: &str = "default-deny";

fn protocol_name(p: u8) -> Option<&'static str> {
    Some(match p {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "ICMPv6",
        132 => "SCTP",
        136 => "UDPLite",
        _ => return None,
    })
}

fn meta(name: &str, namespace: &str, reason: Option<&str>) -> ObjectMeta {
    let mut m = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        ..ObjectMeta::default()
    };
    m.labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        "tabby-recommend".to_owned(),
    );
    if let Some(r) = reason {
        m.annotations
            .insert("tabby.dev/recommended".to_owned(), r.to_owned());
    }
    m
}

fn ns_selector(ns: &str) -> String {
    format!("projectcalico.org/name == {}", quote(ns))
}

// ----- Calico -----

fn calico_ports(r: &RuleSpec) -> Option<Vec<IntOrString>> {
    if r.ports.is_empty() {
        return None;
    }
    Some(
        r.ports
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    IntOrString::Int(i64::from(lo))
                } else {
                    IntOrString::Str(format!("{lo}:{hi}"))
                }
            })
            .collect(),
    )
}

/// The peer as an entity rule, seen from a policy in `home`.
fn calico_peer(peer: &PeerSpec, home: &str) -> calico::EntityRule {
    let mut e = calico::EntityRule::default();
    match peer {
        PeerSpec::Workload {
            namespace,
            ident,
            exclude,
        } => {
            e.selector = Some(selector_text(ident, exclude));
            if namespace != home {
                e.namespace_selector = Some(ns_selector(namespace));
            }
        }
        PeerSpec::NetworkSet {
            namespace, labels, ..
        } => {
            e.selector = Some(selector_text(labels, &[]));
            match namespace {
                None => e.namespace_selector = Some("global()".to_owned()),
                Some(ns) if ns != home => e.namespace_selector = Some(ns_selector(ns)),
                Some(_) => {}
            }
        }
        PeerSpec::Nets { nets, not_nets } => {
            e.nets = Some(nets.iter().map(ToString::to_string).collect());
            if !not_nets.is_empty() {
                e.not_nets = Some(not_nets.iter().map(ToString::to_string).collect());
            }
        }
    }
    e
}

fn calico_rule(r: &RuleSpec, home: &str, ingress: bool) -> calico::Rule {
    let protocol = Some(match protocol_name(r.protocol) {
        Some(n) => IntOrString::Str(n.to_owned()),
        None => IntOrString::Int(i64::from(r.protocol)),
    });
    let mut peer = calico_peer(&r.peer, home);
    let ports = calico_ports(r);
    let (source, destination) = if ingress {
        let dst = calico::EntityRule {
            ports,
            ..calico::EntityRule::default()
        };
        (
            Some(peer),
            (dst != calico::EntityRule::default()).then_some(dst),
        )
    } else {
        peer.ports = ports;
        (None, Some(peer))
    };
    calico::Rule {
        action: Some("Allow".to_owned()),
        protocol,
        source,
        destination,
        ..calico::Rule::default()
    }
}

fn calico_policy(p: &PolicyPlan) -> calico::NetworkPolicy {
    calico::NetworkPolicy {
        api_version: "projectcalico.org/v3".to_owned(),
        kind: "NetworkPolicy".to_owned(),
        metadata: meta(&p.name, &p.namespace, Some("allow")),
        spec: calico::NetworkPolicySpec {
            tier: Some("default".to_owned()),
            order: Some(ALLOW_ORDER),
            selector: Some(selector_text(&p.ident, &p.exclude)),
            types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(
                p.ingress
                    .iter()
                    .map(|r| calico_rule(r, &p.namespace, true))
                    .collect(),
            ),
            egress: Some(
                p.egress
                    .iter()
                    .map(|r| calico_rule(r, &p.namespace, false))
                    .collect(),
            ),
            ..calico::NetworkPolicySpec::default()
        },
        status: None,
    }
}

fn calico_deny(ns: &str) -> calico::NetworkPolicy {
    calico::NetworkPolicy {
        api_version: "projectcalico.org/v3".to_owned(),
        kind: "NetworkPolicy".to_owned(),
        metadata: meta(DEFAULT_DENY, ns, Some("default-deny")),
        spec: calico::NetworkPolicySpec {
            tier: Some("default".to_owned()),
            order: Some(DENY_ORDER),
            selector: Some("all()".to_owned()),
            types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ..calico::NetworkPolicySpec::default()
        },
        status: None,
    }
}

// ----- Kubernetes -----

fn k8s_selector(ident: &BTreeMap<String, String>, exclude: &[String]) -> LabelSelector {
    LabelSelector {
        match_labels: (!ident.is_empty()).then(|| ident.clone().into_iter().collect()),
        match_expressions: (!exclude.is_empty()).then(|| {
            exclude
                .iter()
                .map(|k| LabelSelectorRequirement {
                    key: k.clone(),
                    operator: "DoesNotExist".to_owned(),
                    values: None,
                })
                .collect()
        }),
    }
}

fn ns_label_selector(ns: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            [("kubernetes.io/metadata.name".to_owned(), ns.to_owned())]
                .into_iter()
                .collect(),
        ),
        match_expressions: None,
    }
}

fn ip_blocks(nets: &[IpNet], not_nets: &[IpNet]) -> Vec<k8s::NetworkPolicyPeer> {
    nets.iter()
        .map(|n| {
            let except: Vec<String> = not_nets
                .iter()
                .filter(|x| n.contains(*x) && *x != n)
                .map(ToString::to_string)
                .collect();
            k8s::NetworkPolicyPeer {
                ip_block: Some(k8s::IpBlock {
                    cidr: n.to_string(),
                    except: (!except.is_empty()).then_some(except),
                }),
                ..k8s::NetworkPolicyPeer::default()
            }
        })
        .collect()
}

fn k8s_peers(peer: &PeerSpec, home: &str) -> Vec<k8s::NetworkPolicyPeer> {
    match peer {
        PeerSpec::Workload {
            namespace,
            ident,
            exclude,
        } => vec![k8s::NetworkPolicyPeer {
            pod_selector: Some(k8s_selector(ident, exclude)),
            namespace_selector: (namespace != home).then(|| ns_label_selector(namespace)),
            ip_block: None,
        }],
        PeerSpec::NetworkSet { nets, .. } => ip_blocks(nets, &[]),
        PeerSpec::Nets { nets, not_nets } => ip_blocks(nets, not_nets),
    }
}

fn k8s_ports(r: &RuleSpec) -> Option<Vec<k8s::NetworkPolicyPort>> {
    let proto = match r.protocol {
        6 => "TCP",
        17 => "UDP",
        132 => "SCTP",
        // Kubernetes cannot name other protocols: the rule allows every protocol.
        _ => return None,
    };
    if r.ports.is_empty() {
        return Some(vec![k8s::NetworkPolicyPort {
            protocol: Some(proto.to_owned()),
            port: None,
            end_port: None,
        }]);
    }
    Some(
        r.ports
            .iter()
            .map(|&(lo, hi)| k8s::NetworkPolicyPort {
                protocol: Some(proto.to_owned()),
                port: Some(IntOrString::Int(i64::from(lo))),
                end_port: (hi != lo).then_some(i64::from(hi)),
            })
            .collect(),
    )
}

fn k8s_policy(p: &PolicyPlan, notes: &mut Vec<String>) -> Option<k8s::NetworkPolicy> {
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    for (rules, is_ingress) in [(&p.ingress, true), (&p.egress, false)] {
        for r in rules {
            let peers = k8s_peers(&r.peer, &p.namespace);
            if peers.is_empty() {
                continue;
            }
            let ports = k8s_ports(r);
            if ports.is_none() {
                notes.push(format!(
                    "`{}/{}`: Kubernetes NetworkPolicy cannot name protocol {}; the rule allows every protocol to or from that peer",
                    p.namespace,
                    p.name,
                    protocol_name(r.protocol).map_or_else(|| r.protocol.to_string(), str::to_owned)
                ));
            }
            if is_ingress {
                ingress.push(k8s::NetworkPolicyIngressRule {
                    ports,
                    from: Some(peers),
                });
            } else {
                egress.push(k8s::NetworkPolicyEgressRule {
                    ports,
                    to: Some(peers),
                });
            }
        }
    }
    Some(k8s::NetworkPolicy {
        api_version: "networking.k8s.io/v1".to_owned(),
        kind: "NetworkPolicy".to_owned(),
        metadata: meta(&p.name, &p.namespace, Some("allow")),
        spec: k8s::NetworkPolicySpec {
            pod_selector: Some(k8s_selector(&p.ident, &p.exclude)),
            ingress: Some(ingress),
            egress: Some(egress),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
        },
        status: None,
    })
}

fn k8s_deny(ns: &str) -> k8s::NetworkPolicy {
    k8s::NetworkPolicy {
        api_version: "networking.k8s.io/v1".to_owned(),
        kind: "NetworkPolicy".to_owned(),
        metadata: meta(DEFAULT_DENY, ns, Some("default-deny")),
        spec: k8s::NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            ingress: None,
            egress: None,
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
        },
        status: None,
    }
}

/// The documents to write, namespace by namespace: allow policies, then the
/// namespace's default deny. Notes about what a format could not express are added.
pub fn documents(plan: &Plan, format: PolicyFormat, notes: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for ns in &plan.namespaces {
        for p in plan.policies.iter().filter(|p| &p.namespace == ns) {
            let v = match format {
                PolicyFormat::Calico => serde_json::to_value(calico_policy(p)),
                PolicyFormat::Kubernetes => match k8s_policy(p, notes) {
                    Some(k) => serde_json::to_value(k),
                    None => continue,
                },
            };
            if let Ok(v) = v {
                out.push(v);
            }
        }
        let v = match format {
            PolicyFormat::Calico => serde_json::to_value(calico_deny(ns)),
            PolicyFormat::Kubernetes => serde_json::to_value(k8s_deny(ns)),
        };
        if let Ok(v) = v {
            out.push(v);
        }
    }
    notes.sort();
    notes.dedup();
    out
}

// ----- YAML -----

/// True when `s` can be written as a plain YAML scalar and reads back as the same string.
fn plain_ok(s: &str) -> bool {
    if s.is_empty()
        || s.parse::<f64>().is_ok()
        || matches!(
            s.to_ascii_lowercase().as_str(),
            "true"
                | "false"
                | "null"
                | "yes"
                | "no"
                | "on"
                | "off"
                | "y"
                | "n"
                | "~"
                | ".inf"
                | ".nan"
        )
    {
        return false;
    }
    let bytes = s.as_bytes();
    let first = bytes.first().copied().unwrap_or(b' ');
    let last = bytes.last().copied().unwrap_or(b' ');
    // No indicator at the start, no `: ` / ` #` inside, printable ASCII only.
    !b"-?:,[]{}#&*!|>'\"%@` ".contains(&first)
        && last != b':'
        && last != b' '
        && !s.contains(": ")
        && !s.contains(" #")
        && bytes.iter().all(|b| (0x20..0x7f).contains(b))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        // A JSON string is a valid YAML double-quoted scalar.
        Value::String(s) => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()),
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        Value::Object(o) if o.is_empty() => "{}".to_owned(),
        _ => String::new(),
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

/// Writes a mapping's entries at `indent`; the first line may already be started
/// (after `- `), which `first_inline` says.
fn write_map(
    out: &mut String,
    o: &serde_json::Map<String, Value>,
    indent: usize,
    first_inline: bool,
) {
    for (i, (k, v)) in o.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        let key = scalar(&Value::String(k.clone()));
        if is_block(v) {
            let _ = writeln!(out, "{key}:");
            write_block(out, v, indent + 2);
        } else {
            let _ = writeln!(out, "{key}: {}", scalar(v));
        }
    }
}

fn write_block(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(o) => write_map(out, o, indent, false),
        Value::Array(a) => {
            for item in a {
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                match item {
                    Value::Object(o) if !o.is_empty() => write_map(out, o, indent + 2, true),
                    Value::Array(x) if !x.is_empty() => {
                        out.pop();
                        out.push('\n');
                        write_block(out, item, indent + 2);
                    }
                    _ => {
                        let _ = writeln!(out, "{}", scalar(item));
                    }
                }
            }
        }
        _ => {
            let _ = writeln!(out, "{}", scalar(v));
        }
    }
}

/// Multi-document YAML (block style; strings quoted when a plain scalar would change meaning).
pub fn to_yaml(docs: &[Value], header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    for d in docs {
        out.push_str("---\n");
        write_block(&mut out, d, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_reads_back_as_the_same_json() {
        let v = serde_json::json!({
            "apiVersion": "projectcalico.org/v3",
            "kind": "NetworkPolicy",
            "metadata": {"name": "x", "labels": {"a/b": "true", "n": "123"}},
            "spec": {
                "selector": "app == 'x' && !has(y)",
                "order": 100,
                "ingress": [],
                "egress": [{"action": "Allow", "destination": {"ports": [53, "8000:8010"], "nets": ["10.0.0.1/32"]}}],
                "nested": [[1, 2], []],
                "empty": {},
                "quote": "a \"b\" : c # d",
                "plain": "app == 'x' && tier in {'a', 'b'}",
                "colon": "a:",
                "lead": "'x' == app",
                "bang": "!has(x)",
                "num": "1e3",
                "bool": "yes",
                "space": " x",
            }
        });
        let text = to_yaml(std::slice::from_ref(&v), "header\nline two");
        let loaded = tabby_load::load_str("t.yaml", &text, &tabby_load::LoadOptions::default());
        let diags: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(tabby_diag::render_plain)
            .collect();
        assert!(!loaded.diagnostics.has_errors(), "{text}\n{diags:?}");
        assert_eq!(loaded.objects.len(), 1, "{text}");
        let back = loaded.objects[0].node.to_json();
        assert_eq!(back, v, "{text}");
    }
}
