//! Selector lowering: the ONE place that turns a policy's selectors and a rule's
//! `EntityRule` into the plain label selectors Felix evaluates
//! (calico-semantics §1.2, §1.3, §4.4).
//!
//! Lowering works on selector *text*, exactly as Calico's update processors do
//! (`strings.Replace(nsSelector, "all()", ...)` included); the `selectors` layer
//! parses each lowered string once and dedupes by canonical form.

use tabby_model::{EntityRule, Policy};
use tabby_selector::Selector;

/// Label Calico puts on namespaced endpoints and network sets.
pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
/// Label Calico puts on workloads: the orchestrator (`k8s`, ...).
pub const ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";
/// Label Calico puts on workloads: the service account name.
pub const SERVICE_ACCOUNT_LABEL: &str = "projectcalico.org/serviceaccount";
/// Label holding the name inside `pcns.`/`pcsa.` inherited labels.
pub const NAME_LABEL: &str = "projectcalico.org/name";
/// Prefix of namespace labels inherited through the `kns.<ns>` profile.
pub const NAMESPACE_PREFIX: &str = "pcns.";
/// Prefix of service-account labels inherited through the `ksa.<ns>.<sa>` profile.
pub const SERVICE_ACCOUNT_PREFIX: &str = "pcsa.";

/// Quotes a selector string literal (Calico's selector strings have no escapes).
pub fn quote(value: &str) -> String {
    if value.contains('"') {
        format!("'{value}'")
    } else {
        format!("\"{value}\"")
    }
}

/// `(a) && (b)`.
fn and(a: &str, b: &str) -> String {
    format!("({a}) && ({b})")
}

fn prefixed(sel: &Selector, prefix: &str) -> String {
    sel.prefix_labels(prefix).to_string()
}

/// A namespace selector as Calico lowers it: labels prefixed `pcns.`, then the
/// literal `all()` means "any namespace" and `global()` "no namespace".
fn namespace_selector(sel: &Selector) -> String {
    prefixed(sel, NAMESPACE_PREFIX)
        .replace("all()", &format!("has({NAMESPACE_LABEL})"))
        .replace("global()", &format!("!has({NAMESPACE_LABEL})"))
}

/// The selector deciding which endpoints a policy applies to (before the kind and
/// direction checks of `resolve`).
///
/// Namespaced kinds: `(selector) && projectcalico.org/namespace == "<ns>"`.
/// Global kinds: `(selector) && <namespaceSelector prefixed pcns.>` with `all()`
/// rewritten to `has(projectcalico.org/namespace)`. A `serviceAccountSelector` is
/// ANDed as `pcsa.`-prefixed labels with `all()` → `has(projectcalico.org/serviceaccount)`.
pub fn policy_selector(p: &Policy) -> String {
    let mut out = p.selector.to_string();
    if p.kind.is_namespaced() {
        let ns = p.namespace.as_deref().unwrap_or_default();
        out = and(&out, &format!("{NAMESPACE_LABEL} == {}", quote(ns)));
    } else if let Some(ns_sel) = &p.namespace_selector {
        let lowered =
            prefixed(ns_sel, NAMESPACE_PREFIX).replace("all()", &format!("has({NAMESPACE_LABEL})"));
        out = and(&out, &lowered);
    }
    if let Some(sa_sel) = &p.service_account_selector {
        let lowered = prefixed(sa_sel, SERVICE_ACCOUNT_PREFIX)
            .replace("all()", &format!("has({SERVICE_ACCOUNT_LABEL})"));
        out = and(&out, &lowered);
    }
    out
}

/// The selectors of one side of a rule after lowering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoweredSide {
    /// The peer must belong to some entity matching this (selector, namespace,
    /// service accounts, and a folded `notSelector`).
    pub positive: Option<String>,
    /// The peer must belong to no entity matching this (a `notSelector` with no
    /// positive selector to fold into).
    pub negative: Option<String>,
}

/// Lowers an `EntityRule`'s endpoint matches (calico-semantics §4.4 steps 1–5).
/// `policy_ns` is the namespace of a namespaced policy, `None` for global ones
/// and profiles.
pub fn rule_side(er: &EntityRule, policy_ns: Option<&str>) -> LoweredSide {
    // 1. namespace part.
    let ns_sel = match (&er.namespace_selector, policy_ns) {
        (Some(sel), _) => Some(namespace_selector(sel)),
        (None, Some(ns)) => Some(format!("{NAMESPACE_LABEL} == {}", quote(ns))),
        (None, None) => None,
    };
    // 2. service accounts: names and selector ANDed.
    let sa_sel = er.service_accounts.as_ref().and_then(|sa| {
        let by_sel = sa
            .selector
            .as_ref()
            .map(|s| prefixed(s, SERVICE_ACCOUNT_PREFIX));
        let by_name = if sa.names.is_empty() {
            None
        } else {
            let names: Vec<String> = sa.names.iter().map(|n| quote(n)).collect();
            Some(format!(
                "{SERVICE_ACCOUNT_LABEL} in {{{}}}",
                names.join(", ")
            ))
        };
        match (by_sel, by_name) {
            (Some(a), Some(b)) => Some(and(&a, &b)),
            (a, b) => a.or(b),
        }
    });
    // 3. selector.
    let own = er.selector.as_ref().map(|s| s.to_string());
    let sel = match (sa_sel, own) {
        (Some(a), Some(b)) => Some(and(&a, &b)),
        (a, b) => a.or(b),
    };
    // 4. namespace it when any selector field is used.
    let not_sel = er.not_selector.as_ref().map(|s| s.to_string());
    let positive = match ns_sel {
        Some(ns) if sel.is_some() || not_sel.is_some() || er.namespace_selector.is_some() => {
            Some(match sel {
                Some(s) => and(&ns, &s),
                None => ns,
            })
        }
        _ => sel,
    };
    // 5. fold notSelector into the positive selector when there is one.
    match (positive, not_sel) {
        (Some(p), Some(n)) => LoweredSide {
            positive: Some(format!("({p}) && !({n})")),
            negative: None,
        },
        (p, n) => LoweredSide {
            positive: p,
            negative: n,
        },
    }
}
