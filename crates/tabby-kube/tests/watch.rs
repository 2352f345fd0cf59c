//! Watching a resource type against recorded watch streams (tests/support:
//! `add_namespace_watches`), and against hostile or broken ones built here: an
//! endless line, a stream in tiny chunks, garbage, error answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod support;

use std::time::Duration;

use std::collections::BTreeMap;

use support::{kubeconfig, recorded_dir, serve, Route, Scenario, Server};
use tabby_api::Kind;
use tabby_kube::{
    read_cluster, watch, ChangeType, ClusterSource, ReadError, ReadOptions, WatchError,
    WatchTarget, DEFAULT_MAX_EVENT_BYTES,
};

const NAMESPACES: WatchTarget = WatchTarget {
    kind: Kind::Namespace,
    calico_crd: false,
};

fn start(name: &str) -> (Server, ClusterSource) {
    start_with(name, Scenario::read(&recorded_dir().join(name)))
}

fn start_with(name: &str, scenario: Scenario) -> (Server, ClusterSource) {
    let server = serve(scenario);
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

#[test]
fn an_error_event_mid_stream_is_a_request_error_with_the_status() {
    for scenario in ["crd", "apiserver"] {
        let (_server, source) = start(scenario);
        let e = watch(&source, NAMESPACES, "2010", &opts()).unwrap_err();
        assert!(
            matches!(e, WatchError::Read(ReadError::Request { .. })),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("`/api/v1/namespaces`"), "{msg}");
        assert!(msg.contains("the watch ended with error 500"), "{msg}");
        assert!(msg.contains("unable to decode an event"), "{msg}");
    }
}

/// A scenario holding one watch of namespaces from `2000`: `route` tells how it is
/// sent, `body` what.
fn one_watch(body: &str, shape: impl FnOnce(&mut Route)) -> Scenario {
    let mut route = Route::watch("/api/v1/namespaces", "2000", 200, "w.jsonl");
    shape(&mut route);
    Scenario {
        files: BTreeMap::from([(route.file.clone(), body.to_owned())]),
        routes: vec![route],
    }
}

fn recorded_stream() -> String {
    std::fs::read_to_string(recorded_dir().join("crd/watch-v1-namespaces-2000.jsonl")).unwrap()
}

/// Waits for the replay server to log how much of an endless line it sent before
/// the client hung up.
fn sent_before_hang_up(server: &Server) -> usize {
    for _ in 0..200 {
        let sent = server.log.lock().unwrap().iter().find_map(|l| {
            l.strip_prefix("sent ")?
                .strip_suffix(" bytes")?
                .parse()
                .ok()
        });
        if let Some(n) = sent {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the client never hung up: {:?}", server.log.lock().unwrap());
}

#[test]
fn an_over_long_event_is_an_error_naming_the_resource_and_the_limit() {
    let first = recorded_stream().lines().next().unwrap().to_owned() + "\n";
    let long = |n: usize| {
        format!(
            "{{\"type\":\"ADDED\",\"object\":{{\"x\":\"{}\"}}}}\n",
            "y".repeat(n)
        )
    };
    // (case, body, endless, chunk, limit)
    let cases: Vec<(&str, String, bool, Option<usize>, usize)> = vec![
        (
            "one line, sent whole, a byte too long",
            long(65536 - 34 + 1),
            false,
            None,
            65536,
        ),
        (
            "an endless line after an event",
            first.clone(),
            true,
            None,
            65536,
        ),
        (
            "an endless line in small chunks",
            first.clone(),
            true,
            Some(1000),
            65536,
        ),
        (
            "an endless line, default limit",
            first,
            true,
            None,
            DEFAULT_MAX_EVENT_BYTES,
        ),
    ];
    for (case, body, endless, chunk, limit) in cases {
        let (server, source) = start_with(
            "long",
            one_watch(&body, |r| {
                r.endless = endless;
                r.chunk = chunk;
            }),
        );
        let o = ReadOptions {
            max_event_bytes: limit,
            ..opts()
        };
        let e = watch(&source, NAMESPACES, "2000", &o).unwrap_err();
        match &e {
            WatchError::Read(ReadError::TooLong { path, limit: l, .. }) => {
                assert_eq!(path, "/api/v1/namespaces", "{case}");
                assert_eq!(*l, limit, "{case}");
            }
            other => panic!("{case}: {other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains("cannot read `/api/v1/namespaces` from the cluster at `http://127.0.0.1:"),
            "{case}: {msg}"
        );
        assert!(
            msg.contains(&format!(
                "a watch event is longer than {} ({limit} bytes)",
                if limit == 65536 { "64 KiB" } else { "16 MiB" }
            )),
            "{case}: {msg}"
        );
        if endless {
            // The client stopped reading soon after the limit: what the server could
            // send is the limit plus what socket buffers hold, far below the 1 GiB it
            // would send to a client reading until its deadline.
            let sent = sent_before_hang_up(&server);
            eprintln!("{case}: the server sent {sent} bytes before the client hung up");
            assert!(sent < limit + 64 * 1024 * 1024, "{case}: {sent} bytes sent");
        }
    }
}

#[test]
fn a_line_just_at_the_limit_is_accepted() {
    let line = recorded_stream().lines().next().unwrap().to_owned();
    let (_server, source) = start_with("at-limit", one_watch(&(line.clone() + "\n"), |_| {}));
    for (limit, ok) in [(line.len(), true), (line.len() - 1, false)] {
        let o = ReadOptions {
            max_event_bytes: limit,
            ..opts()
        };
        let r = watch(&source, NAMESPACES, "2000", &o);
        assert_eq!(r.is_ok(), ok, "limit {limit}: {r:?}");
    }
}

#[test]
fn events_split_across_tiny_chunks_give_the_same_result() {
    let body = recorded_stream();
    let (_s, source) = start_with("whole", one_watch(&body, |_| {}));
    let whole = watch(&source, NAMESPACES, "2000", &opts()).unwrap();
    assert_eq!(whole.events.len(), 2);
    // And with CRLF line ends, and without a line end after the last event.
    let crlf = body.replace('\n', "\r\n");
    let unterminated = body.trim_end().to_owned();
    for (text, chunk) in [
        (&body, 1),
        (&body, 3),
        (&body, 7),
        (&crlf, 2),
        (&unterminated, 5),
    ] {
        let (_s, source) = start_with("tiny", one_watch(text, |r| r.chunk = Some(chunk)));
        let w = watch(&source, NAMESPACES, "2000", &opts()).unwrap();
        assert_eq!(w.events, whole.events, "chunks of {chunk}");
        assert_eq!(w.resource_version, "2003", "chunks of {chunk}");
    }
}

#[test]
fn a_stream_cut_mid_event_ends_the_watch_with_what_was_seen() {
    let body = recorded_stream();
    // Cut inside the second event: the first counts, the rest is lost.
    let cut = body.len() / 2;
    let first_end = body.find('\n').unwrap();
    assert!(cut > first_end);
    let (_s, source) = start_with("cut", one_watch(&body[..cut], |r| r.chunk = Some(100)));
    let w = watch(&source, NAMESPACES, "2000", &opts()).unwrap();
    assert_eq!(w.events.len(), 1);
    assert_eq!(w.resource_version, "2001");
}

#[test]
fn garbage_in_the_stream_is_a_request_error() {
    let cases = [
        ("not json\n", "a watch event is not JSON"),
        ("[1,2]\n", "a watch event is not a JSON object"),
        ("{\"object\":{}}\n", "a watch event has no `type`"),
        ("{\"type\":\"RENAMED\",\"object\":{}}\n", "unknown watch event type `RENAMED`"),
        ("{\"type\":\"ADDED\",\"object\":7}\n", "a watch `ADDED` event has no object"),
        ("{\"type\":\"ERROR\",\"object\":\"boom\"}\n", "a watch `ERROR` event does not hold a Status"),
        (
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"code\":403,\"message\":\"namespaces is forbidden\"}\n",
            "the watch ended with error 403 (namespaces is forbidden)",
        ),
    ];
    for (body, want) in cases {
        let (_s, source) = start_with("garbage", one_watch(body, |_| {}));
        let e = watch(&source, NAMESPACES, "2000", &opts()).unwrap_err();
        assert!(
            matches!(e, WatchError::Read(ReadError::Request { .. })),
            "{body}: {e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("`/api/v1/namespaces`") && msg.contains(want),
            "{body}: {msg}"
        );
    }
}

#[test]
fn error_answers_are_request_errors_or_expired() {
    let forbidden = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces is forbidden: User \"system:serviceaccount:tabby:tabby\" cannot watch resource \"namespaces\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"namespaces"},"code":403}"#;
    let cases: Vec<(u16, String, &str)> = vec![
        (403, forbidden.to_owned(), "the cluster answered 403 (namespaces is forbidden"),
        (502, "<html>bad gateway</html>".to_owned(), "the cluster answered 502 (<html>bad gateway</html>)"),
        (500, "z".repeat(200_000), "the cluster answered 500 (an error answer longer than 65536 bytes)"),
        (410, r#"{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 2000 (2500)"}"#.to_owned(), "expired: re-list"),
    ];
    for (status, body, want) in cases {
        let mut s = one_watch(&body, |_| {});
        s.routes[0].status = status;
        let (_s, source) = start_with("answers", s);
        let e = watch(&source, NAMESPACES, "2000", &opts()).unwrap_err();
        assert_eq!(
            matches!(e, WatchError::Expired { .. }),
            status == 410,
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(want), "{status}: {msg}");
    }
}
