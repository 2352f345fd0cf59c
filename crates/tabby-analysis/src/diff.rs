//! What a policy change does: connections added and removed between two engines
//! built from the same cluster with different policy sets.
//!
//! Units are classified with the keys of both engines at once (the joint
//! refinement), so each joint class pair is analysed once in each engine; only
//! the pairs whose summaries differ are expanded to endpoints.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::json;
use tabby_eval::{Engine, Flow, SideVerdict};

use crate::ports::{ports_text, proto_name, Summary};
use crate::reach::sides::{Cache, Sides};
use crate::reach::{class_pairs, classes, run_pairs_with, thread_count, Plan, ReachOptions, Unit};

/// Added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Removed,
}

/// One changed connection: the ports of one protocol between two endpoints that
/// changed for the same reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiffEntry {
    pub change: Change,
    pub from: String,
    pub to: String,
    pub protocol: String,
    pub ports: String,
    /// `egress`, `ingress` or `egress+ingress`: the side whose verdict changed
    /// (at the first port of each range).
    pub side: String,
    /// The policy responsible in the new policy set: the flow-log policy string of
    /// the deciding hit (`0|default|np:ns/name|deny|-1`), or a description.
    pub policy: String,
}

/// The result of [`diff`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub entries: Vec<DiffEntry>,
}

impl Diff {
    /// Nothing changed (the CLI exits 0).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn added(&self) -> impl Iterator<Item = &DiffEntry> {
        self.entries.iter().filter(|e| e.change == Change::Added)
    }

    pub fn removed(&self) -> impl Iterator<Item = &DiffEntry> {
        self.entries.iter().filter(|e| e.change == Change::Removed)
    }

    /// `{"added": [...], "removed": [...]}`, entries as in [`DiffEntry`].
    pub fn to_json(&self) -> String {
        let strip = |e: &DiffEntry| {
            json!({"from": e.from, "to": e.to, "protocol": e.protocol, "ports": e.ports,
                   "side": e.side, "policy": e.policy})
        };
        let v = json!({
            "added": self.added().map(strip).collect::<Vec<_>>(),
            "removed": self.removed().map(strip).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.entries
            .iter()
            .map(|e| {
                vec![
                    match e.change {
                        Change::Added => "+".to_owned(),
                        Change::Removed => "-".to_owned(),
                    },
                    e.from.clone(),
                    e.to.clone(),
                    e.protocol.clone(),
                    e.ports.clone(),
                    e.side.clone(),
                    e.policy.clone(),
                ]
            })
            .collect()
    }

    const HEADER: [&'static str; 7] = ["", "FROM", "TO", "PROTOCOL", "PORTS", "SIDE", "POLICY"];

    pub fn to_table(&self) -> String {
        crate::reach::render_table(&Self::HEADER, &self.rows())
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from("change,from,to,protocol,ports,side,policy\n");
        for e in &self.entries {
            let change = match e.change {
                Change::Added => "added",
                Change::Removed => "removed",
            };
            let cells: Vec<String> = [
                change,
                &e.from,
                &e.to,
                &e.protocol,
                &e.ports,
                &e.side,
                &e.policy,
            ]
            .iter()
            .map(|c| crate::reach::csv_field(c))
            .collect();
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        crate::reach::render_markdown(&Self::HEADER, &self.rows())
    }

    /// Graphviz: added edges green, removed edges red and dashed.
    pub fn to_dot(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from("digraph diff {\n  rankdir=LR;\n  node [shape=box];\n");
        for e in &self.entries {
            let style = match e.change {
                Change::Added => "color=green",
                Change::Removed => "color=red, style=dashed",
            };
            let label = if e.ports.is_empty() {
                e.protocol.clone()
            } else {
                format!("{} {}", e.protocol, e.ports)
            };
            let _ = writeln!(
                out,
                "  {} -> {} [label={}, {style}];",
                q(&e.from),
                q(&e.to),
                q(&label)
            );
        }
        out.push_str("}\n");
        out
    }
}

/// Connections added and removed going from `old` to `new` (two engines built
/// from the same cluster with different policy sets).
///
/// ```
/// use tabby_analysis::{diff, ReachOptions};
/// use tabby_eval::{gen, Engine, EngineOptions};
/// let c = gen::synthetic_cluster(20, 2, 5, 1);
/// let e = Engine::new(&c, EngineOptions::default());
/// assert!(diff(&e, &e, &ReachOptions::default()).is_empty());
/// ```
pub fn diff(old: &Engine, new: &Engine, opts: &ReachOptions) -> Diff {
    let (units, endpoints) = classes::units(&[old, new]);
    let (_, cls) = classes::classify(&[old, new], &units);
    let p_old = Plan::new(old, opts);
    let p_new = Plan::new(new, opts);
    let pairs = class_pairs(&units, &cls);
    let (s_old, s_new) = (
        Sides::new(&p_old, &units, &cls),
        Sides::new(&p_new, &units, &cls),
    );
    let changed = run_pairs_with(
        &pairs,
        thread_count(opts.threads),
        <(Cache, Cache)>::default,
        |(c_old, c_new), a, b| {
            let (s, d) = classes::reps(&units, &cls, a, b)?;
            let before = s_old.pair(c_old, a, b, s, d).0;
            let after = s_new.pair(c_new, a, b, s, d).0;
            (before.as_deref() != after.as_deref()).then_some(())
        },
    );
    let changed: HashMap<(u32, u32), ()> = changed.into_iter().collect();
    let mut out_pairs: BTreeSet<(u32, u32)> = BTreeSet::new();
    let special: HashMap<(u32, u32), ()> = classes::same_node_pairs(&units)
        .into_iter()
        .map(|p| (p, ()))
        .collect();
    for (a, b) in pairs.iter().filter(|p| changed.contains_key(p)) {
        let (Some(ca), Some(cb)) = (cls.get(*a as usize), cls.get(*b as usize)) else {
            continue;
        };
        for &s in ca {
            for &d in cb {
                if special.contains_key(&(s, d)) {
                    continue;
                }
                if let (Some(su), Some(du)) = (units.get(s as usize), units.get(d as usize)) {
                    if su.out != du.out {
                        out_pairs.insert((su.out, du.out));
                    }
                }
            }
        }
    }
    for &(s, d) in special.keys() {
        if let (Some(su), Some(du)) = (units.get(s as usize), units.get(d as usize)) {
            if p_old.pair(su, du).0 != p_new.pair(su, du).0 {
                out_pairs.insert((su.out, du.out));
            }
        }
    }
    let mut units_of: HashMap<u32, Vec<&Unit>> = HashMap::new();
    for u in &units {
        units_of.entry(u.out).or_default().push(u);
    }
    let none: Vec<&Unit> = Vec::new();
    let mut entries = Vec::new();
    for (o1, o2) in out_pairs {
        let us = units_of.get(&o1).unwrap_or(&none);
        let ud = units_of.get(&o2).unwrap_or(&none);
        let (mut so, mut sn) = (Summary::default(), Summary::default());
        for s in us {
            for d in ud {
                so = so.union(&p_old.pair(s, d).0);
                sn = sn.union(&p_new.pair(s, d).0);
            }
        }
        let (Some(from), Some(to)) = (endpoints.get(o1 as usize), endpoints.get(o2 as usize))
        else {
            continue;
        };
        for (change, delta) in [
            (Change::Removed, so.minus(&sn)),
            (Change::Added, sn.minus(&so)),
        ] {
            for (proto, ranges) in &delta.0 {
                let whole = ports_text(*proto, ranges).is_empty();
                let pieces: Vec<(u16, u16)> = if whole {
                    vec![(0, 0)]
                } else {
                    ranges.0.clone()
                };
                // One entry per responsible (side, policy), its ranges joined.
                let mut groups: Vec<((String, String), crate::ports::PortRanges)> = Vec::new();
                for (lo, hi) in pieces {
                    let who = blame(old, new, opts.staged, us, ud, *proto, lo);
                    match groups.iter_mut().find(|(w, _)| *w == who) {
                        Some((_, pr)) => pr.push(lo, hi),
                        None => {
                            let mut pr = crate::ports::PortRanges::default();
                            pr.push(lo, hi);
                            groups.push((who, pr));
                        }
                    }
                }
                for ((side, policy), pr) in groups {
                    entries.push(DiffEntry {
                        change,
                        from: from.name.clone(),
                        to: to.name.clone(),
                        protocol: proto_name(*proto),
                        ports: if whole { String::new() } else { pr.to_string() },
                        side,
                        policy,
                    });
                }
            }
        }
    }
    Diff { entries }
}

/// The side whose verdict changed at one port and the new engine's deciding hit.
fn blame(
    old: &Engine,
    new: &Engine,
    staged: bool,
    us: &[&Unit],
    ud: &[&Unit],
    proto: u8,
    port: u16,
) -> (String, String) {
    let pick = |d: &tabby_eval::Decision| {
        if staged {
            (d.staged_allowed, d.staged_egress, d.staged_ingress)
        } else {
            (d.allowed, d.egress, d.ingress)
        }
    };
    let name = |v: &SideVerdict| new.flow_log_policy(v).unwrap_or_else(|| new.describe(v));
    for s in us {
        for d in ud {
            let f: Flow = crate::reach::flow(s.ip, d.ip, proto, port);
            let (oa, oe, oi) = pick(&old.decide(&f));
            let (na, ne, ni) = pick(&new.decide(&f));
            if oa == na {
                continue;
            }
            let mut sides = Vec::new();
            let mut pols = Vec::new();
            if oe.allowed() != ne.allowed() {
                sides.push("egress");
                pols.push(name(&ne));
            }
            if oi.allowed() != ni.allowed() {
                sides.push("ingress");
                pols.push(name(&ni));
            }
            return (sides.join("+"), pols.join("; "));
        }
    }
    (String::new(), String::new())
}
