//! Reading whole columns into flat vectors: straight from StandardStMan's mapped files when
//! the column is stored there (the key columns in one walk, the solution's array columns in
//! another), else through the reader's generic (allocating) path; in fixed row chunks, in
//! parallel when asked, parts combined in row order.

use std::collections::BTreeSet;
use std::path::Path;

use casacure::record::{DataType, RecordValue};
use rayon::prelude::*;

use super::decode::{Element, Scalar};
use super::guard::{WalkError, guarded};
use super::source::TableSource;
use super::ssm::{self, Sink, SsmColumn};
use super::validate::damaged;
use crate::Error;

/// Rows per chunk when columns are decoded in parallel.
pub(super) const READ_CHUNK_ROWS: usize = 1 << 15;

/// Where an array column's layout goes: its distinct cell shapes and each row's element
/// count.
pub(super) struct CellLayout<'a> {
    pub(super) shapes: &'a mut BTreeSet<String>,
    pub(super) row_cells: &'a mut Vec<u32>,
}

/// One open table and how to read it.
pub(super) struct ColumnReader<'t> {
    pub(super) path: &'t Path,
    pub(super) table: &'t TableSource<'t>,
    pub(super) n_rows: usize,
    pub(super) parallel: bool,
    names: Vec<String>,
}

/// The key columns, in the order [`ColumnReader::key_columns`] reads them; `None` for a column
/// the table does not have.
pub(super) struct KeyColumns {
    pub(super) time: Option<Vec<f64>>,
    pub(super) antenna1: Option<Vec<i32>>,
    pub(super) antenna2: Option<Vec<i32>>,
    pub(super) spw: Option<Vec<i32>>,
    pub(super) field: Option<Vec<i32>>,
    pub(super) scan: Option<Vec<i32>>,
}

/// The key columns and their types; TIME first, then the `Int` ones in [`KeyColumns`]' order.
const KEY_COLUMNS: [(&str, DataType); 6] = [
    ("TIME", DataType::Double),
    ("ANTENNA1", DataType::Int),
    ("ANTENNA2", DataType::Int),
    ("SPECTRAL_WINDOW_ID", DataType::Int),
    ("FIELD_ID", DataType::Int),
    ("SCAN_NUMBER", DataType::Int),
];

impl<'t> ColumnReader<'t> {
    pub(super) fn new(
        path: &'t Path,
        table: &'t TableSource<'t>,
        n_rows: usize,
        parallel: bool,
    ) -> Self {
        Self {
            path,
            table,
            n_rows,
            parallel,
            names: table.colnames(),
        }
    }

    /// Reads the key columns, the StandardStMan ones in one walk over the buckets (see
    /// [`ssm::gather`]); a column another storage manager holds, or of another type, is
    /// read on its own.
    pub(super) fn key_columns(&self) -> Result<KeyColumns, Error> {
        let mut fused: Vec<(usize, SsmColumn<'_>)> = Vec::new();
        for (i, (name, data_type)) in KEY_COLUMNS.iter().enumerate() {
            let Some(ssm) = self.column(name).and_then(|col| self.table.ssm(col)) else {
                continue;
            };
            let shares = fused
                .first()
                .is_none_or(|(_, lead)| lead.shares_buckets(&ssm));
            if ssm.is_scalar_of(*data_type) && shares {
                fused.push((i, ssm));
            }
        }
        let n = self.n_rows;
        let mut time = fused.iter().any(|(i, _)| *i == 0).then(|| vec![0f64; n]);
        let mut ints: Vec<Option<Vec<i32>>> = (1..KEY_COLUMNS.len())
            .map(|i| fused.iter().any(|(f, _)| *f == i).then(|| vec![0i32; n]))
            .collect();
        {
            // Per chunk of rows: a sink into each fused column's part of its output.
            let mut chunks: Vec<Vec<Sink<'_>>> = (0..n.div_ceil(READ_CHUNK_ROWS))
                .map(|_| Vec::with_capacity(fused.len()))
                .collect();
            if let Some(t) = time.as_mut() {
                for (k, c) in t.chunks_mut(READ_CHUNK_ROWS).enumerate() {
                    chunks[k].push(Sink::F64(c));
                }
            }
            for v in ints.iter_mut().flatten() {
                for (k, c) in v.chunks_mut(READ_CHUNK_ROWS).enumerate() {
                    chunks[k].push(Sink::I32(c));
                }
            }
            let walk: Vec<&SsmColumn<'_>> = fused.iter().map(|(_, c)| c).collect();
            let read = |(k, mut sinks): (usize, Vec<Sink<'_>>)| {
                guarded(self.path, "key columns", || {
                    ssm::gather(&walk, &mut sinks, k * READ_CHUNK_ROWS).map_err(WalkError)
                })
            };
            if self.parallel {
                chunks.into_par_iter().enumerate().try_for_each(read)?;
            } else {
                chunks.into_iter().enumerate().try_for_each(read)?;
            }
        }
        let mut ints = ints.into_iter();
        let mut int = |name: &str| match ints.next().flatten() {
            Some(v) => Ok(Some(v)),
            None => self.scalars::<i32>(name),
        };
        Ok(KeyColumns {
            time: match time {
                Some(t) => Some(t),
                None => self.scalars::<f64>("TIME")?,
            },
            antenna1: int("ANTENNA1")?,
            antenna2: int("ANTENNA2")?,
            spw: int("SPECTRAL_WINDOW_ID")?,
            field: int("FIELD_ID")?,
            scan: int("SCAN_NUMBER")?,
        })
    }

    /// The index of column `name`, when the table has it.
    pub(super) fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Reads scalar column `name`; `None` when the table has no such column.
    pub(super) fn scalars<T: Scalar>(&self, name: &str) -> Result<Option<Vec<T>>, Error> {
        let Some(col) = self.column(name) else {
            return Ok(None);
        };
        let fast = self.table.ssm(col).filter(|c| {
            c.desc.data_type == T::DATA_TYPE
                && matches!(c.desc.kind, casacure::tabledesc::ColumnKind::Scalar(_))
        });
        let Some(ssm) = fast else {
            return self.scalars_generic(col, name).map(Some);
        };
        let mut out = vec![T::ZERO; self.n_rows];
        let fill = |(i, chunk): (usize, &mut [T])| {
            let start = i * READ_CHUNK_ROWS;
            guarded(self.path, name, || {
                ssm.for_each_run(T::BYTES, start, start + chunk.len(), |first, cells| {
                    let run = &mut chunk[first - start..];
                    for (value, cell) in run.iter_mut().zip(cells.chunks_exact(T::BYTES)) {
                        *value = T::decode(cell, ssm.big_endian);
                    }
                    Ok(())
                })
                .map_err(WalkError)
            })
        };
        if self.parallel {
            out.par_chunks_mut(READ_CHUNK_ROWS)
                .enumerate()
                .try_for_each(fill)?;
        } else {
            out.chunks_mut(READ_CHUNK_ROWS)
                .enumerate()
                .try_for_each(fill)?;
        }
        Ok(Some(out))
    }

    fn scalars_generic<T: Scalar>(&self, col: usize, name: &str) -> Result<Vec<T>, Error> {
        let table = self.table.table()?;
        let cells = guarded(self.path, name, || table.getcol(col, 0, self.n_rows as u64))?;
        if cells.len() != self.n_rows {
            return Err(damaged(
                self.path,
                format!(
                    "column {name} has {} cells for {} rows",
                    cells.len(),
                    self.n_rows
                ),
            ));
        }
        cells
            .into_iter()
            .map(|v| {
                T::from_value(v).ok_or_else(|| self.column_error(name, "unexpected cell type"))
            })
            .collect()
    }

    /// Reads array column `name` into one flat vector (undefined cells contribute nothing);
    /// with `layout`, also adds its distinct cell shapes (`[npol, nchan]` text) to the set
    /// and each row's element count to the vector. `None` when the table has no such column.
    pub(super) fn arrays<T: Element>(
        &self,
        name: &str,
        layout: Option<CellLayout<'_>>,
    ) -> Result<Option<Vec<T>>, Error> {
        let Some(col) = self.column(name) else {
            return Ok(None);
        };
        let Some(ssm) = self.table.ssm(col).filter(SsmColumn::is_indirect_array) else {
            return self.arrays_generic(col, name, layout).map(Some);
        };
        let want_layout = layout.is_some();
        let parts = self.by_chunks(|start, end| {
            guarded(self.path, name, || {
                let mut out = Vec::with_capacity((end - start) * 2);
                let mut shapes = CellShapes::default();
                let visit = |_, dims: &[u32], nelem, data: &[u8]| {
                    T::decode_into(data, nelem, ssm.big_endian, &mut out);
                    if want_layout {
                        shapes.add(dims, nelem);
                    }
                    Ok(())
                };
                ssm.for_each_array(T::BITS, start, end, visit)
                    .map_err(WalkError)?;
                Ok::<_, WalkError>((out, shapes))
            })
        })?;
        let total = parts.iter().map(|(v, _)| v.len()).sum();
        let mut out = Vec::with_capacity(total);
        let mut shapes = CellShapes::default();
        for (values, part_shapes) in parts {
            out.extend_from_slice(&values);
            shapes.extend(part_shapes);
        }
        if let Some(layout) = layout {
            // On disk the dims are in CASA order already: [npol, nchan].
            shapes.into_layout(layout, |dims| dims_text(dims.iter()));
        }
        Ok(Some(out))
    }

    /// Reads the solution's array columns: the parameters (CPARAM, or FPARAM in a table
    /// without CPARAM) with their layout, FLAG, SNR and PARAMERR. Those StandardStMan stores
    /// as indirect arrays in the same buckets are read in one walk
    /// ([`ssm::for_each_array_of`]); any other is read on its own ([`Self::arrays`]).
    pub(super) fn solution_arrays(&self, layout: CellLayout<'_>) -> Result<SolutionArrays, Error> {
        let param = if self.column("CPARAM").is_some() {
            ("CPARAM", DataType::Complex)
        } else {
            ("FPARAM", DataType::Float)
        };
        let wanted = [
            param,
            ("FLAG", DataType::Bool),
            ("SNR", DataType::Float),
            ("PARAMERR", DataType::Float),
        ];
        let mut fused: Vec<(usize, SsmColumn<'_>)> = Vec::new();
        for (i, (name, data_type)) in wanted.iter().enumerate() {
            let Some(ssm) = self
                .column(name)
                .and_then(|col| self.table.ssm(col))
                .filter(|c| c.is_indirect_array() && c.desc.data_type == *data_type)
            else {
                continue;
            };
            if fused
                .first()
                .is_none_or(|(_, lead)| lead.shares_buckets(&ssm))
            {
                fused.push((i, ssm));
            }
        }
        let walk: Vec<(&SsmColumn<'_>, usize)> = fused
            .iter()
            .map(|(i, c)| (c, Cells::empty(wanted[*i].1).bits()))
            .collect();
        let param_at = fused.iter().position(|(i, _)| *i == 0);
        let kinds: Vec<DataType> = fused.iter().map(|(i, _)| wanted[*i].1).collect();
        let (columns, shapes) = self.fused_arrays(&walk, &kinds, param_at)?;
        let mut read: Vec<Option<Cells>> = wanted.iter().map(|_| None).collect();
        for ((i, _), whole) in fused.iter().zip(columns) {
            read[*i] = Some(whole);
        }
        let [param_cells, flag, snr, paramerr] = read.try_into().unwrap_or_default();
        let mut layout = Some(layout);
        let param_cells = match param_cells {
            Some(cells) => {
                if let Some(layout) = layout.take() {
                    // On disk the dims are in CASA order already: [npol, nchan].
                    shapes.into_layout(layout, |dims| dims_text(dims.iter()));
                }
                Some(cells)
            }
            None => None,
        };
        let (cparam, fparam) = if param.0 == "CPARAM" {
            let cparam = match param_cells {
                Some(cells) => cells.complex(),
                None => self.arrays("CPARAM", layout)?,
            };
            (cparam, None)
        } else {
            let fparam = match param_cells {
                Some(cells) => cells.float(),
                None => self.arrays("FPARAM", layout)?,
            };
            (None, fparam)
        };
        Ok(SolutionArrays {
            cparam,
            fparam,
            flag: match flag {
                Some(cells) => cells.bool(),
                None => self.arrays("FLAG", None)?,
            },
            snr: match snr {
                Some(cells) => cells.float(),
                None => self.arrays("SNR", None)?,
            },
            paramerr: match paramerr {
                Some(cells) => cells.float(),
                None => self.arrays("PARAMERR", None)?,
            },
        })
    }

    fn arrays_generic<T: Element>(
        &self,
        col: usize,
        name: &str,
        layout: Option<CellLayout<'_>>,
    ) -> Result<Vec<T>, Error> {
        let table = self.table.table()?;
        let cells = guarded(self.path, name, || table.getcol(col, 0, self.n_rows as u64))?;
        let mut out = Vec::with_capacity(cells.len() * 2);
        let mut seen = BTreeSet::new();
        let mut row_cells = Vec::with_capacity(cells.len());
        for cell in cells {
            let RecordValue::Array(array) = cell else {
                return Err(self.column_error(name, "not an array column"));
            };
            if !array.shape.is_empty() {
                seen.insert(array.shape.clone());
            }
            let values = T::from_array(array.data)
                .ok_or_else(|| self.column_error(name, "unexpected element type"))?;
            row_cells.push(u32::try_from(values.len()).unwrap_or(u32::MAX));
            out.extend_from_slice(&values);
        }
        if let Some(CellLayout {
            shapes,
            row_cells: rows,
        }) = layout
        {
            // casacure reports the logical (row-major) shape `[nchan, npol]`; CASA users and
            // the golden metrics speak of `[npol, nchan]`.
            shapes.extend(seen.iter().map(|s| dims_text(s.iter().rev())));
            *rows = row_cells;
        }
        Ok(out)
    }

    /// Splits `0..n_rows` into fixed chunks and runs `read` on each, in parallel when asked;
    /// the parts come back in row order.
    pub(super) fn by_chunks<R: Send>(
        &self,
        read: impl Fn(usize, usize) -> Result<R, Error> + Sync,
    ) -> Result<Vec<R>, Error> {
        if !self.parallel {
            return Ok(vec![read(0, self.n_rows)?]);
        }
        let starts: Vec<usize> = (0..self.n_rows).step_by(READ_CHUNK_ROWS).collect();
        starts
            .into_par_iter()
            .map(|start| read(start, (start + READ_CHUNK_ROWS).min(self.n_rows)))
            .collect()
    }

    fn column_error(&self, name: &str, reason: &str) -> Error {
        Error::Column {
            path: self.path.to_path_buf(),
            column: name.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// Dimensions as `[a, b]` text.
fn dims_text<'a>(dims: impl Iterator<Item = &'a u32>) -> String {
    let text: Vec<String> = dims.map(u32::to_string).collect();
    format!("[{}]", text.join(", "))
}

/// The array columns of a solution, as [`ColumnReader::solution_arrays`] reads them; `None`
/// for a column the table does not have.
pub(super) struct SolutionArrays {
    pub(super) cparam: Option<Vec<(f32, f32)>>,
    pub(super) fparam: Option<Vec<f32>>,
    pub(super) flag: Option<Vec<bool>>,
    pub(super) snr: Option<Vec<f32>>,
    pub(super) paramerr: Option<Vec<f32>>,
}

/// One array column's decoded cells while a fused walk reads several of different types.
pub(super) enum Cells {
    Complex(Vec<(f32, f32)>),
    Float(Vec<f32>),
    Bool(Vec<bool>),
}

impl Cells {
    /// No cells yet, for a column of `data_type` (Complex, Float or Bool).
    pub(super) fn empty(data_type: DataType) -> Self {
        match data_type {
            DataType::Complex => Cells::Complex(Vec::new()),
            DataType::Bool => Cells::Bool(Vec::new()),
            _ => Cells::Float(Vec::new()),
        }
    }

    pub(super) fn reserve(mut self, n: usize) -> Self {
        match &mut self {
            Cells::Complex(v) => v.reserve(n),
            Cells::Float(v) => v.reserve(n),
            Cells::Bool(v) => v.reserve(n),
        }
        self
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Cells::Complex(v) => v.len(),
            Cells::Float(v) => v.len(),
            Cells::Bool(v) => v.len(),
        }
    }

    /// Bits per stored element.
    pub(super) fn bits(&self) -> usize {
        match self {
            Cells::Complex(_) => <(f32, f32)>::BITS,
            Cells::Float(_) => <f32 as Element>::BITS,
            Cells::Bool(_) => <bool as Element>::BITS,
        }
    }

    pub(super) fn decode(&mut self, data: &[u8], nelem: usize, big_endian: bool) {
        match self {
            Cells::Complex(v) => Element::decode_into(data, nelem, big_endian, v),
            Cells::Float(v) => Element::decode_into(data, nelem, big_endian, v),
            Cells::Bool(v) => Element::decode_into(data, nelem, big_endian, v),
        }
    }

    /// Appends the next rows' cells (of the same column, so the same type).
    pub(super) fn append(&mut self, next: Cells) {
        match (self, next) {
            (Cells::Complex(v), Cells::Complex(n)) => v.extend_from_slice(&n),
            (Cells::Float(v), Cells::Float(n)) => v.extend_from_slice(&n),
            (Cells::Bool(v), Cells::Bool(n)) => v.extend_from_slice(&n),
            _ => {}
        }
    }

    fn complex(self) -> Option<Vec<(f32, f32)>> {
        match self {
            Cells::Complex(v) => Some(v),
            _ => None,
        }
    }

    fn float(self) -> Option<Vec<f32>> {
        match self {
            Cells::Float(v) => Some(v),
            _ => None,
        }
    }

    fn bool(self) -> Option<Vec<bool>> {
        match self {
            Cells::Bool(v) => Some(v),
            _ => None,
        }
    }
}

/// The layout of an array column's cells as a walk meets them: each row's element count and
/// the distinct shapes (a shape is looked up only when it differs from the previous cell's).
#[derive(Default)]
pub(super) struct CellShapes {
    seen: BTreeSet<Vec<u32>>,
    row_cells: Vec<u32>,
    last: Vec<u32>,
}

impl CellShapes {
    pub(super) fn add(&mut self, dims: &[u32], nelem: usize) {
        // `nelem` is bounded by the cell's bytes in the mapped file.
        self.row_cells
            .push(u32::try_from(nelem).unwrap_or(u32::MAX));
        // Element by element: `!=` on slices calls `memcmp`, dear for two numbers a row.
        let same =
            dims.len() == self.last.len() && dims.iter().zip(&self.last).all(|(a, b)| a == b);
        if nelem > 0 && !same {
            self.last = dims.to_vec();
            self.seen.insert(self.last.clone());
        }
    }

    /// Adds the next rows' layout.
    pub(super) fn extend(&mut self, next: CellShapes) {
        self.seen.extend(next.seen);
        self.row_cells.extend_from_slice(&next.row_cells);
    }

    /// Writes the layout out, each shape as `text` gives it.
    fn into_layout(self, layout: CellLayout<'_>, text: impl Fn(&Vec<u32>) -> String) {
        layout.shapes.extend(self.seen.iter().map(text));
        *layout.row_cells = self.row_cells;
    }
}
