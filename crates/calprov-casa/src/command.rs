//! Rendering a CASA task call as Python source that re-executes it with the same values.

use std::fmt::Write;

use crate::{Error, PyValue};

/// How deep lists, tuples and dicts may nest; deeper values are refused, not rendered,
/// so rendering (and parsing back) can never exhaust the stack.
pub const MAX_NESTING: usize = 64;

const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Checks that `name` can be a Python keyword argument: ASCII letters, digits and `_`, not
/// starting with a digit, and not a reserved word.
pub fn validate_identifier(what: &'static str, name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name);
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidIdentifier {
            what,
            name: name.to_owned(),
        })
    }
}

/// Renders `task(key=value, ...)` with keys sorted and `None` values left out.
///
/// Strings are escaped so the text is pure ASCII and Python's parser reads back exactly the
/// same value; non-finite floats are rendered `float('nan')`, `float('inf')` and
/// `-float('inf')`, which CASA's Python evaluates to those values. A key that is not an
/// identifier is an error, never rendered.
pub fn render_command<'a, I>(task: &str, params: I) -> Result<String, Error>
where
    I: IntoIterator<Item = (&'a str, &'a PyValue)>,
{
    validate_identifier("task name", task)?;
    let mut sorted: Vec<(&str, &PyValue)> = params
        .into_iter()
        .filter(|(_, v)| !matches!(v, PyValue::None))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (key, _) in &sorted {
        validate_identifier("parameter name", key)?;
    }
    let mut out = String::with_capacity(64 + sorted.len() * 16);
    out.push_str(task);
    out.push('(');
    for (i, (key, value)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(key);
        out.push('=');
        write_value(&mut out, value, 0).map_err(|limit| Error::TooDeep {
            key: (*key).to_owned(),
            limit,
        })?;
    }
    out.push(')');
    Ok(out)
}

/// Renders one value as a Python expression.
pub fn render_value(value: &PyValue) -> Result<String, Error> {
    let mut out = String::new();
    write_value(&mut out, value, 0).map_err(|limit| Error::TooDeep {
        key: String::new(),
        limit,
    })?;
    Ok(out)
}

fn write_value(out: &mut String, value: &PyValue, depth: usize) -> Result<(), usize> {
    if depth > MAX_NESTING {
        return Err(MAX_NESTING);
    }
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(true) => out.push_str("True"),
        PyValue::Bool(false) => out.push_str("False"),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) => write_float(out, *f),
        PyValue::Str(s) => write_str(out, s),
        PyValue::List(items) => {
            out.push('[');
            write_items(out, items, depth)?;
            out.push(']');
        }
        PyValue::Tuple(items) => {
            out.push('(');
            write_items(out, items, depth)?;
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        PyValue::Dict(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, key);
                out.push_str(": ");
                write_value(out, value, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_items(out: &mut String, items: &[PyValue], depth: usize) -> Result<(), usize> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_value(out, item, depth + 1)?;
    }
    Ok(())
}

fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("float('nan')");
    } else if f == f64::INFINITY {
        out.push_str("float('inf')");
    } else if f == f64::NEG_INFINITY {
        out.push_str("-float('inf')");
    } else {
        // Debug prints the shortest text that reads back to the same bits, always with a
        // '.' or an exponent, so Python reads a float, never an int.
        let _ = write!(out, "{f:?}");
    }
}

/// Writes a single-quoted Python string literal; everything outside printable ASCII is
/// escaped, so no byte of the value can end the literal or the line.
fn write_str(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('\'');
}
