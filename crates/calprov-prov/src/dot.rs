//! Graphviz DOT in PROV's customary drawing: entities yellow ellipses, activities blue
//! boxes, agents orange houses; edges point from the later record to the earlier one, as
//! PROV's relations read (`wasGeneratedBy`: entity -> activity), labelled with the relation
//! and the role. Marked: a caltable version whose QA failed (`calprov:qa_passed` false: red,
//! thick) and a table on disk that no longer matches its provenance (`calprov:verify`, the
//! verdicts of `calprov verify`: dashed orange).

use std::io::{self, Write};

use crate::record::{Kind, Record, Value};
use crate::writer::{Sections, Writer};

/// How a node is drawn: PROV's shapes and colours.
struct Look {
    shape: &'static str,
    fill: &'static str,
    outline: &'static str,
    dashed: bool,
    pen_width: u8,
}

const ENTITY: Look = Look {
    shape: "ellipse",
    fill: "#FFFC87",
    outline: "#808080",
    dashed: false,
    pen_width: 1,
};
const ACTIVITY: Look = Look {
    shape: "box",
    fill: "#9FB1FC",
    outline: "#0000FF",
    dashed: false,
    pen_width: 1,
};
const AGENT: Look = Look {
    shape: "house",
    fill: "#FED37F",
    outline: "#000000",
    dashed: false,
    pen_width: 1,
};
/// Changed on disk: dashed orange.
const CHANGED_OUTLINE: &str = "#E07000";
/// QA failed: thick red (over the changed colour when both hold).
const QA_FAILED_OUTLINE: &str = "#D00000";

/// Writes one DOT digraph to `out`.
#[derive(Debug)]
pub struct DotWriter<W: Write> {
    out: W,
    sections: Sections,
}

impl<W: Write> DotWriter<W> {
    /// Starts the graph.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(
            b"digraph provenance {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n  \
              edge [fontname=\"Helvetica\", fontsize=8];\n",
        )?;
        Ok(DotWriter {
            out,
            sections: Sections::default(),
        })
    }
}

impl<W: Write> Writer for DotWriter<W> {
    fn record(&mut self, record: &Record) -> io::Result<()> {
        let mut rendered = Vec::with_capacity(256);
        render(record, &mut rendered)?;
        self.rendered(record.kind, &rendered)
    }

    fn rendered(&mut self, kind: Kind, records: &[u8]) -> io::Result<()> {
        self.sections.enter(kind)?;
        self.out.write_all(records)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// Renders a node or an edge, a line.
pub(crate) fn render(record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
    if record.kind.is_element() {
        node(out, record)
    } else {
        edge(out, record)
    }
}

fn node<W: Write>(out: &mut W, record: &Record) -> io::Result<()> {
    let text = |name: &str| match record.attribute(name) {
        Some(Value::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    let local = local_name(&record.id);
    let mut label = text("prov:label").unwrap_or(local).to_owned();
    let mut look = match record.kind {
        Kind::Entity => ENTITY,
        Kind::Activity => ACTIVITY,
        _ => AGENT,
    };
    match record.kind {
        Kind::Entity => {
            match text("calprov:kind") {
                Some("ms") => label.push_str("\nMS"),
                Some("calibrated") => label.push_str("\nMS after applycal"),
                _ => {
                    label.push('\n');
                    label.push_str(local);
                }
            }
            if let Some(verdicts) = text("calprov:verify") {
                label.push_str("\non disk: ");
                label.push_str(verdicts);
                look.outline = CHANGED_OUTLINE;
                look.dashed = true;
                look.pen_width = 2;
            }
            if record.attribute("calprov:qa_passed") == Some(&Value::Bool(false)) {
                label.push_str("\nQA failed");
                look.outline = QA_FAILED_OUTLINE;
                look.pen_width = 3;
            }
        }
        Kind::Activity => {
            label.push('\n');
            label.push_str(local);
            if let Some(end) = record.formal_value("prov:endTime") {
                label.push('\n');
                label.push_str(end);
            }
        }
        _ => {}
    }
    out.write_all(b"  ")?;
    quoted(out, &record.id)?;
    write!(
        out,
        " [shape={}, style=\"{}\", fillcolor=\"{}\", color=\"{}\", penwidth={}, label=",
        look.shape,
        if look.dashed {
            "filled,dashed"
        } else {
            "filled"
        },
        look.fill,
        look.outline,
        look.pen_width
    )?;
    quoted(out, &label)?;
    out.write_all(b"];\n")
}

fn edge<W: Write>(out: &mut W, record: &Record) -> io::Result<()> {
    let (Some(Some(from)), Some(Some(to))) = (record.formal.first(), record.formal.get(1)) else {
        return Ok(());
    };
    let mut label = match (record.kind, record.attribute("prov:type")) {
        (Kind::WasDerivedFrom, Some(Value::QName(t))) if t == "prov:Revision" => {
            "wasRevisionOf".to_owned()
        }
        (kind, _) => kind.name().to_owned(),
    };
    if let Some(Value::Str(role)) = record.attribute("prov:role") {
        label.push('\n');
        label.push_str(role);
        if let Some(Value::Int(index)) = record.attribute("calprov:index") {
            label.push_str(&format!("[{index}]"));
        }
    }
    out.write_all(b"  ")?;
    quoted(out, from)?;
    out.write_all(b" -> ")?;
    quoted(out, to)?;
    out.write_all(b" [label=")?;
    quoted(out, &label)?;
    if record.kind == Kind::WasDerivedFrom {
        out.write_all(b", style=dashed")?;
    }
    out.write_all(b"];\n")
}

/// The id without its prefix.
fn local_name(id: &str) -> &str {
    id.split_once(':').map_or(id, |(_, local)| local)
}

/// A DOT quoted string: `"` and `\` escaped, a newline as DOT's centred line break.
fn quoted<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    for c in s.chars() {
        match c {
            '"' => out.write_all(b"\\\"")?,
            '\\' => out.write_all(b"\\\\")?,
            '\n' => out.write_all(b"\\n")?,
            '\r' => {}
            _ => {
                let mut buffer = [0u8; 4];
                out.write_all(c.encode_utf8(&mut buffer).as_bytes())?;
            }
        }
    }
    out.write_all(b"\"")
}
