//! The fast path of [`super::reach`]: each side analysed on its own and cached.
//!
//! `decide` evaluates the source's egress program and the destination's ingress
//! program independently (the Felix special cases are excluded by the choice of
//! representatives), and a pair is allowed exactly when both sides allow. The
//! egress verdict of class `a` towards a peer depends only on what of the peer
//! `a`'s egress program can see: which of its rules' selectors match the peer's
//! labels, the rule CIDRs containing the peer, the peer's network sets (which
//! decide selector matches for addresses outside endpoints), services and named
//! ports. That
//! projection takes few values per program, so side results are cached per
//! (class, projection of the peer) and a class pair costs one intersection.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ipnet::IpNet;
use tabby_eval::{Decision, Program, SideVerdict};
use tabby_model::{Direction, Name};

use super::{flow, prog_key, Plan, Unit};
use crate::ports::{PortRanges, Summary};

/// A fast hasher for small integer keys (std's SipHash dominates otherwise).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// What a program looks at in a peer: its rules' selectors and CIDRs.
type View = (Vec<tabby_eval::SelId>, Vec<IpNet>);

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;

/// Per-thread caches: side results by `(class, projection of the peer)` as ids
/// into `sums`, and pair results by `(egress id, ingress id)`.
#[derive(Default)]
pub(crate) struct Cache {
    egress: FxMap<(u32, u32), u32>,
    ingress: FxMap<(u32, u32), u32>,
    sums: Vec<Summary>,
    ids: HashMap<Summary, u32>,
    pairs: FxMap<(u32, u32), Option<Arc<Summary>>>,
}

impl Cache {
    fn intern(&mut self, s: Summary) -> u32 {
        if let Some(id) = self.ids.get(&s) {
            return *id;
        }
        self.sums.push(s.clone());
        let id = (self.sums.len() - 1) as u32;
        self.ids.insert(s, id);
        id
    }
}

pub(crate) struct Sides<'a> {
    plan: &'a Plan<'a>,
    /// Per class: index of its egress / ingress program (`u32::MAX`: none).
    eprog: Vec<u32>,
    iprog: Vec<u32>,
    programs: Vec<&'a Program>,
    /// Per program: the projection id of every class as seen by it.
    proj: Vec<std::sync::Arc<Vec<u32>>>,
}

const NONE: u32 = u32::MAX;

/// What of a peer a program can look at, beyond labels and CIDRs.
#[derive(Hash, PartialEq, Eq)]
struct Base {
    kind: super::UnitKind,
    v6: bool,
    netsets: Vec<u32>,
    services: Vec<(u32, u8, u16)>,
    ports: Vec<(Name, u8, u16)>,
}

impl<'a> Sides<'a> {
    pub(crate) fn new(plan: &'a Plan<'a>, units: &[Unit], classes: &[Vec<u32>]) -> Sides<'a> {
        let engine = plan.engine;
        let reps: Vec<Option<&Unit>> = classes
            .iter()
            .map(|c| c.first().and_then(|u| units.get(*u as usize)))
            .collect();
        // Programs.
        let mut prog_ids: HashMap<usize, u32> = HashMap::new();
        let mut programs: Vec<&'a Program> = Vec::new();
        let mut id_of = |p: Option<&'a Program>| match p {
            None => NONE,
            Some(p) => *prog_ids.entry(prog_key(p)).or_insert_with(|| {
                programs.push(p);
                (programs.len() - 1) as u32
            }),
        };
        let mut eprog = Vec::with_capacity(classes.len());
        let mut iprog = Vec::with_capacity(classes.len());
        for r in &reps {
            eprog.push(id_of(r.and_then(|u| plan.program(u, Direction::Egress))));
            iprog.push(id_of(r.and_then(|u| plan.program(u, Direction::Ingress))));
        }
        // Class bases.
        let netsets: Vec<&tabby_eval::Endpoint> = engine
            .endpoints()
            .iter()
            .filter(|e| e.kind == tabby_eval::EndpointKind::NetworkSet)
            .collect();
        let svcs = super::classes::services(&[engine]);
        let mut base_ids: HashMap<Base, u32> = HashMap::new();
        let mut base = Vec::with_capacity(classes.len());
        for r in &reps {
            let Some(u) = r else {
                base.push(NONE);
                continue;
            };
            let ip = u.ip;
            let mut b = Base {
                kind: u.kind,
                v6: ip.is_ipv6(),
                netsets: netsets
                    .iter()
                    .filter(|e| e.nets.iter().any(|n| n.contains(&ip)))
                    .map(|e| e.id.0)
                    .collect(),
                services: Vec::new(),
                ports: Vec::new(),
            };
            for (si, s) in svcs.iter().enumerate() {
                if s.addrs.binary_search(&ip).is_ok() {
                    b.services.push((si as u32, 0, 0));
                }
                for &(a, p, port) in &s.addr_ports {
                    if a == ip {
                        b.services.push((si as u32, p, port));
                    }
                }
            }
            if let Some(ep) = u.endpoint.and_then(|id| engine.endpoint(id)) {
                b.ports = ep
                    .ports
                    .iter()
                    .map(|p| (p.name.clone(), p.protocol.0, p.port))
                    .collect();
                b.ports.sort();
            }
            let n = base_ids.len() as u32;
            base.push(*base_ids.entry(b).or_insert(n));
        }
        // Projections, shared between programs that look at the same selectors and
        // CIDRs: (base, which of the program's selectors match, containing CIDRs).
        let table = engine.selectors();
        let mut matches: HashMap<tabby_eval::SelId, Vec<bool>> = HashMap::new();
        let mut by_view: HashMap<View, Arc<Vec<u32>>> = HashMap::new();
        let mut proj = Vec::with_capacity(programs.len());
        for p in &programs {
            let mut sels: BTreeSet<tabby_eval::SelId> = BTreeSet::new();
            let mut nets: BTreeSet<IpNet> = BTreeSet::new();
            for r in program_rules(plan, p) {
                for side in [&r.src, &r.dst] {
                    sels.extend([side.selector, side.not_selector].into_iter().flatten());
                    nets.extend(side.nets.iter().chain(&side.not_nets).copied());
                }
            }
            let view: View = (sels.into_iter().collect(), nets.into_iter().collect());
            if let Some(t) = by_view.get(&view) {
                proj.push(t.clone());
                continue;
            }
            for sel in &view.0 {
                matches.entry(*sel).or_insert_with(|| {
                    let parsed = table.get(*sel).and_then(|s| s.selector.as_ref());
                    reps.iter()
                        .map(|r| {
                            let labels = r
                                .and_then(|u| u.endpoint)
                                .and_then(|id| engine.endpoint(id))
                                .map(|ep| &ep.labels);
                            match (parsed, labels) {
                                (Some(s), Some(l)) => s.matches(l),
                                _ => false,
                            }
                        })
                        .collect()
                });
            }
            let mut ids: HashMap<(u32, Vec<bool>, Vec<u32>), u32> = HashMap::new();
            let mut t = Vec::with_capacity(classes.len());
            for (c, r) in reps.iter().enumerate() {
                let Some(u) = r else {
                    t.push(NONE);
                    continue;
                };
                let bits: Vec<bool> = view
                    .0
                    .iter()
                    .map(|sel| {
                        matches
                            .get(sel)
                            .and_then(|m| m.get(c))
                            .copied()
                            .unwrap_or(false)
                    })
                    .collect();
                let cs: Vec<u32> = view
                    .1
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.contains(&u.ip))
                    .map(|(i, _)| i as u32)
                    .collect();
                let b = base.get(c).copied().unwrap_or(NONE);
                let n = ids.len() as u32;
                t.push(*ids.entry((b, bits, cs)).or_insert(n));
            }
            let t = Arc::new(t);
            by_view.insert(view, t.clone());
            proj.push(t);
        }
        Sides {
            plan,
            eprog,
            iprog,
            programs,
            proj,
        }
    }

    /// The summary of class pair `(a, b)` with representatives `s`, `d`;
    /// `None` when nothing is allowed.
    pub(crate) fn pair(
        &self,
        cache: &mut Cache,
        a: u32,
        b: u32,
        s: &Unit,
        d: &Unit,
    ) -> (Option<Arc<Summary>>, u64) {
        let mut n = 0;
        // Side id; u32::MAX - 1 stands for "no program: everything".
        const ALL: u32 = u32::MAX - 1;
        let mut side = |cache: &mut Cache, dir: Direction, me: u32, peer: u32| -> u32 {
            let progs = match dir {
                Direction::Egress => &self.eprog,
                Direction::Ingress => &self.iprog,
            };
            let Some(pi) = progs.get(me as usize).copied().filter(|p| *p != NONE) else {
                return ALL;
            };
            let (Some(prog), Some(proj)) = (
                self.programs.get(pi as usize),
                self.proj
                    .get(pi as usize)
                    .and_then(|t| t.get(peer as usize))
                    .copied(),
            ) else {
                return ALL;
            };
            let map = match dir {
                Direction::Egress => &cache.egress,
                Direction::Ingress => &cache.ingress,
            };
            if let Some(hit) = map.get(&(me, proj)) {
                return *hit;
            }
            let (sum, k) = self.side(s, d, dir, prog);
            n += k;
            let id = cache.intern(sum);
            match dir {
                Direction::Egress => cache.egress.insert((me, proj), id),
                Direction::Ingress => cache.ingress.insert((me, proj), id),
            };
            id
        };
        let eg = side(cache, Direction::Egress, a, b);
        let ing = side(cache, Direction::Ingress, b, a);
        if let Some(hit) = cache.pairs.get(&(eg, ing)) {
            return (hit.clone(), n);
        }
        let get = |c: &Cache, id: u32| c.sums.get(id as usize).cloned();
        let sum = match (eg, ing) {
            (ALL, ALL) => self.everything(s.ip.is_ipv6()),
            (ALL, x) | (x, ALL) => get(cache, x).unwrap_or_default(),
            (e, i) => match (get(cache, e), get(cache, i)) {
                (Some(e), Some(i)) => e.intersect(&i),
                _ => Summary::default(),
            },
        };
        let out = (!sum.is_empty()).then(|| Arc::new(sum));
        cache.pairs.insert((eg, ing), out.clone());
        (out, n)
    }

    fn everything(&self, v6: bool) -> Summary {
        let mut out: Vec<(u8, PortRanges)> = self
            .plan
            .ported
            .iter()
            .map(|p| (*p, PortRanges::all()))
            .collect();
        for &p in &self.plan.whole {
            if (p == 1 && v6) || (p == 58 && !v6) {
                continue;
            }
            out.push((p, PortRanges::all()));
        }
        Summary::from_parts(out)
    }

    /// One side's allowed ports, split at that program's boundaries only.
    fn side(&self, s: &Unit, d: &Unit, dir: Direction, prog: &Program) -> (Summary, u64) {
        let plan = self.plan;
        let verdict = |dec: &Decision| -> SideVerdict {
            match (dir, plan.staged) {
                (Direction::Egress, false) => dec.egress,
                (Direction::Egress, true) => dec.staged_egress,
                (Direction::Ingress, false) => dec.ingress,
                (Direction::Ingress, true) => dec.staged_ingress,
            }
        };
        let mut n = 0u64;
        let mut ok = |proto: u8, port: u16| {
            n += 1;
            verdict(&plan.engine.decide(&flow(s.ip, d.ip, proto, port))).allowed()
        };
        let bounds = plan.bounds.get(&prog_key(prog));
        let mut out = Vec::new();
        for &proto in &plan.ported {
            let mut starts: Vec<u16> = vec![1];
            if let Some((_, v)) = bounds.and_then(|b| b.per_proto.iter().find(|(p, _)| *p == proto))
            {
                starts.extend(v);
            }
            starts.sort_unstable();
            starts.dedup();
            let mut ranges = PortRanges::default();
            for (i, &lo) in starts.iter().enumerate() {
                let hi = starts.get(i + 1).map_or(65535, |n| n.saturating_sub(1));
                if ok(proto, lo) {
                    ranges.push(lo, hi);
                }
            }
            out.push((proto, ranges));
        }
        for &proto in &plan.whole {
            if (proto == 1 && s.ip.is_ipv6()) || (proto == 58 && !s.ip.is_ipv6()) {
                continue;
            }
            if ok(proto, 0) {
                out.push((proto, PortRanges::all()));
            }
        }
        (Summary::from_parts(out), n)
    }
}

fn program_rules<'a>(
    plan: &'a Plan<'a>,
    prog: &'a Program,
) -> impl Iterator<Item = &'a tabby_eval::CompiledRule> {
    let e = plan.engine;
    let dir = prog.direction;
    prog.tiers
        .iter()
        .flat_map(|t| t.policies.iter())
        .filter_map(move |id| e.policy(*id))
        .flat_map(move |p| p.rules(dir).iter())
        .chain(
            prog.profiles
                .iter()
                .filter_map(move |id| e.profile(*id))
                .flat_map(move |p| p.rules(dir).iter()),
        )
}
