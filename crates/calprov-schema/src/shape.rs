//! Recognising which of the registry shapes found in the field a database has.

use rusqlite::Connection;

/// The twelve columns every registry has had since the first Python pipeline.
pub const LEGACY_COLUMNS: [&str; 12] = [
    "id",
    "set_name",
    "path",
    "table_type",
    "order_index",
    "cal_field",
    "refant",
    "created_at",
    "valid_start_mjd",
    "valid_end_mjd",
    "status",
    "notes",
];

/// The five provenance columns, in the order the Python code added them one ALTER at a time.
pub const PROVENANCE_COLUMNS: [(&str, &str); 5] = [
    ("source_ms_path", "TEXT"),
    ("solver_command", "TEXT"),
    ("solver_version", "TEXT"),
    ("solver_params", "TEXT"),
    ("quality_metrics", "TEXT"),
];

/// The shape of a registry before calprov touches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryShape {
    /// No `caltables` table: a new or empty file.
    Empty,
    /// The first twelve columns only (no provenance), created by older pipelines.
    Legacy,
    /// Some, not all, of the five provenance columns: the Python migration stopped midway.
    PartiallyMigrated {
        /// The provenance columns already present.
        present: Vec<String>,
    },
    /// All 17 columns, created by the current Python pipeline, with no refinery history.
    CurrentPython,
    /// calprov has migrated it before: refinery's history table exists.
    Calprov {
        /// The highest migration version recorded.
        version: i64,
    },
}

impl RegistryShape {
    /// A short stable name, used in logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            RegistryShape::Empty => "empty",
            RegistryShape::Legacy => "legacy",
            RegistryShape::PartiallyMigrated { .. } => "partial",
            RegistryShape::CurrentPython => "current-python",
            RegistryShape::Calprov { .. } => "calprov",
        }
    }
}

/// The columns of `caltables`, in table order; empty when the table does not exist.
pub(crate) fn caltables_columns(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('caltables') ORDER BY cid")?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

/// The highest applied refinery migration, or `None` without a history table.
pub(crate) fn refinery_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history')",
        [],
        |row| row.get(0),
    )?;
    if !has_history {
        return Ok(None);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history",
        [],
        |row| row.get(0),
    )
    .map(Some)
}

/// Detects the registry's shape; an incompatible `caltables` reports its missing columns.
pub fn detect_shape(conn: &Connection) -> rusqlite::Result<Result<RegistryShape, Vec<String>>> {
    let columns = caltables_columns(conn)?;
    if let Some(version) = refinery_version(conn)?
        && version > 0
    {
        return Ok(Ok(RegistryShape::Calprov { version }));
    }
    if columns.is_empty() {
        return Ok(Ok(RegistryShape::Empty));
    }
    let missing: Vec<String> = LEGACY_COLUMNS
        .iter()
        .filter(|required| !columns.iter().any(|c| c.eq_ignore_ascii_case(required)))
        .map(|c| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        return Ok(Err(missing));
    }
    let present: Vec<String> = PROVENANCE_COLUMNS
        .iter()
        .filter(|(name, _)| columns.iter().any(|c| c.eq_ignore_ascii_case(name)))
        .map(|(name, _)| (*name).to_owned())
        .collect();
    Ok(Ok(match present.len() {
        0 => RegistryShape::Legacy,
        n if n == PROVENANCE_COLUMNS.len() => RegistryShape::CurrentPython,
        _ => RegistryShape::PartiallyMigrated { present },
    }))
}
