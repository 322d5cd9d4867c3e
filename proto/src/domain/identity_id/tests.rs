use super::*;

fn cluster(id: u32) -> ClusterId {
    ClusterId::try_from(id).expect("valid cluster id")
}

fn local(id: u16) -> NonZeroU16 {
    NonZeroU16::new(id).expect("non-zero")
}

#[test]
fn packs_cluster_high_and_local_low() {
    let id = IdentityId::new(cluster(3), local(7));
    assert_eq!(id.get(), 3 << 16 | 7);
    assert_eq!(id.cluster(), cluster(3));
    assert_eq!(id.local(), local(7));
    let max = IdentityId::new(ClusterId::MAX, NonZeroU16::MAX);
    assert_eq!(max.get(), 0x00ff_ffff);
    assert_eq!(max.cluster(), ClusterId::MAX);
    assert_eq!(max.local(), NonZeroU16::MAX);
}

#[test]
fn try_from_u32_roundtrips() {
    for raw in [1 << 16 | 1, 0x00ff_ffff, 42 << 16 | 1000] {
        let id = IdentityId::try_from(raw).expect("valid");
        assert_eq!(u32::from(id), raw);
        assert_eq!(IdentityId::new(id.cluster(), id.local()), id);
    }
}

#[test]
fn rejects_zero_halves_and_overflow() {
    let err = IdentityId::try_from(5).expect_err("cluster 0");
    assert_eq!(
        err.to_string(),
        "invalid identity id 5: cluster part 0 out of range 1..=255"
    );
    let err = IdentityId::try_from(1 << 16).expect_err("local 0");
    assert_eq!(
        err.to_string(),
        "invalid identity id 65536: local part 0 out of range 1..=65535"
    );
    assert!(IdentityId::try_from(256 << 16 | 1).is_err());
    assert!(IdentityId::try_from(0).is_err());
    assert!(IdentityId::try_from(u32::MAX).is_err());
}

#[test]
fn parses_only_canonical_decimal() {
    assert_eq!("65537".parse::<IdentityId>().expect("valid").get(), 65537);
    for bad in [
        "",
        "065537",
        "+65537",
        " 65537",
        "0x10001",
        "abc",
        "99999999999",
    ] {
        assert!(bad.parse::<IdentityId>().is_err(), "{bad:?}");
    }
}

#[test]
fn serde_validates() {
    let id: IdentityId = serde_json::from_str("65537").expect("valid");
    assert_eq!(serde_json::to_string(&id).expect("serializes"), "65537");
    assert!(serde_json::from_str::<IdentityId>("65536").is_err());
}
