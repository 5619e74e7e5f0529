//! Running each subcommand against the library: one file per group of commands, each taking
//! the process [`Context`] it needs.

mod backfill;
mod caltable;
mod casa;
mod copy;
mod demo;
mod export;
mod init;
mod lineage;
mod monitor;
mod query;
mod register;
mod report;
mod track;
mod verify;

use calprov_core::env::Environment;

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::exit::{CliError, Exit};
use crate::output;

/// Runs the parsed command with the environment read at start, and returns the exit status.
pub fn run(cli: Cli, environment: Environment) -> Result<Exit, CliError> {
    let ctx = Context::new(&cli, environment)?;
    match cli.command {
        Command::Where(flag) => where_(&ctx, flag.json),
        Command::Init(flag) => init::run(&ctx, flag.json),
        Command::Copy(args) => copy::run(&ctx, args),
        Command::Register(args) => register::register(&mut ctx.open()?, args),
        Command::RegisterPrefix(args) => register::register_prefix(&mut ctx.open()?, args),
        Command::Retire(args) => register::retire(&mut ctx.open()?, args),
        Command::Track(args) => track::track(&ctx, args),
        Command::TrackMany(args) => track::track_many(&ctx, args),
        Command::Show(args) => query::show(&ctx.open()?, args),
        Command::BySource(args) => query::by_source(&ctx.open()?, args),
        Command::Impact(args) => lineage::impact(&ctx.open()?, args),
        Command::History(args) => lineage::history(&ctx.open()?, args),
        Command::Applied(args) => lineage::applied(&ctx, args),
        Command::Lineage(args) => lineage::lineage(&ctx.open()?, args),
        Command::Recall(args) => lineage::recall(&ctx.open()?, args),
        Command::Plan(args) => lineage::plan(&ctx.open()?, args),
        Command::Sets(flag) => query::sets(&ctx.open()?, flag.json),
        Command::Verify(args) => verify::verify(&ctx.open()?, args),
        Command::Backfill(args) => backfill::backfill(&mut ctx.open()?, args),
        Command::Report(args) => report::report(&ctx.open()?, args),
        Command::Export(args) => export::export_command(&ctx.open()?, args),
        Command::Metrics(args) => caltable::metrics(args),
        Command::GenCaltable(args) => caltable::gen_caltable(args),
        Command::CasaVersion(args) => casa::casa_version(&ctx, args),
        Command::Command(args) => casa::command(args),
        Command::Stats(args) => monitor::stats(&ctx.open()?, args),
        Command::Check(args) => monitor::check(&ctx.open()?, args),
        Command::ExportProm(args) => monitor::export_prom(&ctx.open()?, args),
        Command::Demo(args) => demo::run(&ctx, cli.db.is_some(), args),
    }
}

fn where_(ctx: &Context, json: bool) -> Result<Exit, CliError> {
    if json {
        output::print_json("where", &ctx.location)?;
    } else {
        output::print_text(&format!(
            "{}\n(backend: {}; decided by: {})",
            ctx.location.address,
            ctx.location.address.backend(),
            ctx.location.rule
        ))?;
    }
    Ok(Exit::Ok)
}
