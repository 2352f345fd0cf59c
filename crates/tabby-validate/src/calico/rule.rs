//! Rules and entity rules (`validateRule`, `validateEntityRule`, the rule CEL rules,
//! and the per-direction checks of `validateNetworkPolicySpec`).

use ipnet::IpNet;
use serde_json::Value;
use tabby_model::{
    Action, Direction, EntityRule, HttpMatch, HttpPath, IcmpMatch, IpVersion, Name, PortSpec,
    Protocol, Rule, ServiceAccountMatch, ServiceMatch,
};

use super::meta::check_annotations;
use super::walk::Obj;
use crate::codes;
use crate::ctx::{check_resource_name, At, CidrMode, Ctx};

/// Most rules per direction.
pub(crate) const MAX_RULES: usize = 1024;
/// Most entries in one `nets` / `notNets` list.
pub(crate) const MAX_NETS: usize = 256;
/// Most entries in one `ports` / `notPorts` list.
pub(crate) const MAX_PORTS: usize = 50;
/// Most HTTP methods or paths.
pub(crate) const MAX_HTTP_ITEMS: usize = 20;

const RULE_FIELDS: &[&str] = &[
    "action",
    "ipVersion",
    "protocol",
    "notProtocol",
    "icmp",
    "notICMP",
    "source",
    "destination",
    "http",
    "metadata",
];
const ENTITY_FIELDS: &[&str] = &[
    "nets",
    "notNets",
    "selector",
    "notSelector",
    "namespaceSelector",
    "ports",
    "notPorts",
    "serviceAccounts",
    "services",
    "domains",
];

/// Where a rule sits, which decides the checks that depend on its surroundings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleScope {
    pub dir: Direction,
    /// In a (staged) GlobalNetworkPolicy: `services` must name a namespace.
    pub global: bool,
    /// In a policy (not a profile): `services` side and `http` direction checks apply.
    pub policy: bool,
}

/// Checks the rules of one direction (`spec.ingress` or `spec.egress`).
pub(crate) fn check_rules(
    ctx: &mut Ctx,
    parent: &Obj<'_>,
    key: &str,
    scope: RuleScope,
) -> Option<Vec<Rule>> {
    let items = parent.list(ctx, key);
    let mut ok = true;
    if items.len() > MAX_RULES {
        ctx.error_at_key::<()>(
            codes::TOO_MANY,
            &parent.at(key),
            format!(
                "{}: {} rules, more than the limit of {MAX_RULES}",
                parent.at(key).field(),
                items.len()
            ),
            Some("split the rules over several policies".into()),
        );
        ok = false;
    }
    let mut rules = Vec::with_capacity(items.len());
    for (at, v) in items {
        match check_rule(ctx, at, v, scope) {
            Some(r) => rules.push(r),
            None => ok = false,
        }
    }
    ok.then_some(rules)
}

/// Checks one rule and lowers it.
pub(crate) fn check_rule(ctx: &mut Ctx, at: At<'_>, v: &Value, scope: RuleScope) -> Option<Rule> {
    let before = ctx.error_count();
    let r = Obj::new(ctx, at, Some(v));
    r.map?;
    r.known_fields(ctx, RULE_FIELDS);

    // action
    let action = match r.raw("action") {
        None => ctx.error(
            codes::ACTION_INVALID,
            &r.at,
            format!("{}: rule has no `action`", r.at.field()),
            Some("add `action: Allow`, `Deny`, `Log` or `Pass`".into()),
        ),
        Some(_) => match r.str(ctx, "action") {
            Some("Allow") => Some(Action::Allow),
            Some("Deny") => Some(Action::Deny),
            Some("Log") => Some(Action::Log),
            Some("Pass") => Some(Action::Pass),
            Some(other) => {
                let help = match tabby_diag::did_you_mean(other, Action::ALL) {
                    Some(m) => {
                        format!("did you mean `{m}`? actions are `Allow`, `Deny`, `Log` and `Pass`")
                    }
                    None => "use `Allow`, `Deny`, `Log` or `Pass`".to_owned(),
                };
                ctx.error(
                    codes::ACTION_INVALID,
                    &r.at("action"),
                    format!("{}: unknown action `{other}`", r.at("action").field()),
                    Some(help),
                )
            }
            None => None,
        },
    };

    // ipVersion
    let ip_version = match r.raw("ipVersion") {
        None => None,
        Some(Value::Number(n)) if n.as_i64() == Some(4) => Some(IpVersion::V4),
        Some(Value::Number(n)) if n.as_i64() == Some(6) => Some(IpVersion::V6),
        Some(other) => ctx.error(
            codes::IP_VERSION,
            &r.at("ipVersion"),
            format!(
                "{}: `{other}` is not an IP version",
                r.at("ipVersion").field()
            ),
            Some("use `4` or `6`".into()),
        ),
    };

    // protocol, notProtocol
    let protocol = r
        .raw("protocol")
        .and_then(|v| ctx.protocol(codes::PROTOCOL_INVALID, &r.at("protocol"), v));
    let not_protocol = r
        .raw("notProtocol")
        .and_then(|v| ctx.protocol(codes::PROTOCOL_INVALID, &r.at("notProtocol"), v));

    // ipVersion against ICMP / ICMPv6 (protocol or notProtocol)
    for (key, p) in [("protocol", protocol), ("notProtocol", not_protocol)] {
        let want = match p {
            Some(Protocol::ICMP) => IpVersion::V4,
            Some(Protocol::ICMPV6) => IpVersion::V6,
            _ => continue,
        };
        if let Some(v) = ip_version {
            if v != want {
                let (n, name) = if want == IpVersion::V4 {
                    (4, "ICMP")
                } else {
                    (6, "ICMPv6")
                };
                ctx.error::<()>(
                    codes::IP_VERSION,
                    &r.at("ipVersion"),
                    format!(
                        "{}: {key} `{name}` needs `ipVersion: {n}`",
                        r.at("ipVersion").field()
                    ),
                    Some(format!(
                        "set `ipVersion: {n}`, remove `ipVersion`, or use `{}`",
                        if want == IpVersion::V4 {
                            "ICMPv6"
                        } else {
                            "ICMP"
                        }
                    )),
                );
            }
        }
    }

    // icmp, notICMP
    let icmp = check_icmp(ctx, &r, "icmp");
    let not_icmp = check_icmp(ctx, &r, "notICMP");
    if r.has("icmp") && !matches!(protocol, Some(Protocol::ICMP | Protocol::ICMPV6)) {
        ctx.error::<()>(
            codes::ICMP_INVALID,
            &r.at("icmp"),
            format!(
                "{}: an ICMP match needs `protocol: ICMP` or `protocol: ICMPv6`",
                r.at("icmp").field()
            ),
            Some("add `protocol: ICMP` (or `ICMPv6`) to the rule".into()),
        );
    }

    // source, destination
    let src = check_entity(ctx, &r, "source", scope);
    let dst = check_entity(ctx, &r, "destination", scope);

    if let (Some(src), Some(dst)) = (&src, &dst) {
        check_ports_protocol(ctx, protocol, &[src, dst]);
        check_families(ctx, ip_version, &[src, dst]);
        check_services_placement(ctx, scope, src, dst);
    }

    // http
    let http = check_http(ctx, &r, scope, action, protocol);

    // metadata.annotations
    let annotations = if r.has("metadata") {
        let md = r.obj(ctx, "metadata");
        md.known_fields(ctx, &["annotations"]);
        check_annotations(ctx, &md, "annotations").0
    } else {
        tabby_model::LabelMap::new()
    };

    if ctx.error_count() > before {
        return None;
    }
    Some(Rule {
        action: action?,
        ip_version,
        protocol,
        not_protocol,
        icmp,
        not_icmp,
        source: src?.lowered,
        destination: dst?.lowered,
        http,
        annotations,
        loc: Some(r.at.loc()),
    })
}

fn check_icmp(ctx: &mut Ctx, r: &Obj<'_>, key: &str) -> Option<IcmpMatch> {
    r.raw(key)?;
    let o = r.obj(ctx, key);
    o.map?;
    o.known_fields(ctx, &["type", "code"]);
    let mut bounded = |k: &str, max: i64| -> Option<Option<u8>> {
        let Some(n) = o.i64(ctx, k) else {
            return Some(None).filter(|_| !o.has(k));
        };
        if (0..=max).contains(&n) {
            u8::try_from(n).ok().map(Some)
        } else {
            ctx.error(
                codes::ICMP_INVALID,
                &o.at(k),
                format!("{}: ICMP {k} `{n}` is out of range", o.at(k).field()),
                Some(format!("use a value from 0 to {max}")),
            )
        }
    };
    let ty = bounded("type", 254)?;
    let code = bounded("code", 255)?;
    match (ty, code) {
        (Some(t), c) => Some(IcmpMatch {
            icmp_type: t,
            code: c,
        }),
        (None, Some(_)) => ctx.error(
            codes::ICMP_INVALID,
            &o.at("code"),
            format!("{}: an ICMP code needs an ICMP type", o.at("code").field()),
            Some("add `type` (for example `type: 3` with `code: 4`)".into()),
        ),
        // An empty match (`icmp: {}`) restricts nothing, as in Calico.
        (None, None) => None,
    }
}

/// One network of a rule: where it is, as written, as parsed.
type NetEntry<'a> = (At<'a>, &'a str, IpNet);

/// An entity rule as checked, with the locations later cross-field checks need.
struct Entity<'a> {
    obj: Obj<'a>,
    side: &'static str,
    lowered: EntityRule,
    /// Each port entry: its location and value, per list (`ports`, `notPorts`).
    ports: Vec<(&'static str, Vec<(At<'a>, PortSpec)>)>,
    /// Each net: list name, location, text, value.
    nets: Vec<(&'static str, Vec<NetEntry<'a>>)>,
}

fn check_entity<'a>(
    ctx: &mut Ctx,
    r: &Obj<'a>,
    side: &'static str,
    scope: RuleScope,
) -> Option<Entity<'a>> {
    let before = ctx.error_count();
    let e = r.obj(ctx, side);
    e.known_fields(ctx, ENTITY_FIELDS);
    let mut out = EntityRule::default();

    // nets, notNets
    let mut nets = Vec::new();
    for key in ["nets", "notNets"] {
        let items = e.str_list(ctx, key);
        if items.len() > MAX_NETS {
            ctx.error_at_key::<()>(
                codes::TOO_MANY,
                &e.at(key),
                format!(
                    "{}: {} networks, more than the limit of {MAX_NETS}",
                    e.at(key).field(),
                    items.len()
                ),
                Some("put the networks in a NetworkSet and match it with a selector".into()),
            );
        }
        let mut parsed = Vec::new();
        for (at, s) in items {
            if let Some(n) = ctx.cidr(codes::CIDR_INVALID, &at, s, CidrMode::Strict) {
                if key == "notNets" && is_catch_all(s, n) {
                    ctx.error::<()>(
                        codes::NOT_NETS_CATCH_ALL,
                        &at,
                        format!("{}: `{s}` in `notNets` excludes every address, so the rule matches nothing", at.field()),
                        Some("remove the rule, or remove this network from `notNets`".into()),
                    );
                    continue;
                }
                parsed.push((at, s, n));
            }
        }
        let list: Vec<IpNet> = parsed.iter().map(|(_, _, n)| *n).collect();
        if key == "nets" {
            out.nets = list;
        } else {
            out.not_nets = list;
        }
        nets.push((if key == "nets" { "nets" } else { "notNets" }, parsed));
    }

    // selectors
    if let Some(s) = e.str(ctx, "selector") {
        if !s.is_empty() {
            out.selector = ctx.selector_checked(&e.at("selector"), s, false);
        }
    }
    if let Some(s) = e.str(ctx, "notSelector") {
        if !s.is_empty() {
            // Calico rejects `global()` only in `selector` (and outside `namespaceSelector`).
            out.not_selector = ctx.selector_checked(&e.at("notSelector"), s, true);
        }
    }
    if let Some(s) = e.str(ctx, "namespaceSelector") {
        if !s.is_empty() {
            let at = e.at("namespaceSelector");
            if s.contains("global(") && !is_only_global(s) {
                ctx.error::<()>(
                    codes::GLOBAL_SELECTOR,
                    &at,
                    format!("{}: `global()` cannot be combined with other selectors", at.field()),
                    Some("write `namespaceSelector: global()` alone, and put other label matches in `selector`".into()),
                );
            } else {
                out.namespace_selector = ctx.selector_checked(&at, s, true);
            }
        }
    }

    // ports, notPorts
    let mut ports = Vec::new();
    for key in ["ports", "notPorts"] {
        let items = e.list(ctx, key);
        if items.len() > MAX_PORTS {
            ctx.error_at_key::<()>(
                codes::TOO_MANY,
                &e.at(key),
                format!(
                    "{}: {} ports, more than the limit of {MAX_PORTS}",
                    e.at(key).field(),
                    items.len()
                ),
                Some("use port ranges (`8000:8080`) to shorten the list".into()),
            );
        }
        let mut parsed = Vec::new();
        for (at, v) in items {
            if let Some(p) = ctx.port(codes::PORT_INVALID, &at, v) {
                parsed.push((at, p));
            }
        }
        let list: Vec<PortSpec> = parsed.iter().map(|(_, p)| p.clone()).collect();
        if key == "ports" {
            out.ports = list;
        } else {
            out.not_ports = list;
        }
        ports.push((if key == "ports" { "ports" } else { "notPorts" }, parsed));
    }

    // serviceAccounts
    if e.has("serviceAccounts") {
        let sa = e.obj(ctx, "serviceAccounts");
        sa.known_fields(ctx, &["names", "selector"]);
        let mut m = ServiceAccountMatch::default();
        for (at, n) in sa.str_list(ctx, "names") {
            if n.is_empty() {
                ctx.error::<()>(
                    codes::SERVICE_ACCOUNTS_INVALID,
                    &at,
                    format!("{}: empty service account name", at.field()),
                    None,
                );
            }
            m.names.push(Name::from(n));
        }
        if let Some(s) = sa.str(ctx, "selector") {
            if !s.is_empty() {
                m.selector = ctx.selector_checked(&sa.at("selector"), s, false);
            }
        }
        out.service_accounts = Some(m);
    }

    // services
    if e.has("services") {
        let sv = e.obj(ctx, "services");
        sv.known_fields(ctx, &["name", "namespace"]);
        let name = sv.str(ctx, "name").unwrap_or("");
        let namespace = sv.str(ctx, "namespace").unwrap_or("");
        if name.is_empty() {
            ctx.error::<()>(
                codes::SERVICES_INVALID,
                &sv.at,
                format!("{}: must name a service", sv.at.field()),
                Some("add `name: <service name>`".into()),
            );
        } else if let Err(m) = check_resource_name(name) {
            ctx.error::<()>(
                codes::SERVICES_INVALID,
                &sv.at("name"),
                format!("{}: {m}", sv.at("name").field()),
                None,
            );
        }
        if !namespace.is_empty() {
            if let Err(m) = check_resource_name(namespace) {
                ctx.error::<()>(
                    codes::SERVICES_INVALID,
                    &sv.at("namespace"),
                    format!("{}: {m}", sv.at("namespace").field()),
                    None,
                );
            }
        }
        for other in [
            "selector",
            "notSelector",
            "namespaceSelector",
            "nets",
            "notNets",
            "serviceAccounts",
        ] {
            if e.is_set(other) {
                ctx.error_at_key::<()>(
                    codes::SERVICES_INVALID,
                    &e.at(other),
                    format!("{}: cannot be combined with `services` in the same {side}", e.at(other).field()),
                    Some("a service match takes its addresses from the service's endpoints; use a separate rule for other matches".into()),
                );
            }
        }
        if side == "destination" {
            for other in ["ports", "notPorts"] {
                if e.is_set(other) {
                    ctx.error_at_key::<()>(
                        codes::SERVICES_INVALID,
                        &e.at(other),
                        format!(
                            "{}: cannot be combined with a destination `services` match",
                            e.at(other).field()
                        ),
                        Some("the service's own ports are used; remove the port list".into()),
                    );
                }
            }
        }
        if scope.policy && scope.global && namespace.is_empty() && wants_services(scope.dir, side) {
            ctx.error::<()>(
                codes::SERVICES_INVALID,
                &sv.at,
                format!(
                    "{}: a GlobalNetworkPolicy must give the service's `namespace`",
                    sv.at.field()
                ),
                Some("add `namespace: <namespace of the service>`".into()),
            );
        }
        out.services = Some(ServiceMatch {
            name: Name::from(name),
            namespace: (!namespace.is_empty()).then(|| Name::from(namespace)),
        });
    }

    // domains (Calico Enterprise)
    if e.has("domains") {
        let at = e.at("domains");
        let items = e.str_list(ctx, "domains");
        let allowed = scope.policy && side == "destination" && scope.dir == Direction::Egress;
        if !allowed {
            ctx.error_at_key::<()>(
                codes::DOMAINS_INVALID,
                &at,
                format!(
                    "{}: `domains` is only allowed in the destination of egress rules",
                    at.field()
                ),
                Some("move the domain match to an egress rule's `destination`".into()),
            );
        } else {
            ctx.warn_at_key(
                codes::ENTERPRISE_FIELD,
                &at,
                format!("{}: `domains` is a Calico Enterprise field; open-source Calico rejects it", at.field()),
                Some("tabby keeps the rule and matches it by destination domain name, as Calico Enterprise does (a `*` label matches one or more labels); remove `domains` for a policy open-source Calico accepts".into()),
            );
            for (at, d) in items {
                if d.is_empty() {
                    ctx.error::<()>(
                        codes::DOMAINS_INVALID,
                        &at,
                        format!("{}: empty domain name", at.field()),
                        None,
                    );
                }
                out.domains.push(Name::from(d.to_ascii_lowercase()));
            }
        }
    }

    if ctx.error_count() > before {
        return None;
    }
    Some(Entity {
        obj: e,
        side,
        lowered: out,
        ports,
        nets,
    })
}

/// Whether `services` is allowed on this side: the source of ingress rules and the
/// destination of egress rules.
fn wants_services(dir: Direction, side: &str) -> bool {
    matches!(
        (dir, side),
        (Direction::Ingress, "source") | (Direction::Egress, "destination")
    )
}

/// `global()` alone (possibly with surrounding spaces), as Calico's tokenizer check allows.
fn is_only_global(s: &str) -> bool {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    t == "global()"
}

/// Calico rejects `0.0.0.0/0` (exactly that spelling) and any spelling of `::/0` in `notNets`.
fn is_catch_all(text: &str, n: IpNet) -> bool {
    match n {
        IpNet::V4(_) => text == "0.0.0.0/0",
        IpNet::V6(v6) => v6.prefix_len() == 0 && v6.network().is_unspecified(),
    }
}

/// Ports need a protocol with ports: without `protocol` only named ports are allowed;
/// with a protocol other than TCP, UDP or SCTP no ports at all.
fn check_ports_protocol(ctx: &mut Ctx, protocol: Option<Protocol>, sides: &[&Entity<'_>]) {
    for e in sides {
        for (list, entries) in &e.ports {
            match protocol {
                None => {
                    for (at, p) in entries {
                        if let PortSpec::Range(r) = p {
                            ctx.error::<()>(
                                codes::PORTS_NEED_PROTOCOL,
                                at,
                                format!("{}: port `{r}` needs the rule to set `protocol`", at.field()),
                                Some("add `protocol: TCP`, `UDP` or `SCTP` to the rule; only named ports work without a protocol".into()),
                            );
                        }
                    }
                }
                Some(p) if !p.has_ports() => {
                    if !entries.is_empty() {
                        let at = e.obj.at(list);
                        ctx.error_at_key::<()>(
                            codes::PORTS_NEED_PROTOCOL,
                            &at,
                            format!("{}: protocol `{p}` has no ports", at.field()),
                            Some("ports need `protocol: TCP`, `UDP` or `SCTP`".into()),
                        );
                    }
                }
                Some(_) => {}
            }
        }
    }
}

/// All nets of a rule must be of one family, matching `ipVersion` when set.
fn check_families(ctx: &mut Ctx, ip_version: Option<IpVersion>, sides: &[&Entity<'_>]) {
    let mut seen: Option<(IpVersion, String)> = None;
    for e in sides {
        for (list, entries) in &e.nets {
            for (at, text, n) in entries {
                let fam = if n.addr().is_ipv4() {
                    IpVersion::V4
                } else {
                    IpVersion::V6
                };
                if let Some(v) = ip_version {
                    if v != fam {
                        ctx.error::<()>(
                            codes::CIDR_FAMILY,
                            at,
                            format!(
                                "{}: `{text}` is an {} network but the rule has `ipVersion: {}`",
                                at.field(),
                                fam_name(fam),
                                if v == IpVersion::V4 { 4 } else { 6 }
                            ),
                            Some(
                                "use networks of the rule's IP version, or change `ipVersion`"
                                    .into(),
                            ),
                        );
                        continue;
                    }
                }
                match &seen {
                    None => seen = Some((fam, format!("{}.{list}", e.side))),
                    Some((f, first)) if *f != fam => {
                        ctx.error::<()>(
                            codes::CIDR_FAMILY,
                            at,
                            format!(
                                "{}: `{text}` is an {} network but `{first}` holds {} networks; a rule matches one IP family",
                                at.field(),
                                fam_name(fam),
                                fam_name(*f)
                            ),
                            Some("write separate rules for IPv4 and IPv6".into()),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

fn fam_name(v: IpVersion) -> &'static str {
    match v {
        IpVersion::V4 => "IPv4",
        IpVersion::V6 => "IPv6",
    }
}

/// `services` only in the source of ingress rules and the destination of egress rules.
fn check_services_placement(ctx: &mut Ctx, scope: RuleScope, src: &Entity<'_>, dst: &Entity<'_>) {
    if !scope.policy {
        return;
    }
    for e in [src, dst] {
        if e.obj.has("services") && !wants_services(scope.dir, e.side) {
            let at = e.obj.at("services");
            let (dir, good) = match scope.dir {
                Direction::Ingress => ("ingress", "source"),
                Direction::Egress => ("egress", "destination"),
            };
            ctx.error_at_key::<()>(
                codes::SERVICES_INVALID,
                &at,
                format!(
                    "{}: `services` is not allowed in the {} of an {dir} rule",
                    at.field(),
                    e.side
                ),
                Some(format!("in {dir} rules, match services in the `{good}`")),
            );
        }
    }
}

fn check_http(
    ctx: &mut Ctx,
    r: &Obj<'_>,
    scope: RuleScope,
    action: Option<Action>,
    protocol: Option<Protocol>,
) -> Option<HttpMatch> {
    r.raw("http")?;
    let h = r.obj(ctx, "http");
    h.map?;
    h.known_fields(ctx, &["methods", "paths"]);
    let at = r.at("http");
    if action.is_some_and(|a| a != Action::Allow) {
        ctx.error_at_key::<()>(
            codes::HTTP_INVALID,
            &at,
            format!("{}: `http` is only valid in `Allow` rules", at.field()),
            Some("use `action: Allow`, or remove the `http` match".into()),
        );
    }
    if scope.policy && scope.dir == Direction::Egress {
        ctx.error_at_key::<()>(
            codes::HTTP_INVALID,
            &at,
            format!("{}: `http` is not allowed in egress rules", at.field()),
            Some(
                "match HTTP requests in an ingress rule of the policy that selects the server"
                    .into(),
            ),
        );
    }
    if let Some(p) = protocol {
        if p != Protocol::TCP {
            ctx.error::<()>(
                codes::HTTP_INVALID,
                &r.at("protocol"),
                format!(
                    "{}: rules with `http` must use protocol `TCP` (or none), not `{p}`",
                    r.at("protocol").field()
                ),
                Some("set `protocol: TCP` or remove `protocol`".into()),
            );
        }
    }
    let mut out = HttpMatch::default();
    let methods = h.str_list(ctx, "methods");
    if methods.len() > MAX_HTTP_ITEMS {
        ctx.error::<()>(
            codes::TOO_MANY,
            &h.at("methods"),
            format!(
                "{}: more than {MAX_HTTP_ITEMS} methods",
                h.at("methods").field()
            ),
            None,
        );
    }
    for (mat, m) in methods {
        if out.methods.iter().any(|x| &**x == m) {
            ctx.error::<()>(
                codes::HTTP_INVALID,
                &mat,
                format!("{}: method `{m}` is listed twice", mat.field()),
                Some("list each method once".into()),
            );
        }
        out.methods.push(Name::from(m));
    }
    let paths = h.list(ctx, "paths");
    if paths.len() > MAX_HTTP_ITEMS {
        ctx.error::<()>(
            codes::TOO_MANY,
            &h.at("paths"),
            format!(
                "{}: more than {MAX_HTTP_ITEMS} paths",
                h.at("paths").field()
            ),
            None,
        );
    }
    for (pat, v) in paths {
        let p = Obj::new(ctx, pat.clone(), Some(v));
        p.known_fields(ctx, &["exact", "prefix"]);
        let exact = p.str(ctx, "exact").filter(|s| !s.is_empty());
        let prefix = p.str(ctx, "prefix").filter(|s| !s.is_empty());
        let (key, text) = match (exact, prefix) {
            (Some(_), Some(_)) => {
                ctx.error::<()>(
                    codes::HTTP_INVALID,
                    &pat,
                    format!("{}: a path has both `exact` and `prefix`", pat.field()),
                    Some("give either `exact` or `prefix`, in separate list entries".into()),
                );
                continue;
            }
            (None, None) => {
                ctx.error::<()>(
                    codes::HTTP_INVALID,
                    &pat,
                    format!("{}: a path needs `exact` or `prefix`", pat.field()),
                    Some("for example `- prefix: /api`".into()),
                );
                continue;
            }
            (Some(e), None) => ("exact", e),
            (None, Some(x)) => ("prefix", x),
        };
        if !text.starts_with('/') || text.contains(['?', '#', ' ']) {
            ctx.error::<()>(
                codes::HTTP_INVALID,
                &p.at(key),
                format!("{}: `{text}` is not a valid path", p.at(key).field()),
                Some("a path starts with `/` and contains no `?`, `#` or space".into()),
            );
            continue;
        }
        out.paths.push(if key == "exact" {
            HttpPath::Exact(Name::from(text))
        } else {
            HttpPath::Prefix(Name::from(text))
        });
    }
    Some(out)
}
