//! Watching a resource type through kube-rs's `Api::watch` against recorded
//! watch streams (tests/support: `add_namespace_watches`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod support;

use std::time::Duration;

use support::{kubeconfig, recorded_dir, serve, Scenario, Server};
use tabby_api::Kind;
use tabby_kube::{
    read_cluster, watch, ChangeType, ClusterSource, ReadOptions, WatchError, WatchTarget,
};

const NAMESPACES: WatchTarget = WatchTarget {
    kind: Kind::Namespace,
    calico_crd: false,
};

fn start(name: &str) -> (Server, ClusterSource) {
    let server = serve(Scenario::read(&recorded_dir().join(name)));
    let dir = std::env::temp_dir().join(format!(
        "tabby-kube-watch-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = ClusterSource {
        kubeconfig: Some(kubeconfig(&dir, server.port)),
        context: None,
    };
    (server, source)
}

fn opts() -> ReadOptions {
    ReadOptions {
        timeout: Duration::from_secs(10),
        ..ReadOptions::default()
    }
}

fn watch_requests(server: &Server) -> Vec<String> {
    server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("watch="))
        .cloned()
        .collect()
}

#[test]
fn list_then_watch_then_resume_after_the_server_closes() {
    for scenario in ["crd", "apiserver"] {
        let (server, source) = start(scenario);
        let read = read_cluster(&source, &opts()).unwrap();
        let from = read.resource_versions[&NAMESPACES.path()].clone();
        assert_eq!(from, "2000");
        let listed: Vec<&str> = read
            .objects
            .iter()
            .filter(|o| o.kind == Kind::Namespace)
            .map(|o| o.name())
            .collect();

        // First stream: ADDED, MODIFIED, BOOKMARK, then the server closes it.
        let w = watch(&source, NAMESPACES, &from, &opts()).unwrap();
        let seen: Vec<(ChangeType, &str, &str)> = w
            .events
            .iter()
            .map(|e| (e.change, e.object.name(), e.resource_version.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (ChangeType::Added, "tabby-watch", "2001"),
                (ChangeType::Modified, "default", "2002"),
            ]
        );
        // The modified object is one the list returned; the added one is new.
        assert!(listed.contains(&"default") && !listed.contains(&"tabby-watch"));
        let added = &w.events[0].object;
        assert_eq!(added.value["apiVersion"], "v1");
        assert_eq!(added.value["kind"], "Namespace");
        assert_eq!(added.value["metadata"]["labels"]["team"], "watch");
        assert_eq!(
            w.events[1].object.value["metadata"]["labels"]["tabby-watched"],
            "yes"
        );
        // The bookmark is not an event but moves the resume point.
        assert_eq!(w.resource_version, "2003");

        // Resume from where the first stream ended: the server only answers 2003 here.
        let w2 = watch(&source, NAMESPACES, &w.resource_version, &opts()).unwrap();
        assert_eq!(w2.events.len(), 1);
        assert_eq!(w2.events[0].change, ChangeType::Deleted);
        assert_eq!(w2.events[0].object.name(), "tabby-watch");
        assert_eq!(w2.resource_version, "2004");

        let log = watch_requests(&server);
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(
            log[0].starts_with("/api/v1/namespaces?") && log[0].contains("resourceVersion=2000")
        );
        assert!(log[1].contains("resourceVersion=2003"), "{log:?}");
    }
}

#[test]
fn gone_is_expired_whether_an_error_event_or_an_http_answer() {
    let (_server, source) = start("crd");
    for from in ["2004", "1000"] {
        match watch(&source, NAMESPACES, from, &opts()) {
            Err(e @ WatchError::Expired { .. }) => {
                let msg = e.to_string();
                assert!(msg.starts_with("expired: re-list"), "{msg}");
                assert!(msg.contains("too old resource version"), "{msg}");
            }
            other => panic!("watch from {from}: {other:?}"),
        }
    }
}

#[test]
fn an_unknown_resource_version_or_type_is_a_request_error() {
    let (_server, source) = start("crd");
    let e = watch(&source, NAMESPACES, "1234", &opts()).unwrap_err();
    assert!(matches!(e, WatchError::Read(_)), "{e:?}");
    assert!(e.to_string().contains("404"), "{e}");
}
