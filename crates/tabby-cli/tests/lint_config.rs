//! `.tabby.toml`: found in the current directory or a parent (or given with
//! --config), it disables, re-rates and ignores lint findings; flags win over it;
//! `tabby check` follows it too.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A scratch copy of examples/cluster and examples/policies (so paths inside it
/// can be matched by globs relative to a `.tabby.toml` placed there).
fn workspace(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lint-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for sub in ["cluster", "policies"] {
        let to = d.join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(root().join("examples").join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
    d
}

/// Runs `tabby ARGS` in `dir`; returns (exit code, stdout, stderr).
fn tabby(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tabby"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `code -> [(severity, resource name, file)]` from `tabby lint -o json`.
type ByCode = BTreeMap<String, Vec<(String, String, String)>>;

fn findings(json: &str) -> ByCode {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut m = ByCode::new();
    for f in v.as_array().unwrap() {
        let r = &f["resource"];
        m.entry(f["code"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                f["severity"].as_str().unwrap().to_owned(),
                r["name"].as_str().unwrap_or("").to_owned(),
                r["file"].as_str().unwrap_or("").to_owned(),
            ));
    }
    m
}

/// `tabby lint WS/cluster WS/policies -o json EXTRA` run in `cwd`.
fn lint_in(ws: &Path, cwd: &Path, extra: &[&str]) -> (i32, ByCode) {
    let dir = cwd;
    let ws = ws.to_str().unwrap().to_owned();
    let (c, p) = (format!("{ws}/cluster"), format!("{ws}/policies"));
    let mut args = vec!["lint", c.as_str(), p.as_str(), "-o", "json"];
    args.extend(extra);
    let (code, out, err) = tabby(dir, &args);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    (code, findings(&out))
}

fn lint_json(ws: &Path, extra: &[&str]) -> (i32, ByCode) {
    lint_in(ws, ws, extra)
}

#[test]
fn settings_file_disables_rerates_and_ignores() {
    let ws = workspace("main");
    let (code, base) = lint_json(&ws, &[]);
    assert_eq!(code, 1, "the article's policies have errors");
    // The checks this test relies on fire on the examples without a settings file.
    for c in ["TL001", "TL002", "TL006", "TL008", "TL012", "TL013"] {
        assert!(base.contains_key(c), "{c} in {base:?}");
    }
    assert_eq!(base["TL008"][0].0, "warning");

    std::fs::write(
        ws.join(".tabby.toml"),
        r#"
# Settings for this repository.
[lint]
disable = ["TL012"]
fail-on = "warning"

[lint.severity]
TL008 = "error"
TL001 = "info"

[[lint.ignore]]
codes = ["TL006"]
paths = ["policies/namespace-*.yaml"]

[[lint.ignore]]
codes = ["TL013"]
resources = ["allow-dns"]
"#,
    )
    .unwrap();
    // Found from the directory itself and from below it.
    for dir in [ws.clone(), ws.join("sub/deeper")] {
        let (_, got) = lint_in(&ws, &dir, &[]);
        assert!(!got.contains_key("TL012"), "disabled");
        assert!(!got.contains_key("TL006"), "ignored by path");
        assert!(got["TL008"].iter().all(|f| f.0 == "error"), "re-rated");
        assert!(got["TL001"].iter().all(|f| f.0 == "info"), "re-rated down");
        // Only allow-dns's TL013 findings are ignored; backend-egress's stay.
        assert!(got["TL013"].iter().all(|f| f.1 != "allow-dns"));
        assert!(got["TL013"]
            .iter()
            .any(|f| f.1 == "production/backend-egress"));
        assert_eq!(
            got["TL002"], base["TL002"],
            "untouched checks are unchanged"
        );
    }
    // fail-on = "warning" from the file: a warning now fails…
    let (code, _) = lint_json(
        &ws,
        &[
            "--disable",
            "TL001",
            "--disable",
            "TL002",
            "--disable",
            "TL008",
        ],
    );
    assert_eq!(code, 1, "warnings fail under fail-on = warning");
    // …and the flag wins over the file.
    let (code, _) = lint_json(
        &ws,
        &[
            "--disable",
            "TL001",
            "--disable",
            "TL002",
            "--disable",
            "TL008",
            "--fail-on",
            "error",
        ],
    );
    assert_eq!(code, 0);
    let (_, got) = lint_json(&ws, &["--severity", "TL008=info"]);
    assert!(
        got["TL008"].iter().all(|f| f.0 == "info"),
        "flag beats file"
    );

    // --no-config and --config.
    let (_, got) = lint_in(&ws, &ws.join("sub"), &["--no-config"]);
    assert_eq!(got, base);
    std::fs::write(ws.join("other.toml"), "[lint]\ndisable = [\"TL008\"]\n").unwrap();
    let (_, got) = lint_json(&ws, &["--config", "other.toml"]);
    assert!(
        !got.contains_key("TL008") && got.contains_key("TL012"),
        "{got:?}"
    );

    // `tabby check` lists the findings the settings keep.
    let (_, out, err) = tabby(&ws, &["check", "cluster", "policies", "-o", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.contains(&"TL012") && !codes.contains(&"TL006"),
        "{codes:?}"
    );
    assert!(codes.contains(&"TL002"));
}

#[test]
fn a_bad_settings_file_is_a_usage_error_with_its_place() {
    let ws = workspace("bad");
    for (text, want) in [
        (
            "[lint]\ndisable = [\"TL01\"]\n",
            ".tabby.toml:2:12: unknown check `TL01`",
        ),
        (
            "[lint]\nfail-on = \"fatal\"\n",
            ".tabby.toml:2:11: `fatal` is not a severity",
        ),
        (
            "[lint]\ndisabel = [\"TL010\"]\n",
            ".tabby.toml:2:1: unknown field `disabel`",
        ),
    ] {
        std::fs::write(ws.join(".tabby.toml"), text).unwrap();
        for cmd in ["lint", "check"] {
            let (code, _, err) = tabby(&ws, &[cmd, "cluster", "policies"]);
            assert_eq!(code, 2, "{cmd} {text:?}: {err}");
            assert!(err.contains(want), "{cmd}: {err}");
        }
    }
    let (code, _, err) = tabby(
        &ws,
        &["lint", "cluster", "policies", "--config", "missing.toml"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot read `missing.toml`"), "{err}");
}
