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
use casacure::table::TableDat;
use casacure::tabledesc::ColumnDesc;

use super::decode::Primitive;

/// A column stored by StandardStMan, resolved to its data file and position.
pub(super) struct SsmColumn<'t> {
    file: &'t StandardStManFile,
    /// The array file (`table.f<seq>i`) of the column's data manager, when it has one.
    f0i: Option<&'t [u8]>,
    index_nr: usize,
    column_offset: usize,
    pub(super) desc: &'t ColumnDesc,
    pub(super) big_endian: bool,
}

/// The data manager storing column `col` and the column's position among that manager's
/// columns (what casacure's `Table::column_manager` says, without an opened table).
pub(super) fn column_manager(dat: &TableDat, col: usize) -> Option<(u32, usize)> {
    let columns = &dat.column_set.columns;
    let seq = columns.get(col)?.data_manager_seq;
    let within = columns[..col]
        .iter()
        .filter(|c| c.data_manager_seq == seq)
        .count();
    Some((seq, within))
}

/// Bytes of the reference an indirect array cell stores: an offset into `table.f0i`.
const ARRAY_REF_BYTES: usize = 8;

impl<'t> SsmColumn<'t> {
    /// Resolves column `col` of an opened table, or `None` when another storage manager
    /// holds it.
    pub(super) fn find(table: &'t Table, col: usize) -> Option<Self> {
        Self::resolve(&table.dat, &table.ssm_files, col, |file, _| file.f0i())
    }

    /// Resolves column `col` from a parsed `table.dat` and its parsed StandardStMan files;
    /// `array_file(file, seq)` gives the bytes of data manager `seq`'s `table.f<seq>i`.
    pub(super) fn resolve(
        dat: &'t TableDat,
        files: &'t [(u32, StandardStManFile)],
        col: usize,
        array_file: impl FnOnce(&'t StandardStManFile, u32) -> Option<&'t [u8]>,
    ) -> Option<Self> {
        let desc = dat.desc.columns.get(col)?;
        let (seq, within) = column_manager(dat, col)?;
        let spec: &StandardStMan = dat
            .column_set
            .data_managers
            .iter()
            .find(|dm| dm.sequence_nr == seq && dm.type_name == "StandardStMan")
            .and_then(|dm| match &dm.blob {
                DataManagerBlob::StandardStMan(s) => Some(s),
                DataManagerBlob::Unsupported(_) => None,
            })?;
        let file = files.iter().find(|(s, _)| *s == seq).map(|(_, f)| f)?;
        Some(Self {
            file,
            f0i: array_file(file, seq),
            index_nr: *spec.col_index_map.get(within)? as usize,
            column_offset: *spec.column_offset.get(within)? as usize,
            desc,
            big_endian: file.header.big_endian,
        })
    }

    /// True for a scalar column of type `data_type`.
    pub(super) fn is_scalar_of(&self, data_type: casacure::record::DataType) -> bool {
        self.desc.data_type == data_type
            && matches!(self.desc.kind, casacure::tabledesc::ColumnKind::Scalar(_))
    }

    /// True for a variable-shape array column stored indirectly (what CASA writes).
    pub(super) fn is_indirect_array(&self) -> bool {
        matches!(self.desc.kind, casacure::tabledesc::ColumnKind::Array)
            && !casacure::ssm::is_direct_array(self.desc)
    }

    /// Bytes of the column's array file, `table.f0i` (0 without one): every defined cell's
    /// elements lie there.
    pub(super) fn array_file_bytes(&self) -> usize {
        self.f0i.map_or(0, <[u8]>::len)
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
        self.for_each_bucket(start, end, |row, first, last, bytes| {
            visit(row, self.run_cells(bytes, cell_size, row, first, last)?)
        })
    }

    /// Calls `visit(row, first, last, bucket)` for each bucket holding rows of `start..end`:
    /// the rows `row..=last` of the walk are in it, its first row being `first`.
    fn for_each_bucket(
        &self,
        start: usize,
        end: usize,
        mut visit: impl FnMut(usize, usize, usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let index = self.file.indices.get(self.index_nr).ok_or_else(|| {
            format!(
                "column {}: bucket index {} is missing",
                self.desc.name, self.index_nr
            )
        })?;
        // The index is searched once; the buckets after the first are its next entries.
        let mut entry = index.last_row.partition_point(|&last| last < start as u64);
        let mut row = start;
        while row < end {
            let (Some(&end_row), Some(&number)) =
                (index.last_row.get(entry), index.bucket_number.get(entry))
            else {
                return Err(format!(
                    "column {}: row {row} is in no bucket",
                    self.desc.name
                ));
            };
            let start_row = match entry.checked_sub(1) {
                Some(previous) => index.last_row[previous].saturating_add(1),
                None => 0,
            };
            entry += 1;
            let bytes = self.file.bucket_bytes(number).map_err(|e| e.to_string())?;
            let first =
                usize::try_from(start_row).map_err(|_| "bucket start overflows".to_owned())?;
            let last = usize::try_from(end_row).unwrap_or(usize::MAX).min(end - 1);
            // A damaged index (last rows out of order) can name a bucket that does not hold
            // `row`; walking on would loop forever on the same row or read before the bucket.
            if first > row || last < row {
                return Err(format!(
                    "column {}: the bucket index is out of order at row {row} (bucket {number} holds rows {start_row}..={end_row})",
                    self.desc.name
                ));
            }
            visit(row, first, last, bytes)?;
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
        let mut records = self.array_records(element_bits)?;
        self.for_each_cell(ARRAY_REF_BYTES, start, end, |row, cell| {
            records.visit(row, self.array_offset(cell), &mut visit)
        })
    }

    /// The offset into `table.f0i` an indirect array cell (its 8-byte reference) holds.
    fn array_offset(&self, cell: &[u8]) -> i64 {
        let mut raw = [0u8; ARRAY_REF_BYTES];
        raw.copy_from_slice(&cell[..ARRAY_REF_BYTES]);
        if self.big_endian {
            i64::from_be_bytes(raw)
        } else {
            i64::from_le_bytes(raw)
        }
    }

    /// The column's array records. Without an array file every cell must be undefined
    /// (what casacore writes for a column never filled): a defined one is an error then.
    fn array_records(&self, element_bits: usize) -> Result<ArrayRecords<'t>, String> {
        let version = match self.f0i {
            Some(f0i) => read_u32(f0i, 0, self.big_endian)
                .ok_or_else(|| "the array file table.f0i is too short for its header".to_owned())?,
            None => 0,
        };
        Ok(ArrayRecords {
            f0i: self.f0i,
            version,
            big_endian: self.big_endian,
            name: &self.desc.name,
            element_bits,
            dims: Vec::with_capacity(4),
            dims_stored: [0; 8],
            nelem: 0,
            data_bytes: 0,
        })
    }

    /// True when `other` lives in the same buckets (same file and index): one walk can read
    /// both.
    pub(super) fn shares_buckets(&self, other: &SsmColumn<'_>) -> bool {
        std::ptr::eq(self.file, other.file) && self.index_nr == other.index_nr
    }

    /// The cells of this column in one bucket run (rows `row..=last`, the bucket's first row
    /// being `first`).
    fn run_cells<'b>(
        &self,
        bytes: &'b [u8],
        cell_size: usize,
        row: usize,
        first: usize,
        last: usize,
    ) -> Result<&'b [u8], String> {
        let from = (row - first)
            .checked_mul(cell_size)
            .and_then(|o| o.checked_add(self.column_offset))
            .ok_or_else(|| "cell offset overflows".to_owned())?;
        let to = (last + 1 - row)
            .checked_mul(cell_size)
            .and_then(|len| len.checked_add(from))
            .ok_or_else(|| "cell offset overflows".to_owned())?;
        bytes.get(from..to).ok_or_else(|| {
            format!(
                "column {}: rows {row}..={last} lie outside their bucket",
                self.desc.name
            )
        })
    }
}

/// The records of one array column in `table.f0i`: `[refcount][ndim][dims][data]`.
struct ArrayRecords<'t> {
    f0i: Option<&'t [u8]>,
    version: u32,
    big_endian: bool,
    name: &'t str,
    element_bits: usize,
    /// The last record's shape, as decoded and as stored, and what it implies: every cell of
    /// a column CASA wrote has the same shape, so each record's dims are compared with the
    /// last one's bytes instead of decoded and multiplied again. Starts as a 0-dim record's.
    dims: Vec<u32>,
    dims_stored: [u32; 8],
    nelem: usize,
    data_bytes: usize,
}

/// Whether `stored` (a record's dims, as stored) holds `words` (their raw words), compared
/// word by word: a call to `memcmp` for eight bytes cost more than decoding them.
fn stored_dims_are(stored: &[u8], words: &[u32]) -> bool {
    stored.len() == 4 * words.len()
        && stored
            .chunks_exact(4)
            .zip(words)
            .all(|(b, w)| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) == *w)
}

impl ArrayRecords<'_> {
    /// Visits the record at `offset` (row `row`'s).
    fn visit(
        &mut self,
        row: usize,
        offset: i64,
        visit: &mut impl FnMut(usize, &[u32], usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        if offset == 0 {
            return visit(row, &[], 0, &[]);
        }
        let f0i = self.f0i.ok_or_else(|| {
            format!(
                "column {}: row {row} has an array but the array file table.f0i is missing",
                self.name
            )
        })?;
        let bad = || {
            format!(
                "column {}: row {row} refers to offset {offset} outside table.f0i ({} bytes)",
                self.name,
                f0i.len()
            )
        };
        let mut p = usize::try_from(offset).map_err(|_| bad())?;
        if self.version > 0 {
            p = p.checked_add(4).ok_or_else(bad)?; // reference count
        }
        let ndim = read_u32(f0i, p, self.big_endian).ok_or_else(bad)? as usize;
        p += 4;
        if ndim > 8 {
            return Err(format!(
                "column {}: row {row} claims {ndim} dimensions",
                self.name
            ));
        }
        let stored = f0i.get(p..p + 4 * ndim).ok_or_else(bad)?;
        if !stored_dims_are(stored, &self.dims_stored[..self.dims.len()]) {
            self.dims.clear();
            let mut nelem: usize = if ndim == 0 { 0 } else { 1 };
            for d in stored.chunks_exact(4) {
                let d = read_u32(d, 0, self.big_endian).ok_or_else(bad)?;
                self.dims.push(d);
                nelem = nelem.checked_mul(d as usize).ok_or_else(bad)?;
            }
            self.data_bytes = nelem
                .checked_mul(self.element_bits)
                .map(|bits| bits.div_ceil(8))
                .ok_or_else(bad)?;
            self.nelem = nelem;
            for (word, b) in self.dims_stored.iter_mut().zip(stored.chunks_exact(4)) {
                *word = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        p += 4 * ndim;
        let data = f0i
            .get(p..p.checked_add(self.data_bytes).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        visit(row, &self.dims, self.nelem, data)
    }
}

/// Where a fused walk writes one scalar column's cells of a range of rows.
pub(super) enum Sink<'a> {
    /// `Double` cells.
    F64(&'a mut [f64]),
    /// `Int` cells.
    I32(&'a mut [i32]),
}

/// Reads the cells of several scalar columns that share buckets in one walk over
/// `start..start + n`, into the sinks (each `n` cells long): CASA's buckets are 2,560 bytes,
/// a few dozen rows, so a walk is dominated by reaching each bucket (a new page, a cache
/// miss), which one walk pays once for all the columns instead of once per column.
pub(super) fn gather(
    columns: &[&SsmColumn<'_>],
    sinks: &mut [Sink<'_>],
    start: usize,
) -> Result<(), String> {
    let Some(lead) = columns.first() else {
        return Ok(());
    };
    let n = sinks.iter().map(|s| match s {
        Sink::F64(v) => v.len(),
        Sink::I32(v) => v.len(),
    });
    let end = start + n.min().unwrap_or(0);
    lead.for_each_bucket(start, end, |row, first, last, bytes| {
        let at = row - start;
        for (column, sink) in columns.iter().zip(sinks.iter_mut()) {
            let big_endian = column.big_endian;
            match sink {
                Sink::F64(out) => {
                    let cells = column.run_cells(bytes, 8, row, first, last)?;
                    for (value, cell) in out[at..].iter_mut().zip(cells.chunks_exact(8)) {
                        *value = f64::decode(cell, big_endian);
                    }
                }
                Sink::I32(out) => {
                    let cells = column.run_cells(bytes, 4, row, first, last)?;
                    for (value, cell) in out[at..].iter_mut().zip(cells.chunks_exact(4)) {
                        *value = i32::decode(cell, big_endian);
                    }
                }
            }
        }
        Ok(())
    })
}

/// Visits the cells of several indirect array columns that share buckets in one walk over
/// `start..end`: `visit(k, row, dims, nelem, data)` for a cell of `columns[k]` (each given
/// with its element bits), as [`SsmColumn::for_each_array`] visits one column's. CASA writes a
/// row's cells together, so the columns' records lie interleaved in `table.f0i`: a walk per
/// column reads the whole file once per column, this walk reads it once.
pub(super) fn for_each_array_of(
    columns: &[(&SsmColumn<'_>, usize)],
    start: usize,
    end: usize,
    mut visit: impl FnMut(usize, usize, &[u32], usize, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let Some((lead, _)) = columns.first() else {
        return Ok(());
    };
    let mut records = columns
        .iter()
        .map(|(column, bits)| column.array_records(*bits))
        .collect::<Result<Vec<_>, String>>()?;
    lead.for_each_bucket(start, end, |row, first, last, bytes| {
        // Column by column within a bucket: its rows' records of all the columns are a few
        // kilobytes of `table.f0i`, still in cache when the next column reaches them.
        for (k, ((column, _), records)) in columns.iter().zip(records.iter_mut()).enumerate() {
            let cells = column.run_cells(bytes, ARRAY_REF_BYTES, row, first, last)?;
            for (i, cell) in cells.chunks_exact(ARRAY_REF_BYTES).enumerate() {
                let offset = column.array_offset(cell);
                records.visit(row + i, offset, &mut |row, dims, nelem, data| {
                    visit(k, row, dims, nelem, data)
                })?;
            }
        }
        Ok(())
    })
}

/// The `u32` at `at`, in the file's byte order; `None` past the end.
pub(super) fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    // One 4-byte load (assembling the bytes one by one compiled to four loads and shifts,
    // a tenth of the array walk).
    let raw: [u8; 4] = *data.get(at..)?.first_chunk::<4>()?;
    Some(if big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    })
}
