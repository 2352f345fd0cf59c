//! Positions of objects and nested nodes, documents and lists, directories.

mod common;

use common::{load, only_diag, where_, TempDir};
use tabby_load::{load_paths, LoadOptions, NodeKind, PathSeg};

fn p(segs: &[&str]) -> Vec<PathSeg> {
    segs.iter()
        .map(|s| match s.parse::<usize>() {
            Ok(i) => PathSeg::Index(i),
            Err(_) => PathSeg::key(s),
        })
        .collect()
}

const MULTI_DOC: &str = "\
# leading comment
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-all
spec:
  order: 100
  selector: all()
  ingress:
    - action: Deny
      source:
        nets: ['10.0.0.0/8', \"192.168.0.0/16\"]
---
---
# an empty document above, a null one below
null
---
kind: NetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: allow-dns, namespace: prod}
spec:
  egress:
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
...
";

#[test]
fn multi_document_yaml_positions() {
    let l = load("policies.yaml", MULTI_DOC);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.objects.len(), 2);
    let (a, b) = (&l.objects[0], &l.objects[1]);
    assert_eq!(a.kind, "GlobalNetworkPolicy");
    assert_eq!(a.api_version, "projectcalico.org/v3");
    assert_eq!(a.name.as_deref(), Some("deny-all"));
    assert_eq!(a.namespace, None);
    assert_eq!(a.loc().line_col(), (2, 1));
    assert_eq!(a.doc_index, 0);
    assert_eq!(b.kind, "NetworkPolicy");
    assert_eq!(b.name.as_deref(), Some("allow-dns"));
    assert_eq!(b.namespace.as_deref(), Some("prod"));
    assert_eq!(b.loc().line_col(), (18, 1));

    // (object, path, line, col, text under the span)
    let cases: &[(usize, &[&str], usize, usize, &str)] = &[
        (0, &["spec", "order"], 7, 10, "100"),
        (0, &["spec", "selector"], 8, 13, "all()"),
        (0, &["spec", "ingress", "0", "action"], 10, 15, "Deny"),
        (0, &["spec", "ingress", "0"], 10, 7, "action"),
        (
            0,
            &["spec", "ingress", "0", "source", "nets", "0"],
            12,
            16,
            "'10.0.0.0/8'",
        ),
        (
            0,
            &["spec", "ingress", "0", "source", "nets", "1"],
            12,
            30,
            "\"192.168.0.0/16\"",
        ),
        (
            0,
            &["spec", "ingress", "0", "source", "nets"],
            12,
            15,
            "['10.0.0.0/8', \"192.168.0.0/16\"]",
        ),
        // Missing paths fall back to the nearest existing ancestor.
        (
            0,
            &["spec", "ingress", "0", "nope", "deeper"],
            10,
            7,
            "action",
        ),
        (0, &["spec", "egress"], 7, 3, "order"),
        (
            1,
            &["metadata"],
            20,
            11,
            "{name: allow-dns, namespace: prod}",
        ),
        (1, &["metadata", "namespace"], 20, 40, "prod"),
        (1, &["spec", "egress", "0", "protocol"], 24, 15, "UDP"),
        (
            1,
            &["spec", "egress", "0", "destination", "ports", "0"],
            25,
            27,
            "53",
        ),
    ];
    for &(i, path, line, col, text) in cases {
        let obj = &l.objects[i];
        let loc = obj.loc_of(&p(path));
        assert_eq!(loc.line_col(), (line, col), "{path:?}");
        let got = &MULTI_DOC[loc.span()];
        assert!(
            got.starts_with(text),
            "{path:?}: span covers {got:?}, want {text:?}"
        );
        if text.starts_with(['[', '{', '\'', '"']) || !got.contains(':') {
            assert_eq!(got, text, "{path:?}");
        }
    }
    // Key positions, for "unknown field" errors.
    let k = l.objects[0].loc_of_key(&p(&["spec", "ingress", "0", "source"]));
    assert_eq!(k.line_col(), (11, 7));
    assert_eq!(&MULTI_DOC[k.span()], "source");
    // Scalars resolve by the YAML 1.2 core schema.
    let order = l.objects[0].node.at_path(&p(&["spec", "order"])).unwrap();
    assert_eq!(order.kind, NodeKind::Int(100));
    let port = l.objects[1]
        .node
        .at_path(&p(&["spec", "egress", "0", "destination", "ports", "0"]))
        .unwrap();
    assert_eq!(port.kind, NodeKind::Int(53));
}

#[test]
fn non_ascii_text_keeps_byte_spans_and_char_columns() {
    let text = "apiVersion: v1\nkind: X\nmetadata:\n  annotations: {note: \"héllo wörld\", b: ünïcode}\n  name: x\n";
    let l = load("u.yaml", text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let o = &l.objects[0];
    let b = o.loc_of(&p(&["metadata", "annotations", "b"]));
    assert_eq!(&text[b.span()], "ünïcode");
    assert_eq!(b.line_col(), (4, 41));
    let name = o.loc_of(&p(&["metadata", "name"]));
    assert_eq!(name.line_col(), (5, 9));
    assert_eq!(&text[name.span()], "x");
}

#[test]
fn json_object_and_stream_positions() {
    let text = "{\n  \"apiVersion\": \"projectcalico.org/v3\",\n  \"kind\": \"NetworkSet\",\n  \"metadata\": {\"name\": \"a\"},\n  \"spec\": {\"nets\": [\"10.0.0.0/8\", 1.5, -3, true, null]}\n}\n{\"apiVersion\":\"v1\",\t\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}\n";
    let l = load("sets.json", text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.objects.len(), 3);
    assert_eq!(l.objects[0].loc().line_col(), (1, 1));
    assert_eq!(l.objects[1].loc().line_col(), (7, 1));
    assert_eq!(l.objects[2].loc().line_col(), (7, 58));
    assert_eq!(l.objects[2].doc_index, 2);
    let nets = &l.objects[0];
    let cases: &[(&[&str], usize, usize, &str)] = &[
        (&["kind"], 3, 11, "\"NetworkSet\""),
        (&["metadata", "name"], 4, 24, "\"a\""),
        (
            &["spec", "nets"],
            5,
            20,
            "[\"10.0.0.0/8\", 1.5, -3, true, null]",
        ),
        (&["spec", "nets", "1"], 5, 35, "1.5"),
        (&["spec", "nets", "2"], 5, 40, "-3"),
        (&["spec", "nets", "4"], 5, 50, "null"),
    ];
    for &(path, line, col, want) in cases {
        let loc = nets.loc_of(&p(path));
        assert_eq!(loc.line_col(), (line, col), "{path:?}");
        assert_eq!(&text[loc.span()], want, "{path:?}");
    }
    let kinds: Vec<_> = nets
        .node
        .at_path(&p(&["spec", "nets"]))
        .unwrap()
        .to_json()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        serde_json::Value::Array(kinds),
        serde_json::json!(["10.0.0.0/8", 1.5, -3, true, null])
    );
    assert_eq!(
        l.objects[1].loc_of_key(&p(&["kind"])).line_col(),
        (7, 21),
        "tabs are JSON whitespace"
    );
}

#[test]
fn stdin_style_names_sniff_the_format() {
    // `-` has no extension: `{` means JSON (a stream), anything else YAML.
    let l = load(
        "-",
        "{\"apiVersion\":\"v1\",\"kind\":\"A\"} {\"apiVersion\":\"v1\",\"kind\":\"B\"}",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.objects.len(), 2);
    let l = load("-", "apiVersion: v1\nkind: A\n");
    assert_eq!(l.objects.len(), 1);
}

const KUBECTL_LIST: &str = "\
apiVersion: v1
kind: List
items:
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata:
    name: a
    namespace: ns1
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: b
metadata:
  resourceVersion: \"\"
";

#[test]
fn kind_list_is_unwrapped_with_item_positions() {
    let l = load("list.yaml", KUBECTL_LIST);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let got: Vec<_> = l
        .objects
        .iter()
        .map(|o| {
            (
                o.kind.as_str(),
                o.name.as_deref(),
                o.loc().line_col(),
                o.list_index,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("NetworkPolicy", Some("a"), (4, 3), Some(0)),
            ("GlobalNetworkPolicy", Some("b"), (9, 3), Some(1)),
        ]
    );
    assert_eq!(l.objects[0].namespace.as_deref(), Some("ns1"));
}

const TYPED_LIST: &str = "\
apiVersion: projectcalico.org/v3
kind: NetworkPolicyList
metadata: {}
items:
- metadata:
    name: a
  spec:
    selector: app == 'x'
- kind: NetworkPolicy
  metadata:
    name: b
";

#[test]
fn typed_list_items_inherit_api_version_and_kind() {
    let l = load("list.yaml", TYPED_LIST);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.objects.len(), 2);
    for o in &l.objects {
        assert_eq!(o.kind, "NetworkPolicy");
        assert_eq!(o.api_version, "projectcalico.org/v3");
        // Inferred fields are in the node, so typed decoding sees them.
        let json = o.node.to_json();
        assert_eq!(json["kind"], "NetworkPolicy");
        assert_eq!(json["apiVersion"], "projectcalico.org/v3");
    }
    assert_eq!(l.objects[0].loc().line_col(), (5, 3));
    assert_eq!(l.objects[1].loc().line_col(), (9, 3));
    let sel = l.objects[0].loc_of(&p(&["spec", "selector"]));
    assert_eq!(sel.line_col(), (8, 15));
    // An inferred kind points at the list's kind.
    assert_eq!(l.objects[0].loc_of(&p(&["kind"])).line_col(), (2, 7));
}

#[test]
fn list_problems_are_reported() {
    let cases: &[(&str, &str, usize, usize)] = &[
        // A generic List cannot tell its items' kind.
        (
            "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n",
            "E0012",
            4,
            3,
        ),
        (
            "apiVersion: v1\nkind: PodList\nitems: {a: 1}\n",
            "E0014",
            3,
            8,
        ),
        (
            "apiVersion: v1\nkind: PodList\nitems:\n- 42\n",
            "E0011",
            4,
            3,
        ),
        (
            "apiVersion: v1\nkind: PodList\nitems:\n- kind: 7\n",
            "E0013",
            4,
            9,
        ),
    ];
    for &(text, code, line, col) in cases {
        let l = load("l.yaml", text);
        assert_eq!(where_(only_diag(&l)), (code, line, col), "{text}");
        assert!(l.objects.is_empty());
    }
    // No items, or `items: null` / `[]`: nothing, silently.
    for text in [
        "apiVersion: v1\nkind: PodList\n",
        "apiVersion: v1\nkind: PodList\nitems: []\n",
        "apiVersion: v1\nkind: List\nitems:\n",
    ] {
        let l = load("l.yaml", text);
        assert!(l.diagnostics.is_empty() && l.objects.is_empty(), "{text}");
    }
}

#[test]
fn documents_need_api_version_and_kind() {
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        (
            "kind: X\nmetadata: {}\n",
            "E0012",
            1,
            1,
            "document has no `apiVersion`",
        ),
        ("apiVersion: v1\n", "E0012", 1, 1, "document has no `kind`"),
        (
            "apiVersion: v1\nkind: [a]\n",
            "E0013",
            2,
            7,
            "`kind` must be a non-empty string, found a list",
        ),
        (
            "apiVersion: v1\nkind: ''\n",
            "E0013",
            2,
            7,
            "`kind` must be a non-empty string, found an empty string",
        ),
        (
            "apiVersion: 3\nkind: X\n",
            "E0013",
            1,
            13,
            "`apiVersion` must be a non-empty string, found an integer",
        ),
        (
            "- a\n- b\n",
            "E0011",
            1,
            1,
            "document must be a mapping with `apiVersion` and `kind`, found a list",
        ),
        (
            "---\nhello\n",
            "E0011",
            2,
            1,
            "document must be a mapping with `apiVersion` and `kind`, found a string",
        ),
    ];
    for &(text, code, line, col, msg) in cases {
        let l = load("d.yaml", text);
        let d = only_diag(&l);
        assert_eq!(where_(d), (code, line, col), "{text}");
        assert_eq!(d.message, msg);
        assert!(d.help.is_some());
    }
    // Empty and null documents are skipped silently.
    for text in [
        "",
        "\n\n# only a comment\n",
        "---\n---\n",
        "null\n",
        "~",
        "---\n...\n",
    ] {
        let l = load("e.yaml", text);
        assert!(l.diagnostics.is_empty() && l.objects.is_empty(), "{text:?}");
    }
    let l = load("e.json", "  \n");
    assert!(l.diagnostics.is_empty() && l.objects.is_empty());
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let t = TempDir::new("dirs");
    let obj = |name: &str| format!("apiVersion: v1\nkind: X\nmetadata: {{name: {name}}}\n");
    t.write("b.yaml", obj("b"));
    t.write("a.yml", obj("a"));
    t.write(
        "c/z.json",
        "{\"apiVersion\":\"v1\",\"kind\":\"X\",\"metadata\":{\"name\":\"c/z\"}}",
    );
    t.write("c/d/e.yaml", obj("c/d/e"));
    t.write("c/a.YAML", obj("c/a"));
    t.write("readme.md", "not: [loaded");
    t.write("notes.txt", "x");
    t.write(".hidden/h.yaml", obj("hidden"));
    t.write("c/.git/config.yaml", obj("git"));
    t.write("empty.yaml", "");
    let single = t.write("single.txt", obj("explicit")); // named explicitly: any extension
    let l = load_paths(&[t.path().to_path_buf(), single], &LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let names: Vec<_> = l
        .objects
        .iter()
        .map(|o| o.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c/a", "c/d/e", "c/z", "explicit"]);
    assert_eq!(l.files.len(), 7, "every file read is kept for rendering");
    let first = l.objects[0].loc().to_string();
    assert!(first.ends_with("a.yml:1:1"), "{first}");

    // Loading twice gives the same order (determinism).
    let again = load_paths(&[t.path()], &LoadOptions::default());
    let names2: Vec<_> = again
        .objects
        .iter()
        .map(|o| o.name.clone().unwrap())
        .collect();
    assert_eq!(names2, ["a", "b", "c/a", "c/d/e", "c/z"]);
}

#[test]
fn missing_paths_and_empty_directories_are_diagnostics() {
    let t = TempDir::new("missing");
    std::fs::create_dir_all(t.path().join("empty")).unwrap();
    let missing = t.path().join("nope.yaml");
    let l = load_paths(
        &[missing.clone(), t.path().join("empty")],
        &LoadOptions::default(),
    );
    let ds: Vec<_> = l.diagnostics.iter().collect();
    assert_eq!(ds.len(), 2, "{ds:?}");
    assert_eq!(ds[0].code, "E0001");
    assert!(ds[0].is_error());
    assert_eq!(
        ds[0].message,
        format!(
            "cannot read `{}`: no such file or directory",
            missing.display()
        )
    );
    assert_eq!(ds[1].code, "E0003");
    assert!(!ds[1].is_error(), "an empty directory is a warning");
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_walked_once() {
    let t = TempDir::new("loop");
    t.write("d/a.yaml", "apiVersion: v1\nkind: X\n");
    std::os::unix::fs::symlink(t.path().join("d"), t.path().join("d/loop")).unwrap();
    let l = load_paths(&[t.path()], &LoadOptions::default());
    assert!(!l.objects.is_empty());
    assert!(l.objects.len() <= 2, "{}", l.objects.len());
}

#[test]
fn yaml_merge_keys_merge_like_go_yaml() {
    let text = "\
apiVersion: v1
kind: X
base: &base {a: 1, b: 2}
other: &other {b: 20, c: 30}
one:
  <<: *base
  b: 3
many:
  <<: [*other, *base]
  d: 4
quoted:
  '<<': 5
";
    let l = load("m.yaml", text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let json = l.objects[0].node.to_json();
    assert_eq!(json["one"], serde_json::json!({"a": 1, "b": 3}));
    assert_eq!(
        json["many"],
        serde_json::json!({"a": 1, "b": 20, "c": 30, "d": 4})
    );
    assert_eq!(
        json["quoted"],
        serde_json::json!({"<<": 5}),
        "only a plain `<<` merges"
    );
    // Merged values point at their definition.
    let a = l.objects[0].loc_of(&p(&["one", "a"]));
    assert_eq!(a.line_col(), (3, 17));
    assert_eq!(l.objects[0].loc_of(&p(&["one"])).line_col(), (6, 3));

    let bad = load("m.yaml", "apiVersion: v1\nkind: X\nm:\n  <<: 5\n");
    assert_eq!(where_(only_diag(&bad)), ("E0005", 4, 7));
    assert!(bad.objects.is_empty());
}

#[test]
fn crlf_line_endings_keep_positions() {
    let text = "apiVersion: v1\r\nkind: X\r\nspec:\r\n  selector: all()\r\n  order: 5\r\n";
    let l = load("crlf.yaml", text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let o = &l.objects[0];
    assert_eq!(o.kind, "X");
    let sel = o.loc_of(&p(&["spec", "selector"]));
    assert_eq!(sel.line_col(), (4, 13));
    assert_eq!(&text[sel.span()], "all()");
    assert_eq!(
        o.node.at_path(&p(&["spec", "order"])).unwrap().kind,
        NodeKind::Int(5)
    );
}
