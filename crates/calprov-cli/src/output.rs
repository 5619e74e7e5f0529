//! Writing data to stdout: human text or one `--json` document.

use std::io::Write;

use serde::Serialize;

/// The `--json` document: a stable envelope around each command's data.
#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    schema_version: i64,
    data: T,
}

/// Prints one JSON document `{"type", "schema_version", "data"}` on stdout.
pub fn print_json<T: Serialize>(kind: &str, data: &T) -> anyhow::Result<()> {
    let doc = Document {
        kind,
        schema_version: calprov_core::schema_version(),
        data,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Prints text on stdout.
pub fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// True when the error is a closed stdout pipe (`calprov ... | head`), which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}
