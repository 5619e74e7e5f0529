//! The one module that touches the table reader (`casacure`), so it can be replaced. This
//! file orchestrates one read; `source` opens the table (a small one parsed from its files in
//! memory, `in_memory`), `columns` reads columns (through `ssm`'s fast walk or the generic
//! path) and `decode` decodes their cells.
//!
//! Every call into the reader is guarded twice. Before: `validate` checks the files the
//! reader would trust (sizes, row count against data size) because a garbled `table.dat` can
//! make it attempt an allocation so large the process aborts, which no `catch_unwind` can
//! stop. During: `guard` runs each call under `catch_unwind`, so a panic inside the reader
//! becomes an [`Error::Unreadable`] naming the table instead of unwinding into the pipeline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use casacure::record::RecordValue;
use casacure::table::TableDat;

use crate::Error;

mod canonical;
mod columns;
mod decode;
mod fused_arrays;
mod guard;
mod in_memory;
mod ism_cells;
mod source;
mod ssm;
mod subtables;
#[cfg(test)]
mod tests;
mod validate;

use canonical::description_digest;
use columns::{CellLayout, ColumnReader};
use source::TableSource;
use validate::damaged;

/// The columns of a caltable that the metrics need, decoded into flat vectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaltableColumns {
    /// Number of rows.
    pub n_rows: usize,
    /// `TIME` per row.
    pub time: Vec<f64>,
    /// `ANTENNA1` per row.
    pub antenna1: Vec<i32>,
    /// `ANTENNA2` per row (empty without the column).
    pub antenna2: Vec<i32>,
    /// `SPECTRAL_WINDOW_ID` per row.
    pub spw: Vec<i32>,
    /// `FIELD_ID` per row (empty without the column).
    pub field: Vec<i32>,
    /// `SCAN_NUMBER` per row (empty without the column).
    pub scan: Vec<i32>,
    /// `FLAG` cells, all rows flattened; `None` without the column.
    pub flag: Option<Vec<bool>>,
    /// `SNR` cells, flattened; `None` without the column.
    pub snr: Option<Vec<f32>>,
    /// `CPARAM` cells as (re, im), flattened; `None` without the column.
    pub cparam: Option<Vec<(f32, f32)>>,
    /// `FPARAM` cells, flattened; `None` without the column.
    pub fparam: Option<Vec<f32>>,
    /// `PARAMERR` cells, flattened; `None` without the column.
    pub paramerr: Option<Vec<f32>>,
    /// Elements of the parameter column's cell in each row (0 for an undefined cell): where
    /// each row's part of the flattened array columns starts, for the row digests.
    pub row_cells: Vec<u32>,
    /// The distinct cell shapes of the parameter column, as `[npol, nchan]` text.
    pub cell_shapes: BTreeSet<String>,
    /// Table keywords calprov reports: `VisCal`, `ParType`, `MSName`, `CASA_Version`.
    pub keywords: Keywords,
    /// The digest of the table description and keywords (see [`crate::fingerprint`]).
    pub description: String,
    /// Each subtable's digest (or why it could not be read), by name.
    pub subtables: std::collections::BTreeMap<String, String>,
}

impl CaltableColumns {
    /// Where each row's part of the flattened array columns lies; an array column whose
    /// length is not [`CellOffsets::total`] does not line up with the rows.
    pub fn cell_offsets(&self) -> CellOffsets {
        let first = self.row_cells.first().copied().unwrap_or(0);
        if self.row_cells.len() == self.n_rows && self.row_cells.iter().all(|c| *c == first) {
            // Every row the same shape (any table CASA wrote): no table of offsets.
            return CellOffsets::Uniform {
                cells: first as usize,
                rows: self.n_rows,
            };
        }
        let mut offsets = Vec::with_capacity(self.n_rows + 1);
        let mut total = 0usize;
        offsets.push(0);
        for i in 0..self.n_rows {
            total += self.row_cells.get(i).copied().unwrap_or(0) as usize;
            offsets.push(total);
        }
        CellOffsets::Varying(offsets)
    }
}

/// Where each row's cells lie in the flattened array columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellOffsets {
    /// Every row has `cells` cells.
    Uniform {
        /// Cells per row.
        cells: usize,
        /// Rows.
        rows: usize,
    },
    /// Row `i` holds cells `offsets[i]..offsets[i + 1]` (`n_rows + 1` offsets).
    Varying(Vec<usize>),
}

impl CellOffsets {
    /// The cells of row `row`.
    pub fn range(&self, row: usize) -> std::ops::Range<usize> {
        match self {
            CellOffsets::Uniform { cells, .. } => row * cells..(row + 1) * cells,
            CellOffsets::Varying(offsets) => offsets[row]..offsets[row + 1],
        }
    }

    /// All cells.
    pub fn total(&self) -> usize {
        match self {
            CellOffsets::Uniform { cells, rows } => cells * rows,
            CellOffsets::Varying(offsets) => offsets.last().copied().unwrap_or(0),
        }
    }
}

/// The caltable keywords calprov records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keywords {
    /// `VisCal`, e.g. `G Jones`.
    pub vis_cal: Option<String>,
    /// `ParType`: `Complex` or `Float`.
    pub par_type: Option<String>,
    /// `MSName`: the source MS's base name.
    pub ms_name: Option<String>,
    /// `CASA_Version`, e.g. `6.7.0-31`.
    pub casa_version: Option<String>,
}

/// Reads the metric columns of the caltable at `path`; in parallel from
/// [`crate::PARALLEL_THRESHOLD`] rows.
pub fn read_caltable(path: &Path) -> Result<CaltableColumns, Error> {
    read_caltable_with(path, None)
}

/// [`read_caltable`] with the parallelism forced (`Some`) or chosen by size (`None`); the
/// columns read do not depend on it.
pub fn read_caltable_with(path: &Path, parallel: Option<bool>) -> Result<CaltableColumns, Error> {
    read_columns(path, parallel, source::MAIN_WHOLE_BYTES)
}

/// [`read_caltable_with`] through casacure's mapped files whatever the table's size (a small
/// table is otherwise parsed from its files in memory): the fuzz targets and tests compare the
/// two.
#[doc(hidden)]
pub fn read_caltable_mapped(path: &Path, parallel: Option<bool>) -> Result<CaltableColumns, Error> {
    read_columns(path, parallel, 0)
}

/// [`read_caltable_with`], the table read into memory when its data files total at most
/// `whole_bytes` (0: through casacure's mapped files).
fn read_columns(
    path: &Path,
    parallel: Option<bool>,
    whole_bytes: u64,
) -> Result<CaltableColumns, Error> {
    let span = tracing::debug_span!("read_caltable", path = %path.display());
    let _entered = span.enter();
    let table = TableSource::open_within(path, whole_bytes)?;
    let n_rows = usize::try_from(table.nrows())
        .map_err(|_| damaged(path, "row count does not fit in memory"))?;
    table.files.check_row_count(path, n_rows)?;
    let parallel = parallel.unwrap_or(n_rows >= crate::PARALLEL_THRESHOLD);
    let reader = ColumnReader::new(path, &table, n_rows, parallel);
    let keys = reader.key_columns()?;
    let mut cell_shapes = BTreeSet::new();
    let mut row_cells = Vec::new();
    let arrays = reader.solution_arrays(CellLayout {
        shapes: &mut cell_shapes,
        row_cells: &mut row_cells,
    })?;
    Ok(CaltableColumns {
        n_rows,
        time: keys.time.unwrap_or_default(),
        antenna1: keys.antenna1.unwrap_or_default(),
        antenna2: keys.antenna2.unwrap_or_default(),
        spw: keys.spw.unwrap_or_default(),
        field: keys.field.unwrap_or_default(),
        scan: keys.scan.unwrap_or_default(),
        flag: arrays.flag,
        snr: arrays.snr,
        paramerr: arrays.paramerr,
        cparam: arrays.cparam,
        fparam: arrays.fparam,
        row_cells,
        cell_shapes,
        keywords: read_keywords(table.dat()),
        description: description_digest(&table.dat().desc),
        subtables: subtables::digests(path, &table.dat().desc.keywords),
    })
}

fn read_keywords(dat: &TableDat) -> Keywords {
    let keywords = &dat.desc.keywords;
    let text = |name: &str| match keywords.get(name) {
        Some(RecordValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    Keywords {
        vis_cal: text("VisCal"),
        par_type: text("ParType"),
        ms_name: text("MSName"),
        casa_version: text("CASA_Version"),
    }
}

/// Opens the table and reads its keywords only (no column data).
pub fn read_keywords_only(path: &Path) -> Result<Keywords, Error> {
    // Sizes only: the keywords need no column data.
    TableSource::open_within(path, 0).map(|table| read_keywords(table.dat()))
}

/// The files of a table directory, for the I/O-floor baseline of the benches.
pub fn table_files(path: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}
