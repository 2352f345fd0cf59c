//! `-l` label selectors in kubectl's syntax: `app=web,tier!=db,env in (a,b),!legacy,owner`.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl LabelSelector {
    /// Parses kubectl's label selector syntax.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use tabby_store::LabelSelector;
    /// let s = LabelSelector::parse("app=web, env in (prod,staging), !legacy").unwrap();
    /// let labels: BTreeMap<String, String> =
    ///     [("app".into(), "web".into()), ("env".into(), "prod".into())].into();
    /// assert!(s.matches(&labels));
    /// assert!(LabelSelector::parse("app in prod").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top(text)? {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_one(part)?);
        }
        Ok(Self { reqs })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|r| match r {
            Requirement::Eq(k, v) => labels.get(k) == Some(v),
            Requirement::NotEq(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// True when it selects everything.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }
}

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(format!("unbalanced parentheses in label selector `{text}`"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses in label selector `{text}`"));
    }
    out.push(text.get(start..).unwrap_or_default());
    Ok(out)
}

fn key_ok(k: &str) -> Result<String, String> {
    let ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(k.to_owned())
    } else {
        Err(format!("`{k}` is not a label key"))
    }
}

fn value_ok(v: &str) -> Result<String, String> {
    let ok = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(format!("`{v}` is not a label value"))
    }
}

fn parse_one(part: &str) -> Result<Requirement, String> {
    if let Some(k) = part.strip_prefix('!') {
        return Ok(Requirement::NotExists(key_ok(k.trim())?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(Requirement::NotEq(key_ok(k.trim())?, value_ok(v.trim())?));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Eq(key_ok(k.trim())?, value_ok(v.trim())?));
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if let [k, rest] = words.as_slice() {
        let rest = rest.trim();
        let (neg, list) = if let Some(l) = rest.strip_prefix("notin") {
            (true, l)
        } else if let Some(l) = rest.strip_prefix("in") {
            (false, l)
        } else {
            return Err(format!(
                "cannot read `{part}` as a label requirement (expected `key=value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key` or `!key`)"
            ));
        };
        let list = list.trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| {
                format!("the values in `{part}` must be in parentheses: `{k} in (a,b)`")
            })?;
        let vals = inner
            .split(',')
            .map(|v| value_ok(v.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let k = key_ok(k)?;
        return Ok(if neg {
            Requirement::NotIn(k, vals)
        } else {
            Requirement::In(k, vals)
        });
    }
    Ok(Requirement::Exists(key_ok(part)?))
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .reqs
            .iter()
            .map(|r| match r {
                Requirement::Eq(k, v) => format!("{k}={v}"),
                Requirement::NotEq(k, v) => format!("{k}!={v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::NotExists(k) => format!("!{k}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn table() {
        let web = labels(&[("app", "web"), ("env", "prod")]);
        let db = labels(&[("app", "db"), ("legacy", "true")]);
        let cases = [
            ("", true, true),
            ("app=web", true, false),
            ("app==web", true, false),
            ("app!=web", false, true),
            ("env", true, false),
            ("!env", false, true),
            ("app in (web,db)", true, true),
            ("app notin (web)", false, true),
            ("env notin (prod)", false, true),
            ("app=web,env=prod", true, false),
            ("app=web,env=staging", false, false),
            (" app = db , legacy ", false, true),
        ];
        for (sel, want_web, want_db) in cases {
            let s = LabelSelector::parse(sel).unwrap();
            assert_eq!(s.matches(&web), want_web, "{sel} web");
            assert_eq!(s.matches(&db), want_db, "{sel} db");
            let again = LabelSelector::parse(&s.to_string()).unwrap();
            assert_eq!(again, s, "{sel} round trip");
        }
    }

    #[test]
    fn errors() {
        for bad in [
            "app in web",
            "app in (a",
            "a b c",
            "=x",
            "app=we b",
            "(",
            "a)",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }
}
