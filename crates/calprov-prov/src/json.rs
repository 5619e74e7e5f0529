//! PROV-JSON (W3C member submission): one object, records grouped by kind into sections,
//! each record an object keyed by its id. Numbers are plain JSON numbers, qualified-name
//! values `{"$": ..., "type": "prov:QUALIFIED_NAME"}`, times ISO 8601 strings.

use std::io::{self, Write};

use crate::record::{Attribute, Kind, Record, Value};
use crate::writer::{NAMESPACES, Sections, Writer, non_finite_text};

/// Writes one PROV-JSON document to `out`, a record per line.
#[derive(Debug)]
pub struct ProvJsonWriter<W: Write> {
    out: W,
    sections: Sections,
    first_in_section: bool,
    /// One record, rendered before it is written in one piece (many small writes into a
    /// `BufWriter` cost more than the rendering).
    buffer: Vec<u8>,
}

impl<W: Write> ProvJsonWriter<W> {
    /// Starts the document: the prefix declarations.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"{\n  \"prefix\": {")?;
        for (i, (prefix, uri)) in NAMESPACES.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"\n    ")?;
            string(&mut out, prefix)?;
            out.write_all(b": ")?;
            string(&mut out, uri)?;
        }
        out.write_all(b"\n  }")?;
        Ok(ProvJsonWriter {
            out,
            sections: Sections::default(),
            first_in_section: true,
            buffer: Vec::with_capacity(4096),
        })
    }
}

impl<W: Write> Writer for ProvJsonWriter<W> {
    fn record(&mut self, record: &Record) -> io::Result<()> {
        let mut rendered = std::mem::take(&mut self.buffer);
        rendered.clear();
        let result =
            render(record, &mut rendered).and_then(|()| self.rendered(record.kind, &rendered));
        self.buffer = rendered;
        result
    }

    fn rendered(&mut self, kind: Kind, records: &[u8]) -> io::Result<()> {
        let had_section = self.sections.any();
        if self.sections.enter(kind)? {
            if had_section {
                self.out.write_all(b"\n  }")?;
            }
            self.out.write_all(b",\n  ")?;
            string(&mut self.out, kind.name())?;
            self.out.write_all(b": {")?;
            self.first_in_section = true;
        }
        // Each rendered record starts with its separator; a section's first has none.
        if self.first_in_section && !records.is_empty() {
            self.first_in_section = false;
            self.out.write_all(&records[1..])
        } else {
            self.out.write_all(records)
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.sections.any() {
            self.out.write_all(b"\n  }")?;
        }
        self.out.write_all(b"\n}\n")?;
        self.out.flush()
    }
}

/// Renders one record as `,\n    "id": {...}` (the writer drops the comma before a section's
/// first record).
pub(crate) fn render(record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
    {
        out.write_all(b",\n    ")?;
        string(out, &record.id)?;
        out.write_all(b": {")?;
        let mut first = true;
        let mut separator = |out: &mut Vec<u8>| -> io::Result<()> {
            if !std::mem::take(&mut first) {
                out.write_all(b", ")?;
            }
            Ok(())
        };
        for (name, value) in record.kind.formal_names().iter().zip(&record.formal) {
            if let Some(value) = value {
                separator(out)?;
                string(out, name)?;
                out.write_all(b": ")?;
                string(out, value)?;
            }
        }
        for (i, attribute) in record.attributes.iter().enumerate() {
            if record.attributes[..i]
                .iter()
                .any(|a| a.name == attribute.name)
            {
                continue;
            }
            separator(out)?;
            string(out, &attribute.name)?;
            out.write_all(b": ")?;
            if record.attributes[i + 1..]
                .iter()
                .any(|a| a.name == attribute.name)
            {
                // A repeated attribute is one name with several values: a JSON array.
                out.write_all(b"[")?;
                let same = record.attributes[i..]
                    .iter()
                    .filter(|a| a.name == attribute.name);
                for (j, Attribute { value, .. }) in same.enumerate() {
                    if j > 0 {
                        out.write_all(b", ")?;
                    }
                    self::value(out, value)?;
                }
                out.write_all(b"]")?;
            } else {
                self::value(out, &attribute.value)?;
            }
        }
        out.write_all(b"}")
    }
}

fn value<W: Write>(out: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::Str(s) => string(out, s),
        Value::Int(i) => write!(out, "{i}"),
        Value::Float(f) => match non_finite_text(*f) {
            Some(text) => string(out, text),
            None => serde_json::to_writer(&mut *out, f).map_err(io::Error::other),
        },
        Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" }),
        Value::QName(q) => {
            out.write_all(b"{\"$\": ")?;
            string(out, q)?;
            out.write_all(b", \"type\": \"prov:QUALIFIED_NAME\"}")
        }
    }
}

/// A JSON string. Most need no escape (paths, ids, names): those are written as they are,
/// after a check the compiler vectorises; the others go through serde_json's escaping.
fn string<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(out, s).map_err(io::Error::other);
    }
    out.write_all(b"\"")?;
    out.write_all(s.as_bytes())?;
    out.write_all(b"\"")
}

/// Whether any byte must be escaped in a JSON string: a quote, a backslash or a control
/// character. Eight bytes at a time (the classic "has a zero byte" word tricks).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut array = [0u8; 8];
        array.copy_from_slice(word);
        let x = u64::from_le_bytes(array);
        // A byte below 0x20 (x - 0x20.. borrows into its high bit), a quote, a backslash.
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        if control
            | has_zero(x ^ (ONES * u64::from(b'"')))
            | has_zero(x ^ (ONES * u64::from(b'\\')))
            != 0
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}
