//! `calprov register`, `register-prefix` and `retire`: the commands that change which
//! caltables a set holds.

use calprov_core::{NewCaltable, Provenance, RegisterMode, Registry};
use serde_json::{Value, json};

use crate::args::{ProvenanceFlags, RegisterArgs, RegisterPrefixArgs, RetireArgs, RowFlags};
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::json_arg::json_object;
use crate::output;

fn mode(row: &RowFlags) -> RegisterMode {
    if row.ignore_existing {
        RegisterMode::Ignore
    } else {
        RegisterMode::Upsert
    }
}

fn template(row: &RowFlags) -> NewCaltable {
    NewCaltable {
        cal_field: row.cal_field.clone(),
        refant: row.refant.clone(),
        valid_start_mjd: row.valid_start,
        valid_end_mjd: row.valid_end,
        status: row.status.clone(),
        notes: row.notes.clone(),
        ..NewCaltable::default()
    }
}

/// The provenance fields given as flags, JSON ones parsed.
pub(crate) fn provenance(flags: &ProvenanceFlags) -> Result<Provenance, CliError> {
    Ok(Provenance {
        source_ms_path: flags.source_ms.clone(),
        solver_command: flags.solver_command.clone(),
        solver_version: flags.solver_version.clone(),
        solver_params: json_object("params", flags.params.as_deref())?,
        quality_metrics: json_object("metrics", flags.metrics.as_deref())?,
    })
}

pub fn register(registry: &mut Registry, args: RegisterArgs) -> Result<Exit, CliError> {
    let row = NewCaltable {
        path: args.path.clone(),
        table_type: args.table_type.clone(),
        order_index: args.order,
        provenance: provenance(&args.provenance)?,
        ..template(&args.row)
    };
    let summary = registry
        .register_set(&args.row.set, &[row], mode(&args.row))
        .map_err(|e| registry_or_data(e, "cannot register"))?;
    if args.json.json {
        output::print_json("register", &summary)?;
    } else {
        output::print_text(&format!(
            "{}: inserted {}, updated {}, left unchanged {}",
            args.path, summary.inserted, summary.updated, summary.ignored
        ))?;
    }
    Ok(Exit::Ok)
}

pub fn register_prefix(
    registry: &mut Registry,
    args: RegisterPrefixArgs,
) -> Result<Exit, CliError> {
    let (rows, summary) = registry
        .register_from_prefix(
            &args.row.set,
            &args.prefix,
            &template(&args.row),
            mode(&args.row),
        )
        .map_err(|e| registry_or_data(e, "cannot register from prefix"))?;
    if args.json.json {
        let tables: Vec<Value> = rows
            .iter()
            .map(|r| json!({"path": r.path, "table_type": r.table_type, "order_index": r.order_index}))
            .collect();
        output::print_json(
            "register-prefix",
            &json!({"caltables": tables, "inserted": summary.inserted, "updated": summary.updated, "ignored": summary.ignored}),
        )?;
    } else {
        let mut text = String::new();
        for r in &rows {
            text.push_str(&format!(
                "{:>4}  {:<5} {}\n",
                r.order_index, r.table_type, r.path
            ));
        }
        text.push_str(&format!(
            "inserted {}, updated {}, left unchanged {}",
            summary.inserted, summary.updated, summary.ignored
        ));
        output::print_text(&text)?;
    }
    Ok(Exit::Ok)
}

pub fn retire(registry: &mut Registry, args: RetireArgs) -> Result<Exit, CliError> {
    let changed = registry
        .retire_set(&args.set, &args.reason)
        .map_err(|e| registry_or_data(e, "cannot retire"))?;
    if args.json.json {
        output::print_json("retire", &json!({"set": args.set, "retired": changed}))?;
    } else {
        output::print_text(&format!("set {}: {changed} caltables retired", args.set))?;
    }
    if changed == 0
        && !registry
            .list_sets()
            .map(|s| s.iter().any(|x| x.set_name == args.set))
            .unwrap_or(false)
    {
        return Err(anyhow::anyhow!("no calibration set named {}", args.set)).exit(Exit::Data);
    }
    Ok(Exit::Ok)
}
