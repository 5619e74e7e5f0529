//! The registry API: register caltables, record provenance, and query it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use calprov_schema::{MigrationReport, OpenOptions, begin_immediate, migrate, open_registry};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use crate::Error;
use crate::json::parse_python_json;
use crate::paths::normalize_to_string;
use crate::prefix::find_caltables;
use crate::record::{
    CaltableRecord, NewCaltable, Provenance, ProvenanceUpdate, RegisterMode, RegisterSummary,
    STATUSES, SetSummary,
};

/// A read of one row: the record, or why its JSON could not be read.
pub type RecordResult = Result<CaltableRecord, Error>;

/// An open, migrated calibration registry.
pub struct Registry {
    conn: Connection,
    path: PathBuf,
    migration: MigrationReport,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

const SELECT_RECORD: &str = "SELECT id, set_name, path, table_type, order_index, cal_field, refant, \
     created_at, valid_start_mjd, valid_end_mjd, status, notes, source_ms_path, solver_command, \
     solver_version, solver_params, quality_metrics FROM caltables";

impl Registry {
    /// Opens (creating if needed) and migrates the registry at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// Opens and migrates the registry with explicit connection options.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Self, Error> {
        let mut conn = open_registry(path, options)?;
        let migration = migrate(&mut conn, options.busy_timeout)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            migration,
        })
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What migrating the registry on open found and did.
    pub fn migration(&self) -> &MigrationReport {
        &self.migration
    }

    /// The connection, for the composed operations of this crate (tracking, monitoring).
    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The connection, for read-only composed operations.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Registers `rows` in set `set` in one transaction (all or nothing).
    ///
    /// `Upsert` keeps an existing row's id and merges: incoming non-null values win, nulls
    /// keep what is stored, so provenance already recorded is never erased. (The Python
    /// pipeline's `INSERT OR REPLACE` deletes and reinserts, losing both.) `Ignore` leaves an
    /// existing row untouched. Paths are stored normalised to absolute form.
    pub fn register_set(
        &mut self,
        set: &str,
        rows: &[NewCaltable],
        mode: RegisterMode,
    ) -> Result<RegisterSummary, Error> {
        let prepared = rows
            .iter()
            .map(|row| PreparedRow::new(set, row))
            .collect::<Result<Vec<_>, _>>()?;
        let now = unix_now();
        let path = self.path.clone();
        let tx = begin_immediate(&mut self.conn).map_err(Error::sql(&path, "begin register"))?;
        let mut summary = RegisterSummary::default();
        {
            let mut exists = tx
                .prepare_cached("SELECT 1 FROM caltables WHERE path = ?1")
                .map_err(Error::sql(&path, "prepare register"))?;
            let mut upsert = tx
                .prepare_cached(UPSERT_SQL)
                .map_err(Error::sql(&path, "prepare register"))?;
            let mut insert_ignore = tx
                .prepare_cached(INSERT_IGNORE_SQL)
                .map_err(Error::sql(&path, "prepare register"))?;
            for row in &prepared {
                let existed = exists
                    .exists([&row.path])
                    .map_err(Error::sql(&path, "look up caltable"))?;
                let statement = match mode {
                    RegisterMode::Upsert => &mut upsert,
                    RegisterMode::Ignore => &mut insert_ignore,
                };
                statement
                    .execute(params![
                        set,
                        row.path,
                        row.table_type,
                        row.order_index,
                        row.cal_field,
                        row.refant,
                        now,
                        row.valid_start_mjd,
                        row.valid_end_mjd,
                        row.status,
                        row.notes,
                        row.source_ms_path,
                        row.solver_command,
                        row.solver_version,
                        row.solver_params,
                        row.quality_metrics,
                    ])
                    .map_err(Error::sql(&path, "register caltable"))?;
                match (existed, mode) {
                    (false, _) => summary.inserted += 1,
                    (true, RegisterMode::Upsert) => summary.updated += 1,
                    (true, RegisterMode::Ignore) => summary.ignored += 1,
                }
            }
        }
        tx.commit().map_err(Error::sql(&path, "commit register"))?;
        tracing::info!(set, ?summary, "registered caltables");
        Ok(summary)
    }

    /// Registers the caltable directories named `<prefix>*`, typed and ordered by suffix.
    pub fn register_from_prefix(
        &mut self,
        set: &str,
        prefix: &Path,
        template: &NewCaltable,
        mode: RegisterMode,
    ) -> Result<(Vec<NewCaltable>, RegisterSummary), Error> {
        let rows: Vec<NewCaltable> = find_caltables(prefix)?
            .into_iter()
            .map(|typed| NewCaltable {
                path: typed.path.to_string_lossy().into_owned(),
                table_type: typed.table_type,
                order_index: typed.order_index,
                ..template.clone()
            })
            .collect();
        let summary = self.register_set(set, &rows, mode)?;
        Ok((rows, summary))
    }

    /// Writes the five provenance columns of a registered caltable, replacing what was
    /// there. An unregistered caltable gets no row.
    pub fn track_calibration_provenance(
        &mut self,
        caltable: &str,
        provenance: &Provenance,
    ) -> Result<ProvenanceUpdate, Error> {
        let path = self.path.clone();
        let tx = begin_immediate(&mut self.conn).map_err(Error::sql(&path, "begin track"))?;
        let update = write_provenance(&tx, &path, caltable, provenance)?;
        tx.commit().map_err(Error::sql(&path, "commit track"))?;
        Ok(update)
    }

    /// The full record of one caltable, or `None` when it is not registered.
    pub fn get_caltable_provenance(&self, caltable: &str) -> Result<Option<CaltableRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_RECORD} WHERE path = ?1"))
            .map_err(Error::sql(&self.path, "prepare show"))?;
        for candidate in lookup_candidates(caltable) {
            let raw = stmt
                .query_row([&candidate], RawRecord::from_row)
                .optional()
                .map_err(Error::sql(&self.path, "read caltable"))?;
            if let Some(raw) = raw {
                return raw.parse().map(Some);
            }
        }
        Ok(None)
    }

    /// Every caltable solved from `ms`, by `order_index` ascending then newest first.
    ///
    /// A row whose JSON cannot be read is an `Err` in its place; the other rows are intact.
    pub fn query_caltables_by_source(&self, ms: &str) -> Result<Vec<RecordResult>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{SELECT_RECORD} WHERE source_ms_path = ?1 OR source_ms_path = ?2 \
                 ORDER BY order_index ASC, created_at DESC, id ASC"
            ))
            .map_err(Error::sql(&self.path, "prepare by-source"))?;
        let normalized = normalize_to_string(Path::new(ms));
        let rows = stmt
            .query_map(params![ms, normalized], RawRecord::from_row)
            .map_err(Error::sql(&self.path, "query by source"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql(&self.path, "query by source"))?;
        Ok(rows.into_iter().map(RawRecord::parse).collect())
    }

    /// The distinct source MS paths of `caltables` (NULLs excluded), sorted.
    pub fn impact_analysis(&self, caltables: &[String]) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_ms_path FROM caltables WHERE path = ?1 AND source_ms_path IS NOT NULL")
            .map_err(Error::sql(&self.path, "prepare impact"))?;
        let mut sources = std::collections::BTreeSet::new();
        for caltable in caltables {
            for candidate in lookup_candidates(caltable) {
                let found: Option<String> = stmt
                    .query_row([&candidate], |row| row.get(0))
                    .optional()
                    .map_err(Error::sql(&self.path, "impact analysis"))?;
                if let Some(source) = found {
                    sources.insert(source);
                    break;
                }
            }
        }
        Ok(sources.into_iter().collect())
    }

    /// Every calibration set with its counts, by name.
    pub fn list_sets(&self) -> Result<Vec<SetSummary>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT set_name, count(*), sum(status = 'active'), \
                 sum(source_ms_path IS NOT NULL OR solver_command IS NOT NULL OR solver_version IS NOT NULL \
                     OR solver_params IS NOT NULL OR quality_metrics IS NOT NULL), \
                 min(valid_start_mjd), max(valid_end_mjd), max(created_at) \
                 FROM caltables GROUP BY set_name ORDER BY set_name",
            )
            .map_err(Error::sql(&self.path, "prepare sets"))?;
        let sets = stmt
            .query_map([], |row| {
                Ok(SetSummary {
                    set_name: row.get(0)?,
                    n_caltables: row.get(1)?,
                    n_active: row.get(2)?,
                    n_with_provenance: row.get(3)?,
                    valid_start_mjd: row.get(4)?,
                    valid_end_mjd: row.get(5)?,
                    last_created_at: row.get(6)?,
                })
            })
            .map_err(Error::sql(&self.path, "list sets"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql(&self.path, "list sets"))?;
        Ok(sets)
    }

    /// Marks every caltable of `set` retired and appends the reason to its notes; returns
    /// how many rows changed.
    pub fn retire_set(&mut self, set: &str, reason: &str) -> Result<usize, Error> {
        let path = self.path.clone();
        let tx = begin_immediate(&mut self.conn).map_err(Error::sql(&path, "begin retire"))?;
        let note = format!("retired: {reason}");
        let changed = tx
            .execute(
                "UPDATE caltables SET status = 'retired', \
                 notes = CASE WHEN notes IS NULL OR notes = '' THEN ?2 ELSE notes || '; ' || ?2 END \
                 WHERE set_name = ?1 AND status != 'retired'",
                params![set, note],
            )
            .map_err(Error::sql(&path, "retire set"))?;
        tx.commit().map_err(Error::sql(&path, "commit retire"))?;
        Ok(changed)
    }
}

/// Writes the provenance columns inside the caller's transaction.
pub(crate) fn write_provenance(
    tx: &rusqlite::Transaction<'_>,
    registry: &Path,
    caltable: &str,
    provenance: &Provenance,
) -> Result<ProvenanceUpdate, Error> {
    let params_json = provenance
        .solver_params
        .as_ref()
        .map(|v| object_text(caltable, "solver_params", v))
        .transpose()?;
    let metrics_json = provenance
        .quality_metrics
        .as_ref()
        .map(|v| object_text(caltable, "quality_metrics", v))
        .transpose()?;
    let mut stmt = tx
        .prepare_cached(
            "UPDATE caltables SET source_ms_path = ?2, solver_command = ?3, solver_version = ?4, \
             solver_params = ?5, quality_metrics = ?6 WHERE path = ?1",
        )
        .map_err(Error::sql(registry, "prepare track"))?;
    for candidate in lookup_candidates(caltable) {
        let changed = stmt
            .execute(params![
                candidate,
                provenance.source_ms_path,
                provenance.solver_command,
                provenance.solver_version,
                params_json,
                metrics_json,
            ])
            .map_err(Error::sql(registry, "write provenance"))?;
        if changed > 0 {
            return Ok(ProvenanceUpdate::Updated);
        }
    }
    Ok(ProvenanceUpdate::NotRegistered)
}

/// The stored form of a caltable path first, then the path exactly as given, so rows the
/// Python pipeline registered under a relative or unnormalised name are still found.
fn lookup_candidates(caltable: &str) -> Vec<String> {
    let normalized = normalize_to_string(Path::new(caltable));
    if normalized == caltable {
        vec![normalized]
    } else {
        vec![normalized, caltable.to_owned()]
    }
}

/// Serialises a JSON column value; only objects are accepted.
fn object_text(caltable: &str, column: &'static str, value: &Value) -> Result<String, Error> {
    if !value.is_object() {
        return Err(Error::NotAnObject {
            caltable: caltable.to_owned(),
            column,
            found: json_type(value),
        });
    }
    // serde_json cannot hold non-finite numbers, so this text is always standard JSON.
    serde_json::to_string(value).map_err(|source| Error::InvalidJson {
        caltable: caltable.to_owned(),
        column,
        source,
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The current time in unix seconds, as stored in `created_at` and events.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

const UPSERT_SQL: &str = "INSERT INTO caltables (set_name, path, table_type, order_index, cal_field, refant, \
    created_at, valid_start_mjd, valid_end_mjd, status, notes, source_ms_path, solver_command, \
    solver_version, solver_params, quality_metrics) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, COALESCE(?10, 'active'), ?11, ?12, ?13, ?14, ?15, ?16) \
    ON CONFLICT(path) DO UPDATE SET \
    set_name = excluded.set_name, table_type = excluded.table_type, order_index = excluded.order_index, \
    cal_field = COALESCE(excluded.cal_field, cal_field), refant = COALESCE(excluded.refant, refant), \
    created_at = excluded.created_at, \
    valid_start_mjd = COALESCE(excluded.valid_start_mjd, valid_start_mjd), \
    valid_end_mjd = COALESCE(excluded.valid_end_mjd, valid_end_mjd), \
    status = COALESCE(?10, status), notes = COALESCE(excluded.notes, notes), \
    source_ms_path = COALESCE(excluded.source_ms_path, source_ms_path), \
    solver_command = COALESCE(excluded.solver_command, solver_command), \
    solver_version = COALESCE(excluded.solver_version, solver_version), \
    solver_params = COALESCE(excluded.solver_params, solver_params), \
    quality_metrics = COALESCE(excluded.quality_metrics, quality_metrics)";

const INSERT_IGNORE_SQL: &str = "INSERT INTO caltables (set_name, path, table_type, order_index, cal_field, refant, \
    created_at, valid_start_mjd, valid_end_mjd, status, notes, source_ms_path, solver_command, \
    solver_version, solver_params, quality_metrics) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, COALESCE(?10, 'active'), ?11, ?12, ?13, ?14, ?15, ?16) \
    ON CONFLICT(path) DO NOTHING";

/// A row validated and serialised for the INSERT.
struct PreparedRow {
    path: String,
    table_type: String,
    order_index: i64,
    cal_field: Option<String>,
    refant: Option<String>,
    valid_start_mjd: Option<f64>,
    valid_end_mjd: Option<f64>,
    status: Option<String>,
    notes: Option<String>,
    source_ms_path: Option<String>,
    solver_command: Option<String>,
    solver_version: Option<String>,
    solver_params: Option<String>,
    quality_metrics: Option<String>,
}

impl PreparedRow {
    fn new(set: &str, row: &NewCaltable) -> Result<Self, Error> {
        let invalid = |field: &'static str, reason: String| Error::InvalidField {
            caltable: row.path.clone(),
            field,
            reason,
        };
        if set.trim().is_empty() {
            return Err(invalid("set_name", "the set name is empty".into()));
        }
        if row.path.trim().is_empty() {
            return Err(invalid("path", "the path is empty".into()));
        }
        if row.table_type.trim().is_empty() {
            return Err(invalid("table_type", "the table type is empty".into()));
        }
        if let Some(status) = &row.status
            && !STATUSES.contains(&status.as_str())
        {
            return Err(invalid(
                "status",
                format!("{status:?} is not one of {}", STATUSES.join(", ")),
            ));
        }
        for (field, value) in [
            ("valid_start_mjd", row.valid_start_mjd),
            ("valid_end_mjd", row.valid_end_mjd),
        ] {
            if value.is_some_and(|v| !v.is_finite()) {
                return Err(invalid(field, "not a finite number".into()));
            }
        }
        if let (Some(start), Some(end)) = (row.valid_start_mjd, row.valid_end_mjd)
            && start > end
        {
            return Err(invalid(
                "valid_end_mjd",
                format!("{end} is before the start {start}"),
            ));
        }
        let p = &row.provenance;
        Ok(Self {
            path: normalize_to_string(Path::new(&row.path)),
            table_type: row.table_type.clone(),
            order_index: row.order_index,
            cal_field: row.cal_field.clone(),
            refant: row.refant.clone(),
            valid_start_mjd: row.valid_start_mjd,
            valid_end_mjd: row.valid_end_mjd,
            status: row.status.clone(),
            notes: row.notes.clone(),
            source_ms_path: p
                .source_ms_path
                .as_deref()
                .map(|ms| normalize_to_string(Path::new(ms))),
            solver_command: p.solver_command.clone(),
            solver_version: p.solver_version.clone(),
            solver_params: p
                .solver_params
                .as_ref()
                .map(|v| object_text(&row.path, "solver_params", v))
                .transpose()?,
            quality_metrics: p
                .quality_metrics
                .as_ref()
                .map(|v| object_text(&row.path, "quality_metrics", v))
                .transpose()?,
        })
    }
}

/// A row as stored, JSON columns still text.
struct RawRecord {
    record: CaltableRecord,
    solver_params: Option<String>,
    quality_metrics: Option<String>,
}

impl RawRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            record: CaltableRecord {
                id: row.get(0)?,
                set_name: row.get(1)?,
                path: row.get(2)?,
                table_type: row.get(3)?,
                order_index: row.get(4)?,
                cal_field: row.get(5)?,
                refant: row.get(6)?,
                created_at: row.get(7)?,
                valid_start_mjd: row.get(8)?,
                valid_end_mjd: row.get(9)?,
                status: row.get(10)?,
                notes: row.get(11)?,
                source_ms_path: row.get(12)?,
                solver_command: row.get(13)?,
                solver_version: row.get(14)?,
                solver_params: None,
                quality_metrics: None,
            },
            solver_params: row.get(15)?,
            quality_metrics: row.get(16)?,
        })
    }

    fn parse(self) -> Result<CaltableRecord, Error> {
        let mut record = self.record;
        let parse = |column: &'static str, text: Option<String>| -> Result<Option<Value>, Error> {
            text.map(|t| {
                parse_python_json(&t).map_err(|source| Error::InvalidJson {
                    caltable: record.path.clone(),
                    column,
                    source,
                })
            })
            .transpose()
        };
        let params = parse("solver_params", self.solver_params)?;
        let metrics = parse("quality_metrics", self.quality_metrics)?;
        record.solver_params = params;
        record.quality_metrics = metrics;
        Ok(record)
    }
}
