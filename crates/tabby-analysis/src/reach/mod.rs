//! Reachability: for every ordered pair of endpoints, what the policies allow.
//!
//! Exact, not sampled. Endpoints (and the address buckets of network sets and the
//! internet) are first grouped into classes that policy cannot tell apart
//! ([`classes`]); each class pair is analysed once with one representative pair,
//! and ports are split into the elementary intervals cut by every port any rule
//! of the two programs mentions, one decision per interval.

pub(crate) mod classes;
mod html;
mod render;
pub(crate) mod sides;

pub(crate) use render::{csv_field, markdown as render_markdown, table as render_table};

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use tabby_eval::{Decision, Engine, Flow, Program};
use tabby_model::{Direction, Protocol};

pub use classes::{Unit, UnitKind};

use crate::ports::{PortRanges, Summary};

/// Knobs of [`reach`].
#[derive(Debug, Clone, Default)]
pub struct ReachOptions {
    /// Analyse the pending view (staged policies as if enforced).
    pub staged: bool,
    /// Only this protocol and port (`--port 80/TCP`); [`reach_port`] sets it.
    pub only: Option<(Protocol, u16)>,
    /// Worker threads; 0 = available parallelism.
    pub threads: usize,
}

/// One output endpoint: a workload (`ns/name`), host endpoint (`host:NAME`),
/// network set (`netset:ns/name`, `gnetset:name`) or internet bucket (`internet`,
/// `internet:CIDR` for addresses some rule CIDR singles out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReachEndpoint {
    pub name: String,
    /// `workload`, `host-endpoint`, `network-set` or `internet`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The class (of its first unit): endpoints with the same group are treated alike.
    pub group: u32,
}

/// One allowed connection between two output endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Indices into [`Reach::endpoints`].
    pub from: u32,
    pub to: u32,
    pub allowed: Summary,
}

/// The result of [`reach`]: classes and class-pair results; expand to real
/// endpoints with [`Reach::connections`].
#[derive(Debug, Clone)]
pub struct Reach {
    pub endpoints: Vec<ReachEndpoint>,
    /// Analysis units (one per endpoint, several per network set or internet bucket).
    pub units: Vec<Unit>,
    /// Per class, its units.
    pub classes: Vec<Vec<u32>>,
    /// `(from class, to class, summary id)` for every class pair allowing something.
    pub class_pairs: Vec<(u32, u32, u32)>,
    /// Distinct summaries, indexed by the ids in `class_pairs`.
    pub summaries: Vec<Summary>,
    /// Host endpoint ↔ workload on the same node: decided per pair (Felix treats
    /// these specially), `(from unit, to unit) → allowed`.
    pub same_node: HashMap<(u32, u32), Summary>,
    /// The only protocol/port analysed, if any.
    pub only: Option<(Protocol, u16)>,
    pub staged: bool,
    /// Decisions made (for statistics).
    pub decisions: u64,
}

/// Port boundaries of one program, per ported protocol (ascending interval starts).
#[derive(Debug, Default, Clone)]
pub(crate) struct Bounds {
    pub(crate) per_proto: Vec<(u8, Vec<u16>)>,
}

/// Everything the pair analysis needs, built once.
pub(crate) struct Plan<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) staged: bool,
    only: Option<(Protocol, u16)>,
    pub(crate) ported: Vec<u8>,
    pub(crate) whole: Vec<u8>,
    pub(crate) bounds: HashMap<usize, Bounds>,
}

pub(crate) fn prog_key(p: &Program) -> usize {
    std::ptr::from_ref(p) as usize
}

impl<'a> Plan<'a> {
    pub(crate) fn new(engine: &'a Engine, opts: &ReachOptions) -> Plan<'a> {
        let mut extra: Vec<u8> = Vec::new();
        let known = [1u8, 6, 17, 58, 132];
        for p in engine.policies() {
            for r in p.ingress.iter().chain(&p.egress) {
                extra.extend(r.protocol.iter().chain(&r.not_protocol).copied());
            }
        }
        for p in engine.profiles() {
            for r in p.ingress.iter().chain(&p.egress) {
                extra.extend(r.protocol.iter().chain(&r.not_protocol).copied());
            }
        }
        extra.retain(|p| !known.contains(p) && *p != 0);
        extra.sort_unstable();
        extra.dedup();
        let ported = vec![6u8, 17, 132];
        let mut whole = vec![1u8, 58];
        whole.extend(extra);
        let mut named: HashMap<&str, Vec<(u8, u16)>> = HashMap::new();
        for ep in engine.endpoints() {
            for p in &ep.ports {
                named
                    .entry(&p.name)
                    .or_default()
                    .push((p.protocol.0, p.port));
            }
        }
        let mut bounds = HashMap::new();
        for ep in engine.endpoints() {
            for dir in [Direction::Ingress, Direction::Egress] {
                for view in [tabby_eval::View::Enforced, tabby_eval::View::Pending] {
                    if let Some(p) = engine.resolve(ep.id, dir, view) {
                        bounds
                            .entry(prog_key(p))
                            .or_insert_with(|| program_bounds(engine, p, &ported, &named));
                    }
                }
            }
        }
        Plan {
            engine,
            staged: opts.staged,
            only: opts.only,
            ported,
            whole,
            bounds,
        }
    }

    pub(crate) fn program(&self, u: &Unit, dir: Direction) -> Option<&'a Program> {
        let view = if self.staged {
            tabby_eval::View::Pending
        } else {
            tabby_eval::View::Enforced
        };
        self.engine.resolve(u.endpoint?, dir, view)
    }

    pub(crate) fn allowed(&self, d: &Decision) -> bool {
        if self.staged {
            d.staged_allowed
        } else {
            d.allowed
        }
    }

    /// The exact summary for one representative pair, and the decisions made.
    pub(crate) fn pair(&self, s: &Unit, d: &Unit) -> (Summary, u64) {
        let mut n = 0u64;
        let mut decide = |f: &Flow| {
            n += 1;
            self.allowed(&self.engine.decide(f))
        };
        if let Some((proto, port)) = self.only {
            let f = flow(s.ip, d.ip, proto.0, port);
            let ok = decide(&f);
            let mut r = PortRanges::default();
            if ok {
                if proto.has_ports() {
                    r.push(port, port);
                } else {
                    r = PortRanges::all();
                }
            }
            return (Summary::from_parts(vec![(proto.0, r)]), n);
        }
        let empty = Bounds::default();
        let bs = self
            .program(s, Direction::Egress)
            .and_then(|p| self.bounds.get(&prog_key(p)))
            .unwrap_or(&empty);
        let bd = self
            .program(d, Direction::Ingress)
            .and_then(|p| self.bounds.get(&prog_key(p)))
            .unwrap_or(&empty);
        let mut out = Vec::new();
        for &proto in &self.ported {
            let mut starts: Vec<u16> = vec![1];
            for b in [bs, bd] {
                if let Some((_, v)) = b.per_proto.iter().find(|(p, _)| *p == proto) {
                    starts.extend(v);
                }
            }
            starts.sort_unstable();
            starts.dedup();
            let mut ranges = PortRanges::default();
            for (i, &lo) in starts.iter().enumerate() {
                let hi = starts.get(i + 1).map_or(65535, |n| n.saturating_sub(1));
                if decide(&flow(s.ip, d.ip, proto, lo)) {
                    ranges.push(lo, hi);
                }
            }
            out.push((proto, ranges));
        }
        for &proto in &self.whole {
            let icmp = proto == 1 || proto == 58;
            if icmp && (proto == 58) != s.ip.is_ipv6() {
                continue;
            }
            if decide(&flow(s.ip, d.ip, proto, 0)) {
                out.push((proto, PortRanges::all()));
            }
        }
        (Summary::from_parts(out), n)
    }
}

/// A flow for one protocol: ported ones from ephemeral source port 49152, ICMP as
/// an echo request.
pub(crate) fn flow(src: IpAddr, dst: IpAddr, proto: u8, port: u16) -> Flow {
    match proto {
        1 => Flow::icmp(src, dst, 8, Some(0)),
        58 => Flow::icmp(src, dst, 128, Some(0)),
        p => {
            let mut f = Flow::new(src, dst, Protocol(p));
            if Protocol(p).has_ports() {
                f.dst_port = port;
                f.src_port = 49152;
            }
            f
        }
    }
}

fn add_range(v: &mut Vec<u16>, lo: u16, hi: u16) {
    v.push(lo.max(1));
    if hi < 65535 {
        v.push(hi + 1);
    }
}

fn program_bounds(
    engine: &Engine,
    prog: &Program,
    ported: &[u8],
    named: &HashMap<&str, Vec<(u8, u16)>>,
) -> Bounds {
    let dir = prog.direction;
    let mut per: Vec<(u8, Vec<u16>)> = ported.iter().map(|p| (*p, Vec::new())).collect();
    let mut add = |proto: Option<u8>, lo: u16, hi: u16| {
        for (p, v) in &mut per {
            if proto.is_none_or(|x| x == *p) {
                add_range(v, lo, hi);
            }
        }
    };
    let mut rules: Vec<&tabby_eval::CompiledRule> = Vec::new();
    for t in &prog.tiers {
        for id in &t.policies {
            if let Some(p) = engine.policy(*id) {
                rules.extend(p.rules(dir));
            }
        }
    }
    for id in &prog.profiles {
        if let Some(p) = engine.profile(*id) {
            rules.extend(p.rules(dir));
        }
    }
    for r in rules {
        for set in [&r.dst.ports, &r.dst.not_ports] {
            for pr in &set.ranges {
                add(r.protocol, pr.min, pr.max);
            }
            for name in &set.names {
                for &(p, port) in named.get(&**name).map_or(&[][..], Vec::as_slice) {
                    add(Some(p), port, port);
                }
            }
        }
        if let Some(svc) = &r.dst.services {
            for &(_, p, port) in &svc.addr_ports {
                add(Some(p), port, port);
            }
        }
    }
    if prog.failsafe {
        let fs = &engine.options().failsafes;
        for (p, port) in fs.inbound.iter().chain(&fs.outbound) {
            add(Some(p.0), *port, *port);
        }
    }
    for (_, v) in &mut per {
        v.sort_unstable();
        v.dedup();
    }
    Bounds { per_proto: per }
}

/// Reachability of every ordered pair of endpoints. See the module docs.
///
/// ```
/// use tabby_analysis::{reach, ReachOptions};
/// use tabby_eval::{gen, Engine, EngineOptions};
/// let c = gen::synthetic_cluster(20, 2, 5, 1);
/// let e = Engine::new(&c, EngineOptions::default());
/// let r = reach(&e, &ReachOptions::default());
/// assert!(r.endpoints.len() >= 20);
/// let json = r.to_json();
/// assert!(json.contains("\"connections\""));
/// ```
pub fn reach(engine: &Engine, opts: &ReachOptions) -> Reach {
    let (units, endpoints) = classes::units(&[engine]);
    let (class_of, classes) = classes::classify(&[engine], &units);
    let plan = Plan::new(engine, opts);
    let pairs = class_pairs(&units, &classes);
    let threads = thread_count(opts.threads);
    let decisions = std::sync::atomic::AtomicU64::new(0);
    let results: Vec<((u32, u32), std::sync::Arc<Summary>)> = if opts.only.is_some() {
        run_pairs(&pairs, threads, |a, b| {
            let (s, d) = classes::reps(&units, &classes, a, b)?;
            let (sum, n) = plan.pair(s, d);
            decisions.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            (!sum.is_empty()).then(|| std::sync::Arc::new(sum))
        })
    } else {
        let sides = sides::Sides::new(&plan, &units, &classes);
        run_pairs_with(&pairs, threads, sides::Cache::default, |cache, a, b| {
            let (s, d) = classes::reps(&units, &classes, a, b)?;
            let (sum, n) = sides.pair(cache, a, b, s, d);
            decisions.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            sum
        })
    };
    let mut decisions = decisions.into_inner();
    let mut summaries: Vec<Summary> = Vec::new();
    let mut by_ptr: HashMap<usize, u32> = HashMap::new();
    let mut ids: HashMap<Summary, u32> = HashMap::new();
    let mut class_pairs_out = Vec::with_capacity(results.len());
    // Every Arc stays alive until the loop ends, so equal pointers mean one summary.
    for ((a, b), sum) in &results {
        let (a, b) = (*a, *b);
        let ptr = std::sync::Arc::as_ptr(sum) as usize;
        let id = match by_ptr.get(&ptr) {
            Some(id) => *id,
            None => {
                let id = *ids.entry((**sum).clone()).or_insert_with_key(|k| {
                    summaries.push(k.clone());
                    (summaries.len() - 1) as u32
                });
                by_ptr.insert(ptr, id);
                id
            }
        };
        class_pairs_out.push((a, b, id));
    }
    let mut same_node = HashMap::new();
    for (s, d) in classes::same_node_pairs(&units) {
        if let (Some(su), Some(du)) = (units.get(s as usize), units.get(d as usize)) {
            let (sum, n) = plan.pair(su, du);
            decisions += n;
            same_node.insert((s, d), sum);
        }
    }
    let mut endpoints = endpoints;
    for (i, u) in units.iter().enumerate() {
        if let (Some(e), Some(c)) = (endpoints.get_mut(u.out as usize), class_of.get(i)) {
            if e.group == u32::MAX {
                e.group = *c;
            }
        }
    }
    Reach {
        endpoints,
        units,
        classes,
        class_pairs: class_pairs_out,
        summaries,
        same_node,
        only: opts.only,
        staged: opts.staged,
        decisions,
    }
}

/// The matrix for one protocol and port: which ordered pairs may connect.
///
/// ```
/// use tabby_analysis::{reach_port, ReachOptions};
/// use tabby_eval::{gen, Engine, EngineOptions};
/// use tabby_model::Protocol;
/// let c = gen::synthetic_cluster(20, 2, 5, 1);
/// let e = Engine::new(&c, EngineOptions::default());
/// let m = reach_port(&e, Protocol::TCP, 80, &ReachOptions::default());
/// assert_eq!(m.protocol, "TCP");
/// ```
pub fn reach_port(engine: &Engine, proto: Protocol, port: u16, opts: &ReachOptions) -> PortMatrix {
    let opts = ReachOptions {
        only: Some((proto, port)),
        ..opts.clone()
    };
    reach(engine, &opts).port_matrix(proto, port)
}

/// `{"port": .., "protocol": .., "allowed": [["ns/a", "ns/b"], ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortMatrix {
    pub port: u16,
    pub protocol: String,
    pub allowed: Vec<(String, String)>,
}

pub(crate) fn thread_count(n: usize) -> usize {
    if n > 0 {
        n
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// Every class pair worth analysing (same family, not a lone unit with itself).
pub(crate) fn class_pairs(units: &[Unit], classes: &[Vec<u32>]) -> Vec<(u32, u32)> {
    let fam = |c: &Vec<u32>| {
        c.first()
            .and_then(|u| units.get(*u as usize))
            .map(|u| u.ip.is_ipv6())
    };
    let mut out = Vec::new();
    for (a, ca) in classes.iter().enumerate() {
        for (b, cb) in classes.iter().enumerate() {
            if fam(ca) != fam(cb) {
                continue;
            }
            if a == b && ca.len() < 2 {
                continue;
            }
            out.push((a as u32, b as u32));
        }
    }
    out
}

/// Runs `f` over `pairs` on `threads` scoped threads; keeps the `Some` results
/// with their pair, in pair order.
pub(crate) fn run_pairs<T: Send>(
    pairs: &[(u32, u32)],
    threads: usize,
    f: impl Fn(u32, u32) -> Option<T> + Sync,
) -> Vec<((u32, u32), T)> {
    run_pairs_with(pairs, threads, || (), |(), a, b| f(a, b))
}

/// [`run_pairs`] with per-thread state made by `init` (caches).
pub(crate) fn run_pairs_with<S, T: Send>(
    pairs: &[(u32, u32)],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, u32, u32) -> Option<T> + Sync,
) -> Vec<((u32, u32), T)> {
    let chunk = pairs.len().div_ceil(threads.max(1)).max(1);
    let (f, init) = (&f, &init);
    std::thread::scope(|scope| {
        let handles: Vec<_> = pairs
            .chunks(chunk)
            .map(|c| {
                scope.spawn(move || {
                    let mut state = init();
                    c.iter()
                        .filter_map(|&(a, b)| Some(((a, b), f(&mut state, a, b)?)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

impl Reach {
    /// Every allowed connection between real output endpoints (network set and
    /// internet buckets merged), sorted by (from, to). Materialises every pair:
    /// on big clusters prefer [`Reach::for_each_connection`].
    pub fn connections(&self) -> Vec<Connection> {
        let mut out = Vec::new();
        self.for_each_connection(|from, to, allowed| {
            out.push(Connection {
                from,
                to,
                allowed: allowed.clone(),
            });
        });
        out
    }

    /// Calls `f(from, to, allowed)` for every allowed connection between real
    /// output endpoints, in (from, to) order, holding one source's row at a time.
    pub fn for_each_connection(&self, mut f: impl FnMut(u32, u32, &Summary)) {
        let n_out = self.endpoints.len();
        let mut by_src: Vec<Vec<(u32, u32)>> = vec![Vec::new(); self.classes.len()];
        for &(a, b, sid) in &self.class_pairs {
            if let Some(v) = by_src.get_mut(a as usize) {
                v.push((b, sid));
            }
        }
        let mut class_of = vec![u32::MAX; self.units.len()];
        for (c, members) in self.classes.iter().enumerate() {
            for &u in members {
                if let Some(x) = class_of.get_mut(u as usize) {
                    *x = c as u32;
                }
            }
        }
        let mut units_of: Vec<Vec<u32>> = vec![Vec::new(); n_out];
        for (i, u) in self.units.iter().enumerate() {
            if let Some(v) = units_of.get_mut(u.out as usize) {
                v.push(i as u32);
            }
        }
        let mut special: HashMap<u32, Vec<(u32, &Summary)>> = HashMap::new();
        for (&(s, d), sum) in &self.same_node {
            special.entry(s).or_default().push((d, sum));
        }
        let mut acc: Vec<Option<Cow<'_, Summary>>> = vec![None; n_out];
        let mut touched: Vec<u32> = Vec::new();
        for (o1, srcs) in units_of.iter().enumerate() {
            let o1 = o1 as u32;
            for &s in srcs {
                let sp = special.get(&s);
                let a = class_of.get(s as usize).copied().unwrap_or(u32::MAX);
                for &(b, sid) in by_src.get(a as usize).map_or(&[][..], Vec::as_slice) {
                    let Some(sum) = self.summaries.get(sid as usize) else {
                        continue;
                    };
                    for &d in self.classes.get(b as usize).map_or(&[][..], Vec::as_slice) {
                        if sp.is_some_and(|v| v.iter().any(|(x, _)| *x == d)) {
                            continue;
                        }
                        let Some(du) = self.units.get(d as usize) else {
                            continue;
                        };
                        if du.out != o1 {
                            add(&mut acc, &mut touched, du.out, sum);
                        }
                    }
                }
                for &(d, sum) in sp.map_or(&[][..], Vec::as_slice) {
                    if let Some(du) = self.units.get(d as usize) {
                        if du.out != o1 && !sum.is_empty() {
                            add(&mut acc, &mut touched, du.out, sum);
                        }
                    }
                }
            }
            touched.sort_unstable();
            for o2 in touched.drain(..) {
                if let Some(x) = acc.get_mut(o2 as usize).and_then(Option::take) {
                    if !x.is_empty() {
                        f(o1, o2, &x);
                    }
                }
            }
        }
    }

    /// Class-level connections (for grouped pictures): `(from class, to class, allowed)`.
    pub fn class_connections(&self) -> impl Iterator<Item = (u32, u32, &Summary)> {
        self.class_pairs
            .iter()
            .filter_map(|(a, b, s)| Some((*a, *b, self.summaries.get(*s as usize)?)))
    }

    /// The pairs allowing `proto`/`port`.
    pub fn port_matrix(&self, proto: Protocol, port: u16) -> PortMatrix {
        let mut allowed = Vec::new();
        self.for_each_connection(|from, to, sum| {
            if sum.allows(proto.0, port) {
                if let (Some(a), Some(b)) = (self.name(from), self.name(to)) {
                    allowed.push((a.to_owned(), b.to_owned()));
                }
            }
        });
        PortMatrix {
            port,
            protocol: proto.to_string(),
            allowed,
        }
    }

    /// The display name of an output endpoint.
    pub fn name(&self, i: u32) -> Option<&str> {
        self.endpoints.get(i as usize).map(|e| e.name.as_str())
    }
}

/// Adds `sum` to the row accumulator `acc` at `o2` (union when already set).
fn add<'a>(
    acc: &mut [Option<Cow<'a, Summary>>],
    touched: &mut Vec<u32>,
    o2: u32,
    sum: &'a Summary,
) {
    let Some(slot) = acc.get_mut(o2 as usize) else {
        return;
    };
    match slot {
        None => {
            *slot = Some(Cow::Borrowed(sum));
            touched.push(o2);
        }
        Some(x) => {
            if **x != *sum {
                *x = Cow::Owned(x.union(sum));
            }
        }
    }
}

/// Sorts raw (from, to, summary) triples and unions duplicates.
#[cfg(test)]
pub(crate) fn merge(mut raw: Vec<(u32, u32, &Summary)>) -> Vec<Connection> {
    raw.sort_by_key(|(a, b, _)| (*a, *b));
    let mut out: Vec<Connection> = Vec::new();
    for (a, b, s) in raw {
        match out.last_mut() {
            Some(last) if last.from == a && last.to == b => last.allowed = last.allowed.union(s),
            _ => out.push(Connection {
                from: a,
                to: b,
                allowed: s.clone(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tabby_eval::{gen, EngineOptions};

    /// Every unit pair analysed on its own, no classes: the reference.
    fn brute_force(engine: &Engine, opts: &ReachOptions) -> Vec<Connection> {
        let (units, _) = classes::units(&[engine]);
        let plan = Plan::new(engine, opts);
        let mut sums = Vec::new();
        for (i, s) in units.iter().enumerate() {
            for (j, d) in units.iter().enumerate() {
                if i == j || s.out == d.out || s.ip.is_ipv6() != d.ip.is_ipv6() {
                    continue;
                }
                let (sum, _) = plan.pair(s, d);
                if !sum.is_empty() {
                    sums.push((s.out, d.out, sum));
                }
            }
        }
        merge(sums.iter().map(|(a, b, s)| (*a, *b, s)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn grouping_equals_brute_force(
            pods in 2usize..60,
            namespaces in 1usize..4,
            policies in 0usize..25,
            seed in 0u64..1000,
            gnp in prop::sample::select(vec![5usize, 30]),
            staged in any::<bool>(),
        ) {
            let c = gen::synthetic_cluster_mix(pods, namespaces, policies, seed, gnp);
            let e = Engine::new(&c, EngineOptions::default());
            let opts = ReachOptions { staged, threads: 2, ..Default::default() };
            let r = reach(&e, &opts);
            prop_assert!(r.classes.len() <= r.units.len());
            prop_assert_eq!(r.connections(), brute_force(&e, &opts));
        }
    }

    #[test]
    fn classes_are_fewer_than_endpoints_at_scale() {
        let c = gen::synthetic_cluster(400, 4, 60, 3);
        let e = Engine::new(&c, EngineOptions::default());
        let r = reach(&e, &ReachOptions::default());
        assert!(
            r.classes.len() * 2 < r.units.len(),
            "{} classes",
            r.classes.len()
        );
        assert_eq!(r.connections(), brute_force(&e, &ReachOptions::default()));
    }
}
