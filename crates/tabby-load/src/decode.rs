//! Typed decoding of a [`RawObject`] through serde, with errors mapped back to source
//! positions.
//!
//! The node is converted to a `serde_json::Value` and decoded with
//! `serde_path_to_error`, which tells the path of the failing value; the path is then
//! looked up in the node tree to find the line and column. serde's messages are
//! rewritten into our style: no Rust type names (`i32` becomes "an integer"), user
//! input in backticks, and a did-you-mean hint for unknown fields and values.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use tabby_diag::{did_you_mean, Diagnostic};

use crate::codes;
use crate::node::{path_to_string, PathSeg};
use crate::RawObject;

pub(crate) fn decode<T: DeserializeOwned>(obj: &RawObject) -> Result<T, Diagnostic> {
    let value = obj.node.to_json();
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path: Vec<PathSeg> = e
            .path()
            .iter()
            .map_while(|seg| match seg {
                Segment::Seq { index } => Some(PathSeg::Index(*index)),
                Segment::Map { key } => Some(PathSeg::Key(key.clone())),
                Segment::Enum { .. } | Segment::Unknown => None,
            })
            .collect();
        describe(obj, path, &e.into_inner().to_string())
    })
}

/// Where a path is, in words: "in `spec.ingress[0]`" or "at the top level".
fn where_in(path: &[PathSeg]) -> String {
    if path.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("in `{}`", path_to_string(path))
    }
}

fn describe(obj: &RawObject, mut path: Vec<PathSeg>, message: &str) -> Diagnostic {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = split_name(rest);
        // serde_path_to_error usually ends the path with the unknown key itself.
        if path.last() != Some(&PathSeg::Key(field.to_owned())) {
            path.push(PathSeg::Key(field.to_owned()));
        }
        let parent = path.get(..path.len().saturating_sub(1)).unwrap_or(&[]);
        let d = Diagnostic::error(
            codes::UNKNOWN_FIELD,
            format!("unknown field `{field}` {}", where_in(parent)),
        )
        .at(obj.loc_of_key(&path));
        return with_choices(d, field, &expected, "fields");
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = split_name(rest);
        let d = Diagnostic::error(
            codes::INVALID_VALUE,
            format!("unknown value `{value}` {}", where_in(&path)),
        )
        .at(obj.loc_of(&path));
        return with_choices(d, value, &expected, "values");
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let (field, _) = split_name(rest);
        return Diagnostic::error(
            codes::MISSING_FIELD,
            format!("missing field `{field}` {}", where_in(&path)),
        )
        .at(obj.loc_of(&path))
        .with_help(format!("add `{field}`"));
    }
    let detail = if let Some(rest) = message.strip_prefix("invalid type: ") {
        unexpected_expected(rest)
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        unexpected_expected(rest)
    } else {
        message.to_owned()
    };
    Diagnostic::error(
        codes::INVALID_VALUE,
        format!("invalid value {}: {detail}", where_in(&path)),
    )
    .at(obj.loc_of(&path))
}

/// Splits "name`, expected one of `a`, `b`" into ("name", ["a", "b"]).
fn split_name(rest: &str) -> (&str, Vec<&str>) {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    (name, expected)
}

fn with_choices(d: Diagnostic, word: &str, expected: &[&str], what: &str) -> Diagnostic {
    let suggestion = did_you_mean(word, expected.iter().copied());
    if let Some(s) = suggestion {
        return d.with_help(format!("did you mean `{s}`?"));
    }
    if expected.is_empty() {
        return d.with_help(format!("no {what} are allowed here"));
    }
    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    d.with_help(format!("valid {what} are {}", list.join(", ")))
}

/// Rewrites serde's "string \"x\", expected i32" as "expected an integer, found the string `x`".
fn unexpected_expected(rest: &str) -> String {
    let Some((unexp, exp)) = rest.rsplit_once(", expected ") else {
        return rest.to_owned();
    };
    format!(
        "expected {}, found {}",
        humanize_expected(exp),
        humanize_unexpected(unexp)
    )
}

fn humanize_unexpected(u: &str) -> String {
    if let Some(s) = u
        .strip_prefix("string \"")
        .and_then(|s| s.strip_suffix('"'))
    {
        return format!("the string `{s}`");
    }
    match u {
        "map" => "a mapping".to_owned(),
        "sequence" => "a list".to_owned(),
        "unit value" | "null" => "null".to_owned(),
        _ => {
            if let Some(x) = u.strip_prefix("floating point ") {
                format!("the number {x}")
            } else if let Some(x) = u.strip_prefix("integer ") {
                format!("the integer {x}")
            } else if let Some(x) = u.strip_prefix("boolean ") {
                format!("the boolean {x}")
            } else {
                u.to_owned()
            }
        }
    }
}

fn humanize_expected(e: &str) -> String {
    let e = e.trim();
    match e {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping".to_owned(),
        "a boolean" | "a string" | "a borrowed string" | "a character" => {
            e.replace("a borrowed string", "a string")
        }
        _ if e.starts_with("struct ") || e.starts_with("a map") => "a mapping".to_owned(),
        _ if e.starts_with("enum ") => "one of the allowed values".to_owned(),
        _ if e.starts_with("tuple") || e.starts_with("a sequence") => "a list".to_owned(),
        _ => e.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_rewritten_without_rust_types() {
        let cases = [
            (
                "string \"abc\", expected i32",
                "expected an integer, found the string `abc`",
            ),
            (
                "map, expected a sequence",
                "expected a list, found a mapping",
            ),
            (
                "sequence, expected struct Metadata",
                "expected a mapping, found a list",
            ),
            (
                "integer `-1`, expected u16",
                "expected a non-negative integer, found the integer `-1`",
            ),
            (
                "floating point `1.5`, expected i64",
                "expected an integer, found the number `1.5`",
            ),
            (
                "unit value, expected a string",
                "expected a string, found null",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(unexpected_expected(input), want, "{input}");
        }
    }

    #[test]
    fn names_and_choices_are_split() {
        assert_eq!(
            split_name("selectr`, expected one of `selector`, `order`"),
            ("selectr", vec!["selector", "order"])
        );
        assert_eq!(split_name("x`, expected `a` or `b`"), ("x", vec!["a", "b"]));
        assert_eq!(split_name("x`, there are no fields"), ("x", vec![]));
    }
}
