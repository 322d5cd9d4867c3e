//! What the fake API server puts on the wire: objects as served, and Status errors.

use ::kube::client::Body;
use http::{Response, StatusCode};
use serde_json::{Value, json};

/// The object as the API server returns it: with a resource version and the bookkeeping
/// the source is expected to strip.
pub(super) fn as_served(resource: &str, object: &mut Value, resource_version: u64) {
    let meta = &mut object["metadata"];
    meta["resourceVersion"] = json!(resource_version.to_string());
    meta["managedFields"] = json!([{ "manager": "kubectl", "operation": "Apply" }]);
    meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json!("{}");
    if resource == "nodes" {
        object["status"]["images"] = json!([{ "names": ["registry.k8s.io/pause:3.10"] }]);
        if let Some(conditions) = object["status"]["conditions"].as_array_mut() {
            for condition in conditions {
                condition["lastHeartbeatTime"] = json!("2025-01-01T00:00:00Z");
            }
        }
    }
}

pub(super) fn key(object: &Value) -> String {
    let meta = &object["metadata"];
    format!(
        "{}/{}",
        meta["namespace"].as_str().unwrap_or_default(),
        meta["name"].as_str().unwrap_or_default()
    )
}

pub(super) fn status_json(code: u16, reason: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": format!("fake API server: {reason}"),
        "reason": reason,
        "code": code,
    })
}

pub(super) fn status(code: u16, reason: &str) -> Response<Body> {
    let body = Body::from(status_json(code, reason).to_string().into_bytes());
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}
