//! `calprov casa-version` and `command`: version detection and command rendering on their
//! own.

use std::time::Duration;

use anyhow::Context as _;
use calprov_core::casa_command::{render_solve_command, truncate_command};
use calprov_core::casa_version::detect_casa_version;
use serde_json::json;

use crate::args::{CasaVersionArgs, CommandArgs};
use crate::context::Context;
use crate::exit::{CliError, Exit, WithExit};
use crate::json_arg::json_object;
use crate::output;

pub fn casa_version(ctx: &Context, args: CasaVersionArgs) -> Result<Exit, CliError> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .context("--timeout must be a non-negative number of seconds")
        .exit(Exit::Usage)?;
    let (result, keyword_error) = detect_casa_version(
        args.solver_version.clone(),
        args.caltable.as_deref(),
        &ctx.environment,
        timeout,
    );
    if let Some(err) = &keyword_error {
        tracing::warn!(
            "cannot read the caltable's CASA_Version: {}",
            calprov_core::chain(err)
        );
    }
    let (version, step) = match &result.found {
        Some((v, s)) => (Some(v.to_string()), Some(s.name())),
        None => (None, None),
    };
    if args.json.json {
        output::print_json(
            "casa-version",
            &json!({"version": version, "step": step, "rejected": result.rejected}),
        )?;
    } else if let (Some(v), Some(s)) = (&version, step) {
        output::print_text(&format!("{v} (from {s})"))?;
    }
    if version.is_none() {
        if !args.json.json {
            eprintln!(
                "no CASA version found (tried: explicit, caltable keyword, CASA_VERSION, modular CASA, monolithic CASA)"
            );
        }
        return Ok(Exit::Data);
    }
    Ok(Exit::Ok)
}

pub fn command(args: CommandArgs) -> Result<Exit, CliError> {
    let params = json_object("params", Some(&args.params))?.unwrap_or_default();
    let object = params.as_object().cloned().unwrap_or_default();
    let rendered = render_solve_command(&args.task, &object)
        .context("cannot render the command")
        .exit(Exit::Data)?;
    let cut = truncate_command(&rendered, args.limit);
    if args.json.json {
        output::print_json(
            "command",
            &json!({"command": cut, "truncated": cut.len() != rendered.len(), "full_bytes": rendered.len()}),
        )?;
    } else {
        output::print_text(&cut)?;
    }
    Ok(Exit::Ok)
}
