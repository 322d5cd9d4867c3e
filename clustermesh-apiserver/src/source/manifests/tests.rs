//! Parsing tests: pure, no file system.

use std::path::Path;

use super::*;

const FILE: &str = "manifests/echo.yaml";

fn parse(contents: &str) -> Result<Vec<SourceObject>, ManifestError> {
    parse_manifests(Path::new(FILE), contents)
}

fn parse_err(contents: &str) -> ManifestError {
    match parse(contents) {
        Ok(objects) => panic!("expected an error, parsed {objects:?}"),
        Err(err) => err,
    }
}

const ALL_KINDS: &str = r#"# leading comment
apiVersion: v1
kind: Namespace
metadata:
  name: echo
---
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: echo
  annotations:
    clustermesh.io/global: "true"
spec:
  clusterIP: 10.96.0.10
  ports:
    - port: 80
      protocol: TCP
---
# only a comment: an empty document
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-abc
  namespace: echo
  labels:
    kubernetes.io/service-name: echo
addressType: IPv4
endpoints:
  - addresses: ["10.1.0.5"]
    conditions: {ready: true}
    nodeName: node-a
ports:
  - port: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: echo-1
spec:
  containers: [{name: echo, image: echo}]
status:
  podIP: 10.1.0.5
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  namespace: ignored-for-cluster-scoped
spec:
  podCIDR: 10.1.0.0/24
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata:
  name: echo
  namespace: echo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: skipped
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: not-a-core-service
---
"#;

fn keys(objects: &[SourceObject]) -> Vec<(String, usize)> {
    objects
        .iter()
        .map(|o| (o.object.key().to_string(), o.line))
        .collect()
}

#[test]
fn multi_document_file_with_all_six_kinds() -> anyhow::Result<()> {
    let objects = parse(ALL_KINDS)?;
    let expected = [
        ("Namespace echo", 2),
        ("Service echo/echo", 7),
        ("EndpointSlice echo/echo-abc", 22),
        ("Pod default/echo-1", 37),
        ("Node node-a", 46),
        ("ServiceExport echo/echo", 54),
    ];
    let expected: Vec<_> = expected.iter().map(|(k, l)| (k.to_string(), *l)).collect();
    assert_eq!(keys(&objects), expected);

    let KubeObject::Service(svc) = &objects[1].object else {
        panic!("expected a Service, got {:?}", objects[1].object);
    };
    let spec = svc
        .spec
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no spec"))?;
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.10"));
    assert_eq!(spec.ports.as_ref().map(|p| p[0].port), Some(80));
    let KubeObject::EndpointSlice(slice) = &objects[2].object else {
        panic!("expected an EndpointSlice, got {:?}", objects[2].object);
    };
    assert_eq!(slice.endpoints[0].node_name.as_deref(), Some("node-a"));
    assert_eq!(
        slice.endpoints[0].conditions.as_ref().and_then(|c| c.ready),
        Some(true)
    );
    Ok(())
}

#[test]
fn defaults_namespace_like_kubectl_and_drops_it_on_cluster_scoped_kinds() -> anyhow::Result<()> {
    let objects = parse(ALL_KINDS)?;
    let KubeObject::Pod(pod) = &objects[3].object else {
        panic!("expected a Pod, got {:?}", objects[3].object);
    };
    assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
    let KubeObject::Node(node) = &objects[4].object else {
        panic!("expected a Node, got {:?}", objects[4].object);
    };
    assert_eq!(node.metadata.namespace, None);

    let export = parse(
        "apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata: {name: a, namespace: ''}\n",
    )?;
    assert_eq!(keys(&export), [("ServiceExport default/a".to_string(), 1)]);
    Ok(())
}

#[test]
fn empty_and_comment_only_files_hold_no_objects() -> anyhow::Result<()> {
    assert!(parse("")?.is_empty());
    assert!(parse("# nothing here\n---\n---\n")?.is_empty());
    Ok(())
}

#[test]
fn missing_name_is_an_error_at_its_document() {
    let err = parse_err(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: x\n",
    );
    assert_eq!(err.line, Some(6));
    assert_eq!(err.message, "metadata.name is required");
    assert_eq!(
        err.to_string(),
        "manifests/echo.yaml:6: metadata.name is required"
    );
}

#[test]
fn missing_kind_or_api_version_or_a_mapping_is_an_error() {
    assert_eq!(
        parse_err("apiVersion: v1\nmetadata: {name: a}\n").message,
        "kind not set"
    );
    assert_eq!(
        parse_err("kind: Pod\nmetadata: {name: a}\n").message,
        "apiVersion not set"
    );
    assert_eq!(
        parse_err("- just\n- a list\n").message,
        "a manifest document must be a mapping"
    );
}

#[test]
fn wrong_api_version_for_a_known_kind_is_an_error() {
    let err = parse_err("apiVersion: v2\nkind: Service\nmetadata: {name: a}\n");
    assert_eq!(err.line, Some(1));
    assert_eq!(
        err.message,
        r#"unsupported apiVersion "v2" for Service; expected "v1""#
    );

    let err = parse_err(
        "---\napiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: a}\n",
    );
    assert_eq!(err.line, Some(2));
    assert!(
        err.message.contains(r#"expected "discovery.k8s.io/v1""#),
        "{err}"
    );

    let err = parse_err(
        "apiVersion: multicluster.x-k8s.io/v1beta1\nkind: ServiceExport\nmetadata: {name: a}\n",
    );
    assert!(err.message.contains("ServiceExport"), "{err}");
}

#[test]
fn garbage_yaml_in_a_second_document_reports_the_absolute_line() {
    let contents = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels: {unclosed: [x\n";
    let err = parse_err(contents);
    assert_eq!(err.file, Path::new(FILE));
    // libyaml notices the unclosed flow collection at the end of the input.
    assert_eq!(err.line, Some(10), "{err}");
    assert!(
        err.to_string().starts_with("manifests/echo.yaml:10: "),
        "{err}"
    );

    let contents = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n  ports:\n    - port: eighty\n";
    let err = parse_err(contents);
    assert_eq!(err.line, Some(10), "{err}");
    assert_eq!(
        err.to_string(),
        r#"manifests/echo.yaml:10: spec.ports[0].port: invalid type: string "eighty", expected i32"#
    );
}

#[test]
fn tabs_and_bad_indentation_point_at_the_offending_line() {
    let contents = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n bad: indent\n";
    let err = parse_err(contents);
    assert_eq!(err.line, Some(9), "{err}");
    // Secondary locations in the message are absolute too (relative, this would be 2).
    assert!(
        err.message
            .ends_with("while parsing a block mapping at line 5 column 1"),
        "{err}"
    );
}

#[test]
fn one_bad_document_fails_the_whole_file() {
    let contents = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\n";
    assert_eq!(parse_err(contents).line, Some(5));
}

#[test]
fn separator_with_content_and_crlf_line_endings() -> anyhow::Result<()> {
    let contents = "--- # first\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: a}\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: b}\r\n";
    assert_eq!(
        keys(&parse(contents)?),
        [
            ("Namespace a".to_string(), 2),
            ("Namespace b".to_string(), 6)
        ]
    );
    Ok(())
}

#[test]
fn display_without_a_line() {
    let err = ManifestError {
        file: "m/a.yaml".into(),
        line: None,
        message: "cannot read: denied".into(),
    };
    assert_eq!(err.to_string(), "m/a.yaml: cannot read: denied");
}
