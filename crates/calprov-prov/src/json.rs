//! PROV-JSON (W3C member submission): one object, records grouped by kind into sections,
//! each record an object keyed by its id. Numbers are plain JSON numbers, qualified-name
//! values `{"$": ..., "type": "prov:QUALIFIED_NAME"}`, times ISO 8601 strings.

use std::io::{self, Write};

use crate::record::{Attribute, Record, Value};
use crate::writer::{NAMESPACES, Sections, Writer, non_finite_text};

/// Writes one PROV-JSON document to `out`, a record per line.
#[derive(Debug)]
pub struct ProvJsonWriter<W: Write> {
    out: W,
    sections: Sections,
    first_in_section: bool,
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
        })
    }
}

impl<W: Write> Writer for ProvJsonWriter<W> {
    fn record(&mut self, record: &Record) -> io::Result<()> {
        let out = &mut self.out;
        let had_section = self.sections.any();
        if self.sections.enter(record.kind)? {
            if had_section {
                out.write_all(b"\n  }")?;
            }
            out.write_all(b",\n  ")?;
            string(out, record.kind.name())?;
            out.write_all(b": {")?;
            self.first_in_section = true;
        }
        out.write_all(if self.first_in_section {
            b"\n    "
        } else {
            b",\n    "
        })?;
        self.first_in_section = false;
        string(out, &record.id)?;
        out.write_all(b": {")?;
        let mut first = true;
        let mut separator = |out: &mut W| -> io::Result<()> {
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

    fn finish(&mut self) -> io::Result<()> {
        if self.sections.any() {
            self.out.write_all(b"\n  }")?;
        }
        self.out.write_all(b"\n}\n")?;
        self.out.flush()
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

fn string<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::other)
}
