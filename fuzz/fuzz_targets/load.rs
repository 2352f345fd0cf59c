//! `load_bytes` on arbitrary bytes must never panic, and must stay bounded.
//!
//! Run: `cargo fuzz run load fuzz/corpus/load` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabby_load::{load_bytes, LoadOptions, Node, NodeKind};

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer explores the limit paths too.
    let opts = LoadOptions {
        max_file_bytes: 1 << 20,
        max_nodes: 10_000,
        max_depth: 64,
    };
    // Both parsers get every input (seeds are plain YAML and JSON files).
    for name in ["fuzz.yaml", "fuzz.json"] {
        check(&load_bytes(name, data, &opts));
    }
});

fn check(loaded: &tabby_load::Loaded) {
    for obj in &loaded.objects {
        // Everything handed out must be usable: positions inside the file, JSON conversion.
        let text = obj.file.text();
        let span = obj.loc().span();
        assert!(span.start <= span.end && span.end <= text.len());
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        check_spans(&obj.node, text);
        let _ = obj.node.to_json();
        let _ = obj.decode::<std::collections::HashMap<String, String>>();
    }
    for d in loaded.diagnostics.iter() {
        if let Some(loc) = &d.loc {
            let (text, span) = (loc.file().text(), loc.span());
            assert!(span.start <= span.end && span.end <= text.len());
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            let _ = loc.line_col();
        }
    }
}

/// Every node's span lies inside the text, on character boundaries (so `&text[span]`
/// never panics). Recursion is fine: depth is capped at 64 above.
fn check_spans(node: &Node, text: &str) {
    let span = node.span.clone();
    assert!(span.start <= span.end && span.end <= text.len(), "{span:?}");
    assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    match &node.kind {
        NodeKind::Seq(items) => items.iter().for_each(|n| check_spans(n, text)),
        NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            check_spans(k, text);
            check_spans(v, text);
        }),
        _ => {}
    }
}
