use std::time::Duration;

use super::*;

#[test]
fn parses_operator_spellings() {
    let cases = [
        ("90s", 90_000),
        ("2m", 120_000),
        ("1m30s", 90_000),
        ("500ms", 500),
        ("1h", 3_600_000),
        (" 10s ", 10_000),
    ];
    for (text, ms) in cases {
        assert_eq!(
            parse_duration(text),
            Ok(Duration::from_millis(ms)),
            "{text}"
        );
    }
}

#[test]
fn refuses_ambiguous_or_broken_input() {
    for (text, why) in [
        ("", "empty"),
        ("2", "missing unit"),
        ("2x", "unknown unit"),
        ("m", "expected a number"),
        ("0s", "more than zero"),
        ("99999999999999999999s", "too large"),
        ("9999999999h", "too long"),
    ] {
        let err = parse_duration(text).expect_err(text);
        assert!(err.contains(why), "{text}: {err}");
    }
}

#[test]
fn formats_short() {
    let cases = [
        (450, "450ms"),
        (3_240, "3.2s"),
        (45_000, "45s"),
        (120_000, "2m"),
        (90_000, "1m30s"),
        (7_500_000, "2h5m"),
        (7_200_000, "2h"),
    ];
    for (ms, text) in cases {
        assert_eq!(format_duration(Duration::from_millis(ms)), text);
    }
}
