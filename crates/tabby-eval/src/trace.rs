//! The traced path: the same walk as `decide()`, recording every tier, policy and
//! rule tried and why each rule matched or not. The JSON shape is documented in
//! `docs/trace-json.md` and is stable.

use std::fmt::Write as _;

use serde::Serialize;
use tabby_model::{Action, Direction, TierDefaultAction};

use crate::engine::Engine;
use crate::eval::{Recorder, SideVerdict};
use crate::flow::Flow;
use crate::matching::{FlowCtx, Miss, Side};
use crate::resolve::{PolicyEntry, PolicyId, ProfileEntry, ProfileId, ProgramTier, View};
use crate::rules::{CompiledRule, CompiledSide, PortSet};

/// A flow, explained. `serde::Serialize` gives the stable JSON form.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// `allow` or `deny` (enforced view).
    pub verdict: &'static str,
    /// `allow` or `deny` with staged policies treated as enforced.
    pub staged_verdict: &'static str,
    pub flow: FlowInfo,
    pub egress: SideTrace,
    pub ingress: SideTrace,
    /// The pending view of each side whose program differs from the enforced one
    /// (some staged policy applies there); `null` when staged policies change nothing.
    pub pending: Option<PendingTrace>,
    /// Remarks: made-up addresses, host-network pods, simplifications that applied.
    pub notes: Vec<String>,
}

/// The flow as traced.
#[derive(Debug, Clone, Serialize)]
pub struct FlowInfo {
    pub src_ip: String,
    pub dst_ip: String,
    pub protocol: String,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub domain: Option<String>,
}

/// Pending-view traces.
#[derive(Debug, Clone, Serialize)]
pub struct PendingTrace {
    pub egress: Option<SideTrace>,
    pub ingress: Option<SideTrace>,
}

/// The endpoint a side was evaluated at.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointInfo {
    pub kind: &'static str,
    /// `ns/name`, `host:name`.
    pub name: String,
    pub ip: String,
    pub ip_assigned_by_tabby: bool,
}

/// One side (egress at the source or ingress at the destination).
#[derive(Debug, Clone, Serialize)]
pub struct SideTrace {
    pub direction: &'static str,
    /// `enforced` or `pending`.
    pub view: &'static str,
    /// `null` when the address is not a Calico workload or host endpoint.
    pub endpoint: Option<EndpointInfo>,
    pub verdict: &'static str,
    /// One line saying what decided.
    pub decided_by: String,
    /// Host endpoints only: whether a failsafe port matched.
    pub failsafe: Option<bool>,
    pub tiers: Vec<TierTrace>,
    pub profiles: Vec<ProfileTrace>,
    /// Felix flow-log policy strings of the hits on the path (calico-semantics §8.2).
    pub flow_log_policies: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TierTrace {
    pub tier: String,
    /// `untracked`, `pre-dnat` or `normal`.
    pub stage: &'static str,
    pub default_action: &'static str,
    pub policies: Vec<PolicyTrace>,
    /// `Deny` or `Pass` when the tier's default action was taken, else `null`.
    pub end_of_tier: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyTrace {
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
    pub order: Option<f64>,
    pub staged: bool,
    pub rules: Vec<RuleTrace>,
    /// `allow`, `deny`, `pass` or `no-match`.
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleTrace {
    pub index: u32,
    pub action: &'static str,
    pub matched: bool,
    /// `matched`, or the first criterion that failed.
    pub reason: String,
    /// Rule name (`metadata.annotations.name`), if any.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileTrace {
    pub name: String,
    pub rules: Vec<RuleTrace>,
    /// `allow`, `deny`, `pass` or `no-match`.
    pub outcome: &'static str,
}

fn verdict_str(allowed: bool) -> &'static str {
    if allowed {
        "allow"
    } else {
        "deny"
    }
}

fn outcome_str(a: Option<Action>) -> &'static str {
    match a {
        Some(Action::Allow) => "allow",
        Some(Action::Deny) => "deny",
        Some(Action::Pass) => "pass",
        Some(Action::Log) | None => "no-match",
    }
}

fn default_action_str(a: TierDefaultAction) -> &'static str {
    match a {
        TierDefaultAction::Deny => "Deny",
        TierDefaultAction::Pass => "Pass",
    }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn ports_text(p: &PortSet) -> String {
    let mut parts: Vec<String> = p.ranges.iter().map(ToString::to_string).collect();
    parts.extend(p.names.iter().map(ToString::to_string));
    parts.join(", ")
}

/// Explains a [`Miss`] in words.
fn explain(engine: &Engine, rule: &CompiledRule, miss: Miss, flow: &Flow) -> String {
    let side_of = |s: Side| -> (&CompiledSide, std::net::IpAddr, u16) {
        match s {
            Side::Source => (&rule.src, flow.src_ip, flow.src_port),
            Side::Destination => (&rule.dst, flow.dst_ip, flow.dst_port),
        }
    };
    match miss {
        Miss::Family => {
            let fam = if flow.src_ip.is_ipv6() {
                "IPv6"
            } else {
                "IPv4"
            };
            match rule.ip_version {
                Some(tabby_model::IpVersion::V4) if fam == "IPv6" => {
                    "flow is IPv6, rule has ipVersion 4".to_owned()
                }
                Some(tabby_model::IpVersion::V6) if fam == "IPv4" => {
                    "flow is IPv4, rule has ipVersion 6".to_owned()
                }
                _ => format!("rule has no {fam} nets, so it is not rendered for {fam}"),
            }
        }
        Miss::Protocol => format!(
            "protocol {} ≠ {}",
            flow.protocol,
            rule.protocol
                .map_or_else(String::new, |p| tabby_model::Protocol(p).to_string())
        ),
        Miss::NotProtocol => format!("protocol {} is excluded by notProtocol", flow.protocol),
        Miss::Icmp => {
            let want = rule.icmp.map_or_else(String::new, |m| match m.code {
                Some(c) => format!("type {} code {c}", m.icmp_type),
                None => format!("type {}", m.icmp_type),
            });
            match flow.icmp {
                Some((t, Some(c))) => format!("ICMP type {t} code {c} ≠ {want}"),
                Some((t, None)) => format!("ICMP type {t} (no code) ≠ {want}"),
                None => format!("flow has no ICMP type; rule needs {want}"),
            }
        }
        Miss::NotIcmp => "ICMP type/code excluded by notICMP".to_owned(),
        Miss::Nets(s) => {
            let (side, ip, _) = side_of(s);
            format!("{} {ip} not in nets {}", s.as_str(), list(&side.nets))
        }
        Miss::NotNets(s) => {
            let (side, ip, _) = side_of(s);
            format!("{} {ip} in notNets {}", s.as_str(), list(&side.not_nets))
        }
        Miss::Selector(s) => {
            let (side, ip, _) = side_of(s);
            let text = side.selector.map_or("", |id| engine.selectors().text(id));
            format!("{} {ip} not selected by `{text}`", s.as_str())
        }
        Miss::NotSelector(s) => {
            let (side, ip, _) = side_of(s);
            let text = side
                .not_selector
                .map_or("", |id| engine.selectors().text(id));
            format!("{} {ip} is selected by notSelector `{text}`", s.as_str())
        }
        Miss::Ports(s) => {
            let (side, ip, port) = side_of(s);
            if !flow.has_ports() {
                format!(
                    "protocol {} has no ports; rule needs {} ports {}",
                    flow.protocol,
                    s.as_str(),
                    ports_text(&side.ports)
                )
            } else if side.ports.names.is_empty() {
                format!(
                    "{} port {port} not in ports {}",
                    s.as_str(),
                    ports_text(&side.ports)
                )
            } else {
                format!(
                    "{} {ip} port {port} not in ports {} (named ports resolved to {} address/port pairs)",
                    s.as_str(),
                    ports_text(&side.ports),
                    side.ports.named.len()
                )
            }
        }
        Miss::NotPorts(s) => {
            let (side, _, port) = side_of(s);
            format!(
                "{} port {port} in notPorts {}",
                s.as_str(),
                ports_text(&side.not_ports)
            )
        }
        Miss::Services(s) => {
            let (side, ip, port) = side_of(s);
            let svc = side
                .services
                .as_ref()
                .map_or_else(String::new, |v| format!("{}/{}", v.namespace, v.name));
            match s {
                Side::Source => format!("source {ip} is not a backend of service `{svc}`"),
                Side::Destination => {
                    format!("destination {ip} port {port} is not a backend port of service `{svc}`")
                }
            }
        }
        Miss::Domains => match &flow.domain {
            Some(d) => format!("domain `{d}` not in domains {}", list(&rule.dst.domains)),
            None => format!(
                "flow has no domain; rule matches only domains {}",
                list(&rule.dst.domains)
            ),
        },
    }
}

/// What a trace says about host → local workload traffic.
const HOST_TO_LOCAL_WORKLOAD: &str =
    "traffic from a host to a workload on the same host is not policed by Calico (felix filterOutputChain)";

struct TraceRec<'a> {
    engine: &'a Engine,
    flow: &'a Flow,
    side: SideTrace,
    profile_mode: bool,
}

impl Recorder for TraceRec<'_> {
    fn failsafe(&mut self, hit: bool) {
        self.side.failsafe = Some(hit);
    }

    fn tier(&mut self, t: &ProgramTier) {
        self.profile_mode = false;
        self.side.tiers.push(TierTrace {
            tier: self
                .engine
                .tier(t.tier)
                .map_or_else(String::new, |i| i.name.to_string()),
            stage: t.stage.as_str(),
            default_action: default_action_str(t.default_action),
            policies: Vec::new(),
            end_of_tier: None,
        });
    }

    fn policy(&mut self, _id: PolicyId, p: &PolicyEntry) {
        if let Some(t) = self.side.tiers.last_mut() {
            t.policies.push(PolicyTrace {
                kind: p.policy.kind.as_str(),
                namespace: p.policy.namespace.as_ref().map(ToString::to_string),
                name: p.policy.name.to_string(),
                order: p.policy.order,
                staged: p.is_staged(),
                rules: Vec::new(),
                outcome: "no-match",
            });
        }
    }

    fn rule(&mut self, r: &CompiledRule, res: Result<(), Miss>) {
        let reason = match res {
            Ok(()) if r.action == Action::Log => "matched (Log: continue with the next rule)".to_owned(),
            Ok(()) if r.has_http => {
                "matched (its http match is only enforced by application-layer policy; at L4 it matches every request)".to_owned()
            }
            Ok(()) => "matched".to_owned(),
            Err(m) => explain(self.engine, r, m, self.flow),
        };
        let rt = RuleTrace {
            index: r.index,
            action: r.action.as_str(),
            matched: res.is_ok(),
            reason,
            name: r.name.as_ref().map(ToString::to_string),
        };
        if self.profile_mode {
            if let Some(p) = self.side.profiles.last_mut() {
                p.rules.push(rt);
            }
        } else if let Some(p) = self
            .side
            .tiers
            .last_mut()
            .and_then(|t| t.policies.last_mut())
        {
            p.rules.push(rt);
        }
    }

    fn policy_end(&mut self, outcome: Option<Action>) {
        if let Some(p) = self
            .side
            .tiers
            .last_mut()
            .and_then(|t| t.policies.last_mut())
        {
            p.outcome = outcome_str(outcome);
        }
    }

    fn tier_end(&mut self, end: Option<TierDefaultAction>) {
        if let Some(t) = self.side.tiers.last_mut() {
            t.end_of_tier = end.map(default_action_str);
        }
    }

    fn profile(&mut self, _id: ProfileId, p: &ProfileEntry) {
        self.profile_mode = true;
        self.side.profiles.push(ProfileTrace {
            name: p.name.to_string(),
            rules: Vec::new(),
            outcome: "no-match",
        });
    }

    fn profile_end(&mut self, outcome: Option<Action>) {
        if let Some(p) = self.side.profiles.last_mut() {
            p.outcome = outcome_str(outcome);
        }
    }
}

impl Engine {
    /// Felix's flow-log name of a policy: `<kind>:<ns>/<name>` or `<kind>:<name>`.
    fn flow_log_name(&self, id: PolicyId) -> Option<(String, String)> {
        let p = self.policy(id)?;
        let tier = self.tier(p.tier)?.name.to_string();
        let name = match &p.policy.namespace {
            Some(ns) => format!("{}:{ns}/{}", p.policy.kind.short_name(), p.policy.name),
            None => format!("{}:{}", p.policy.kind.short_name(), p.policy.name),
        };
        Some((tier, name))
    }

    /// The flow-log policy string of the hit that decided a side (calico-semantics §8.2),
    /// e.g. `0|default|gnp:allow-dns|allow|0`. `None` when no policy or profile decided.
    pub fn flow_log_policy(&self, v: &SideVerdict) -> Option<String> {
        match *v {
            SideVerdict::Rule {
                policy,
                rule,
                action,
                hits,
                ..
            } => {
                let (tier, name) = self.flow_log_name(policy)?;
                Some(format!(
                    "{hits}|{tier}|{name}|{}|{rule}",
                    action.as_str().to_ascii_lowercase()
                ))
            }
            SideVerdict::EndOfTier { policy, hits, .. } => {
                let (tier, name) = self.flow_log_name(policy)?;
                Some(format!("{hits}|{tier}|{name}|deny|-1"))
            }
            SideVerdict::Profile {
                profile,
                rule,
                action,
                hits,
            } => {
                let p = self.profile(profile)?;
                Some(format!(
                    "{hits}|__PROFILE__|pro:{}|{}|{rule}",
                    p.name,
                    action.as_str().to_ascii_lowercase()
                ))
            }
            _ => None,
        }
    }

    fn endpoint_info(
        &self,
        id: Option<crate::EndpointId>,
        ip: std::net::IpAddr,
    ) -> Option<EndpointInfo> {
        let ep = self.endpoint(id?)?;
        Some(EndpointInfo {
            kind: ep.kind.as_str(),
            name: ep.display_name(),
            ip: ip.to_string(),
            ip_assigned_by_tabby: ep.ip_assigned_by_tabby,
        })
    }

    fn trace_side(
        &self,
        ctx: &FlowCtx<'_>,
        dir: Direction,
        view: View,
        forced: Option<SideVerdict>,
    ) -> (SideVerdict, SideTrace) {
        let (owner, ip) = match dir {
            Direction::Egress => (ctx.src.owner, ctx.flow.src_ip),
            Direction::Ingress => (ctx.dst.owner, ctx.flow.dst_ip),
        };
        let mut rec = TraceRec {
            engine: self,
            flow: ctx.flow,
            side: SideTrace {
                direction: match dir {
                    Direction::Egress => "egress",
                    Direction::Ingress => "ingress",
                },
                view: match view {
                    View::Enforced => "enforced",
                    View::Pending => "pending",
                },
                endpoint: self.endpoint_info(owner, ip),
                verdict: "allow",
                decided_by: String::new(),
                failsafe: None,
                tiers: Vec::new(),
                profiles: Vec::new(),
                flow_log_policies: Vec::new(),
            },
            profile_mode: false,
        };
        let verdict = match forced {
            Some(v) => v,
            None => match self.side_programs(owner, dir) {
                None => SideVerdict::NotCalico,
                Some((e, p, _)) => {
                    let prog = if view == View::Enforced { e } else { p };
                    self.walk().run(prog, ctx, &mut rec)
                }
            },
        };
        let mut side = rec.side;
        side.verdict = verdict_str(verdict.allowed());
        side.decided_by = self.describe(&verdict);
        side.flow_log_policies = self.path_flow_logs(&side, &verdict);
        (verdict, side)
    }

    /// Flow-log strings for every hit on the path: Pass hits, end-of-tier passes, the decision.
    fn path_flow_logs(&self, side: &SideTrace, v: &SideVerdict) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        for t in &side.tiers {
            let pass = t.policies.iter().find(|p| p.outcome == "pass").map(|p| {
                (
                    p,
                    p.rules
                        .iter()
                        .rev()
                        .find(|r| r.matched && r.action == "Pass"),
                )
            });
            if let Some((p, r)) = pass {
                out.push(format!(
                    "{i}|{}|{}|pass|{}",
                    t.tier,
                    policy_log_name(p),
                    r.map_or(-1, |r| i64::from(r.index))
                ));
                i += 1;
            } else if t.end_of_tier == Some("Pass") && t.stage == "normal" {
                if let Some(p) = t.policies.first() {
                    out.push(format!("{i}|{}|{}|pass|-1", t.tier, policy_log_name(p)));
                    i += 1;
                }
            }
        }
        if let Some(s) = self.flow_log_policy(v) {
            out.push(s);
        }
        out
    }

    /// One line saying what decided a side.
    pub fn describe(&self, v: &SideVerdict) -> String {
        let pname = |id: PolicyId| {
            self.policy(id).map_or_else(String::new, |p| {
                format!("{} `{}`", p.policy.kind.as_str(), p.policy.display_name())
            })
        };
        let tname = |t: crate::TierIdx| {
            self.tier(t)
                .map_or_else(String::new, |t| t.name.to_string())
        };
        match *v {
            SideVerdict::NotCalico => "not a Calico endpoint: no policy on this side".to_owned(),
            SideVerdict::Failsafe => "host endpoint failsafe port".to_owned(),
            SideVerdict::Rule {
                stage,
                tier,
                policy,
                rule,
                action,
                ..
            } => {
                let stage = match stage {
                    crate::Stage::Normal => String::new(),
                    s => format!(" ({} stage)", s.as_str()),
                };
                format!(
                    "{action} by rule {rule} of {} in tier `{}`{stage}",
                    pname(policy),
                    tname(tier)
                )
            }
            SideVerdict::EndOfTier { tier, .. } => {
                format!(
                    "end of tier `{}`: no policy decided, tier default action Deny",
                    tname(tier)
                )
            }
            SideVerdict::Profile {
                profile,
                rule,
                action,
                ..
            } => format!(
                "{action} by rule {rule} of profile `{}`",
                self.profile(profile).map_or("", |p| &*p.name)
            ),
            SideVerdict::ProfilesExhausted { .. } => {
                "no tier decided and no profile rule allowed: drop".to_owned()
            }
            SideVerdict::EndpointToHost { allowed } => format!(
                "workload to its own host: DefaultEndpointToHostAction ({})",
                if allowed { "Accept" } else { "Drop" }
            ),
            SideVerdict::HostToLocalWorkload => HOST_TO_LOCAL_WORKLOAD.to_owned(),
        }
    }

    /// Decides the flow and explains every step.
    pub fn trace(&self, flow: &Flow) -> Trace {
        let ctx = self.flow_ctx(flow);
        let h2w = self.host_to_local_workload(&ctx);
        let (force_eg, force_in) = if h2w {
            (
                Some(SideVerdict::HostToLocalWorkload),
                Some(SideVerdict::HostToLocalWorkload),
            )
        } else {
            let etoh = self
                .endpoint_to_host(&ctx)
                .map(|allowed| SideVerdict::EndpointToHost { allowed });
            (None, etoh)
        };
        let (ev, egress) = self.trace_side(&ctx, Direction::Egress, View::Enforced, force_eg);
        let (iv, ingress) = self.trace_side(&ctx, Direction::Ingress, View::Enforced, force_in);
        let differs = |owner, dir| {
            self.side_programs(owner, dir)
                .is_some_and(|(_, _, same)| !same)
        };
        let eg_diff = force_eg.is_none() && differs(ctx.src.owner, Direction::Egress);
        let in_diff = force_in.is_none() && differs(ctx.dst.owner, Direction::Ingress);
        let (pev, pending_egress) = if eg_diff {
            let (v, t) = self.trace_side(&ctx, Direction::Egress, View::Pending, None);
            (v, Some(t))
        } else {
            (ev, None)
        };
        let (piv, pending_ingress) = if in_diff {
            let (v, t) = self.trace_side(&ctx, Direction::Ingress, View::Pending, None);
            (v, Some(t))
        } else {
            (iv, None)
        };
        let mut notes = Vec::new();
        for (owner, ip) in [(ctx.src.owner, flow.src_ip), (ctx.dst.owner, flow.dst_ip)] {
            if let Some(ep) = owner.and_then(|o| self.endpoint(o)) {
                if ep.ip_assigned_by_tabby {
                    notes.push(format!(
                        "`{}` had no address in the input; tabby assigned {ip}",
                        ep.display_name()
                    ));
                }
            }
        }
        if h2w {
            notes.push(format!(
                "{HOST_TO_LOCAL_WORKLOAD}; Felix's IPVS exception (policing host-to-workload traffic of IPVS connections) is not modelled"
            ));
        }
        if flow.src_ip.is_ipv6() != flow.dst_ip.is_ipv6() {
            notes.push("source and destination are of different IP families; rules were checked for the source's family".to_owned());
        }
        Trace {
            verdict: verdict_str(ev.allowed() && iv.allowed()),
            staged_verdict: verdict_str(pev.allowed() && piv.allowed()),
            flow: FlowInfo {
                src_ip: flow.src_ip.to_string(),
                dst_ip: flow.dst_ip.to_string(),
                protocol: flow.protocol.to_string(),
                src_port: flow.has_ports().then_some(flow.src_port),
                dst_port: flow.has_ports().then_some(flow.dst_port),
                icmp_type: flow.icmp.map(|(t, _)| t),
                icmp_code: flow.icmp.and_then(|(_, c)| c),
                domain: flow.domain.as_ref().map(ToString::to_string),
            },
            egress,
            ingress,
            pending: (pending_egress.is_some() || pending_ingress.is_some()).then_some(
                PendingTrace {
                    egress: pending_egress,
                    ingress: pending_ingress,
                },
            ),
            notes,
        }
    }
}

fn policy_log_name(p: &PolicyTrace) -> String {
    let short = kind_short(p.kind);
    match &p.namespace {
        Some(ns) => format!("{short}:{ns}/{}", p.name),
        None => format!("{short}:{}", p.name),
    }
}

fn kind_short(kind: &str) -> &'static str {
    use tabby_model::PolicyKind as K;
    [
        K::NetworkPolicy,
        K::GlobalNetworkPolicy,
        K::StagedNetworkPolicy,
        K::StagedGlobalNetworkPolicy,
        K::StagedKubernetesNetworkPolicy,
        K::KubernetesNetworkPolicy,
        K::KubernetesClusterNetworkPolicy,
        K::KubernetesAdminNetworkPolicy,
        K::KubernetesBaselineAdminNetworkPolicy,
    ]
    .into_iter()
    .find(|k| k.as_str() == kind)
    .map_or("?", |k| k.short_name())
}

impl Trace {
    /// The verdict of the enforced view.
    pub fn allowed(&self) -> bool {
        self.verdict == "allow"
    }

    /// Human-readable form, as `tabby trace` prints it.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let f = &self.flow;
        let port = |p: Option<u16>| p.map_or_else(String::new, |p| format!(":{p}"));
        let _ = write!(
            out,
            "flow: {} {}{} -> {}{}",
            f.protocol,
            f.src_ip,
            port(f.src_port),
            f.dst_ip,
            port(f.dst_port)
        );
        if let Some(t) = f.icmp_type {
            let _ = write!(out, " icmp type {t}");
            if let Some(c) = f.icmp_code {
                let _ = write!(out, " code {c}");
            }
        }
        if let Some(d) = &f.domain {
            let _ = write!(out, " (domain {d})");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "verdict: {}", self.verdict.to_uppercase());
        if self.staged_verdict != self.verdict {
            let _ = writeln!(
                out,
                "staged verdict: {} (if staged policies were enforced)",
                self.staged_verdict.to_uppercase()
            );
        }
        for s in [&self.egress, &self.ingress] {
            render_side(&mut out, s);
        }
        if let Some(p) = &self.pending {
            for s in [&p.egress, &p.ingress].into_iter().flatten() {
                render_side(&mut out, s);
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}

fn render_rules(out: &mut String, rules: &[RuleTrace], indent: &str) {
    for r in rules {
        let name = r
            .name
            .as_ref()
            .map_or_else(String::new, |n| format!(" `{n}`"));
        let _ = writeln!(
            out,
            "{indent}rule {}{name} {}: {}",
            r.index,
            r.action,
            if r.matched {
                r.reason.clone()
            } else {
                format!("no: {}", r.reason)
            }
        );
    }
}

fn render_side(out: &mut String, s: &SideTrace) {
    let at = s.endpoint.as_ref().map_or_else(
        || "a non-Calico address".to_owned(),
        |e| format!("{} `{}` ({})", e.kind, e.name, e.ip),
    );
    let view = if s.view == "pending" {
        " [pending view]"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\n{} at {at}{view}: {} — {}",
        s.direction,
        s.verdict.to_uppercase(),
        s.decided_by
    );
    if s.failsafe == Some(true) {
        let _ = writeln!(out, "  failsafe port matched");
    }
    for t in &s.tiers {
        let stage = if t.stage == "normal" {
            String::new()
        } else {
            format!(" [{}]", t.stage)
        };
        let _ = writeln!(
            out,
            "  tier `{}`{stage} (default action {})",
            t.tier, t.default_action
        );
        for p in &t.policies {
            let ns = p
                .namespace
                .as_ref()
                .map_or_else(String::new, |n| format!("{n}/"));
            let order = p.order.map_or_else(|| "none".to_owned(), |o| o.to_string());
            let staged = if p.staged { ", staged" } else { "" };
            let _ = writeln!(
                out,
                "    policy {} `{ns}{}` (order {order}{staged}): {}",
                p.kind, p.name, p.outcome
            );
            render_rules(out, &p.rules, "      ");
        }
        if let Some(a) = t.end_of_tier {
            let _ = writeln!(out, "    end of tier: {a}");
        }
    }
    for p in &s.profiles {
        let _ = writeln!(out, "  profile `{}`: {}", p.name, p.outcome);
        render_rules(out, &p.rules, "    ");
    }
    for l in &s.flow_log_policies {
        let _ = writeln!(out, "  flow log: {l}");
    }
}
