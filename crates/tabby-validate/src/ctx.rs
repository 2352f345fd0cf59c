//! The validation context: where diagnostics go, and the field-level checks
//! every resource kind shares (selectors, ports, CIDRs, names), each reporting
//! at the exact position of the offending value.

use std::sync::Arc;

use tabby_diag::{Diagnostic, Diagnostics, Loc};
use tabby_load::{PathSeg, RawObject};
use tabby_selector::Selector;

/// Builds a path into an object from string keys and indices:
/// `path!["spec", "ingress", 0, "source", "selector"]`.
#[macro_export]
macro_rules! path {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::ctx::IntoSeg::into_seg($seg)),*]
    };
}

/// Conversion used by [`path!`].
pub trait IntoSeg {
    fn into_seg(self) -> PathSeg;
}

impl IntoSeg for &str {
    fn into_seg(self) -> PathSeg {
        PathSeg::Key(self.to_owned())
    }
}

impl IntoSeg for String {
    fn into_seg(self) -> PathSeg {
        PathSeg::Key(self)
    }
}

impl IntoSeg for usize {
    fn into_seg(self) -> PathSeg {
        PathSeg::Index(self)
    }
}

impl IntoSeg for PathSeg {
    fn into_seg(self) -> PathSeg {
        self
    }
}

/// Collects diagnostics for one validation run.
#[derive(Debug, Default)]
pub struct Ctx {
    pub diagnostics: Diagnostics,
    /// `(errors, seen)`: how many errors the first `seen` diagnostics hold. Checks ask
    /// for the error count before and after each object and rule, so it is kept
    /// incrementally instead of recounted (which would be quadratic on hostile input).
    counted: std::cell::Cell<(usize, usize)>,
}

/// The object being validated and a path prefix inside it, so nested checks
/// (a rule inside a policy) can report positions without knowing their parents.
#[derive(Debug, Clone)]
pub struct At<'a> {
    pub obj: &'a RawObject,
    pub path: Vec<PathSeg>,
}

impl<'a> At<'a> {
    pub fn root(obj: &'a RawObject) -> Self {
        Self {
            obj,
            path: Vec::new(),
        }
    }

    /// A child location: `at.join(path!["spec", "selector"])`.
    #[must_use]
    pub fn join(&self, more: Vec<PathSeg>) -> Self {
        let mut path = self.path.clone();
        path.extend(more);
        Self {
            obj: self.obj,
            path,
        }
    }

    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.join(vec![PathSeg::Key(key.to_owned())])
    }

    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        self.join(vec![PathSeg::Index(i)])
    }

    /// The value at this path, or its nearest existing ancestor.
    pub fn loc(&self) -> Loc {
        self.obj.loc_of(&self.path)
    }

    /// The key token at this path (for "field not allowed" messages).
    pub fn key_loc(&self) -> Loc {
        self.obj.loc_of_key(&self.path)
    }

    /// The field path as users write it, e.g. `spec.ingress[0].source.selector`.
    pub fn field(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                PathSeg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                PathSeg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        s
    }
}

impl Ctx {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Reports an error at `at` and returns `None`, so checks can `return ctx.error(..)`.
    pub fn error<T>(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        message: String,
        help: Option<String>,
    ) -> Option<T> {
        let mut d = Diagnostic::error(code, message).at(at.loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
        None
    }

    pub fn warning(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        message: String,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::warning(code, message).at(at.loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
    }

    /// Parses a selector found at `at`. A parse error points at the exact column
    /// inside the YAML string when the string is written on one line.
    pub fn selector(&mut self, at: &At<'_>, text: &str) -> Option<Selector> {
        match Selector::parse(text) {
            Ok(s) => Some(s),
            Err(e) => {
                let loc = selector_error_loc(at, text, e.offset(), e.len().max(1));
                let mut d = Diagnostic::error(
                    crate::codes::SELECTOR_SYNTAX,
                    format!("{}: invalid selector: {}", at.field(), e.message()),
                )
                .at(loc);
                if let Some(h) = e.help() {
                    d = d.with_help(h.to_owned());
                }
                self.push(d);
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    pub fn error_count(&self) -> usize {
        let (errors, seen) = self.counted.get();
        let len = self.diagnostics.len();
        let errors = if len < seen {
            self.diagnostics.error_count()
        } else {
            errors
                + self
                    .diagnostics
                    .iter()
                    .skip(seen)
                    .filter(|d| d.is_error())
                    .count()
        };
        self.counted.set((errors, len));
        errors
    }
}

/// Maps a byte offset inside a selector string to a location in the file.
/// When the YAML/JSON scalar is the literal text (plain or simply quoted, on one
/// line) the offset lands on the exact column; otherwise the whole value is marked.
fn selector_error_loc(at: &At<'_>, text: &str, offset: usize, len: usize) -> Loc {
    let value = at.loc();
    let file: &Arc<tabby_diag::SourceFile> = value.file();
    let span = value.span();
    let raw = file.text().get(span.clone()).unwrap_or("");
    // Skip an opening quote if the scalar was quoted.
    let (body, shift) = match raw.as_bytes().first() {
        Some(b'\'' | b'"') => (raw.get(1..).unwrap_or(""), 1),
        _ => (raw, 0),
    };
    if body.starts_with(text) || (body.get(..offset) == text.get(..offset) && !text.contains('\n'))
    {
        value.sub(shift + offset, len)
    } else {
        value
    }
}

// ---------------------------------------------------------------------------
// Shared field checks (names, labels, ports, protocols, CIDRs).
//
// The pure predicates below return `Err(reason)` in our message style; the `Ctx`
// methods further down report them at a location. Both Calico and Kubernetes kinds
// use them, so every kind words the same problem the same way.
// ---------------------------------------------------------------------------

/// Longest resource name Kubernetes and Calico accept (DNS-1123 subdomain).
pub const MAX_NAME_LEN: usize = 253;
/// Longest DNS-1123 label (tier names, label name parts).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest selector Calico's CRDs accept.
pub const MAX_SELECTOR_LEN: usize = 1024;

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (no length limit: callers check length separately,
/// as Calico's validator does).
pub fn matches_dns_label(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    is_lower_alnum(first)
        && is_lower_alnum(last)
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
}

/// Dot-separated DNS labels: `nameSubdomainFmt` of Calico's validator.
pub fn matches_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(matches_dns_label)
}

/// A resource name (`metadata.name` of most kinds, service names, node names).
pub fn check_resource_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("name must not be empty".into());
    }
    if s.len() > MAX_NAME_LEN {
        return Err(format!(
            "name is too long by {} bytes (at most {MAX_NAME_LEN})",
            s.len() - MAX_NAME_LEN
        ));
    }
    if !matches_dns_subdomain(s) {
        return Err(format!(
            "`{s}` is not a valid name: use lower case letters, digits, `-` and `.`, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

fn is_qualified_name_part(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A Kubernetes qualified name (label keys, annotation keys): `[prefix/]name` where the
/// prefix is a DNS subdomain of at most 253 characters and the name at most 63 characters
/// of alphanumerics, `-`, `_` and `.`, starting and ending with an alphanumeric.
pub fn check_qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err(format!("`{s}` has an empty prefix before `/`"));
        }
        if p.len() > MAX_NAME_LEN || !matches_dns_subdomain(p) {
            return Err(format!(
                "prefix `{p}` of `{s}` must be a DNS subdomain (lower case letters, digits, `-` and `.`)"
            ));
        }
    }
    if name.is_empty() {
        return Err(format!("`{s}` has an empty name part"));
    }
    if name.len() > MAX_LABEL_LEN {
        return Err(format!(
            "name part of `{s}` is longer than {MAX_LABEL_LEN} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        return Err(format!(
            "`{s}` is not a valid key: use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, with an optional `prefix/`"
        ));
    }
    Ok(())
}

/// A Kubernetes label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`
/// starting and ending with an alphanumeric.
pub fn check_label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > MAX_LABEL_LEN {
        return Err(format!(
            "label value `{s}` is longer than {MAX_LABEL_LEN} characters"
        ));
    }
    if !is_qualified_name_part(s) {
        return Err(format!(
            "`{s}` is not a valid label value: use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// A Kubernetes port name (IANA service name): at most 15 characters of lower case
/// letters, digits and `-`, with at least one letter, no leading, trailing or double `-`.
pub fn check_port_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("port name must not be empty".into());
    }
    if s.len() > 15 {
        return Err(format!("port name `{s}` is longer than 15 characters"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "port name `{s}` may contain only lower case letters, digits and `-`"
        ));
    }
    if !s.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(format!("port name `{s}` must contain at least one letter"));
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Err(format!(
            "port name `{s}` must not begin or end with `-` or contain `--`"
        ));
    }
    Ok(())
}

/// A protocol as Calico reads it: a number 1–255, a string of digits (read as the number),
/// or one of `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite` (case-sensitive).
/// The error carries a message and a help text.
pub fn parse_protocol(v: &serde_json::Value) -> Result<tabby_model::Protocol, (String, String)> {
    use tabby_model::Protocol;
    // Only a number, a string of digits or a known name is valid; build the help lazily.
    if let Some(p) = match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .filter(|x| (1..=255).contains(x))
            .and_then(|x| u8::try_from(x).ok())
            .map(Protocol),
        serde_json::Value::String(s) => Protocol::from_name(s).or_else(|| {
            s.parse::<u8>()
                .ok()
                .filter(|x| *x > 0 && s.bytes().all(|b| b.is_ascii_digit()))
                .map(Protocol)
        }),
        _ => None,
    } {
        return Ok(p);
    }
    let names = Protocol::NAMES.join("`, `");
    let help_all = format!("use one of `{names}` or a protocol number from 1 to 255");
    match v {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(0) => Err(("protocol number 0 is not valid".into(), help_all)),
            Some(x) => u8::try_from(x).map(Protocol).map_err(|_| {
                (
                    format!("protocol number `{x}` is out of range"),
                    help_all.clone(),
                )
            }),
            None => Err((
                format!("protocol `{n}` is not a whole number from 1 to 255"),
                help_all,
            )),
        },
        serde_json::Value::String(s) => {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return match s.parse::<u8>() {
                    Ok(0) => Err(("protocol number 0 is not valid".into(), help_all)),
                    Ok(x) => Ok(Protocol(x)),
                    Err(_) => Err((format!("unknown protocol `{s}`"), help_all)),
                };
            }
            if let Some(p) = Protocol::from_name(s) {
                return Ok(p);
            }
            let help = match tabby_diag::did_you_mean(s, Protocol::NAMES) {
                Some(m) => {
                    format!("did you mean `{m}`? protocol names are case-sensitive; {help_all}")
                }
                None => help_all,
            };
            Err((format!("unknown protocol `{s}`"), help))
        }
        _ => Err(("protocol must be a name or a number".into(), help_all)),
    }
}

/// One entry of `ports`/`notPorts`: a number, `"min:max"`, a string of digits, or a
/// named port. Port 0 and reversed ranges are rejected.
pub fn parse_port(v: &serde_json::Value) -> Result<tabby_model::PortSpec, (String, String)> {
    use tabby_model::{PortRange, PortSpec};
    let help = "use a port from 1 to 65535, a range `min:max`, or a port name".to_owned();
    let num = |x: u64, text: &str| -> Result<u16, (String, String)> {
        match u16::try_from(x) {
            Ok(0) => Err(("port 0 is not valid".to_owned(), help.clone())),
            Ok(p) => Ok(p),
            Err(_) => Err((format!("port `{text}` is out of range"), help.clone())),
        }
    };
    match v {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(x) => num(x, &x.to_string()).map(|p| PortSpec::Range(PortRange::single(p))),
            None => Err((
                format!("port `{n}` is not a whole number from 1 to 65535"),
                help,
            )),
        },
        serde_json::Value::String(s) => {
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            if digits(s) {
                let x = s.parse::<u64>().unwrap_or(u64::MAX);
                return num(x, s).map(|p| PortSpec::Range(PortRange::single(p)));
            }
            if let Some((a, b)) = s.split_once(':') {
                if digits(a) && digits(b) {
                    let min = num(a.parse::<u64>().unwrap_or(u64::MAX), a)?;
                    let max = num(b.parse::<u64>().unwrap_or(u64::MAX), b)?;
                    if min > max {
                        return Err((
                            format!("port range `{s}` has its minimum above its maximum"),
                            format!("write the range as `{max}:{min}`"),
                        ));
                    }
                    return Ok(PortSpec::Range(PortRange { min, max }));
                }
            }
            match check_port_name(s) {
                Ok(()) => Ok(PortSpec::Named(s.as_str().into())),
                Err(e) => Err((
                    format!("`{s}` is neither a port, a range nor a valid port name: {e}"),
                    help,
                )),
            }
        }
        _ => Err(("port must be a number or a string".to_owned(), help)),
    }
}

/// An IP address.
pub fn parse_ip(s: &str) -> Result<std::net::IpAddr, String> {
    s.parse::<std::net::IpAddr>()
        .map_err(|_| format!("`{s}` is not a valid IP address"))
}

/// How strictly [`parse_cidr`] reads a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrMode {
    /// Policy rule nets: an explicit prefix length and no host bits (`10.0.0.0/8`).
    Strict,
    /// Network sets: a CIDR with any host bits, or a bare address (read as /32 or /128).
    Loose,
}

/// Parses a CIDR. In loose mode the result is truncated to its network address.
pub fn parse_cidr(s: &str, mode: CidrMode) -> Result<ipnet::IpNet, (String, String)> {
    if !s.contains('/') {
        return match (mode, s.parse::<std::net::IpAddr>()) {
            (CidrMode::Loose, Ok(ip)) => Ok(ipnet::IpNet::from(ip)),
            (CidrMode::Strict, Ok(ip)) => Err((
                format!("`{s}` has no prefix length"),
                format!(
                    "write `{s}/{}` for a single address",
                    if ip.is_ipv4() { 32 } else { 128 }
                ),
            )),
            (_, Err(_)) => Err((
                format!("`{s}` is not a valid CIDR"),
                "write a network as `10.0.0.0/8` or `fd00::/64`".into(),
            )),
        };
    }
    let net: ipnet::IpNet = s.parse().map_err(|_| {
        (
            format!("`{s}` is not a valid CIDR"),
            "write a network as `10.0.0.0/8` or `fd00::/64`".to_owned(),
        )
    })?;
    if mode == CidrMode::Strict && net.trunc() != net {
        return Err((
            format!("`{s}` has host bits set"),
            format!(
                "did you mean `{}`? rule networks must be written with their network address",
                net.trunc()
            ),
        ));
    }
    Ok(net.trunc())
}

impl Ctx {
    /// Reports a warning at `at`.
    pub fn warn(&mut self, code: &'static str, at: &At<'_>, message: String, help: Option<String>) {
        self.warning(code, at, message, help);
    }

    /// Reports a warning at the key token of `at` (for fields that are accepted with a caveat).
    pub fn warn_at_key(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        message: String,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::warning(code, message).at(at.key_loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
    }

    /// Reports a note at `at`.
    pub fn note(&mut self, code: &'static str, at: &At<'_>, message: String, help: Option<String>) {
        let mut d = Diagnostic::note(code, message).at(at.loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
    }

    /// Reports an error at the key token of `at` (for fields that must not be there).
    pub fn error_at_key<T>(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        message: String,
        help: Option<String>,
    ) -> Option<T> {
        let mut d = Diagnostic::error(code, message).at(at.key_loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
        None
    }

    /// Parses a protocol value at `at` (see [`parse_protocol`]).
    pub fn protocol(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        v: &serde_json::Value,
    ) -> Option<tabby_model::Protocol> {
        match parse_protocol(v) {
            Ok(p) => Some(p),
            Err((m, h)) => self.error(code, at, format!("{}: {m}", at.field()), Some(h)),
        }
    }

    /// Parses a port value at `at` (see [`parse_port`]).
    pub fn port(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        v: &serde_json::Value,
    ) -> Option<tabby_model::PortSpec> {
        match parse_port(v) {
            Ok(p) => Some(p),
            Err((m, h)) => self.error(code, at, format!("{}: {m}", at.field()), Some(h)),
        }
    }

    /// Parses a CIDR at `at` (see [`parse_cidr`]).
    pub fn cidr(
        &mut self,
        code: &'static str,
        at: &At<'_>,
        s: &str,
        mode: CidrMode,
    ) -> Option<ipnet::IpNet> {
        match parse_cidr(s, mode) {
            Ok(n) => Some(n),
            Err((m, h)) => self.error(code, at, format!("{}: {m}", at.field()), Some(h)),
        }
    }

    /// Parses an IP address at `at`.
    pub fn ip(&mut self, code: &'static str, at: &At<'_>, s: &str) -> Option<std::net::IpAddr> {
        match parse_ip(s) {
            Ok(ip) => Some(ip),
            Err(m) => self.error(
                code,
                at,
                format!("{}: {m}", at.field()),
                Some("write an address such as `10.0.0.1` or `fd00::1`".into()),
            ),
        }
    }

    /// Checks a resource name at `at` (see [`check_resource_name`]).
    pub fn resource_name(&mut self, code: &'static str, at: &At<'_>, s: &str) -> bool {
        match check_resource_name(s) {
            Ok(()) => true,
            Err(m) => {
                self.error::<()>(code, at, format!("{}: {m}", at.field()), None);
                false
            }
        }
    }

    /// Parses a selector at `at`, also enforcing Calico's length limit and, unless
    /// `allow_global`, rejecting `global()`.
    pub fn selector_checked(
        &mut self,
        at: &At<'_>,
        text: &str,
        allow_global: bool,
    ) -> Option<Selector> {
        if text.len() > MAX_SELECTOR_LEN {
            return self.error(
                crate::codes::SELECTOR_TOO_LONG,
                at,
                format!(
                    "{}: selector is {} characters long, more than the limit of {MAX_SELECTOR_LEN}",
                    at.field(),
                    text.len()
                ),
                Some("split the match over several rules or use shorter label names".into()),
            );
        }
        if !allow_global && text.contains("global(") {
            return self.error(
                crate::codes::GLOBAL_SELECTOR,
                at,
                format!("{}: `global()` can only be used in a rule's `namespaceSelector`", at.field()),
                Some("to match host endpoints and global network sets, write `namespaceSelector: global()` in the rule".into()),
            );
        }
        self.selector(at, text)
    }
}
