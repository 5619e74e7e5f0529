//! `export`: the provenance graph as a standard document (PROV-JSON, PROV-N) or a Graphviz
//! graph, streamed. The graph and its ids come from the registry's PROV views (migration V5,
//! the same views a ProvTAP service would read), the rendering from `calprov-prov`; this
//! module picks the part of the graph asked for and pipes rows to a writer one at a time, so
//! memory stays bounded whatever the registry holds.

mod records;

use std::collections::HashSet;
use std::io::Write;

use calprov_prov::{DotWriter, Kind, ProvJsonWriter, ProvNWriter, Record, Value, Writer};
use rusqlite::Connection;

use crate::registry::export_scope::ExportSelection;
use crate::{Error, Registry, verify};
use records::{SOURCES, Source, fill, referenced_ids};

/// The document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// W3C PROV-JSON.
    ProvJson,
    /// W3C PROV-N.
    ProvN,
    /// Graphviz DOT, PROV's customary drawing; QA failures and tables changed on disk marked.
    Dot,
}

/// Which part of the graph to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportScope {
    /// Everything the registry holds.
    All,
    /// These caltables (every recorded version of each).
    Caltables(Vec<String>),
    /// The caltables registered in a set (retired ones left out).
    Set(String),
}

/// What to export and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// The caltables.
    pub scope: ExportScope,
    /// Also what the caltables were made from, recursively (their lineage).
    pub upstream: bool,
    /// Also everything made or calibrated with them, recursively (their impact).
    pub downstream: bool,
    /// The format.
    pub format: ExportFormat,
}

/// How many records of each kind were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// `(kind name, count)` in the order written.
    pub records: Vec<(&'static str, u64)>,
}

impl ExportSummary {
    /// All records.
    pub fn total(&self) -> u64 {
        self.records.iter().map(|(_, n)| n).sum()
    }
}

/// Writes the part of the graph `request` asks for to `out` (buffer it: records are written
/// piecewise); `destination` names `out` in errors.
pub fn export(
    registry: &Registry,
    request: &ExportRequest,
    out: impl Write,
    destination: &str,
) -> Result<ExportSummary, Error> {
    let selection = match &request.scope {
        // Everything is its own lineage and impact.
        ExportScope::All => None,
        ExportScope::Caltables(caltables) => {
            Some(registry.export_selection(caltables, request.upstream, request.downstream)?)
        }
        ExportScope::Set(set) => Some(registry.export_selection(
            &registry.caltable_paths(Some(set))?,
            request.upstream,
            request.downstream,
        )?),
    };
    let write_error = |source| Error::Write {
        destination: destination.to_owned(),
        source,
    };
    let mut writer: Box<dyn Writer> = match request.format {
        ExportFormat::ProvJson => Box::new(ProvJsonWriter::new(out).map_err(write_error)?),
        ExportFormat::ProvN => Box::new(ProvNWriter::new(out).map_err(write_error)?),
        ExportFormat::Dot => Box::new(DotWriter::new(out).map_err(write_error)?),
    };
    let mut pass = Pass {
        registry,
        writer: writer.as_mut(),
        destination,
        mark_changes: request.format == ExportFormat::Dot,
        referenced: selection.as_ref().map(|_| HashSet::new()),
        record: Record::new(Kind::Entity),
    };
    let conn = registry.connection();
    if let Some(selection) = &selection {
        stage(conn, registry, selection)?;
    }
    let mut summary = ExportSummary::default();
    for source in &SOURCES {
        if source.kind == Kind::Entity
            && let Some(referenced) = pass.referenced.take()
        {
            stage_referenced(conn, registry, &referenced)?;
        }
        let n = pass.run(source, selection.is_some())?;
        summary.records.push((source.kind.name(), n));
    }
    writer.finish().map_err(write_error)?;
    Ok(summary)
}

/// One export in progress.
struct Pass<'a> {
    registry: &'a Registry,
    writer: &'a mut dyn Writer,
    destination: &'a str,
    /// Mark the latest version of each caltable with `verify`'s verdicts (DOT).
    mark_changes: bool,
    /// For a part of the graph: the entities and agents its relations name.
    referenced: Option<HashSet<String>>,
    record: Record,
}

impl Pass<'_> {
    /// Streams one view, filtered to the selection staged in temporary tables.
    fn run(&mut self, source: &Source, filtered: bool) -> Result<u64, Error> {
        let registry = self.registry;
        let db = registry.path();
        let filter = match (filtered, source.kind) {
            (false, _) => "",
            (true, Kind::Entity) => {
                " WHERE ent_id IN (SELECT id FROM temp.calprov_export_ids) \
                 OR (calprov_kind = 'caltable' AND calprov_solve_id IS NULL \
                     AND ent_location IN (SELECT path FROM temp.calprov_export_paths))"
            }
            (true, Kind::Agent) => " WHERE agent_id IN (SELECT id FROM temp.calprov_export_ids)",
            (true, _) => {
                " WHERE calprov_solve_id IN (SELECT id FROM temp.calprov_export_solves) \
                 OR calprov_application_id IN (SELECT id FROM temp.calprov_export_applications)"
            }
        };
        let sql = format!("SELECT {} FROM {}{filter}", source.columns, source.view);
        let mut stmt = registry
            .connection()
            .prepare(&sql)
            .map_err(Error::sql(db, "read the PROV views"))?;
        let mut rows = stmt
            .query([])
            .map_err(Error::sql(db, "read the PROV views"))?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(Error::sql(db, "read the PROV views"))? {
            let facts = fill(source, row, &mut self.record)
                .map_err(Error::sql(db, "read the PROV views"))?;
            if let Some(referenced) = &mut self.referenced {
                for id in referenced_ids(&self.record) {
                    if !referenced.contains(id) {
                        referenced.insert(id.to_owned());
                    }
                }
            }
            if self.mark_changes && facts.latest_caltable {
                self.mark_change()?;
            }
            self.writer
                .record(&self.record)
                .map_err(|source| Error::Write {
                    destination: self.destination.to_owned(),
                    source,
                })?;
            count += 1;
        }
        Ok(count)
    }

    /// Adds `calprov:verify` to the current caltable entity when the table on disk is not
    /// the one its latest solve recorded.
    fn mark_change(&mut self) -> Result<(), Error> {
        let Some(Value::Str(location)) = self.record.attribute("prov:location") else {
            return Ok(());
        };
        let report = verify(self.registry, &location.clone())?;
        if !report.is_unchanged() {
            self.record
                .push("calprov:verify", Value::Str(report.verdict_names()));
        }
        Ok(())
    }
}

const STAGING: &str =
    "CREATE TEMP TABLE IF NOT EXISTS calprov_export_solves (id INTEGER PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS calprov_export_applications (id INTEGER PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS calprov_export_paths (path TEXT PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS calprov_export_ids (id TEXT PRIMARY KEY);
DELETE FROM temp.calprov_export_solves;
DELETE FROM temp.calprov_export_applications;
DELETE FROM temp.calprov_export_paths;
DELETE FROM temp.calprov_export_ids;";

/// Puts the selection where the views' filters read it: temporary tables, private to this
/// connection and never in the registry file.
fn stage(conn: &Connection, registry: &Registry, selection: &ExportSelection) -> Result<(), Error> {
    let db = registry.path();
    let failed = |e| Error::sql(db, "stage the export's selection")(e);
    conn.execute_batch(STAGING).map_err(failed)?;
    let mut solve = conn
        .prepare("INSERT OR IGNORE INTO temp.calprov_export_solves (id) VALUES (?1)")
        .map_err(failed)?;
    for id in &selection.solves {
        solve.execute([id]).map_err(failed)?;
    }
    let mut application = conn
        .prepare("INSERT OR IGNORE INTO temp.calprov_export_applications (id) VALUES (?1)")
        .map_err(failed)?;
    for id in &selection.applications {
        application.execute([id]).map_err(failed)?;
    }
    let mut path = conn
        .prepare("INSERT OR IGNORE INTO temp.calprov_export_paths (path) VALUES (?1)")
        .map_err(failed)?;
    for p in &selection.unsolved {
        path.execute([p]).map_err(failed)?;
    }
    Ok(())
}

fn stage_referenced(
    conn: &Connection,
    registry: &Registry,
    referenced: &HashSet<String>,
) -> Result<(), Error> {
    let failed = |e| Error::sql(registry.path(), "stage the export's selection")(e);
    let mut insert = conn
        .prepare("INSERT OR IGNORE INTO temp.calprov_export_ids (id) VALUES (?1)")
        .map_err(failed)?;
    for id in referenced {
        insert.execute([id]).map_err(failed)?;
    }
    Ok(())
}
