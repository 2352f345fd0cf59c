//! The fuzz oracle, shared by `fuzz/fuzz_targets/selector.rs` and the
//! `tests/fuzz_corpus.rs` replay of the fuzz corpus. Not a stable API.

use crate::{CompiledSelector, Interner, Labels, Selector};

/// Parses `input`; panics if parsing panics, if an error points outside the
/// input, if a parsed selector's printed form does not parse back to the
/// (normalised) same tree, or if the compiled and plain evaluators disagree.
pub fn round_trip(input: &str) {
    let sel = match Selector::parse(input) {
        Ok(sel) => sel,
        Err(e) => {
            assert!(
                e.offset() + e.len() <= input.len(),
                "error span out of range"
            );
            assert!(
                input.is_char_boundary(e.offset()),
                "error offset not on a char boundary"
            );
            assert!(!e.message().is_empty(), "empty message");
            return;
        }
    };
    let text = sel.to_string();
    let back = Selector::parse(&text);
    assert!(
        back.is_ok(),
        "canonical form {text:?} of {input:?} does not parse: {back:?}"
    );
    if let Ok(back) = back {
        assert_eq!(
            back.expr(),
            &sel.expr().clone().normalize(),
            "round trip of {input:?}"
        );
        assert_eq!(
            Selector::parse(&back.to_string()).ok().as_ref(),
            Some(&back)
        );
    }
    // Evaluate against label sets built from the selector's own keys.
    let keys = sel.label_keys();
    let mut interner = Interner::new();
    let compiled = CompiledSelector::compile(&sel, &mut interner);
    for value in ["", "x", "a", "web"] {
        for n in 0..=keys.len().min(3) {
            let pairs: Vec<(&str, &str)> = keys.iter().take(n).map(|k| (*k, value)).collect();
            let labels = Labels::new(pairs.iter().copied(), &mut interner);
            assert_eq!(
                compiled.matches(&labels, &interner),
                sel.matches(&pairs),
                "compiled and plain disagree on {input:?} with {pairs:?}"
            );
        }
    }
}
