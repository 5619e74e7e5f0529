//! `calprov init`: create or adopt the registry and migrate it.

use serde_json::json;

use crate::context::Context;
use crate::exit::{CliError, Exit};
use crate::output;

pub fn run(ctx: &Context, json: bool) -> Result<Exit, CliError> {
    let registry = ctx.open()?;
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
        });
        output::print_json("init", &data)?;
    } else {
        output::print_text(&format!(
            "registry {} ready (was {}, schema version {}, {elapsed_ms:.1} ms)",
            registry.path().display(),
            report.shape_before.name(),
            report.schema_version,
        ))?;
    }
    Ok(Exit::Ok)
}
