//! Layer 3: maps any IP address to a *peer class*: the set of selectors (SelIds)
//! that some entity covering the address matches, plus the policy-target
//! endpoint that owns the address, if any.
//!
//! The address space is split at every endpoint address and network-set CIDR
//! boundary into disjoint intervals; each interval gets the union of the selector
//! rows of the entities covering it. A positive selector matches an address when
//! its bit is set (the address belongs to SOME matching entity); a `notSelector`
//! matches when its bit is clear (NO covering entity matches). Lookup is a binary
//! search; IPv4 and IPv6 have separate tables. Equal classes are shared.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::bitset::BitSet;
use crate::endpoints::{Endpoint, EndpointId};
use crate::selectors::{MatchIndex, SelId};

const NO_OWNER: u32 = u32::MAX;
/// Set on `owner` entries whose endpoint is a host endpoint, so `decide()` can
/// tell host traffic apart without touching the endpoint table.
const HOST_BIT: u32 = 1 << 31;

/// Interval table; IPv4 uses `u32` keys so the hot search touches a quarter of the memory.
#[derive(Debug, Clone, Default)]
struct Table<K> {
    /// Interval start addresses, ascending; `starts[0] == 0`.
    starts: Vec<K>,
    class: Vec<u32>,
    owner: Vec<u32>,
}

impl<K: Copy + Ord> Table<K> {
    #[inline]
    fn lookup(&self, addr: K) -> (u32, u32) {
        let i = self.starts.partition_point(|s| *s <= addr);
        let i = i.saturating_sub(1);
        (
            self.class.get(i).copied().unwrap_or(0),
            self.owner.get(i).copied().unwrap_or(NO_OWNER),
        )
    }
}

/// What an address is, as far as rule matching cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerClass {
    pub class: u32,
    pub owner: Option<EndpointId>,
    /// The owner is a host endpoint.
    pub owner_is_host: bool,
    /// The owner's program code starts per (direction, view) slot, `u32::MAX` when
    /// there is no owner (see [`IpIndex::attach_code`]).
    pub code: [u32; 4],
}

/// One slot of [`Exact4`]: everything `decide()` needs about an endpoint address
/// in one 16-byte, 16-aligned block (one cache line access). `code` indexes the
/// small, always-hot table of distinct code-start quadruples.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
struct Slot {
    addr: u32,
    /// `EMPTY` marks a free slot.
    class: u32,
    owner: u32,
    code: u32,
}

const FREE: Slot = Slot {
    addr: 0,
    class: EMPTY,
    owner: NO_OWNER,
    code: 0,
};

/// No program (not a policy target, or not attached yet).
pub const NO_CODE: u32 = u32::MAX;

/// Open-addressing table of single-address IPv4 intervals (endpoint addresses):
/// one probe instead of a binary search for the common case.
#[derive(Debug, Clone, Default)]
struct Exact4 {
    slots: Vec<Slot>,
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

impl Exact4 {
    fn build(t: &Table<u32>) -> Exact4 {
        let singles: Vec<(u32, u32, u32)> = t
            .starts
            .windows(2)
            .zip(t.class.iter().zip(&t.owner))
            .filter_map(|(w, (c, o))| match w {
                [a, b] if b.wrapping_sub(*a) == 1 && *o != NO_OWNER => Some((*a, *c, *o)),
                _ => None,
            })
            .collect();
        if singles.is_empty() {
            return Exact4::default();
        }
        // Load factor between 3/8 and 3/4.
        let mut size = singles.len().next_power_of_two();
        if singles.len() * 4 > size * 3 {
            size *= 2;
        }
        let bits = size.trailing_zeros().max(1);
        let mut slots = vec![FREE; 1usize << bits];
        let shift = 32 - bits;
        let mask = slots.len() - 1;
        for (addr, class, owner) in singles {
            let mut i = Self::hash(addr, shift);
            while slots.get(i).is_some_and(|s| s.class != EMPTY) {
                i = (i + 1) & mask;
            }
            if let Some(s) = slots.get_mut(i) {
                *s = Slot {
                    addr,
                    class,
                    owner,
                    code: 0,
                };
            }
        }
        Exact4 { slots, shift }
    }

    #[inline]
    fn hash(a: u32, shift: u32) -> usize {
        (a.wrapping_mul(0x9e37_79b1) >> shift) as usize
    }

    #[inline]
    fn get(&self, a: u32) -> Option<&Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::hash(a, self.shift);
        loop {
            let s = self.slots.get(i)?;
            if s.class == EMPTY {
                return None;
            }
            if s.addr == a {
                return Some(s);
            }
            i = (i + 1) & mask;
        }
    }
}

/// The address → peer class index.
#[derive(Debug, Clone, Default)]
pub struct IpIndex {
    /// Every class's selector bits, `stride` words each, in one allocation.
    class_words: Vec<u64>,
    stride: usize,
    exact4: Exact4,
    v4: Table<u32>,
    v6: Table<u128>,
    classes: Vec<BitSet>,
    /// Distinct code-start quadruples; entry 0 is "no code".
    code_groups: Vec<[u32; 4]>,
    /// Per endpoint: its entry in `code_groups`.
    owner_code: Vec<u32>,
}

fn range(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

impl IpIndex {
    pub fn build(endpoints: &[Endpoint], matches: &MatchIndex) -> Self {
        let mut idx = IpIndex {
            classes: vec![BitSet::default()],
            ..Default::default()
        };
        let mut class_of: HashMap<BitSet, u32> = HashMap::new();
        class_of.insert(BitSet::default(), 0);
        for v6 in [false, true] {
            let max: u128 = if v6 { u128::MAX } else { u128::from(u32::MAX) };
            // (position, is_start, entity, is_host_route)
            let mut events: Vec<(u128, bool, u32)> = Vec::new();
            for ep in endpoints {
                for net in &ep.nets {
                    if matches!(net, IpNet::V6(_)) != v6 {
                        continue;
                    }
                    let (lo, hi) = range(net);
                    events.push((lo, true, ep.id.0));
                    if hi < max {
                        events.push((hi + 1, false, ep.id.0));
                    }
                }
            }
            events.sort_unstable();
            let mut table: Table<u128> = Table {
                starts: vec![0],
                class: vec![0],
                owner: vec![NO_OWNER],
            };
            let mut active: Vec<u32> = Vec::new();
            let mut i = 0;
            while let Some(&(pos, _, _)) = events.get(i) {
                while let Some(&(p, start, ent)) = events.get(i) {
                    if p != pos {
                        break;
                    }
                    if start {
                        active.push(ent);
                    } else if let Some(k) = active.iter().position(|a| *a == ent) {
                        active.swap_remove(k);
                    }
                    i += 1;
                }
                let mut bits = BitSet::default();
                let mut owner = NO_OWNER;
                for &ent in &active {
                    if let Some(row) = matches.row(ent as usize) {
                        bits.union_with(row);
                    }
                    if let Some(ep) = endpoints.get(ent as usize) {
                        let host_route = ep
                            .nets
                            .iter()
                            .any(|n| n.prefix_len() == n.max_prefix_len() && range(n).0 == pos);
                        if ep.is_policy_target() && host_route && ent < owner & !HOST_BIT {
                            owner = ent;
                            if ep.kind == crate::endpoints::EndpointKind::Host {
                                owner |= HOST_BIT;
                            }
                        }
                    }
                }
                bits.normalize();
                let next = class_of.len() as u32;
                let class = *class_of.entry(bits.clone()).or_insert_with(|| {
                    idx.classes.push(bits);
                    next
                });
                if table.class.last() == Some(&class) && table.owner.last() == Some(&owner) {
                    continue;
                }
                if table.starts.last() == Some(&pos) {
                    // Replace the interval that starts here (only the initial [0, ..)).
                    if let (Some(c), Some(o)) = (table.class.last_mut(), table.owner.last_mut()) {
                        *c = class;
                        *o = owner;
                    }
                    continue;
                }
                table.starts.push(pos);
                table.class.push(class);
                table.owner.push(owner);
            }
            if v6 {
                idx.v6 = table;
            } else {
                idx.v4 = Table {
                    starts: table
                        .starts
                        .iter()
                        .map(|s| u32::try_from(*s).unwrap_or(u32::MAX))
                        .collect(),
                    class: table.class,
                    owner: table.owner,
                };
            }
        }
        idx.exact4 = Exact4::build(&idx.v4);
        idx.stride = idx
            .classes
            .iter()
            .map(|b| b.words().len())
            .max()
            .unwrap_or(0);
        idx.class_words = Vec::with_capacity(idx.stride * idx.classes.len());
        for b in &idx.classes {
            let w = b.words();
            idx.class_words.extend_from_slice(w);
            idx.class_words
                .extend(std::iter::repeat_n(0, idx.stride - w.len()));
        }
        idx
    }

    /// Records every endpoint's code starts (`u32::MAX`: none) next to its
    /// addresses, so `decide()` finds class, owner and program in one access.
    pub fn attach_code(&mut self, endpoint_code: &[[u32; 4]]) {
        let mut groups: HashMap<[u32; 4], u32> = HashMap::new();
        self.code_groups = vec![[NO_CODE; 4]];
        groups.insert([NO_CODE; 4], 0);
        self.owner_code = endpoint_code
            .iter()
            .map(|c| {
                let next = self.code_groups.len() as u32;
                *groups.entry(*c).or_insert_with(|| {
                    self.code_groups.push(*c);
                    next
                })
            })
            .collect();
        for s in &mut self.exact4.slots {
            if s.class != EMPTY {
                s.code = self
                    .owner_code
                    .get((s.owner & !HOST_BIT) as usize)
                    .copied()
                    .unwrap_or(0);
            }
        }
    }

    /// The class and owner of an address.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> PeerClass {
        let (class, owner, code) = match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                match self.exact4.get(a) {
                    Some(s) => (s.class, s.owner, Some(s.code)),
                    None => {
                        let (c, o) = self.v4.lookup(a);
                        (c, o, None)
                    }
                }
            }
            IpAddr::V6(a) => {
                let (c, o) = self.v6.lookup(u128::from(a));
                (c, o, None)
            }
        };
        let has_owner = owner != NO_OWNER;
        let group = match code {
            Some(c) => c,
            None if has_owner => self
                .owner_code
                .get((owner & !HOST_BIT) as usize)
                .copied()
                .unwrap_or(0),
            None => 0,
        };
        let code = self
            .code_groups
            .get(group as usize)
            .copied()
            .unwrap_or([NO_CODE; 4]);
        PeerClass {
            class,
            owner: has_owner.then_some(EndpointId(owner & !HOST_BIT)),
            owner_is_host: has_owner && owner & HOST_BIT != 0,
            code,
        }
    }

    /// Does some entity covering addresses of `class` match `sel`?
    #[inline]
    pub fn class_has(&self, class: u32, sel: SelId) -> bool {
        self.classes
            .get(class as usize)
            .is_some_and(|b| b.contains(sel.index()))
    }

    /// The selector bits of a class.
    #[inline]
    pub fn bits(&self, class: u32) -> &[u64] {
        let start = class as usize * self.stride;
        self.class_words
            .get(start..start + self.stride)
            .unwrap_or_default()
    }

    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    pub fn interval_count(&self) -> usize {
        self.v4.starts.len() + self.v6.starts.len()
    }
}
