use super::*;

fn cidr(s: &str) -> Cidr {
    s.parse().expect("valid CIDR")
}

#[test]
fn accepts_canonical_v4_and_v6() {
    for s in [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "0.0.0.0/0",
        "192.168.1.1/32",
        "fd00::/64",
        "::/0",
    ] {
        assert_eq!(cidr(s).to_string(), s);
    }
}

#[test]
fn rejects_host_bits_naming_the_canonical_form() {
    let err = "10.1.0.5/16".parse::<Cidr>().expect_err("host bits");
    assert_eq!(
        err.to_string(),
        "CIDR \"10.1.0.5/16\" has host bits set (did you mean 10.1.0.0/16?)"
    );
    let err = "fd00::1/64".parse::<Cidr>().expect_err("host bits");
    assert!(err.to_string().contains("did you mean fd00::/64?"), "{err}");
}

#[test]
fn rejects_garbage() {
    for bad in [
        "",
        "10.0.0.0",
        "10.0.0.0/33",
        "fd00::/129",
        "x/8",
        "10.0.0/8",
        "/",
    ] {
        let err = bad.parse::<Cidr>().expect_err(bad);
        assert!(
            matches!(err.kind(), ValidationErrorKind::Cidr { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn overlap_v4() {
    assert!(cidr("10.0.0.0/8").overlaps(&cidr("10.1.0.0/16")));
    assert!(cidr("10.1.0.0/16").overlaps(&cidr("10.0.0.0/8")));
    assert!(cidr("10.1.0.0/16").overlaps(&cidr("10.1.0.0/16")));
    assert!(!cidr("10.1.0.0/16").overlaps(&cidr("10.2.0.0/16")));
}

#[test]
fn overlap_v6_and_mixed_families() {
    assert!(cidr("fd00::/48").overlaps(&cidr("fd00:0:0:1::/64")));
    assert!(!cidr("fd00::/64").overlaps(&cidr("fd01::/64")));
    assert!(!cidr("0.0.0.0/0").overlaps(&cidr("::/0")));
}

#[test]
fn first_overlap_between_lists() {
    let a = [cidr("10.1.0.0/16"), cidr("10.2.0.0/16")];
    let b = [cidr("10.3.0.0/16"), cidr("10.2.128.0/17")];
    assert_eq!(first_overlap(&a, &b), Some((a[1], b[1])));
    assert_eq!(first_overlap(&a, &[cidr("fd00::/8")]), None);
    assert_eq!(first_overlap(&[], &b), None);
}

#[test]
fn first_overlap_within_a_list() {
    let l = [
        cidr("10.1.0.0/16"),
        cidr("10.2.0.0/16"),
        cidr("10.1.2.0/24"),
    ];
    assert_eq!(first_overlap_within(&l), Some((0, 2)));
    assert_eq!(first_overlap_within(&l[..2]), None);
    assert_eq!(first_overlap_within(&[]), None);
}

#[test]
fn parse_list_reports_index() {
    let values = ["10.1.0.0/16".to_owned(), "10.2.0.5/16".to_owned()];
    let err = parse_cidr_list("pod_cidrs", &values).expect_err("host bits");
    assert!(
        err.to_string()
            .starts_with("pod_cidrs[1]: CIDR \"10.2.0.5/16\""),
        "{err}"
    );

    let values = ["10.0.0.0/8".to_owned(), "10.2.0.0/16".to_owned()];
    let err = parse_cidr_list("pod_cidrs", &values).expect_err("overlap");
    assert_eq!(
        err.to_string(),
        "pod_cidrs[1]: CIDR 10.2.0.0/16 overlaps 10.0.0.0/8 at pod_cidrs[0]"
    );
}

#[test]
fn serde_as_validated_string() {
    let c: Cidr = serde_json::from_str("\"10.0.0.0/8\"").expect("valid");
    assert_eq!(
        serde_json::to_string(&c).expect("serializes"),
        "\"10.0.0.0/8\""
    );
    assert!(serde_json::from_str::<Cidr>("\"10.0.0.1/8\"").is_err());
}
