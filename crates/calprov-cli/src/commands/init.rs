//! `calprov init`: create or adopt the registry and migrate it.

use calprov_core::db_path::RegistryAddress;
use calprov_core::postgres::PgTarget;
use serde_json::json;

use crate::context::Context;
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::output;

pub fn run(ctx: &Context, json: bool) -> Result<Exit, CliError> {
    if let RegistryAddress::Postgres(target) = &ctx.location.address {
        return init_postgres(ctx, target, json);
    }
    let mut registry = ctx.open()?;
    // The provenance the registry already holds becomes each caltable's first solve.
    let imported = registry
        .import_history()
        .map_err(|e| registry_or_data(e, "cannot import the existing provenance as history"))?;
    let report = registry.migration();
    let elapsed_ms = report.elapsed.as_secs_f64() * 1e3;
    if json {
        let data = json!({
            "path": registry.path(),
            "decided_by": ctx.location.rule,
            "shape_before": report.shape_before.name(),
            "columns_added": report.columns_added,
            "migrations_applied": report.migrations_applied,
            "schema_version": report.schema_version,
            "elapsed_ms": elapsed_ms,
            "solves_imported": imported,
        });
        output::print_json("init", &data)?;
    } else {
        output::print_text(&format!(
            "registry {} ready (was {}, schema version {}, {elapsed_ms:.1} ms, {imported} solves imported)",
            registry.path().display(),
            report.shape_before.name(),
            report.schema_version,
        ))?;
    }
    Ok(Exit::Ok)
}

/// A PostgreSQL registry: connect and migrate (there is no Python-made provenance to import
/// on a server).
fn init_postgres(ctx: &Context, target: &PgTarget, json: bool) -> Result<Exit, CliError> {
    let report =
        calprov_core::postgres::init_postgres(target, &ctx.pg_environment(), ctx.busy_timeout)
            .map_err(anyhow::Error::from)
            .exit(Exit::Registry)?;
    let elapsed_ms = report.elapsed.as_secs_f64() * 1e3;
    if json {
        let data = json!({
            "path": target.shown(),
            "backend": "postgres",
            "decided_by": ctx.location.rule,
            "shape_before": report.shape_before.name(),
            "columns_added": report.columns_added,
            "migrations_applied": report.migrations_applied,
            "schema_version": report.schema_version,
            "elapsed_ms": elapsed_ms,
            "solves_imported": 0,
        });
        output::print_json("init", &data)?;
    } else {
        output::print_text(&format!(
            "registry {target} ready (was {}, schema version {}, {elapsed_ms:.1} ms)",
            report.shape_before.name(),
            report.schema_version,
        ))?;
    }
    Ok(Exit::Ok)
}
