use super::*;

#[test]
fn display_joins_path_outermost_first() {
    let err = ValidationError::from(ValidationErrorKind::Port(0))
        .at("ports[2]")
        .at("service \"default/web\"");
    assert_eq!(
        err.to_string(),
        "service \"default/web\": ports[2]: port 0 out of range 1..=65535"
    );
    assert_eq!(err.path(), ["service \"default/web\"", "ports[2]"]);
    assert_eq!(err.kind(), &ValidationErrorKind::Port(0));
}

#[test]
fn result_ext_adds_segments() {
    let res: Result<(), ValidationErrorKind> = Err(ValidationErrorKind::ClusterId(0));
    let err = res
        .at_with(|| format!("x[{}]", 1))
        .at("rec")
        .expect_err("is an error");
    assert_eq!(
        err.to_string(),
        "rec: x[1]: cluster id 0 out of range 1..=255"
    );
}

#[test]
fn shown_truncates_long_input_on_char_boundary() {
    assert_eq!(shown("abc"), "abc");
    let long = "é".repeat(SHOWN_MAX_CHARS * 2);
    let s = shown(&long);
    assert_eq!(s.chars().count(), SHOWN_MAX_CHARS + 1);
    assert!(s.ends_with('…'));
}
