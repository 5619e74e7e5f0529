//! PROV-N, PROV's textual notation: `document`, the prefixes, one statement per line in the
//! full positional form (`-` for an absent formal attribute), `endDocument`.

use std::io::{self, Write};

use crate::record::{Kind, Record, Value};
use crate::writer::{NAMESPACES, Sections, Writer, non_finite_text};

/// Writes one PROV-N document to `out`.
#[derive(Debug)]
pub struct ProvNWriter<W: Write> {
    out: W,
    sections: Sections,
}

impl<W: Write> ProvNWriter<W> {
    /// Starts the document: the prefix declarations.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"document\n")?;
        for (prefix, uri) in NAMESPACES {
            writeln!(out, "  prefix {prefix} <{uri}>")?;
        }
        out.write_all(b"\n")?;
        Ok(ProvNWriter {
            out,
            sections: Sections::default(),
        })
    }
}

impl<W: Write> Writer for ProvNWriter<W> {
    fn record(&mut self, record: &Record) -> io::Result<()> {
        let mut rendered = Vec::with_capacity(512);
        render(record, &mut rendered)?;
        self.rendered(record.kind, &rendered)
    }

    fn rendered(&mut self, kind: Kind, records: &[u8]) -> io::Result<()> {
        self.sections.enter(kind)?;
        self.out.write_all(records)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(b"endDocument\n")?;
        self.out.flush()
    }
}

/// Renders one statement, a line.
pub(crate) fn render(record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
    {
        write!(out, "  {}(", record.kind.name())?;
        qualified_name(out, &record.id)?;
        let mut separator: &[u8] = if record.kind.is_element() {
            b", "
        } else {
            b"; "
        };
        for (index, value) in record.formal.iter().enumerate() {
            out.write_all(separator)?;
            separator = b", ";
            match value {
                None => out.write_all(b"-")?,
                // Times are bare in formal positions: `2026-01-01T00:00:00.000Z`.
                Some(time) if record.kind.formal_is_time(index) => {
                    out.write_all(time.as_bytes())?
                }
                Some(id) => qualified_name(out, id)?,
            }
        }
        if !record.attributes.is_empty() {
            out.write_all(separator)?;
            out.write_all(b"[")?;
            for (i, attribute) in record.attributes.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                qualified_name(out, &attribute.name)?;
                out.write_all(b"=")?;
                value(out, &attribute.value)?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b")\n")
    }
}

fn value<W: Write>(out: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::Str(s) => string(out, s),
        Value::Int(i) => write!(out, "{i}"),
        Value::Float(f) => match non_finite_text(*f) {
            Some(text) => string(out, text),
            None => {
                // The same shortest round-trip digits as the PROV-JSON number.
                let digits = serde_json::to_string(f).map_err(io::Error::other)?;
                write!(out, "\"{digits}\" %% xsd:double")
            }
        },
        Value::Bool(b) => write!(out, "\"{b}\" %% xsd:boolean"),
        Value::QName(q) => {
            out.write_all(b"'")?;
            qualified_name(out, q)?;
            out.write_all(b"'")
        }
    }
}

/// A string literal: `"` and `\` escaped, control characters as PROV-N's escapes.
fn string<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape: &[u8] = match c {
            '"' => b"\\\"",
            '\\' => b"\\\\",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\t' => b"\\t",
            '\u{8}' => b"\\b",
            '\u{c}' => b"\\f",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[start..i])?;
        out.write_all(escape)?;
        start = i + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[start..])?;
    out.write_all(b"\"")
}

/// A qualified name. calprov's ids are made of characters a PROV-N name holds as they are
/// (the registry's PROV views spell anything else in hex); any other character is written
/// with PROV-N's backslash escape where it has one and percent-encoded where it has not, so
/// the statement always parses.
fn qualified_name<W: Write>(out: &mut W, name: &str) -> io::Result<()> {
    let (prefix, local) = match name.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, name),
    };
    if let Some(prefix) = prefix {
        out.write_all(prefix.as_bytes())?;
        out.write_all(b":")?;
    }
    let mut buffer = [0u8; 4];
    for c in local.chars() {
        if c.is_alphanumeric()
            || matches!(
                c,
                '_' | '/' | '.' | '-' | '+' | '@' | '~' | '&' | '*' | '?' | '#' | '$' | '!'
            )
        {
            out.write_all(c.encode_utf8(&mut buffer).as_bytes())?;
        } else if matches!(c, '=' | '\'' | '(' | ')' | ',' | ':' | ';' | '[' | ']') {
            write!(out, "\\{c}")?;
        } else {
            for byte in c.encode_utf8(&mut buffer).bytes() {
                write!(out, "%{byte:02X}")?;
            }
        }
    }
    Ok(())
}
