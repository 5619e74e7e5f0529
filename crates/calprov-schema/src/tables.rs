//! Every table of a migrated registry, its columns, their types and its key: what a copy
//! between backends moves, in an order that satisfies the foreign keys. A test checks this
//! list against the tables both backends' migrations create, so it cannot drift from them.

/// A column's type, as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// SQLite `INTEGER`, PostgreSQL `BIGINT`.
    Integer,
    /// SQLite `REAL`, PostgreSQL `DOUBLE PRECISION`.
    Real,
    /// `TEXT` on both.
    Text,
    /// SQLite `BLOB`, PostgreSQL `BYTEA`.
    Blob,
}

/// One table of the registry.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The table's name.
    pub name: &'static str,
    /// Its columns, in declaration order.
    pub columns: &'static [(&'static str, ColumnType)],
    /// The columns of its primary key, the order rows are read in.
    pub key: &'static [&'static str],
    /// Whether `id` takes its values from an identity (PostgreSQL) / rowid (SQLite) that a
    /// copy must move past the ids it inserts.
    pub identity: bool,
}

use ColumnType::{Blob, Integer, Real, Text};

/// The registry's tables in foreign-key order (referenced before referencing).
pub const REGISTRY_TABLES: [TableSpec; 7] = [
    TableSpec {
        name: "caltables",
        columns: &[
            ("id", Integer),
            ("set_name", Text),
            ("path", Text),
            ("table_type", Text),
            ("order_index", Integer),
            ("cal_field", Text),
            ("refant", Text),
            ("created_at", Real),
            ("valid_start_mjd", Real),
            ("valid_end_mjd", Real),
            ("status", Text),
            ("notes", Text),
            ("source_ms_path", Text),
            ("solver_command", Text),
            ("solver_version", Text),
            ("solver_params", Text),
            ("quality_metrics", Text),
        ],
        key: &["id"],
        identity: true,
    },
    TableSpec {
        name: "calprov_tracking_events",
        columns: &[
            ("id", Integer),
            ("recorded_at", Real),
            ("caltable_path", Text),
            ("outcome", Text),
            ("failure_kind", Text),
            ("message", Text),
            ("latency_us", Integer),
            ("version_step", Text),
            ("solver_version", Text),
            ("qa_passed", Integer),
        ],
        key: &["id"],
        identity: true,
    },
    TableSpec {
        name: "calprov_solves",
        columns: &[
            ("id", Integer),
            ("caltable_path", Text),
            ("solved_at", Real),
            ("origin", Text),
            ("outcome", Text),
            ("task", Text),
            ("params", Text),
            ("command", Text),
            ("casa_version", Text),
            ("version_step", Text),
            ("metrics", Text),
            ("source_ms_path", Text),
            ("selection", Text),
            ("cwd", Text),
            ("host", Text),
        ],
        key: &["id"],
        identity: true,
    },
    TableSpec {
        name: "calprov_solve_inputs",
        columns: &[
            ("solve_id", Integer),
            ("caltable_path", Text),
            ("role", Text),
            ("idx", Integer),
            ("path", Text),
            ("gainfield", Text),
            ("interp", Text),
            ("spwmap", Text),
            ("input_solve_id", Integer),
            ("problem", Text),
        ],
        key: &["solve_id", "role", "idx"],
        identity: false,
    },
    TableSpec {
        name: "calprov_applications",
        columns: &[
            ("id", Integer),
            ("applied_at", Real),
            ("ms_path", Text),
            ("params", Text),
            ("selection", Text),
            ("command", Text),
            ("cwd", Text),
            ("host", Text),
        ],
        key: &["id"],
        identity: true,
    },
    TableSpec {
        name: "calprov_application_tables",
        columns: &[
            ("application_id", Integer),
            ("ms_path", Text),
            ("idx", Integer),
            ("caltable_path", Text),
            ("solve_id", Integer),
            ("gainfield", Text),
            ("interp", Text),
            ("spwmap", Text),
            ("problem", Text),
        ],
        key: &["application_id", "idx"],
        identity: false,
    },
    TableSpec {
        name: "calprov_solve_groups",
        columns: &[
            ("solve_id", Integer),
            ("n_groups", Integer),
            ("groups", Blob),
        ],
        key: &["solve_id"],
        identity: false,
    },
];

impl TableSpec {
    /// The column names joined by `, `.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The positions of the key columns among the columns.
    pub fn key_positions(&self) -> Vec<usize> {
        self.key
            .iter()
            .filter_map(|k| self.columns.iter().position(|(name, _)| name == k))
            .collect()
    }
}
