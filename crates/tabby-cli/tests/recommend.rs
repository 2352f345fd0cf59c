//! `tabby recommend` end to end on the bundled example cluster: the output is proved,
//! validates, replays clean, lints clean of the DNS/system mistakes, and is stable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test loudly"
)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tabby_flowlog::{write_record, EndpointKind, FlowEndpoint, FlowRecord, Format, Reporter};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tabby(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run tabby")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tabby-recommend-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pod(ns: &str, name: &str, labels: &[(&str, &str)], ip: &str) -> FlowEndpoint {
    FlowEndpoint {
        kind: EndpointKind::Workload,
        namespace: Some(ns.into()),
        name: Some(name.into()),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ip: Some(ip.parse().unwrap()),
    }
}

fn other(kind: EndpointKind, name: &str, ip: &str) -> FlowEndpoint {
    FlowEndpoint {
        kind,
        name: Some(name.into()),
        ip: Some(ip.parse::<IpAddr>().unwrap()),
        ..FlowEndpoint::default()
    }
}

/// The example cluster's normal traffic (examples/README.md).
fn normal_traffic() -> Vec<FlowRecord> {
    let backend1 = pod(
        "production",
        "backend-7c9d8b6f4d-h2x8k",
        &[("app", "backend"), ("pod-template-hash", "7c9d8b6f4d")],
        "10.244.1.12",
    );
    let backend2 = pod(
        "production",
        "backend-7c9d8b6f4d-q9w4z",
        &[("app", "backend"), ("pod-template-hash", "7c9d8b6f4d")],
        "10.244.2.17",
    );
    let frontend = pod(
        "production",
        "frontend-6b8f5c7d9-tq2lm",
        &[("app", "frontend")],
        "10.244.1.30",
    );
    let postgres = pod(
        "production",
        "postgres-0",
        &[("app", "postgres")],
        "10.244.2.21",
    );
    let coredns = pod(
        "kube-system",
        "coredns-5d78c9869d-4xk2p",
        &[("k8s-app", "kube-dns")],
        "10.244.1.5",
    );
    let prometheus = pod(
        "monitoring",
        "prometheus-7f9c6d8b5-x7r2n",
        &[("app", "prometheus")],
        "10.244.2.40",
    );
    let web_a = pod(
        "tenant-a",
        "web-59d7c8b6c4-kq8zt",
        &[("app", "web")],
        "10.244.1.40",
    );
    let api_a = pod(
        "tenant-a",
        "api-6c4d9f7b8-r5t6y",
        &[("app", "api")],
        "10.244.2.50",
    );
    let managed = FlowEndpoint {
        labels: vec![("role".into(), "database".into())],
        ..other(EndpointKind::NetworkSet, "managed-postgres", "10.20.30.40")
    };
    let r = |src: &FlowEndpoint, dst: &FlowEndpoint, proto: u8, port: u16| FlowRecord {
        src: src.clone(),
        dst: dst.clone(),
        protocol: proto,
        dst_port: Some(port),
        src_port: Some(43210),
        reporter: Reporter::Src,
        ..FlowRecord::default()
    };
    let mut v = vec![
        r(&frontend, &backend1, 6, 8000),
        r(&frontend, &backend2, 6, 8000),
        r(&backend1, &postgres, 6, 5432),
        r(&backend2, &postgres, 6, 5432),
        r(&backend1, &managed, 6, 5432),
        r(
            &backend2,
            &other(EndpointKind::Net, "pub", "192.0.2.70"),
            6,
            443,
        ),
        r(
            &other(EndpointKind::Net, "pub", "203.0.113.10"),
            &frontend,
            6,
            8080,
        ),
        r(&prometheus, &backend1, 6, 8000),
        r(&prometheus, &frontend, 6, 8080),
        r(
            &prometheus,
            &other(EndpointKind::Net, "pvt", "10.0.1.10"),
            6,
            6443,
        ),
        r(&web_a, &api_a, 6, 9000),
        r(
            &other(EndpointKind::Host, "node-1", "10.0.1.11"),
            &backend1,
            6,
            8000,
        ),
    ];
    for p in [
        &backend1,
        &backend2,
        &frontend,
        &postgres,
        &prometheus,
        &web_a,
        &api_a,
    ] {
        v.push(r(p, &coredns, 17, 53));
    }
    v
}

fn write_flows(dir: &Path) -> PathBuf {
    let mut s = String::new();
    tabby_flowlog::write_header(Format::Jsonl, &mut s);
    for rec in normal_traffic() {
        write_record(Format::Jsonl, &rec, &mut s);
    }
    let p = dir.join("normal.jsonl");
    std::fs::write(&p, s).unwrap();
    p
}

fn recommend(dir: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let flows = write_flows(dir);
    let mut args = vec![
        "recommend",
        "--flows",
        flows.to_str().unwrap(),
        "examples/cluster",
    ];
    args.extend_from_slice(extra);
    let out = tabby(&args);
    let file = dir.join(format!(
        "out-{}.yaml",
        extra.join("").replace(['-', ' '], "")
    ));
    std::fs::write(&file, &out.stdout).unwrap();
    (out, file)
}

#[test]
fn calico_output_is_proved_valid_and_replays_clean() {
    let dir = tmp_dir("calico");
    let (out, file) = recommend(&dir, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("proof passed: all 19 distinct flows replayed are allowed"),
        "{err}"
    );
    assert!(err.contains("in 3 namespaces"), "{err}");
    let yaml = text(&out.stdout);
    for want in [
        "name: allow-backend",
        "name: allow-frontend",
        "name: allow-postgres",
        "name: allow-prometheus",
        "name: allow-web",
        "name: allow-api",
        "name: default-deny",
        "kind: NetworkPolicy",
        "192.0.2.70/32",
        "namespaceSelector: global()",
    ] {
        assert!(yaml.contains(want), "missing {want}:\n{yaml}");
    }
    assert!(
        !yaml.contains("pod-template-hash") && !yaml.contains("h2x8k"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("namespace: kube-system"),
        "system namespaces get no policies:\n{yaml}"
    );

    let v = tabby(&["validate", "examples/cluster", file.to_str().unwrap()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        text(&v.stdout),
        text(&v.stderr)
    );

    // The flows team's replay agrees: nothing observed breaks.
    let flows = dir.join("normal.jsonl");
    // PATHs first: `tabby replay` reads every value after `--flows` as a flow log.
    let r = tabby(&[
        "replay",
        "examples/cluster",
        file.to_str().unwrap(),
        "--flows",
        flows.to_str().unwrap(),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}{}",
        text(&r.stdout),
        text(&r.stderr)
    );

    // No DNS or system-isolation findings.
    let l = tabby(&["lint", "examples/cluster", file.to_str().unwrap()]);
    let lint = text(&l.stdout);
    assert!(!lint.contains("TL001") && !lint.contains("TL002"), "{lint}");
}

#[test]
fn kubernetes_output_is_proved_and_valid() {
    let dir = tmp_dir("k8s");
    let (out, file) = recommend(&dir, &["--format", "kubernetes"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("proof passed"), "{err}");
    let yaml = text(&out.stdout);
    assert!(yaml.contains("apiVersion: networking.k8s.io/v1"), "{yaml}");
    assert!(yaml.contains("podSelector: {}"), "{yaml}");
    assert!(!yaml.contains("projectcalico.org/v3"), "{yaml}");
    let v = tabby(&["validate", "examples/cluster", file.to_str().unwrap()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        text(&v.stdout),
        text(&v.stderr)
    );
}

#[test]
fn json_is_a_list_and_namespace_filters() {
    let dir = tmp_dir("json");
    let (out, _) = recommend(&dir, &["-o", "json", "--namespace", "tenant-a"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "List");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["allow-api", "allow-web", "default-deny"]);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["metadata"]["namespace"] == "tenant-a"));
}

#[test]
fn output_fed_back_gives_the_same_output() {
    let dir = tmp_dir("idem");
    let (first, file) = recommend(&dir, &[]);
    assert_eq!(first.status.code(), Some(0));
    let flows = dir.join("normal.jsonl");
    let again = tabby(&[
        "recommend",
        "--flows",
        flows.to_str().unwrap(),
        "examples/cluster",
        file.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(text(&first.stdout), text(&again.stdout));
}

#[test]
fn apiserver_and_malformed_records() {
    let dir = tmp_dir("api");
    let flows = write_flows(&dir);
    let mut s = std::fs::read_to_string(&flows).unwrap();
    s.push_str("{\"this is\": not a record\n");
    std::fs::write(&flows, s).unwrap();
    let out = tabby(&[
        "recommend",
        "--flows",
        flows.to_str().unwrap(),
        "examples/cluster",
        "--apiserver",
        "10.0.1.10:6443",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(":20: error:"),
        "line number of the bad record: {err}"
    );
    assert!(err.contains("1 malformed skipped"), "{err}");
    let yaml = text(&out.stdout);
    assert!(yaml.contains("10.0.1.10/32"), "{yaml}");
}

#[test]
fn unreadable_inputs_exit_2() {
    let out = tabby(&["recommend", "--flows", "does/not/exist.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
    let dir = tmp_dir("bad");
    let flows = write_flows(&dir);
    let out = tabby(&[
        "recommend",
        "--flows",
        flows.to_str().unwrap(),
        "does/not/exist",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// The bundled example's normal traffic (examples/flows/normal.jsonl): proved, valid in
/// both formats, and flows the log never shows are denied.
#[test]
fn examples_normal_traffic() {
    let dir = tmp_dir("examples");
    for (format, name) in [("calico", "calico.yaml"), ("kubernetes", "k8s.yaml")] {
        let out = tabby(&[
            "recommend",
            "--flows",
            "examples/flows/normal.jsonl",
            "examples/cluster",
            "--format",
            format,
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
        assert!(err.contains("proof passed"), "{format}: {err}");
        let file = dir.join(name);
        std::fs::write(&file, &out.stdout).unwrap();
        let f = file.to_str().unwrap();
        let v = tabby(&["validate", "examples/cluster", f]);
        assert_eq!(
            v.status.code(),
            Some(0),
            "{format}: {}{}",
            text(&v.stdout),
            text(&v.stderr)
        );
        // (from, to, port, allowed?)
        for (from, to, port, want) in [
            (
                "production/frontend-6b8f5c7d9-tq2lm",
                "production/backend-7c9d8b6f4d-h2x8k",
                "8000/TCP",
                0,
            ),
            (
                "production/backend-7c9d8b6f4d-h2x8k",
                "production/postgres-0",
                "5432/TCP",
                0,
            ),
            (
                "production/frontend-6b8f5c7d9-tq2lm",
                "kube-system/coredns-5d78c9869d-m8vbn",
                "53/UDP",
                0,
            ),
            // Never observed: another port, another peer, another namespace.
            (
                "production/backend-7c9d8b6f4d-h2x8k",
                "production/postgres-0",
                "5433/TCP",
                1,
            ),
            (
                "production/frontend-6b8f5c7d9-tq2lm",
                "production/postgres-0",
                "5432/TCP",
                1,
            ),
            (
                "tenant-a/web-59d7c8b6c4-kq8zt",
                "tenant-b/web-7d8c9b5f6-p3m9n",
                "8080/TCP",
                1,
            ),
            (
                "tenant-b/web-7d8c9b5f6-p3m9n",
                "tenant-a/api-6c4d9f7b8-r5t6y",
                "9000/TCP",
                1,
            ),
            (
                "production/backend-7c9d8b6f4d-h2x8k",
                "staging/postgres-0",
                "5432/TCP",
                1,
            ),
        ] {
            let t = tabby(&[
                "trace",
                "examples/cluster",
                f,
                "--from",
                from,
                "--to",
                to,
                "--port",
                port,
            ]);
            assert_eq!(
                t.status.code(),
                Some(want),
                "{format}: {from} -> {to} {port}\n{}{}",
                text(&t.stdout),
                text(&t.stderr)
            );
        }
    }
}
