//! A fast walk over the cells of a StandardStMan column, on top of the bucket index and
//! mapped files casacure has already parsed.
//!
//! casacure's per-cell API looks up the bucket and allocates a shape for every cell; a caltable
//! of a million solutions has three array columns, so the reader walks each bucket once and
//! decodes the array records of `table.f0i` in place. Every access is bounds-checked: a
//! damaged file yields an error string, never a panic or an out-of-range read.

use casacure::Table;
use casacure::columnset::{DataManagerBlob, StandardStMan};
use casacure::ssm::StandardStManFile;
use casacure::tabledesc::ColumnDesc;

/// A column stored by StandardStMan, resolved to its data file and position.
pub(super) struct SsmColumn<'t> {
    file: &'t StandardStManFile,
    index_nr: usize,
    column_offset: usize,
    pub(super) desc: &'t ColumnDesc,
    pub(super) big_endian: bool,
}

/// Bytes of the reference an indirect array cell stores: an offset into `table.f0i`.
const ARRAY_REF_BYTES: usize = 8;

impl<'t> SsmColumn<'t> {
    /// Resolves column `col`, or `None` when another storage manager holds it.
    pub(super) fn find(table: &'t Table, col: usize) -> Option<Self> {
        let desc = table.dat.desc.columns.get(col)?;
        table.dat.column_set.columns.get(col)?;
        let (seq, within) = table.column_manager(col);
        let spec: &StandardStMan = table
            .dat
            .column_set
            .data_managers
            .iter()
            .find(|dm| dm.sequence_nr == seq && dm.type_name == "StandardStMan")
            .and_then(|dm| match &dm.blob {
                DataManagerBlob::StandardStMan(s) => Some(s),
                DataManagerBlob::Unsupported(_) => None,
            })?;
        let file = table
            .ssm_files
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, f)| f)?;
        Some(Self {
            file,
            index_nr: *spec.col_index_map.get(within)? as usize,
            column_offset: *spec.column_offset.get(within)? as usize,
            desc,
            big_endian: file.header.big_endian,
        })
    }

    /// True for a variable-shape array column stored indirectly (what CASA writes).
    pub(super) fn is_indirect_array(&self) -> bool {
        matches!(self.desc.kind, casacure::tabledesc::ColumnKind::Array)
            && !casacure::ssm::is_direct_array(self.desc)
    }

    /// Calls `visit(row, cell)` for every row in `start..end`, with the cell's `cell_size`
    /// bytes borrowed from the mapped data file.
    pub(super) fn for_each_cell(
        &self,
        cell_size: usize,
        start: usize,
        end: usize,
        mut visit: impl FnMut(usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        self.for_each_run(cell_size, start, end, |first, cells| {
            for (i, cell) in cells.chunks_exact(cell_size).enumerate() {
                visit(first + i, cell)?;
            }
            Ok(())
        })
    }

    /// Calls `visit(first_row, cells)` for each run of consecutive rows of `start..end` that
    /// one bucket holds, with the run's cells (`cell_size` bytes each, back to back) borrowed
    /// from the mapped data file: a scalar column decodes a whole run in one loop.
    pub(super) fn for_each_run(
        &self,
        cell_size: usize,
        start: usize,
        end: usize,
        mut visit: impl FnMut(usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        if cell_size == 0 {
            return Err(format!("column {}: cells of no bytes", self.desc.name));
        }
        let index = self.file.indices.get(self.index_nr).ok_or_else(|| {
            format!(
                "column {}: bucket index {} is missing",
                self.desc.name, self.index_nr
            )
        })?;
        let mut row = start;
        while row < end {
            let bucket = index
                .find(row as u64)
                .ok_or_else(|| format!("column {}: row {row} is in no bucket", self.desc.name))?;
            let bytes = self
                .file
                .bucket_bytes(bucket.number)
                .map_err(|e| e.to_string())?;
            let first = usize::try_from(bucket.start_row)
                .map_err(|_| "bucket start overflows".to_owned())?;
            let last = usize::try_from(bucket.end_row)
                .unwrap_or(usize::MAX)
                .min(end - 1);
            // A damaged index (last rows out of order) can name a bucket that does not hold
            // `row`; walking on would loop forever on the same row or read before the bucket.
            if first > row || last < row {
                return Err(format!(
                    "column {}: the bucket index is out of order at row {row} (bucket {} holds rows {}..={})",
                    self.desc.name, bucket.number, bucket.start_row, bucket.end_row
                ));
            }
            let from = (row - first)
                .checked_mul(cell_size)
                .and_then(|o| o.checked_add(self.column_offset))
                .ok_or_else(|| "cell offset overflows".to_owned())?;
            let to = (last + 1 - row)
                .checked_mul(cell_size)
                .and_then(|len| len.checked_add(from))
                .ok_or_else(|| "cell offset overflows".to_owned())?;
            let cells = bytes.get(from..to).ok_or_else(|| {
                format!(
                    "column {}: rows {row}..={last} lie outside bucket {}",
                    self.desc.name, bucket.number
                )
            })?;
            visit(row, cells)?;
            row = last + 1;
        }
        Ok(())
    }

    /// Calls `visit(row, logical_shape_casa_order, nelem, data)` for every indirect array
    /// cell in `start..end`; `data` is the cell's element bytes in `table.f0i`, `nelem`
    /// elements of `element_bits` bits each. Undefined cells (offset 0, or no dimensions)
    /// visit with `nelem == 0`.
    pub(super) fn for_each_array(
        &self,
        element_bits: usize,
        start: usize,
        end: usize,
        mut visit: impl FnMut(usize, &[u32], usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let f0i = self.file.f0i().ok_or_else(|| {
            format!(
                "column {}: the array file table.f0i is missing",
                self.desc.name
            )
        })?;
        let version = read_u32(f0i, 0, self.big_endian)
            .ok_or_else(|| "the array file table.f0i is too short for its header".to_owned())?;
        let mut dims: Vec<u32> = Vec::with_capacity(4);
        self.for_each_cell(ARRAY_REF_BYTES, start, end, |row, cell| {
            let raw = [
                cell[0], cell[1], cell[2], cell[3], cell[4], cell[5], cell[6], cell[7],
            ];
            let offset = if self.big_endian {
                i64::from_be_bytes(raw)
            } else {
                i64::from_le_bytes(raw)
            };
            if offset == 0 {
                return visit(row, &[], 0, &[]);
            }
            let bad = || {
                format!(
                    "column {}: row {row} refers to offset {offset} outside table.f0i ({} bytes)",
                    self.desc.name,
                    f0i.len()
                )
            };
            let mut p = usize::try_from(offset).map_err(|_| bad())?;
            if version > 0 {
                p = p.checked_add(4).ok_or_else(bad)?; // reference count
            }
            let ndim = read_u32(f0i, p, self.big_endian).ok_or_else(bad)? as usize;
            p += 4;
            if ndim > 8 {
                return Err(format!(
                    "column {}: row {row} claims {ndim} dimensions",
                    self.desc.name
                ));
            }
            dims.clear();
            let mut nelem: usize = if ndim == 0 { 0 } else { 1 };
            for _ in 0..ndim {
                let d = read_u32(f0i, p, self.big_endian).ok_or_else(bad)?;
                p += 4;
                dims.push(d);
                nelem = nelem.checked_mul(d as usize).ok_or_else(bad)?;
            }
            let bytes = nelem
                .checked_mul(element_bits)
                .map(|bits| bits.div_ceil(8))
                .ok_or_else(bad)?;
            let data = f0i
                .get(p..p.checked_add(bytes).ok_or_else(bad)?)
                .ok_or_else(bad)?;
            visit(row, &dims, nelem, data)
        })
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    let raw = [b[0], b[1], b[2], b[3]];
    Some(if big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    })
}
