//! Property tests: printer/parser round trip, compiled vs plain evaluator,
//! plain evaluator vs a naive reference written here from calico-semantics §4.2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation should stop the test"
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use tabby_selector::{CompiledSelector, Expr, Interner, Labels, Selector};

/// Label names, keyword-heavy so the lexer's context rules get exercised.
fn label() -> impl Strategy<Value = Arc<str>> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "a", "b", "app", "in", "not", "notin", "contains", "starts", "startswith",
            "ends", "with", "has", "all", "global", "-", "0", "x.y/z", "projectcalico.org/namespace",
        ])
        .prop_map(Arc::from),
        1 => "[a-zA-Z0-9_./-]{1,24}".prop_map(|s| Arc::from(s.as_str())),
    ]
}

/// Any value a selector can spell: anything without both quote characters.
fn value() -> impl Strategy<Value = Arc<str>> {
    prop_oneof![
        2 => prop::sample::select(vec!["", "x", "y", "xy", "'", "\"", "a b", "&&", "}", "é"]).prop_map(Arc::from),
        1 => any::<String>()
            .prop_filter("both quotes", |s| !(s.contains('"') && s.contains('\'')))
            .prop_map(|s| Arc::from(s.as_str())),
    ]
}

fn leaf(
    label: BoxedStrategy<Arc<str>>,
    value: BoxedStrategy<Arc<str>>,
) -> impl Strategy<Value = Expr> {
    let set = prop::collection::vec(value.clone(), 0..5);
    prop_oneof![
        1 => Just(Expr::All),
        1 => Just(Expr::Global),
        2 => label.clone().prop_map(Expr::Has),
        3 => (label.clone(), value.clone()).prop_map(|(k, v)| Expr::Eq(k, v)),
        2 => (label.clone(), value.clone()).prop_map(|(k, v)| Expr::Ne(k, v)),
        2 => (label.clone(), set.clone()).prop_map(|(k, s)| Expr::In(k, s)),
        2 => (label.clone(), set).prop_map(|(k, s)| Expr::NotIn(k, s)),
        1 => (label.clone(), value.clone()).prop_map(|(k, v)| Expr::Contains(k, v)),
        1 => (label.clone(), value.clone()).prop_map(|(k, v)| Expr::StartsWith(k, v)),
        1 => (label, value).prop_map(|(k, v)| Expr::EndsWith(k, v)),
    ]
}

fn tree(leaves: impl Strategy<Value = Expr> + 'static) -> impl Strategy<Value = Expr> {
    leaves
        .prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::And),
                prop::collection::vec(inner, 2..5).prop_map(Expr::Or),
            ]
        })
        // The parser's normal form: sorted sets, no `!!`.
        .prop_map(Expr::normalize)
}

fn any_expr() -> impl Strategy<Value = Expr> {
    tree(leaf(label().boxed(), value().boxed()))
}

/// Small alphabets so random label maps often hit the selector's terms.
fn small_label() -> BoxedStrategy<Arc<str>> {
    prop::sample::select(vec!["a", "b", "c", "in"])
        .prop_map(Arc::from)
        .boxed()
}
fn small_value() -> BoxedStrategy<Arc<str>> {
    prop::sample::select(vec!["", "x", "y", "xy", "yx", "xyz"])
        .prop_map(Arc::from)
        .boxed()
}
fn small_expr() -> impl Strategy<Value = Expr> {
    tree(leaf(small_label(), small_value()))
}
fn small_labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        prop::sample::select(vec!["a", "b", "c", "in", "d"]).prop_map(str::to_owned),
        prop::sample::select(vec!["", "x", "y", "xy", "yx", "xyz", "z"]).prop_map(str::to_owned),
        0..5,
    )
}

/// Many label names (so the compiled matcher's hashed fetch of 4–32 names
/// is exercised) and values around the 8-byte needle boundary.
fn wide_label() -> BoxedStrategy<Arc<str>> {
    (0u8..40).prop_map(|i| Arc::from(format!("l{i}"))).boxed()
}
fn wide_value() -> BoxedStrategy<Arc<str>> {
    prop::sample::select(vec![
        "",
        "s",
        "st",
        "stable",
        "-stable",
        "v1-stable",
        "stablest",
        "abcdefgh",
        "abcdefghi",
        "xabcdefghx",
        "gh",
        "ghi",
    ])
    .prop_map(Arc::from)
    .boxed()
}
fn wide_expr() -> impl Strategy<Value = Expr> {
    leaf(wide_label(), wide_value())
        .prop_recursive(4, 64, 12, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                prop::collection::vec(inner.clone(), 2..12).prop_map(Expr::And),
                prop::collection::vec(inner, 2..12).prop_map(Expr::Or),
            ]
        })
        .prop_map(Expr::normalize)
}
fn wide_labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        (0u8..44).prop_map(|i| format!("l{i}")),
        prop::sample::select(vec![
            "",
            "s",
            "stable",
            "-stable",
            "v1-stable",
            "abcdefgh",
            "abcdefghi",
            "xabcdefghx",
            "zzabcdefghizz",
            "gh",
        ])
        .prop_map(str::to_owned),
        0..40,
    )
}

/// calico-semantics §4.2, over a plain list of pairs.
fn reference(e: &Expr, labels: &[(String, String)]) -> bool {
    let lookup = |k: &str| -> Option<String> {
        labels
            .iter()
            .find(|(lk, _)| lk == k)
            .map(|(_, v)| v.clone())
    };
    match e {
        Expr::All | Expr::Global => true,
        Expr::Has(k) => lookup(k).is_some(),
        Expr::Eq(k, v) => match lookup(k) {
            Some(x) => x == **v,
            None => false,
        },
        Expr::Ne(k, v) => match lookup(k) {
            Some(x) => x != **v,
            None => true,
        },
        Expr::In(k, s) => match lookup(k) {
            Some(x) => s.iter().any(|m| **m == *x),
            None => false,
        },
        Expr::NotIn(k, s) => match lookup(k) {
            Some(x) => !s.iter().any(|m| **m == *x),
            None => true,
        },
        Expr::Contains(k, v) => lookup(k).is_some_and(|x| x.find(&**v).is_some()),
        Expr::StartsWith(k, v) => {
            lookup(k).is_some_and(|x| x.as_bytes().get(..v.len()) == Some(v.as_bytes()))
        }
        Expr::EndsWith(k, v) => lookup(k).is_some_and(|x| {
            x.len()
                .checked_sub(v.len())
                .and_then(|at| x.as_bytes().get(at..))
                == Some(v.as_bytes())
        }),
        Expr::Not(e) => !reference(e, labels),
        Expr::And(v) => {
            let mut r = true;
            for e in v {
                r = r && reference(e, labels);
            }
            r
        }
        Expr::Or(v) => {
            let mut r = false;
            for e in v {
                r = r || reference(e, labels);
            }
            r
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_identity(e in any_expr()) {
        let sel = Selector::from_expr(e.clone());
        prop_assert_eq!(sel.expr(), &e);
        let text = sel.to_string();
        let back = Selector::parse(&text);
        prop_assert!(back.is_ok(), "{:?} did not parse: {:?}", text, back);
        let back = back.unwrap();
        prop_assert_eq!(&back, &sel, "{}", text);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn compiled_agrees_with_plain(e in small_expr(), maps in prop::collection::vec(small_labels(), 1..6)) {
        let sel = Selector::from_expr(e);
        let mut interner = Interner::new();
        // Some labels are interned before the selector, some after.
        let early = Labels::from_pairs(maps[0].iter(), &mut interner);
        let compiled = CompiledSelector::compile(&sel, &mut interner);
        prop_assert_eq!(compiled.matches(&early, &interner), sel.matches(&maps[0]));
        for m in &maps {
            let l = Labels::from_pairs(m.iter(), &mut interner);
            prop_assert_eq!(compiled.matches(&l, &interner), sel.matches(m), "{} on {:?}", sel, m);
        }
        if compiled.is_always() {
            prop_assert!(maps.iter().all(|m| sel.matches(m)));
        }
        if compiled.is_never() {
            prop_assert!(!maps.iter().any(|m| sel.matches(m)));
        }
    }

    #[test]
    fn compiled_agrees_with_plain_wide(e in wide_expr(), maps in prop::collection::vec(wide_labels(), 1..6)) {
        let sel = Selector::from_expr(e);
        let mut interner = Interner::new();
        let compiled = CompiledSelector::compile(&sel, &mut interner);
        for m in &maps {
            let l = Labels::from_pairs(m.iter(), &mut interner);
            let want = sel.matches(m);
            prop_assert_eq!(compiled.matches(&l, &interner), want, "{} on {:?}", sel, m);
            prop_assert_eq!(compiled.matches_direct(&l, &interner), want, "{} on {:?}", sel, m);
        }
    }

    #[test]
    fn plain_agrees_with_reference(e in small_expr(), m in small_labels()) {
        let pairs: Vec<(String, String)> = m.clone().into_iter().collect();
        let sel = Selector::from_expr(e.clone());
        let want = reference(&e, &pairs);
        prop_assert_eq!(sel.matches(&m), want);
        prop_assert_eq!(sel.matches(&pairs), want);
        // Negation flips; canonical text evaluates the same.
        prop_assert_eq!(sel.clone().negate().matches(&m), !want);
        prop_assert_eq!(Selector::parse(&sel.to_string()).unwrap().matches(&m), want);
    }

    #[test]
    fn and_is_conjunction(a in small_expr(), b in small_expr(), m in small_labels()) {
        let (a, b) = (Selector::from_expr(a), Selector::from_expr(b));
        let both = a.clone().and(b.clone());
        prop_assert_eq!(both.matches(&m), a.matches(&m) && b.matches(&m));
        // What a caller would get by writing `(a) && (b)`.
        let text = Selector::parse(&format!("({a}) && ({b})")).unwrap();
        if !a.is_all() && !b.is_all() {
            prop_assert_eq!(&both, &text);
        }
    }

    #[test]
    fn prefix_labels_matches_prefixed_map(e in small_expr(), m in small_labels()) {
        let sel = Selector::from_expr(e);
        let prefixed: BTreeMap<String, String> = m.iter().map(|(k, v)| (format!("pcns.{k}"), v.clone())).collect();
        let p = sel.prefix_labels("pcns.");
        prop_assert_eq!(p.matches(&prefixed), sel.matches(&m));
        prop_assert!(p.label_keys().iter().all(|k| k.starts_with("pcns.")));
        prop_assert_eq!(p.label_keys().len(), sel.label_keys().len());
    }

    #[test]
    fn arbitrary_text_never_panics(s in "[a-c \t!&|(){},=\"'%é\n]{0,40}|(has|all|global|in|not|contains|starts|with|a|[()!&|{},\"' ]){0,20}") {
        match Selector::parse(&s) {
            Ok(sel) => {
                let back = Selector::parse(&sel.to_string()).unwrap();
                prop_assert_eq!(back.expr(), &sel.expr().clone().normalize());
            }
            Err(e) => {
                prop_assert!(e.offset() + e.len() <= s.len());
                prop_assert!(s.is_char_boundary(e.offset()));
                prop_assert!(!e.message().is_empty());
            }
        }
    }

    #[test]
    fn whitespace_between_tokens_is_free(e in small_expr(), pad in "[ \t]{0,3}") {
        // Re-space the canonical text: add blanks after every token boundary
        // where Calico allows them, and the tree must not change.
        let sel = Selector::from_expr(e);
        let text = sel.to_string();
        let spaced = text
            .replace("&& ", &format!("&&{pad} "))
            .replace("(", &format!("({pad}"))
            .replace(")", &format!("{pad})"))
            .replace(", ", &format!("{pad},{pad} "));
        // Only the parts outside quoted values were changed when no value
        // contains those characters; small_value() has none.
        prop_assert_eq!(Selector::parse(&spaced).unwrap(), sel);
    }
}
