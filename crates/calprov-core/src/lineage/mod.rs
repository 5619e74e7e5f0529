//! Lineage as pure logic, tested without a database: which inputs a solve or an application
//! read (CASA's rules for `gaintable` and its companions), what a data selection covers, the
//! walks down (impact) and up (lineage) the graph of solves, a re-solve plan in dependency
//! order and its Python script. The registry's `history` module stores and loads the graph.

pub mod graph;
pub mod inputs;
pub mod plan;
pub mod reach;
pub mod selection;

#[cfg(test)]
mod tests;
