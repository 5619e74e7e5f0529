//! The JSON columns: reading what Python's `json.dumps` wrote and writing standard JSON.
//!
//! Python writes the non-standard tokens `NaN`, `Infinity` and `-Infinity` for non-finite
//! floats. calprov reads them as the JSON strings `"NaN"`, `"Infinity"` and `"-Infinity"`,
//! which is also how it stores non-finite numbers itself: the stored text stays standard
//! JSON, and Python's `float()` turns each string back into the number.

use serde_json::Value;

/// The string calprov stores for a NaN.
pub const NAN_TEXT: &str = "NaN";
/// The string calprov stores for positive infinity.
pub const POS_INF_TEXT: &str = "Infinity";
/// The string calprov stores for negative infinity.
pub const NEG_INF_TEXT: &str = "-Infinity";

/// Parses JSON text that may contain Python's `NaN`, `Infinity` and `-Infinity` tokens.
///
/// Standard JSON takes the fast path; only text that fails to parse is rewritten, token by
/// token outside string literals, and parsed again. Text that is invalid either way returns
/// the error for the original text.
pub fn parse_python_json(text: &str) -> Result<Value, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(original) => match rewrite_python_tokens(text) {
            Some(rewritten) => serde_json::from_str(&rewritten).map_err(|_| original),
            None => Err(original),
        },
    }
}

/// Renders a non-finite float the way calprov stores it.
pub fn non_finite_text(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some(NAN_TEXT)
    } else if value == f64::INFINITY {
        Some(POS_INF_TEXT)
    } else if value == f64::NEG_INFINITY {
        Some(NEG_INF_TEXT)
    } else {
        None
    }
}

/// A number for JSON: finite floats as numbers, non-finite ones as their stored strings.
pub fn float_value(value: f64) -> Value {
    match non_finite_text(value) {
        Some(text) => Value::String(text.to_owned()),
        None => serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or(Value::Null),
    }
}

/// Replaces the Python tokens outside string literals with quoted strings; `None` when the
/// text holds none of them.
fn rewrite_python_tokens(text: &str) -> Option<String> {
    const TOKENS: [&str; 3] = [NEG_INF_TEXT, POS_INF_TEXT, NAN_TEXT];
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut copied_up_to = 0;
    // The last non-blank byte outside strings: tokens start only where a value may start.
    let mut previous: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                previous = Some(b'"');
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let at_value_start = previous.is_none_or(|prev| matches!(prev, b'[' | b',' | b':'));
        if at_value_start && let Some(token) = TOKENS.iter().find(|t| text[i..].starts_with(**t)) {
            let end = i + token.len();
            let boundary = bytes
                .get(end)
                .is_none_or(|next| !next.is_ascii_alphanumeric() && *next != b'_');
            if boundary {
                out.push_str(&text[copied_up_to..i]);
                out.push('"');
                out.push_str(token);
                out.push('"');
                copied_up_to = end;
                changed = true;
                previous = Some(b'"');
                i = end;
                continue;
            }
        }
        if !b.is_ascii_whitespace() {
            previous = Some(b);
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied_up_to..]);
    Some(out)
}

#[cfg(test)]
mod tests;
