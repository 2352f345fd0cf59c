//! Limits, hostile input, and the smaller parts of the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation should stop the test"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tabby_selector::{
    is_valid_label, CompiledSelector, Expr, Interner, Labels, Selector, MAX_DEPTH, MAX_LABEL_LEN,
};

#[test]
fn label_length_limit_is_512() {
    let ok = "k".repeat(MAX_LABEL_LEN);
    let long = "k".repeat(MAX_LABEL_LEN + 1);
    assert!(Selector::parse(&format!("{ok} == \"v\"")).is_ok());
    assert!(Selector::parse(&format!("has({ok})")).is_ok());
    for (text, at) in [
        (format!("{long} == \"v\""), 0),
        (format!("has({long})"), 4),
        (format!("has( {long} )"), 5),
        (format!("a == \"x\" || {long} == \"v\""), 12),
    ] {
        let e = Selector::parse(&text).unwrap_err();
        assert_eq!(e.offset(), at, "{text}");
        assert_eq!(e.len(), MAX_LABEL_LEN + 1);
        assert_eq!(
            e.message(),
            "label is 513 characters long, more than the limit of 512"
        );
    }
    // Values have no limit.
    let v = "v".repeat(100_000);
    assert!(Selector::parse(&format!("a == \"{v}\"")).is_ok());
    assert!(
        is_valid_label(&ok)
            && !is_valid_label(&long)
            && !is_valid_label("")
            && !is_valid_label("a b")
    );
}

fn nested_not(depth: usize) -> String {
    format!("{}has(a){}", "!(".repeat(depth), ")".repeat(depth))
}

fn nested_and(depth: usize) -> String {
    let mut s = "has(z)".to_owned();
    for _ in 0..depth {
        s = format!("has(a) && ({s})");
    }
    s
}

#[test]
fn nesting_limit() {
    // At the limit, everything that walks the tree still works.
    for text in [nested_not(MAX_DEPTH), nested_and(MAX_DEPTH)] {
        let sel = Selector::parse(&text).unwrap();
        let printed = sel.to_string();
        assert!(Selector::parse(&printed).is_ok());
        let labels = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("z".to_owned(), "1".to_owned()),
        ]);
        let _ = sel.matches(&labels);
        let mut i = Interner::new();
        let c = CompiledSelector::compile(&sel, &mut i);
        let _ = c.matches(&Labels::from_pairs(labels.iter(), &mut i), &i);
        assert_eq!(sel.clone(), sel);
        let _ = sel.prefix_labels("p.").label_keys();
    }
    for text in [nested_not(MAX_DEPTH + 1), nested_and(MAX_DEPTH + 1)] {
        let e = Selector::parse(&text).unwrap_err();
        assert_eq!(e.message(), "parentheses nested more than 128 levels deep");
        assert!(e.help().is_some());
    }
    // Redundant parentheses count too; the error points at the first `(` too many.
    let e = Selector::parse(&format!("{}has(a){}", "(".repeat(200), ")".repeat(200))).unwrap_err();
    assert_eq!(e.offset(), MAX_DEPTH);
}

#[test]
fn hostile_inputs_fail_or_parse_without_crashing() {
    let n = 100_000;
    let cases: Vec<(String, bool)> = vec![
        ("(".repeat(n), false),
        (")".repeat(n), false),
        (format!("{}has(a)", "!".repeat(n)), true),
        (format!("{}has(a)", "!(".repeat(n)), false),
        ("has(a) && ".repeat(n / 10) + "has(b)", true),
        ("has(a) || ".repeat(n / 10) + "has(b)", true),
        (format!("a in {{{}}}", "\"x\",".repeat(n / 4)), true),
        ("a".repeat(n), false),
        ("\"".repeat(n), false),
        ("&".repeat(n), false),
        ("{".repeat(n), false),
        ("é".repeat(n / 2), false),
        (" ".repeat(n), true),
        ("!".repeat(n), false),
        (format!("{}a == \"b\"", "(".repeat(n / 2)), false),
    ];
    for (text, ok) in cases {
        let r = Selector::parse(&text);
        assert_eq!(r.is_ok(), ok, "{}…", &text[..20.min(text.len())]);
        if let Err(e) = r {
            assert!(e.offset() + e.len() <= text.len());
            // Messages quote at most a short excerpt of the input.
            assert!(e.message().len() < 300, "{}", e.message().len());
        }
    }
}

#[test]
fn error_accessors_and_display() {
    let e = Selector::parse("app equals \"web\"").unwrap_err();
    assert_eq!(e.offset(), 4);
    assert_eq!(e.len(), 6);
    assert_eq!(e.span(), 4..10);
    assert_eq!(e.suggestion(), Some("=="));
    assert!(e.help().unwrap().contains("`not in`"));
    assert_eq!(
        e.to_string(),
        "expected an operator after label `app`, found `equals` (at byte 4); did you mean `==`?"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().starts_with("expected"));
}

#[test]
fn builders() {
    let a = Selector::parse("has(a)").unwrap();
    let b = Selector::parse("b == 'x'").unwrap();
    assert!(Selector::all().is_all());
    assert!(Selector::default().is_all());
    assert!(Selector::parse("  ").unwrap().is_all());
    assert!(!Selector::parse("global()").unwrap().is_all());
    assert_eq!(Selector::all().and(b.clone()), b);
    assert_eq!(b.clone().and(Selector::all()), b);
    assert_eq!(
        a.clone().and(b.clone()).to_string(),
        r#"(has(a) && b == "x")"#
    );
    assert_eq!(
        a.clone().and(b.clone()).and(a.clone()).to_string(),
        r#"((has(a) && b == "x") && has(a))"#
    );
    assert_eq!(a.clone().negate().to_string(), "!has(a)");
    assert_eq!(a.clone().negate().negate(), a);
    assert_eq!(Selector::all().negate().to_string(), "!all()");

    // from_expr normalises.
    let e = Expr::Or(vec![Expr::In(
        "k".into(),
        vec!["b".into(), "a".into(), "b".into()],
    )]);
    assert_eq!(Selector::from_expr(e).to_string(), r#"k in {"a", "b"}"#);
    assert!(Selector::from_expr(Expr::And(vec![])).is_all());
    let never = Selector::from_expr(Expr::Or(vec![]));
    assert!(!never.matches(&[("a", "b")]));
    let nn = Expr::Not(Box::new(Expr::Not(Box::new(Expr::Has("a".into())))));
    assert_eq!(Selector::from_expr(nn), a);
    assert_eq!(Selector::from(Expr::Global).to_string(), "global()");
}

#[test]
fn prefix_labels_follows_calico_prefix_visitor() {
    // The cases of Calico's visitor test table, with our own prefix.
    for (input, want) in [
        ("k == 'v'", r#"p/k == "v""#),
        ("k != 'v'", r#"p/k != "v""#),
        ("k contains 'v'", r#"p/k contains "v""#),
        ("k starts with 'v'", r#"p/k starts with "v""#),
        ("k ends with 'v'", r#"p/k ends with "v""#),
        ("k == 'v' && x == 'y'", r#"(p/k == "v" && p/x == "y")"#),
        ("k == 'v' || has(x)", r#"(p/k == "v" || has(p/x))"#),
        ("!(k == 'v')", r#"!p/k == "v""#),
        ("k in {'v'}", r#"p/k in {"v"}"#),
        ("k not in {'v'}", r#"p/k not in {"v"}"#),
        ("all() || global()", "(all() || global())"),
        (
            "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
            r#"!(!((p/k == "v" && has(p/t)) || all()) && p/a in {"b", "c"})"#,
        ),
    ] {
        let s = Selector::parse(input).unwrap().prefix_labels("p/");
        assert_eq!(s.to_string(), want, "{input}");
    }
}

#[test]
fn label_keys_and_global() {
    let s = Selector::parse("b == 'x' || (has(a) && b != 'y') || c in {} || all()").unwrap();
    assert_eq!(s.label_keys(), ["b", "a", "c"]);
    assert!(!s.contains_global());
    assert!(Selector::parse("has(a) && !global()")
        .unwrap()
        .contains_global());
    assert!(Selector::all().label_keys().is_empty());
}

#[test]
fn structural_equality_and_hash() {
    use std::collections::HashSet;
    let forms = [
        "a in {'y','x'}",
        "a in {\"x\", \"y\", \"x\"}",
        " (a in{'x','y',}) ",
        "!!a in {'x', 'y'}",
    ];
    let set: HashSet<Selector> = forms.iter().map(|f| Selector::parse(f).unwrap()).collect();
    assert_eq!(set.len(), 1);
    assert_ne!(
        Selector::parse("has(a) && has(b)").unwrap(),
        Selector::parse("has(b) && has(a)").unwrap()
    );
}

#[test]
fn label_map_impls() {
    let sel = Selector::parse("app == 'web' && tier != 'db'").unwrap();
    let bt: BTreeMap<String, String> = [("app".into(), "web".into())].into();
    let arcs: BTreeMap<Arc<str>, Arc<str>> = [("app".into(), "web".into())].into();
    let hm: HashMap<String, String> = [("app".into(), "web".into())].into();
    let hm_str: HashMap<&str, &str> = [("app", "web")].into();
    let v: Vec<(String, String)> = vec![("app".into(), "web".into())];
    assert!(sel.matches(&bt));
    assert!(sel.matches(&arcs));
    assert!(sel.matches(&hm));
    assert!(sel.matches(&hm_str));
    assert!(sel.matches(&v));
    assert!(sel.matches(v.as_slice()));
    assert!(sel.matches(&[("app", "web")]));
    assert!(!sel.matches(&[("app", "web"), ("tier", "db")]));
    assert!(sel.matches(&&bt));
}

#[test]
fn interner_and_labels() {
    let mut i = Interner::new();
    assert!(i.is_empty());
    let a = i.intern("a");
    let b = i.intern("b");
    assert_ne!(a, b);
    assert_eq!(i.intern("a"), a);
    assert_eq!(i.len(), 2);
    assert_eq!(i.resolve(b), "b");
    assert_eq!(i.get("zzz"), None);

    // Last value wins for a repeated key; lookups work past the linear-scan size.
    let mut pairs: Vec<(String, String)> = (0..40)
        .map(|n| (format!("k{n}"), format!("v{n}")))
        .collect();
    pairs.push(("k3".into(), "again".into()));
    let mut l = Labels::from_pairs(pairs.iter().map(|(k, v)| (k, v)), &mut i);
    assert_eq!(l.len(), 40);
    assert_eq!(l.get_str("k3", &i), Some("again"));
    for n in [0, 7, 8, 9, 20, 39] {
        assert_eq!(
            l.get_str(&format!("k{n}"), &i),
            Some(format!("v{n}").as_str())
        );
    }
    assert_eq!(l.get_str("k40", &i), None);
    let k = i.intern("new");
    let v = i.intern("val");
    l.insert(k, v);
    assert_eq!(l.get(k), Some(v));
    assert_eq!(l.remove(k), Some(v));
    assert_eq!(l.get(k), None);
    assert_eq!(
        Labels::from_syms(vec![(b, a), (a, b), (b, b)])
            .iter()
            .collect::<Vec<_>>(),
        vec![(a, b), (b, b)]
    );
}

#[test]
fn compiled_folds_constants() {
    let mut i = Interner::new();
    let c = |t: &str, i: &mut Interner| CompiledSelector::compile(&Selector::parse(t).unwrap(), i);
    assert!(c("all()", &mut i).is_always());
    assert!(c("global() || has(a)", &mut i).is_always());
    assert!(c("a not in {}", &mut i).is_always());
    assert!(c("!all()", &mut i).is_never());
    assert!(c("a in {} && has(b)", &mut i).is_never());
    assert!(!c("has(a)", &mut i).is_always());
    // A selector compiled against a label interned later still matches.
    let sel = c("late == 'value' && z contains 'al'", &mut i);
    let l = Labels::new([("late", "value"), ("z", "value")], &mut i);
    assert!(sel.matches(&l, &i));
}

#[test]
fn compiled_paths_agree_for_any_number_of_keys() {
    // 1..=3 names: direct lookups; 4..=32: fetched up front; more: direct again.
    for n in [1usize, 3, 4, 10, 32, 33, 40] {
        let text = (0..n)
            .map(|k| format!("(k{k} == 'v' || !has(k{k}))"))
            .collect::<Vec<_>>()
            .join(" && ");
        let sel = Selector::parse(&text).unwrap();
        let mut i = Interner::new();
        let c = CompiledSelector::compile(&sel, &mut i);
        for bad in [None, Some(0), Some(n - 1), Some(n / 2)] {
            let mut map: BTreeMap<String, String> =
                (0..n).map(|k| (format!("k{k}"), "v".to_owned())).collect();
            map.insert("other".into(), "x".into());
            if let Some(b) = bad {
                map.insert(format!("k{b}"), "w".into());
            }
            let l = Labels::from_pairs(map.iter(), &mut i);
            assert_eq!(c.matches(&l, &i), bad.is_none(), "{n} names, bad {bad:?}");
            assert_eq!(sel.matches(&map), bad.is_none());
        }
    }
}
