//! The commands that read the registry.

use calprov_core::caltable::QualityMetrics;
use calprov_core::{CaltableRecord, Registry};
use serde_json::Value;

use super::caltable::describe_metrics;
use crate::args::{BySourceArgs, ShowArgs};
use crate::exit::{CliError, Exit, registry_or_data};
use crate::output;

pub fn show(registry: &Registry, args: ShowArgs) -> Result<Exit, CliError> {
    let record = registry
        .get_caltable_provenance(&args.caltable)
        .map_err(|e| registry_or_data(e, "cannot read caltable"))?;
    if args.json.json {
        output::print_json("show", &record)?;
    } else if let Some(record) = &record {
        output::print_text(&describe(record))?;
    }
    match record {
        Some(_) => Ok(Exit::Ok),
        None => {
            tracing::warn!(caltable = args.caltable, "caltable is not registered");
            if !args.json.json {
                eprintln!("caltable {} is not registered", args.caltable);
            }
            Ok(Exit::Data)
        }
    }
}

pub fn by_source(registry: &Registry, args: BySourceArgs) -> Result<Exit, CliError> {
    let rows = registry
        .query_caltables_by_source(&args.ms)
        .map_err(|e| registry_or_data(e, "cannot query by source"))?;
    let mut records = Vec::new();
    let mut bad = 0;
    for row in rows {
        match row {
            Ok(record) => records.push(record),
            Err(err) => {
                bad += 1;
                eprintln!(
                    "warning: {err}: {}",
                    std::error::Error::source(&err)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                );
            }
        }
    }
    if args.json.json {
        output::print_json("by-source", &records)?;
    } else {
        let mut text = String::new();
        for r in &records {
            text.push_str(&format!(
                "{:>4}  {:<5} {:<8} {}  {}\n",
                r.order_index,
                r.table_type,
                r.status,
                r.path,
                r.solver_version.as_deref().unwrap_or("-")
            ));
        }
        if records.is_empty() {
            text.push_str(&format!("no caltable was solved from {}", args.ms));
        }
        output::print_text(&text)?;
    }
    Ok(if bad > 0 { Exit::Data } else { Exit::Ok })
}

pub fn sets(registry: &Registry, json: bool) -> Result<Exit, CliError> {
    let sets = registry
        .list_sets()
        .map_err(|e| registry_or_data(e, "cannot list sets"))?;
    if json {
        output::print_json("sets", &sets)?;
    } else {
        let mut text = format!(
            "{:<24} {:>6} {:>6} {:>10}\n",
            "set", "tables", "active", "provenance"
        );
        for s in &sets {
            text.push_str(&format!(
                "{:<24} {:>6} {:>6} {:>10}\n",
                s.set_name, s.n_caltables, s.n_active, s.n_with_provenance
            ));
        }
        output::print_text(&text)?;
    }
    Ok(Exit::Ok)
}

/// A readable multi-line description of one record: parameters one per line, quality as
/// `calprov metrics` prints it.
pub(crate) fn describe(r: &CaltableRecord) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut text = format!(
        "caltable        {}\nset             {} (order {}, type {}, {})\nsource MS       {}\nCASA version    {}\ncommand         {}\n",
        r.path,
        r.set_name,
        r.order_index,
        r.table_type,
        r.status,
        opt(&r.source_ms_path),
        opt(&r.solver_version),
        opt(&r.solver_command),
    );
    text.push_str(&describe_parameters(r.solver_params.as_ref()));
    text.push_str(&describe_quality(r.quality_metrics.as_ref()));
    text
}

/// `parameters` then one `  key  value` line per parameter, keys aligned.
fn describe_parameters(params: Option<&Value>) -> String {
    let Some(Value::Object(map)) = params else {
        return "parameters      -\n".to_owned();
    };
    if map.is_empty() {
        return "parameters      (none)\n".to_owned();
    }
    let width = map.keys().map(String::len).max().unwrap_or(0);
    let mut text = "parameters\n".to_owned();
    for (key, value) in map {
        text.push_str(&format!("  {key:<width$}  {value}\n"));
    }
    text
}

/// `quality` then the metrics as `calprov metrics` prints them; metrics of another shape
/// (written by another tool) one key per line.
fn describe_quality(metrics: Option<&Value>) -> String {
    let Some(value) = metrics else {
        return "quality         -".to_owned();
    };
    match serde_json::from_value::<QualityMetrics>(value.clone()) {
        Ok(m) => {
            let body: Vec<String> = describe_metrics(&m)
                .lines()
                .map(|line| format!("  {line}"))
                .collect();
            format!("quality\n{}", body.join("\n"))
        }
        Err(_) => match value {
            Value::Object(map) => {
                let lines: Vec<String> = map.iter().map(|(k, v)| format!("  {k}  {v}")).collect();
                format!("quality\n{}", lines.join("\n"))
            }
            other => format!("quality         {other}"),
        },
    }
}
