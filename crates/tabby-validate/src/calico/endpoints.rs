//! NetworkSet, GlobalNetworkSet, HostEndpoint, WorkloadEndpoint, Profile and
//! GlobalThreatFeed (`validateNetworkSet`, `validateGlobalNetworkSet`,
//! `validateHostEndpointSpec`, `validateWorkloadEndpointSpec`, `validateEndpointPort`,
//! `validateWorkloadEndpointPort`, and the CEL rules on those types).

use std::net::IpAddr;

use serde_json::Value;
use tabby_model::{
    Direction, EndpointOrigin, HostEndpoint, Name, NamedPort, NetworkSet, Profile, Protocol,
    ThreatFeed, Workload,
};

use super::meta::{check_labels, check_meta, NameRule};
use super::rule::{check_rules, RuleScope};
use super::walk::Obj;
use crate::codes;
use crate::ctx::{check_port_name, check_resource_name, At, CidrMode, Ctx};

/// The label Calico reserves for the namespace a network set lives in.
const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";

pub(crate) fn check_network_set(ctx: &mut Ctx, root: &Obj<'_>, global: bool) -> Option<NetworkSet> {
    let before = ctx.error_count();
    let kind = if global {
        "GlobalNetworkSet"
    } else {
        "NetworkSet"
    };
    let meta = check_meta(ctx, root, kind, NameRule::Subdomain, !global);
    if let Some(m) = &meta {
        if m.labels.contains_key(NAMESPACE_LABEL) {
            let at = root.at.key("metadata").key("labels").key(NAMESPACE_LABEL);
            ctx.error_at_key::<()>(
                codes::RESERVED_LABEL,
                &at,
                format!("metadata.labels: `{NAMESPACE_LABEL}` is reserved on a {kind}"),
                Some("Calico sets this label itself; use another label name".into()),
            );
        }
    }
    let spec = root.obj(ctx, "spec");
    spec.known_fields(ctx, &["nets", "allowedEgressDomains"]);
    let mut nets = Vec::new();
    for (at, s) in spec.str_list(ctx, "nets") {
        if let Some(n) = ctx.cidr(codes::NETSET_CIDR, &at, s, CidrMode::Loose) {
            nets.push(n);
        }
    }
    let mut domains = Vec::new();
    if spec.has("allowedEgressDomains") {
        let at = spec.at("allowedEgressDomains");
        ctx.warn_at_key(
            codes::ENTERPRISE_FIELD,
            &at,
            format!("{}: `allowedEgressDomains` is a Calico Enterprise field; open-source Calico ignores it", at.field()),
            Some("tabby accepts it: selectors that match this set also match these domain names".into()),
        );
        for (_, d) in spec.str_list(ctx, "allowedEgressDomains") {
            domains.push(Name::from(d.to_ascii_lowercase()));
        }
    }
    if ctx.error_count() > before {
        return None;
    }
    let meta = meta?;
    Some(NetworkSet {
        name: meta.name,
        namespace: meta.namespace,
        labels: meta.labels,
        nets,
        allowed_egress_domains: domains,
        loc: Some(root.at.loc()),
    })
}

/// `interfaceName`: `*` or 1–15 of letters, digits, `_`, `.`, `-`.
fn interface_ok(s: &str) -> bool {
    s == "*"
        || (!s.is_empty()
            && s.len() <= 15
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
}

/// Profiles listed on an endpoint: each a resource name.
fn profile_refs(ctx: &mut Ctx, spec: &Obj<'_>) -> Vec<Name> {
    let mut out = Vec::new();
    for (at, p) in spec.str_list(ctx, "profiles") {
        if let Err(m) = check_resource_name(p) {
            ctx.error::<()>(
                codes::ENDPOINT_NAME_REF,
                &at,
                format!("{}: {m}", at.field()),
                None,
            );
        }
        out.push(Name::from(p));
    }
    out
}

/// An endpoint port: `name`, `protocol` (TCP, UDP or SCTP), `port` 1–65535.
/// WorkloadEndpoint ports may omit the name when they set `hostPort`.
fn endpoint_port(
    ctx: &mut Ctx,
    at: At<'_>,
    v: &Value,
    workload: bool,
) -> Option<Option<NamedPort>> {
    let before = ctx.error_count();
    let p = Obj::new(ctx, at, Some(v));
    if workload {
        p.known_fields(ctx, &["name", "protocol", "port", "hostPort", "hostIP"]);
    } else {
        p.known_fields(ctx, &["name", "protocol", "port"]);
    }
    let name = p.str_lenient(ctx, "name").unwrap_or_default();
    let host_port = p.i64(ctx, "hostPort").unwrap_or(0);
    if name.is_empty() {
        if !workload || host_port == 0 {
            ctx.error::<()>(
                codes::ENDPOINT_PORT,
                &p.at,
                format!("{}: port has no `name`", p.at.field()),
                Some(if workload {
                    "name the port, or set `hostPort`".into()
                } else {
                    "name the port so rules can refer to it".into()
                }),
            );
        }
    } else if let Err(m) = check_port_name(&name) {
        ctx.error::<()>(
            codes::ENDPOINT_PORT,
            &p.at("name"),
            format!("{}: {m}", p.at("name").field()),
            None,
        );
    }
    let protocol = match p.raw("protocol") {
        None => ctx.error(
            codes::ENDPOINT_PORT,
            &p.at,
            format!("{}: port has no `protocol`", p.at.field()),
            Some("add `protocol: TCP`, `UDP` or `SCTP`".into()),
        ),
        Some(v) => match ctx.protocol(codes::ENDPOINT_PORT, &p.at("protocol"), v) {
            Some(pr) if !pr.has_ports() => ctx.error(
                codes::ENDPOINT_PORT,
                &p.at("protocol"),
                format!("{}: protocol `{pr}` has no ports", p.at("protocol").field()),
                Some("use `TCP`, `UDP` or `SCTP`".into()),
            ),
            other => other,
        },
    };
    let port = match p.i64(ctx, "port") {
        Some(n) => match u16::try_from(n) {
            Ok(x) if x > 0 => Some(x),
            _ => ctx.error(
                codes::ENDPOINT_PORT,
                &p.at("port"),
                format!("{}: port `{n}` is out of range", p.at("port").field()),
                Some("use a port from 1 to 65535".into()),
            ),
        },
        None if !p.has("port") => ctx.error(
            codes::ENDPOINT_PORT,
            &p.at,
            format!("{}: port has no `port` number", p.at.field()),
            Some("add `port: <1-65535>`".into()),
        ),
        None => None,
    };
    if workload && p.has("hostPort") && !(0..=65535).contains(&host_port) {
        ctx.error::<()>(
            codes::ENDPOINT_PORT,
            &p.at("hostPort"),
            format!(
                "{}: host port `{host_port}` is out of range",
                p.at("hostPort").field()
            ),
            Some("use a port from 1 to 65535".into()),
        );
    }
    if workload {
        if let Some(ip) = p.str(ctx, "hostIP").filter(|s| !s.is_empty()) {
            ctx.ip(codes::ENDPOINT_IP, &p.at("hostIP"), ip);
        }
    }
    if ctx.error_count() > before {
        return None;
    }
    Some((!name.is_empty()).then(|| NamedPort {
        name: Name::from(name.as_str()),
        protocol: protocol.unwrap_or(Protocol::TCP),
        port: port.unwrap_or(1),
    }))
}

fn endpoint_ports(ctx: &mut Ctx, spec: &Obj<'_>, workload: bool) -> Vec<NamedPort> {
    spec.list(ctx, "ports")
        .into_iter()
        .filter_map(|(at, v)| endpoint_port(ctx, at, v, workload))
        .flatten()
        .collect()
}

pub(crate) fn check_host_endpoint(ctx: &mut Ctx, root: &Obj<'_>) -> Option<HostEndpoint> {
    let before = ctx.error_count();
    let meta = check_meta(ctx, root, "HostEndpoint", NameRule::Subdomain, false);
    let spec = root.obj(ctx, "spec");
    spec.known_fields(
        ctx,
        &["node", "interfaceName", "expectedIPs", "profiles", "ports"],
    );
    let node = spec.str(ctx, "node").unwrap_or("");
    if node.is_empty() {
        let at = if spec.has("node") {
            spec.at("node")
        } else {
            spec.at.clone()
        };
        ctx.error::<()>(
            codes::HEP_NODE,
            &at,
            "spec.node: a host endpoint must name its node".into(),
            Some("add `node: <node name>`".into()),
        );
    } else if let Err(m) = check_resource_name(node) {
        ctx.error::<()>(
            codes::HEP_NODE,
            &spec.at("node"),
            format!("spec.node: {m}"),
            None,
        );
    }
    let iface = spec.str(ctx, "interfaceName").unwrap_or("");
    if !iface.is_empty() && !interface_ok(iface) {
        ctx.error::<()>(
            codes::HEP_INTERFACE,
            &spec.at("interfaceName"),
            format!("spec.interfaceName: `{iface}` is not a valid interface name"),
            Some("use `*` (all interfaces) or 1 to 15 letters, digits, `_`, `.` and `-`".into()),
        );
    }
    let mut expected: Vec<IpAddr> = Vec::new();
    let ips = spec.str_list(ctx, "expectedIPs");
    let no_ips = ips.is_empty();
    for (at, s) in ips {
        if let Some(ip) = ctx.ip(codes::ENDPOINT_IP, &at, s) {
            expected.push(ip);
        }
    }
    if iface.is_empty() && no_ips {
        ctx.error::<()>(
            codes::HEP_INTERFACE,
            &spec.at,
            "spec: a host endpoint needs `interfaceName` or `expectedIPs`".into(),
            Some(
                "add `interfaceName: eth0` (or `*`), or list the host's addresses in `expectedIPs`"
                    .into(),
            ),
        );
    }
    let profiles = profile_refs(ctx, &spec);
    let ports = endpoint_ports(ctx, &spec, false);
    if ctx.error_count() > before {
        return None;
    }
    let meta = meta?;
    Some(HostEndpoint {
        name: meta.name,
        node: Name::from(node),
        interface_name: (!iface.is_empty()).then(|| Name::from(iface)),
        expected_ips: expected,
        labels: meta.labels,
        profiles,
        ports,
        loc: Some(root.at.loc()),
    })
}

pub(crate) fn check_workload_endpoint(ctx: &mut Ctx, root: &Obj<'_>) -> Option<Workload> {
    let before = ctx.error_count();
    let meta = check_meta(ctx, root, "WorkloadEndpoint", NameRule::Subdomain, true);
    let spec = root.obj(ctx, "spec");
    let mut ips = Vec::new();
    let mut nets = Vec::new();
    for (at, s) in spec.str_list(ctx, "ipNetworks") {
        if let Some(n) = ctx.cidr(codes::WEP_IP_NETWORKS, &at, s, CidrMode::Loose) {
            if n.prefix_len() != n.max_prefix_len() {
                ctx.error::<()>(
                    codes::WEP_IP_NETWORKS,
                    &at,
                    format!("{}: `{s}` contains more than one address", at.field()),
                    Some(format!(
                        "a workload's networks are single addresses: write `{}/{}`",
                        n.addr(),
                        n.max_prefix_len()
                    )),
                );
            } else {
                ips.push(n.addr());
                nets.push(n);
            }
        }
    }
    for (key, v4) in [("ipv4Gateway", true), ("ipv6Gateway", false)] {
        if let Some(s) = spec.str(ctx, key).filter(|s| !s.is_empty()) {
            if let Some(n) = ctx.cidr(codes::ENDPOINT_IP, &spec.at(key), s, CidrMode::Loose) {
                if n.addr().is_ipv4() != v4 {
                    ctx.error::<()>(
                        codes::ENDPOINT_IP,
                        &spec.at(key),
                        format!(
                            "spec.{key}: `{s}` is not an IPv{} address",
                            if v4 { 4 } else { 6 }
                        ),
                        None,
                    );
                }
            }
        }
    }
    for (at, v) in spec.list(ctx, "ipNATs") {
        let nat = Obj::new(ctx, at, Some(v));
        nat.known_fields(ctx, &["internalIP", "externalIP"]);
        let int = nat.str(ctx, "internalIP").and_then(|s| {
            ctx.cidr(
                codes::ENDPOINT_IP,
                &nat.at("internalIP"),
                s,
                CidrMode::Loose,
            )
        });
        let ext = nat.str(ctx, "externalIP").and_then(|s| {
            ctx.cidr(
                codes::ENDPOINT_IP,
                &nat.at("externalIP"),
                s,
                CidrMode::Loose,
            )
        });
        if let (Some(i), Some(e)) = (int, ext) {
            if i.addr().is_ipv4() != e.addr().is_ipv4() {
                ctx.error::<()>(
                    codes::ENDPOINT_IP,
                    &nat.at("externalIP"),
                    format!(
                        "{}: internal and external addresses are of different IP versions",
                        nat.at("externalIP").field()
                    ),
                    None,
                );
            }
            if !nets.iter().any(|n| n.contains(&i.addr())) {
                ctx.error::<()>(
                    codes::ENDPOINT_IP,
                    &nat.at("internalIP"),
                    format!(
                        "{}: `{}` is not one of the endpoint's `ipNetworks`",
                        nat.at("internalIP").field(),
                        i.addr()
                    ),
                    Some("the internal address of a NAT must be an address of the endpoint".into()),
                );
            }
        }
    }
    let iface = spec.str(ctx, "interfaceName").unwrap_or("");
    if !iface.is_empty() && (iface == "*" || !interface_ok(iface)) {
        ctx.error::<()>(
            codes::HEP_INTERFACE,
            &spec.at("interfaceName"),
            format!("spec.interfaceName: `{iface}` is not a valid interface name"),
            Some("use 1 to 15 letters, digits, `_`, `.` and `-`".into()),
        );
    }
    let profiles = profile_refs(ctx, &spec);
    let ports = endpoint_ports(ctx, &spec, true);
    let sa = spec
        .str(ctx, "serviceAccountName")
        .filter(|s| !s.is_empty());
    let node = spec.str(ctx, "node").filter(|s| !s.is_empty());
    let orchestrator = spec.str(ctx, "orchestrator").unwrap_or("");
    if ctx.error_count() > before {
        return None;
    }
    let meta = meta?;
    Some(Workload {
        namespace: meta.namespace.unwrap_or_else(|| Name::from("default")),
        name: meta.name,
        origin: EndpointOrigin::WorkloadEndpoint,
        labels: meta.labels,
        service_account: sa.map(Name::from),
        ips,
        ports,
        probes: Vec::new(),
        node: node.map(Name::from),
        host_network: false,
        automount_token: false,
        profiles,
        orchestrator: Name::from(orchestrator),
        loc: Some(root.at.loc()),
    })
}

pub(crate) fn check_profile(ctx: &mut Ctx, root: &Obj<'_>) -> Option<Profile> {
    let before = ctx.error_count();
    let meta = check_meta(ctx, root, "Profile", NameRule::Subdomain, false);
    let spec = root.obj(ctx, "spec");
    spec.known_fields(ctx, &["ingress", "egress", "labelsToApply"]);
    let scope = |dir| RuleScope {
        dir,
        global: false,
        policy: false,
    };
    let ingress = check_rules(ctx, &spec, "ingress", scope(Direction::Ingress));
    let egress = check_rules(ctx, &spec, "egress", scope(Direction::Egress));
    let (labels_to_apply, _) = check_labels(ctx, &spec, "labelsToApply", "spec.labelsToApply");
    if ctx.error_count() > before {
        return None;
    }
    let meta = meta?;
    Some(Profile {
        name: meta.name,
        ingress: ingress?,
        egress: egress?,
        labels_to_apply,
        loc: Some(root.at.loc()),
    })
}

/// Reads a Go duration (`24h`, `1h30m`, `90s`) as whole seconds.
pub(crate) fn parse_duration_secs(s: &str) -> Option<u64> {
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let n: f64 = num.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let mult = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += n * mult;
        rest = tail;
    }
    if total.is_finite() && (0.0..1e15).contains(&total) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked finite, non-negative and below 1e15"
        )]
        Some(total as u64)
    } else {
        None
    }
}

pub(crate) fn check_threat_feed(ctx: &mut Ctx, root: &Obj<'_>) -> Option<ThreatFeed> {
    let before = ctx.error_count();
    ctx.warn(
        codes::ENTERPRISE_KIND,
        &root.at.key("kind"),
        "GlobalThreatFeed is a Calico Enterprise resource; open-source Calico rejects it".into(),
        Some("tabby accepts it and models the GlobalNetworkSet the feed fills (with `spec.globalNetworkSet.labels`); it does not fetch the feed".into()),
    );
    let meta = check_meta(ctx, root, "GlobalThreatFeed", NameRule::Subdomain, false);
    let spec = root.obj(ctx, "spec");
    let gns = spec.obj(ctx, "globalNetworkSet");
    gns.known_fields(ctx, &["labels"]);
    let (labels, _) = check_labels(ctx, &gns, "labels", "spec.globalNetworkSet.labels");
    let pull = spec.obj(ctx, "pull");
    let period_seconds = match pull.str(ctx, "period") {
        None => None,
        Some(p) => match parse_duration_secs(p) {
            Some(s) => Some(s),
            None => ctx.error(
                codes::THREAT_FEED_INVALID,
                &pull.at("period"),
                format!("spec.pull.period: `{p}` is not a duration"),
                Some("write a duration such as `24h` or `1h30m`".into()),
            ),
        },
    };
    let http = pull.obj(ctx, "http");
    let url = http.str(ctx, "url").map(Name::from);
    for key in ["content", "mode"] {
        let allowed: &[&str] = if key == "content" {
            &["IPSet", "DomainNameSet"]
        } else {
            &["Enabled", "Disabled"]
        };
        if let Some(v) = spec.str(ctx, key) {
            if !allowed.contains(&v) {
                let help = match tabby_diag::did_you_mean(v, allowed.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("use `{}`", allowed.join("` or `")),
                };
                ctx.error::<()>(
                    codes::THREAT_FEED_INVALID,
                    &spec.at(key),
                    format!("spec.{key}: unknown value `{v}`"),
                    Some(help),
                );
            }
        }
    }
    if ctx.error_count() > before {
        return None;
    }
    let meta = meta?;
    Some(ThreatFeed {
        name: meta.name,
        network_set_labels: labels,
        url,
        period_seconds,
        loc: Some(root.at.loc()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, want) in [
            ("24h", Some(86_400)),
            ("1h30m", Some(5400)),
            ("90s", Some(90)),
            ("", None),
            ("5d", None),
            ("h", None),
        ] {
            assert_eq!(parse_duration_secs(s), want, "{s}");
        }
    }

    #[test]
    fn interfaces() {
        for (s, want) in [
            ("*", true),
            ("eth0", true),
            ("a_b.c-d", true),
            ("", false),
            ("0123456789abcdef", false),
            ("eth 0", false),
        ] {
            assert_eq!(interface_ok(s), want, "{s}");
        }
    }
}
