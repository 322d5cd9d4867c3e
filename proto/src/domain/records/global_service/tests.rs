use super::*;
use crate::domain::records::fixtures;

#[test]
fn roundtrip() {
    let domain = GlobalService::try_from(fixtures::global_service()).expect("valid");
    assert_eq!(domain.affinity, Affinity::Local);
    assert_eq!(
        pb::GlobalService::from(domain.clone()),
        fixtures::global_service()
    );
    let again = GlobalService::try_from(pb::GlobalService::from(domain.clone())).expect("valid");
    assert_eq!(again, domain);
}

#[test]
fn roundtrip_headless_without_backends() {
    let msg = pb::GlobalService {
        vip: String::new(),
        backends: Vec::new(),
        affinity: pb::Affinity::None.into(),
        ..fixtures::global_service()
    };
    let domain = GlobalService::try_from(msg.clone()).expect("valid");
    assert_eq!(domain.vip, None);
    assert_eq!(pb::GlobalService::from(domain), msg);
}

#[test]
fn rejections() {
    fixtures::assert_rejects::<_, GlobalService>(
        fixtures::global_service,
        &[
            (
                |s| s.cluster = "-c".into(),
                "service: cluster: invalid cluster name \"-c\"",
            ),
            (
                |s| s.namespace.clear(),
                "service: namespace: invalid DNS label \"\"",
            ),
            (
                |s| s.name = "Web".into(),
                "service: name: invalid DNS label \"Web\"",
            ),
            (
                |s| s.ports[0].port = 0,
                "service \"shop/web\": ports[0]: port: port 0 out of range",
            ),
            (
                |s| s.ports[1].name.clear(),
                "service \"shop/web\": ports[1]: every port must be named",
            ),
            (
                |s| s.vip = "10.96.0.300".into(),
                "service \"shop/web\": vip: invalid IP address \"10.96.0.300\"",
            ),
            (
                |s| s.affinity = 7,
                "service \"shop/web\": affinity: unknown affinity value 7",
            ),
            (
                |s| s.backends[1].ip = "nope".into(),
                "service \"shop/web\": backends[1]: ip: invalid IP address \"nope\"",
            ),
            (
                |s| s.backends[1].ip = s.backends[0].ip.clone(),
                "service \"shop/web\": backends[1]: duplicate backend IP \"10.1.0.7\"",
            ),
        ],
    );
}
