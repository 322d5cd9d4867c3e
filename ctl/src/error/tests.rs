use std::time::Duration;

use tonic::{Code, Status};

use super::{cause::classify_text, *};

fn api(cause: Cause) -> CtlError {
    CtlError::Api {
        context: "b".into(),
        address: "127.0.0.1:7444".into(),
        call: "GetClusterInfo",
        cause,
    }
}

#[test]
fn api_errors_name_context_address_call_and_cause() {
    let error = api(Cause::ConnectionRefused);
    assert_eq!(
        error.to_string(),
        "context b, apiserver 127.0.0.1:7444: connection refused (GetClusterInfo)"
    );
    let hint = error.hint().expect("hint");
    assert!(hint.contains("clustermesh-apiserver run") && hint.contains("127.0.0.1:7444"));
    assert!(hint.contains("ctl context list"), "{hint}");
    assert_eq!(error.exit_code(), EXIT_FAILURE);
}

#[test]
fn every_operator_cause_has_a_hint() {
    for (cause, expected) in [
        (Cause::CertificateRejected("x".into()), "init"),
        (Cause::TimedOut, "clustermesh-apiserver run"),
        (Cause::PermissionDenied("x".into()), "--role admin"),
        (Cause::Transport("x".into()), "ctl context list"),
    ] {
        let hint = api(cause.clone()).hint().expect("hint");
        assert!(hint.contains(expected), "{cause}: {hint}");
    }
    let answer = Cause::Answer {
        code: Code::FailedPrecondition,
        message: "overlap".into(),
    };
    assert_eq!(answer.to_string(), "failed precondition: overlap");
    assert!(api(answer).hint().is_none());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(CtlError::Usage("x".into()).exit_code(), EXIT_USAGE);
}

#[test]
fn only_the_apiservers_unavailable_is_retried() {
    let unavailable = Cause::of_status(&Status::unavailable("first export pending"));
    assert_eq!(
        unavailable,
        Cause::Unavailable("first export pending".into())
    );
    assert!(api(unavailable).is_retryable());
    assert!(!api(Cause::ConnectionRefused).is_retryable());
    assert!(!api(Cause::TimedOut).is_retryable());
}

#[test]
fn statuses_map_to_causes() {
    let cases = [
        (
            Status::permission_denied("role agent"),
            Cause::PermissionDenied("role agent".into()),
        ),
        (Status::deadline_exceeded("slow"), Cause::TimedOut),
        (Status::cancelled("Timeout expired"), Cause::TimedOut),
        (
            Status::not_found("no peer named b"),
            Cause::Answer {
                code: Code::NotFound,
                message: "no peer named b".into(),
            },
        ),
        // The apiserver's own message is never mistaken for a transport failure.
        (
            Status::internal("certificate store timed out"),
            Cause::Answer {
                code: Code::Internal,
                message: "certificate store timed out".into(),
            },
        ),
    ];
    for (status, cause) in cases {
        assert_eq!(Cause::of_status(&status), cause, "{status:?}");
    }
    let answered = api(Cause::of_status(&Status::not_found("x")));
    assert_eq!(answered.answered(), Some(Code::NotFound));
}

#[test]
fn statuses_from_local_errors_are_classified_by_their_source() {
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    let status = Status::from_error(Box::new(refused));
    assert_eq!(Cause::of_status(&status), Cause::ConnectionRefused);
}

#[test]
fn text_classification_prefers_the_innermost_message() {
    let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        classify_text(&texts(&[
            "transport error",
            "invalid peer certificate: UnknownIssuer"
        ])),
        Some(Cause::CertificateRejected(
            "invalid peer certificate: UnknownIssuer".into()
        ))
    );
    assert_eq!(
        classify_text(&texts(&[
            "transport error",
            "received fatal alert: CertificateRequired"
        ])),
        Some(Cause::CertificateRejected(
            "received fatal alert: CertificateRequired".into()
        ))
    );
    assert_eq!(
        classify_text(&texts(&[
            "tcp connect error",
            "Connection refused (os error 111)"
        ])),
        Some(Cause::ConnectionRefused)
    );
    assert_eq!(
        classify_text(&texts(&["transport error", "timed out"])),
        Some(Cause::TimedOut)
    );
    assert_eq!(classify_text(&texts(&["dns error"])), None);
}

#[test]
fn refusals_list_every_problem() {
    let error = CtlError::Refused {
        a: "a".into(),
        b: "b".into(),
        problems: vec!["one".into(), "two".into()],
    };
    assert_eq!(
        error.to_string(),
        "refusing to connect a and b:\n  - one\n  - two"
    );
}

#[test]
fn timeouts_say_what_was_seen_last() {
    let error = CtlError::Timeout {
        after: Duration::from_secs(120),
        what: "the link".into(),
        last: Some("b imports a: not connected".into()),
    };
    assert_eq!(
        error.to_string(),
        "timed out after 2m waiting for the link; last seen: b imports a: not connected"
    );
    assert!(error.hint().expect("hint").contains("--timeout"));
}
