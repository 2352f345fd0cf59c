//! A replay's result as data: groups named by their deciding rule, sorted, with examples.

use std::fmt::Write as _;

use tabby_eval::{Engine, SideVerdict};
use tabby_flowlog::protocol_name;
use tabby_model::Action as RuleAction;

use crate::replay::{Example, Group, GroupKey, Side, Tally};
use crate::summary::endpoint_label;

/// The whole result (also the JSON output of `tabby replay`, docs/replay.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Records read and mapped.
    pub records: u64,
    /// Flows read and mapped (`num_flows` summed).
    pub flows: u64,
    /// Previously allowed and still allowed (records).
    pub still_allowed: u64,
    /// Previously denied and still denied (records).
    pub still_denied: u64,
    /// Previously allowed, now denied: records.
    pub newly_denied_records: u64,
    /// Previously allowed, now denied: flows.
    pub newly_denied_flows: u64,
    /// Previously denied, now allowed: records.
    pub newly_allowed_records: u64,
    /// Previously denied, now allowed: flows.
    pub newly_allowed_flows: u64,
    /// The breakage, by deciding rule, most flows first.
    pub newly_denied: Vec<GroupReport>,
    /// Newly allowed, by allowing rule, most flows first.
    pub newly_allowed: Vec<GroupReport>,
    /// Records that could not be evaluated.
    pub unmapped: Vec<GroupReport>,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupReport {
    /// `egress` or `ingress` (for unmapped groups: the side that could not be mapped).
    pub side: Side,
    /// The deciding rule as Felix writes policy hits, without the index:
    /// `<tier>|<kind>:<ns>/<name>|<action>|<rule>` (`-1` = end of tier), or a description.
    pub rule: String,
    /// The policy (`ns/name` or `name`), when a policy decided.
    pub policy: Option<String>,
    /// Records.
    pub records: u64,
    /// Flows.
    pub flows: u64,
    /// A few examples.
    pub examples: Vec<ExampleReport>,
}

/// One example record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExampleReport {
    /// Index of the file in the command line's `--flows` list.
    pub file: u32,
    /// Line in that file.
    pub line: u64,
    /// `src -> dst proto/port` as the log names the endpoints.
    pub flow: String,
    /// The addresses evaluated.
    pub src_ip: String,
    /// See `src_ip`.
    pub dst_ip: String,
    /// Which side reported the record.
    pub reporter: String,
}

fn action_str(a: RuleAction) -> &'static str {
    match a {
        RuleAction::Allow => "allow",
        RuleAction::Deny => "deny",
        RuleAction::Pass => "pass",
        RuleAction::Log => "log",
    }
}

/// Names a side verdict the way flow logs name policy hits (see [`GroupReport::rule`]).
pub fn describe(engine: &Engine, v: &SideVerdict) -> (String, Option<String>) {
    let policy = |id| {
        engine.policy(id).map(|p| {
            let e = &p.policy;
            let ns = e
                .namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default();
            let tier = engine
                .tier(p.tier)
                .map(|t| t.name.to_string())
                .unwrap_or_else(|| e.tier.to_string());
            (
                tier,
                format!("{}:{ns}{}", e.kind.short_name(), e.name),
                format!("{ns}{}", e.name),
            )
        })
    };
    match *v {
        SideVerdict::Rule {
            policy: id,
            rule,
            action,
            ..
        } => match policy(id) {
            Some((tier, hit, name)) => (
                format!("{tier}|{hit}|{}|{rule}", action_str(action)),
                Some(name),
            ),
            None => ("unknown policy".into(), None),
        },
        SideVerdict::EndOfTier { policy: id, .. } => match policy(id) {
            Some((tier, hit, name)) => (format!("{tier}|{hit}|deny|-1"), Some(name)),
            None => ("end of tier".into(), None),
        },
        SideVerdict::Profile {
            profile,
            rule,
            action,
            ..
        } => {
            let name = engine
                .profile(profile)
                .map(|p| p.name.to_string())
                .unwrap_or_default();
            (
                format!("__PROFILE__|pro:{name}|{}|{rule}", action_str(action)),
                Some(name),
            )
        }
        SideVerdict::ProfilesExhausted { .. } => {
            ("__PROFILE__|no profile allowed|deny|-1".into(), None)
        }
        SideVerdict::NotCalico => ("not a Calico endpoint".into(), None),
        SideVerdict::Failsafe => ("host endpoint failsafe".into(), None),
        SideVerdict::EndpointToHost { allowed } => (
            format!(
                "workload to its own host ({})",
                if allowed { "accept" } else { "drop" }
            ),
            None,
        ),
        SideVerdict::HostToLocalWorkload => ("host to local workload (not policed)".into(), None),
    }
}

fn example(e: &Example) -> ExampleReport {
    let r = &e.record;
    let mut flow = String::new();
    endpoint_label(&r.src, &mut flow);
    flow.push_str(" -> ");
    endpoint_label(&r.dst, &mut flow);
    let _ = write!(flow, " {}", protocol_name(r.protocol));
    if let Some(p) = r.dst_port {
        let _ = write!(flow, "/{p}");
    }
    ExampleReport {
        file: e.origin.file,
        line: e.origin.line,
        flow,
        src_ip: e.src_ip.to_string(),
        dst_ip: e.dst_ip.to_string(),
        reporter: r.reporter.as_str().into(),
    }
}

fn groups(
    engine: &Engine,
    map: &std::collections::HashMap<GroupKey, Group, crate::hash::FoldBuild>,
) -> Vec<GroupReport> {
    let mut v: Vec<GroupReport> = map
        .iter()
        .map(|((side, verdict), g)| {
            let (rule, policy) = describe(engine, verdict);
            GroupReport {
                side: *side,
                rule,
                policy,
                records: g.records,
                flows: g.flows,
                examples: g.examples.iter().map(example).collect(),
            }
        })
        .collect();
    v.sort_by(|a, b| {
        b.flows
            .cmp(&a.flows)
            .then_with(|| (a.side, &a.rule).cmp(&(b.side, &b.rule)))
    });
    v
}

impl Report {
    /// Builds the report of a merged tally; names come from `engine` (the new policy set).
    pub fn new(engine: &Engine, t: &Tally) -> Self {
        let mut unmapped: Vec<GroupReport> = t
            .unmapped
            .iter()
            .map(|((side, why), g)| GroupReport {
                side: *side,
                rule: why.describe().into(),
                policy: None,
                records: g.records,
                flows: g.flows,
                examples: g.examples.iter().map(example).collect(),
            })
            .collect();
        if t.mixed_family.records > 0 {
            unmapped.push(GroupReport {
                side: Side::Egress,
                rule: "source and destination of different IP families".into(),
                policy: None,
                records: t.mixed_family.records,
                flows: t.mixed_family.flows,
                examples: t.mixed_family.examples.iter().map(example).collect(),
            });
        }
        unmapped.sort_by(|a, b| {
            b.records
                .cmp(&a.records)
                .then_with(|| (a.side, &a.rule).cmp(&(b.side, &b.rule)))
        });
        Self {
            records: t.records,
            flows: t.flows,
            still_allowed: t.still_allowed.records,
            still_denied: t.still_denied.records,
            newly_denied_records: t.breakage_records(),
            newly_denied_flows: t.breakage_flows(),
            newly_allowed_records: t.newly_allowed.values().map(|g| g.records).sum(),
            newly_allowed_flows: t.newly_allowed.values().map(|g| g.flows).sum(),
            newly_denied: groups(engine, &t.newly_denied),
            newly_allowed: groups(engine, &t.newly_allowed),
            unmapped,
        }
    }
}
