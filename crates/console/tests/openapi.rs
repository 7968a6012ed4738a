//! The OpenAPI document and the router cannot drift: every route is documented, every documented
//! operation is routed, every reference resolves, and what needs a token says so.

use std::collections::BTreeSet;

use ferry_console::{route_table, OPENAPI_YAML};
use serde_yaml::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn document() -> Value {
    serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml is YAML")
}

/// (METHOD, path) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().unwrap();
        for (key, _) in item.as_mapping().unwrap() {
            let key = key.as_str().unwrap();
            if METHODS.contains(&key) {
                out.insert((key.to_uppercase(), path.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let routed: BTreeSet<(String, String)> = route_table().into_iter().collect();
    assert_eq!(routed.len(), route_table().len(), "a route is registered twice");
    let documented = documented(&document());
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.yaml: {undocumented:?}");
    assert!(unrouted.is_empty(), "openapi.yaml documents operations no route serves: {unrouted:?}");
    assert!(routed.contains(&("POST".into(), "/api/migrations/{id}/topics/{topic}/proceed".into())));
}

/// Every property name (and every name a `required` list gives) under `v`, with where it stands.
fn property_names(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Mapping(m) => {
            for key in ["properties", "required"] {
                let names: Vec<&str> = match &v[key] {
                    Value::Mapping(p) => p.keys().filter_map(Value::as_str).collect(),
                    Value::Sequence(r) => r.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                out.extend(names.into_iter().map(|n| (n.to_string(), at.to_string())));
            }
            for (k, v) in m {
                property_names(v, &format!("{at}/{}", k.as_str().unwrap_or("?")), out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|v| property_names(v, at, out)),
        _ => {}
    }
}

#[test]
fn every_field_name_is_camel_case() {
    let mut names = Vec::new();
    property_names(&document(), "", &mut names);
    assert!(names.iter().any(|(n, _)| n == "producedMessages"), "the walk finds the fields");
    let snake: Vec<_> = names.iter().filter(|(n, _)| n.contains('_') || n.contains('-')).collect();
    assert!(snake.is_empty(), "field names not in camelCase: {snake:?}");
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("$ref") {
                    out.push(v.as_str().expect("a $ref is a string").to_string());
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "the document uses references: {}", all.len());
    for r in all {
        let pointer = r.strip_prefix("#/").unwrap_or_else(|| panic!("{r}: only local references"));
        let mut at = &doc;
        for part in pointer.split('/') {
            at = at.get(part).unwrap_or_else(|| panic!("{r} does not resolve (at {part})"));
        }
    }
}

#[test]
fn guarded_operations_document_401_and_open_ones_need_no_token() {
    let doc = document();
    assert_eq!(doc["security"][0]["bearer"], Value::Sequence(vec![]), "bearer auth is the default");
    assert_eq!(doc["security"][1]["session"], Value::Sequence(vec![]), "or a console session");
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][path.as_str()][method.to_lowercase().as_str()];
        let open = op.get("security").is_some_and(|s| s.as_sequence().is_some_and(|s| s.is_empty()));
        let meant_open = ["/healthz", "/api/login"].contains(&path.as_str());
        assert_eq!(open, meant_open, "{method} {path}: only /healthz and /api/login are open");
        if !open && method != "GET" {
            assert!(op["responses"].get("403").is_some(), "{method} {path} does not document 403 (CSRF)");
        }
        if !open {
            assert!(op["responses"].get("401").is_some(), "{method} {path} does not document 401");
        }
        assert!(op.get("operationId").is_some(), "{method} {path} has no operationId");
    }
}
