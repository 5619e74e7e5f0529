//! The calibration registry's schema: embedded refinery migrations, the adoption of registries
//! the Python pipeline created, cross-process serialised migration and the one function that
//! opens a registry connection with the pragmas calprov relies on.

mod connection;
pub mod disk_space;
mod error;
mod lock;
mod migrate;
pub mod postgres;
mod shape;
pub mod tables;

pub use connection::{OpenOptions, begin_immediate, open_registry};
pub use error::{Error, chain};
pub use migrate::{MigrationReport, latest_version, migrate};
pub use shape::{LEGACY_COLUMNS, PROVENANCE_COLUMNS, RegistryShape, detect_shape};
pub use tables::{ColumnType, REGISTRY_TABLES, TableSpec};

/// The name of the registry table shared with the Python pipeline.
pub const CALTABLES: &str = "caltables";

/// The table calprov records one event in for every tracking call.
pub const TRACKING_EVENTS: &str = "calprov_tracking_events";

/// The 17 columns of `caltables`, in the order DESIGN.md section 2 fixes.
pub const ALL_COLUMNS: [&str; 17] = [
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
    "source_ms_path",
    "solver_command",
    "solver_version",
    "solver_params",
    "quality_metrics",
];

#[cfg(test)]
mod tests;
