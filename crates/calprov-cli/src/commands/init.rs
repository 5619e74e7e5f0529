//! `calprov init`: create or adopt the registry and migrate it.

use calprov_core::db_path::RegistryAddress;
use serde_json::json;

use crate::context::Context;
use crate::exit::{CliError, Exit, registry_or_data};
use crate::output;

pub fn run(ctx: &Context, json: bool) -> Result<Exit, CliError> {
    let mut registry = ctx.open()?;
    // The provenance a file already holds (the Python pipeline's) becomes each caltable's
    // first solve. A server's registry holds none that is not history already: it is
    // created by calprov or filled by `calprov copy`, which brings the solves along.
    let imported = match ctx.location.address {
        RegistryAddress::File(_) => registry
            .import_history()
            .map_err(|e| registry_or_data(e, "cannot import the existing provenance as history"))?,
        RegistryAddress::Postgres(_) => 0,
    };
    let report = registry.migration();
    let elapsed_ms = report.elapsed.as_secs_f64() * 1e3;
    if json {
        let data = json!({
            "path": registry.path(),
            "backend": ctx.location.address.backend(),
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
