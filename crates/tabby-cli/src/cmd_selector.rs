//! `tabby selector fmt|match`: the selector language on its own.

use std::collections::BTreeMap;

use clap::Subcommand;
use tabby_selector::{Selector, SelectorError};

use crate::output::print_stdout;
use crate::Exit;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a selector in Calico's canonical form (exit 1 if it does not parse)
    ///
    /// Example: tabby selector fmt "app=='web' && tier in {'b','a'}"
    /// prints   (app == "web" && tier in {"a", "b"})
    Fmt {
        /// The selector, quoted for the shell
        selector: String,
    },
    /// Print `true` or `false`: does the selector match these labels?
    ///
    /// Example: tabby selector match "app == 'web'" --labels '{"app":"web"}'
    Match {
        /// The selector, quoted for the shell
        selector: String,
        /// Labels as a JSON object ('{"app":"web"}') or as k=v pairs ('app=web,tier=front')
        #[arg(short, long, default_value = "{}")]
        labels: String,
    },
}

pub fn run(cmd: &Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Fmt { selector } => match Selector::parse(selector) {
            Ok(s) => {
                print_stdout(&format!("{s}\n"))?;
                Ok(Exit::Ok)
            }
            Err(e) => {
                eprint!("{}", render_selector_error(selector, &e));
                Ok(Exit::Negative)
            }
        },
        Command::Match { selector, labels } => {
            let labels = match parse_labels(labels) {
                Ok(l) => l,
                Err(msg) => {
                    eprintln!("error: --labels: {msg}");
                    return Ok(Exit::Error);
                }
            };
            match Selector::parse(selector) {
                Ok(s) => {
                    print_stdout(if s.matches(&labels) {
                        "true\n"
                    } else {
                        "false\n"
                    })?;
                    Ok(Exit::Ok)
                }
                Err(e) => {
                    eprint!("{}", render_selector_error(selector, &e));
                    Ok(Exit::Negative)
                }
            }
        }
    }
}

/// The error, the selector, and a caret under the offending column.
pub fn render_selector_error(input: &str, e: &SelectorError) -> String {
    // Show a window of at most 100 characters around the error in very long selectors.
    let col = input
        .get(..e.offset().min(input.len()))
        .map_or(0, |p| p.chars().count());
    let total = input.chars().count();
    let start = if total > 100 {
        col.saturating_sub(50).min(total - 100)
    } else {
        0
    };
    let shown: String = input.chars().skip(start).take(100).collect();
    let width = input
        .get(e.offset().min(input.len())..(e.offset() + e.len()).min(input.len()))
        .map_or(1, |s| s.chars().count().max(1))
        .min(100);
    let mut out = format!(
        "error: invalid selector: {} (column {})\n  {shown}\n  {}{}\n",
        e.message(),
        col + 1,
        " ".repeat(col - start),
        "^".repeat(width)
    );
    if let Some(h) = e.help() {
        out.push_str(&format!("  = help: {h}\n"));
    }
    out
}

/// Parses `--labels`: a JSON object of strings, or comma-separated `k=v` pairs.
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| format!("invalid JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| "expected a JSON object of strings".to_owned())?;
        obj.iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!(
                    "label `{k}` has value {other}; label values are strings (write \"{}\")",
                    other.to_string().trim_matches('"')
                )),
            })
            .collect()
    } else {
        trimmed
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|pair| {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("`{pair}` is not `key=value`"))?;
                Ok((k.trim().to_owned(), v.trim().to_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_both_forms() {
        let a = parse_labels(r#"{"app":"web","tier":"front"}"#).unwrap();
        let b = parse_labels("app=web, tier=front").unwrap();
        assert_eq!(a, b);
        assert!(parse_labels(r#"{"n": 1}"#).unwrap_err().contains("strings"));
        assert!(parse_labels("novalue").is_err());
        assert!(parse_labels("{}").unwrap().is_empty());
    }
}
