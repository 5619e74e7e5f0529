//! `calprov export`: the provenance graph as PROV-JSON, PROV-N or Graphviz DOT, on stdout or
//! into a file. A file is written beside its final name and renamed at the end, so a reader
//! never sees half a document and a failed export leaves the old file as it was.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use calprov_core::Registry;
use calprov_core::export::{ExportRequest, ExportScope, ExportSummary, export};
use calprov_core::output_file::PendingOutput;

use crate::args::{ExportArgs, ExportFormatArg};
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::output;

/// Output is written in blocks this large (a 1M-caltable export is gigabytes).
const BUFFER: usize = 1 << 20;

pub fn export_command(registry: &Registry, args: ExportArgs) -> Result<Exit, CliError> {
    let scope = if args.all {
        ExportScope::All
    } else if let Some(set) = args.set {
        ExportScope::Set(set)
    } else {
        ExportScope::Caltables(args.caltables)
    };
    let request = ExportRequest {
        scope,
        upstream: args.upstream,
        downstream: args.downstream,
        format: args.format.into(),
    };
    match args.out {
        None => {
            let stdout = std::io::stdout();
            match export(
                registry,
                &request,
                BufWriter::with_capacity(BUFFER, stdout),
                "stdout",
            ) {
                Ok(_) => Ok(Exit::Ok),
                Err(e) => {
                    let error = registry_or_data(e, "export");
                    if output::is_broken_pipe(&error.error) {
                        Ok(Exit::Ok)
                    } else {
                        Err(error)
                    }
                }
            }
        }
        Some(path) => {
            let summary = export_to_file(registry, &request, &path)?;
            let kinds: Vec<String> = summary
                .records
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            // A report for the operator, not data: stderr, as verify's progress.
            let _ = writeln!(
                std::io::stderr().lock(),
                "exported {} records to {} ({})",
                summary.total(),
                path.display(),
                kinds.join(", ")
            );
            Ok(Exit::Ok)
        }
    }
}

fn export_to_file(
    registry: &Registry,
    request: &ExportRequest,
    path: &Path,
) -> Result<ExportSummary, CliError> {
    // A regular file is replaced only once the export is whole; a device is written in place.
    let output = PendingOutput::create(path)
        .with_context(|| format!("cannot write {}", path.display()))
        .exit(Exit::Data)?;
    let summary = export(
        registry,
        request,
        BufWriter::with_capacity(BUFFER, output.file()),
        &path.display().to_string(),
    )
    .map_err(|e| registry_or_data(e, "export"))?;
    output
        .commit()
        .with_context(|| format!("cannot put the export in place at {}", path.display()))
        .exit(Exit::Data)?;
    Ok(summary)
}

impl From<ExportFormatArg> for calprov_core::export::ExportFormat {
    fn from(format: ExportFormatArg) -> Self {
        match format {
            ExportFormatArg::ProvJson => Self::ProvJson,
            ExportFormatArg::ProvN => Self::ProvN,
            ExportFormatArg::Dot => Self::Dot,
        }
    }
}
