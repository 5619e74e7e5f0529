//! `calprov export`: the provenance graph as PROV-JSON, PROV-N or Graphviz DOT, on stdout or
//! into a file. A file is written beside its final name and renamed at the end, so a reader
//! never sees half a document and a failed export leaves the old file as it was.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use calprov_core::Registry;
use calprov_core::export::{ExportRequest, ExportScope, ExportSummary, export};

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
    let partial = partial_name(path);
    let file = File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))
        .exit(Exit::Data)?;
    let result = export(
        registry,
        request,
        BufWriter::with_capacity(BUFFER, file),
        &path.display().to_string(),
    );
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(registry_or_data(e, "export"));
        }
    };
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))
        .exit(Exit::Data)?;
    Ok(summary)
}

/// `<name>.partial-<pid>` in the same directory, so the rename stays on one filesystem.
fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
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
