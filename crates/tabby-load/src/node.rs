//! The untyped document tree: every node carries the byte span it was read from.

use std::fmt;
use std::ops::Range;

/// One value of a YAML or JSON document, with its byte span in the source file.
///
/// Equality compares values *and* spans; use [`Node::same_value`] to ignore spans.
#[derive(Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// Byte offsets into the [`tabby_diag::SourceFile`] text the node was read from.
    pub span: Range<usize>,
}

/// The value of a [`Node`].
///
/// Plain scalars follow the YAML 1.2 core schema: `null`/`~`/empty, `true`/`false`,
/// decimal/`0x`/`0o` integers, decimal floats, `.inf`/`.nan`; everything else, including
/// `yes`/`no`/`on`/`off`, is a string. Quoted scalars are always strings. Mappings keep
/// their entries in source order.
#[derive(Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One step of a path into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

impl PathSeg {
    /// Shorthand for `PathSeg::Key(key.to_owned())`.
    pub fn key(key: &str) -> Self {
        PathSeg::Key(key.to_owned())
    }
}

impl From<&str> for PathSeg {
    fn from(key: &str) -> Self {
        PathSeg::Key(key.to_owned())
    }
}

impl From<usize> for PathSeg {
    fn from(index: usize) -> Self {
        PathSeg::Index(index)
    }
}

/// Renders a path the way users write it: `spec.ingress[0].action`.
pub fn path_to_string(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{:?}", self.kind, self.span)
    }
}

impl fmt::Debug for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeKind::Null => f.write_str("null"),
            NodeKind::Bool(b) => write!(f, "{b}"),
            NodeKind::Int(i) => write!(f, "{i}"),
            NodeKind::Float(x) => write!(f, "{x:?}"),
            NodeKind::Str(s) => write!(f, "{s:?}"),
            NodeKind::Seq(items) => f.debug_list().entries(items).finish(),
            NodeKind::Map(entries) => f
                .debug_map()
                .entries(entries.iter().map(|(k, v)| (k, v)))
                .finish(),
        }
    }
}

impl Node {
    pub fn new(kind: NodeKind, span: Range<usize>) -> Self {
        Self { kind, span }
    }

    /// The value of key `key` when this node is a mapping with a string key `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of entry `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.key_text().as_deref() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Element `index` of a sequence.
    pub fn index(&self, index: usize) -> Option<&Node> {
        match &self.kind {
            NodeKind::Seq(items) => items.get(index),
            _ => None,
        }
    }

    /// The node at `path`, if every step exists.
    pub fn at_path(&self, path: &[PathSeg]) -> Option<&Node> {
        let mut cur = self;
        for seg in path {
            cur = match seg {
                PathSeg::Key(k) => cur.get(k)?,
                PathSeg::Index(i) => cur.index(*i)?,
            };
        }
        Some(cur)
    }

    /// The string value of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True for the null scalar (`null`, `~`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// A short noun for the node's type, for messages ("a mapping", "a string", ...).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Compares values, ignoring spans.
    pub fn same_value(&self, other: &Node) -> bool {
        match (&self.kind, &other.kind) {
            (NodeKind::Seq(a), NodeKind::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_value(y))
            }
            (NodeKind::Map(a), NodeKind::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka.same_value(kb) && va.same_value(vb))
            }
            (NodeKind::Float(a), NodeKind::Float(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }

    /// The text a scalar key becomes in JSON: strings as they are, other scalars in
    /// their canonical form (`1`, `true`, `null`). `None` for a list or mapping used as
    /// a key, which the loader rejects (`E0019`), as Kubernetes' YAML-to-JSON step does.
    pub fn key_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        Some(match &self.kind {
            NodeKind::Str(s) => Cow::Borrowed(s.as_str()),
            NodeKind::Null => Cow::Borrowed("null"),
            NodeKind::Bool(b) => Cow::Owned(b.to_string()),
            NodeKind::Int(i) => Cow::Owned(i.to_string()),
            NodeKind::Float(x) => Cow::Owned(float_text(*x)),
            NodeKind::Seq(_) | NodeKind::Map(_) => return None,
        })
    }

    /// A compact flow rendering (`{a: [1, x]}`), used as the JSON key of a collection
    /// key in hand-built trees. Strings are not escaped, so the text grows linearly
    /// with the tree (escaped JSON inside JSON would double at every level).
    fn flow_text(&self, out: &mut String) {
        match &self.kind {
            NodeKind::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.flow_text(out);
                }
                out.push(']');
            }
            NodeKind::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.flow_text(out);
                    out.push_str(": ");
                    v.flow_text(out);
                }
                out.push('}');
            }
            _ => out.push_str(&self.key_text().unwrap_or_default()),
        }
    }

    /// Converts to a `serde_json::Value` for typed decoding. Non-string keys become
    /// their text; non-finite floats (`.inf`, `.nan`), which JSON cannot hold, become
    /// the strings `.inf`, `-.inf` and `.nan` so that decoding them as numbers fails loudly.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => Value::Number(n),
                None => Value::String(float_text(*x)),
            },
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = k.key_text().map_or_else(
                        || {
                            let mut s = String::new();
                            k.flow_text(&mut s);
                            s
                        },
                        std::borrow::Cow::into_owned,
                    );
                    map.insert(key, v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// Number of nodes in this tree (itself included), its height (1 for a scalar) and
    /// the total bytes of its strings. Used for alias-expansion budgets.
    pub(crate) fn measure(&self) -> Measure {
        let mut m = Measure {
            nodes: 1,
            height: 1,
            bytes: 0,
        };
        match &self.kind {
            NodeKind::Str(s) => m.bytes = s.len(),
            NodeKind::Seq(items) => {
                for item in items {
                    m.absorb(item.measure());
                }
            }
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    m.absorb(k.measure());
                    m.absorb(v.measure());
                }
            }
            _ => {}
        }
        m
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Measure {
    pub nodes: usize,
    pub height: usize,
    pub bytes: usize,
}

impl Measure {
    fn absorb(&mut self, child: Measure) {
        self.nodes = self.nodes.saturating_add(child.nodes);
        self.bytes = self.bytes.saturating_add(child.bytes);
        self.height = self.height.max(child.height.saturating_add(1));
    }
}

fn float_text(x: f64) -> String {
    if x.is_nan() {
        ".nan".to_owned()
    } else if x == f64::INFINITY {
        ".inf".to_owned()
    } else if x == f64::NEG_INFINITY {
        "-.inf".to_owned()
    } else {
        x.to_string()
    }
}

/// Why a scalar could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutOfRange;

/// Resolves a plain (unquoted) YAML scalar by the YAML 1.2 core schema.
///
/// `null`/`Null`/`NULL`/`~`/empty are null; `true`/`false` (and their `True`/`TRUE`
/// forms) are booleans; decimal, `0x` hex and `0o` octal integers are integers (kept as
/// `i64`, or as a float when they do not fit); decimal floats, `.inf` and `.nan` are
/// floats; everything else, including YAML 1.1's `yes`/`no`/`on`/`off`, is a string.
/// A number too large even for a float (`1e400`) is an error.
pub(crate) fn resolve_plain(s: &str) -> Result<NodeKind, OutOfRange> {
    Ok(match s {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => NodeKind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => NodeKind::Float(f64::NAN),
        _ => {
            if let Some(digits) = s.strip_prefix("0x") {
                return radix_int(digits, 16, s);
            }
            if let Some(digits) = s.strip_prefix("0o") {
                return radix_int(digits, 8, s);
            }
            let body = s.strip_prefix(['-', '+']).unwrap_or(s);
            if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
                return match s.parse::<i64>() {
                    Ok(i) => Ok(NodeKind::Int(i)),
                    Err(_) => finite_float(s),
                };
            }
            if is_core_float(body) {
                return finite_float(s);
            }
            NodeKind::Str(s.to_owned())
        }
    })
}

fn radix_int(digits: &str, radix: u32, whole: &str) -> Result<NodeKind, OutOfRange> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Ok(NodeKind::Str(whole.to_owned()));
    }
    match u64::from_str_radix(digits, radix) {
        Ok(u) => Ok(match i64::try_from(u) {
            Ok(i) => NodeKind::Int(i),
            #[expect(
                clippy::cast_precision_loss,
                reason = "too big for i64: kept as a float"
            )]
            Err(_) => NodeKind::Float(u as f64),
        }),
        Err(_) => Err(OutOfRange),
    }
}

fn finite_float(s: &str) -> Result<NodeKind, OutOfRange> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(NodeKind::Float(x)),
        _ => Err(OutOfRange),
    }
}

/// `(\.[0-9]+ | [0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (sign already stripped).
fn is_core_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_digits = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_digits = digits(&mut i);
        if int_digits == 0 && frac_digits == 0 {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_table() {
        let cases: &[(&str, NodeKind)] = &[
            ("", NodeKind::Null),
            ("~", NodeKind::Null),
            ("null", NodeKind::Null),
            ("NULL", NodeKind::Null),
            ("true", NodeKind::Bool(true)),
            ("False", NodeKind::Bool(false)),
            ("yes", NodeKind::Str("yes".into())),
            ("on", NodeKind::Str("on".into())),
            ("off", NodeKind::Str("off".into())),
            ("42", NodeKind::Int(42)),
            ("-7", NodeKind::Int(-7)),
            ("+7", NodeKind::Int(7)),
            ("0x1F", NodeKind::Int(31)),
            ("0o17", NodeKind::Int(15)),
            ("0xZZ", NodeKind::Str("0xZZ".into())),
            ("1.5", NodeKind::Float(1.5)),
            (".5", NodeKind::Float(0.5)),
            ("1e3", NodeKind::Float(1000.0)),
            ("1.", NodeKind::Float(1.0)),
            (".inf", NodeKind::Float(f64::INFINITY)),
            ("-.Inf", NodeKind::Float(f64::NEG_INFINITY)),
            ("9223372036854775807", NodeKind::Int(i64::MAX)),
            (
                "9223372036854775808",
                NodeKind::Float(9_223_372_036_854_775_808.0),
            ),
            (
                "0xFFFFFFFFFFFFFFFF",
                NodeKind::Float(18_446_744_073_709_551_615.0),
            ),
            ("1_000", NodeKind::Str("1_000".into())),
            ("1.2.3", NodeKind::Str("1.2.3".into())),
            ("e5", NodeKind::Str("e5".into())),
            ("10.0.0.0/8", NodeKind::Str("10.0.0.0/8".into())),
            ("80:90", NodeKind::Str("80:90".into())),
        ];
        for (text, want) in cases {
            let got = resolve_plain(text).unwrap();
            assert!(
                Node::new(got.clone(), 0..0).same_value(&Node::new(want.clone(), 0..0)),
                "{text:?}: got {got:?}, want {want:?}"
            );
        }
        assert!(matches!(resolve_plain(".nan"), Ok(NodeKind::Float(x)) if x.is_nan()));
        assert_eq!(resolve_plain("1e400"), Err(OutOfRange));
        assert_eq!(resolve_plain("0xFFFFFFFFFFFFFFFFFF"), Err(OutOfRange));
    }

    #[test]
    fn paths_render_like_users_write_them() {
        let p = vec![
            PathSeg::key("spec"),
            PathSeg::key("ingress"),
            PathSeg::Index(0),
            PathSeg::key("action"),
        ];
        assert_eq!(path_to_string(&p), "spec.ingress[0].action");
    }
}
