//! The seed scenario (`examples/`): the article's policies with and without its
//! global default-deny. `diff` must list exactly the connections it closes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test harness")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tabby_analysis::{diff, reach, Change, PortRanges, Reach, ReachOptions};
use tabby_eval::{Engine, EngineOptions};
use tabby_load::{load_str, LoadOptions};

fn engine(skip: Option<&str>) -> Engine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut objects = Vec::new();
    for dir in ["cluster", "policies"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            if skip.is_some_and(|s| f.ends_with(s)) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let loaded = load_str(&f.display().to_string(), &text, &LoadOptions::default());
            objects.extend(loaded.objects);
        }
    }
    let v = tabby_validate::validate(&objects);
    Engine::new(&v.cluster, EngineOptions::default())
}

type Table = BTreeMap<(String, String, String), PortRanges>;

fn table(r: &Reach) -> Table {
    let mut out = BTreeMap::new();
    r.for_each_connection(|a, b, sum| {
        for (p, ranges) in &sum.0 {
            out.insert(
                (
                    r.name(a).unwrap().to_owned(),
                    r.name(b).unwrap().to_owned(),
                    tabby_model::Protocol(*p).to_string(),
                ),
                ranges.clone(),
            );
        }
    });
    out
}

#[test]
fn default_deny_diff_lists_exactly_what_it_closes() {
    let before = engine(Some("default-deny.yaml"));
    let after = engine(None);
    assert_eq!(after.policies().len(), before.policies().len() + 1);
    let d = diff(&before, &after, &ReachOptions::default());
    assert!(!d.is_empty());
    assert_eq!(d.added().count(), 0, "a deny policy opens nothing");
    let (tb, ta) = (
        table(&reach(&before, &ReachOptions::default())),
        table(&reach(&after, &ReachOptions::default())),
    );
    let empty = PortRanges::default();
    let mut want = BTreeMap::new();
    for (k, v) in &tb {
        let gone = v.minus(ta.get(k).unwrap_or(&empty));
        if !gone.is_empty() {
            want.insert(k.clone(), gone);
        }
    }
    let mut got: BTreeMap<(String, String, String), PortRanges> = BTreeMap::new();
    let all_ports = PortRanges::all();
    for e in d.removed() {
        let ranges = if e.ports.is_empty() {
            all_ports.clone()
        } else {
            let mut r = PortRanges::default();
            for part in e.ports.split(',') {
                let (lo, hi) = part.split_once('-').unwrap_or((part, part));
                r.push(lo.parse().unwrap(), hi.parse().unwrap());
            }
            r
        };
        let slot = got
            .entry((e.from.clone(), e.to.clone(), e.protocol.clone()))
            .or_default();
        *slot = slot.union(&ranges);
        assert_eq!(e.change, Change::Removed);
        assert!(!e.side.is_empty(), "{e:?}");
    }
    assert_eq!(got, want);
    // The new deny is what closes them, at least for some.
    assert!(
        d.removed().any(|e| e.policy.contains("default-deny")),
        "{}",
        d.to_table()
    );
    let from: BTreeSet<&str> = d.removed().map(|e| e.from.as_str()).collect();
    assert!(from.len() > 1);
}
