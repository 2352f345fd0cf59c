//! `tabby validate`: load and validate, report every problem, exit 1 when invalid.

use clap::Args as ClapArgs;
use serde::Serialize;
use tabby_diag::{JsonDiagnostic, Severity};

use crate::input::{report_diagnostics, ClusterArgs, Input, InputArgs};
use crate::output::{print_json, print_stdout, OutputFormat};
use crate::Exit;

/// Validate resources as Calico's validator does; print every problem with its position
///
/// Every problem is printed as `file:line:col: error[CODE]: message` with the source
/// line, a caret under the problem and a hint at what would be valid. Fields that
/// only Calico Enterprise accepts are warnings. Kinds tabby does not analyse
/// (ConfigMaps, Secrets, ...) are skipped with a note.
///
/// Exit status: 0 valid, 1 invalid (or warnings with --deny-warnings), 2 usage error.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Output format: human text on stderr, or JSON on stdout
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,

    /// Treat warnings as errors (exit 1 when there are any)
    #[arg(long)]
    pub deny_warnings: bool,
}

/// The stable JSON document of `tabby validate -o json` (docs/json.md).
#[derive(Debug, Serialize)]
struct ValidateReport {
    valid: bool,
    files: usize,
    /// Resources checked (not counting those skipped).
    resources: usize,
    /// Objects skipped: kinds tabby does not analyse (N0201, W0204, W0205, W0507).
    skipped: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic>,
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    let input = Input::read_with_cluster(&args.input, &args.cluster)?;
    let errors = input.diagnostics.error_count();
    let warnings = input.diagnostics.warning_count();
    let valid = errors == 0 && !(args.deny_warnings && warnings > 0);
    let skipped = input.skipped_count();
    let checked = input.loaded.objects.len().saturating_sub(skipped);
    match args.output {
        OutputFormat::Json => {
            let report = ValidateReport {
                valid,
                files: input.loaded.files.len(),
                resources: checked,
                skipped,
                errors,
                warnings,
                diagnostics: input
                    .diagnostics
                    .iter()
                    .filter(|d| args.input.verbose || d.severity != Severity::Note)
                    .map(JsonDiagnostic::from)
                    .collect(),
            };
            print_json(&report)?;
        }
        OutputFormat::Text => {
            report_diagnostics(&input.diagnostics, args.input.verbose);
            let verdict = if valid { "valid" } else { "invalid" };
            let skipped_text = if skipped > 0 {
                format!(" ({skipped} skipped: not a kind tabby analyses)")
            } else {
                String::new()
            };
            print_stdout(&format!(
                "{verdict}: {checked} resource{} in {} file{}{skipped_text}, {errors} error{}, {warnings} warning{}\n",
                plural(checked),
                input.loaded.files.len(),
                plural(input.loaded.files.len()),
                plural(errors),
                plural(warnings),
            ))?;
        }
    }
    Ok(if input.has_unreadable_path() {
        Exit::Error
    } else if valid {
        Exit::Ok
    } else {
        Exit::Negative
    })
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
