//! Types shared by every kind: object metadata, label selectors, and the
//! number-or-name scalar used for ports and protocols.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Decodes `null` as the type's default, as Go's `encoding/json` does for
/// non-pointer fields (`labels: null`, or a YAML key with no value).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Serializes a float the way Go's `encoding/json` does: an integral value in the
/// exact-integer range is written without a fraction (`order: 100` stays `100`,
/// not `100.0`), so documents round-trip unchanged.
pub(crate) fn ser_opt_f64<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    // 2^53: every integer up to here is exact in an f64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match *v {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "integral and within +-2^53, so the cast is exact"
        )]
        Some(f) if f.fract() == 0.0 && f.abs() <= EXACT => s.serialize_i64(f as i64),
        Some(f) => s.serialize_f64(f),
        None => s.serialize_none(),
    }
}

/// Kubernetes object metadata (`metav1.ObjectMeta`), every field the API defines.
///
/// Unknown keys are rejected: `metadata` has a fixed schema in every kind, and a
/// misspelt `namespace` would silently move an object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// RFC 3339 timestamp, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Kept opaque: tabby never follows owner references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    /// Kept opaque (server-side apply bookkeeping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_fields: Option<serde_json::Value>,
}

/// A Kubernetes label selector (`metav1.LabelSelector`).
///
/// `Option` fields keep `{}` (select everything) apart from an absent selector at
/// the level that holds it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// One `matchExpressions` entry. `operator` stays a string (`In`, `NotIn`,
/// `Exists`, `DoesNotExist`) so a misspelling is reported by the validator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// A value written either as an integer or as a string: ports (`80`, `"80:90"`,
/// `"http"`), protocols (`6`, `"TCP"`) and Kubernetes `IntOrString` fields.
///
/// Integers are kept at full `i64` width so the validator can report an
/// out-of-range value rather than a decode error. Floats and other types are
/// rejected with "expected an integer or a string".
///
/// ```
/// use tabby_api::IntOrString;
/// let v: Vec<IntOrString> = serde_json::from_str(r#"[53, "http", "1000:2000"]"#).unwrap();
/// assert_eq!(v[0], IntOrString::Int(53));
/// assert_eq!(v[1], IntOrString::Str("http".into()));
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#"[53,"http","1000:2000"]"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntOrString {
    Int(i64),
    Str(String),
}

impl IntOrString {
    /// The integer, when written as one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            IntOrString::Int(i) => Some(*i),
            IntOrString::Str(_) => None,
        }
    }

    /// The string, when written as one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            IntOrString::Int(_) => None,
            IntOrString::Str(s) => Some(s),
        }
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::Str(s) => f.write_str(s),
        }
    }
}

impl From<i64> for IntOrString {
    fn from(i: i64) -> Self {
        IntOrString::Int(i)
    }
}

impl From<&str> for IntOrString {
    fn from(s: &str) -> Self {
        IntOrString::Str(s.to_owned())
    }
}

impl From<String> for IntOrString {
    fn from(s: String) -> Self {
        IntOrString::Str(s)
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(i) => s.serialize_i64(*i),
            IntOrString::Str(v) => s.serialize_str(v),
        }
    }
}

struct IntOrStringVisitor;

impl Visitor<'_> for IntOrStringVisitor {
    type Value = IntOrString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
        Ok(IntOrString::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
        i64::try_from(v)
            .map(IntOrString::Int)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
        Ok(IntOrString::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<IntOrString, E> {
        Ok(IntOrString::Str(v))
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntOrStringVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int_or_string_table() {
        // (input, expected decode, expected error fragment)
        let cases: &[(serde_json::Value, Option<IntOrString>, &str)] = &[
            (json!(80), Some(IntOrString::Int(80)), ""),
            (json!(-1), Some(IntOrString::Int(-1)), ""),
            (json!(70000), Some(IntOrString::Int(70000)), ""),
            (json!("http"), Some(IntOrString::Str("http".into())), ""),
            (json!("80:90"), Some(IntOrString::Str("80:90".into())), ""),
            (json!(""), Some(IntOrString::Str(String::new())), ""),
            (json!(1.5), None, "expected an integer or a string"),
            (json!(true), None, "expected an integer or a string"),
            (json!([80]), None, "expected an integer or a string"),
            (json!(null), None, "expected an integer or a string"),
            (json!(u64::MAX), None, "expected an integer or a string"),
        ];
        for (input, want, err) in cases {
            let got = serde_json::from_value::<IntOrString>(input.clone());
            match (want, got) {
                (Some(w), Ok(g)) => {
                    assert_eq!(&g, w, "{input}");
                    assert_eq!(serde_json::to_value(&g).unwrap(), *input);
                }
                (None, Err(e)) => assert!(e.to_string().contains(err), "{input}: {e}"),
                (w, g) => panic!("{input}: want {w:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn floats_serialize_like_go() {
        #[derive(Serialize)]
        struct W(#[serde(serialize_with = "ser_opt_f64")] Option<f64>);
        let cases: &[(f64, &str)] = &[
            (100.0, "100"),
            (0.0, "0"),
            (-5.0, "-5"),
            (10.5, "10.5"),
            (1e300, "1e+300"),
            (9_007_199_254_740_992.0, "9007199254740992"),
        ];
        for (f, want) in cases {
            assert_eq!(serde_json::to_string(&W(Some(*f))).unwrap(), *want);
        }
        assert_eq!(serde_json::to_string(&W(None)).unwrap(), "null");
    }

    #[test]
    fn object_meta_null_maps_and_unknown_keys() {
        let m: ObjectMeta = serde_json::from_value(json!({"name": "a", "labels": null})).unwrap();
        assert!(m.labels.is_empty());
        let e = serde_json::from_value::<ObjectMeta>(json!({"nme": "a"})).unwrap_err();
        assert!(e.to_string().starts_with("unknown field `nme`"), "{e}");
    }
}
