use std::{cell::Cell, time::Duration};

use tokio::time::Instant;

use super::*;

fn api(cause: Cause) -> CtlError {
    CtlError::Api {
        context: "a".into(),
        address: "127.0.0.1:1".into(),
        call: "InstallPeer",
        cause,
    }
}

#[tokio::test]
async fn retries_unavailable_until_it_succeeds() {
    let attempts = Cell::new(0);
    let started = Instant::now();
    let result = retry_unavailable(
        started + Duration::from_secs(30),
        started,
        "install",
        || {
            attempts.set(attempts.get() + 1);
            let n = attempts.get();
            async move {
                match n {
                    1 | 2 => Err(api(Cause::Unavailable("first export pending".into()))),
                    _ => Ok(n),
                }
            }
        },
    )
    .await;
    assert_eq!(result.expect("succeeds on the third attempt"), 3);
}

#[tokio::test]
async fn stops_at_once_on_anything_else() {
    let attempts = Cell::new(0);
    let started = Instant::now();
    let result: Result<(), _> = retry_unavailable(
        started + Duration::from_secs(30),
        started,
        "install",
        || {
            attempts.set(attempts.get() + 1);
            async { Err(api(Cause::ConnectionRefused)) }
        },
    )
    .await;
    assert!(matches!(
        result,
        Err(CtlError::Api {
            cause: Cause::ConnectionRefused,
            ..
        })
    ));
    assert_eq!(attempts.get(), 1);
}

#[tokio::test]
async fn gives_up_at_the_deadline_quoting_the_last_answer() {
    let started = Instant::now();
    let result: Result<(), _> = retry_unavailable(
        started + Duration::from_millis(250),
        started,
        "InstallPeer",
        || async { Err(api(Cause::Unavailable("first export pending".into()))) },
    )
    .await;
    let error = result.expect_err("times out");
    let text = error.to_string();
    assert!(text.starts_with("timed out after"), "{text}");
    assert!(
        text.contains("waiting for InstallPeer; last seen: context a"),
        "{text}"
    );
    assert!(text.contains("unavailable: first export pending"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
