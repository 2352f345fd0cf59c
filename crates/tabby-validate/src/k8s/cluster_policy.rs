//! ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`, Calico v3.32+) and the
//! legacy AdminNetworkPolicy / BaselineAdminNetworkPolicy (`v1alpha1`, Calico
//! v3.29–v3.31) → GlobalNetworkPolicy-shaped [`Policy`] values, as Calico's
//! `K8sClusterNetworkPolicyToCalico` (`clusternetworkpolicy.go`) and its ANP/BANP
//! predecessors convert them.
//!
//! ```text
//!  ClusterNetworkPolicy  tier Admin → kube-admin, Baseline → kube-baseline; order = priority
//!  AdminNetworkPolicy    tier adminnetworkpolicy;          order = priority
//!  BaselineAdminNetworkPolicy  tier baselineadminnetworkpolicy
//!  subject.namespaces    → namespaceSelector (k8s selector, `{}` = all()) + selector `projectcalico.org/orchestrator == 'k8s'`
//!  subject.pods          → namespaceSelector + pod selector (with the orchestrator clause)
//!  rule                  → one rule per (protocol group × peer); rule name → annotation `name`
//!  types                 = the directions that have rules
//! ```
//!
//! What the CRD schema rejects (unknown action, empty peer, port 0) is an error here.
//! What the schema accepts but Calico cannot convert (named ports, `nodes` and
//! `domainNames` peers) is converted as Calico does it — *fail closed*: the rule is
//! replaced by a catch-all `Deny` when its action was `Deny` or `Pass`
//! (ClusterNetworkPolicy) or `Deny` (legacy kinds), and dropped otherwise — and a
//! `W0503` warning says so.

use tabby_load::RawObject;
use tabby_model::{
    Action, Cluster, EntityRule, LabelMap, Name, Policy, PolicyKind, PortRange, PortSpec, Protocol,
    Rule, Types,
};

use crate::ctx::{parse_cidr, At, CidrMode, Ctx};
use crate::k8s::codes;
use crate::k8s::ports::{group_ports, PortEntry};
use crate::k8s::selector::{self, SelKind};
use crate::k8s::tree::Tree;

/// The three kinds this module converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// ClusterNetworkPolicy.
    Cnp,
    /// AdminNetworkPolicy (legacy).
    Anp,
    /// BaselineAdminNetworkPolicy (legacy).
    Banp,
}

impl Flavor {
    fn actions(self) -> &'static [&'static str] {
        match self {
            Flavor::Cnp => &["Accept", "Deny", "Pass"],
            Flavor::Anp => &["Allow", "Deny", "Pass"],
            Flavor::Banp => &["Allow", "Deny"],
        }
    }

    fn kind(self) -> PolicyKind {
        match self {
            Flavor::Cnp => PolicyKind::KubernetesClusterNetworkPolicy,
            Flavor::Anp => PolicyKind::KubernetesAdminNetworkPolicy,
            Flavor::Banp => PolicyKind::KubernetesBaselineAdminNetworkPolicy,
        }
    }

    /// Whether an unconvertible rule with this action becomes a catch-all Deny.
    fn fails_closed(self, action: Action) -> bool {
        match self {
            Flavor::Cnp => matches!(action, Action::Deny | Action::Pass),
            // Calico's ANP/BANP converters replaced only Deny rules (adminnetworkpolicy_test.go).
            Flavor::Anp | Flavor::Banp => action == Action::Deny,
        }
    }
}

/// The order Calico gives the (singleton) BaselineAdminNetworkPolicy.
pub(crate) const BANP_ORDER: f64 = 1000.0;

pub(crate) fn lower(ctx: &mut Ctx, obj: &RawObject, flavor: Flavor, out: &mut Cluster) {
    let errors_before = ctx.error_count();
    let root = At::root(obj);
    let spec = root.key("spec");
    let name: Name = obj.name.as_deref().unwrap_or_default().into();

    let tier: Option<&str> = match flavor {
        Flavor::Cnp => {
            let at = spec.key("tier");
            match at.str() {
                Some("Admin") => Some(tabby_model::KUBE_ADMIN_TIER),
                Some("Baseline") => Some(tabby_model::KUBE_BASELINE_TIER),
                other => {
                    let s = other.unwrap_or_default();
                    let help = match tabby_diag::did_you_mean(s, ["Admin", "Baseline"]) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => "use `Admin` or `Baseline`".to_owned(),
                    };
                    let msg = if other.is_none() {
                        format!("{}: a ClusterNetworkPolicy needs a `tier`", at.field())
                    } else {
                        format!("{}: unknown tier `{s}`", at.field())
                    };
                    ctx.error::<()>(codes::CLUSTER_POLICY_SPEC, &at, msg, Some(help));
                    None
                }
            }
        }
        Flavor::Anp => Some(tabby_model::LEGACY_ANP_TIER),
        Flavor::Banp => {
            if &*name != "default" {
                let nat = root.key("metadata").key("name");
                ctx.error::<()>(
                    codes::BANP_NAME,
                    &nat,
                    format!(
                        "{}: a BaselineAdminNetworkPolicy must be named `default`, not `{name}`",
                        nat.field()
                    ),
                    Some(
                        "there is one BaselineAdminNetworkPolicy per cluster; name it `default`"
                            .into(),
                    ),
                );
            }
            Some(tabby_model::LEGACY_BANP_TIER)
        }
    };

    let order = match flavor {
        Flavor::Banp => Some(BANP_ORDER),
        _ => {
            let at = spec.key("priority");
            match at.node() {
                None => Some(0.0),
                Some(_) => match at.int() {
                    Some(p) if (0..=1000).contains(&p) => Some(p as f64),
                    _ => {
                        ctx.error::<()>(
                            codes::CLUSTER_POLICY_SPEC,
                            &at,
                            format!(
                                "{}: priority must be a whole number from 0 to 1000",
                                at.field()
                            ),
                            Some("lower numbers are evaluated first".into()),
                        );
                        None
                    }
                },
            }
        }
    };

    let subject = read_subject(ctx, &spec.key("subject"));

    let mut ingress = Vec::new();
    for rat in spec.key("ingress").items() {
        convert_rule(ctx, &rat, flavor, true, &mut ingress);
    }
    let mut egress = Vec::new();
    for rat in spec.key("egress").items() {
        convert_rule(ctx, &rat, flavor, false, &mut egress);
    }

    if ctx.error_count() > errors_before {
        return;
    }
    let (Some(tier), Some(order), Some((namespace_selector, selector))) = (tier, order, subject)
    else {
        return;
    };
    let types = Types {
        ingress: !ingress.is_empty(),
        egress: !egress.is_empty(),
        inferred: false,
    };
    out.policies.push(Policy {
        kind: flavor.kind(),
        name,
        namespace: None,
        tier: tier.into(),
        order: Some(order),
        selector,
        namespace_selector: Some(namespace_selector),
        service_account_selector: None,
        types,
        ingress,
        egress,
        apply_on_forward: false,
        pre_dnat: false,
        do_not_track: false,
        staged_action: None,
        performance_hints: Vec::new(),
        labels: super::labels_of(&root),
        annotations: super::annotations_of(&root),
        loc: Some(obj.loc()),
    });
}

/// `(namespaceSelector, selector)` of the policy.
fn read_subject(
    ctx: &mut Ctx,
    at: &At<'_>,
) -> Option<(tabby_selector::Selector, tabby_selector::Selector)> {
    let ns = at.key("namespaces");
    let pods = at.key("pods");
    match (ns.present(), pods.present()) {
        (true, false) => {
            let nsel = selector::read_calico(ctx, &ns, SelKind::Namespace)??;
            let psel = selector::to_calico(ctx, at, None, SelKind::Pod)?;
            Some((nsel, psel))
        }
        (false, true) => {
            let (nsel, psel) = namespaced_pod(ctx, &pods)?;
            Some((nsel, psel))
        }
        (both, _) => {
            let msg = if both {
                format!("{}: set only one of `namespaces` and `pods`", at.field())
            } else {
                format!("{}: a subject must set `namespaces` or `pods`", at.field())
            };
            ctx.error(
                codes::CLUSTER_POLICY_SUBJECT,
                at,
                msg,
                Some("`namespaces: {}` selects every pod in every namespace".into()),
            )
        }
    }
}

/// A `pods` block: `namespaceSelector` (absent or `{}` = every namespace) and `podSelector`.
fn namespaced_pod(
    ctx: &mut Ctx,
    at: &At<'_>,
) -> Option<(tabby_selector::Selector, tabby_selector::Selector)> {
    // Both fields are structs, not pointers, in the Go types: absent reads as `{}`.
    let ns_at = at.key("namespaceSelector");
    let nsel = if ns_at.present() {
        selector::read(ctx, &ns_at)?
    } else {
        selector::LabelSelector::default()
    };
    let pod_at = at.key("podSelector");
    let psel = if pod_at.present() {
        selector::read(ctx, &pod_at)?
    } else {
        selector::LabelSelector::default()
    };
    let n = selector::to_calico(ctx, &ns_at, Some(&nsel), SelKind::Namespace)?;
    let p = selector::to_calico(ctx, &pod_at, Some(&psel), SelKind::Pod)?;
    Some((n, p))
}

/// Why a rule could not be converted (schema-valid, but Calico has no translation).
struct Unconvertible {
    at_field: String,
    at_loc_at: Vec<tabby_load::PathSeg>,
    reason: String,
}

/// One peer's entity-rule fields.
#[derive(Default, Clone)]
struct Peer {
    selector: Option<tabby_selector::Selector>,
    namespace_selector: Option<tabby_selector::Selector>,
    nets: Vec<ipnet::IpNet>,
}

fn convert_rule(ctx: &mut Ctx, rat: &At<'_>, flavor: Flavor, ingress: bool, out: &mut Vec<Rule>) {
    let errors_before = ctx.error_count();
    let action_at = rat.key("action");
    let action = read_action(ctx, &action_at, flavor);
    let mut unconvertible: Option<Unconvertible> = None;

    let entries = read_ports(ctx, rat, &mut unconvertible);

    let peers_key = if ingress { "from" } else { "to" };
    let peers_at = rat.key(peers_key);
    let peer_items = peers_at.items();
    if peer_items.is_empty() {
        ctx.error::<()>(
            codes::CLUSTER_POLICY_PEER,
            &peers_at,
            format!(
                "{}: a rule needs at least one peer in `{peers_key}`",
                peers_at.field()
            ),
            Some("to match everything, use `namespaces: {}`".into()),
        );
    }
    let mut peers = Vec::new();
    for pat in &peer_items {
        if let Some(p) = read_peer(ctx, pat, ingress, &mut unconvertible) {
            peers.push(p);
        }
    }
    if ctx.error_count() > errors_before {
        return;
    }
    let Some(action) = action else { return };

    if let Some(u) = unconvertible {
        let fail_closed = flavor.fails_closed(action);
        let at = At {
            obj: rat.obj,
            path: u.at_loc_at,
        };
        let outcome = if fail_closed {
            "Calico replaces the rule with one that denies all traffic (fail closed)"
        } else {
            "Calico drops the rule"
        };
        ctx.warning(
            codes::RULE_NOT_CONVERTED,
            &at,
            format!("{}: {}; {outcome}", u.at_field, u.reason),
            Some(
                "rewrite the rule with numeric ports and `namespaces`/`pods`/`networks` peers"
                    .into(),
            ),
        );
        if fail_closed {
            let mut r = Rule::new(Action::Deny);
            r.loc = Some(rat.loc());
            out.push(r);
        }
        return;
    }

    let mut annotations = LabelMap::new();
    if let Some(n) = rat.key("name").str().filter(|s| !s.is_empty()) {
        annotations.insert("name".into(), n.into());
    }
    let Some(entries) = entries else { return };
    for (protocol, ports) in group_ports(&entries).rules() {
        for peer in &peers {
            let mut rule = Rule::new(action);
            rule.protocol = protocol;
            rule.annotations = annotations.clone();
            rule.loc = Some(rat.loc());
            let side = EntityRule {
                selector: peer.selector.clone(),
                namespace_selector: peer.namespace_selector.clone(),
                nets: peer.nets.clone(),
                ..EntityRule::default()
            };
            if ingress {
                rule.source = side;
                rule.destination.ports = ports.clone();
            } else {
                rule.destination = EntityRule {
                    ports: ports.clone(),
                    ..side
                };
            }
            out.push(rule);
        }
    }
}

fn read_action(ctx: &mut Ctx, at: &At<'_>, flavor: Flavor) -> Option<Action> {
    let s = at.str().unwrap_or_default();
    let valid = flavor.actions();
    let a = match s {
        "Accept" if flavor == Flavor::Cnp => Action::Allow,
        "Allow" if flavor != Flavor::Cnp => Action::Allow,
        "Deny" => Action::Deny,
        "Pass" if flavor != Flavor::Banp => Action::Pass,
        _ => {
            let list = valid
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = match tabby_diag::did_you_mean(s, valid.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? actions are {list}"),
                None => format!("actions are {list}"),
            };
            let msg = if at.present() {
                format!("{}: unknown action `{s}`", at.field())
            } else {
                format!("{}: a rule needs an `action`", at.field())
            };
            return ctx.error(codes::CLUSTER_POLICY_ACTION, at, msg, Some(help));
        }
    };
    Some(a)
}

/// Reads `protocols` (v1alpha2) or `ports` (v1alpha1 and early v1alpha2). `None`
/// only on errors.
fn read_ports(
    ctx: &mut Ctx,
    rat: &At<'_>,
    unconvertible: &mut Option<Unconvertible>,
) -> Option<Vec<PortEntry>> {
    let mut entries = Vec::new();
    let mut ok = true;
    for pat in rat.key("protocols").items() {
        let fields: Vec<(String, At<'_>)> = pat
            .entries()
            .into_iter()
            .filter(|(_, a)| a.present())
            .collect();
        let [(field, fat)] = fields.as_slice() else {
            ctx.error::<()>(
                codes::CLUSTER_POLICY_PORT,
                &pat,
                format!(
                    "{}: set exactly one of `tcp`, `udp`, `sctp` and `destinationNamedPort`",
                    pat.field()
                ),
                None,
            );
            ok = false;
            continue;
        };
        let protocol = match field.as_str() {
            "tcp" => Protocol::TCP,
            "udp" => Protocol::UDP,
            "sctp" => Protocol::SCTP,
            "destinationNamedPort" => {
                note_unconvertible(
                    unconvertible,
                    fat,
                    "named ports are not supported by Calico's ClusterNetworkPolicy conversion",
                );
                continue;
            }
            other => {
                ctx.error_at_key::<()>(
                    codes::CLUSTER_POLICY_PORT,
                    fat,
                    format!("{}: unknown protocol field `{other}`", fat.field()),
                    Some("use `tcp`, `udp`, `sctp` or `destinationNamedPort`".into()),
                );
                ok = false;
                continue;
            }
        };
        let dp = fat.key("destinationPort");
        if !dp.present() {
            entries.push(PortEntry {
                protocol,
                port: None,
            });
            continue;
        }
        let number = dp.key("number");
        let range = dp.key("range");
        let port = match (number.present(), range.present()) {
            (true, false) => {
                port_number(ctx, &number).map(|p| PortSpec::Range(PortRange::single(p)))
            }
            (false, true) => port_range(ctx, &range.key("start"), &range.key("end")),
            _ => ctx.error(
                codes::CLUSTER_POLICY_PORT,
                &dp,
                format!("{}: set exactly one of `number` and `range`", dp.field()),
                None,
            ),
        };
        match port {
            Some(p) => entries.push(PortEntry {
                protocol,
                port: Some(p),
            }),
            None => ok = false,
        }
    }
    for pat in rat.key("ports").items() {
        let fields: Vec<(String, At<'_>)> = pat
            .entries()
            .into_iter()
            .filter(|(_, a)| a.present())
            .collect();
        let [(field, fat)] = fields.as_slice() else {
            ctx.error::<()>(
                codes::CLUSTER_POLICY_PORT,
                &pat,
                format!(
                    "{}: set exactly one of `portNumber`, `portRange` and `namedPort`",
                    pat.field()
                ),
                None,
            );
            ok = false;
            continue;
        };
        let entry = match field.as_str() {
            "portNumber" => {
                let protocol = legacy_protocol(ctx, &fat.key("protocol"));
                let port = port_number(ctx, &fat.key("port"));
                match (protocol, port) {
                    (Some(protocol), Some(p)) => Some(PortEntry {
                        protocol,
                        port: Some(PortSpec::Range(PortRange::single(p))),
                    }),
                    _ => None,
                }
            }
            "portRange" => {
                let protocol = legacy_protocol(ctx, &fat.key("protocol"));
                let range = port_range(ctx, &fat.key("start"), &fat.key("end"));
                match (protocol, range) {
                    (Some(protocol), Some(r)) => Some(PortEntry {
                        protocol,
                        port: Some(r),
                    }),
                    _ => None,
                }
            }
            "namedPort" => {
                note_unconvertible(
                    unconvertible,
                    fat,
                    "named ports are not converted by Calico's admin network policy conversion",
                );
                continue;
            }
            other => {
                ctx.error_at_key::<()>(
                    codes::CLUSTER_POLICY_PORT,
                    fat,
                    format!("{}: unknown port field `{other}`", fat.field()),
                    Some("use `portNumber`, `portRange` or `namedPort`".into()),
                );
                None
            }
        };
        match entry {
            Some(e) => entries.push(e),
            None => ok = false,
        }
    }
    ok.then_some(entries)
}

fn note_unconvertible(slot: &mut Option<Unconvertible>, at: &At<'_>, reason: &str) {
    if slot.is_none() {
        *slot = Some(Unconvertible {
            at_field: at.field(),
            at_loc_at: at.path.clone(),
            reason: reason.to_owned(),
        });
    }
}

fn legacy_protocol(ctx: &mut Ctx, at: &At<'_>) -> Option<Protocol> {
    match at.str() {
        None => Some(Protocol::TCP),
        Some("TCP") => Some(Protocol::TCP),
        Some("UDP") => Some(Protocol::UDP),
        Some("SCTP") => Some(Protocol::SCTP),
        Some(s) => {
            let help = match tabby_diag::did_you_mean(s, ["TCP", "UDP", "SCTP"]) {
                Some(m) => format!("did you mean `{m}`? protocols are `TCP`, `UDP` and `SCTP`"),
                None => "protocols are `TCP`, `UDP` and `SCTP`".to_owned(),
            };
            ctx.error(
                codes::PROTOCOL,
                at,
                format!("{}: unsupported protocol `{s}`", at.field()),
                Some(help),
            )
        }
    }
}

fn port_number(ctx: &mut Ctx, at: &At<'_>) -> Option<u16> {
    match at.int().map(u16::try_from) {
        Some(Ok(p)) if p > 0 => Some(p),
        _ => ctx.error(
            codes::CLUSTER_POLICY_PORT,
            at,
            format!(
                "{}: port must be a whole number from 1 to 65535",
                at.field()
            ),
            None,
        ),
    }
}

fn port_range(ctx: &mut Ctx, start: &At<'_>, end: &At<'_>) -> Option<PortSpec> {
    let a = port_number(ctx, start);
    let b = port_number(ctx, end);
    let (a, b) = (a?, b?);
    if a > b {
        return ctx.error(
            codes::CLUSTER_POLICY_PORT,
            end,
            format!("{}: range end {b} is below its start {a}", end.field()),
            Some(format!("write `start: {b}` and `end: {a}`")),
        );
    }
    Some(PortSpec::Range(PortRange { min: a, max: b }))
}

fn read_peer(
    ctx: &mut Ctx,
    at: &At<'_>,
    ingress: bool,
    unconvertible: &mut Option<Unconvertible>,
) -> Option<Peer> {
    let fields: Vec<(String, At<'_>)> = at
        .entries()
        .into_iter()
        .filter(|(_, a)| a.present())
        .collect();
    let [(field, fat)] = fields.as_slice() else {
        let allowed = if ingress {
            "`namespaces` or `pods`"
        } else {
            "`namespaces`, `pods` or `networks`"
        };
        return ctx.error(
            codes::CLUSTER_POLICY_PEER,
            at,
            format!("{}: a peer must set exactly one of {allowed}", at.field()),
            Some("write each kind of peer as its own list entry (peers are ORed)".into()),
        );
    };
    match field.as_str() {
        "namespaces" => {
            let ns = selector::read_calico(ctx, fat, SelKind::Namespace)?;
            Some(Peer {
                namespace_selector: ns,
                ..Peer::default()
            })
        }
        "pods" => {
            let (n, p) = namespaced_pod(ctx, fat)?;
            Some(Peer {
                selector: Some(p),
                namespace_selector: Some(n),
                ..Peer::default()
            })
        }
        "networks" if !ingress => {
            let mut nets = Vec::new();
            let mut ok = true;
            for nat in fat.items() {
                let t = nat.str().unwrap_or_default();
                match parse_cidr(t, CidrMode::Strict) {
                    Ok(n) => nets.push(n),
                    Err((m, h)) => {
                        ctx.error::<()>(
                            codes::CLUSTER_POLICY_NETWORK,
                            &nat,
                            format!("{}: {m}", nat.field()),
                            Some(h),
                        );
                        ok = false;
                    }
                }
            }
            if nets.is_empty() && ok {
                return ctx.error(
                    codes::CLUSTER_POLICY_NETWORK,
                    fat,
                    format!("{}: `networks` needs at least one CIDR", fat.field()),
                    None,
                );
            }
            ok.then_some(Peer {
                nets,
                ..Peer::default()
            })
        }
        other => {
            note_unconvertible(
                unconvertible,
                fat,
                &format!("`{other}` peers are not supported by Calico's conversion"),
            );
            Some(Peer::default())
        }
    }
}
