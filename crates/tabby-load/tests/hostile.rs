//! Bad and hostile input: every case is a diagnostic with a position, never a panic,
//! and the work stays bounded.

mod common;

use std::io::Write;

use common::{load, only_diag, where_, TempDir};
use tabby_load::{load_bytes, load_paths, load_str, LoadOptions, NodeKind, PathSeg};

#[test]
fn malformed_yaml_reports_message_and_position() {
    let cases: &[(&str, usize, usize)] = &[
        ("apiVersion: v1\nkind: X\nspec: [a, b\n", 4, 1),
        ("apiVersion: v1\nkind: X\n  bad: indent\n", 3, 6),
        ("apiVersion: v1\nkind: 'unterminated\n", 2, 7),
        ("apiVersion: v1\nkind: X\nspec: *nope\n", 3, 7),
    ];
    for &(text, line, col) in cases {
        let l = load("bad.yaml", text);
        let d = only_diag(&l);
        assert_eq!(where_(d), ("E0005", line, col), "{text:?}: {d}");
        assert!(
            d.message.starts_with("invalid yaml: ") || d.message.contains("alias"),
            "{}",
            d.message
        );
    }
    let l = load("bad.yaml", "apiVersion: v1\nkind: X\nspec: *nope\n");
    assert_eq!(
        only_diag(&l).message,
        "alias `*nope` refers to no anchor in this document"
    );
}

#[test]
fn documents_before_a_syntax_error_are_kept() {
    let l = load(
        "p.yaml",
        "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: [B\n",
    );
    assert_eq!(l.objects.len(), 1);
    assert_eq!(l.objects[0].kind, "A");
    assert_eq!(only_diag(&l).code, "E0005");
}

#[test]
fn malformed_json_reports_message_and_position() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "{\"a\": 1,}",
            1,
            9,
            "invalid json: expected a quoted key, found `}`",
        ),
        (
            "{\"a\" 1}",
            1,
            6,
            "invalid json: expected `:` after a key, found `1`",
        ),
        (
            "{\"a\": [1 2]}",
            1,
            10,
            "invalid json: expected `,` or `]` after a list element, found `2`",
        ),
        (
            "{\"a\": tru}",
            1,
            7,
            "invalid json: expected a value, found `t`",
        ),
        (
            "{\"a\": 01}",
            1,
            8,
            "invalid json: expected no leading zeros in a number, found `1`",
        ),
        (
            "{\"a\": \"x\ny\"}",
            1,
            9,
            "invalid json: expected `\"` (control characters must be escaped), found `\\n`",
        ),
        (
            "{\"a\": \"\\q\"}",
            1,
            9,
            "invalid json: expected a valid escape after `\\`, found `q`",
        ),
        (
            "{\"a\": \"\\ud800x\"}",
            1,
            8,
            "invalid json: expected a low surrogate after a high surrogate, found `\\`",
        ),
        (
            "{\"a\": \"open",
            1,
            7,
            "invalid json: string is never closed",
        ),
        (
            "{\n  \"a\": {\n",
            3,
            1,
            "invalid json: expected a quoted key, found the end of the input",
        ),
    ];
    for &(text, line, col, msg) in cases {
        let l = load("bad.json", text);
        let d = only_diag(&l);
        assert_eq!(where_(d), ("E0006", line, col), "{text:?}");
        assert_eq!(d.message, msg, "{text:?}");
    }
    // Escapes decode properly.
    let l = load(
        "ok.json",
        r#"{"apiVersion":"v1","kind":"X","s":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}"#,
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        l.objects[0].node.get("s").unwrap().as_str(),
        Some("a\"b\\c/dé😀\n")
    );
}

fn billion_laughs(levels: usize) -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: X\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..levels {
        let prev = format!("*l{}", i - 1);
        let refs = [prev.as_str(); 9].join(", ");
        s.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    s
}

#[test]
fn alias_bombs_stop_at_the_expansion_budget() {
    let text = billion_laughs(10); // 9^10 ≈ 3.5e9 nodes if expanded
    let l = load("bomb.yaml", &text);
    let d = only_diag(&l);
    assert_eq!(d.code, "E0008");
    assert!(
        d.message.starts_with("alias `*l")
            && d.message
                .ends_with("expands the document past the limit of 1000000 nodes"),
        "{}",
        d.message
    );
    // The alias named is one on the line that crossed the budget.
    let (line, _) = d.loc.as_ref().unwrap().line_col();
    let named = d
        .message
        .split('`')
        .nth(1)
        .unwrap()
        .trim_start_matches("*l");
    let named: usize = named.parse().unwrap();
    assert_eq!(
        line,
        named + 4,
        "the alias `*l{named}` is used on line {}",
        named + 4
    );
    assert!(l.objects.is_empty());

    // A small, legitimate use of aliases is fine, and copies the value.
    let l = load("ok.yaml", &billion_laughs(3));
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let l2 = l.objects[0].node.get("l2").unwrap();
    let NodeKind::Seq(items) = &l2.kind else {
        panic!()
    };
    assert_eq!(items.len(), 9);
    assert!(items[0].same_value(l.objects[0].node.get("l1").unwrap()));

    // A tighter budget is honoured.
    let opts = LoadOptions {
        max_nodes: 50,
        ..LoadOptions::default()
    };
    let l = load_str("ok.yaml", &billion_laughs(3), &opts);
    assert_eq!(only_diag(&l).code, "E0008");
}

#[test]
fn aliases_of_big_strings_stop_at_the_byte_budget() {
    let big = "x".repeat(100_000);
    let mut text = format!("apiVersion: v1\nkind: X\ns: &s {big}\nl:\n");
    for _ in 0..1000 {
        text.push_str("- *s\n"); // 100 MB if expanded, but only ~1000 nodes
    }
    let l = load("strings.yaml", &text);
    let d = only_diag(&l);
    assert_eq!(d.code, "E0008");
    assert!(d.message.starts_with("alias `*s` "), "{}", d.message);
}

#[test]
fn files_over_the_size_limit_are_rejected_without_reading_them() {
    let t = TempDir::new("big");
    let path = t.path().join("huge.yaml");
    {
        let f = std::fs::File::create(&path).unwrap();
        let mut w = std::io::BufWriter::new(f);
        let doc =
            b"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: x}\n";
        let mut written = 0;
        while written < 100 * 1024 * 1024 {
            w.write_all(doc).unwrap();
            written += doc.len();
        }
        w.flush().unwrap();
    }
    let l = load_paths(&[&path], &LoadOptions::default());
    let d = only_diag(&l);
    assert_eq!(d.code, "E0002");
    assert!(
        d.message.starts_with("input is too large ("),
        "{}",
        d.message
    );
    assert!(
        d.message.ends_with("the limit is 67108864 bytes)"),
        "{}",
        d.message
    );
    let loc = d.loc.as_ref().unwrap();
    assert_eq!(loc.to_string(), format!("{}:1:1", path.display()));
    assert!(l.objects.is_empty());
    assert_eq!(l.files[0].text().len(), 0, "the file was not read");

    // The limit is configurable, and applies to in-memory input too.
    let small = LoadOptions {
        max_file_bytes: 10,
        ..LoadOptions::default()
    };
    let l = load_str("s.yaml", "apiVersion: v1\nkind: X\n", &small);
    assert_eq!(only_diag(&l).code, "E0002");
    let l = load_bytes("s.yaml", b"apiVersion: v1\nkind: X\n", &small);
    assert_eq!(only_diag(&l).code, "E0002");
}

#[test]
fn invalid_utf8_reports_byte_offset_and_position() {
    let l = load_bytes(
        "bad.yaml",
        b"apiVersion: v1\nkind: X\nmetadata:\n  name: caf\xe9\n",
        &LoadOptions::default(),
    );
    let d = only_diag(&l);
    assert_eq!(where_(d), ("E0004", 4, 12));
    assert_eq!(d.message, "input is not valid utf-8 (at byte 44)");
    // With a BOM, the byte offset still counts from the start of the file.
    let l = load_bytes("bom.yaml", b"\xEF\xBB\xBFa: \xff", &LoadOptions::default());
    let d = only_diag(&l);
    assert_eq!(where_(d), ("E0004", 1, 4));
    assert_eq!(d.message, "input is not valid utf-8 (at byte 6)");
    // UTF-16 gets a specific hint.
    let l = load_bytes("w.yaml", b"\xFF\xFEa\x00", &LoadOptions::default());
    assert!(only_diag(&l).help.as_deref().unwrap().contains("UTF-16"));
}

#[test]
fn a_utf8_bom_is_ignored() {
    for (name, bytes) in [
        ("bom.yaml", &b"\xEF\xBB\xBFapiVersion: v1\nkind: X\n"[..]),
        (
            "bom.json",
            &b"\xEF\xBB\xBF{\"apiVersion\": \"v1\", \"kind\": \"X\"}"[..],
        ),
    ] {
        let l = load_bytes(name, bytes, &LoadOptions::default());
        assert!(l.diagnostics.is_empty(), "{name}: {:?}", l.diagnostics);
        assert_eq!(l.objects[0].loc().line_col(), (1, 1));
    }
    let l = load("bom.yaml", "\u{feff}apiVersion: v1\nkind: X\n");
    assert!(l.diagnostics.is_empty());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    const DEEP: usize = 100_000;
    let flow_seq = format!("apiVersion: v1\nkind: X\nspec: {}", "[".repeat(DEEP));
    let flow_seq_closed = format!(
        "apiVersion: v1\nkind: X\nspec: {}{}\n",
        "[".repeat(DEEP),
        "]".repeat(DEEP)
    );
    let flow_map = format!("apiVersion: v1\nkind: X\nspec: {}", "{a: ".repeat(DEEP));
    let block_seq = format!("apiVersion: v1\nkind: X\nspec:\n{}x\n", "- ".repeat(DEEP));
    // A block mapping needs one more column per level; 3000 levels are already far past the cap.
    let mut block_map = String::from("apiVersion: v1\nkind: X\nspec:\n");
    for i in 0..3000 {
        block_map.push_str(&" ".repeat(i + 1));
        block_map.push_str("a:\n");
    }
    let json = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"X\", \"spec\": {}",
        "[".repeat(DEEP)
    );
    let json_map = "{\"a\":".repeat(DEEP);
    let cases = [
        ("flow.yaml", flow_seq),
        ("flow-closed.yaml", flow_seq_closed),
        ("flowmap.yaml", flow_map),
        ("blockseq.yaml", block_seq),
        ("blockmap.yaml", block_map),
        ("deep.json", json),
        ("deepmap.json", json_map),
    ];
    for (name, text) in cases {
        let l = load(name, &text);
        let d = only_diag(&l);
        assert_eq!(d.code, "E0007", "{name}: {d}");
        assert!(
            d.message
                .starts_with("nesting is deeper than the limit of 25"),
            "{name}: {d}"
        );
        assert!(l.objects.is_empty());
    }
    // Exactly at the limit is fine.
    let ok = format!(
        "apiVersion: v1\nkind: X\nspec: {}{}\n",
        "[".repeat(255),
        "]".repeat(255)
    );
    let l = load("ok.yaml", &ok);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let ok = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"X\", \"spec\": {}{}}}",
        "[".repeat(255),
        "]".repeat(255)
    );
    let l = load("ok.json", &ok);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    // Aliases cannot sneak past the cap.
    let mut text = String::from("apiVersion: v1\nkind: X\na: &a ");
    text.push_str(&"[".repeat(200));
    text.push_str(&"]".repeat(200));
    text.push_str(&format!("\nb: {}*a{}\n", "[".repeat(100), "]".repeat(100)));
    assert_eq!(only_diag(&load("alias.yaml", &text)).code, "E0007");
}

#[test]
fn numbers_keep_i64_or_become_floats_or_errors() {
    let text = "apiVersion: v1\nkind: X\na: 9223372036854775807\nb: 9223372036854775808\nc: -12\nd: 0x10\ne: 1.5e3\nf: '12'\ng: .inf\n";
    let l = load("n.yaml", text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let n = &l.objects[0].node;
    assert_eq!(n.get("a").unwrap().kind, NodeKind::Int(i64::MAX));
    assert_eq!(
        n.get("b").unwrap().kind,
        NodeKind::Float(9_223_372_036_854_775_808.0)
    );
    assert_eq!(n.get("c").unwrap().kind, NodeKind::Int(-12));
    assert_eq!(n.get("d").unwrap().kind, NodeKind::Int(16));
    assert_eq!(n.get("e").unwrap().kind, NodeKind::Float(1500.0));
    assert_eq!(n.get("f").unwrap().kind, NodeKind::Str("12".into()));
    assert_eq!(n.get("g").unwrap().kind, NodeKind::Float(f64::INFINITY));
    assert_eq!(n.to_json()["g"], ".inf", "json cannot hold infinity");

    let cases: &[(&str, &str, usize, usize)] = &[
        ("x.yaml", "apiVersion: v1\nkind: X\na: 1e400\n", 3, 4),
        (
            "x.yaml",
            "apiVersion: v1\nkind: X\na: 0xFFFFFFFFFFFFFFFFFFFF\n",
            3,
            4,
        ),
        (
            "x.json",
            "{\"apiVersion\": \"v1\", \"kind\": \"X\", \"a\": -1e999}",
            1,
            40,
        ),
    ];
    for &(name, text, line, col) in cases {
        let l = load(name, text);
        let d = only_diag(&l);
        assert_eq!(where_(d), ("E0010", line, col), "{text}");
        assert!(d.message.starts_with("number `") && d.message.ends_with("` is out of range"));
        assert!(l.objects.is_empty(), "a document with an error is left out");
    }
    let l = load("big.json", "{\"apiVersion\": \"v1\", \"kind\": \"X\", \"a\": 123456789012345678901234, \"b\": -5, \"c\": 2.5}");
    assert!(l.diagnostics.is_empty());
    let n = &l.objects[0].node;
    assert_eq!(
        n.get("a").unwrap().kind,
        NodeKind::Float(1.2345678901234568e23)
    );
    assert_eq!(n.get("b").unwrap().kind, NodeKind::Int(-5));
}

#[test]
fn yaml_1_2_scalars_not_1_1() {
    let l = load("s.yaml", "apiVersion: v1\nkind: X\na: on\nb: yes\nc: No\nd: true\ne: ~\nf: 010\ng: !!str 5\nh: \"true\"\n");
    assert!(l.diagnostics.is_empty());
    let n = &l.objects[0].node;
    let json = n.to_json();
    assert_eq!(json["a"], "on");
    assert_eq!(json["b"], "yes");
    assert_eq!(json["c"], "No");
    assert_eq!(json["d"], true);
    assert_eq!(json["e"], serde_json::Value::Null);
    assert_eq!(json["f"], 10);
    assert_eq!(json["g"], "5");
    assert_eq!(json["h"], "true");
}

#[test]
fn duplicate_keys_are_errors() {
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        (
            "d.yaml",
            "apiVersion: v1\nkind: X\nspec:\n  order: 1\n  order: 2\n",
            5,
            3,
            "line 4, column 3",
        ),
        (
            "d.yaml",
            "apiVersion: v1\nkind: X\nmetadata: {name: a, name: b}\n",
            3,
            21,
            "line 3, column 12",
        ),
        (
            "d.yaml",
            "apiVersion: v1\nkind: X\nkind: Y\n",
            3,
            1,
            "line 2, column 1",
        ),
        // `1` and `"1"` are the same key once converted to JSON.
        (
            "d.yaml",
            "apiVersion: v1\nkind: X\nm:\n  1: a\n  '1': b\n",
            5,
            3,
            "line 4, column 3",
        ),
        (
            "d.json",
            "{\"apiVersion\": \"v1\", \"kind\": \"X\",\n \"kind\": \"Y\"}",
            2,
            2,
            "line 1, column 22",
        ),
    ];
    for &(name, text, line, col, first) in cases {
        let l = load(name, text);
        let d = only_diag(&l);
        assert_eq!(where_(d), ("E0009", line, col), "{text}");
        assert!(d.message.starts_with("duplicate key `"), "{}", d.message);
        assert!(d.help.as_deref().unwrap().contains(first), "{:?}", d.help);
        assert!(l.objects.is_empty());
    }
    // The other documents of the file are still loaded.
    let l = load("d.yaml", "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\nx: 1\nx: 2\n---\napiVersion: v1\nkind: C\n");
    let kinds: Vec<_> = l.objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["A", "C"]);
    assert_eq!(l.diagnostics.error_count(), 1);
}

#[test]
fn tabs_are_reported_or_accepted_as_yaml_allows() {
    // A tab in indentation is a YAML error with a position.
    let l = load("t.yaml", "apiVersion: v1\nkind: X\nspec:\n\torder: 1\n");
    let d = only_diag(&l);
    assert_eq!(d.code, "E0005");
    assert_eq!(d.loc.as_ref().unwrap().line_col().0, 4);
    // yaml-rust2 is stricter than YAML 1.2 about a tab right after `:`: still a
    // positioned diagnostic, never a crash.
    let l = load("t.yaml", "apiVersion: v1\nkind:\tX\n");
    assert_eq!(where_(only_diag(&l)), ("E0005", 2, 7));
    // Tabs inside flow collections and after a space are fine.
    let l = load("t.yaml", "apiVersion: v1\nkind: \tX\nm: {a: 1,\tb: 2}\n");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.objects[0].kind, "X");
}

#[test]
fn at_path_and_get_work_on_the_tree() {
    let l = load(
        "a.yaml",
        "apiVersion: v1\nkind: X\nspec:\n  rules:\n  - ports: [80, 443]\n",
    );
    let n = &l.objects[0].node;
    let path = [
        PathSeg::key("spec"),
        PathSeg::key("rules"),
        PathSeg::Index(0),
        PathSeg::key("ports"),
        PathSeg::Index(1),
    ];
    assert_eq!(n.at_path(&path).unwrap().kind, NodeKind::Int(443));
    assert!(n
        .at_path(&[PathSeg::key("spec"), PathSeg::Index(0)])
        .is_none());
    assert_eq!(n.get("kind").unwrap().as_str(), Some("X"));
    assert!(n.get("nope").is_none());
}

#[test]
fn complex_keys_are_rejected_in_linear_time() {
    let l = load("c.yaml", "apiVersion: v1\nkind: X\n? [a, b]\n: 1\n");
    let d = only_diag(&l);
    assert_eq!(where_(d), ("E0019", 3, 3));
    assert_eq!(d.message, "a mapping key must be a scalar, found a list");
    assert!(l.objects.is_empty());
    // Regression (found by the fuzzer): mappings nested as keys of mappings used to
    // build each key's text from its child's escaped JSON, doubling at every level.
    let text = format!(
        "apiVersion: v1\nkind: X\nm: {}{}\n",
        "{".repeat(200),
        "}".repeat(200)
    );
    let l = load("nested.yaml", &text);
    let d = only_diag(&l);
    assert_eq!(d.code, "E0019", "{d}");
}

#[test]
fn aliases_do_not_reach_into_earlier_documents() {
    let l = load(
        "a.yaml",
        "apiVersion: v1\nkind: A\nx: &x 1\n---\napiVersion: v1\nkind: B\ny: *x\n",
    );
    assert_eq!(l.objects.len(), 1);
    let d = only_diag(&l);
    assert_eq!(where_(d), ("E0005", 7, 4));
    assert_eq!(d.message, "alias `*x` refers to no anchor in this document");
}
