//! Reading ctl's JSON documents (docs/cli.md): small lookups that panic with the whole
//! document when something is missing.

use serde_json::Value;

/// A string field, or "" when it is absent or not a string.
pub fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The element of array `v[field]` whose `key` is `want`.
pub fn find<'a>(v: &'a Value, field: &str, key: &str, want: &str) -> &'a Value {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array {field:?} in {v:#}"))
        .iter()
        .find(|e| e[key] == want)
        .unwrap_or_else(|| panic!("no {field} with {key} {want:?} in {v:#}"))
}

/// `ctl status`: the cluster asked through `context`.
pub fn cluster<'a>(status: &'a Value, context: &str) -> &'a Value {
    find(status, "clusters", "context", context)
}

/// `ctl services`: the service `namespace/name`.
pub fn service<'a>(services: &'a Value, namespace: &str, name: &str) -> &'a Value {
    services["services"]
        .as_array()
        .unwrap_or_else(|| panic!("no services in {services:#}"))
        .iter()
        .find(|s| s["namespace"] == namespace && s["name"] == name)
        .unwrap_or_else(|| panic!("no {namespace}/{name} in {services:#}"))
}

/// `ctl services`: a service's backends in `cluster` (`clusters[].backends`).
pub fn backends<'a>(service: &'a Value, cluster: &str) -> &'a [Value] {
    find(service, "clusters", "cluster", cluster)["backends"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}
