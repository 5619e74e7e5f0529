//! The one module that touches the table reader (`casacure`), so it can be replaced.
//!
//! Every call into the reader is guarded twice. Before: [`validate`] checks the files the
//! reader would trust (sizes, row count against data size) because a garbled `table.dat` can
//! make it attempt an allocation so large the process aborts, which no `catch_unwind` can
//! stop. During: each call runs under `catch_unwind`, so a panic inside the reader becomes an
//! [`Error::Damaged`] naming the table instead of unwinding into the pipeline.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use casacure::Table;
use casacure::record::{ArrayData, DataType, RecordValue};

use crate::Error;

mod ssm;
mod validate;

use ssm::SsmColumn;

/// The largest `table.dat` accepted; real caltables' are a few kilobytes.
const MAX_TABLE_DAT_BYTES: u64 = 16 << 20;

/// The columns of a caltable that the metrics need, decoded into flat vectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaltableColumns {
    /// Number of rows.
    pub n_rows: usize,
    /// `TIME` per row.
    pub time: Vec<f64>,
    /// `ANTENNA1` per row.
    pub antenna1: Vec<i32>,
    /// `SPECTRAL_WINDOW_ID` per row.
    pub spw: Vec<i32>,
    /// `FLAG` cells, all rows flattened; `None` without the column.
    pub flag: Option<Vec<bool>>,
    /// `SNR` cells, flattened; `None` without the column.
    pub snr: Option<Vec<f32>>,
    /// `CPARAM` cells as (re, im), flattened; `None` without the column.
    pub cparam: Option<Vec<(f32, f32)>>,
    /// `FPARAM` cells, flattened; `None` without the column.
    pub fparam: Option<Vec<f32>>,
    /// The distinct cell shapes of the parameter column, as `[npol, nchan]` text.
    pub cell_shapes: BTreeSet<String>,
    /// Table keywords calprov reports: `VisCal`, `ParType`, `MSName`, `CASA_Version`.
    pub keywords: Keywords,
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
    let span = tracing::debug_span!("read_caltable", path = %path.display());
    let _entered = span.enter();
    validate_files(path)?;
    let table = guarded(path, "open", || {
        Table::open(path, true).map_err(|e| e.to_string())
    })?;
    let n_rows = usize::try_from(table.nrows())
        .map_err(|_| damaged(path, "row count does not fit in memory"))?;
    validate_row_count(path, n_rows)?;
    let names = table.colnames();
    let index = |name: &str| names.iter().position(|n| n == name);

    let mut columns = CaltableColumns {
        n_rows,
        keywords: read_keywords(&table),
        ..CaltableColumns::default()
    };
    let parallel = parallel.unwrap_or(n_rows >= crate::PARALLEL_THRESHOLD);
    if let Some(col) = index("TIME") {
        columns.time = read_scalars(
            path,
            &table,
            col,
            "TIME",
            n_rows,
            parallel,
            DataType::Double,
            |v| match v {
                RecordValue::Double(x) => Some(x),
                _ => None,
            },
        )?;
    }
    if let Some(col) = index("ANTENNA1") {
        columns.antenna1 = read_scalars(
            path,
            &table,
            col,
            "ANTENNA1",
            n_rows,
            parallel,
            DataType::Int,
            int_value,
        )?;
    }
    if let Some(col) = index("SPECTRAL_WINDOW_ID") {
        columns.spw = read_scalars(
            path,
            &table,
            col,
            "SPECTRAL_WINDOW_ID",
            n_rows,
            parallel,
            DataType::Int,
            int_value,
        )?;
    }
    if let Some(col) = index("FLAG") {
        columns.flag = Some(read_array_column(
            path, &table, col, "FLAG", n_rows, parallel, None,
        )?);
    }
    if let Some(col) = index("SNR") {
        columns.snr = Some(read_array_column(
            path, &table, col, "SNR", n_rows, parallel, None,
        )?);
    }
    let mut shapes = BTreeSet::new();
    if let Some(col) = index("CPARAM") {
        columns.cparam = Some(read_array_column(
            path,
            &table,
            col,
            "CPARAM",
            n_rows,
            parallel,
            Some(&mut shapes),
        )?);
    } else if let Some(col) = index("FPARAM") {
        columns.fparam = Some(read_array_column(
            path,
            &table,
            col,
            "FPARAM",
            n_rows,
            parallel,
            Some(&mut shapes),
        )?);
    }
    columns.cell_shapes = shapes;
    Ok(columns)
}

fn int_value(v: RecordValue) -> Option<i32> {
    match v {
        RecordValue::Int(x) => Some(x),
        RecordValue::Short(x) => Some(i32::from(x)),
        _ => None,
    }
}

fn damaged(path: &Path, reason: impl Into<String>) -> Error {
    Error::Damaged {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Runs a reader call, turning its errors and panics into [`Error::Damaged`].
fn guarded<T>(
    path: &Path,
    what: &str,
    call: impl FnOnce() -> Result<T, String>,
) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(reason)) => Err(damaged(path, format!("{what}: {reason}"))),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the table reader panicked".to_owned());
            Err(damaged(path, format!("{what}: {reason}")))
        }
    }
}

/// A fixed-size scalar as StandardStMan stores it.
trait Scalar: Sized + Copy + Send + Sync {
    /// Bytes per cell.
    const BYTES: usize;
    /// The value a preallocated output starts with.
    const ZERO: Self;
    /// The value in `cell` (exactly `BYTES` long).
    fn decode(cell: &[u8], big_endian: bool) -> Self;
}

impl Scalar for f64 {
    const BYTES: usize = 8;
    const ZERO: Self = 0.0;
    fn decode(cell: &[u8], big_endian: bool) -> Self {
        let raw = [
            cell[0], cell[1], cell[2], cell[3], cell[4], cell[5], cell[6], cell[7],
        ];
        if big_endian {
            f64::from_be_bytes(raw)
        } else {
            f64::from_le_bytes(raw)
        }
    }
}

impl Scalar for i32 {
    const BYTES: usize = 4;
    const ZERO: Self = 0;
    fn decode(cell: &[u8], big_endian: bool) -> Self {
        let raw = [cell[0], cell[1], cell[2], cell[3]];
        if big_endian {
            i32::from_be_bytes(raw)
        } else {
            i32::from_le_bytes(raw)
        }
    }
}

/// Reads a scalar column: straight from the buckets for StandardStMan columns of the
/// expected type, else through the reader's generic path.
#[allow(clippy::too_many_arguments)]
fn read_scalars<T: Scalar>(
    path: &Path,
    table: &Table,
    col: usize,
    name: &str,
    n_rows: usize,
    parallel: bool,
    expected: casacure::record::DataType,
    convert: impl Fn(RecordValue) -> Option<T>,
) -> Result<Vec<T>, Error> {
    if let Some(ssm) = SsmColumn::find(table, col).filter(|c| {
        c.desc.data_type == expected
            && matches!(c.desc.kind, casacure::tabledesc::ColumnKind::Scalar(_))
    }) {
        use rayon::prelude::*;
        let mut out = vec![T::ZERO; n_rows];
        let fill = |(i, chunk): (usize, &mut [T])| {
            let start = i * READ_CHUNK_ROWS;
            guarded(path, name, || {
                ssm.for_each_cell(T::BYTES, start, start + chunk.len(), |row, cell| {
                    chunk[row - start] = T::decode(cell, ssm.big_endian);
                    Ok(())
                })
            })
        };
        if parallel {
            out.par_chunks_mut(READ_CHUNK_ROWS)
                .enumerate()
                .try_for_each(fill)?;
        } else {
            out.chunks_mut(READ_CHUNK_ROWS.max(1))
                .enumerate()
                .try_for_each(fill)?;
        }
        return Ok(out);
    }
    let cells = guarded(path, name, || {
        table
            .getcol(col, 0, n_rows as u64)
            .map_err(|e| e.to_string())
    })?;
    if cells.len() != n_rows {
        return Err(damaged(
            path,
            format!("column {name} has {} cells for {n_rows} rows", cells.len()),
        ));
    }
    cells
        .into_iter()
        .map(|v| {
            convert(v).ok_or_else(|| Error::Column {
                path: path.to_path_buf(),
                column: name.to_owned(),
                reason: "unexpected cell type".to_owned(),
            })
        })
        .collect()
}

/// How the elements of an array column are stored and decoded.
trait Element: Sized + Copy + Send {
    /// casacure's decoded form, for the generic path.
    fn from_array(data: ArrayData) -> Option<Vec<Self>>;
    /// Bits per element in the array file (bools are bit-packed).
    const BITS: usize;

    /// Appends `n` elements decoded from `bytes`.
    fn decode(bytes: &[u8], n: usize, big_endian: bool, out: &mut Vec<Self>);
}

impl Element for bool {
    fn from_array(data: ArrayData) -> Option<Vec<Self>> {
        match data {
            ArrayData::Bool(v) => Some(v),
            _ => None,
        }
    }
    const BITS: usize = 1;
    fn decode(bytes: &[u8], n: usize, _big_endian: bool, out: &mut Vec<Self>) {
        // Bit-packed, least significant bit first (casacore's bitToBool).
        out.extend((0..n).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1));
    }
}

impl Element for f32 {
    fn from_array(data: ArrayData) -> Option<Vec<Self>> {
        match data {
            ArrayData::Float(v) => Some(v),
            _ => None,
        }
    }
    const BITS: usize = 32;
    fn decode(bytes: &[u8], n: usize, big_endian: bool, out: &mut Vec<Self>) {
        out.extend(
            bytes[..n * 4]
                .chunks_exact(4)
                .map(|b| f32_from(b, big_endian)),
        );
    }
}

impl Element for (f32, f32) {
    fn from_array(data: ArrayData) -> Option<Vec<Self>> {
        match data {
            ArrayData::Complex(v) => Some(v),
            _ => None,
        }
    }
    const BITS: usize = 64;
    fn decode(bytes: &[u8], n: usize, big_endian: bool, out: &mut Vec<Self>) {
        out.extend(
            bytes[..n * 8]
                .chunks_exact(8)
                .map(|b| (f32_from(&b[..4], big_endian), f32_from(&b[4..], big_endian))),
        );
    }
}

fn f32_from(b: &[u8], big_endian: bool) -> f32 {
    let arr = [b[0], b[1], b[2], b[3]];
    if big_endian {
        f32::from_be_bytes(arr)
    } else {
        f32::from_le_bytes(arr)
    }
}

/// Rows per chunk when columns are decoded in parallel.
const READ_CHUNK_ROWS: usize = 1 << 15;

/// Splits `0..n_rows` into fixed chunks and runs `read` on each, in parallel when asked;
/// the parts come back in row order.
fn by_chunks<R: Send>(
    n_rows: usize,
    parallel: bool,
    read: impl Fn(usize, usize) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    if !parallel {
        return Ok(vec![read(0, n_rows)?]);
    }
    use rayon::prelude::*;
    let starts: Vec<usize> = (0..n_rows).step_by(READ_CHUNK_ROWS).collect();
    starts
        .into_par_iter()
        .map(|start| read(start, (start + READ_CHUNK_ROWS).min(n_rows)))
        .collect()
}

/// Reads an array column into one flat vector (undefined cells contribute nothing),
/// collecting the distinct cell shapes when asked.
///
/// StandardStMan columns are decoded straight from the mapped files; other storage managers
/// go through the reader's generic, allocating path.
fn read_array_column<T: Element>(
    path: &Path,
    table: &Table,
    col: usize,
    name: &str,
    n_rows: usize,
    parallel: bool,
    shapes: Option<&mut BTreeSet<String>>,
) -> Result<Vec<T>, Error> {
    let Some(ssm) = SsmColumn::find(table, col).filter(SsmColumn::is_indirect_array) else {
        return read_arrays_generic(path, table, col, name, n_rows, shapes);
    };
    let want_shapes = shapes.is_some();
    let parts = by_chunks(n_rows, parallel, |start, end| {
        guarded(path, name, || {
            let mut out = Vec::with_capacity((end - start) * 2);
            let mut seen: BTreeSet<Vec<u32>> = BTreeSet::new();
            let mut last: Vec<u32> = Vec::new();
            ssm.for_each_array(T::BITS, start, end, |_, dims, nelem, data| {
                T::decode(data, nelem, ssm.big_endian, &mut out);
                if want_shapes && nelem > 0 && dims != last.as_slice() {
                    last = dims.to_vec();
                    seen.insert(last.clone());
                }
                Ok(())
            })?;
            Ok((out, seen))
        })
    })?;
    let total = parts.iter().map(|(v, _)| v.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut casa_shapes = BTreeSet::new();
    for (values, seen) in parts {
        out.extend_from_slice(&values);
        casa_shapes.extend(seen);
    }
    if let Some(set) = shapes {
        // On disk the dims are in CASA order already: [npol, nchan].
        set.extend(casa_shapes.iter().map(|dims| casa_dims_text(dims)));
    }
    Ok(out)
}

/// Dimensions as stored on disk (CASA order, `[npol, nchan]`), as text.
fn casa_dims_text(dims: &[u32]) -> String {
    let text: Vec<String> = dims.iter().map(u32::to_string).collect();
    format!("[{}]", text.join(", "))
}

/// casacure reports the logical (row-major) shape `[nchan, npol]`; CASA users and the
/// golden metrics speak of `[npol, nchan]`.
fn casa_shape_text(logical: &[u32]) -> String {
    let casa_order: Vec<String> = logical.iter().rev().map(u32::to_string).collect();
    format!("[{}]", casa_order.join(", "))
}

/// The reader's generic path: one decoded value per cell.
fn read_arrays_generic<T: Element>(
    path: &Path,
    table: &Table,
    col: usize,
    name: &str,
    n_rows: usize,
    shapes: Option<&mut BTreeSet<String>>,
) -> Result<Vec<T>, Error> {
    let cells = guarded(path, name, || {
        table
            .getcol(col, 0, n_rows as u64)
            .map_err(|e| e.to_string())
    })?;
    let mut out = Vec::with_capacity(cells.len() * 2);
    let mut seen = BTreeSet::new();
    let column_error = |reason: &str| Error::Column {
        path: path.to_path_buf(),
        column: name.to_owned(),
        reason: reason.to_owned(),
    };
    for cell in cells {
        let RecordValue::Array(array) = cell else {
            return Err(column_error("not an array column"));
        };
        if !array.shape.is_empty() {
            seen.insert(array.shape.clone());
        }
        let values =
            T::from_array(array.data).ok_or_else(|| column_error("unexpected element type"))?;
        out.extend_from_slice(&values);
    }
    if let Some(set) = shapes {
        set.extend(seen.iter().map(|s| casa_shape_text(s)));
    }
    Ok(out)
}

fn read_keywords(table: &Table) -> Keywords {
    let keywords = &table.dat.desc.keywords;
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

/// Checks what must hold before the reader may look at the table: it is a directory with a
/// readable, plausibly sized `table.dat`, and its data files are regular files.
fn validate_files(path: &Path) -> Result<(), Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                file: ".".to_owned(),
                source,
            });
        }
    };
    let not_a_table = |reason: &str| Error::NotATable {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    if !meta.is_dir() {
        return Err(not_a_table("it is a file, not a table directory"));
    }
    let dat = path.join("table.dat");
    let dat_meta = match std::fs::metadata(&dat) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_a_table("it has no table.dat"));
        }
        Err(source) => return Err(io_error(path, "table.dat", source)),
    };
    if !dat_meta.is_file() {
        return Err(not_a_table("table.dat is not a file"));
    }
    if dat_meta.len() == 0 {
        return Err(damaged(path, "table.dat is empty"));
    }
    if dat_meta.len() > MAX_TABLE_DAT_BYTES {
        return Err(damaged(
            path,
            format!(
                "table.dat is {} bytes, far more than a table description",
                dat_meta.len()
            ),
        ));
    }
    // Permission problems surface here as a clear I/O error rather than inside the reader.
    std::fs::File::open(&dat).map_err(|source| io_error(path, "table.dat", source))?;
    let dat_bytes = std::fs::read(&dat).map_err(|source| io_error(path, "table.dat", source))?;
    let big_endian = validate::check_table_dat(&dat_bytes)
        .map_err(|validate::Implausible(reason)| damaged(path, format!("table.dat: {reason}")))?;
    for entry in std::fs::read_dir(path).map_err(|source| io_error(path, ".", source))? {
        let entry = entry.map_err(|source| io_error(path, ".", source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_data_file = name.starts_with("table.f")
            && !name.ends_with('i')
            && name[7..].bytes().all(|b| b.is_ascii_digit());
        if name.starts_with("table.f") {
            std::fs::File::open(entry.path()).map_err(|source| io_error(path, &name, source))?;
        }
        if let (true, Some(big_endian)) = (is_data_file, big_endian) {
            check_data_file(path, &entry.path(), &name, big_endian)?;
        }
    }
    Ok(())
}

/// Validates a StandardStMan data file's header and bucket index, reading only those.
fn check_data_file(table: &Path, file: &Path, name: &str, big_endian: bool) -> Result<(), Error> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let io = |source| io_error(table, name, source);
    let mut handle = std::fs::File::open(file).map_err(io)?;
    let len = handle.metadata().map_err(io)?.len() as usize;
    let mut head = Vec::with_capacity(casacure::ssm::DATA_START);
    (&mut handle)
        .take(casacure::ssm::DATA_START as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.len() < 4 || head[..4] != [0xbe, 0xbe, 0xbe, 0xbe] {
        // Not a StandardStMan file (another storage manager): nothing of ours to check.
        return Ok(());
    }
    let read_at = |offset: usize, n: usize| {
        let mut buf = vec![0u8; n];
        handle
            .read_exact_at(&mut buf, offset as u64)
            .ok()
            .map(|()| buf)
    };
    validate::check_ssm_file(&head, len, read_at, big_endian)
        .map_err(|validate::Implausible(reason)| damaged(table, format!("{name}: {reason}")))
}

/// A row count the data files cannot hold is a garbled header: reading it would allocate
/// for rows that do not exist.
fn validate_row_count(path: &Path, n_rows: usize) -> Result<(), Error> {
    let data_bytes: u64 = std::fs::read_dir(path)
        .map_err(|source| io_error(path, ".", source))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("table.f"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    // Every row stores at least one 4-byte scalar somewhere in the data files.
    if (n_rows as u64).saturating_mul(4) > data_bytes {
        return Err(damaged(
            path,
            format!(
                "table.dat claims {n_rows} rows but the data files hold only {data_bytes} bytes"
            ),
        ));
    }
    Ok(())
}

fn io_error(path: &Path, file: &str, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        file: file.to_owned(),
        source,
    }
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

/// Opens the table and reads its keywords only (no column data).
pub fn read_keywords_only(path: &Path) -> Result<Keywords, Error> {
    validate_files(path)?;
    let table = guarded(path, "open", || {
        Table::open(path, true).map_err(|e| e.to_string())
    })?;
    Ok(read_keywords(&table))
}
