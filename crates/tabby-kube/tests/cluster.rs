//! Reading a cluster through kube-rs against recorded API responses (tests/support).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use support::{generate, kubeconfig, recorded_dir, serve, Calico, Route, Scenario};
use tabby_api::Kind;
use tabby_kube::{
    code, read_cluster, ClusterRead, ClusterSource, ReadError, ReadOptions, MAX_DISCOVERY_BYTES,
};
use tabby_load::{load_paths, LoadOptions};

const SCENARIOS: &[(&str, Calico)] = &[("crd", Calico::Crd), ("apiserver", Calico::ApiServer)];

#[test]
fn recorded_fixtures_match_the_examples() {
    for (name, calico) in SCENARIOS {
        let dir = recorded_dir().join(name);
        let fresh = generate(*calico);
        if std::env::var_os("TABBY_UPDATE_RECORDED").is_some() {
            fresh.write(&dir);
        }
        let stored = Scenario::read(&dir);
        assert!(
            stored == fresh,
            "tests/recorded/{name} is out of date with examples/: run \
             TABBY_UPDATE_RECORDED=1 cargo test -p tabby-kube --test cluster"
        );
    }
}

fn read(name: &str, opts: &ReadOptions) -> (Result<ClusterRead, ReadError>, Vec<String>) {
    read_scenario(name, Scenario::read(&recorded_dir().join(name)), opts)
}

fn read_scenario(
    tag: &str,
    scenario: Scenario,
    opts: &ReadOptions,
) -> (Result<ClusterRead, ReadError>, Vec<String>) {
    let server = serve(scenario);
    let tmp = tempdir(tag);
    let source = ClusterSource {
        kubeconfig: Some(kubeconfig(&tmp, server.port)),
        context: None,
    };
    let r = read_cluster(&source, opts);
    let log = server.log.lock().unwrap().clone();
    (r, log)
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tabby-kube-test-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (kind, namespace, name) of every object, from the cluster or from the examples.
fn identities_of_examples() -> Vec<(Kind, Option<String>, String)> {
    let root = support::workspace();
    let loaded = load_paths(
        &[
            root.join("examples/cluster"),
            root.join("examples/policies"),
        ],
        &LoadOptions::default(),
    );
    let mut v: Vec<_> = loaded
        .objects
        .iter()
        .filter_map(|o| {
            let kind = Kind::from_type_meta(&o.api_version, &o.kind)?;
            let ns = kind
                .is_namespaced()
                .then(|| o.namespace.clone().unwrap_or_else(|| "default".into()));
            Some((kind, ns, o.name.clone().unwrap_or_default()))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn reads_every_example_object_in_both_calico_modes() {
    for (name, _) in SCENARIOS {
        let (r, log) = read(name, &ReadOptions::default());
        let r = r.unwrap();
        assert_eq!(r.context, "recorded");
        assert!(r.server.starts_with("http://127.0.0.1:"), "{}", r.server);
        let mut got: Vec<_> = r
            .objects
            .iter()
            .map(|o| {
                (
                    o.kind,
                    o.namespace().map(str::to_owned),
                    o.name().to_owned(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, identities_of_examples(), "scenario {name}");

        // Calico objects come out in their v3 form whichever way they were stored.
        for o in &r.objects {
            let api = o.value["apiVersion"].as_str().unwrap();
            assert_eq!(api, o.kind.api_versions()[0], "{name}: {}", o.value);
            assert_eq!(o.value["kind"], o.kind.name());
            assert!(o.value["metadata"].get("managedFields").is_none());
            let ann = &o.value["metadata"]["annotations"];
            assert!(
                ann.get("projectcalico.org/metadata").is_none(),
                "{}",
                o.value
            );
        }

        // Every list asked for a page size; the pods list was restarted once.
        let lists: Vec<&String> = log.iter().filter(|l| l.contains("limit=")).collect();
        assert!(lists.iter().all(|l| l.contains("limit=500")), "{lists:?}");
        let pod_first_pages = log
            .iter()
            .filter(|l| l.starts_with("/api/v1/pods?") && !l.contains("continue="))
            .count();
        assert_eq!(pod_first_pages, 2, "{log:?}");
        let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&code::LIST_RESTARTED), "{codes:?}");
        assert!(codes.contains(&code::FORBIDDEN), "{codes:?}");
        let forbidden = r
            .diagnostics
            .iter()
            .find(|d| d.code == code::FORBIDDEN)
            .unwrap();
        assert!(
            forbidden.message.contains("/apis/batch/v1/cronjobs"),
            "{}",
            forbidden.message
        );

        // Calico's source follows discovery.
        let calico_note = r
            .diagnostics
            .iter()
            .find(|d| d.code == code::CALICO_SOURCE)
            .unwrap();
        let asked_crd = log
            .iter()
            .any(|l| l.starts_with("/apis/crd.projectcalico.org/v1/"));
        let asked_v3 = log
            .iter()
            .any(|l| l.starts_with("/apis/projectcalico.org/v3/"));
        match *name {
            "crd" => {
                assert!(
                    calico_note.message.contains("from their CRDs"),
                    "{}",
                    calico_note.message
                );
                assert!(asked_crd && !asked_v3, "{log:?}");
                assert!(codes.contains(&code::GROUP_UNAVAILABLE), "{codes:?}");
            }
            _ => {
                assert!(
                    calico_note.message.contains("API server"),
                    "{}",
                    calico_note.message
                );
                assert!(asked_v3 && !asked_crd, "{log:?}");
            }
        }
        // WorkloadEndpoints and Profiles are derived from pods and namespaces: never listed.
        assert!(!log
            .iter()
            .any(|l| l.contains("workloadendpoints") || l.contains("/profiles")));
    }
}

#[test]
fn both_calico_modes_load_and_validate_like_the_examples() {
    let root = support::workspace();
    let files = load_paths(
        &[
            root.join("examples/cluster"),
            root.join("examples/policies"),
        ],
        &LoadOptions::default(),
    );
    let from_files = tabby_validate::validate(&files.objects);
    let summary = |d: &tabby_diag::Diagnostics| {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for x in d.iter().filter(|x| {
            !x.code.starts_with("N") && !x.code.ends_with("0903") && !x.code.ends_with("0901")
        }) {
            *m.entry(x.code).or_default() += 1;
        }
        m
    };
    for (name, _) in SCENARIOS {
        let (r, _) = read(name, &ReadOptions::default());
        let r = r.unwrap();
        let loaded = r.to_loaded(&LoadOptions::default());
        assert_eq!(loaded.objects.len(), r.objects.len());
        assert_eq!(loaded.files.len(), r.objects.len());
        // Each object is its own source, named after the object.
        let first_np = loaded
            .objects
            .iter()
            .find(|o| o.api_version == "projectcalico.org/v3" && o.kind == "GlobalNetworkPolicy")
            .unwrap();
        assert!(
            first_np
                .file
                .name()
                .starts_with("cluster:recorded/GlobalNetworkPolicy.projectcalico.org/"),
            "{}",
            first_np.file.name()
        );
        let validated = tabby_validate::validate(&loaded.objects);
        assert_eq!(
            summary(&validated.diagnostics),
            summary(&from_files.diagnostics),
            "scenario {name}"
        );
        assert_eq!(
            validated.cluster.namespaces.len(),
            from_files.cluster.namespaces.len()
        );
    }
}

#[test]
fn snapshot_reads_back_as_the_same_objects() {
    let (r, _) = read("crd", &ReadOptions::default());
    let r = r.unwrap();
    let dir = tempdir("snapshot").join("snap");
    let files = r.write_snapshot(&dir).unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("_cluster/namespaces.yaml")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("_cluster/globalnetworkpolicies.projectcalico.org.yaml")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("production/pods.yaml")),
        "{files:?}"
    );
    let loaded = load_paths(&[&dir], &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let from_cluster = r.to_loaded(&LoadOptions::default());
    // The same objects, except that a snapshot leaves out the cluster's
    // resourceVersion (so that it restores into any store).
    let key = |o: &tabby_load::RawObject| {
        let mut v = o.node.to_json();
        if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.remove("resourceVersion");
        }
        (
            o.api_version.clone(),
            o.kind.clone(),
            o.namespace.clone(),
            o.name.clone(),
            v,
        )
    };
    let rv =
        |o: &&tabby_load::RawObject| o.node.to_json()["metadata"]["resourceVersion"].is_string();
    assert!(
        !loaded.objects.iter().any(|o| rv(&o)),
        "no resourceVersion in the files"
    );
    let mut a: Vec<_> = loaded.objects.iter().map(key).collect();
    let mut b: Vec<_> = from_cluster.objects.iter().map(key).collect();
    a.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    b.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    assert_eq!(a, b);

    // A second snapshot into the same directory is refused, not merged.
    let e = r.write_snapshot(&dir).unwrap_err();
    assert!(e.to_string().contains("is not empty"), "{e}");
}

#[test]
fn small_pages_take_more_requests_and_give_the_same_objects() {
    let (big, _) = read("apiserver", &ReadOptions::default());
    let opts = ReadOptions {
        page_size: 2,
        ..ReadOptions::default()
    };
    let (small, log) = read("apiserver", &opts);
    assert_eq!(big.unwrap().objects, small.unwrap().objects);
    assert!(log
        .iter()
        .filter(|l| l.contains("limit="))
        .all(|l| l.contains("limit=2")));
}

#[test]
fn a_list_that_keeps_expiring_is_an_error_after_the_restarts() {
    let opts = ReadOptions {
        max_restarts: 0,
        ..ReadOptions::default()
    };
    let (r, _) = read("crd", &opts);
    let e = r.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("/api/v1/pods") && msg.contains("410"), "{msg}");
}

#[test]
fn too_many_objects_is_an_error() {
    let opts = ReadOptions {
        max_objects: 5,
        timeout: Duration::from_secs(5),
        ..ReadOptions::default()
    };
    let (r, _log) = read("crd", &opts);
    assert!(matches!(r, Err(ReadError::TooMany(5))), "{r:?} {_log:?}");
}

#[test]
fn configuration_errors_are_clear() {
    let tmp = tempdir("config");
    let server = serve(Scenario::read(&recorded_dir().join("crd")));
    let kc = kubeconfig(&tmp, server.port);
    let cases: Vec<(ClusterSource, &str)> = vec![
        (
            ClusterSource {
                kubeconfig: Some(tmp.join("missing")),
                context: None,
            },
            "cannot read kubeconfig",
        ),
        (
            ClusterSource {
                kubeconfig: Some(kc.clone()),
                context: Some("prod".into()),
            },
            "no context `prod` in the kubeconfig (contexts in the kubeconfig: `recorded`, `other`)",
        ),
        // The `other` context points at a closed port: a request error, quickly.
        (
            ClusterSource {
                kubeconfig: Some(kc.clone()),
                context: Some("other".into()),
            },
            "cannot read `/api/v1` from the cluster at `http://127.0.0.1:9/`",
        ),
    ];
    for (source, want) in cases {
        let opts = ReadOptions {
            request_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            ..ReadOptions::default()
        };
        let e = read_cluster(&source, &opts).unwrap_err().to_string();
        assert!(e.contains(want), "{e}\nwanted: {want}");
    }
    let bad = tmp.join("bad-kubeconfig");
    std::fs::write(&bad, "current-context: [unclosed").unwrap();
    let e = read_cluster(
        &ClusterSource {
            kubeconfig: Some(bad),
            context: None,
        },
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ReadError::Config(_)), "{e}");
}

/// A server that accepts connections and never answers: the read gives up in time.
#[test]
fn a_silent_server_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(4) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let tmp = tempdir("silent");
    let source = ClusterSource {
        kubeconfig: Some(kubeconfig(&tmp, port)),
        context: None,
    };
    let opts = ReadOptions {
        request_timeout: Duration::from_millis(300),
        timeout: Duration::from_secs(2),
        ..ReadOptions::default()
    };
    let started = std::time::Instant::now();
    let e = read_cluster(&source, &opts).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(e, ReadError::Timeout { .. } | ReadError::Request { .. }),
        "{e}"
    );
}

/// The `crd` scenario, where the first page of pods is answered, to a request with
/// one of `limits`, with a page padded past 64 KiB (a list field no client reads).
fn padded_pods(limits: &[u32]) -> Scenario {
    let mut s = Scenario::read(&recorded_dir().join("crd"));
    let first = s
        .routes
        .iter()
        .find(|r| r.path == "/api/v1/pods" && r.r#continue.is_none())
        .unwrap()
        .clone();
    let mut page: Value = serde_json::from_str(&s.files[&first.file]).unwrap();
    page["metadata"]["padding"] = json!("p".repeat(100_000));
    s.files.insert("padded.json".into(), page.to_string());
    for &limit in limits {
        s.routes.insert(
            0,
            Route {
                file: "padded.json".into(),
                limit: Some(limit),
                ..first.clone()
            },
        );
    }
    s
}

/// Pages of at most 64 KiB.
fn small_pages() -> ReadOptions {
    ReadOptions {
        max_page_bytes: 65536,
        ..ReadOptions::default()
    }
}

#[test]
fn a_page_over_the_byte_limit_is_asked_for_again_with_fewer_objects() {
    let (plain, _) = read("crd", &small_pages());
    let (halved, log) = read_scenario("halved", padded_pods(&[500]), &small_pages());
    assert_eq!(plain.unwrap().objects, halved.unwrap().objects);
    let pods: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("/api/v1/pods?"))
        .collect();
    assert!(
        pods[0].contains("limit=500") && !pods[0].contains("continue="),
        "{pods:?}"
    );
    assert!(
        pods[1].contains("limit=250") && !pods[1].contains("continue="),
        "{pods:?}"
    );
    assert!(
        pods[2..].iter().all(|l| l.contains("limit=250")),
        "{pods:?}"
    );
    // Other types keep the full page size.
    assert!(log
        .iter()
        .filter(|l| l.starts_with("/api/v1/services?"))
        .all(|l| l.contains("limit=500")));
}

#[test]
fn one_object_over_the_page_limit_is_an_error() {
    let limits = [500, 250, 125, 62, 31, 15, 7, 3, 1];
    let (r, log) = read_scenario("one-too-long", padded_pods(&limits), &small_pages());
    let e = r.unwrap_err();
    match &e {
        ReadError::TooLong {
            path, what, limit, ..
        } => {
            assert_eq!(path, "/api/v1/pods");
            assert_eq!(what, "one object of the list");
            assert_eq!(*limit, 65536);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("`/api/v1/pods` from the cluster at `http://127.0.0.1:")
            && e.to_string()
                .contains("one object of the list is longer than 64 KiB (65536 bytes)"),
        "{e}"
    );
    let asked: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("/api/v1/pods?"))
        .collect();
    assert_eq!(asked.len(), limits.len(), "{asked:?}");
    assert!(
        asked.last().unwrap().contains("limit=1&") || asked.last().unwrap().ends_with("limit=1")
    );
}

#[test]
fn an_endless_discovery_document_is_an_error() {
    let mut s = Scenario::read(&recorded_dir().join("crd"));
    let mut endless = s.routes.iter().find(|r| r.path == "/apis").unwrap().clone();
    endless.endless = true;
    endless.file = "endless.json".into();
    s.files
        .insert("endless.json".into(), "{\"kind\": \"".into());
    s.routes.insert(0, endless);
    let (r, log) = read_scenario("endless-discovery", s, &ReadOptions::default());
    let e = r.unwrap_err();
    assert!(
        matches!(&e, ReadError::TooLong { path, limit, .. } if path == "/apis" && *limit == MAX_DISCOVERY_BYTES),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("the discovery document is longer than 16 MiB (16777216 bytes)"),
        "{e}"
    );
    assert!(log.iter().all(|l| !l.contains("/pods")));
}
