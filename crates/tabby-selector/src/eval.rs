//! The plain evaluator: a selector tested directly against a string map.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use crate::ast::Expr;

/// Read access to one endpoint's labels by name.
///
/// Implemented for the usual maps (any key that borrows as `str`, any value
/// that is `AsRef<str>`) and for slices/vectors of pairs (linear scan, first
/// pair with the key wins).
///
/// ```
/// use std::collections::BTreeMap;
/// use tabby_selector::LabelMap;
/// let m = BTreeMap::from([("app".to_string(), "web".to_string())]);
/// assert_eq!(m.get_label("app"), Some("web"));
/// assert_eq!([("app", "web")].get_label("tier"), None);
/// ```
pub trait LabelMap {
    /// The value of label `key`, if the endpoint has it.
    fn get_label(&self, key: &str) -> Option<&str>;
}

impl<K, V> LabelMap for BTreeMap<K, V>
where
    K: Borrow<str> + Ord,
    V: AsRef<str>,
{
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(AsRef::as_ref)
    }
}

impl<K, V, S> LabelMap for HashMap<K, V, S>
where
    K: Borrow<str> + Hash + Eq,
    V: AsRef<str>,
    S: BuildHasher,
{
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(AsRef::as_ref)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> LabelMap for [(K, V)] {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> LabelMap for [(K, V); N] {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.as_slice().get_label(key)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> LabelMap for Vec<(K, V)> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.as_slice().get_label(key)
    }
}

impl<T: LabelMap + ?Sized> LabelMap for &T {
    fn get_label(&self, key: &str) -> Option<&str> {
        (**self).get_label(key)
    }
}

impl<T: LabelMap + ?Sized> LabelMap for Arc<T> {
    fn get_label(&self, key: &str) -> Option<&str> {
        (**self).get_label(key)
    }
}

/// Calico's evaluation rules (calico-semantics §4.2).
pub(crate) fn eval<L: LabelMap + ?Sized>(e: &Expr, l: &L) -> bool {
    match e {
        Expr::All | Expr::Global => true,
        Expr::Has(k) => l.get_label(k).is_some(),
        Expr::Eq(k, v) => l.get_label(k) == Some(&**v),
        Expr::Ne(k, v) => l.get_label(k) != Some(&**v),
        Expr::In(k, s) => l
            .get_label(k)
            .is_some_and(|x| s.binary_search_by(|p| (**p).cmp(x)).is_ok()),
        Expr::NotIn(k, s) => l
            .get_label(k)
            .is_none_or(|x| s.binary_search_by(|p| (**p).cmp(x)).is_err()),
        Expr::Contains(k, v) => l.get_label(k).is_some_and(|x| x.contains(&**v)),
        Expr::StartsWith(k, v) => l.get_label(k).is_some_and(|x| x.starts_with(&**v)),
        Expr::EndsWith(k, v) => l.get_label(k).is_some_and(|x| x.ends_with(&**v)),
        Expr::Not(e) => !eval(e, l),
        Expr::And(v) => v.iter().all(|e| eval(e, l)),
        Expr::Or(v) => v.iter().any(|e| eval(e, l)),
    }
}
