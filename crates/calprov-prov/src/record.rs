//! One PROV record: an element (entity, activity, agent) or a relation, with its formal
//! attributes in PROV's order and its other attributes as qualified name = value.

use std::borrow::Cow;

/// The PROV record kinds calprov writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A dataset: an MS, a caltable version, an MS after applycal.
    Entity,
    /// A solve or an application.
    Activity,
    /// CASA.
    Agent,
    /// An activity read an entity.
    Used,
    /// An entity came out of an activity.
    WasGeneratedBy,
    /// An activity ran CASA.
    WasAssociatedWith,
    /// An entity was made from another (or is a revision of it).
    WasDerivedFrom,
}

impl Kind {
    /// Every kind, in the order the export writes them.
    pub const ALL: [Kind; 7] = [
        Kind::Entity,
        Kind::Activity,
        Kind::Agent,
        Kind::Used,
        Kind::WasGeneratedBy,
        Kind::WasAssociatedWith,
        Kind::WasDerivedFrom,
    ];

    /// The PROV-JSON section and the PROV-N statement name (they are the same words).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Entity => "entity",
            Kind::Activity => "activity",
            Kind::Agent => "agent",
            Kind::Used => "used",
            Kind::WasGeneratedBy => "wasGeneratedBy",
            Kind::WasAssociatedWith => "wasAssociatedWith",
            Kind::WasDerivedFrom => "wasDerivedFrom",
        }
    }

    /// The formal attributes, in PROV-N's positional order; [`Record::formal`] holds one
    /// value (or `None`) for each.
    pub fn formal_names(self) -> &'static [&'static str] {
        match self {
            Kind::Entity | Kind::Agent => &[],
            Kind::Activity => &["prov:startTime", "prov:endTime"],
            Kind::Used => &["prov:activity", "prov:entity", "prov:time"],
            Kind::WasGeneratedBy => &["prov:entity", "prov:activity", "prov:time"],
            Kind::WasAssociatedWith => &["prov:activity", "prov:agent", "prov:plan"],
            Kind::WasDerivedFrom => &[
                "prov:generatedEntity",
                "prov:usedEntity",
                "prov:activity",
                "prov:generation",
                "prov:usage",
            ],
        }
    }

    /// Whether the formal attribute at `index` is a time (the others are record ids).
    pub fn formal_is_time(self, index: usize) -> bool {
        matches!(
            (self, index),
            (Kind::Activity, 0 | 1) | (Kind::Used | Kind::WasGeneratedBy, 2)
        )
    }

    /// Elements are entities, activities and agents; the rest are relations.
    pub fn is_element(self) -> bool {
        matches!(self, Kind::Entity | Kind::Activity | Kind::Agent)
    }
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string literal.
    Str(String),
    /// An integer (a JSON number; PROV-N's bare integer).
    Int(i64),
    /// A double (a JSON number; PROV-N's `xsd:double`). Non-finite values are written as the
    /// strings `"NaN"`, `"Infinity"`, `"-Infinity"`, as everywhere in calprov.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A qualified name such as `voprov:DatasetEntity`.
    QName(String),
}

/// `name = value`; `name` is a qualified name (`prov:label`, `calprov:command`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The qualified name (borrowed when static: most are, and a large export writes tens
    /// of millions of them).
    pub name: Cow<'static, str>,
    /// The value.
    pub value: Value,
}

/// Spare strings a record keeps for the next one.
const MAX_SPARE: usize = 64;

/// One record. Reusable: [`Record::reset`] keeps the buffers, and [`Record::string`] hands
/// back the strings of the previous record (an export fills tens of millions of records).
#[derive(Debug, Clone)]
pub struct Record {
    /// What it is.
    pub kind: Kind,
    /// Its qualified name (`calprov:solve-42`).
    pub id: String,
    /// One entry per [`Kind::formal_names`]: a record id, or an ISO 8601 time where
    /// [`Kind::formal_is_time`].
    pub formal: Vec<Option<String>>,
    /// The other attributes, in the order given.
    pub attributes: Vec<Attribute>,
    /// Emptied strings of earlier records, for [`Record::string`].
    spare: Vec<String>,
}

/// Records are equal when they say the same (the spare buffers do not count).
impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.id == other.id
            && self.formal == other.formal
            && self.attributes == other.attributes
    }
}

impl Record {
    /// An empty record of `kind`.
    pub fn new(kind: Kind) -> Self {
        let mut record = Record {
            kind,
            id: String::new(),
            formal: Vec::new(),
            attributes: Vec::new(),
            spare: Vec::new(),
        };
        record.reset(kind);
        record
    }

    /// Makes this an empty record of `kind`, keeping allocations.
    pub fn reset(&mut self, kind: Kind) {
        self.kind = kind;
        self.id.clear();
        let mut emptied: Vec<String> = Vec::new();
        for slot in self.formal.drain(..).flatten() {
            emptied.push(slot);
        }
        self.formal.resize(kind.formal_names().len(), None);
        for attribute in self.attributes.drain(..) {
            if let Value::Str(s) | Value::QName(s) = attribute.value {
                emptied.push(s);
            }
        }
        // Kept up to what one record uses: a caller that builds strings of its own (not
        // through `string`) must not make the spares grow record after record.
        for mut s in emptied {
            if self.spare.len() >= MAX_SPARE {
                break;
            }
            s.clear();
            self.spare.push(s);
        }
    }

    /// An empty string, reusing one of an earlier record's when there is one.
    pub fn string(&mut self) -> String {
        self.spare.pop().unwrap_or_default()
    }

    /// `value` as a string attribute, in a reused buffer.
    pub fn push_str(&mut self, name: impl Into<Cow<'static, str>>, value: &str) {
        let mut s = self.string();
        s.push_str(value);
        self.push(name, Value::Str(s));
    }

    /// Adds `name = value`.
    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, value: Value) {
        self.attributes.push(Attribute {
            name: name.into(),
            value,
        });
    }

    /// The value of attribute `name`, the first when repeated.
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    /// The formal attribute called `name` (`prov:entity`, ...).
    pub fn formal_value(&self, name: &str) -> Option<&str> {
        let index = self.kind.formal_names().iter().position(|n| *n == name)?;
        self.formal.get(index)?.as_deref()
    }
}

/// The attribute name of CASA task parameter `key`: `casaparam:<key>` for an identifier
/// (every CASA parameter is one); anything else, which a qualified name cannot hold as it
/// is, becomes `casaparam:_x<hex of its UTF-8 bytes>`.
pub fn param_name(key: &str) -> String {
    let identifier = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        format!("casaparam:{key}")
    } else {
        let mut name = String::from("casaparam:_x");
        for byte in key.bytes() {
            name.push_str(&format!("{byte:02X}"));
        }
        name
    }
}
