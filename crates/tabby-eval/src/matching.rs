//! Matching one compiled rule against a flow. Returns the first criterion that
//! fails as a small `Copy` value, so the fast path never allocates and the
//! traced path can explain itself with the same code.

use tabby_model::{IcmpMatch, IpVersion};

use crate::flow::{domain_matches, Flow};
use crate::ipindex::{IpIndex, PeerClass};
use crate::rules::{CompiledRule, CompiledSide};

/// `source` or `destination` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Source,
    Destination,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }
}

/// Why a rule did not match: the first failing criterion, in checking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The rule is not rendered for this IP family (`ipVersion`, or nets of the other family only).
    Family,
    Protocol,
    NotProtocol,
    Icmp,
    NotIcmp,
    Nets(Side),
    NotNets(Side),
    Selector(Side),
    NotSelector(Side),
    Ports(Side),
    NotPorts(Side),
    Services(Side),
    Domains,
}

/// A flow with its address classes looked up once.
#[derive(Debug, Clone, Copy)]
pub struct FlowCtx<'a> {
    pub flow: &'a Flow,
    pub v6: bool,
    pub src: PeerClass,
    pub dst: PeerClass,
    /// Selector bits of the source and destination classes.
    pub src_bits: &'a [u64],
    pub dst_bits: &'a [u64],
    /// What [`Quick::passes`] compares, prepared once per flow: [`Quick::V4`] or
    /// [`Quick::V6`], the protocol number, and the destination port (0 when the
    /// protocol has no ports, which no port range contains).
    pub family: u8,
    pub protocol: u8,
    pub dst_port: u16,
}

impl<'a> FlowCtx<'a> {
    pub fn new(
        flow: &'a Flow,
        src: PeerClass,
        dst: PeerClass,
        src_bits: &'a [u64],
        dst_bits: &'a [u64],
    ) -> Self {
        let v6 = is_v6(flow);
        Self {
            flow,
            v6,
            src,
            dst,
            src_bits,
            dst_bits,
            family: if v6 { Quick::V6 } else { Quick::V4 },
            protocol: flow.protocol.0,
            dst_port: if flow.has_ports() { flow.dst_port } else { 0 },
        }
    }
}

/// The cheap part of a rule checked first on the fast path: family, protocol,
/// the four selector bits and one destination port range. `slow` says the rule
/// has other criteria (nets, ports, ICMP, services, domains, notProtocol, or a
/// selector id too large for 16 bits) left to check in full. 15 bytes, so a
/// flattened rule op is 16 (four per cache line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Quick {
    /// SelIds below 65,535; [`Quick::NONE`] when absent (or too large: then the
    /// rule is slow and the full matcher tests the selector).
    pub src_sel: u16,
    pub src_not: u16,
    pub dst_sel: u16,
    pub dst_not: u16,
    /// The destination port range; `0..=65535` when the rule has none, and a
    /// flow without ports is tested as port 0, which a rule's range never holds.
    pub dst_lo: u16,
    pub dst_hi: u16,
    pub action: tabby_model::Action,
    /// 0 = any protocol.
    pub protocol: u8,
    /// [`Quick::V4`], [`Quick::V6`], [`Quick::SLOW`].
    pub flags: u8,
}

impl Quick {
    pub const NONE: u16 = u16::MAX;
    pub const V4: u8 = 1;
    pub const V6: u8 = 2;
    pub const SLOW: u8 = 4;

    pub fn of(r: &CompiledRule) -> Quick {
        let side_slow = |s: &CompiledSide, ports_ok: bool| {
            !s.nets.is_empty()
                || !s.not_nets.is_empty()
                || (!s.ports.is_empty() && !ports_ok)
                || !s.not_ports.is_empty()
                || s.services.is_some()
                || !s.domains.is_empty()
        };
        // One numeric destination range is common enough to check inline.
        let single = match (r.dst.ports.ranges.as_slice(), r.dst.ports.names.is_empty()) {
            ([one], true) if one.min > 0 => Some(*one),
            _ => None,
        };
        // A selector id that does not fit in 16 bits is left to the full matcher.
        let mut wide = false;
        let mut id = |s: Option<crate::selectors::SelId>| match s {
            None => Self::NONE,
            Some(s) => match u16::try_from(s.0) {
                Ok(v) if v != Self::NONE => v,
                _ => {
                    wide = true;
                    Self::NONE
                }
            },
        };
        let (src_sel, src_not) = (id(r.src.selector), id(r.src.not_selector));
        let (dst_sel, dst_not) = (id(r.dst.selector), id(r.dst.not_selector));
        // Protocol 0 never occurs in valid input; treat it as "slow" to stay exact.
        let slow = wide
            || r.protocol == Some(0)
            || r.not_protocol.is_some()
            || r.icmp.is_some()
            || r.not_icmp.is_some()
            || side_slow(&r.src, false)
            || side_slow(&r.dst, single.is_some());
        let flags = if r.v4 { Self::V4 } else { 0 }
            | if r.v6 { Self::V6 } else { 0 }
            | if slow { Self::SLOW } else { 0 };
        Quick {
            src_sel,
            src_not,
            dst_sel,
            dst_not,
            dst_lo: single.map_or(0, |p| p.min),
            dst_hi: single.map_or(u16::MAX, |p| p.max),
            action: r.action,
            protocol: r.protocol.unwrap_or(0),
            flags,
        }
    }

    /// Other criteria remain to be checked by the full matcher.
    #[inline]
    pub fn slow(&self) -> bool {
        self.flags & Self::SLOW != 0
    }

    /// The quick criteria hold. Without [`Quick::slow`], this is the whole rule.
    #[inline]
    pub fn passes(&self, ctx: &FlowCtx<'_>) -> bool {
        use crate::bitset::test_bit;
        let has = |bits: &[u64], s: u16| test_bit(bits, usize::from(s));
        // Family, protocol and port first: they reject most rules, and they are
        // combined without branches.
        let cheap = (self.flags & ctx.family != 0)
            & ((self.protocol == 0) | (self.protocol == ctx.protocol))
            & (self.dst_lo <= ctx.dst_port)
            & (ctx.dst_port <= self.dst_hi);
        cheap
            && (self.src_sel == Self::NONE || has(ctx.src_bits, self.src_sel))
            && (self.dst_sel == Self::NONE || has(ctx.dst_bits, self.dst_sel))
            && (self.src_not == Self::NONE || !has(ctx.src_bits, self.src_not))
            && (self.dst_not == Self::NONE || !has(ctx.dst_bits, self.dst_not))
    }
}

fn icmp_eq(m: &IcmpMatch, flow: &Flow) -> bool {
    match flow.icmp {
        Some((t, c)) => t == m.icmp_type && m.code.is_none_or(|want| Some(want) == c),
        None => false,
    }
}

#[inline]
fn match_side(
    side: &CompiledSide,
    which: Side,
    ctx: &FlowCtx<'_>,
    ipindex: &IpIndex,
) -> Result<(), Miss> {
    let (ip, class, port) = match which {
        Side::Source => (ctx.flow.src_ip, ctx.src.class, ctx.flow.src_port),
        Side::Destination => (ctx.flow.dst_ip, ctx.dst.class, ctx.flow.dst_port),
    };
    if !side.nets.is_empty() && !side.nets.iter().any(|n| n.contains(&ip)) {
        return Err(Miss::Nets(which));
    }
    if side.not_nets.iter().any(|n| n.contains(&ip)) {
        return Err(Miss::NotNets(which));
    }
    if let Some(sel) = side.selector {
        if !ipindex.class_has(class, sel) {
            return Err(Miss::Selector(which));
        }
    }
    if let Some(sel) = side.not_selector {
        if ipindex.class_has(class, sel) {
            return Err(Miss::NotSelector(which));
        }
    }
    let proto = ctx.flow.protocol.0;
    let has_ports = ctx.flow.has_ports();
    if !(side.ports.is_empty() || has_ports && side.ports.contains(ip, proto, port)) {
        return Err(Miss::Ports(which));
    }
    if !side.not_ports.is_empty() && has_ports && side.not_ports.contains(ip, proto, port) {
        return Err(Miss::NotPorts(which));
    }
    if let Some(svc) = &side.services {
        let ok = match which {
            Side::Source => svc.addrs.binary_search(&ip).is_ok(),
            Side::Destination => {
                has_ports && svc.addr_ports.binary_search(&(ip, proto, port)).is_ok()
            }
        };
        if !ok {
            return Err(Miss::Services(which));
        }
    }
    if !side.domains.is_empty() {
        let ok = ctx
            .flow
            .domain
            .as_deref()
            .is_some_and(|d| side.domains.iter().any(|p| domain_matches(p, d)));
        if !ok {
            return Err(Miss::Domains);
        }
    }
    Ok(())
}

/// Does `rule` match the flow? `Err` names the first failing criterion.
#[inline]
pub fn match_rule(rule: &CompiledRule, ctx: &FlowCtx<'_>, ipindex: &IpIndex) -> Result<(), Miss> {
    if !(if ctx.v6 { rule.v6 } else { rule.v4 }) {
        return Err(Miss::Family);
    }
    let proto = ctx.flow.protocol.0;
    if rule.protocol.is_some_and(|p| p != proto) {
        return Err(Miss::Protocol);
    }
    if rule.not_protocol == Some(proto) {
        return Err(Miss::NotProtocol);
    }
    if let Some(m) = &rule.icmp {
        if !icmp_eq(m, ctx.flow) {
            return Err(Miss::Icmp);
        }
    }
    if let Some(m) = &rule.not_icmp {
        if icmp_eq(m, ctx.flow) {
            return Err(Miss::NotIcmp);
        }
    }
    match_side(&rule.src, Side::Source, ctx, ipindex)?;
    match_side(&rule.dst, Side::Destination, ctx, ipindex)
}

/// The family of a flow as the rule filter sees it.
pub fn is_v6(flow: &Flow) -> bool {
    flow.ip_version() == IpVersion::V6
}

#[cfg(test)]
mod tests {
    use super::Quick;
    use crate::rules::{CompiledRule, CompiledSide};
    use crate::selectors::SelId;

    /// Selector ids that do not fit the quick header's 16 bits leave the
    /// selector to the full matcher (the rule becomes slow); small ones stay.
    #[test]
    fn wide_selector_ids_fall_back_to_the_full_matcher() {
        let rule = |src: u32, dst_not: u32| CompiledRule {
            index: 0,
            action: tabby_model::Action::Allow,
            ip_version: None,
            v4: true,
            v6: true,
            protocol: Some(6),
            not_protocol: None,
            icmp: None,
            not_icmp: None,
            src: CompiledSide {
                selector: Some(SelId(src)),
                ..CompiledSide::default()
            },
            dst: CompiledSide {
                not_selector: Some(SelId(dst_not)),
                ..CompiledSide::default()
            },
            has_http: false,
            name: None,
        };
        for (src, dst_not, slow) in [
            (3, 7, false),
            (65_534, 0, false),
            (65_535, 0, true),
            (70_000, 1, true),
            (1, 1 << 20, true),
        ] {
            let q = Quick::of(&rule(src, dst_not));
            assert_eq!(q.slow(), slow, "{src} {dst_not}");
            let want = |id: u32| u16::try_from(id).ok().filter(|v| *v != Quick::NONE);
            assert_eq!(want(src).unwrap_or(Quick::NONE), q.src_sel);
            assert_eq!(want(dst_not).unwrap_or(Quick::NONE), q.dst_not);
        }
    }
}
