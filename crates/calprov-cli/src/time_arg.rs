//! Points in time given on the command line: unix seconds, a UTC date or date-time
//! (`2026-12-01`, `2026-12-01T10:30:00`), or a duration back from now (`30m`, `24h`, `7d`).

use crate::exit::{CliError, Exit, WithExit};

/// Parses `--<flag> TEXT` into unix seconds.
pub fn parse_time(flag: &str, text: Option<&str>) -> Result<Option<f64>, CliError> {
    let Some(text) = text.map(str::trim) else {
        return Ok(None);
    };
    parse(text, calprov_core::unix_now())
        .map(Some)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--{flag} {text:?}: expected unix seconds, YYYY-MM-DD[THH:MM:SS] (UTC) or a duration like 30m, 24h, 7d"
            )
        })
        .exit(Exit::Usage)
}

fn parse(text: &str, now: f64) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds.is_finite().then_some(seconds);
    }
    if let Some(date) = parse_utc(text) {
        return Some(date);
    }
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let factor = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    let amount: f64 = number.parse().ok()?;
    (amount.is_finite() && amount >= 0.0).then_some(now - amount * factor)
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (also with a space), UTC.
fn parse_utc(text: &str) -> Option<f64> {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim_end_matches('Z'))),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let seconds = match time {
        None => 0.0,
        Some(t) => {
            let mut hms = t.split(':');
            let h: f64 = hms.next()?.parse().ok()?;
            let m: f64 = hms.next().unwrap_or("0").parse().ok()?;
            let s: f64 = hms.next().unwrap_or("0").parse().ok()?;
            h * 3600.0 + m * 60.0 + s
        }
    };
    Some(days_from_civil(year, month, day) as f64 * 86400.0 + seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn times_parse_in_every_documented_form() {
        assert_eq!(parse("1700000000", 0.0), Some(1.7e9));
        assert_eq!(parse("1970-01-02", 0.0), Some(86400.0));
        assert_eq!(parse("2000-03-01T00:00:01", 0.0), Some(951_868_801.0));
        assert_eq!(parse("2h", 10_000.0), Some(2_800.0));
        assert_eq!(parse("soon", 0.0), None);
        assert_eq!(parse("2026-13-01", 0.0), None);
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC, for people: the core's one calendar.
pub use calprov_core::format_utc;

#[cfg(test)]
mod format_tests {
    use super::{format_utc, parse};

    #[test]
    fn formatting_inverts_parsing() {
        for text in [
            "1970-01-01 00:00:00",
            "2000-02-29 23:59:59",
            "2026-12-03 07:50:05",
        ] {
            assert_eq!(format_utc(parse(text, 0.0).unwrap()), text);
        }
    }
}
