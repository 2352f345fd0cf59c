//! Port interval sets and protocol names, as the outputs print them.

use tabby_model::Protocol;

/// A sorted list of disjoint, non-adjacent inclusive port ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRanges(pub Vec<(u16, u16)>);

impl PortRanges {
    /// Every port, `1-65535`.
    pub fn all() -> Self {
        Self(vec![(1, 65535)])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= port && port <= hi)
    }

    /// Appends a range; ranges must come in ascending order. Adjacent ranges merge.
    pub fn push(&mut self, lo: u16, hi: u16) {
        if let Some(last) = self.0.last_mut() {
            if u32::from(last.1) + 1 >= u32::from(lo) {
                last.1 = last.1.max(hi);
                return;
            }
        }
        self.0.push((lo, hi));
    }

    fn from_unsorted(mut v: Vec<(u16, u16)>) -> Self {
        v.sort_unstable();
        let mut out = Self::default();
        for (lo, hi) in v {
            out.push(lo, hi);
        }
        out
    }

    pub fn union(&self, other: &Self) -> Self {
        Self::from_unsorted(self.0.iter().chain(&other.0).copied().collect())
    }

    /// The ports in both.
    pub fn intersect(&self, other: &Self) -> Self {
        self.minus(&self.minus(other))
    }

    /// The ports in `self` and not in `other`.
    pub fn minus(&self, other: &Self) -> Self {
        let mut out = Self::default();
        for &(lo, hi) in &self.0 {
            let mut cur = u32::from(lo);
            let hi = u32::from(hi);
            for &(olo, ohi) in &other.0 {
                let (olo, ohi) = (u32::from(olo), u32::from(ohi));
                if ohi < cur || olo > hi {
                    continue;
                }
                if olo > cur {
                    push_u32(&mut out, cur, olo - 1);
                }
                cur = ohi + 1;
            }
            if cur <= hi {
                push_u32(&mut out, cur, hi);
            }
        }
        out
    }
}

fn push_u32(out: &mut PortRanges, lo: u32, hi: u32) {
    if let (Ok(lo), Ok(hi)) = (u16::try_from(lo), u16::try_from(hi)) {
        out.push(lo, hi);
    }
}

impl std::fmt::Display for PortRanges {
    /// `80,443,8000-8080`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, &(lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// What is allowed between two endpoints: per protocol, the ports. Protocols
/// without ports (ICMP, others) carry [`PortRanges::all`] when allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Summary(pub Vec<(u8, PortRanges)>);

impl Summary {
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, p)| p.is_empty())
    }

    pub fn get(&self, proto: u8) -> Option<&PortRanges> {
        self.0.iter().find(|(p, _)| *p == proto).map(|(_, r)| r)
    }

    /// Does the summary allow `port` (ignored for protocols without ports) over `proto`?
    pub fn allows(&self, proto: u8, port: u16) -> bool {
        self.get(proto).is_some_and(|r| {
            if Protocol(proto).has_ports() {
                r.contains(port)
            } else {
                !r.is_empty()
            }
        })
    }

    fn normalise(mut v: Vec<(u8, PortRanges)>) -> Self {
        v.retain(|(_, r)| !r.is_empty());
        v.sort_by_key(|(p, _)| proto_rank(*p));
        Self(v)
    }

    pub(crate) fn from_parts(v: Vec<(u8, PortRanges)>) -> Self {
        Self::normalise(v)
    }

    pub fn union(&self, other: &Self) -> Self {
        self.combine(other, PortRanges::union)
    }

    /// What both allow.
    pub fn intersect(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        for (p, r) in &self.0 {
            if let Some(o) = other.get(*p) {
                out.push((*p, r.intersect(o)));
            }
        }
        Self::normalise(out)
    }

    pub fn minus(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        for (p, r) in &self.0 {
            let rest = match other.get(*p) {
                Some(o) => r.minus(o),
                None => r.clone(),
            };
            out.push((*p, rest));
        }
        Self::normalise(out)
    }

    fn combine(&self, other: &Self, f: impl Fn(&PortRanges, &PortRanges) -> PortRanges) -> Self {
        let mut protos: Vec<u8> = self.0.iter().chain(&other.0).map(|(p, _)| *p).collect();
        protos.sort_unstable();
        protos.dedup();
        let empty = PortRanges::default();
        Self::normalise(
            protos
                .into_iter()
                .map(|p| {
                    (
                        p,
                        f(
                            self.get(p).unwrap_or(&empty),
                            other.get(p).unwrap_or(&empty),
                        ),
                    )
                })
                .collect(),
        )
    }

    /// `TCP 80,443; UDP 53; ICMP`.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|(p, r)| {
                let ports = ports_text(*p, r);
                if ports.is_empty() {
                    proto_name(*p)
                } else {
                    format!("{} {ports}", proto_name(*p))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The `ports` field of a connection: ranges for protocols with ports, empty otherwise.
pub fn ports_text(proto: u8, r: &PortRanges) -> String {
    if Protocol(proto).has_ports() {
        r.to_string()
    } else {
        String::new()
    }
}

/// `TCP`, `UDP`, `SCTP`, `ICMP`, `ICMPv6`, `UDPLite` or the number.
pub fn proto_name(p: u8) -> String {
    Protocol(p).to_string()
}

/// Output order: TCP, UDP, SCTP, ICMP, ICMPv6, then by number.
pub(crate) fn proto_rank(p: u8) -> u16 {
    match p {
        6 => 0,
        17 => 1,
        132 => 2,
        1 => 3,
        58 => 4,
        n => 5 + u16::from(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(v: &[(u16, u16)]) -> PortRanges {
        PortRanges::from_unsorted(v.to_vec())
    }

    #[test]
    fn display_and_merge() {
        for (input, want) in [
            (vec![(80, 80), (443, 443), (8000, 8080)], "80,443,8000-8080"),
            (vec![(1, 79), (80, 80), (81, 65535)], "1-65535"),
            (vec![(53, 53)], "53"),
            (vec![(10, 20), (15, 30)], "10-30"),
            (vec![], ""),
        ] {
            assert_eq!(pr(&input).to_string(), want);
        }
    }

    #[test]
    fn minus() {
        for (a, b, want) in [
            (vec![(1, 65535)], vec![(80, 80)], "1-79,81-65535"),
            (vec![(1, 100)], vec![(1, 100)], ""),
            (vec![(10, 20), (30, 40)], vec![(15, 35)], "10-14,36-40"),
            (vec![(10, 20)], vec![], "10-20"),
            (vec![(65535, 65535)], vec![(1, 65534)], "65535"),
        ] {
            assert_eq!(pr(&a).minus(&pr(&b)).to_string(), want, "{a:?} - {b:?}");
        }
    }

    #[test]
    fn summary_render() {
        let s = Summary::from_parts(vec![
            (1, PortRanges::all()),
            (17, pr(&[(53, 53)])),
            (6, pr(&[(80, 80)])),
            (132, PortRanges::default()),
        ]);
        assert_eq!(s.render(), "TCP 80; UDP 53; ICMP");
        assert!(s.allows(6, 80) && !s.allows(6, 81) && s.allows(1, 0));
    }
}
