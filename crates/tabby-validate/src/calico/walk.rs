//! Reading an object's JSON view field by field, each read tied to its [`At`] path
//! so a problem is reported at the exact value (or key).
//!
//! The decoder (`tabby-api` through `tabby-load`) has already rejected unknown
//! fields and gross type errors; these helpers still check types, because the wire
//! types are deliberately wide (numbers and enums accepted as written) and because a
//! check must never panic on a shape it did not expect.

use serde_json::{Map, Value};

use crate::codes;
use crate::ctx::{At, Ctx};

/// JSON type name in our message style.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn wrong_type<T>(ctx: &mut Ctx, at: &At<'_>, want: &str, got: &Value) -> Option<T> {
    ctx.error(
        codes::WRONG_TYPE,
        at,
        format!("{}: expected {want}, found {}", at.field(), type_name(got)),
        None,
    )
}

/// A map-valued node together with its location.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    pub at: At<'a>,
    pub map: Option<&'a Map<String, Value>>,
}

impl<'a> Obj<'a> {
    /// Reads `v` as a map (absent or null is an empty map).
    pub fn new(ctx: &mut Ctx, at: At<'a>, v: Option<&'a Value>) -> Self {
        let map = match v {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                wrong_type::<()>(ctx, &at, "a map", other);
                None
            }
        };
        Self { at, map }
    }

    /// The raw value of a field; null counts as absent.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        match self.map?.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    pub fn at(&self, key: &str) -> At<'a> {
        self.at.key(key)
    }

    pub fn obj(&self, ctx: &mut Ctx, key: &str) -> Obj<'a> {
        Obj::new(ctx, self.at(key), self.raw(key))
    }

    /// Whether the field is present and not an "empty" value (`""`, `[]`, `{}`, `false`).
    pub fn is_set(&self, key: &str) -> bool {
        match self.raw(key) {
            None => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(_)) => true,
            Some(Value::Null) => false,
        }
    }

    pub fn str(&self, ctx: &mut Ctx, key: &str) -> Option<&'a str> {
        match self.raw(key)? {
            Value::String(s) => Some(s.as_str()),
            other => wrong_type(ctx, &self.at(key), "a string", other),
        }
    }

    /// A string field that may be written as a bare number in YAML (`name: 8080`).
    pub fn str_lenient(&self, ctx: &mut Ctx, key: &str) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => wrong_type(ctx, &self.at(key), "a string", other),
        }
    }

    pub fn bool(&self, ctx: &mut Ctx, key: &str) -> Option<bool> {
        match self.raw(key)? {
            Value::Bool(b) => Some(*b),
            other => wrong_type(ctx, &self.at(key), "`true` or `false`", other),
        }
    }

    pub fn f64(&self, ctx: &mut Ctx, key: &str) -> Option<f64> {
        match self.raw(key)? {
            Value::Number(n) => n.as_f64(),
            // The loader keeps YAML's non-finite floats as these strings (JSON has no
            // such numbers); read them back so the caller can say why they are invalid.
            Value::String(s) if s == ".inf" || s == "+.inf" => Some(f64::INFINITY),
            Value::String(s) if s == "-.inf" => Some(f64::NEG_INFINITY),
            Value::String(s) if s == ".nan" => Some(f64::NAN),
            other => wrong_type(ctx, &self.at(key), "a number", other),
        }
    }

    pub fn i64(&self, ctx: &mut Ctx, key: &str) -> Option<i64> {
        match self.raw(key)? {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(i),
                None => ctx.error(
                    codes::WRONG_TYPE,
                    &self.at(key),
                    format!(
                        "{}: expected a whole number, found `{n}`",
                        self.at(key).field()
                    ),
                    None,
                ),
            },
            other => wrong_type(ctx, &self.at(key), "a whole number", other),
        }
    }

    /// A list field: each item with its location. Absent is empty.
    pub fn list(&self, ctx: &mut Ctx, key: &str) -> Vec<(At<'a>, &'a Value)> {
        let Some(v) = self.raw(key) else {
            return Vec::new();
        };
        let at = self.at(key);
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (at.index(i), v))
                .collect(),
            other => {
                wrong_type::<()>(ctx, &at, "a list", other);
                Vec::new()
            }
        }
    }

    /// A list of strings; non-strings are reported and skipped.
    pub fn str_list(&self, ctx: &mut Ctx, key: &str) -> Vec<(At<'a>, &'a str)> {
        self.list(ctx, key)
            .into_iter()
            .filter_map(|(at, v)| match v {
                Value::String(s) => Some((at, s.as_str())),
                other => wrong_type(ctx, &at, "a string", other),
            })
            .collect()
    }

    /// A map of strings (labels, annotations): `(key location, value location, key, value)`.
    /// Numbers and booleans are reported: Kubernetes reads label values as strings only.
    pub fn str_map(&self, ctx: &mut Ctx, key: &str) -> Vec<(At<'a>, &'a str, &'a str)> {
        let Some(v) = self.raw(key) else {
            return Vec::new();
        };
        let at = self.at(key);
        let Value::Object(m) = v else {
            wrong_type::<()>(ctx, &at, "a map of strings", v);
            return Vec::new();
        };
        m.iter()
            .filter_map(|(k, v)| {
                let vat = at.key(k);
                match v {
                    Value::String(s) => Some((vat, k.as_str(), s.as_str())),
                    Value::Null => Some((vat, k.as_str(), "")),
                    other => wrong_type(
                        ctx,
                        &vat,
                        "a string (quote numbers and booleans, e.g. `\"1\"`)",
                        other,
                    ),
                }
            })
            .collect()
    }

    /// Reports every key not in `known` as an unknown field, with a did-you-mean.
    pub fn known_fields(&self, ctx: &mut Ctx, known: &[&str]) {
        let Some(m) = self.map else { return };
        for k in m.keys() {
            if known.contains(&k.as_str()) {
                continue;
            }
            let at = self.at(k);
            let help = match tabby_diag::did_you_mean(k, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known fields here: `{}`", known.join("`, `")),
            };
            let msg = if self.at.path.is_empty() {
                format!("unknown field `{k}`")
            } else {
                format!("unknown field `{k}` in `{}`", self.at.field())
            };
            ctx.error_at_key::<()>(codes::UNKNOWN_FIELD, &at, msg, Some(help));
        }
    }
}
