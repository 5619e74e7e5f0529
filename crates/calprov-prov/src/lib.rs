//! W3C PROV out of calprov: the record model ([`Record`]) and three streaming writers,
//! [`ProvJsonWriter`] (PROV-JSON), [`ProvNWriter`] (PROV-N) and [`DotWriter`] (Graphviz).
//!
//! Pure: no database, no files. The caller (calprov-core's export) reads the registry's PROV
//! views and hands records over one at a time; a writer keeps only what its format needs
//! between records (PROV-JSON: which section is open), so a document of millions of records
//! is written in constant memory. Records of one kind must arrive together (PROV-JSON groups
//! them by kind); a writer refuses a kind that comes back after another.
//!
//! Vocabulary: the `calprov` namespace for calprov's ids and attributes, `voprov` for the
//! IVOA Provenance Data Model, `casaparam` for CASA task parameters. `prov` and `xsd` are
//! PROV's own and never declared.

mod dot;
mod json;
mod provn;
mod record;
mod writer;

pub use dot::DotWriter;
pub use json::ProvJsonWriter;
pub use provn::ProvNWriter;
pub use record::{Attribute, Kind, Record, Value, param_name};
pub use writer::{Format, NAMESPACES, Writer};

#[cfg(test)]
mod tests;
