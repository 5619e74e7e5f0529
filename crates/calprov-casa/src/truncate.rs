//! Cutting an over-long command at a UTF-8 boundary with a marker that says how much was cut.

use std::borrow::Cow;

/// The default limit on a stored command: 10 KiB.
pub const DEFAULT_COMMAND_LIMIT: usize = 10 * 1024;

/// The marker appended to a cut command.
pub fn truncation_marker(cut_bytes: usize) -> String {
    format!(" ... [truncated {cut_bytes} bytes]")
}

/// Returns `command` unchanged when it fits in `limit` bytes, else its longest prefix ending
/// on a character boundary followed by the marker, the whole never longer than `limit`.
///
/// The result always fits, so cutting it again changes nothing. When `limit` is too small for
/// any marker, the command is cut to `limit` bytes without one.
pub fn truncate_command(command: &str, limit: usize) -> Cow<'_, str> {
    if command.len() <= limit {
        return Cow::Borrowed(command);
    }
    // The marker's length depends on the digits of the cut count, which depends on where we
    // cut: start from the longest marker possible and shrink until it is consistent.
    let mut marker_len = truncation_marker(command.len()).len();
    loop {
        if marker_len > limit {
            return Cow::Owned(command[..floor_char_boundary(command, limit)].to_owned());
        }
        let keep = floor_char_boundary(command, limit - marker_len);
        let marker = truncation_marker(command.len() - keep);
        if marker.len() == marker_len {
            let mut out = String::with_capacity(keep + marker.len());
            out.push_str(&command[..keep]);
            out.push_str(&marker);
            return Cow::Owned(out);
        }
        marker_len = marker.len();
    }
}

fn floor_char_boundary(s: &str, index: usize) -> usize {
    let mut i = index.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
