//! `export`: the provenance graph as a standard document (PROV-JSON, PROV-N) or a Graphviz
//! graph, streamed. The graph and its ids are those of the registry's PROV views (migration
//! V5, what a ProvTAP reader sees); the export computes the same records from the history
//! tables directly (`ids` mirrors the views' rules; the views cost several microseconds a
//! row), renders them with `calprov-prov`, and writes them one at a time, so memory stays
//! bounded whatever the registry holds. A part of the graph is staged as solve and
//! application ids in temporary tables; its relations say which entities and agents it needs.

mod ids;
mod parallel;
mod passes;

use std::collections::BTreeSet;
use std::io::Write;

use calprov_prov::{DotWriter, Format, Kind, ProvJsonWriter, ProvNWriter, Record, Value, Writer};

use crate::registry::export_scope::ExportSelection;
use crate::sql::{Cell, Dialect, RowRef};
use crate::{Error, Registry, verify};
use parallel::{Buffers, Cut, Fill, Output, Prefetched, Ranged, prefetch};
use passes::{
    ALL, RANGED, Referenced, STAGED, calibrated_entity, path_entity, relation, relation_sql,
    version_entity,
};

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
        ExportScope::Set(set) if !registry.set_exists(set)? => {
            return Err(Error::UnknownSet { set: set.clone() });
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
    let writer: Box<dyn Writer> = match request.format {
        ExportFormat::ProvJson => Box::new(ProvJsonWriter::new(out).map_err(write_error)?),
        ExportFormat::ProvN => Box::new(ProvNWriter::new(out).map_err(write_error)?),
        ExportFormat::Dot => Box::new(DotWriter::new(out).map_err(write_error)?),
    };
    let mut pass = Pass {
        registry,
        writer,
        destination,
        marks: match request.format {
            ExportFormat::Dot => Some(registry.open_reader(None)?),
            _ => None,
        },
        referenced: selection.as_ref().map(|_| Referenced::default()),
        record: Record::new(Kind::Entity),
        written: 0,
        buffers: Buffers::default(),
        summary: ExportSummary::default(),
    };
    // `--all` runs its passes on every core, all reading one snapshot; a part of the graph
    // (staged in this connection's temporary tables) and DOT (whose marks are looked up as
    // each latest version is written) run here.
    let snapshot = match (&selection, request.format) {
        (None, ExportFormat::ProvJson | ExportFormat::ProvN) => Some(registry.share_snapshot()?),
        _ => None,
    };
    let cut = match &snapshot {
        Some(snapshot) => Some(Cut::of(registry, snapshot.name())?),
        None => None,
    };
    let format = match request.format {
        ExportFormat::ProvJson => Format::ProvJson,
        ExportFormat::ProvN => Format::ProvN,
        ExportFormat::Dot => Format::Dot,
    };
    let tables = match (&selection, &cut) {
        (Some(selection), _) => {
            stage(registry, selection)?;
            STAGED
        }
        (None, Some(_)) => RANGED,
        (None, None) => ALL,
    };
    std::thread::scope(|scope| {
        // The path queries sort the whole history before their first row: for `--all` on
        // every core, other threads run them while the passes before them are written.
        let prefetched = match &cut {
            Some(cut) => Some((
                prefetch(scope, registry, cut, MS_PATHS)?,
                prefetch(scope, registry, cut, CALTABLE_PATHS)?,
            )),
            None => None,
        };
        for (kind, statements) in relation_sql(tables) {
            if let Some(cut) = &cut {
                let ranged: Vec<Ranged<'_>> = statements
                    .iter()
                    .map(|s| Ranged {
                        fill: Fill::Relation(kind, s.shape),
                        owner: s.owner,
                        sql: &s.sql,
                    })
                    .collect();
                let output = Output {
                    format,
                    writer: pass.writer.as_mut(),
                    write_error: &write_error,
                    buffers: &pass.buffers,
                };
                pass.written += parallel::run(registry, kind, &ranged, cut, output)?;
            } else {
                for statement in statements {
                    pass.rows(&statement.sql, |row, record, referenced| {
                        Ok(relation(kind, statement.shape, row, record, referenced)?
                            .then_some(false))
                    })?;
                }
            }
            pass.count(kind);
        }
        match &selection {
            Some(selection) => pass.referenced_entities(selection)?,
            None => pass.all_entities(
                cut.as_ref().map(|cut| (cut, format)),
                prefetched,
                &write_error,
            )?,
        }
        pass.writer.finish().map_err(write_error)?;
        Ok(pass.summary)
    })
}

/// One export in progress.
struct Pass<'a> {
    registry: &'a Registry,
    writer: Box<dyn Writer + 'a>,
    destination: &'a str,
    /// For DOT: where the latest version of each caltable is verified, to mark it with
    /// `verify`'s verdicts. Its own connection: the pass's rows are streaming meanwhile, and
    /// a server's connection reads one statement at a time.
    marks: Option<Registry>,
    /// For a part of the graph: the entities and agents its relations name.
    referenced: Option<Referenced>,
    record: Record,
    /// Records written since the last count.
    written: u64,
    /// The parallel passes' chunk buffers.
    buffers: Buffers,
    summary: ExportSummary,
}

const READ: &str = "read the provenance history";

/// Every caltable version with its metrics and whether it is its caltable's latest.
const VERSIONS: &str = "SELECT s.id, s.caltable_path, s.metrics, \
    s.id = (SELECT max(l.id) FROM calprov_solves l WHERE l.caltable_path = s.caltable_path)";

/// Every MS, once.
const MS_PATHS: &str = "SELECT path FROM calprov_solve_inputs WHERE role = 'vis' AND path IS NOT NULL \
    UNION SELECT ms_path FROM calprov_applications";

/// Every caltable known by path only: applied while unregistered, or registered and never
/// solved.
const CALTABLE_PATHS: &str = "SELECT path FROM calprov_solve_inputs \
    WHERE role = 'gaintable' AND path IS NOT NULL AND input_solve_id IS NULL \
    UNION SELECT caltable_path FROM calprov_application_tables \
    WHERE caltable_path IS NOT NULL AND solve_id IS NULL \
    UNION SELECT c.path FROM caltables c \
    WHERE NOT EXISTS (SELECT 1 FROM calprov_solves s WHERE s.caltable_path = c.path)";

impl Pass<'_> {
    /// Streams the rows of `sql` through `fill` to the writer. `fill` says whether the row
    /// made a record and whether that record is a caltable's latest version.
    fn rows(
        &mut self,
        sql: &str,
        mut fill: impl FnMut(
            &RowRef<'_>,
            &mut Record,
            Option<&mut Referenced>,
        ) -> Result<Option<bool>, Error>,
    ) -> Result<(), Error> {
        let registry = self.registry;
        registry.for_each_row(sql, &[], READ, |row| {
            if let Some(latest) = fill(&row, &mut self.record, self.referenced.as_mut())? {
                if latest {
                    self.mark_change()?;
                }
                self.write()?;
            }
            Ok(())
        })
    }

    fn write(&mut self) -> Result<(), Error> {
        self.written += 1;
        self.writer
            .record(&self.record)
            .map_err(|source| Error::Write {
                destination: self.destination.to_owned(),
                source,
            })
    }

    /// Closes the count of `kind`.
    fn count(&mut self, kind: Kind) {
        let n = std::mem::take(&mut self.written);
        self.summary.records.push((kind.name(), n));
    }

    /// Every entity and agent the registry holds (`--all`); the caltable versions on every
    /// core when `parallel` gives the cut and the format.
    fn all_entities(
        &mut self,
        parallel: Option<(&Cut, Format)>,
        prefetched: Option<(Prefetched, Prefetched)>,
        write_error: &dyn Fn(std::io::Error) -> Error,
    ) -> Result<(), Error> {
        match parallel {
            Some((cut, format)) => {
                let versions =
                    format!("{VERSIONS} FROM calprov_solves s WHERE s.id BETWEEN ?1 AND ?2");
                let statements = [
                    Ranged {
                        fill: Fill::Version,
                        owner: passes::Owner::Solve,
                        sql: &versions,
                    },
                    Ranged {
                        fill: Fill::Calibrated,
                        owner: passes::Owner::Application,
                        sql: "SELECT a.id, a.ms_path FROM calprov_applications a WHERE a.id BETWEEN ?1 AND ?2",
                    },
                ];
                let output = Output {
                    format,
                    writer: self.writer.as_mut(),
                    write_error,
                    buffers: &self.buffers,
                };
                self.written +=
                    parallel::run(self.registry, Kind::Entity, &statements, cut, output)?;
            }
            None => {
                self.rows(
                    &format!("{VERSIONS} FROM calprov_solves s"),
                    |row, record, _| version_entity(row, record).map(Some),
                )?;
                self.calibrated(ALL.applications)?;
            }
        }
        match prefetched {
            Some((ms, caltables)) => {
                self.prefetched_paths(ms, "ms")?;
                self.prefetched_paths(caltables, "caltable")?;
            }
            None => {
                self.paths(MS_PATHS, "ms")?;
                self.paths(CALTABLE_PATHS, "caltable")?;
            }
        }
        self.count(Kind::Entity);
        self.rows(
            "SELECT DISTINCT casa_version FROM calprov_solves \
             UNION SELECT NULL WHERE EXISTS (SELECT 1 FROM calprov_applications)",
            |row, record, _| {
                passes::agent(row.text(0)?.as_deref(), record);
                Ok(Some(false))
            },
        )?;
        self.count(Kind::Agent);
        Ok(())
    }

    /// The entities and agents a part of the graph's relations named, and the caltables
    /// asked for that have no solve.
    fn referenced_entities(&mut self, selection: &ExportSelection) -> Result<(), Error> {
        let referenced = self.referenced.take().unwrap_or_default();
        stage_ids(
            self.registry,
            "calprov_export_versions",
            &referenced.versions,
        )?;
        self.rows(
            &format!(
                "{VERSIONS} FROM calprov_export_versions x JOIN calprov_solves s ON s.id = x.id"
            ),
            |row, record, _| version_entity(row, record).map(Some),
        )?;
        for path in &referenced.ms {
            path_entity(ids::ms(path), path, "ms", &mut self.record);
            self.write()?;
        }
        self.calibrated(STAGED.applications)?;
        let mut paths = referenced.paths;
        paths.extend(selection.unsolved.iter().cloned());
        for path in &paths {
            path_entity(ids::caltable_path(path), path, "caltable", &mut self.record);
            self.write()?;
        }
        self.count(Kind::Entity);
        for version in &referenced.casa {
            passes::agent(version.as_deref(), &mut self.record);
            self.write()?;
        }
        self.count(Kind::Agent);
        Ok(())
    }

    /// Entities known by a path (`sql` selects the paths).
    fn paths(&mut self, sql: &str, kind: &'static str) -> Result<(), Error> {
        self.rows(sql, |row, record, _| {
            let path = row.text(0)?.unwrap_or_default();
            let id = if kind == "ms" {
                ids::ms(&path)
            } else {
                ids::caltable_path(&path)
            };
            path_entity(id, &path, kind, record);
            Ok(Some(false))
        })
    }

    /// Entities known by a path, the paths read ahead by another thread.
    fn prefetched_paths(&mut self, paths: Prefetched, kind: &'static str) -> Result<(), Error> {
        for path in paths {
            let path = path?;
            let id = if kind == "ms" {
                ids::ms(&path)
            } else {
                ids::caltable_path(&path)
            };
            path_entity(id, &path, kind, &mut self.record);
            self.write()?;
        }
        Ok(())
    }

    /// The MS after each application of `applications`.
    fn calibrated(&mut self, applications: &str) -> Result<(), Error> {
        self.rows(
            &format!("SELECT a.id, a.ms_path FROM {applications}"),
            |row, record, _| calibrated_entity(row, record).map(|()| Some(false)),
        )
    }

    /// Adds `calprov:verify` to the current caltable entity when the table on disk is not
    /// the one its latest solve recorded.
    fn mark_change(&mut self) -> Result<(), Error> {
        let Some(marks) = &self.marks else {
            return Ok(());
        };
        let Some(Value::Str(location)) = self.record.attribute("prov:location") else {
            return Ok(());
        };
        let report = verify(marks, &location.clone())?;
        if !report.is_unchanged() {
            self.record
                .push("calprov:verify", Value::Str(report.verdict_names()));
        }
        Ok(())
    }
}

/// Puts the selection where the passes' queries read it: temporary tables, private to this
/// connection and never in the registry file.
fn stage(registry: &Registry, selection: &ExportSelection) -> Result<(), Error> {
    stage_ids(registry, "calprov_export_solves", &selection.solves)?;
    stage_ids(
        registry,
        "calprov_export_applications",
        &selection.applications,
    )
}

/// The temporary table `table` holds exactly `ids`.
fn stage_ids(registry: &Registry, table: &str, ids: &BTreeSet<i64>) -> Result<(), Error> {
    let action = "stage the export's selection";
    // One statement for every id: a server would take a round trip for each.
    let (id_type, each_id) = match registry.dialect() {
        Dialect::Sqlite => ("INTEGER", "SELECT value FROM json_each(?1)"),
        Dialect::Postgres => (
            "BIGINT",
            "SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST(CAST(?1 AS TEXT) AS jsonb))",
        ),
    };
    registry.execute_here(
        &format!("CREATE TEMP TABLE IF NOT EXISTS {table} (id {id_type} PRIMARY KEY)"),
        &[],
        action,
    )?;
    registry.execute_here(&format!("DELETE FROM {table}"), &[], action)?;
    let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    registry.execute_here(
        &format!("INSERT INTO {table} (id) {each_id}"),
        &[Cell::from(json)],
        action,
    )
}
