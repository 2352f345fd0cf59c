//! Recorded Kubernetes API responses and a tiny HTTP server that replays them.
//!
//! No API server can run on the development machines, so the tests serve responses
//! in the Kubernetes wire format (discovery documents, paginated lists with
//! `metadata.resourceVersion` and `metadata.continue`, `Status` errors) from
//! `tests/recorded/<scenario>/`, and point a real kubeconfig at the server: the
//! client code path is the one a real cluster sees.
//!
//! The recorded files are generated from `examples/cluster` and `examples/policies`
//! by [`generate`]; the test `recorded_fixtures_match_the_examples` fails when they
//! drift, and `TABBY_UPDATE_RECORDED=1 cargo test -p tabby-kube --test cluster`
//! rewrites them.
//!
//! Shared with `crates/tabby-cli/tests/kube.rs` (included by path).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers: each test binary uses part of them, and they fail loudly"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{json, Map, Value};
use tabby_api::{Group, Kind};
use tabby_load::{load_paths, LoadOptions};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `crates/tabby-kube/tests/recorded`.
pub fn recorded_dir() -> PathBuf {
    workspace().join("crates/tabby-kube/tests/recorded")
}

/// One recorded exchange: a GET of `path` (with `continue=<token>` when set)
/// answered with `status` and the body in `file`. A `once` route answers only the
/// first matching request; later ones fall through to the next route.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Route {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#continue: Option<String>,
    pub status: u16,
    pub file: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub once: bool,
    /// A watch (`?watch=true&resourceVersion=<this>`): the body is newline-delimited
    /// watch events, sent whole, then the connection closes (as a server ending the
    /// watch). Only a watch from exactly this resourceVersion matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_from: Option<String>,
    /// Send the body with chunked transfer encoding, this many bytes per chunk, each
    /// written on its own (as a server streaming events does), instead of whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<usize>,
    /// After the body, send `x` without end and without a line end (one endless
    /// line) until the client hangs up or 1 GiB is sent, then log `sent N bytes`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub endless: bool,
    /// Only a request with this `limit` matches (any request when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl Route {
    /// A watch of `path` from `from`, answered with `status` and the body in `file`.
    pub fn watch(path: &str, from: &str, status: u16, file: &str) -> Route {
        Route {
            path: path.to_owned(),
            r#continue: None,
            status,
            file: file.to_owned(),
            once: false,
            watch_from: Some(from.to_owned()),
            chunk: None,
            endless: false,
            limit: None,
        }
    }
}

/// A generated scenario: its routes and the bodies they name.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub routes: Vec<Route>,
    pub files: BTreeMap<String, String>,
}

/// How the generated cluster stores Calico's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calico {
    /// CRDs only; Calico's API server is registered but down (discovery answers 503).
    Crd,
    /// Calico's API server serves projectcalico.org/v3 (the CRDs exist too).
    ApiServer,
}

/// Objects per page the recorded server returns (smaller than the client's limit,
/// as a real server may do), so most lists take several pages.
const PAGE: usize = 3;
const CREATED: &str = "2026-01-15T10:00:00Z";

/// Builds the recorded responses for one scenario from the example files.
pub fn generate(calico: Calico) -> Scenario {
    let root = workspace();
    let loaded = load_paths(
        &[
            root.join("examples/cluster"),
            root.join("examples/policies"),
        ],
        &LoadOptions::default(),
    );
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);

    // plural path -> objects in API shape
    let mut by_type: BTreeMap<(&'static str, &'static str), Vec<Value>> = BTreeMap::new();
    let mut rv = 1000u64;
    for raw in &loaded.objects {
        let Some(kind) = Kind::from_type_meta(&raw.api_version, &raw.kind) else {
            continue;
        };
        let mut v = raw.node.to_json();
        rv += 1;
        let api_version = if kind.group() == Group::Calico {
            match calico {
                Calico::Crd => "crd.projectcalico.org/v1",
                Calico::ApiServer => "projectcalico.org/v3",
            }
        } else {
            kind.api_versions()[0]
        };
        server_fill(&mut v, kind, rv);
        if api_version == "crd.projectcalico.org/v1" {
            to_crd(&mut v, kind);
        }
        v["apiVersion"] = json!(api_version);
        by_type
            .entry((api_version, kind.plural()))
            .or_default()
            .push(v);
    }

    let mut s = Scenario {
        routes: Vec::new(),
        files: BTreeMap::new(),
    };
    s.add("/api", 200, "api.json", &api_versions());
    s.add("/apis", 200, "apis.json", &api_groups());
    for (gv, resources) in discovery() {
        let path = if gv == "v1" {
            "/api/v1".to_owned()
        } else {
            format!("/apis/{gv}")
        };
        let file = format!("discovery-{}.json", gv.replace('/', "_"));
        if gv == "projectcalico.org/v3" && calico == Calico::Crd {
            s.add(
                &path,
                503,
                &file,
                &status(
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                ),
            );
            continue;
        }
        let list = json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources.iter().map(|(name, kind, namespaced)| json!({
                "name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            })).chain([json!({"name": format!("{}/status", resources[0].0), "singularName": "",
                "namespaced": resources[0].2, "kind": resources[0].1, "verbs": ["get", "patch", "update"]})])
            .collect::<Vec<_>>(),
        });
        s.add(&path, 200, &file, &list);
        for (plural, kind, _) in &resources {
            let items = by_type.remove(&(gv, plural)).unwrap_or_default();
            if gv == "v1" && *plural == "namespaces" {
                s.add_namespace_watches(&items);
            }
            s.add_list(gv, plural, kind, items);
        }
    }
    assert!(
        by_type.is_empty(),
        "objects of unlisted types: {:?}",
        by_type.keys()
    );
    s
}

impl Scenario {
    fn add(&mut self, path: &str, status: u16, file: &str, body: &Value) {
        self.routes.push(Route {
            path: path.to_owned(),
            r#continue: None,
            status,
            file: file.to_owned(),
            once: false,
            watch_from: None,
            chunk: None,
            endless: false,
            limit: None,
        });
        self.files.insert(
            file.to_owned(),
            serde_json::to_string_pretty(body).unwrap() + "\n",
        );
    }

    /// A watch of `path` from `from`, answered with `status` and either newline-delimited
    /// events (200) or a `Status` (an error status).
    fn add_watch(&mut self, path: &str, from: &str, status: u16, file: &str, body: &[Value]) {
        self.routes.push(Route::watch(path, from, status, file));
        let text: String = body
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        self.files.insert(file.to_owned(), text);
    }

    /// Watches of namespaces, after their list at resourceVersion 2000: from 2000 an
    /// ADDED, a MODIFIED and a BOOKMARK (to 2003), then the server closes; from 2003 a
    /// DELETED (2004), then closes; from 2004 an ERROR event 410 (history compacted);
    /// from 2010 an ADDED (2011), then an ERROR event 500 (what an API server sends
    /// when it cannot go on, here in the words of one that lost its etcd watch);
    /// from 1000 (older than the list) an HTTP 410.
    fn add_namespace_watches(&mut self, namespaces: &[Value]) {
        let path = "/api/v1/namespaces";
        let ns = |name: &str, rv: u64, labels: Value| {
            let mut v = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": labels}, "spec": {}});
            server_fill(&mut v, Kind::Namespace, rv);
            v
        };
        let added = ns("tabby-watch", 2001, json!({"team": "watch"}));
        let mut modified = namespaces.first().cloned().unwrap();
        modified["metadata"]["resourceVersion"] = json!("2002");
        modified["metadata"]["labels"]["tabby-watched"] = json!("yes");
        let mut deleted = added.clone();
        deleted["metadata"]["resourceVersion"] = json!("2004");
        let bookmark = json!({"kind": "Namespace", "apiVersion": "v1",
                              "metadata": {"resourceVersion": "2003"}});
        self.add_watch(
            path,
            "2000",
            200,
            "watch-v1-namespaces-2000.jsonl",
            &[
                json!({"type": "ADDED", "object": added}),
                json!({"type": "MODIFIED", "object": modified}),
                json!({"type": "BOOKMARK", "object": bookmark}),
            ],
        );
        self.add_watch(
            path,
            "2003",
            200,
            "watch-v1-namespaces-2003.jsonl",
            &[json!({"type": "DELETED", "object": deleted})],
        );
        let compacted = status(410, "Expired", "too old resource version: 2004 (2100)");
        self.add_watch(
            path,
            "2004",
            200,
            "watch-v1-namespaces-2004.jsonl",
            &[json!({"type": "ERROR", "object": compacted})],
        );
        let mut internal = status(
            500,
            "InternalError",
            "an error on the server (\"unable to decode an event from the watch stream: context canceled\") has prevented the request from succeeding",
        );
        internal["details"] = json!({"causes": [{"reason": "UnexpectedServerResponse",
            "message": "unable to decode an event from the watch stream: context canceled"}]});
        let later = ns("tabby-later", 2011, json!({"team": "later"}));
        self.add_watch(
            path,
            "2010",
            200,
            "watch-v1-namespaces-2010.jsonl",
            &[
                json!({"type": "ADDED", "object": later}),
                json!({"type": "ERROR", "object": internal}),
            ],
        );
        let gone = status(410, "Expired", "too old resource version: 1000 (2000)");
        self.add_watch(path, "1000", 410, "watch-v1-namespaces-1000.json", &[gone]);
    }

    /// The pages of one list. `cronjobs` answers 403 (the recorded credentials may not
    /// list it); the second page of `pods` first answers 410 Gone, as when the
    /// continue token expired between two pages.
    fn add_list(&mut self, gv: &str, plural: &str, kind: &str, items: Vec<Value>) {
        let path = if gv == "v1" {
            format!("/api/v1/{plural}")
        } else {
            format!("/apis/{gv}/{plural}")
        };
        let stem = format!("list-{}-{plural}", gv.replace('/', "_"));
        if plural == "cronjobs" {
            let body = status(
                403,
                "Forbidden",
                "cronjobs.batch is forbidden: User \"system:serviceaccount:tabby:reader\" cannot list resource \"cronjobs\" in API group \"batch\" at the cluster scope",
            );
            self.add(&path, 403, &format!("{stem}.json"), &body);
            return;
        }
        let is_crd =
            gv.starts_with("crd.projectcalico.org") || gv.starts_with("policy.networking.k8s.io");
        let pages: Vec<&[Value]> = if items.is_empty() {
            vec![&[]]
        } else {
            items.chunks(PAGE).collect()
        };
        let n = pages.len();
        for (i, page) in pages.into_iter().enumerate() {
            let token = (i > 0).then(|| format!("{plural}-page-{i}"));
            let next = (i + 1 < n).then(|| format!("{plural}-page-{}", i + 1));
            let remaining = items.len().saturating_sub((i + 1) * PAGE);
            let mut meta = Map::new();
            meta.insert("resourceVersion".into(), json!("2000"));
            if let Some(next) = &next {
                meta.insert("continue".into(), json!(next));
                meta.insert("remainingItemCount".into(), json!(remaining));
            }
            let items: Vec<Value> = page
                .iter()
                .map(|o| {
                    let mut o = o.clone();
                    if !is_crd {
                        // Built-in lists leave apiVersion and kind off their items.
                        let m = o.as_object_mut().unwrap();
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                    o
                })
                .collect();
            let body = json!({"kind": format!("{kind}List"), "apiVersion": gv,
                              "metadata": meta, "items": items});
            let file = format!("{stem}-{i}.json");
            if plural == "pods" && i == 1 {
                let gone = status(
                    410,
                    "Expired",
                    "the continue token is too old to give a consistent list; start the list again",
                );
                self.routes.push(Route {
                    path: path.clone(),
                    r#continue: token.clone(),
                    status: 410,
                    file: format!("{stem}-{i}-expired.json"),
                    once: true,
                    watch_from: None,
                    chunk: None,
                    endless: false,
                    limit: None,
                });
                self.files.insert(
                    format!("{stem}-{i}-expired.json"),
                    serde_json::to_string_pretty(&gone).unwrap() + "\n",
                );
            }
            self.routes.push(Route {
                path: path.clone(),
                r#continue: token,
                status: 200,
                file: file.clone(),
                once: false,
                watch_from: None,
                chunk: None,
                endless: false,
                limit: None,
            });
            self.files
                .insert(file, serde_json::to_string_pretty(&body).unwrap() + "\n");
        }
    }

    /// Writes the scenario under `dir` (index.json plus one file per body).
    pub fn write(&self, dir: &Path) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("index.json"),
            serde_json::to_string_pretty(&self.routes).unwrap() + "\n",
        )
        .unwrap();
        for (f, text) in &self.files {
            std::fs::write(dir.join(f), text).unwrap();
        }
    }

    /// Reads a scenario written by [`Scenario::write`].
    pub fn read(dir: &Path) -> Scenario {
        let routes: Vec<Route> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap())
                .unwrap();
        let mut files = BTreeMap::new();
        for r in &routes {
            files.insert(
                r.file.clone(),
                std::fs::read_to_string(dir.join(&r.file)).unwrap(),
            );
        }
        Scenario { routes, files }
    }
}

/// What the API server adds to every object: namespace default, uid,
/// resourceVersion, creationTimestamp. Drops nothing the user wrote.
fn server_fill(v: &mut Value, kind: Kind, rv: u64) {
    let name = v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let meta = v["metadata"].as_object_mut().unwrap();
    if kind.is_namespaced() && !meta.contains_key("namespace") {
        meta.insert("namespace".into(), json!("default"));
    }
    let ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !meta.contains_key("uid") {
        meta.insert(
            "uid".into(),
            json!(uid(&format!("{}/{ns}/{name}", kind.name()))),
        );
    }
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    meta.entry("creationTimestamp").or_insert(json!(CREATED));
    if kind == Kind::Namespace {
        // Server-side apply bookkeeping, which the reader drops.
        meta.insert(
            "managedFields".into(),
            json!([{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                    "time": CREATED, "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {}}}}]),
        );
    }
}

/// Calico's CRD storage form: the metadata other than name, namespace, labels and
/// annotations goes into the `projectcalico.org/metadata` annotation; default-tier
/// policies get the legacy `default.` name prefix (Calico up to v3.31); the CRD
/// default `spec.tier: default` is filled in.
fn to_crd(v: &mut Value, kind: Kind) {
    let policy = matches!(
        kind,
        Kind::NetworkPolicy
            | Kind::GlobalNetworkPolicy
            | Kind::StagedNetworkPolicy
            | Kind::StagedGlobalNetworkPolicy
    );
    if policy {
        let spec = v
            .as_object_mut()
            .unwrap()
            .entry("spec")
            .or_insert(json!({}));
        let tier = spec
            .as_object_mut()
            .unwrap()
            .entry("tier")
            .or_insert(json!("default"))
            .clone();
        if tier == "default" {
            let name = v["metadata"]["name"].as_str().unwrap().to_owned();
            v["metadata"]["name"] = json!(format!("default.{name}"));
        }
    }
    let meta = v["metadata"].as_object_mut().unwrap();
    let created = meta
        .get("creationTimestamp")
        .cloned()
        .unwrap_or(json!(CREATED));
    let stored = json!({"creationTimestamp": created});
    let annotations = meta.entry("annotations").or_insert(json!({}));
    annotations["projectcalico.org/metadata"] = json!(stored.to_string());
    // The custom resource's own timestamp differs (it is when the CR was written).
    meta.insert("creationTimestamp".into(), json!("2026-02-01T00:00:00Z"));
    let uid = meta["uid"].as_str().unwrap().to_owned();
    meta.insert("uid".into(), json!(format!("crd-{uid}")));
}

fn uid(seed: &str) -> String {
    // FNV-1a, spread over a UUID's shape: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let h2 = h.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        h2 & 0xfff,
        h2 >> 16
    )
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]})
}

/// The group versions the recorded cluster serves, with (plural, kind, namespaced).
/// (plural, kind, namespaced) of one served resource.
type Served = (&'static str, &'static str, bool);

fn discovery() -> Vec<(&'static str, Vec<Served>)> {
    let mut calico: Vec<(&str, &str, bool)> = Vec::new();
    for k in Kind::ALL {
        if k.group() == Group::Calico
            && !matches!(
                k,
                Kind::WorkloadEndpoint | Kind::Profile | Kind::GlobalThreatFeed
            )
        {
            calico.push((k.plural(), k.name(), k.is_namespaced()));
        }
    }
    let mut v3 = calico.clone();
    v3.push(("profiles", "Profile", false));
    v3.push(("workloadendpoints", "WorkloadEndpoint", true));
    vec![
        (
            "v1",
            vec![
                ("configmaps", "ConfigMap", true),
                ("namespaces", "Namespace", false),
                ("pods", "Pod", true),
                ("serviceaccounts", "ServiceAccount", true),
                ("services", "Service", true),
            ],
        ),
        (
            "apps/v1",
            vec![
                ("daemonsets", "DaemonSet", true),
                ("deployments", "Deployment", true),
                ("replicasets", "ReplicaSet", true),
                ("statefulsets", "StatefulSet", true),
            ],
        ),
        (
            "batch/v1",
            vec![("cronjobs", "CronJob", true), ("jobs", "Job", true)],
        ),
        (
            "networking.k8s.io/v1",
            vec![
                ("ingresses", "Ingress", true),
                ("networkpolicies", "NetworkPolicy", true),
            ],
        ),
        (
            "policy.networking.k8s.io/v1alpha2",
            vec![("clusternetworkpolicies", "ClusterNetworkPolicy", false)],
        ),
        ("crd.projectcalico.org/v1", calico),
        ("projectcalico.org/v3", v3),
    ]
}

fn api_groups() -> Value {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (gv, _) in discovery() {
        if let Some((g, v)) = gv.split_once('/') {
            groups.entry(g).or_default().push(v);
        }
    }
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups.iter().map(|(g, vs)| json!({
        "name": g,
        "versions": vs.iter().map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v})).collect::<Vec<_>>(),
        "preferredVersion": {"groupVersion": format!("{g}/{}", vs[0]), "version": vs[0]},
    })).collect::<Vec<_>>()})
}

// --- the server -------------------------------------------------------------------

/// A running replay server. Requests are logged as `path?query`.
pub struct Server {
    pub port: u16,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Serves `scenario` on 127.0.0.1 (a free port) until the test process ends.
pub fn serve(scenario: Scenario) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(Mutex::new((scenario, Vec::<usize>::new())));
    let log2 = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let state = state.clone();
            let log = log2.clone();
            thread::spawn(move || handle(stream, &state, &log));
        }
    });
    Server { port, log }
}

type State = Arc<Mutex<(Scenario, Vec<usize>)>>;

/// One connection: HTTP/1.1 requests until the client closes it.
fn handle(stream: TcpStream, state: &State, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut content_length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; content_length];
        let _ = reader.read_exact(&mut body);
        log.lock().unwrap().push(target.clone());
        let a = answer(&target, state);
        let reason = match a.status {
            200 => "OK",
            403 => "Forbidden",
            404 => "Not Found",
            410 => "Gone",
            503 => "Service Unavailable",
            _ => "Other",
        };
        // A watch streams its events, then the server ends it by closing the connection.
        let close = if a.watch { "Connection: close\r\n" } else { "" };
        if a.chunk.is_none() && !a.endless {
            let resp = format!(
                "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\n{close}Content-Length: {}\r\n\r\n{}",
                a.status,
                a.text.len(),
                a.text
            );
            if out.write_all(resp.as_bytes()).is_err() || a.watch {
                return;
            }
            continue;
        }
        let head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\n{close}Transfer-Encoding: chunked\r\n\r\n",
            a.status
        );
        let _ = out.set_nodelay(true);
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        for piece in a.text.as_bytes().chunks(a.chunk.unwrap_or(65536).max(1)) {
            if write_chunk(&mut out, piece).is_err() {
                return;
            }
        }
        if a.endless {
            let filler = vec![b'x'; 65536];
            let mut sent = 0usize;
            while sent < 1 << 30 && write_chunk(&mut out, &filler).is_ok() {
                sent += filler.len();
            }
            log.lock().unwrap().push(format!("sent {sent} bytes"));
            return;
        }
        let _ = out.write_all(b"0\r\n\r\n");
        return;
    }
}

/// One chunk of a chunked body, written and flushed on its own.
fn write_chunk(out: &mut TcpStream, piece: &[u8]) -> std::io::Result<()> {
    out.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
    out.write_all(piece)?;
    out.write_all(b"\r\n")?;
    out.flush()
}

/// What the server answers to one request.
struct Answer {
    status: u16,
    text: String,
    watch: bool,
    chunk: Option<usize>,
    endless: bool,
}

/// The answer to one request.
fn answer(target: &str, state: &State) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    };
    let token = param("continue");
    let limit = param("limit");
    let watch = matches!(param("watch").as_deref(), Some("true" | "1"));
    let watch_from = if watch {
        Some(param("resourceVersion").unwrap_or_default())
    } else {
        None
    };
    let mut st = state.lock().unwrap();
    let (scenario, used) = &mut *st;
    for (i, r) in scenario.routes.iter().enumerate() {
        if r.path == path
            && r.r#continue == token
            && r.watch_from == watch_from
            && r.limit.is_none_or(|l| limit == Some(l.to_string()))
            && !(r.once && used.contains(&i))
        {
            if r.once {
                used.push(i);
            }
            return Answer {
                status: r.status,
                text: scenario.files[&r.file].clone(),
                watch,
                chunk: r.chunk,
                endless: r.endless,
            };
        }
    }
    let nf = status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
    Answer {
        status: 404,
        text: nf.to_string(),
        watch,
        chunk: None,
        endless: false,
    }
}

/// Writes a kubeconfig with one context `recorded` (the current context) pointing at
/// the server, plus a second context `other` pointing nowhere.
pub fn kubeconfig(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: recorded\n\
         clusters:\n- name: recorded\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         - name: nowhere\n  cluster:\n    server: http://127.0.0.1:9\n\
         contexts:\n- name: recorded\n  context:\n    cluster: recorded\n    user: reader\n\
         - name: other\n  context:\n    cluster: nowhere\n    user: reader\n\
         users:\n- name: reader\n  user:\n    token: recorded-token\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}
