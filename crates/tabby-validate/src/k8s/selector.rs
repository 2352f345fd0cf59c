//! Kubernetes label selectors (`matchLabels` + `matchExpressions`) into Calico
//! selectors, as Calico's `k8sSelectorToCalico` writes them.
//!
//! Calico builds a selector *string* and lets its parser read it, so we do the same:
//! the text below is exactly Calico's (`projectcalico.org/orchestrator == 'k8s' &&
//! a == 'b' && k in { 'x', 'y' } && ! has(z)`), and our parser's canonical form of it
//! is what Calico's `Selector.String()` would print.
//!
//! Validation follows the API server (`ValidateLabelSelector` in
//! `k8s.io/apimachinery/pkg/apis/meta/v1/validation`): keys are qualified names,
//! values label values, `In`/`NotIn` need values, `Exists`/`DoesNotExist` forbid them.

use tabby_selector::Selector;

use crate::ctx::{check_label_value, check_qualified_name, At, Ctx};
use crate::k8s::codes;
use crate::k8s::tree::Tree;

/// Which of Calico's two selector shapes to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelKind {
    /// A pod selector: starts with `projectcalico.org/orchestrator == 'k8s'`, so
    /// host endpoints and network sets never match.
    Pod,
    /// A namespace selector: an empty selector (`{}`) means `all()`.
    Namespace,
}

/// The four `matchExpressions` operators.
pub(crate) const OPERATORS: [&str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];

/// One `matchExpressions` entry, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// A validated Kubernetes label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector {
    /// Sorted by key (Calico sorts `matchLabels` keys).
    pub match_labels: Vec<(String, String)>,
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    pub(crate) fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

/// Calico's text for a selector; `None` (the field is absent) gives only the
/// orchestrator clause for pod selectors and an empty string for namespace selectors.
pub(crate) fn calico_text(sel: Option<&LabelSelector>, kind: SelKind) -> String {
    let mut parts: Vec<String> = Vec::new();
    if kind == SelKind::Pod {
        parts.push("projectcalico.org/orchestrator == 'k8s'".to_owned());
    }
    let Some(sel) = sel else {
        return parts.join(" && ");
    };
    if kind == SelKind::Namespace && sel.is_empty() {
        return "all()".to_owned();
    }
    let mut labels: Vec<&(String, String)> = sel.match_labels.iter().collect();
    labels.sort();
    for (k, v) in labels {
        parts.push(format!("{k} == '{v}'"));
    }
    for e in &sel.match_expressions {
        let values = e.values.join("', '");
        match e.operator.as_str() {
            "In" => parts.push(format!("{} in {{ '{values}' }}", e.key)),
            "NotIn" => parts.push(format!("{} not in {{ '{values}' }}", e.key)),
            "Exists" => parts.push(format!("has({})", e.key)),
            "DoesNotExist" => parts.push(format!("! has({})", e.key)),
            // Unknown operators were rejected by validation; Calico skips them too.
            _ => {}
        }
    }
    parts.join(" && ")
}

/// Parses Calico's text for `sel` into a selector; `None` when the text is empty
/// (an absent namespace selector) or, after validation, could not be parsed.
pub(crate) fn to_calico(
    ctx: &mut Ctx,
    at: &At<'_>,
    sel: Option<&LabelSelector>,
    kind: SelKind,
) -> Option<Selector> {
    let text = calico_text(sel, kind);
    if text.is_empty() {
        return None;
    }
    ctx.selector(at, &text)
}

/// Checks one `matchLabels` entry; reports at the entry's value (or key).
pub(crate) fn check_match_label(ctx: &mut Ctx, at: &At<'_>, key: &str, value: &str) -> bool {
    let mut ok = true;
    if let Err(m) = check_qualified_name(key) {
        ctx.error_at_key::<()>(
            codes::LABEL_SELECTOR,
            at,
            format!("{}: invalid label key: {m}", at.field()),
            None,
        );
        ok = false;
    }
    if let Err(m) = check_label_value(value) {
        ctx.error::<()>(
            codes::LABEL_SELECTOR,
            at,
            format!("{}: {m}", at.field()),
            None,
        );
        ok = false;
    }
    ok
}

/// Checks one `matchExpressions` entry at `at` (the entry itself).
pub(crate) fn check_requirement(
    ctx: &mut Ctx,
    at: &At<'_>,
    key: &str,
    operator: &str,
    values: &[String],
) -> bool {
    let mut ok = true;
    if let Err(m) = check_qualified_name(key) {
        let k = at.key("key");
        ctx.error::<()>(
            codes::LABEL_SELECTOR,
            &k,
            format!("{}: invalid label key: {m}", k.field()),
            None,
        );
        ok = false;
    }
    let op_at = at.key("operator");
    match operator {
        "In" | "NotIn" => {
            if values.is_empty() {
                let v = at.key("values");
                ctx.error::<()>(
                    codes::LABEL_SELECTOR,
                    &v,
                    format!(
                        "{}: operator `{operator}` needs at least one value",
                        v.field()
                    ),
                    Some("list the label values to match, or use `Exists`".into()),
                );
                ok = false;
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                let v = at.key("values");
                ctx.error::<()>(
                    codes::LABEL_SELECTOR,
                    &v,
                    format!("{}: operator `{operator}` takes no values", v.field()),
                    Some("remove `values`, or use `In` to match values".to_owned()),
                );
                ok = false;
            }
        }
        _ => {
            let help = match tabby_diag::did_you_mean(operator, OPERATORS) {
                Some(m) => format!(
                    "did you mean `{m}`? operators are `In`, `NotIn`, `Exists` and `DoesNotExist`"
                ),
                None => "use `In`, `NotIn`, `Exists` or `DoesNotExist`".to_owned(),
            };
            ctx.error::<()>(
                codes::LABEL_SELECTOR,
                &op_at,
                format!("{}: unknown operator `{operator}`", op_at.field()),
                Some(help),
            );
            ok = false;
        }
    }
    for (i, v) in values.iter().enumerate() {
        if let Err(m) = check_label_value(v) {
            let vat = at.key("values").index(i);
            ctx.error::<()>(
                codes::LABEL_SELECTOR,
                &vat,
                format!("{}: {m}", vat.field()),
                None,
            );
            ok = false;
        }
    }
    ok
}

/// Reads and validates the label selector at `at` (which must be present). `None`
/// when any part is invalid (each problem has been reported at its position).
pub(crate) fn read(ctx: &mut Ctx, at: &At<'_>) -> Option<LabelSelector> {
    let mut ok = true;
    let mut sel = LabelSelector::default();
    for (k, vat) in at.key("matchLabels").entries() {
        let v = vat.str().unwrap_or_default().to_owned();
        ok &= check_match_label(ctx, &vat, &k, &v);
        sel.match_labels.push((k, v));
    }
    for eat in at.key("matchExpressions").items() {
        let key = eat.key("key").str().unwrap_or_default().to_owned();
        let operator = eat.key("operator").str().unwrap_or_default().to_owned();
        let values: Vec<String> = eat
            .key("values")
            .items()
            .iter()
            .map(|v| v.str().unwrap_or_default().to_owned())
            .collect();
        ok &= check_requirement(ctx, &eat, &key, &operator, &values);
        sel.match_expressions.push(Requirement {
            key,
            operator,
            values,
        });
    }
    sel.match_labels.sort();
    ok.then_some(sel)
}

/// Reads the selector at `at` (absent → `None`) and converts it. The outer `None`
/// means "invalid, reported"; `Some(None)` means "absent namespace selector".
pub(crate) fn read_calico(ctx: &mut Ctx, at: &At<'_>, kind: SelKind) -> Option<Option<Selector>> {
    if !at.present() {
        return Some(to_calico(ctx, at, None, kind));
    }
    let sel = read(ctx, at)?;
    let text = calico_text(Some(&sel), kind);
    if text.is_empty() {
        return Some(None);
    }
    ctx.selector(at, &text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(labels: &[(&str, &str)], exprs: &[(&str, &str, &[&str])]) -> LabelSelector {
        LabelSelector {
            match_labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            match_expressions: exprs
                .iter()
                .map(|(k, o, vs)| Requirement {
                    key: (*k).to_owned(),
                    operator: (*o).to_owned(),
                    values: vs.iter().map(|v| (*v).to_owned()).collect(),
                })
                .collect(),
        }
    }

    /// Expected strings copied from the shapes in Calico's conversion tests.
    #[test]
    fn calico_text_table() {
        let cases: Vec<(Option<LabelSelector>, SelKind, &str)> = vec![
            (None, SelKind::Pod, "projectcalico.org/orchestrator == 'k8s'"),
            (None, SelKind::Namespace, ""),
            (Some(sel(&[], &[])), SelKind::Pod, "projectcalico.org/orchestrator == 'k8s'"),
            (Some(sel(&[], &[])), SelKind::Namespace, "all()"),
            (
                Some(sel(&[("label2", "value2"), ("label", "value")], &[])),
                SelKind::Namespace,
                "label == 'value' && label2 == 'value2'",
            ),
            (
                Some(sel(&[("podA", "B")], &[("k", "In", &["v1", "v2"]), ("k2", "DoesNotExist", &[])])),
                SelKind::Pod,
                "projectcalico.org/orchestrator == 'k8s' && podA == 'B' && k in { 'v1', 'v2' } && ! has(k2)",
            ),
            (
                Some(sel(&[], &[("k", "NotIn", &["a"]), ("e", "Exists", &[])])),
                SelKind::Namespace,
                "k not in { 'a' } && has(e)",
            ),
        ];
        for (s, kind, want) in cases {
            assert_eq!(calico_text(s.as_ref(), kind), want);
        }
    }
}
