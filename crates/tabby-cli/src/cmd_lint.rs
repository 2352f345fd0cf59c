//! `tabby lint`: the article's production mistakes as checks, each finding backed
//! by a concrete flow the engine decided.

use std::path::{Path, PathBuf};

use clap::{Args as ClapArgs, ValueEnum};
use tabby_eval::{Engine, EngineOptions};
use tabby_lint::{lint, render_text, to_sarif, FileConfig, Finding, LintConfig, Severity, CHECKS};

use crate::input::{ClusterArgs, Input, InputArgs};
use crate::output::{print_json, print_stdout};
use crate::Exit;

/// Find the mistakes that break production clusters or leave them open
///
/// Each check looks at the whole cluster through the engine, and backs its finding
/// with a counterexample flow where one exists: DNS unreachable under default
/// deny, system namespaces and host endpoints caught by a default deny, rule-less
/// policies that only cover ingress, selectors that match nothing or hold
/// `{{templates}}`, shadowed and too-broad rules, open egress, tenant leaks, and
/// fields open-source Calico ignores. Every code is explained in docs/lints/CODE.md.
///
/// Silence one check for one policy with the annotation
/// `tabby.dev/lint-ignore: "TL007"` (comma-separated codes). A `.tabby.toml` in the
/// current directory or a parent (or --config PATH) disables or re-rates checks and
/// ignores findings by path or resource (docs/lints.md); flags override it.
///
/// Examples:
///   tabby lint examples/cluster examples/policies
///   tabby lint cluster/ policies/ --fail-on warning -o sarif > tabby.sarif
///   tabby lint cluster/ policies/ --disable TL010 --severity TL009=error
///
/// Exit status: 0 no findings at or above --fail-on, 1 some, 2 usage or input error
/// (input errors are printed and nothing is linted; SARIF then reports a failed run).
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Output format: text, json, or sarif (SARIF 2.1.0 for code-scanning tools)
    #[arg(short, long, value_enum, default_value_t = LintFormat::Text)]
    pub output: LintFormat,

    /// Exit 1 when a finding at or above this severity exists [default: error, or `fail-on` in .tabby.toml]
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Lint settings file to use instead of the nearest `.tabby.toml` (this directory or a parent)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Do not read any `.tabby.toml`
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,

    /// Do not run this check (repeatable): --disable TL010
    #[arg(long, value_name = "CODE")]
    pub disable: Vec<String>,

    /// Change a check's severity (repeatable): --severity TL009=error
    #[arg(long, value_name = "CODE=SEVERITY")]
    pub severity: Vec<String>,

    /// Namespace label that marks tenant namespaces (value `true`), for the tenant-leak check [default: tenant]
    #[arg(long, value_name = "KEY")]
    pub tenant_label: Option<String>,

    /// Print the YAML of a policy that would close each finding, where tabby can prove one
    #[arg(long)]
    pub fix_suggest: bool,

    /// List the checks and exit
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("`{s}` is not a severity; use error, warning or info"))
}

/// The name of the settings file looked for in the current directory and its parents.
pub const CONFIG_FILE: &str = ".tabby.toml";

/// A `.tabby.toml` that was read, with the directory its path globs are relative to.
#[derive(Debug, Default)]
pub struct Settings {
    pub file: FileConfig,
    /// The configuration file, if one was read.
    pub path: Option<PathBuf>,
}

/// The nearest `.tabby.toml` in `start` or a parent directory.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| p.is_file())
}

/// Reads `explicit`, or else the nearest `.tabby.toml` upward from the current
/// directory (unless `none`). Errors are ready to print.
pub fn load_settings(explicit: Option<&Path>, none: bool) -> Result<Settings, String> {
    if none {
        return Ok(Settings::default());
    }
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match std::env::current_dir().ok().and_then(|d| find_config(&d)) {
            Some(p) => p,
            None => return Ok(Settings::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let file = FileConfig::parse(&text).map_err(|e| {
        let mut m = format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message);
        if let Some(h) = e.help {
            m.push_str(&format!("\n  = help: {h}"));
        }
        m
    })?;
    Ok(Settings {
        file,
        path: Some(path),
    })
}

impl Settings {
    /// Drops the findings an `[[lint.ignore]]` entry silences. Paths are matched
    /// relative to the directory holding the configuration file.
    pub fn apply_ignores(&self, found: &mut Vec<Finding>) {
        if self.file.ignores.is_empty() {
            return;
        }
        let base = self
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()));
        found.retain(|f| {
            let rel = f
                .resource
                .as_ref()
                .and_then(|r| r.file.as_deref())
                .and_then(|file| relative_to(base.as_deref()?, Path::new(file)));
            !self
                .file
                .ignores
                .iter()
                .any(|i| i.matches(f, rel.as_deref()))
        });
    }
}

/// `file` relative to `base`, `/`-separated; `None` when it is outside `base`.
///
/// `.` and `..` are resolved lexically first (`cfg/sub/../policies/x.yaml` is
/// `cfg/policies/x.yaml`), as a shell's `cd ..` reads them: that is what the user
/// wrote, and it does not depend on the file existing. `canonicalize` would also
/// resolve `..`, but it follows symbolic links, so a policy file that is a link
/// into another directory would lose the path it was given by; it is only the
/// fallback, for paths that lead outside `base` until their links are followed.
fn relative_to(base: &Path, file: &Path) -> Option<String> {
    let abs = lexical_normal(&std::path::absolute(file).ok()?);
    let base = lexical_normal(base);
    let base = base.as_path();
    let rel = match abs.strip_prefix(base) {
        Ok(r) => r.to_path_buf(),
        // Symbolic links: compare real paths.
        Err(_) => {
            let (b, f) = (base.canonicalize().ok()?, abs.canonicalize().ok()?);
            f.strip_prefix(b).ok()?.to_path_buf()
        }
    };
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// `path` without `.` components, and with each `..` removing the component before
/// it (a `..` at the root stays at the root, as the kernel reads `/..`).
fn lexical_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                // A relative path going up: keep every `..`.
                Some(Component::ParentDir | Component::CurDir) | None => out.push(c),
            },
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => out.push(c),
        }
    }
    out
}

/// The lint configuration from the settings file and the command line (flags win);
/// errors are usage errors.
fn config(args: &Args, base: &LintConfig) -> Result<LintConfig, String> {
    let known = |code: &str| CHECKS.iter().any(|(c, _, _)| *c == code);
    let mut cfg = base.clone();
    if let Some(t) = &args.tenant_label {
        cfg.tenant_label = t.clone();
    }
    for code in &args.disable {
        let code = code.trim().to_ascii_uppercase();
        if !known(&code) {
            return Err(format!(
                "--disable: unknown check `{code}` (see `tabby lint --list`)"
            ));
        }
        cfg.disabled.insert(code);
    }
    for pair in &args.severity {
        let (code, sev) = pair
            .split_once('=')
            .ok_or_else(|| format!("--severity `{pair}`: expected CODE=SEVERITY"))?;
        let code = code.trim().to_ascii_uppercase();
        if !known(&code) {
            return Err(format!(
                "--severity: unknown check `{code}` (see `tabby lint --list`)"
            ));
        }
        cfg.severity.insert(code, parse_severity(sev)?);
    }
    Ok(cfg)
}

/// Runs the checks on an already-built engine (shared with `tabby check`).
pub fn findings(engine: &Engine, cfg: &LintConfig) -> Vec<Finding> {
    lint(engine, cfg)
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    if args.list {
        let mut s = String::new();
        for (code, sev, title) in CHECKS {
            s.push_str(&format!("{code}  {:<7}  {title}\n", sev.as_str()));
        }
        print_stdout(&s)?;
        return Ok(Exit::Ok);
    }
    let settings = match load_settings(args.config.as_deref(), args.no_config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let cfg = match config(args, &settings.file.lint) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let fail_on = args
        .fail_on
        .or(settings.file.fail_on)
        .unwrap_or(Severity::Error);
    let input = Input::read_with_cluster(&args.input, &args.cluster)?;
    if let Err(exit) = input.report_and_require_valid(args.input.verbose) {
        // No findings from part of the input. SARIF consumers get a log that says
        // the run failed, with each input error as a notification (docs/lints.md).
        if args.output == LintFormat::Sarif {
            print_json(&failed_sarif(&input))?;
        }
        return Ok(exit);
    }
    if input.has_no_endpoints() {
        eprintln!(
            "warning: {}",
            crate::cmd_reach::no_endpoints(
                "checks that need them find nothing; add the cluster's files (namespaces, pods) to the paths, or --cluster to read the live cluster"
            )
        );
    }
    let engine = Engine::new(&input.cluster, EngineOptions::default());
    let mut found = findings(&engine, &cfg);
    settings.apply_ignores(&mut found);
    if !args.fix_suggest {
        for f in &mut found {
            f.fix_suggestion = None;
        }
    }
    match args.output {
        LintFormat::Text => print_stdout(&render_text(&found))?,
        LintFormat::Json => print_json(&found)?,
        LintFormat::Sarif => print_json(&to_sarif(&found))?,
    }
    // Severity orders Error < Warning < Info: "at or above" means <= the threshold.
    let failing = found.iter().any(|f| f.severity <= fail_on);
    Ok(if failing { Exit::Negative } else { Exit::Ok })
}

/// The SARIF log of a run that did not analyse because the input has errors: no
/// `results` (SARIF: "not determined", unlike `[]`, "nothing found"), and one
/// `invocations[0].toolExecutionNotifications` entry per error or warning, with
/// its code, message and location. `executionSuccessful` is false.
fn failed_sarif(input: &Input) -> serde_json::Value {
    use serde_json::json;
    let notifications: Vec<serde_json::Value> = input
        .diagnostics
        .iter()
        .filter(|d| d.severity != tabby_diag::Severity::Note)
        .map(|d| {
            let j = tabby_diag::JsonDiagnostic::from(d);
            let mut n = json!({
                "descriptor": { "id": j.code },
                "level": if d.severity == tabby_diag::Severity::Error { "error" } else { "warning" },
                "message": { "text": match &j.help {
                    Some(h) => format!("{} (help: {h})", j.message),
                    None => j.message.clone(),
                }},
            });
            if let (Some(file), Some(obj)) = (&j.file, n.as_object_mut()) {
                let mut region = serde_json::Map::new();
                if let Some(l) = j.line {
                    region.insert("startLine".into(), json!(l));
                }
                if let Some(c) = j.column {
                    region.insert("startColumn".into(), json!(c));
                }
                obj.insert(
                    "locations".into(),
                    json!([{ "physicalLocation": {
                        "artifactLocation": { "uri": file },
                        "region": region,
                    }}]),
                );
            }
            n
        })
        .collect();
    let mut log = to_sarif(&[]);
    if let Some(run) = log
        .get_mut("runs")
        .and_then(|r| r.get_mut(0))
        .and_then(serde_json::Value::as_object_mut)
    {
        run.remove("results");
        run.insert(
            "invocations".into(),
            json!([{
                "executionSuccessful": false,
                "toolExecutionNotifications": notifications,
            }]),
        );
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normal_resolves_dots_without_the_file_system() {
        for (given, want) in [
            ("/cfg/sub/../policies/x.yaml", "/cfg/policies/x.yaml"),
            ("/cfg/./policies/./x.yaml", "/cfg/policies/x.yaml"),
            ("/cfg/a/b/../../x.yaml", "/cfg/x.yaml"),
            ("/../x.yaml", "/x.yaml"),
            ("../../x.yaml", "../../x.yaml"),
            ("a/../../x.yaml", "../x.yaml"),
            ("./x.yaml", "x.yaml"),
        ] {
            assert_eq!(
                lexical_normal(Path::new(given)),
                PathBuf::from(want),
                "{given}"
            );
        }
    }

    #[test]
    fn relative_to_reads_dot_dot_as_written() {
        let cwd = std::env::current_dir().unwrap();
        let base = cwd.join("cfg");
        for (file, want) in [
            ("cfg/sub/../policies/x.yaml", Some("policies/x.yaml")),
            ("cfg/policies/x.yaml", Some("policies/x.yaml")),
            ("cfg/../other/x.yaml", None),
        ] {
            assert_eq!(
                relative_to(&base, Path::new(file)).as_deref(),
                want,
                "{file}"
            );
        }
    }
}
