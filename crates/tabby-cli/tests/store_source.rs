//! The analysis commands reading the datastore (`tabby check --store PATH`,
//! `--etcd-endpoints URLS`), and the store commands over TLS to etcd with client
//! certificates. Each etcd here is private to the test (started on free loopback
//! ports, TLS certificates made at test time by `openssl`), so it holds exactly what
//! the test applied.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tabby_store::testing::{EtcdCluster, TestCerts};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tabby_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tabby"));
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("XDG_DATA_HOME")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null());
    for var in ["ETCD_CA_CERT_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn tabby(args: &[&str]) -> Output {
    tabby_env(args, &[])
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

/// What an analysis answered, without what depends on where objects came from:
/// source locations (`--> file:line`), example flows (`flow: ...`, picked by input
/// order), the count of input files, and line order (rows of equal rank follow
/// input order). Everything else must be the same.
fn answer(o: &Output) -> Vec<String> {
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
        strip_provenance(&mut v);
        return vec![v.to_string()];
    }
    let mut lines: Vec<String> = out(o)
        .lines()
        .filter(|l| !l.trim_start().starts_with("-->") && !l.trim_start().starts_with("flow:"))
        .map(|l| match l.find(" resources in ") {
            Some(i) => {
                let rest = &l[i..];
                let tail = rest
                    .find(" files")
                    .map_or("", |j| &rest[j + " files".len()..]);
                format!("{} resources in N files{tail}", &l[..i])
            }
            None => l.to_owned(),
        })
        .collect();
    lines.sort();
    lines
}

/// JSON output without source locations, the input file count and example flows,
/// and with arrays sorted.
fn strip_provenance(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for k in [
                "file",
                "line",
                "column",
                "location",
                "files",
                "counterexample",
            ] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_provenance);
        }
        serde_json::Value::Array(a) => {
            a.iter_mut().for_each(strip_provenance);
            // Rows of equal rank come in input order.
            a.sort_by_cached_key(ToString::to_string);
        }
        _ => {}
    }
}

/// The analyses compared, each as its arguments after the source.
const ANALYSES: &[&[&str]] = &[
    &["check"],
    &["check", "-o", "json"],
    &["validate"],
    &["lint"],
    &["reach"],
    &["reach", "--port", "53/UDP"],
    &[
        "trace",
        "--from",
        "production/backend",
        "--to",
        "kube-system/coredns",
        "--port",
        "53/UDP",
    ],
    &[
        "trace",
        "--from",
        "production/frontend",
        "--to",
        "production/backend",
        "--port",
        "8080",
    ],
    &["replay", "--flows", "examples/flows/normal.jsonl"],
    &["replay", "--flows", "examples/flows/suspicious.jsonl"],
];

const EXAMPLES: [&str; 2] = ["examples/cluster", "examples/policies"];

/// Applies `files` with the store flags `store`.
fn apply(store: &[&str], files: &[&str]) {
    let mut args = vec!["apply"];
    for f in files {
        args.extend(["-f", f]);
    }
    args.extend(store);
    let o = tabby(&args);
    assert_eq!(code(&o), 0, "apply: {}", err(&o));
}

/// Every analysis of the store `store` (holding `stored`) plus `extra` paths gives
/// what it gives for the files `stored` + `extra`.
fn same_as_files(store: &[&str], stored: &[&str], extra: &[&str]) {
    for analysis in ANALYSES {
        let mut from_files: Vec<&str> = analysis.to_vec();
        from_files.extend(stored);
        from_files.extend(extra);
        let files = tabby(&from_files);
        assert!(code(&files) < 2, "{from_files:?}: {}", err(&files));
        let mut from_store: Vec<&str> = analysis.to_vec();
        from_store.extend(store);
        from_store.extend(extra);
        let stored_out = tabby(&from_store);
        assert_eq!(
            code(&stored_out),
            code(&files),
            "{from_store:?} exit status; stderr: {}",
            err(&stored_out)
        );
        assert!(
            !out(&files).trim().is_empty(),
            "{from_files:?} printed nothing"
        );
        assert_eq!(answer(&stored_out), answer(&files), "{from_store:?}");
    }
}

#[test]
fn analyses_of_an_embedded_store_match_the_files_it_was_applied_from() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb").display().to_string();
    let store = ["--store", path.as_str()];
    apply(&store, &EXAMPLES);
    same_as_files(&store, &EXAMPLES, &[]);

    // Trace output is exact, location-free: the same bytes.
    let t = &ANALYSES[6];
    let mut a: Vec<&str> = t.to_vec();
    a.extend(EXAMPLES);
    let mut b: Vec<&str> = t.to_vec();
    b.extend(store);
    assert_eq!(out(&tabby(&b)), out(&tabby(&a)));

    // Recommend learns from the cluster state the store holds.
    let cluster_only = dir.path().join("c.redb").display().to_string();
    let cstore = ["--store", cluster_only.as_str()];
    apply(&cstore, &["examples/cluster"]);
    let flows = ["recommend", "--flows", "examples/flows/normal.jsonl"];
    let files = tabby(&[&flows[..], &["examples/cluster"]].concat());
    let stored = tabby(&[&flows[..], &cstore[..]].concat());
    assert_eq!(code(&files), 0, "{}", err(&files));
    assert_eq!(code(&stored), 0, "{}", err(&stored));
    assert_eq!(out(&stored), out(&files));
}

#[test]
fn a_store_and_paths_are_read_together() {
    // The store holds the cluster state; the policies come from files.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb").display().to_string();
    let store = ["--store", path.as_str()];
    apply(&store, &["examples/cluster"]);
    same_as_files(&store, &["examples/cluster"], &["examples/policies"]);
}

#[test]
fn analyses_of_etcd_match_the_files_it_was_applied_from() {
    let etcd = EtcdCluster::start(1).unwrap_or_else(|e| panic!("{e}"));
    let eps = etcd.endpoints();
    let store = ["--etcd-endpoints", eps.as_str()];
    apply(&store, &EXAMPLES);
    same_as_files(&store, &EXAMPLES, &[]);
}

#[test]
fn store_sources_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.redb");
    let m = missing.display().to_string();
    // (arguments, exit status, what stderr must say)
    let cases: Vec<(Vec<&str>, i32, Vec<&str>)> = vec![
        (
            vec!["check", "--store", &m],
            2,
            vec![&m, "no embedded store"],
        ),
        (
            vec!["trace", "--store", &m, "--from", "a/b", "--to", "c/d"],
            2,
            vec![&m],
        ),
        (
            vec!["check", "--store", "examples/policies"],
            2,
            vec!["examples/policies", "give them as paths"],
        ),
        (
            vec!["check", "--etcd-endpoints", "ftp://x:1"],
            2,
            vec!["`ftp://x:1`", "http://127.0.0.1:2379"],
        ),
        (
            vec!["check", "--etcd-endpoints", "http://127.0.0.1:1"],
            2,
            vec!["unavailable"],
        ),
        (
            vec!["check", "--store", &m, "--etcd-endpoints", "http://x:1"],
            2,
            vec!["cannot be used with"],
        ),
        // Without a store or a cluster, paths stay required.
        (vec!["check"], 2, vec!["<PATH>"]),
        (vec!["lint"], 2, vec!["<PATH>"]),
    ];
    for (args, status, wanted) in cases {
        let o = tabby(&args);
        assert_eq!(code(&o), status, "{args:?}: {}", err(&o));
        for w in wanted {
            assert!(
                err(&o).contains(w),
                "{args:?}: stderr lacks `{w}`:\n{}",
                err(&o)
            );
        }
        assert!(!err(&o).contains("panicked"), "{args:?}");
    }
    // A failed read creates no store file.
    assert!(!missing.exists());
}

/// A TLS etcd requiring client certificates, with its certificates.
struct TlsEtcd {
    certs: TestCerts,
    eps: String,
    dir: tempfile::TempDir,
    _etcd: EtcdCluster,
}

fn tls_etcd() -> TlsEtcd {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::create(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let etcd = EtcdCluster::start_tls(1, &certs).unwrap_or_else(|e| panic!("{e}"));
    TlsEtcd {
        eps: etcd.endpoints(),
        certs,
        dir,
        _etcd: etcd,
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn store_commands_and_analyses_over_tls_with_client_certificates() {
    let t = tls_etcd();
    assert!(t.eps.starts_with("https://"), "{}", t.eps);
    let (ca, cert, key) = (
        s(&t.certs.ca),
        s(&t.certs.client_cert),
        s(&t.certs.client_key),
    );
    let store = [
        "--etcd-endpoints",
        t.eps.as_str(),
        "--etcd-ca-cert-file",
        ca.as_str(),
        "--etcd-cert-file",
        cert.as_str(),
        "--etcd-key-file",
        key.as_str(),
    ];
    apply(&store, &EXAMPLES);
    let o = tabby(
        &[
            &["get", "gnp", "default-deny", "-o", "yaml"][..],
            &store[..],
        ]
        .concat(),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("name: default-deny"), "{}", out(&o));
    same_as_files(&store, &EXAMPLES, &[]);

    // calicoctl's environment variables work in place of the flags.
    let env = [
        ("ETCD_CA_CERT_FILE", ca.as_str()),
        ("ETCD_CERT_FILE", cert.as_str()),
        ("ETCD_KEY_FILE", key.as_str()),
    ];
    let o = tabby_env(
        &[
            "label",
            "gnp",
            "default-deny",
            "team=platform",
            "--etcd-endpoints",
            &t.eps,
        ],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = tabby_env(
        &[
            "get",
            "gnp",
            "-l",
            "team=platform",
            "--etcd-endpoints",
            &t.eps,
        ],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("default-deny"), "{}", out(&o));

    let o = tabby(&[&["delete", "gnp", "default-deny"][..], &store[..]].concat());
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = tabby(&[&["get", "gnp", "default-deny"][..], &store[..]].concat());
    assert_eq!(code(&o), 1, "{}", err(&o));
}

#[test]
fn tls_mistakes_are_clear_errors() {
    let t = tls_etcd();
    let (ca, cert, key) = (
        s(&t.certs.ca),
        s(&t.certs.client_cert),
        s(&t.certs.client_key),
    );
    let other_ca = s(&t.certs.other_ca);
    let garbled = t.dir.path().join("garbled.pem");
    std::fs::write(
        &garbled,
        "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let garbled = s(&garbled);
    let missing = s(&t.dir.path().join("missing.pem"));
    let eps = t.eps.as_str();
    let http = eps.replace("https://", "http://");
    let tls = |ca: &str, cert: &str, key: &str| -> Vec<String> {
        let mut v = vec!["--etcd-endpoints".to_owned(), eps.to_owned()];
        for (flag, file) in [
            ("--etcd-ca-cert-file", ca),
            ("--etcd-cert-file", cert),
            ("--etcd-key-file", key),
        ] {
            if !file.is_empty() {
                v.push(flag.into());
                v.push(file.into());
            }
        }
        v
    };
    // (store flags, what stderr must say); every one is exit status 2.
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            tls(&missing, &cert, &key),
            vec![missing.as_str(), "CA certificate"],
        ),
        (
            tls(&garbled, &cert, &key),
            vec![garbled.as_str(), "not a valid PEM"],
        ),
        (
            tls(&ca, &missing, &key),
            vec![missing.as_str(), "client certificate"],
        ),
        (
            tls(&ca, &cert, &garbled),
            vec![garbled.as_str(), "private key"],
        ),
        (tls(&ca, &cert, ""), vec!["--etcd-key-file"]),
        (tls("", &cert, &key), vec!["--etcd-ca-cert-file"]),
        // The wrong CA: etcd's certificate fails verification.
        (
            tls(&other_ca, &cert, &key),
            vec![
                "failed verification",
                "UnknownIssuer",
                "--etcd-ca-cert-file",
            ],
        ),
        // No client certificate: etcd refuses the handshake.
        (tls(&ca, "", ""), vec!["--etcd-cert-file"]),
        // Plain http to a TLS etcd.
        (
            vec!["--etcd-endpoints".into(), http.clone()],
            vec!["https://"],
        ),
        // TLS files for an http endpoint: a mistake, said so.
        (
            vec![
                "--etcd-endpoints".into(),
                http.clone(),
                "--etcd-ca-cert-file".into(),
                ca.clone(),
            ],
            vec!["no etcd endpoint is https"],
        ),
    ];
    for (flags, wanted) in cases {
        for cmd in [&["get", "gnp"][..], &["check"][..]] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend(flags.iter().map(String::as_str));
            let o = tabby(&args);
            assert_eq!(code(&o), 2, "{args:?}: {}", err(&o));
            for w in &wanted {
                assert!(
                    err(&o).contains(w),
                    "{args:?}: stderr lacks `{w}`:\n{}",
                    err(&o)
                );
            }
            assert!(!err(&o).contains("panicked"), "{args:?}");
        }
    }
    // The environment's TLS files do not apply to an http endpoint (a shell set up
    // for a TLS etcd can still use a plain one): the error is about the endpoint.
    let o = tabby_env(
        &["get", "gnp", "--etcd-endpoints", &http],
        &[("ETCD_CA_CERT_FILE", &ca)],
    );
    assert_eq!(code(&o), 2);
    assert!(
        !err(&o).contains("no etcd endpoint is https"),
        "{}",
        err(&o)
    );
    // TLS flags without etcd are a usage error.
    let o = tabby(&["get", "gnp", "--etcd-ca-cert-file", &ca]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--etcd-endpoints"), "{}", err(&o));
}

#[test]
fn diff_takes_the_store_as_the_old_side() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb").display().to_string();
    let store = ["--store", path.as_str()];
    apply(&store, &EXAMPLES);
    for format in ["table", "json", "csv"] {
        let files = tabby(&[
            "diff",
            "--cluster",
            "examples/cluster",
            "examples/policies",
            "examples/corrected",
            "-o",
            format,
        ]);
        let stored = tabby(&["diff", "--store", &path, "examples/corrected", "-o", format]);
        assert_eq!(code(&files), 1, "{}", err(&files));
        assert_eq!(code(&stored), 1, "{}", err(&stored));
        assert_eq!(answer(&stored), answer(&files), "-o {format}");
    }
    // NEW applied over the store: a partial change keeps every other stored policy.
    let one = dir.path().join("one");
    std::fs::create_dir(&one).unwrap();
    std::fs::copy(
        repo_root().join("examples/corrected/allow-dns.yaml"),
        one.join("allow-dns.yaml"),
    )
    .unwrap();
    let mut with_one = vec!["diff", "--cluster", "examples/cluster", "examples/policies"];
    let merged = dir.path().join("merged");
    std::fs::create_dir(&merged).unwrap();
    for e in std::fs::read_dir(repo_root().join("examples/policies")).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "allow-dns.yaml" {
            std::fs::copy(e.path(), merged.join(e.file_name())).unwrap();
        }
    }
    std::fs::copy(one.join("allow-dns.yaml"), merged.join("allow-dns.yaml")).unwrap();
    let merged_s = s(&merged);
    with_one.push(&merged_s);
    let files = tabby(&with_one);
    let one_s = s(&one);
    let stored = tabby(&["diff", "--store", &path, &one_s]);
    assert_eq!(code(&stored), code(&files), "{}", err(&stored));
    assert_eq!(answer(&stored), answer(&files));
    // Applying what the store holds changes nothing.
    let same = tabby(&["diff", "--store", &path, "examples/policies"]);
    assert_eq!(code(&same), 0, "{}", out(&same));
    // OLD and NEW with a store: which one is old?
    let both = tabby(&[
        "diff",
        "--store",
        &path,
        "examples/policies",
        "examples/corrected",
    ]);
    assert_eq!(code(&both), 2);
    assert!(err(&both).contains("give only NEW"), "{}", err(&both));
}

/// Every `*.yaml` under `dir`, by path relative to it, with the lines that depend
/// on the store written from left out: the header comment and the `uid` and
/// `creationTimestamp` a store sets itself.
fn snapshot_files(dir: &Path) -> std::collections::BTreeMap<String, String> {
    fn walk(root: &Path, d: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let t = l.trim_start();
                    !t.starts_with('#')
                        && !t.starts_with("uid:")
                        && !t.starts_with("creationTimestamp:")
                })
                .collect();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, kept.join("\n"));
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `tabby get PLURAL -A -o json` without what a store sets itself.
fn get_json(store: &[&str], plural: &str) -> serde_json::Value {
    let mut args = vec!["get", plural, "-A", "-o", "json"];
    args.extend(store);
    let o = tabby(&args);
    assert_eq!(code(&o), 0, "{args:?}: {}", err(&o));
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for item in v["items"].as_array_mut().unwrap() {
        let meta = item["metadata"].as_object_mut().unwrap();
        for f in ["uid", "creationTimestamp", "resourceVersion"] {
            meta.remove(f);
        }
    }
    v
}

/// `tabby snapshot` of the store `store` holding the examples: the snapshot layout,
/// every analysis of the files equal to the store's, and `tabby apply -f DIR` into
/// a new store restoring the same objects.
fn snapshot_round_trip(store: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let d = dir.display().to_string();
    let mut args = vec!["snapshot", "-o", d.as_str()];
    args.extend(store);
    let o = tabby(&args);
    assert_eq!(code(&o), 0, "{args:?}: {}", err(&o));
    assert!(err(&o).contains("wrote 75 objects from "), "{}", err(&o));

    // The layout a cluster snapshot uses.
    let files = snapshot_files(&dir);
    for f in [
        "_cluster/globalnetworkpolicies.projectcalico.org.yaml",
        "_cluster/namespaces.yaml",
        "production/networkpolicies.projectcalico.org.yaml",
        "production/pods.yaml",
        "production/deployments.apps.yaml",
    ] {
        assert!(files.contains_key(f), "no {f} in {:?}", files.keys());
    }
    // Revisions are the source store's: left out, so the files restore anywhere.
    for (f, text) in &files {
        assert!(!text.contains("resourceVersion"), "{f}:\n{text}");
    }

    // Every analysis reads the snapshot as it reads the store.
    same_as_files(store, &[d.as_str()], &[]);

    // A second snapshot into the same directory is refused.
    let o = tabby(&args);
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(err(&o).contains("is not empty"), "{}", err(&o));

    // Restore into a new store: the same objects, and its snapshot the same files.
    let restored = tmp.path().join("restored.redb").display().to_string();
    let rstore = ["--store", restored.as_str()];
    apply(&rstore, &[d.as_str()]);
    let plurals: std::collections::BTreeSet<&str> = files
        .keys()
        .map(|f| {
            let name = f.rsplit('/').next().unwrap();
            name.split('.').next().unwrap()
        })
        .collect();
    assert!(plurals.len() >= 10, "{plurals:?}");
    for plural in plurals {
        let a = get_json(store, plural);
        assert!(!a["items"].as_array().unwrap().is_empty(), "{plural}");
        assert_eq!(get_json(&rstore, plural), a, "{plural}");
    }
    let again = tmp.path().join("again");
    let a = again.display().to_string();
    let o = tabby(&["snapshot", "--store", restored.as_str(), "-o", a.as_str()]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(snapshot_files(&again), files);
}

#[test]
fn a_snapshot_of_an_embedded_store_is_a_backup_every_command_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.redb").display().to_string();
    let store = ["--store", path.as_str()];
    apply(&store, &EXAMPLES);
    snapshot_round_trip(&store);
}

#[test]
fn a_snapshot_of_etcd_is_a_backup_every_command_reads() {
    let etcd = EtcdCluster::start(1).unwrap_or_else(|e| panic!("{e}"));
    let eps = etcd.endpoints();
    let store = ["--etcd-endpoints", eps.as_str()];
    apply(&store, &EXAMPLES);
    snapshot_round_trip(&store);
}

#[test]
fn snapshot_needs_one_source() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let o_s = out_dir.display().to_string();
    let missing = tmp.path().join("missing.redb").display().to_string();
    let kc = tmp.path().join("kubeconfig").display().to_string();
    // (arguments, what stderr must say)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["snapshot", "-o", &o_s], "or which store"),
        (
            vec!["snapshot", "--store", &missing, "--cluster", "-o", &o_s],
            "not both",
        ),
        (
            vec![
                "snapshot",
                "--etcd-endpoints",
                "http://127.0.0.1:1",
                "--kubeconfig",
                &kc,
                "-o",
                &o_s,
            ],
            "not both",
        ),
        (
            vec!["snapshot", "--store", &missing, "-o", &o_s],
            "no embedded store",
        ),
        (
            vec![
                "snapshot",
                "--etcd-endpoints",
                "http://127.0.0.1:1",
                "-o",
                &o_s,
            ],
            "unavailable",
        ),
    ];
    for (args, want) in cases {
        let o = tabby(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", err(&o));
        assert!(err(&o).contains(want), "{args:?}: {}", err(&o));
        // Nothing was written, and no store file created.
        assert!(!out_dir.exists(), "{args:?}");
        assert!(!Path::new(&missing).exists(), "{args:?}");
    }
}
