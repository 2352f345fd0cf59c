//! `.tabby.toml`: the lint settings of a repository, parsed from text (finding the
//! file is the caller's business).
//!
//! ```toml
//! [lint]
//! disable = ["TL010"]          # checks not to run
//! fail-on = "warning"          # exit 1 at or above this severity
//! tenant-label = "tenant"      # namespace label marking tenants (TL011)
//!
//! [lint.severity]              # re-rate checks
//! TL009 = "error"
//!
//! [[lint.ignore]]              # silence checks for some files or resources
//! codes = ["TL007"]            # omit for every check
//! paths = ["policies/legacy/**"]   # globs, relative to the directory of .tabby.toml
//! resources = ["production/allow-all"]  # `ns/name` or `name`, `*` allowed
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::{Finding, LintConfig, Severity, CHECKS};

/// Settings read from a `.tabby.toml`.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    /// Disabled checks, severities and the tenant label.
    pub lint: LintConfig,
    /// `fail-on`, when the file sets it.
    pub fail_on: Option<Severity>,
    /// `[[lint.ignore]]` entries, in file order.
    pub ignores: Vec<Ignore>,
}

/// One `[[lint.ignore]]` entry: a finding is silenced when its code is listed (or no
/// codes are), and its file matches one of `paths` or its resource one of
/// `resources` (or neither list is given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    pub codes: Vec<String>,
    pub paths: Vec<String>,
    pub resources: Vec<String>,
}

impl Ignore {
    /// Whether this entry silences `f`; `rel_path` is the finding's file relative to
    /// the directory of the configuration file (with `/` separators), when known.
    pub fn matches(&self, f: &Finding, rel_path: Option<&str>) -> bool {
        if !self.codes.is_empty() && !self.codes.iter().any(|c| c == f.code) {
            return false;
        }
        if self.paths.is_empty() && self.resources.is_empty() {
            return true;
        }
        let by_path = rel_path.is_some_and(|p| self.paths.iter().any(|g| glob_match(g, p)));
        let by_resource = f
            .resource
            .as_ref()
            .is_some_and(|r| self.resources.iter().any(|g| glob_match(g, &r.name)));
        by_path || by_resource
    }
}

/// A problem in a configuration file, with its 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
    pub help: Option<String>,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if let Some(h) = &self.help {
            write!(f, " (help: {h})")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    lint: Option<Lint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Lint {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    fail_on: Option<Spanned<String>>,
    tenant_label: Option<String>,
    #[serde(default)]
    severity: std::collections::BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    ignore: Vec<IgnoreEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreEntry {
    #[serde(default)]
    codes: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before, |i| before.get(i + 1..).unwrap_or(""))
        .chars()
        .count()
        + 1;
    (line, col)
}

fn err_at(
    text: &str,
    span: std::ops::Range<usize>,
    message: String,
    help: Option<String>,
) -> ConfigError {
    let (line, column) = line_col(text, span.start);
    ConfigError {
        message,
        help,
        line,
        column,
    }
}

fn code(text: &str, c: &Spanned<String>) -> Result<String, ConfigError> {
    let up = c.get_ref().trim().to_ascii_uppercase();
    if CHECKS.iter().any(|k| k.0 == up) {
        return Ok(up);
    }
    let names: Vec<&str> = CHECKS.iter().map(|k| k.0).collect();
    let help = tabby_diag::did_you_mean(&up, names.iter().copied())
        .map(|s| format!("did you mean `{s}`? (`tabby lint --list` shows every check)"))
        .or_else(|| Some("`tabby lint --list` shows every check".to_owned()));
    Err(err_at(
        text,
        c.span(),
        format!("unknown check `{}`", c.get_ref()),
        help,
    ))
}

fn severity(text: &str, s: &Spanned<String>) -> Result<Severity, ConfigError> {
    Severity::parse(s.get_ref()).ok_or_else(|| {
        err_at(
            text,
            s.span(),
            format!("`{}` is not a severity", s.get_ref()),
            Some("use `error`, `warning` or `info`".to_owned()),
        )
    })
}

impl FileConfig {
    /// Parses the text of a `.tabby.toml`. An unknown key, check code or severity
    /// is an error (a typo must not silently turn a check back on).
    pub fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        let root: Root = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            // The message's first line is the problem; the rest repeats the source.
            let msg = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .trim()
                .to_owned();
            err_at(text, span, msg, None)
        })?;
        let mut out = FileConfig::default();
        let Some(lint) = root.lint else {
            return Ok(out);
        };
        for c in &lint.disable {
            out.lint.disabled.insert(code(text, c)?);
        }
        for (c, s) in &lint.severity {
            out.lint.severity.insert(code(text, c)?, severity(text, s)?);
        }
        if let Some(s) = &lint.fail_on {
            out.fail_on = Some(severity(text, s)?);
        }
        if let Some(t) = lint.tenant_label {
            out.lint.tenant_label = t;
        }
        for e in &lint.ignore {
            let codes = e
                .codes
                .iter()
                .map(|c| code(text, c))
                .collect::<Result<Vec<_>, _>>()?;
            out.ignores.push(Ignore {
                codes,
                paths: e
                    .paths
                    .iter()
                    .map(|p| p.trim_start_matches("./").to_owned())
                    .collect(),
                resources: e.resources.clone(),
            });
        }
        Ok(out)
    }
}

/// Glob match over `/`-separated text: `*` and `?` stay within one segment, `**`
/// matches any number of whole segments (including none).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let txt: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
    segs_match(&pat, &txt)
}

fn segs_match(pat: &[&str], txt: &[&str]) -> bool {
    // Iterative over `**` positions with a memo would be faster; configuration
    // globs are short, so the plain recursion is bounded by pattern × text length.
    match pat.split_first() {
        None => txt.is_empty(),
        Some((&"**", rest)) => {
            (0..=txt.len()).any(|i| segs_match(rest, txt.get(i..).unwrap_or(&[])))
        }
        Some((p, rest)) => match txt.split_first() {
            Some((t, trest)) => seg_match(p.as_bytes(), t.as_bytes()) && segs_match(rest, trest),
            None => false,
        },
    }
}

/// `*` / `?` wildcard match of one segment (linear backtracking on the last `*`).
fn seg_match(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (pat, text, want) in [
            ("policies/legacy/**", "policies/legacy/a.yaml", true),
            ("policies/legacy/**", "policies/legacy/x/y/a.yaml", true),
            ("policies/legacy/**", "policies/other/a.yaml", false),
            ("**/*.yaml", "a.yaml", true),
            ("**/*.yaml", "x/y/a.yaml", true),
            ("**/*.yaml", "x/y/a.yml", false),
            ("*.yaml", "x/a.yaml", false),
            ("p?licies/*", "policies/a", true),
            ("production/*", "production/allow-all", true),
            ("production/*", "staging/allow-all", false),
            ("allow-*-dns", "allow-kube-dns", true),
            ("allow-*-dns", "allow-kube-dnsx", false),
            ("a*b*c", "aXbYbZc", true),
            ("", "", true),
        ] {
            assert_eq!(glob_match(pat, text), want, "{pat} {text}");
        }
    }

    #[test]
    fn parses_every_setting() {
        let c = FileConfig::parse(
            r#"
[lint]
disable = ["TL010", "tl012"]
fail-on = "warning"
tenant-label = "team"
[lint.severity]
TL009 = "error"
[[lint.ignore]]
codes = ["TL007"]
paths = ["./legacy/**"]
[[lint.ignore]]
resources = ["production/*"]
"#,
        )
        .unwrap();
        assert_eq!(
            c.lint
                .disabled
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["TL010", "TL012"]
        );
        assert_eq!(c.fail_on, Some(Severity::Warning));
        assert_eq!(c.lint.tenant_label, "team");
        assert_eq!(c.lint.severity.get("TL009"), Some(&Severity::Error));
        assert_eq!(
            c.ignores,
            [
                Ignore {
                    codes: vec!["TL007".into()],
                    paths: vec!["legacy/**".into()],
                    resources: vec![],
                },
                Ignore {
                    codes: vec![],
                    paths: vec![],
                    resources: vec!["production/*".into()],
                },
            ]
        );
        assert!(FileConfig::parse("").unwrap().ignores.is_empty());
    }

    #[test]
    fn errors_point_at_the_problem() {
        for (text, line, column, msg, help) in [
            (
                "[lint]\ndisable = [\"TL01\"]\n",
                2,
                12,
                "unknown check `TL01`",
                Some("did you mean"),
            ),
            (
                "[lint]\nfail-on = \"fatal\"\n",
                2,
                11,
                "`fatal` is not a severity",
                Some("use `error`"),
            ),
            (
                "[lint.severity]\nTL999 = \"error\"\n",
                2,
                1,
                "unknown check `TL999`",
                None,
            ),
            (
                "[lint]\ndisabel = []\n",
                2,
                1,
                "unknown field `disabel`",
                None,
            ),
            ("[lnit]\n", 1, 2, "unknown field `lnit`", None),
            ("[lint\n", 1, 6, "", None),
            (
                "[[lint.ignore]]\ncodes = [\"TL7\"]\n",
                2,
                10,
                "unknown check `TL7`",
                None,
            ),
        ] {
            let e = FileConfig::parse(text).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
            if let Some(h) = help {
                assert!(e.help.as_deref().unwrap_or("").contains(h), "{text:?}: {e}");
            }
        }
    }
}
