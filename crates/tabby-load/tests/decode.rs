//! Typed decoding: errors point at the right line and column, in our message style.

mod common;

use common::{load, where_};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[expect(dead_code, reason = "fields are only decoded")]
struct Policy {
    api_version: String,
    kind: String,
    metadata: Meta,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields are only decoded")]
struct Meta {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[expect(dead_code, reason = "fields are only decoded")]
struct Spec {
    #[serde(default)]
    order: Option<f64>,
    selector: String,
    #[serde(default)]
    ingress: Vec<Rule>,
    #[serde(default)]
    types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "fields are only decoded")]
struct Rule {
    action: Action,
    #[serde(default)]
    ports: Vec<u16>,
}

#[derive(Debug, Deserialize, PartialEq)]
enum Action {
    Allow,
    Deny,
    Log,
    Pass,
}

fn policy(spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n{spec}")
}

#[test]
fn a_valid_object_decodes() {
    let l = load(
        "p.yaml",
        &policy(
            "  order: 10\n  selector: all()\n  ingress:\n  - action: Allow\n    ports: [80, 443]\n",
        ),
    );
    let p: Policy = l.objects[0].decode().unwrap();
    assert_eq!(p.spec.ingress[0].action, Action::Allow);
    assert_eq!(p.spec.order, Some(10.0));
}

#[test]
fn decode_errors_point_at_the_failing_value() {
    // (spec body, code, line, col, message, help)
    type Case<'a> = (&'a str, &'a str, usize, usize, &'a str, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "  selectr: all()\n",
            "E0015", 6, 3,
            "unknown field `selectr` in `spec`",
            Some("did you mean `selector`?"),
        ),
        (
            "  selector: all()\n  ingress:\n  - action: Allow\n    prots: [80]\n",
            "E0015", 9, 5,
            "unknown field `prots` in `spec.ingress[0]`",
            Some("did you mean `ports`?"),
        ),
        (
            "  selector: all()\n  zzzzzz: 1\n",
            "E0015", 7, 3,
            "unknown field `zzzzzz` in `spec`",
            Some("valid fields are `order`, `selector`, `ingress`, `types`"),
        ),
        (
            "  selector: all()\n  ingress:\n  - action: Alow\n",
            "E0017", 8, 13,
            "unknown value `Alow` in `spec.ingress[0].action`",
            Some("did you mean `Allow`?"),
        ),
        (
            "  selector: all()\n  order: high\n",
            "E0017", 7, 10,
            "invalid value in `spec.order`: expected a number, found the string `high`",
            None,
        ),
        (
            "  selector: all()\n  ingress:\n  - action: Deny\n    ports: [80, 70000]\n",
            "E0017", 9, 17,
            "invalid value in `spec.ingress[0].ports[1]`: expected a non-negative integer, found the integer `70000`",
            None,
        ),
        (
            "  selector: all()\n  types: {a: 1}\n",
            "E0017", 7, 10,
            "invalid value in `spec.types`: expected a list, found a mapping",
            None,
        ),
        (
            "  order: 1\n",
            "E0016", 6, 3,
            "missing field `selector` in `spec`",
            Some("add `selector`"),
        ),
    ];
    for &(spec, code, line, col, msg, help) in cases {
        let l = load("p.yaml", &policy(spec));
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
        let err = l.objects[0].decode::<Policy>().unwrap_err();
        assert_eq!(err.message, msg, "{spec}");
        assert_eq!(where_(&err), (code, line, col), "{spec}: {msg}");
        assert_eq!(err.help.as_deref(), help, "{spec}");
        assert!(err.is_error());
    }
}

#[test]
fn unknown_top_level_field_points_at_its_key() {
    let l = load(
        "p.yaml",
        "apiVersion: v1\nkind: X\nmetadata: {name: a}\nspce: {}\n",
    );
    let err = l.objects[0].decode::<Policy>().unwrap_err();
    assert_eq!(err.message, "unknown field `spce` at the top level");
    assert_eq!(where_(&err), ("E0015", 4, 1));
    assert_eq!(err.help.as_deref(), Some("did you mean `spec`?"));
}

#[test]
fn decode_errors_in_json_and_list_items_point_into_the_file() {
    let text = "{\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"NetworkPolicyList\", \"items\": [\n  {\"metadata\": {\"name\": \"a\"}, \"spec\": {\"selector\": \"all()\"}},\n  {\"metadata\": {\"name\": \"b\"}, \"spec\": {\"selector\": 5}}\n]}";
    let l = load("list.json", text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert!(
        l.objects[0].decode::<Policy>().is_ok(),
        "inferred apiVersion/kind decode"
    );
    let err = l.objects[1].decode::<Policy>().unwrap_err();
    assert_eq!(where_(&err), ("E0017", 3, 52));
    assert_eq!(
        err.message,
        "invalid value in `spec.selector`: expected a string, found the integer `5`"
    );
}
