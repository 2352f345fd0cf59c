//! Loading and validating the paths a command was given: shared by every command
//! that reads resources, so they all accept the same inputs and report problems alike.

use std::io::Write;
use std::path::PathBuf;

use clap::Args as ClapArgs;
use tabby_diag::{render_plain, Diagnostics, Severity};
use tabby_load::{load_paths, LoadOptions, Loaded};
use tabby_model::Cluster;

/// `tabby-load`'s code for a path that cannot be read (docs/diagnostics-load.md).
const UNREADABLE_PATH: &str = "E0001";

/// Input arguments shared by commands that read resources.
#[derive(Debug, Clone, ClapArgs)]
pub struct InputArgs {
    /// Files or directories to read (recursively: *.yaml, *.yml, *.json); `-` reads stdin
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show notes too (for example each object of a kind tabby does not analyse)
    #[arg(short, long)]
    pub verbose: bool,
}

/// Everything read from the inputs.
#[derive(Debug)]
pub struct Input {
    pub loaded: Loaded,
    pub cluster: Cluster,
    /// Load and validation diagnostics together, in file order.
    pub diagnostics: Diagnostics,
}

impl Input {
    pub fn read(args: &InputArgs) -> Self {
        let loaded = load_paths(&args.paths, &LoadOptions::default());
        let validated = tabby_validate::validate(&loaded.objects);
        let mut diagnostics = loaded.diagnostics.clone();
        diagnostics.extend(validated.diagnostics);
        diagnostics.sort_by_location();
        Self {
            loaded,
            cluster: validated.cluster,
            diagnostics,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    /// True when a path named on the command line could not be read at all (missing,
    /// permission denied): the command cannot answer, which is exit status 2, not 1.
    pub fn has_unreadable_path(&self) -> bool {
        self.loaded
            .diagnostics
            .iter()
            .any(|d| d.code == UNREADABLE_PATH)
    }
}

/// Writes errors and warnings to stderr in compiler style. Notes are shown one by one
/// with `verbose`, otherwise summarised in one line (a `kubectl get all` dump has many
/// ConfigMaps and Secrets nobody wants listed).
pub fn report_diagnostics(diags: &Diagnostics, verbose: bool) {
    let mut err = std::io::stderr().lock();
    let mut hidden = 0usize;
    for d in diags {
        if d.severity == Severity::Note && !verbose {
            hidden += 1;
            continue;
        }
        let _ = err.write_all(render_plain(d).as_bytes());
    }
    if hidden > 0 {
        let total = hidden;
        let _ = writeln!(
            err,
            "note: {total} note{} hidden (use --verbose to see them)",
            if total == 1 { "" } else { "s" }
        );
    }
}

/// Splits a `--port` value, `443` or `443/TCP`, into the port and the protocol
/// text if one was given. Shared by every command that takes `--port`.
pub fn split_port(text: &str) -> Result<(u16, Option<&str>), String> {
    let (num, proto) = match text.split_once('/') {
        Some((n, p)) => (n, Some(p.trim())),
        None => (text, None),
    };
    let port = num.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
        format!("--port `{text}`: expected a port number 1-65535, optionally followed by /PROTOCOL (e.g. `443/TCP`)")
    })?;
    Ok((port, proto))
}
