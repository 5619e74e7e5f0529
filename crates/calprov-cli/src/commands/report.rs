//! `calprov report`: the operators' page (`--html FILE`) or its figures (`--json`).

use anyhow::Context as _;
use calprov_core::Registry;
use calprov_core::output_file::write_atomically;
use calprov_core::report::{PLOTS, ReportOptions, render_html, report_data};

use crate::args::ReportArgs;
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::output;
use crate::time_arg::parse_time;

pub fn report(registry: &Registry, args: ReportArgs) -> Result<Exit, CliError> {
    let options = ReportOptions {
        set: args.set,
        since: parse_time("since", args.since.as_deref())?,
        verify: !args.no_verify,
        jobs: args.jobs,
    };
    let data = report_data(registry, &options).map_err(|e| registry_or_data(e, "report"))?;
    if let Some(path) = &args.html {
        let page = render_html(&data)
            .map_err(|e| anyhow::anyhow!("cannot draw the report's plots: {}", e.0))
            .exit(Exit::Data)?;
        write_atomically(path, &page)
            .with_context(|| format!("cannot write the report to {}", path.display()))
            .exit(Exit::Data)?;
        if !args.json.json {
            output::print_text(&format!(
                "report written to {} ({} caltables, {} plots)",
                path.display(),
                data.totals.caltables,
                PLOTS
            ))?;
        }
    }
    if args.json.json {
        output::print_json("report", &data)?;
    }
    Ok(Exit::Ok)
}
