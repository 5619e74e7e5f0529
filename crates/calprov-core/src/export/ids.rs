//! The PROV ids, names and times of the registry's PROV views (migration V5), computed the
//! same way in Rust: the export reads the history tables directly (a view costs several
//! microseconds a row; the export writes twenty million records for a 1M-caltable
//! registry), and the views stay what SQL and ProvTAP readers see. A test compares the two
//! on every record (`tests/it/export.rs`) and these rules against SQLite's own evaluation
//! of the views' expressions (`tests.rs`).

/// The prefix of a solve's id, `calprov:solve-<id>`.
pub(super) const SOLVE: &str = "calprov:solve-";
/// The prefix of an application's id, `calprov:apply-<id>`.
pub(super) const APPLICATION: &str = "calprov:apply-";
/// The prefix of a caltable version's id, `calprov:caltable-<solve id>`: the caltable as
/// that solve wrote it.
pub(super) const VERSION: &str = "calprov:caltable-";
/// The prefix of `calprov:calibrated-<application id>`: the MS as that applycal left it.
pub(super) const CALIBRATED: &str = "calprov:calibrated-";

/// Appends `prefix` and `id` to `out` (the export builds ids in reused buffers).
pub(super) fn push(out: &mut String, prefix: &str, id: i64) {
    out.push_str(prefix);
    push_int(out, id);
}

/// Appends the decimal digits of `n`, without the formatting machinery.
pub(super) fn push_int(out: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `calprov:caltable-<solve id>`.
pub(super) fn version(solve: i64) -> String {
    let mut id = String::with_capacity(24);
    push(&mut id, VERSION, solve);
    id
}

/// `calprov:calibrated-<application id>`.
pub(super) fn calibrated(application: i64) -> String {
    let mut id = String::with_capacity(24);
    push(&mut id, CALIBRATED, application);
    id
}

/// An MS by path.
pub(super) fn ms(path: &str) -> String {
    let mut id = String::new();
    push_ms(&mut id, path);
    id
}

/// Appends the id of the MS at `path`.
pub(super) fn push_ms(out: &mut String, path: &str) {
    by_path(out, "calprov:ms", path);
}

/// A caltable known by path only.
pub(super) fn caltable_path(path: &str) -> String {
    let mut id = String::new();
    push_caltable_path(&mut id, path);
    id
}

/// Appends the id of the caltable known by `path` only.
pub(super) fn push_caltable_path(out: &mut String, path: &str) {
    by_path(out, "calprov:caltable", path);
}

/// CASA at `version`; `calprov:casa` when unknown.
pub(super) fn casa(version: Option<&str>) -> String {
    match version {
        None => "calprov:casa".to_owned(),
        Some(v) if !v.ends_with('.') && v.bytes().all(plain_byte) => format!("calprov:casa-{v}"),
        Some(v) => {
            let mut id = String::new();
            push_hex(&mut id, "calprov:casa-x", v);
            id
        }
    }
}

/// The views' rule: an absolute path of plain characters as it is, anything else in hex.
fn by_path(out: &mut String, prefix: &str, path: &str) {
    out.push_str(prefix);
    if path.starts_with('/')
        && !path.ends_with('.')
        && path.bytes().all(|b| plain_byte(b) || b == b'/')
    {
        out.push_str(path);
    } else {
        push_hex(out, "-x", path);
    }
}

/// The characters a PROV-N name holds as they are (besides `/` in paths).
fn plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-')
}

/// `prefix` and SQLite's `hex()` of `text`: upper-case, two digits a byte.
fn push_hex(out: &mut String, prefix: &str, text: &str) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str(prefix);
    for byte in text.bytes() {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xF)]));
    }
}

/// The name of a path: what follows its last `/`.
pub(super) fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Unix seconds as SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ', t, 'unixepoch')`: rounded to the
/// millisecond the way SQLite rounds (through its Julian-day milliseconds); `None` where
/// SQLite gives NULL (out of its range).
pub(super) fn time(unix: f64) -> Option<String> {
    // SQLite: iJD = (i64)(s * 1000 + 210866760000000 + 0.5), valid for 0 <= r < 464269060800000.
    let r = unix * 1000.0 + 210_866_760_000_000.0;
    if !(0.0..464_269_060_800_000.0).contains(&r) {
        return None;
    }
    let jd_ms = (r + 0.5) as i64;
    let unix_ms = jd_ms - 210_866_760_000_000;
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (year, month, day) = crate::clock::civil_from_days(days);
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z"
    ))
}
