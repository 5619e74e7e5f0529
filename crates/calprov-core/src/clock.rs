//! The wall clock as the registry stores it: unix seconds as a float, like the Python
//! pipeline's `time.time()`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current time in unix seconds, as stored in `created_at` and events.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// The proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01 (Howard
/// Hinnant's algorithm): the one calendar conversion, for the CLI's dates and the export's
/// times.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC date `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn utc_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC, for people (`-` when not a time).
pub fn format_utc(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "-".to_owned();
    }
    let total = seconds.floor() as i64;
    let (days, rest) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    format!(
        "{} {:02}:{:02}:{:02}",
        utc_date(days),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
