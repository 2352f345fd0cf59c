//! The store test suite: every case runs against the embedded store (a redb file in
//! a temporary directory) and against a real etcd (`$TABBY_TEST_ETCD`, as
//! scripts/test.sh starts it, or else a private etcd this test process starts).
//!
//! Tests share one etcd, so each case works in its own namespace and name prefix
//! (a unique tag) and filters what it lists and watches by it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabby_api::{Kind, Resource};
use tabby_store::testing::test_etcd_endpoints;
use tabby_store::{
    Action, Embedded, Etcd, EtcdOptions, EventKind, LabelSelector, ListQuery, ObjectKey, Op, Store,
    StoreError,
};

type RawPut = Box<dyn Fn(&str, &[u8]) -> u64>;

/// A backend under test, with a raw write for injecting corrupt values.
struct Backend {
    store: Arc<dyn Store>,
    put_raw: RawPut,
    _dir: Option<tempfile::TempDir>,
}

fn embedded() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Embedded::open(&dir.path().join("store.redb")).unwrap());
    let raw = store.clone();
    Backend {
        store,
        put_raw: Box::new(move |k, v| raw.put_raw(k, v).unwrap()),
        _dir: Some(dir),
    }
}

fn etcd() -> Backend {
    let endpoints = test_etcd_endpoints().unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(Etcd::new(&endpoints, EtcdOptions::default()).unwrap());
    let raw = store.clone();
    Backend {
        store,
        put_raw: Box::new(move |k, v| raw.put_raw(k, v).unwrap()),
        _dir: None,
    }
}

/// A tag unique to this case and run: used as namespace and name prefix.
fn tag(case: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{case}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn gnp(name: &str, order: f64, labels: Value) -> Resource {
    Resource::from_json(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": name, "labels": labels},
        "spec": {"order": order, "selector": "all()", "types": ["Ingress"]}
    }))
    .unwrap()
}

fn np(ns: &str, name: &str, labels: Value) -> Resource {
    Resource::from_json(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"selector": "app == 'web'"}
    }))
    .unwrap()
}

fn pod(ns: &str, name: &str) -> Resource {
    Resource::from_json(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"}},
        "spec": {}
    }))
    .unwrap()
}

fn key(kind: Kind, ns: Option<&str>, name: &str) -> ObjectKey {
    ObjectKey::new(kind, ns, name).unwrap()
}

fn meta<'a>(v: &'a Value, field: &str) -> &'a str {
    v["metadata"][field].as_str().unwrap_or_default()
}

// --- cases ---------------------------------------------------------------------

fn crud(b: &Backend) {
    let s = &*b.store;
    let t = tag("crud");
    let name = format!("{t}-p");
    let k = key(Kind::GlobalNetworkPolicy, None, &name);
    assert_eq!(s.get(&k).unwrap(), None);

    let created = s.create(&gnp(&name, 10.0, json!({"a": "1"}))).unwrap();
    assert!(created.revision > 0);
    assert_eq!(
        meta(&created.object, "resourceVersion"),
        created.revision.to_string()
    );
    let uid = meta(&created.object, "uid").to_owned();
    let ts = meta(&created.object, "creationTimestamp").to_owned();
    assert_eq!(uid.len(), 36, "{uid}");
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
    assert_eq!(s.get(&k).unwrap().unwrap(), created);

    match s.create(&gnp(&name, 10.0, json!({}))) {
        Err(StoreError::AlreadyExists { revision, .. }) => assert_eq!(revision, created.revision),
        other => panic!("{other:?}"),
    }

    let updated = s
        .update(&gnp(&name, 20.0, json!({"a": "2"})), created.revision)
        .unwrap();
    assert!(updated.revision > created.revision);
    assert_eq!(meta(&updated.object, "uid"), uid, "uid kept on update");
    assert_eq!(meta(&updated.object, "creationTimestamp"), ts);
    assert_eq!(updated.object["spec"]["order"], 20.0);

    // A stale revision loses, and the error names both revisions.
    let err = s
        .update(&gnp(&name, 30.0, json!({})), created.revision)
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            key: k.clone(),
            expected: created.revision,
            actual: Some(updated.revision)
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("expected revision {}", created.revision)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("the store has revision {}", updated.revision)),
        "{msg}"
    );

    // Apply: identical is unchanged (no new revision), different updates.
    let same = s.apply(&gnp(&name, 20.0, json!({"a": "2"}))).unwrap();
    assert_eq!(
        (same.action, same.stored.revision),
        (Action::Unchanged, updated.revision)
    );
    let applied = s.apply(&gnp(&name, 21.0, json!({"a": "2"}))).unwrap();
    assert_eq!(applied.action, Action::Updated);
    // Apply with a stale resourceVersion in the object is a conflict.
    let mut stale = gnp(&name, 22.0, json!({}));
    stale.metadata_mut().resource_version = Some(created.revision.to_string());
    assert!(matches!(s.apply(&stale), Err(StoreError::Conflict { .. })));

    // Delete with a wrong precondition fails; then for real.
    assert!(matches!(
        s.delete(&k, Some(created.revision)),
        Err(StoreError::Conflict { .. })
    ));
    let gone = s.delete(&k, Some(applied.stored.revision)).unwrap();
    assert_eq!(gone.object["spec"]["order"], 21.0);
    assert_eq!(s.get(&k).unwrap(), None);
    assert!(matches!(
        s.delete(&k, None),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.update(&gnp(&name, 1.0, json!({})), 1),
        Err(StoreError::NotFound { .. })
    ));
    // Apply creates when absent.
    let again = s.apply(&gnp(&name, 1.0, json!({}))).unwrap();
    assert_eq!(again.action, Action::Created);
    assert_ne!(
        meta(&again.stored.object, "uid"),
        uid,
        "a new object gets a new uid"
    );
}

fn list_filters(b: &Backend) {
    let s = &*b.store;
    let t = tag("list");
    let other = format!("{t}-other");
    s.commit(&[
        Op::Create(np(&t, "a", json!({"app": "web", "tier": "front"}))),
        Op::Create(np(&t, "b", json!({"app": "db"}))),
        Op::Create(np(&other, "c", json!({"app": "web"}))),
        Op::Create(pod(&t, "p1")),
        Op::Create(gnp(&format!("{t}-g"), 1.0, json!({"suite": t.clone()}))),
    ])
    .unwrap();
    let names = |q: ListQuery| -> Vec<String> {
        let l = s.list(&q).unwrap();
        for i in &l.items {
            assert!(i.revision <= l.revision);
        }
        l.items.iter().map(|i| i.key.name().to_owned()).collect()
    };
    let q = |kind: Option<Kind>, ns: Option<&str>, sel: Option<&str>| ListQuery {
        kind,
        namespace: ns.map(str::to_owned),
        selector: sel.map(|x| LabelSelector::parse(x).unwrap()),
    };
    assert_eq!(
        names(q(Some(Kind::NetworkPolicy), Some(&t), None)),
        ["a", "b"]
    );
    assert_eq!(
        names(q(Some(Kind::NetworkPolicy), Some(&t), Some("app=web"))),
        ["a"]
    );
    assert_eq!(
        names(q(
            Some(Kind::NetworkPolicy),
            Some(&t),
            Some("app in (web,db),!tier")
        )),
        ["b"]
    );
    assert_eq!(
        names(q(Some(Kind::NetworkPolicy), Some(&other), None)),
        ["c"]
    );
    assert_eq!(names(q(Some(Kind::Pod), Some(&t), None)), ["p1"]);
    // Calico's NetworkPolicy and Kubernetes' do not mix.
    assert!(names(q(Some(Kind::KubernetesNetworkPolicy), Some(&t), None)).is_empty());
    // Every kind, one namespace: the namespaced objects of that namespace.
    assert_eq!(names(q(None, Some(&t), Some("app"))), ["a", "b", "p1"]);
    let sel = format!("suite={t}");
    assert_eq!(
        names(q(Some(Kind::GlobalNetworkPolicy), None, Some(&sel))),
        [format!("{t}-g")]
    );
}

fn atomic_commit(b: &Backend) {
    let s = &*b.store;
    let t = tag("atomic");
    s.create(&np(&t, "exists", json!({}))).unwrap();
    let before = s.revision().unwrap();
    let err = s
        .commit(&[
            Op::Create(np(&t, "new1", json!({}))),
            Op::Create(np(&t, "exists", json!({}))),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(
        s.get(&key(Kind::NetworkPolicy, Some(&t), "new1")).unwrap(),
        None
    );
    // Nothing was written for the failed commit (no objects of ours changed).
    let l = s
        .list(&ListQuery {
            kind: Some(Kind::NetworkPolicy),
            namespace: Some(t.clone()),
            selector: None,
        })
        .unwrap();
    assert_eq!(l.items.len(), 1);
    assert!(l.items.iter().all(|i| i.revision <= before));

    let out = s
        .commit(&[
            Op::Apply(np(&t, "x", json!({}))),
            Op::Apply(np(&t, "y", json!({}))),
            Op::Delete(key(Kind::NetworkPolicy, Some(&t), "exists"), None),
        ])
        .unwrap();
    let revs: Vec<u64> = out
        .iter()
        .filter(|o| o.action != Action::Deleted)
        .map(|o| o.stored.revision)
        .collect();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[0], revs[1], "one transaction, one revision");
    assert_eq!(out[2].action, Action::Deleted);
    // The same object twice in one commit is refused.
    assert!(matches!(
        s.commit(&[
            Op::Apply(np(&t, "x", json!({}))),
            Op::Apply(np(&t, "x", json!({})))
        ]),
        Err(StoreError::Invalid(_))
    ));
}

/// Rounds of N writers that all read the same revision and then all update it:
/// exactly one wins each round, the rest get conflicts, and no update is lost.
fn concurrent_writers(b: &Backend) {
    let s = b.store.clone();
    let t = tag("cas");
    let name = format!("{t}-counter");
    s.create(&gnp(&name, 1.0, json!({"count": "0"}))).unwrap();
    let k = key(Kind::GlobalNetworkPolicy, None, &name);
    const WRITERS: usize = 6;
    const ROUNDS: usize = 8;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (s, k, barrier, name) = (s.clone(), k.clone(), barrier.clone(), name.clone());
            std::thread::spawn(move || {
                let (mut wins, mut conflicts, mut revs) = (0, 0, Vec::new());
                for _ in 0..ROUNDS {
                    barrier.wait();
                    let cur = s.get(&k).unwrap().unwrap();
                    barrier.wait();
                    let n: u64 = cur.labels()["count"].parse().unwrap();
                    let next = gnp(&name, 1.0, json!({"count": (n + 1).to_string()}));
                    match s.update(&next, cur.revision) {
                        Ok(st) => {
                            wins += 1;
                            revs.push(st.revision);
                        }
                        Err(StoreError::Conflict {
                            expected, actual, ..
                        }) => {
                            assert_eq!(expected, cur.revision);
                            assert!(actual.unwrap() > expected);
                            conflicts += 1;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                (wins, conflicts, revs)
            })
        })
        .collect();
    let mut wins = 0;
    let mut conflicts = 0;
    let mut revs = Vec::new();
    for h in handles {
        let (w, c, r) = h.join().unwrap();
        wins += w;
        conflicts += c;
        revs.extend(r);
    }
    assert_eq!(wins, ROUNDS, "exactly one winner per round");
    assert_eq!(conflicts, ROUNDS * (WRITERS - 1));
    revs.sort_unstable();
    revs.dedup();
    assert_eq!(revs.len(), ROUNDS, "every win is its own revision");
    let last = s.get(&k).unwrap().unwrap();
    assert_eq!(last.labels()["count"], ROUNDS.to_string(), "no update lost");
}

/// Free-for-all: writers retry on conflict until each made its increments.
fn concurrent_retry_loop(b: &Backend) {
    let s = b.store.clone();
    let t = tag("casloop");
    let name = format!("{t}-n");
    s.create(&gnp(&name, 1.0, json!({"count": "0"}))).unwrap();
    let k = key(Kind::GlobalNetworkPolicy, None, &name);
    let (writers, each) = (4, 10);
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (s, k, name) = (s.clone(), k.clone(), name.clone());
            std::thread::spawn(move || {
                let mut conflicts = 0;
                let mut done = 0;
                while done < each {
                    let cur = s.get(&k).unwrap().unwrap();
                    let n: u64 = cur.labels()["count"].parse().unwrap();
                    match s.update(
                        &gnp(&name, 1.0, json!({"count": (n + 1).to_string()})),
                        cur.revision,
                    ) {
                        Ok(_) => done += 1,
                        Err(StoreError::Conflict { .. }) => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                conflicts
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let last = s.get(&k).unwrap().unwrap();
    assert_eq!(last.labels()["count"], (writers * each).to_string());
}

/// Events of this case's tag, as (kind, name, revision).
fn collect(w: &mut dyn tabby_store::Watch, t: &str, n: usize) -> Vec<(EventKind, String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        if let Some(e) = w.next_timeout(Duration::from_millis(200)).unwrap() {
            let name = e.stored.key.name().to_owned();
            let ns = e.stored.key.namespace().unwrap_or_default().to_owned();
            if name.starts_with(t) || ns == t {
                out.push((e.kind, name, e.revision));
            }
        }
    }
    out
}

fn watch_in_order(b: &Backend) {
    let s = &*b.store;
    let t = tag("watch");
    let from = s.revision().unwrap() + 1;
    let mut w = s.watch(from).unwrap();
    let a = format!("{t}-a");
    let mut want = Vec::new();
    let r = s.create(&gnp(&a, 1.0, json!({}))).unwrap().revision;
    want.push((EventKind::Added, a.clone(), r));
    for i in 0..5 {
        let cur = s
            .get(&key(Kind::GlobalNetworkPolicy, None, &a))
            .unwrap()
            .unwrap();
        let r = s
            .update(&gnp(&a, 2.0 + f64::from(i), json!({})), cur.revision)
            .unwrap()
            .revision;
        want.push((EventKind::Modified, a.clone(), r));
    }
    let out = s
        .commit(&[
            Op::Create(np(&t, "n1", json!({}))),
            Op::Create(np(&t, "n2", json!({}))),
        ])
        .unwrap();
    want.push((EventKind::Added, "n1".into(), out[0].stored.revision));
    want.push((EventKind::Added, "n2".into(), out[1].stored.revision));
    let r = s
        .delete(&key(Kind::GlobalNetworkPolicy, None, &a), None)
        .unwrap();
    let del_rev = s.revision().unwrap();
    assert_eq!(
        r.object["spec"]["order"], 6.0,
        "delete returns the last state"
    );
    want.push((EventKind::Deleted, a.clone(), del_rev));
    let got = collect(&mut *w, &t, want.len());
    // Deletion revisions: both backends report the revision of the deletion.
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.0, &g.1), (w.0, &w.1));
        if g.0 != EventKind::Deleted {
            assert_eq!(g.2, w.2);
        }
    }
    assert!(got.windows(2).all(|p| p[0].2 <= p[1].2), "revision order");
    // Nothing more of ours.
    assert!(collect(&mut *w, &t, 1).is_empty());
}

fn watch_resume(b: &Backend) {
    let s = &*b.store;
    let t = tag("resume");
    let from = s.revision().unwrap() + 1;
    let mut w = s.watch(from).unwrap();
    for i in 0..4 {
        s.create(&np(&t, &format!("o{i}"), json!({}))).unwrap();
    }
    let first = collect(&mut *w, &t, 2);
    assert_eq!(first.len(), 2);
    let resume = w.resume_from();
    assert_eq!(resume, first[1].2 + 1);
    drop(w); // "disconnect"
    for i in 4..7 {
        s.create(&np(&t, &format!("o{i}"), json!({}))).unwrap();
    }
    let mut w2 = s.watch(resume).unwrap();
    let rest = collect(&mut *w2, &t, 5);
    let names: Vec<&str> = rest.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        names,
        ["o2", "o3", "o4", "o5", "o6"],
        "nothing lost, nothing twice"
    );
}

fn corrupt_and_foreign_keys(b: &Backend) {
    let s = &*b.store;
    let t = tag("corrupt");
    let prefix = "/calico/resources/v3/projectcalico.org/networkpolicies";
    s.create(&np(&t, "good", json!({}))).unwrap();
    (b.put_raw)(&format!("{prefix}/{t}/broken"), b"{not json");
    (b.put_raw)(
        &format!("{prefix}/{t}/wrongkind"),
        br#"{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"wrongkind"}}"#,
    );
    (b.put_raw)(&format!("{prefix}/{t}/too/deep"), b"{}");
    let l = s
        .list(&ListQuery {
            kind: Some(Kind::NetworkPolicy),
            namespace: Some(t.clone()),
            selector: None,
        })
        .unwrap();
    assert_eq!(l.items.len(), 1);
    assert_eq!(l.items[0].key.name(), "good");
    let mut skipped: Vec<String> = l
        .skipped
        .iter()
        .map(|x| x.key.rsplit('/').next().unwrap().to_owned())
        .collect();
    skipped.sort();
    assert_eq!(skipped, ["broken", "deep", "wrongkind"]);
    assert!(l.skipped.iter().all(|x| x.corrupt));
    match s.get(&key(Kind::NetworkPolicy, Some(&t), "broken")) {
        Err(StoreError::Corrupt { reason, .. }) => assert!(reason.contains("not JSON"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

macro_rules! suite {
    ($($case:ident),+ $(,)?) => {
        mod embedded_backend { $( #[test] fn $case() { super::$case(&super::embedded()); } )+ }
        mod etcd_backend { $( #[test] fn $case() { super::$case(&super::etcd()); } )+ }
    };
}

suite!(
    crud,
    list_filters,
    atomic_commit,
    concurrent_writers,
    concurrent_retry_loop,
    watch_in_order,
    watch_resume,
    corrupt_and_foreign_keys,
);

// --- backend-specific ----------------------------------------------------------

#[test]
fn embedded_watch_from_a_compacted_revision_says_to_list_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = Embedded::open(&dir.path().join("s.redb"))
        .unwrap()
        .with_log_keep(3);
    for i in 0..6 {
        s.create(&gnp(&format!("p{i}"), 1.0, json!({}))).unwrap();
    }
    let err = s
        .watch(1)
        .unwrap()
        .next_timeout(Duration::from_millis(10))
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Compacted {
                requested: 1,
                compacted: 3
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("list again"), "{err}");
    let mut w = s.watch(4).unwrap();
    assert_eq!(
        w.next_timeout(Duration::from_millis(10))
            .unwrap()
            .unwrap()
            .revision,
        4
    );
}

#[test]
fn etcd_watch_from_a_compacted_revision_says_to_list_again() {
    let b = etcd();
    let s = &*b.store;
    let t = tag("compact");
    let first = s.create(&np(&t, "a", json!({}))).unwrap().revision;
    s.create(&np(&t, "b", json!({}))).unwrap();
    let now = s.revision().unwrap();
    let etcd = Etcd::new(&test_etcd_endpoints().unwrap(), EtcdOptions::default()).unwrap();
    etcd.compact(now).unwrap();
    let err = match s.watch(first) {
        Err(e) => e,
        Ok(mut w) => w.next_timeout(Duration::from_secs(5)).unwrap_err(),
    };
    assert!(
        matches!(err, StoreError::Compacted { requested, .. } if requested == first),
        "{err:?}"
    );
    assert!(err.to_string().contains("list again"), "{err}");
}

#[test]
fn embedded_store_reopens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/s.redb");
    let rev = {
        let s = Embedded::open(&path).unwrap();
        s.create(&gnp("kept", 1.0, json!({}))).unwrap().revision
    };
    let s = Embedded::open(&path).unwrap();
    assert_eq!(s.revision().unwrap(), rev);
    assert!(s
        .get(&key(Kind::GlobalNetworkPolicy, None, "kept"))
        .unwrap()
        .is_some());
    // A second open in this process waits for the lock and then says who holds it.
    let err = Embedded::open_wait(&path, Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
}

#[test]
fn etcd_request_too_large_is_refused_before_sending() {
    let b = etcd();
    let t = tag("large");
    let big: BTreeMap<String, String> = (0..4000)
        .map(|i| (format!("k{i}"), "v".repeat(400)))
        .collect();
    let r = gnp(&format!("{t}-big"), 1.0, json!(big));
    let err = b.store.create(&r).unwrap_err();
    match &err {
        StoreError::TooLarge { bytes, limit, .. } => assert!(bytes > limit),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("--max-request-bytes"), "{err}");
    // Many objects: more than etcd's --max-txn-ops in one transaction.
    let ops: Vec<Op> = (0..129)
        .map(|i| Op::Create(np(&t, &format!("o{i}"), json!({}))))
        .collect();
    let err = b.store.commit(&ops).unwrap_err();
    assert!(err.to_string().contains("--max-txn-ops"), "{err}");
}

#[test]
fn etcd_down_fails_fast_with_a_clear_error() {
    // Nothing listens: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = EtcdOptions {
        timeout: Duration::from_secs(1),
        ..EtcdOptions::default()
    };
    let s = Etcd::new(&format!("http://127.0.0.1:{port}"), opts.clone()).unwrap();
    let start = Instant::now();
    let err = s.get(&key(Kind::Tier, None, "x")).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // Accepts connections but never answers: the deadline ends it.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hang.local_addr().unwrap());
    let s = Etcd::new(&url, opts).unwrap();
    let start = Instant::now();
    let err = s.list(&ListQuery::default()).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(s.watch(0).is_err());
}

/// Three members; the one the client uses is killed and restarted, then another:
/// reads, writes and a running watch carry on, and no event is lost.
#[test]
fn etcd_three_member_cluster_survives_member_restarts() {
    let mut cluster = tabby_store::testing::EtcdCluster::start(3).unwrap();
    let opts = EtcdOptions {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_millis(300),
        ..EtcdOptions::default()
    };
    let s = Etcd::new(&cluster.endpoints(), opts).unwrap();
    let t = tag("cluster");
    let mut w = s.watch(0).unwrap();
    let mut made = Vec::new();
    let write = |i: usize| {
        // A write may land during a leader election: retry briefly, as a client would.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match s.apply(&np(&t, &format!("o{i}"), json!({}))) {
                Ok(o) => return o.stored.revision,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("retrying write {i}: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    for i in 0..3 {
        made.push(write(i));
    }
    for victim in [0usize, 1] {
        cluster.members[victim].kill();
        for _ in 0..3 {
            made.push(write(made.len()));
        }
        cluster.members[victim].start().unwrap();
        cluster.wait_ready(Duration::from_secs(20)).unwrap();
        made.push(write(made.len()));
    }
    let got = collect(&mut *w, &t, made.len());
    let revs: Vec<u64> = got.iter().map(|e| e.2).collect();
    assert_eq!(
        revs, made,
        "every write seen once, in order, across restarts"
    );
    let l = s
        .list(&ListQuery {
            kind: Some(Kind::NetworkPolicy),
            namespace: Some(t.clone()),
            selector: None,
        })
        .unwrap();
    assert_eq!(l.items.len(), made.len());
}
