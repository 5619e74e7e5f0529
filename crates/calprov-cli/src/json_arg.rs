//! JSON given on the command line (`--params`, `--metrics`).

use anyhow::Context as _;
use calprov_core::json::parse_python_json;
use serde_json::Value;

use crate::exit::{CliError, Exit, WithExit};

/// Parses a `--<flag>` value that must be a JSON object; Python's NaN tokens are accepted.
pub fn json_object(flag: &str, text: Option<&str>) -> Result<Option<Value>, CliError> {
    let Some(text) = text else { return Ok(None) };
    let value = parse_python_json(text)
        .with_context(|| format!("--{flag} is not valid JSON"))
        .exit(Exit::Data)?;
    if !value.is_object() {
        return Err(anyhow::anyhow!("--{flag} must be a JSON object")).exit(Exit::Data);
    }
    Ok(Some(value))
}
