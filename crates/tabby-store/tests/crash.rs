//! A process killed in the middle of applying many objects leaves the embedded store
//! with the old state or the new one, never a mix.
//!
//! The test runs itself as the child: with `TABBY_CRASH_CHILD=path` set, the
//! `child_writer` test applies generations of 200 objects (each generation one
//! commit, every object labelled with its generation) until it is killed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use tabby_api::{Kind, Resource};
use tabby_store::{Embedded, ListQuery, Op, Store};

const OBJECTS: usize = 200;

fn policy(i: usize, generation: u64) -> Resource {
    Resource::from_json(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": format!("p{i:03}"), "labels": {"generation": generation.to_string()}},
        "spec": {"order": i, "selector": format!("app == 'a{i}'"), "types": ["Ingress"],
                 "ingress": [{"action": "Allow", "source": {"nets": [format!("10.{}.0.0/16", i % 250)]}}]}
    }))
    .unwrap()
}

#[test]
fn child_writer() {
    let Ok(path) = std::env::var("TABBY_CRASH_CHILD") else {
        return; // only does something when run as the child
    };
    let store = Embedded::open(std::path::Path::new(&path)).unwrap();
    for generation in 1.. {
        let ops: Vec<Op> = (0..OBJECTS)
            .map(|i| Op::Apply(policy(i, generation)))
            .collect();
        store.commit(&ops).unwrap();
        println!("committed {generation}");
    }
}

#[test]
fn killed_apply_leaves_old_or_new_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let exe = std::env::current_exe().unwrap();
    let mut last_seen = 0u64;
    for round in 0..6u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env("TABBY_CRASH_CHILD", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Vary the moment of the kill so it lands in different phases of a commit.
        std::thread::sleep(Duration::from_millis(300 + round * 137));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = Embedded::open(&path).unwrap();
        let l = store
            .list(&ListQuery {
                kind: Some(Kind::GlobalNetworkPolicy),
                ..ListQuery::default()
            })
            .unwrap();
        assert!(l.skipped.is_empty(), "{:?}", l.skipped);
        if l.items.is_empty() {
            continue; // killed before the first commit
        }
        assert_eq!(
            l.items.len(),
            OBJECTS,
            "round {round}: a commit is all or nothing"
        );
        let gens: std::collections::BTreeSet<String> = l
            .items
            .iter()
            .map(|s| s.labels()["generation"].clone())
            .collect();
        assert_eq!(
            gens.len(),
            1,
            "round {round}: objects from different commits: {gens:?}"
        );
        let revs: std::collections::BTreeSet<u64> = l.items.iter().map(|s| s.revision).collect();
        assert_eq!(revs.len(), 1, "one commit, one revision");
        assert_eq!(l.revision, *revs.iter().next().unwrap());
        let generation: u64 = gens.iter().next().unwrap().parse().unwrap();
        assert!(generation >= 1);
        // The store keeps working after the crash, from where it was.
        let next = store.commit(&[Op::Apply(policy(0, 0))]).unwrap();
        assert!(next[0].stored.revision > l.revision);
        last_seen = last_seen.max(l.revision);
    }
    assert!(
        last_seen > 0,
        "the child never committed: the test did not test anything"
    );
}
