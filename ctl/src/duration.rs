//! Durations as operators type them (`90s`, `2m`, `1m30s`, `500ms`, `1h`) and as ctl
//! prints them.

use std::time::Duration;

/// Parses a sequence of `<number><unit>` parts, unit `ms`, `s`, `m` or `h`. A bare
/// number is refused: `--timeout 2` could mean seconds or minutes.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let bad = |why: &str| format!("invalid duration {text:?}: {why} (like 90s, 2m, 1m30s)");
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "" => return Err(bad("missing unit")),
            _ => return Err(bad("unknown unit; use ms, s, m or h")),
        };
        rest = &rest[unit_len..];
        let part = u32::try_from(value)
            .ok()
            .and_then(|v| unit.checked_mul(v))
            .ok_or_else(|| bad("too long"))?;
        total = total.checked_add(part).ok_or_else(|| bad("too long"))?;
    }
    if total.is_zero() {
        return Err(bad("must be more than zero"));
    }
    Ok(total)
}

/// Short and readable: `450ms`, `3.2s`, `2m`, `1m30s`, `2h5m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 10_000 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let secs = d.as_secs();
    match (secs / 3600, (secs % 3600) / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests;
