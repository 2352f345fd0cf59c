//! Replaying records against an engine and counting what changes.

use std::collections::HashMap;
use std::net::IpAddr;

use tabby_eval::{Decision, Engine, Flow, SideVerdict};
use tabby_flowlog::{Action, FlowRecord, Reporter};
use tabby_model::{Direction, Protocol};

use crate::hash::FoldBuild;
use crate::map::{Directory, Mapper, Unmapped};

/// What to compare and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Judge the new policy set by its staged view (staged policies enforced): the audit mode.
    pub staged: bool,
    /// Evaluate both sides of every record, whoever reported it. By default a record
    /// reported by the source is judged by the source's egress policy and one reported by
    /// the destination by the destination's ingress policy, as Calico's two records of one
    /// connection each describe one side.
    pub whole_flow: bool,
    /// Examples kept per group.
    pub examples: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            staged: false,
            whole_flow: false,
            examples: 3,
        }
    }
}

/// Which side of a flow a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The source's egress policy.
    Egress,
    /// The destination's ingress policy.
    Ingress,
}

impl Side {
    /// The model direction.
    pub fn direction(self) -> Direction {
        match self {
            Side::Egress => Direction::Egress,
            Side::Ingress => Direction::Ingress,
        }
    }
}

/// A group key: the side and what decided it there (pass counts zeroed).
pub type GroupKey = (Side, SideVerdict);

/// Where a record was read: file index (as given to the run) and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Origin {
    /// Index of the file in the run's file list.
    pub file: u32,
    /// 1-based line.
    pub line: u64,
}

/// One example record of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Where it was read.
    pub origin: Origin,
    /// The record.
    pub record: FlowRecord,
    /// The addresses it was evaluated with.
    pub src_ip: IpAddr,
    /// See `src_ip`.
    pub dst_ip: IpAddr,
}

/// Counts (and a few examples) for one group of records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// Records.
    pub records: u64,
    /// Flows (`num_flows` summed).
    pub flows: u64,
    /// The first examples by file and line.
    pub examples: Vec<Example>,
}

impl Group {
    fn add(&mut self, rec: &FlowRecord, origin: Origin, ips: (IpAddr, IpAddr), keep: usize) {
        self.records += 1;
        self.flows += rec.num_flows;
        if keep == 0 {
            return;
        }
        if self.examples.len() < keep || self.examples.last().is_some_and(|e| e.origin > origin) {
            let pos = self.examples.partition_point(|e| e.origin < origin);
            self.examples.insert(
                pos,
                Example {
                    origin,
                    record: rec.clone(),
                    src_ip: ips.0,
                    dst_ip: ips.1,
                },
            );
            self.examples.truncate(keep);
        }
    }

    fn merge(&mut self, o: Group, keep: usize) {
        self.records += o.records;
        self.flows += o.flows;
        self.examples.extend(o.examples);
        self.examples.sort_by_key(|e| e.origin);
        self.examples.truncate(keep);
    }
}

/// What a replay found. Workers fill one each; [`Tally::merge`] adds them up.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Records evaluated (mapped).
    pub records: u64,
    /// Flows evaluated.
    pub flows: u64,
    /// Previously allowed, still allowed.
    pub still_allowed: Group,
    /// Previously denied, still denied.
    pub still_denied: Group,
    /// Previously allowed, now denied: the breakage, by the deciding rule.
    pub newly_denied: HashMap<GroupKey, Group, FoldBuild>,
    /// Previously denied, now allowed, by the allowing rule.
    pub newly_allowed: HashMap<GroupKey, Group, FoldBuild>,
    /// Records whose endpoints could not be mapped, by reason (source side first).
    pub unmapped: HashMap<(Side, Unmapped), Group, FoldBuild>,
    /// Records whose endpoints are of different IP families.
    pub mixed_family: Group,
}

impl Tally {
    /// Adds another worker's tally.
    pub fn merge(&mut self, o: Tally, keep: usize) {
        self.records += o.records;
        self.flows += o.flows;
        self.still_allowed.merge(o.still_allowed, keep);
        self.still_denied.merge(o.still_denied, keep);
        self.mixed_family.merge(o.mixed_family, keep);
        for (k, g) in o.newly_denied {
            self.newly_denied.entry(k).or_default().merge(g, keep);
        }
        for (k, g) in o.newly_allowed {
            self.newly_allowed.entry(k).or_default().merge(g, keep);
        }
        for (k, g) in o.unmapped {
            self.unmapped.entry(k).or_default().merge(g, keep);
        }
    }

    /// Records that were allowed and would now be denied.
    pub fn breakage_records(&self) -> u64 {
        self.newly_denied.values().map(|g| g.records).sum()
    }

    /// Flows (`num_flows`) that were allowed and would now be denied.
    pub fn breakage_flows(&self) -> u64 {
        self.newly_denied.values().map(|g| g.flows).sum()
    }
}

/// A bounded memo of decisions, keyed by the whole engine input ([`Flow`]): exact, since
/// `decide` is a pure function of the flow. Two generations of at most `cap` entries each:
/// when the current one is full it becomes the old one (the previous old one is dropped),
/// and hits in the old one move back. Memory: at most `2 × cap` entries.
#[derive(Debug)]
struct Memo {
    cap: usize,
    cur: HashMap<Flow, Decision, FoldBuild>,
    old: HashMap<Flow, Decision, FoldBuild>,
    lookups: u64,
    hits: u64,
}

impl Memo {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            cur: HashMap::default(),
            old: HashMap::default(),
            lookups: 0,
            hits: 0,
        }
    }

    fn decide(&mut self, engine: &Engine, flow: &Flow) -> Decision {
        if self.cap == 0 {
            return engine.decide(flow);
        }
        self.lookups += 1;
        if let Some(d) = self.cur.get(flow) {
            self.hits += 1;
            return *d;
        }
        let d = match self.old.get(flow) {
            Some(d) => {
                self.hits += 1;
                *d
            }
            None => engine.decide(flow),
        };
        if self.cur.len() >= self.cap {
            std::mem::swap(&mut self.cur, &mut self.old);
            self.cur.clear();
        }
        self.cur.insert(flow.clone(), d);
        d
    }
}

/// A policy set to replay against, with an optional baseline.
#[derive(Debug)]
pub struct Replayer<'e> {
    new: Directory<'e>,
    baseline: Option<Directory<'e>>,
    opts: ReplayOptions,
    memo: usize,
}

impl<'e> Replayer<'e> {
    /// Replays against `engine`, comparing with the recorded actions, or with `baseline`'s
    /// verdicts when given.
    pub fn new(engine: &'e Engine, baseline: Option<&'e Engine>, opts: ReplayOptions) -> Self {
        Self {
            new: Directory::new(engine),
            baseline: baseline.map(Directory::new),
            opts,
            memo: 0,
        }
    }

    /// Lets each worker remember up to `2 × entries` decisions per engine (0, the default:
    /// no memo). See [`Worker::memo_stats`].
    pub fn with_memo(mut self, entries: usize) -> Self {
        self.memo = entries;
        self
    }

    /// The options.
    pub fn options(&self) -> &ReplayOptions {
        &self.opts
    }

    /// The engine replayed against.
    pub fn engine(&self) -> &'e Engine {
        self.new.engine()
    }

    /// The baseline engine, if any.
    pub fn baseline(&self) -> Option<&'e Engine> {
        self.baseline.as_ref().map(Directory::engine)
    }

    /// A worker: holds its own lookup caches and tally.
    pub fn worker(&self) -> Worker<'_, 'e> {
        Worker {
            replayer: self,
            new: Mapper::new(&self.new),
            baseline: self.baseline.as_ref().map(Mapper::new),
            tally: Tally::default(),
            memo: Memo::new(self.memo),
            baseline_memo: Memo::new(self.memo),
        }
    }
}

/// Replays records one by one (one per thread).
#[derive(Debug)]
pub struct Worker<'r, 'e> {
    replayer: &'r Replayer<'e>,
    new: Mapper<'r, 'e>,
    baseline: Option<Mapper<'r, 'e>>,
    tally: Tally,
    memo: Memo,
    baseline_memo: Memo,
}

/// The flow a record stands for, with the given addresses (and the record's domain
/// when `domains`: the engine has rules that match on it).
pub fn flow_of(rec: &FlowRecord, src: IpAddr, dst: IpAddr, domains: bool) -> Flow {
    let protocol = Protocol(rec.protocol);
    let mut f = Flow::new(src, dst, protocol);
    if protocol.has_ports() {
        f.dst_port = rec.dst_port.unwrap_or(0);
        f.src_port = rec.src_port.unwrap_or(0);
    }
    // Attaching the domain allocates: only when some rule matches on domains.
    if domains {
        if let Some(d) = &rec.domain {
            f = f.with_domain(d);
        }
    }
    f
}

fn zero_hits(v: SideVerdict) -> SideVerdict {
    match v {
        SideVerdict::Rule {
            stage,
            tier,
            policy,
            rule,
            action,
            ..
        } => SideVerdict::Rule {
            stage,
            tier,
            policy,
            rule,
            action,
            hits: 0,
        },
        SideVerdict::EndOfTier { tier, policy, .. } => SideVerdict::EndOfTier {
            tier,
            policy,
            hits: 0,
        },
        SideVerdict::Profile {
            profile,
            rule,
            action,
            ..
        } => SideVerdict::Profile {
            profile,
            rule,
            action,
            hits: 0,
        },
        SideVerdict::ProfilesExhausted { .. } => SideVerdict::ProfilesExhausted { hits: 0 },
        other => other,
    }
}

/// The verdict that matters for a record: (allowed, side, what decided it there).
#[inline(always)]
fn judge(d: &Decision, reporter: Reporter, staged: bool, whole: bool) -> (bool, Side, SideVerdict) {
    let (eg, ing) = if staged {
        (d.staged_egress, d.staged_ingress)
    } else {
        (d.egress, d.ingress)
    };
    if whole {
        if !eg.allowed() {
            return (false, Side::Egress, eg);
        }
        if !ing.allowed() {
            return (false, Side::Ingress, ing);
        }
        // Both allow: name the side that is a Calico endpoint, preferring ingress.
        return if matches!(ing, SideVerdict::NotCalico) {
            (true, Side::Egress, eg)
        } else {
            (true, Side::Ingress, ing)
        };
    }
    match reporter {
        Reporter::Src => (eg.allowed(), Side::Egress, eg),
        Reporter::Dst => (ing.allowed(), Side::Ingress, ing),
    }
}

impl Worker<'_, '_> {
    /// Replays one record.
    pub fn record(&mut self, rec: &FlowRecord, origin: Origin) {
        let keep = self.replayer.opts.examples;
        let (src, dst) = match (self.new.map(&rec.src), self.new.map(&rec.dst)) {
            (Ok(s), Ok(d)) => (s, d),
            (Err(e), _) => {
                let unspecified = IpAddr::from([0, 0, 0, 0]);
                self.tally
                    .unmapped
                    .entry((Side::Egress, e))
                    .or_default()
                    .add(rec, origin, (unspecified, unspecified), keep);
                return;
            }
            (Ok(s), Err(e)) => {
                let unspecified = IpAddr::from([0, 0, 0, 0]);
                self.tally
                    .unmapped
                    .entry((Side::Ingress, e))
                    .or_default()
                    .add(rec, origin, (s, unspecified), keep);
                return;
            }
        };
        if src.is_ipv6() != dst.is_ipv6() {
            self.tally.mixed_family.add(rec, origin, (src, dst), keep);
            return;
        }
        let opts = self.replayer.opts;
        let d = self.memo.decide(
            self.replayer.new.engine(),
            &flow_of(rec, src, dst, self.replayer.new.uses_domains()),
        );
        let (now, side, why) = judge(&d, rec.reporter, opts.staged, opts.whole_flow);
        let before = match (&mut self.baseline, &self.replayer.baseline) {
            (Some(m), Some(dir)) => match (m.map(&rec.src), m.map(&rec.dst)) {
                (Ok(s), Ok(t)) => {
                    let flow = flow_of(rec, s, t, dir.uses_domains());
                    let bd = self.baseline_memo.decide(dir.engine(), &flow);
                    judge(&bd, rec.reporter, false, opts.whole_flow).0
                }
                // Not in the baseline's cluster: fall back to what was recorded.
                _ => rec.action == Action::Allow,
            },
            _ => rec.action == Action::Allow,
        };
        self.tally.records += 1;
        self.tally.flows += rec.num_flows;
        let ips = (src, dst);
        match (before, now) {
            (true, true) => self.tally.still_allowed.add(rec, origin, ips, 0),
            (false, false) => self.tally.still_denied.add(rec, origin, ips, 0),
            (true, false) => self
                .tally
                .newly_denied
                .entry((side, zero_hits(why)))
                .or_default()
                .add(rec, origin, ips, keep),
            (false, true) => self
                .tally
                .newly_allowed
                .entry((side, zero_hits(why)))
                .or_default()
                .add(rec, origin, ips, keep),
        }
    }

    /// Memo lookups and hits so far (both engines); `(0, 0)` without a memo.
    pub fn memo_stats(&self) -> (u64, u64) {
        (
            self.memo.lookups + self.baseline_memo.lookups,
            self.memo.hits + self.baseline_memo.hits,
        )
    }

    /// The worker's tally.
    pub fn finish(self) -> Tally {
        self.tally
    }
}
