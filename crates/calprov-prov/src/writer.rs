//! What every format's writer does, and the namespaces a document declares.

use std::io;

use crate::record::{Kind, Record};

/// The namespaces calprov's documents declare (`prov` and `xsd` are PROV's own and never
/// declared). calprov has no web domain of its own to promise, so its namespaces are URNs.
pub const NAMESPACES: [(&str, &str); 3] = [
    ("calprov", "urn:calprov:"),
    (
        "voprov",
        "http://www.ivoa.net/documents/ProvenanceDM/index.html#",
    ),
    ("casaparam", "urn:calprov:casa-parameter:"),
];

/// A document format; [`Format::render`] renders records without a writer, for
/// [`Writer::rendered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// W3C PROV-JSON.
    ProvJson,
    /// W3C PROV-N.
    ProvN,
    /// Graphviz DOT.
    Dot,
}

impl Format {
    /// Appends `record`, rendered, to `out`.
    pub fn render(self, record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Format::ProvJson => crate::json::render(record, out),
            Format::ProvN => crate::provn::render(record, out),
            Format::Dot => crate::dot::render(record, out),
        }
    }
}

/// A streaming writer of one PROV document.
pub trait Writer {
    /// Writes one record. Records of one kind must come together: a kind seen before
    /// another one is refused (`InvalidInput`) once that other one has started.
    fn record(&mut self, record: &Record) -> io::Result<()>;

    /// Writes records of `kind` already rendered by [`Format::render`] (any number of them,
    /// concatenated): several threads can render while one writes, in order.
    fn rendered(&mut self, kind: Kind, records: &[u8]) -> io::Result<()>;

    /// Closes the document and flushes.
    fn finish(&mut self) -> io::Result<()>;
}

/// Tracks which kinds have been written, for the "records of a kind come together" rule.
#[derive(Debug, Default)]
pub(crate) struct Sections {
    current: Option<Kind>,
    closed: Vec<Kind>,
}

impl Sections {
    /// Whether `kind` opens a new section; an error when its section was closed already.
    pub(crate) fn enter(&mut self, kind: Kind) -> io::Result<bool> {
        if self.current == Some(kind) {
            return Ok(false);
        }
        if self.closed.contains(&kind) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} records must come together", kind.name()),
            ));
        }
        if let Some(previous) = self.current.replace(kind) {
            self.closed.push(previous);
        }
        Ok(true)
    }

    /// Whether any section was opened.
    pub(crate) fn any(&self) -> bool {
        self.current.is_some()
    }
}

/// The string a non-finite double is written as.
pub(crate) fn non_finite_text(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}
