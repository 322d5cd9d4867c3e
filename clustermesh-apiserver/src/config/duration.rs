//! Durations as operators write them: `3s`, `500ms`, `1m`, `1h`, or sums like `1m30s`.
//! Small enough not to need a crate.

use std::time::Duration;

use super::ConfigError;

/// Parses `<number><unit>...` with units `ms`, `s`, `m` and `h`. A bare number is
/// refused: whether `3` means seconds or milliseconds is exactly the ambiguity that
/// causes outages.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let expected = || format!("{value:?} is not a duration (expected e.g. 3s, 500ms, 1m)");
    if value.is_empty() {
        return Err(expected());
    }
    let mut total = Duration::ZERO;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.len()
            - tail
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, tail) = tail.split_at(unit_len);
        let number: u64 = number.parse().map_err(|_| expected())?;
        let term = match unit {
            "ms" => Some(Duration::from_millis(number)),
            "s" => Some(Duration::from_secs(number)),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            _ => return Err(expected()),
        };
        total = term
            .and_then(|term| total.checked_add(term))
            .ok_or_else(|| format!("{value:?} is too long a duration"))?;
        rest = tail;
    }
    Ok(total)
}

/// [`parse_duration`] for `flag`.
pub(super) fn flag(flag: &'static str, value: &str) -> Result<Duration, ConfigError> {
    parse_duration(value).map_err(|message| ConfigError::flag(flag, message))
}

pub(super) fn at_least(
    flag: &'static str,
    value: Duration,
    min: Duration,
) -> Result<Duration, ConfigError> {
    if value < min {
        return Err(ConfigError::flag(
            flag,
            format!(
                "{} is too short: it must be at least {}",
                shown(value),
                shown(min)
            ),
        ));
    }
    Ok(value)
}

/// A duration the way operators write one: `1500ms`, `90s`, `5m`, `1h`.
pub(super) fn shown(value: Duration) -> String {
    let secs = value.as_secs();
    if value.subsec_nanos() != 0 || secs == 0 {
        format!("{}ms", value.as_millis())
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
