//! Replays every seed of the `load` fuzz target (`fuzz/corpus/load`) as a normal test:
//! no panics, every span inside its file and on character boundaries, and for the
//! seeds listed below, the expected objects and diagnostic codes.

use std::path::PathBuf;

use tabby_load::{load_bytes, LoadOptions, Loaded, Node, NodeKind};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/load")
}

/// The same limits as the fuzz target.
fn fuzz_opts() -> LoadOptions {
    LoadOptions {
        max_file_bytes: 1 << 20,
        max_nodes: 10_000,
        max_depth: 64,
    }
}

fn check_spans(node: &Node, text: &str) {
    // An explicit stack: these trees come from hostile seeds.
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        let span = n.span.clone();
        assert!(span.start <= span.end && span.end <= text.len(), "{span:?}");
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        match &n.kind {
            NodeKind::Seq(items) => stack.extend(items),
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    stack.push(k);
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
}

fn check(loaded: &Loaded) {
    for obj in &loaded.objects {
        check_spans(&obj.node, obj.file.text());
        let _ = obj.node.to_json();
        let _ = obj.decode::<std::collections::HashMap<String, String>>();
        assert!(!obj.api_version.is_empty() && !obj.kind.is_empty());
    }
    for d in loaded.diagnostics.iter() {
        assert!(!d.message.is_empty());
        assert!(d.code.starts_with("E00"), "{}", d.code);
        if let Some(loc) = &d.loc {
            let (text, span) = (loc.file().text(), loc.span());
            assert!(span.start <= span.end && span.end <= text.len(), "{d}");
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{d}"
            );
        }
    }
}

/// (seed, objects loaded under the file's own name, diagnostic codes in order)
const EXPECTED: &[(&str, usize, &[&str])] = &[
    ("policy.yaml", 1, &[]),
    ("multi-doc.yaml", 2, &[]),
    ("kubectl-list.yaml", 1, &[]),
    ("typed-list.yaml", 2, &[]),
    ("stream.json", 3, &[]),
    ("list.json", 2, &[]),
    ("billion-laughs.yaml", 0, &["E0008"]),
    ("deep-flow.yaml", 0, &["E0007"]),
    ("deep-flow-map.yaml", 0, &["E0007"]),
    ("deep-block.yaml", 0, &["E0007"]),
    ("deep.json", 0, &["E0007"]),
    ("dup-keys.yaml", 0, &["E0009", "E0009"]),
    ("dup-keys.json", 0, &["E0009"]),
    ("numbers.yaml", 0, &["E0010", "E0010"]),
    ("tabs.yaml", 0, &["E0005"]),
    ("unterminated.json", 0, &["E0006"]),
    ("unknown-alias.yaml", 0, &["E0005"]),
    ("merge-and-tags.yaml", 1, &[]),
    ("complex-key.yaml", 0, &["E0019"]),
    (
        "regression-nested-complex-keys.yaml",
        0,
        &["E0019", "E0005"],
    ),
    ("block-scalars.yaml", 1, &[]),
    ("unicode.yaml", 1, &[]),
    (
        "not-objects.yaml",
        0,
        &["E0011", "E0011", "E0011", "E0012", "E0013"],
    ),
    ("bom.yaml", 1, &[]),
    ("bad-utf8.yaml", 0, &["E0004"]),
    ("utf16.yaml", 0, &["E0004"]),
];

#[test]
fn every_seed_loads_without_panicking() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus/load exists")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // As the fuzz target sees it (both formats, small limits) ...
        check(&load_bytes("fuzz.yaml", &bytes, &fuzz_opts()));
        check(&load_bytes("fuzz.json", &bytes, &fuzz_opts()));
        // ... and as a user would load it.
        let loaded = load_bytes(&name, &bytes, &LoadOptions::default());
        check(&loaded);
        if let Some((_, objects, codes)) = EXPECTED.iter().find(|(n, _, _)| *n == name) {
            let got: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
            assert_eq!(&got, codes, "{name}: {:?}", loaded.diagnostics);
            assert_eq!(loaded.objects.len(), *objects, "{name}");
        }
        seen += 1;
    }
    assert!(seen >= EXPECTED.len(), "only {seen} seeds found");
}
