//! `calprov copy --from A --to B`: a whole registry into an empty one, across backends.

use calprov_core::copy::{CopyOptions, copy_registry};
use calprov_core::db_path::RegistryAddress;

use crate::args::CopyArgs;
use crate::context::Context;
use crate::exit::{CliError, Exit, WithExit};
use crate::output;

pub fn run(ctx: &Context, args: CopyArgs) -> Result<Exit, CliError> {
    let parse = |text| {
        RegistryAddress::parse(text)
            .map_err(anyhow::Error::from)
            .exit(Exit::Usage)
    };
    let from = parse(&args.from)?;
    let to = parse(&args.to)?;
    if let RegistryAddress::File(path) = &from
        && !path.is_file()
    {
        return Err(anyhow::anyhow!(
            "--from {}: no such registry file",
            path.display()
        ))
        .exit(Exit::Usage);
    }
    let options = CopyOptions {
        timeout: ctx.busy_timeout,
        postgres: ctx.pg_environment(),
        verify: true,
    };
    let summary = copy_registry(&from, &to, &options)
        .map_err(anyhow::Error::from)
        .exit(Exit::Registry)?;
    if args.json {
        output::print_json("copy", &summary)?;
    } else {
        let mut text = format!(
            "copied {} rows from {from} to {to} in {:.2} s, every row read back identical:",
            summary.total_rows(),
            summary.seconds
        );
        for table in &summary.tables {
            text.push_str(&format!("\n  {:<28} {:>9}", table.table, table.rows));
        }
        output::print_text(&text)?;
    }
    Ok(Exit::Ok)
}
