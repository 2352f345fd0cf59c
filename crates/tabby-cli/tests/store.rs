//! `tabby apply/create/replace/delete/get/label` end to end, on the embedded store
//! (a file in a temporary directory) and on etcd (`$TABBY_TEST_ETCD` or a private
//! one this test starts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tabby_api::{decode_resource, Kind, Resource};
use tabby_load::{load_paths, load_str, LoadOptions};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs tabby with `--store` (or the given store flags) appended.
fn tabby(store: &[&str], args: &[&str]) -> Output {
    tabby_stdin(store, args, None)
}

fn tabby_stdin(store: &[&str], args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(args)
        .args(store)
        .current_dir(repo_root())
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Embedded {
    _dir: tempfile::TempDir,
    flag: Vec<String>,
}

fn embedded() -> Embedded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb").display().to_string();
    Embedded {
        _dir: dir,
        flag: vec!["--store".into(), path],
    }
}

impl Embedded {
    fn args(&self) -> Vec<&str> {
        self.flag.iter().map(String::as_str).collect()
    }
}

/// Objects of `kind` as the loader reads `text`, by name.
fn resources(text: &str, kind: Kind) -> BTreeMap<String, Resource> {
    let loaded = load_str("out.yaml", text, &LoadOptions::default());
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    loaded
        .objects
        .iter()
        .filter(|o| Kind::from_type_meta(&o.api_version, &o.kind) == Some(kind))
        .map(|o| {
            let r = decode_resource(kind, o.node.to_json()).unwrap();
            (r.name().unwrap().to_owned(), r)
        })
        .collect()
}

/// What the store adds: uid, creation time and revision.
fn without_store_fields(mut r: Resource) -> Resource {
    let m = r.metadata_mut();
    assert!(m.uid.is_some() && m.creation_timestamp.is_some() && m.resource_version.is_some());
    m.uid = None;
    m.creation_timestamp = None;
    m.resource_version = None;
    r
}

/// The GlobalNetworkPolicies of examples/ as applied: the last definition of each name.
fn example_gnps() -> BTreeMap<String, Resource> {
    let loaded = load_paths(&[repo_root().join("examples")], &LoadOptions::default());
    let mut want = BTreeMap::new();
    for o in &loaded.objects {
        if Kind::from_type_meta(&o.api_version, &o.kind) == Some(Kind::GlobalNetworkPolicy) {
            let r = decode_resource(Kind::GlobalNetworkPolicy, o.node.to_json()).unwrap();
            want.insert(r.name().unwrap().to_owned(), r);
        }
    }
    assert!(want.len() >= 5, "examples/ has GlobalNetworkPolicies");
    want
}

fn round_trip(store: &[&str]) {
    let o = tabby(store, &["apply", "-f", "examples/"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains("GlobalNetworkPolicy default-deny created"),
        "{}",
        out(&o)
    );
    let o = tabby(store, &["get", "globalnetworkpolicies", "-o", "yaml"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let got = resources(&out(&o), Kind::GlobalNetworkPolicy);
    for (name, want) in example_gnps() {
        let g = got
            .get(&name)
            .unwrap_or_else(|| panic!("{name} missing from get"));
        assert_eq!(without_store_fields(g.clone()), want, "{name}");
    }
    // Applying the same files again changes nothing.
    let o = tabby(store, &["apply", "-f", "examples/"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        !out(&o).contains(" created") && !out(&o).contains(" configured"),
        "{}",
        out(&o)
    );
    // And what `get` printed applies back unchanged.
    let yaml = out(&tabby(store, &["get", "gnp", "-o", "yaml"]));
    let o = tabby_stdin(store, &["apply", "-f", "-"], Some(&yaml));
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).lines().all(|l| l.ends_with("unchanged")),
        "{}",
        out(&o)
    );
}

#[test]
fn apply_examples_then_get_round_trips_embedded() {
    let s = embedded();
    round_trip(&s.args());
}

#[test]
fn apply_examples_then_get_round_trips_etcd() {
    // A private etcd: the round trip expects "created", so it must start empty
    // (the shared test etcd may already hold the examples from another run).
    let etcd = tabby_store::testing::EtcdCluster::start(1).unwrap_or_else(|e| panic!("{e}"));
    round_trip(&["--etcd-endpoints", &etcd.endpoints()]);
}

#[test]
fn invalid_input_stores_nothing() {
    let s = embedded();
    let bad = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: ok\nspec:\n  selector: all()\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: bad\nspec:\n  selector: app == 'x\n";
    let o = tabby_stdin(&s.args(), &["apply", "-f", "-"], Some(bad));
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(
        err(&o).contains("-:13:20: error[E0201]"),
        "error with file:line:col: {}",
        err(&o)
    );
    assert!(err(&o).contains("nothing was written"), "{}", err(&o));
    let o = tabby(&s.args(), &["get", "gnp", "ok"]);
    assert_eq!(code(&o), 1, "the valid one was not stored either");
    // A kind tabby does not store.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
    let o = tabby_stdin(&s.args(), &["apply", "-f", "-"], Some(cm));
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("`ConfigMap` (`v1`) cannot be stored"),
        "{}",
        err(&o)
    );
}

#[test]
fn validation_sees_what_the_store_holds() {
    let s = embedded();
    let policy = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: sec\nspec:\n  tier: security\n  order: 1\n  selector: all()\n  types: [Ingress]\n";
    // No tier `security` yet: refused.
    let o = tabby_stdin(&s.args(), &["apply", "-f", "-"], Some(policy));
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(err(&o).contains("E0404"), "{}", err(&o));
    let tier = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: security\nspec:\n  order: 100\n";
    assert_eq!(
        code(&tabby_stdin(&s.args(), &["apply", "-f", "-"], Some(tier))),
        0
    );
    // Now the stored tier makes the policy valid on its own.
    let o = tabby_stdin(&s.args(), &["apply", "-f", "-"], Some(policy));
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = tabby(&s.args(), &["get", "gnp", "-o", "wide"]);
    assert!(
        out(&o).contains("sec    security   1       all()"),
        "{}",
        out(&o)
    );
}

#[test]
fn create_replace_delete_and_conflicts() {
    let s = embedded();
    let a = s.args();
    let np = |order: u32, rv: Option<&str>| {
        let rv = rv
            .map(|r| format!("  resourceVersion: \"{r}\"\n"))
            .unwrap_or_default();
        format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: prod\n{rv}spec:\n  order: {order}\n  selector: app == 'web'\n")
    };
    let o = tabby_stdin(&a, &["create", "-f", "-"], Some(&np(1, None)));
    assert_eq!(
        (code(&o), out(&o).trim()),
        (0, "NetworkPolicy prod/web created"),
        "{}",
        err(&o)
    );
    let o = tabby_stdin(&a, &["create", "-f", "-"], Some(&np(1, None)));
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("NetworkPolicy `prod/web` already exists"),
        "{}",
        err(&o)
    );

    let json = out(&tabby(
        &a,
        &["get", "np", "web", "-n", "prod", "-o", "json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rev = v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = tabby_stdin(&a, &["replace", "-f", "-"], Some(&np(2, Some(&rev))));
    assert_eq!(
        (code(&o), out(&o).trim()),
        (0, "NetworkPolicy prod/web configured"),
        "{}",
        err(&o)
    );
    // The same revision again is stale now: a conflict naming both revisions.
    let o = tabby_stdin(&a, &["replace", "-f", "-"], Some(&np(3, Some(&rev))));
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains(&format!("expected revision {rev}")),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("the store has revision"), "{}", err(&o));
    // Replace of something missing.
    let other = np(1, None).replace("name: web", "name: nope");
    let o = tabby_stdin(&a, &["replace", "-f", "-"], Some(&other));
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("not found"), "{}", err(&o));

    let o = tabby(&a, &["delete", "np", "web"]);
    assert_eq!(code(&o), 1, "default namespace has no such policy");
    let o = tabby(&a, &["delete", "networkpolicy", "web", "-n", "prod"]);
    assert_eq!(
        (code(&o), out(&o).trim()),
        (0, "NetworkPolicy prod/web deleted"),
        "{}",
        err(&o)
    );
    let o = tabby(&a, &["get", "np", "-A"]);
    assert_eq!(code(&o), 0);
    assert!(err(&o).contains("no networkpolicies found"), "{}", err(&o));
    let o = tabby(
        &a,
        &["delete", "np", "web", "-n", "prod", "--ignore-not-found"],
    );
    assert_eq!(code(&o), 0);
}

#[test]
fn delete_by_file_is_one_transaction() {
    let s = embedded();
    let a = s.args();
    assert_eq!(code(&tabby(&a, &["apply", "-f", "examples/policies"])), 0);
    let o = tabby(&a, &["delete", "-f", "examples/policies/default-deny.yaml"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("GlobalNetworkPolicy default-deny deleted"));
    // One of the files' objects is gone now: nothing is deleted.
    let o = tabby(&a, &["delete", "-f", "examples/policies"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("nothing was deleted"), "{}", err(&o));
    assert_eq!(code(&tabby(&a, &["get", "gnp", "allow-dns"])), 0);
}

#[test]
fn get_kinds_names_filters_and_formats() {
    let s = embedded();
    let a = s.args();
    assert_eq!(
        code(&tabby(
            &a,
            &["apply", "-f", "examples/cluster", "-f", "examples/policies"]
        )),
        0
    );
    let names = |args: &[&str]| -> Vec<String> {
        let o = tabby(&a, args);
        assert_eq!(code(&o), 0, "{args:?}: {}", err(&o));
        out(&o)
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    let all = names(&["get", "globalnetworkpolicies"]);
    assert!(all.contains(&"default-deny".to_owned()), "{all:?}");
    for word in [
        "gnp",
        "globalnetworkpolicy",
        "GlobalNetworkPolicies",
        "GlobalNetworkPolicy",
    ] {
        assert_eq!(names(&["get", word]), all, "{word}");
    }
    // Namespaced: default namespace, one namespace, all namespaces.
    let prod = names(&["get", "pods", "-n", "production"]);
    assert!(!prod.is_empty());
    let o = tabby(&a, &["get", "po", "-A"]);
    assert!(out(&o).starts_with("NAMESPACE"), "{}", out(&o));
    assert!(out(&o).lines().count() > prod.len());
    // Label selector.
    let some = names(&["get", "pods", "-A", "-l", "app=backend"]);
    assert!(!some.is_empty() && some.len() < out(&o).lines().count() - 1);
    // Unknown kind: a usage error with a suggestion.
    let o = tabby(&a, &["get", "globalnetworkpolicys"]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("did you mean `globalnetworkpolicy`?"),
        "{}",
        err(&o)
    );
    // A missing name: exit 1.
    let o = tabby(&a, &["get", "gnp", "nope"]);
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("GlobalNetworkPolicy `nope` not found"),
        "{}",
        err(&o)
    );
    // JSON of one object; a list otherwise.
    let v: serde_json::Value = serde_json::from_str(&out(&tabby(
        &a,
        &["get", "gnp", "default-deny", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(v["kind"], "GlobalNetworkPolicy");
    let v: serde_json::Value =
        serde_json::from_str(&out(&tabby(&a, &["get", "gnp", "-o", "json"]))).unwrap();
    assert_eq!(v["kind"], "GlobalNetworkPolicyList");
    assert_eq!(v["items"].as_array().unwrap().len(), all.len());
}

#[test]
fn label_sets_refuses_overwrite_and_removes() {
    let s = embedded();
    let a = s.args();
    assert_eq!(
        code(&tabby(
            &a,
            &["apply", "-f", "examples/policies/default-deny.yaml"]
        )),
        0
    );
    let o = tabby(&a, &["label", "gnp", "default-deny", "team=platform"]);
    assert_eq!(
        (code(&o), out(&o).trim()),
        (0, "GlobalNetworkPolicy default-deny labeled"),
        "{}",
        err(&o)
    );
    let o = tabby(&a, &["label", "gnp", "default-deny", "team=other"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("--overwrite"), "{}", err(&o));
    assert_eq!(
        code(&tabby(
            &a,
            &["label", "gnp", "default-deny", "team=other", "--overwrite"]
        )),
        0
    );
    let o = tabby(&a, &["get", "gnp", "-l", "team=other"]);
    assert!(out(&o).contains("default-deny"), "{}", out(&o));
    // Invalid label values are refused, as in a file.
    let o = tabby(&a, &["label", "gnp", "default-deny", "bad=has space"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert_eq!(
        code(&tabby(&a, &["label", "gnp", "default-deny", "team-"])),
        0
    );
    let o = tabby(&a, &["get", "gnp", "-l", "team"]);
    assert!(!out(&o).contains("default-deny"), "{}", out(&o));
    let o = tabby(&a, &["label", "gnp", "missing", "a=b"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn dry_run_shows_the_impact_and_changes_nothing() {
    let s = embedded();
    let a = s.args();
    assert_eq!(
        code(&tabby(
            &a,
            &["apply", "-f", "examples/cluster", "-f", "examples/policies"]
        )),
        0
    );
    let before = out(&tabby(&a, &["get", "gnp", "-o", "json"]));
    let o = tabby(
        &a,
        &[
            "apply",
            "-f",
            "examples/corrected",
            "--dry-run",
            "--flows",
            "examples/flows/normal.jsonl",
        ],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("nothing was written"), "{text}");
    assert!(text.contains("Tier security created (dry run)"), "{text}");
    assert!(
        text.contains("GlobalNetworkPolicy default-deny configured (dry run)"),
        "{text}"
    );
    assert!(text.contains("connections opened and closed:"), "{text}");
    assert!(
        !text.contains("none: every pair"),
        "the corrected policies change reachability: {text}"
    );
    assert!(text.contains("lint findings:"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("  - TL")),
        "the corrections remove findings: {text}"
    );
    assert!(text.contains("recorded flows:"), "{text}");
    assert_eq!(
        out(&tabby(&a, &["get", "gnp", "-o", "json"])),
        before,
        "the store is unchanged"
    );
    // A no-op change has no impact.
    let o = tabby(&a, &["apply", "-f", "examples/policies", "--dry-run"]);
    let text = out(&o);
    assert!(
        text.contains("unchanged (dry run)") && text.contains("none: every pair"),
        "{text}"
    );
    assert!(text.contains("lint findings:\n  no change"), "{text}");
}

#[test]
fn etcd_down_is_a_quick_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let o = tabby(&["--etcd-endpoints", &url], &["get", "gnp"]);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("the store is unavailable"), "{}", err(&o));
    assert!(err(&o).contains(&url), "{}", err(&o));
}

#[test]
fn embedded_store_is_created_under_xdg_data_home_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(["apply", "-f", "examples/policies/default-deny.yaml"])
        .current_dir(repo_root())
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(Path::new(&dir.path().join("tabby/store.redb")).exists());
}
