//! Rows to register, from Python: a mapping per row (the `CalTableRow` dataclass arrives as
//! its dict) with the registry's column names as keys.

use calprov_core::{NewCaltable, Provenance, registrable_columns};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::convert::to_json;

/// One row to register; `index` names it in errors. A dataclass (`CalTableRow`) is taken as
/// its fields.
pub fn new_caltable(row: &Bound<'_, PyAny>, index: usize) -> PyResult<NewCaltable> {
    let fields;
    let row = if row.hasattr("__dataclass_fields__")? {
        fields = row
            .py()
            .import("dataclasses")?
            .call_method1("asdict", (row,))?;
        &fields
    } else {
        row
    };
    let dict = row.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "rows[{index}]: a row must be a dict or a CalTableRow, found {}",
            row.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    for key in dict.keys() {
        let key: String = key.extract()?;
        if !registrable_columns().any(|c| c == key) {
            return Err(PyValueError::new_err(format!(
                "rows[{index}]: unknown field {key:?} (the fields are {})",
                registrable_columns().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let field = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(dict.get_item(name)?.filter(|v| !v.is_none()))
    };
    let required = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        field(name)?
            .ok_or_else(|| PyValueError::new_err(format!("rows[{index}]: {name} is required")))
    };
    let text = |name: &str| -> PyResult<Option<String>> {
        field(name)?
            .map(|v| v.extract::<String>())
            .transpose()
            .map_err(|_| PyTypeError::new_err(format!("rows[{index}]: {name} must be a str")))
    };
    let number = |name: &str| -> PyResult<Option<f64>> {
        field(name)?
            .map(|v| v.extract::<f64>())
            .transpose()
            .map_err(|_| PyTypeError::new_err(format!("rows[{index}]: {name} must be a number")))
    };
    let json = |name: &str| -> PyResult<Option<Value>> {
        field(name)?
            .map(|v| {
                to_json(&v).map_err(|e| {
                    crate::errors::InvalidParamsError::new_err(
                        e.describe(&format!("rows[{index}].{name}")),
                    )
                })
            })
            .transpose()
    };
    let path = required("path")?
        .extract::<String>()
        .or_else(|_| {
            required("path")?
                .call_method0("__fspath__")?
                .extract::<String>()
        })
        .map_err(|_| {
            PyTypeError::new_err(format!("rows[{index}]: path must be a str or a path"))
        })?;
    let order_index = required("order_index")?
        .extract::<i64>()
        .map_err(|_| PyTypeError::new_err(format!("rows[{index}]: order_index must be an int")))?;
    Ok(NewCaltable {
        path,
        table_type: text("table_type")?.ok_or_else(|| {
            PyValueError::new_err(format!("rows[{index}]: table_type is required"))
        })?,
        order_index,
        cal_field: text("cal_field")?,
        refant: text("refant")?,
        valid_start_mjd: number("valid_start_mjd")?,
        valid_end_mjd: number("valid_end_mjd")?,
        status: text("status")?,
        notes: text("notes")?,
        provenance: Provenance {
            source_ms_path: text("source_ms_path")?,
            solver_command: text("solver_command")?,
            solver_version: text("solver_version")?,
            solver_params: json("solver_params")?,
            quality_metrics: json("quality_metrics")?,
        },
    })
}
