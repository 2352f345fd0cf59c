//! `networking.k8s.io/v1` NetworkPolicy and `projectcalico.org/v3`
//! StagedKubernetesNetworkPolicy → a Calico-shaped [`Policy`], as Calico's
//! `K8sNetworkPolicyToCalico` converts them (`libcalico-go/lib/backend/k8s/conversion/conversion.go`).
//!
//! ```text
//!  podSelector ──▶ selector  `projectcalico.org/orchestrator == 'k8s' && <matchLabels, sorted> && <matchExpressions>`
//!  ingress[i]  ──▶ one Allow rule per (protocol group × peer): peer in `source`, ports in `destination`
//!  egress[i]   ──▶ one Allow rule per (protocol group × peer): peer and ports in `destination`
//!  tier `default`, order 1000, name unchanged, kind KubernetesNetworkPolicy
//! ```
//!
//! ## `policyTypes` when absent
//!
//! Calico's converter, given a policy without `policyTypes`, applies it to ingress
//! only, even when it has egress rules. But Calico never sees such an object in a
//! real cluster: the Kubernetes API server's defaulting (`SetDefaults_NetworkPolicy`)
//! fills `policyTypes` on create, with `Ingress` always and `Egress` when the policy
//! has at least one egress rule. tabby reads manifests *before* the API server, so it
//! applies that defaulting first (what a real cluster enforces) and warns (`W0501`)
//! that the egress direction came from defaulting. StagedKubernetesNetworkPolicy is
//! served by Calico's own API, which does not default `policyTypes`: there Calico's
//! rule (ingress only) holds, and the warning says the egress rules are ignored.
//!
//! Validation is the API server's (`ValidateNetworkPolicySpec` in
//! `pkg/apis/networking/validation`): a manifest it would reject is an error here,
//! positioned at the offending value, and the object is left out of the cluster.

use tabby_load::RawObject;
use tabby_model::{
    Action, Cluster, EntityRule, Name, Policy, PolicyKind, PortRange, PortSpec, Protocol, Rule,
    StagedAction, Types,
};

use crate::ctx::{check_port_name, parse_cidr, At, CidrMode, Ctx};
use crate::k8s::codes;
use crate::k8s::ports::{group_ports, PortEntry};
use crate::k8s::selector::{self, SelKind};
use crate::k8s::tree::Tree;

/// The order Calico gives every converted Kubernetes NetworkPolicy.
pub(crate) const K8S_POLICY_ORDER: f64 = 1000.0;

/// The protocols a NetworkPolicy port may name.
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

/// Converts a NetworkPolicy (`staged == false`) or StagedKubernetesNetworkPolicy.
pub(crate) fn lower(ctx: &mut Ctx, obj: &RawObject, staged: bool, out: &mut Cluster) {
    let errors_before = ctx.error_count();
    let root = At::root(obj);
    let spec = root.key("spec");

    let staged_action = if staged {
        read_staged_action(ctx, &spec)
    } else {
        None
    };

    let pod_at = spec.key("podSelector");
    let selector = selector::read_calico(ctx, &pod_at, SelKind::Pod).flatten();

    let mut ingress = Vec::new();
    let ingress_at = spec.key("ingress");
    for rat in ingress_at.items() {
        if let Some(rules) = convert_rule(ctx, &rat, "from", true) {
            ingress.extend(rules);
        }
    }
    let mut egress = Vec::new();
    let egress_at = spec.key("egress");
    let egress_items = egress_at.items();
    for rat in &egress_items {
        if let Some(rules) = convert_rule(ctx, rat, "to", false) {
            egress.extend(rules);
        }
    }

    let types = read_policy_types(
        ctx,
        &spec,
        !egress_items.is_empty(),
        staged,
        !ingress_at.items().is_empty(),
    );

    if ctx.error_count() > errors_before {
        return;
    }
    let Some(selector) = selector else { return };
    let name: Name = obj.name.as_deref().unwrap_or_default().into();
    let namespace: Name = obj.namespace.as_deref().unwrap_or("default").into();
    out.policies.push(Policy {
        kind: if staged {
            PolicyKind::StagedKubernetesNetworkPolicy
        } else {
            PolicyKind::KubernetesNetworkPolicy
        },
        name,
        namespace: Some(namespace),
        tier: tabby_model::DEFAULT_TIER.into(),
        order: Some(K8S_POLICY_ORDER),
        selector,
        namespace_selector: None,
        service_account_selector: None,
        types,
        ingress,
        egress,
        apply_on_forward: false,
        pre_dnat: false,
        do_not_track: false,
        staged_action: if staged {
            Some(staged_action.unwrap_or(StagedAction::Set))
        } else {
            None
        },
        performance_hints: Vec::new(),
        labels: super::labels_of(&root),
        annotations: super::annotations_of(&root),
        loc: Some(obj.loc()),
    });
}

fn read_staged_action(ctx: &mut Ctx, spec: &At<'_>) -> Option<StagedAction> {
    let at = spec.key("stagedAction");
    let s = at.str()?;
    let a = match s {
        "Set" => StagedAction::Set,
        "Delete" => StagedAction::Delete,
        "Learn" => StagedAction::Learn,
        "Ignore" => StagedAction::Ignore,
        _ => {
            let names = ["Set", "Delete", "Learn", "Ignore"];
            let help = match tabby_diag::did_you_mean(s, names) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "use `Set`, `Delete`, `Learn` or `Ignore`".to_owned(),
            };
            return ctx.error(
                crate::codes::STAGED_ACTION,
                &at,
                format!("{}: unknown staged action `{s}`", at.field()),
                Some(help),
            );
        }
    };
    Some(a)
}

/// `policyTypes`, validated, or the API server's default (see the module docs).
fn read_policy_types(
    ctx: &mut Ctx,
    spec: &At<'_>,
    has_egress: bool,
    staged: bool,
    has_ingress: bool,
) -> Types {
    let at = spec.key("policyTypes");
    let items = at.items();
    if items.is_empty() {
        let egress = has_egress && !staged;
        if has_egress {
            let (message, help) = if staged {
                (
                    "egress rules without `policyTypes`: Calico applies this staged policy to ingress only, so its egress rules are ignored".to_owned(),
                    "add `policyTypes: [Ingress, Egress]` to stage the egress rules too".to_owned(),
                )
            } else {
                (
                    "egress rules without `policyTypes`: the API server will set `policyTypes: [Ingress, Egress]`, isolating the selected pods for egress too".to_owned(),
                    "write `policyTypes` explicitly to make the intent visible".to_owned(),
                )
            };
            warn_at_key(
                ctx,
                codes::EGRESS_WITHOUT_POLICY_TYPES,
                &spec.key("egress"),
                message,
                help,
            );
        }
        return Types {
            ingress: true,
            egress,
            inferred: true,
        };
    }
    let mut types = Types::default();
    if items.len() > 2 {
        ctx.error::<()>(
            codes::POLICY_TYPES,
            &at,
            format!("{}: may not list more than two policy types", at.field()),
            Some("use `[Ingress]`, `[Egress]` or `[Ingress, Egress]`".into()),
        );
    }
    for it in items {
        match it.str() {
            Some("Ingress") => types.ingress = true,
            Some("Egress") => types.egress = true,
            other => {
                let s = other.unwrap_or_default();
                let help = match tabby_diag::did_you_mean(s, ["Ingress", "Egress"]) {
                    Some(m) => format!("did you mean `{m}`? policy types are case-sensitive"),
                    None => "use `Ingress` or `Egress`".to_owned(),
                };
                ctx.error::<()>(
                    codes::POLICY_TYPES,
                    &it,
                    format!("{}: unsupported policy type `{s}`", it.field()),
                    Some(help),
                );
            }
        }
    }
    if has_egress && !types.egress {
        warn_at_key(
            ctx,
            codes::RULES_IGNORED,
            &spec.key("egress"),
            "egress rules are ignored: `policyTypes` does not list `Egress`".to_owned(),
            "add `Egress` to `policyTypes`, or remove the egress rules".into(),
        );
    }
    if has_ingress && !types.ingress {
        warn_at_key(
            ctx,
            codes::RULES_IGNORED,
            &spec.key("ingress"),
            "ingress rules are ignored: `policyTypes` does not list `Ingress`".to_owned(),
            "add `Ingress` to `policyTypes`, or remove the ingress rules".into(),
        );
    }
    types
}

/// A warning at the key token of `at` (the `egress:` of a rule list, not its items).
fn warn_at_key(ctx: &mut Ctx, code: &'static str, at: &At<'_>, message: String, help: String) {
    ctx.push(
        tabby_diag::Diagnostic::warning(code, message)
            .at(at.key_loc())
            .with_help(help),
    );
}

/// One peer, converted: the fields of the entity rule it fills.
#[derive(Debug, Clone, Default, PartialEq)]
struct Peer {
    nets: Vec<ipnet::IpNet>,
    not_nets: Vec<ipnet::IpNet>,
    selector: Option<tabby_selector::Selector>,
    namespace_selector: Option<tabby_selector::Selector>,
}

/// Converts one ingress (`peers_key == "from"`) or egress (`"to"`) rule. `None` when
/// it is invalid (reported).
fn convert_rule(ctx: &mut Ctx, rat: &At<'_>, peers_key: &str, ingress: bool) -> Option<Vec<Rule>> {
    let errors_before = ctx.error_count();
    let mut entries = Vec::new();
    for pat in rat.key("ports").items() {
        if let Some(e) = read_port(ctx, &pat) {
            entries.push(e);
        }
    }
    let mut peers = Vec::new();
    for peer_at in rat.key(peers_key).items() {
        if let Some(p) = read_peer(ctx, &peer_at) {
            peers.push(p);
        }
    }
    if ctx.error_count() > errors_before {
        return None;
    }
    let peers: Vec<Option<Peer>> = if peers.is_empty() {
        vec![None]
    } else {
        peers.into_iter().map(Some).collect()
    };
    let loc = rat.loc();
    let mut rules = Vec::new();
    for (protocol, ports) in group_ports(&entries).rules() {
        for peer in &peers {
            let mut rule = Rule::new(Action::Allow);
            rule.protocol = protocol;
            rule.loc = Some(loc.clone());
            let mut side = EntityRule::default();
            if let Some(p) = peer {
                side.nets = p.nets.clone();
                side.not_nets = p.not_nets.clone();
                side.selector = p.selector.clone();
                side.namespace_selector = p.namespace_selector.clone();
            }
            if ingress {
                rule.source = side;
                rule.destination.ports = ports.clone();
            } else {
                side.ports = ports.clone();
                rule.destination = side;
            }
            rules.push(rule);
        }
    }
    Some(rules)
}

/// One `ports` entry: protocol (default TCP), `port` (number or name), `endPort`.
fn read_port(ctx: &mut Ctx, at: &At<'_>) -> Option<PortEntry> {
    let mut ok = true;
    let pat = at.key("protocol");
    let protocol = match pat.str() {
        None => Protocol::TCP,
        Some(s) => match s {
            "TCP" => Protocol::TCP,
            "UDP" => Protocol::UDP,
            "SCTP" => Protocol::SCTP,
            _ => {
                let help = match tabby_diag::did_you_mean(s, PROTOCOLS) {
                    Some(m) => format!("did you mean `{m}`? NetworkPolicy protocols are `TCP`, `UDP` and `SCTP` (case-sensitive)"),
                    None => "NetworkPolicy protocols are `TCP`, `UDP` and `SCTP`".to_owned(),
                };
                ctx.error::<()>(
                    codes::PROTOCOL,
                    &pat,
                    format!("{}: unsupported protocol `{s}`", pat.field()),
                    Some(help),
                );
                ok = false;
                Protocol::TCP
            }
        },
    };
    let port_at = at.key("port");
    let end_at = at.key("endPort");
    let end = end_at.int();
    let port = match port_at.node().map(|n| &n.kind) {
        None => {
            if end_at.present() {
                ctx.error::<()>(
                    codes::END_PORT,
                    &end_at,
                    format!("{}: `endPort` needs a numeric `port`", end_at.field()),
                    Some("add `port: <first port of the range>`".into()),
                );
                ok = false;
            }
            None
        }
        Some(tabby_load::NodeKind::Int(p)) => {
            let p = *p;
            let min = valid_port(ctx, &port_at, p)?;
            match end {
                None => Some(PortSpec::Range(PortRange::single(min))),
                Some(e) => {
                    let max = valid_port(ctx, &end_at, e)?;
                    if max < min {
                        ctx.error::<()>(
                            codes::END_PORT,
                            &end_at,
                            format!("{}: `endPort` {max} is below `port` {min}", end_at.field()),
                            Some("`endPort` must be greater than or equal to `port`".into()),
                        );
                        return None;
                    }
                    Some(PortSpec::Range(PortRange { min, max }))
                }
            }
        }
        Some(tabby_load::NodeKind::Str(s)) => {
            if let Err(m) = check_port_name(s) {
                let help = if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
                    format!("write the number without quotes: `port: {s}` (a quoted number is read as a port name)")
                } else {
                    "use a port number from 1 to 65535 or a container port name".to_owned()
                };
                ctx.error::<()>(
                    codes::PORT,
                    &port_at,
                    format!("{}: {m}", port_at.field()),
                    Some(help),
                );
                ok = false;
            }
            if end_at.present() {
                ctx.error::<()>(
                    codes::END_PORT,
                    &end_at,
                    format!(
                        "{}: `endPort` cannot be used with the named port `{s}`",
                        end_at.field()
                    ),
                    Some("use numeric `port` and `endPort` for a range".into()),
                );
                ok = false;
            }
            Some(PortSpec::Named(s.as_str().into()))
        }
        Some(_) => {
            ctx.error::<()>(
                codes::PORT,
                &port_at,
                format!("{}: port must be a number or a port name", port_at.field()),
                None,
            );
            return None;
        }
    };
    ok.then_some(PortEntry { protocol, port })
}

fn valid_port(ctx: &mut Ctx, at: &At<'_>, p: i64) -> Option<u16> {
    match u16::try_from(p) {
        Ok(v) if v > 0 => Some(v),
        _ => ctx.error(
            codes::PORT,
            at,
            format!("{}: port {p} is out of range", at.field()),
            Some("use a port from 1 to 65535".into()),
        ),
    }
}

/// One peer: exactly `ipBlock`, or `podSelector` and/or `namespaceSelector`.
fn read_peer(ctx: &mut Ctx, at: &At<'_>) -> Option<Peer> {
    let pod = at.key("podSelector");
    let ns = at.key("namespaceSelector");
    let block = at.key("ipBlock");
    if !pod.present() && !ns.present() && !block.present() {
        return ctx.error(
            codes::PEER_SHAPE,
            at,
            format!(
                "{}: a peer must set `podSelector`, `namespaceSelector` or `ipBlock`",
                at.field()
            ),
            Some("to allow every source or destination, leave out the whole peer list".into()),
        );
    }
    if block.present() {
        if pod.present() || ns.present() {
            let other = if pod.present() { pod } else { ns };
            return ctx.error_at_key(
                codes::PEER_SHAPE,
                &other,
                format!(
                    "{}: a peer with `ipBlock` cannot also select pods or namespaces",
                    at.field()
                ),
                Some(
                    "write the `ipBlock` and the selectors as two separate peers (peers are ORed)"
                        .into(),
                ),
            );
        }
        return read_ip_block(ctx, &block);
    }
    let selector = selector::read_calico(ctx, &pod, SelKind::Pod);
    let namespace_selector = selector::read_calico(ctx, &ns, SelKind::Namespace);
    Some(Peer {
        selector: selector?,
        namespace_selector: namespace_selector?,
        ..Peer::default()
    })
}

fn read_ip_block(ctx: &mut Ctx, at: &At<'_>) -> Option<Peer> {
    let cidr_at = at.key("cidr");
    let Some(text) = cidr_at.str().filter(|s| !s.is_empty()) else {
        return ctx.error(
            codes::IP_BLOCK_CIDR,
            &cidr_at,
            format!("{}: `ipBlock` needs a `cidr`", cidr_at.field()),
            Some("for example `cidr: 10.0.0.0/8`".into()),
        );
    };
    let cidr = block_cidr(ctx, &cidr_at, text)?;
    let written = text.parse::<ipnet::IpNet>().ok();
    if written.is_some_and(|w| w.addr() != w.network()) {
        ctx.warning(
            codes::CIDR_HOST_BITS,
            &cidr_at,
            format!(
                "{}: `{text}` has host bits set; Calico uses `{cidr}`",
                cidr_at.field()
            ),
            Some(format!("write `{cidr}`")),
        );
    }
    let mut peer = Peer {
        nets: vec![cidr],
        ..Peer::default()
    };
    let mut ok = true;
    for eat in at.key("except").items() {
        let t = eat.str().unwrap_or_default();
        let Some(ex) = block_cidr(ctx, &eat, t) else {
            ok = false;
            continue;
        };
        // As Kubernetes: the except network's (masked) address must lie in `cidr`.
        if !cidr.contains(&ex.addr()) || cidr.prefix_len() >= ex.prefix_len() {
            ctx.error::<()>(
                codes::IP_BLOCK_EXCEPT,
                &eat,
                format!(
                    "{}: `{t}` is not a strict subset of `cidr` `{text}`",
                    eat.field()
                ),
                Some("each `except` entry must lie inside `cidr` and have a longer prefix".into()),
            );
            ok = false;
            continue;
        }
        peer.not_nets.push(ex);
    }
    ok.then_some(peer)
}

/// Reads an `ipBlock` CIDR (host bits allowed, as Kubernetes allows them; the result is masked).
fn block_cidr(ctx: &mut Ctx, at: &At<'_>, text: &str) -> Option<ipnet::IpNet> {
    if !text.contains('/') {
        return ctx.error(
            codes::IP_BLOCK_CIDR,
            at,
            format!("{}: `{text}` has no prefix length", at.field()),
            Some(format!(
                "write `{text}/{}` for a single address",
                if text.contains(':') { 128 } else { 32 }
            )),
        );
    }
    match parse_cidr(text, CidrMode::Loose) {
        Ok(n) => Some(n),
        Err((m, h)) => ctx.error(
            codes::IP_BLOCK_CIDR,
            at,
            format!("{}: {m}", at.field()),
            Some(h),
        ),
    }
}
