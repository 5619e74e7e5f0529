//! The IncrementalStMan cells casacure does not decode yet: strings (it refuses them) and
//! fixed-shape arrays (it returns their first element). CASA rewrites subtables under
//! IncrementalStMan (`smoothcal`), and a subtable's digest must not depend on its storage
//! manager, so those cells are read here, from casacure's parsed header and bucket index and
//! the file's own bytes, every access bounds-checked.
//!
//! A bucket is a 4-byte offset of its index, the data area, then for each column: the number
//! of intervals, each interval's first row (32- or 64-bit, by the offset's high nibble) and
//! each interval's byte offset in the data area. A string value is a `u32` total length
//! (its own four bytes included) followed by the characters (casacore's
//! `ISMColumn::fromString`); a fixed-shape array is its elements, back to back.

use std::path::Path;

use casacure::Table;
use casacure::ism::{DATA_START, IsmFile};
use casacure::record::{ArrayData, ArrayValue, DataType, RecordValue};
use casacure::tabledesc::ColumnKind;

use super::ssm::read_u32;

/// How a cell is laid out in the data area.
#[derive(Clone, Copy)]
enum Layout {
    /// A scalar string.
    String,
    /// A fixed-shape array of `n` numbers of one type.
    Numbers(DataType, usize),
}

/// The cells of column `col` when it is bound to IncrementalStMan and is a scalar string or
/// a fixed-shape numeric array; `None` for any other column (casacure reads those).
pub(super) fn ism_cells(
    path: &Path,
    table: &Table,
    col: usize,
) -> Option<Result<Vec<RecordValue>, String>> {
    let desc = table.dat.desc.columns.get(col)?;
    let (seq, within) = table.column_manager(col);
    let file = table
        .ism_files
        .iter()
        .find(|(s, _)| *s == seq)
        .map(|(_, f)| f)?;
    let (layout, shape) = match (&desc.kind, desc.data_type) {
        (ColumnKind::Scalar(_), DataType::String) => (Layout::String, Vec::new()),
        (ColumnKind::Array, dt) if element_bytes(dt).is_some() => {
            let shape = desc.shape.clone()?;
            let dims: Vec<u32> = shape
                .iter()
                .map(|&d| u32::try_from(d).ok())
                .collect::<Option<_>>()?;
            let n = dims
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d as usize))?;
            // casacure reports array shapes in row-major order: CASA's reversed.
            (Layout::Numbers(dt, n), dims.into_iter().rev().collect())
        }
        _ => return None,
    };
    Some(
        read_cells(path, seq, file, within, table.nrows(), layout).map(|cells| {
            cells
                .into_iter()
                .map(|cell| match cell {
                    Cell::String(s) => RecordValue::String(s),
                    Cell::Array(data) => RecordValue::Array(ArrayValue {
                        shape: shape.clone(),
                        data,
                    }),
                })
                .collect()
        }),
    )
}

enum Cell {
    String(String),
    Array(ArrayData),
}

/// Bytes per element of the numeric types read here.
fn element_bytes(dt: DataType) -> Option<usize> {
    match dt {
        DataType::Short => Some(2),
        DataType::Int | DataType::Float => Some(4),
        DataType::Double | DataType::Complex | DataType::Int64 => Some(8),
        DataType::DComplex => Some(16),
        _ => None,
    }
}

fn read_cells(
    path: &Path,
    seq: u32,
    file: &IsmFile,
    within: usize,
    n_rows: u64,
    layout: Layout,
) -> Result<Vec<Cell>, String> {
    let name = format!("table.f{seq}");
    let bytes = std::fs::read(path.join(&name)).map_err(|e| format!("{name}: {e}"))?;
    let big_endian = file.header.big_endian;
    let size = file.header.bucket_size as usize;
    let bad = |what: &str| format!("{name}: {what}");
    let mut out = Vec::with_capacity(usize::try_from(n_rows).unwrap_or(0).min(1 << 20));
    let mut cached: Option<(u32, Vec<(u64, u32)>)> = None;
    for row in 0..n_rows {
        let (bucket, intra, _) = file
            .index
            .bucket_for(row)
            .ok_or_else(|| bad("a row is in no bucket"))?;
        let start = DATA_START
            .checked_add(
                (bucket as usize)
                    .checked_mul(size)
                    .ok_or_else(|| bad("bucket offset overflows"))?,
            )
            .ok_or_else(|| bad("bucket offset overflows"))?;
        let data = bytes
            .get(start..start.saturating_add(size))
            .ok_or_else(|| bad("a bucket lies beyond the file"))?;
        if cached.as_ref().is_none_or(|(b, _)| *b != bucket) {
            cached = Some((
                bucket,
                intervals(data, within, big_endian).ok_or_else(|| bad("damaged bucket index"))?,
            ));
        }
        let intervals = cached
            .as_ref()
            .map(|(_, i)| i.as_slice())
            .unwrap_or_default();
        let at = intervals.partition_point(|(first, _)| *first <= intra);
        let (_, offset) = at
            .checked_sub(1)
            .and_then(|i| intervals.get(i))
            .ok_or_else(|| bad("a row has no value"))?;
        let value = 4usize
            .checked_add(*offset as usize)
            .ok_or_else(|| bad("offset overflows"))?;
        out.push(match layout {
            Layout::String => {
                let total = read_u32(data, value, big_endian)
                    .ok_or_else(|| bad("a string lies beyond its bucket"))?
                    as usize;
                let chars = data
                    .get(
                        value + 4
                            ..value
                                .checked_add(total)
                                .ok_or_else(|| bad("string length overflows"))?,
                    )
                    .ok_or_else(|| bad("a string lies beyond its bucket"))?;
                Cell::String(String::from_utf8_lossy(chars).into_owned())
            }
            Layout::Numbers(dt, n) => {
                let width = element_bytes(dt).unwrap_or(8);
                let len = n
                    .checked_mul(width)
                    .ok_or_else(|| bad("array size overflows"))?;
                let raw = data
                    .get(
                        value
                            ..value
                                .checked_add(len)
                                .ok_or_else(|| bad("array size overflows"))?,
                    )
                    .ok_or_else(|| bad("an array lies beyond its bucket"))?;
                Cell::Array(numbers(dt, raw, big_endian))
            }
        });
    }
    Ok(out)
}

/// Decodes `raw` as back-to-back numbers of type `dt`.
fn numbers(dt: DataType, raw: &[u8], big_endian: bool) -> ArrayData {
    macro_rules! decode {
        ($t:ty, $w:expr) => {
            raw.chunks_exact($w)
                .map(|c| {
                    let mut b = [0u8; $w];
                    b.copy_from_slice(c);
                    if big_endian {
                        <$t>::from_be_bytes(b)
                    } else {
                        <$t>::from_le_bytes(b)
                    }
                })
                .collect::<Vec<$t>>()
        };
    }
    match dt {
        DataType::Short => ArrayData::Short(decode!(i16, 2)),
        DataType::Int => ArrayData::Int(decode!(i32, 4)),
        DataType::Float => ArrayData::Float(decode!(f32, 4)),
        DataType::Int64 => ArrayData::Int64(decode!(i64, 8)),
        DataType::Complex => {
            let v = decode!(f32, 4);
            ArrayData::Complex(v.chunks_exact(2).map(|p| (p[0], p[1])).collect())
        }
        DataType::DComplex => {
            let v = decode!(f64, 8);
            ArrayData::DComplex(v.chunks_exact(2).map(|p| (p[0], p[1])).collect())
        }
        _ => ArrayData::Double(decode!(f64, 8)),
    }
}

/// The (first row, data offset) of each interval of column `within` in one bucket.
fn intervals(bucket: &[u8], within: usize, big_endian: bool) -> Option<Vec<(u64, u32)>> {
    let head = read_u32(bucket, 0, big_endian)?;
    let wide = head & 0xf000_0000 != 0;
    let row_bytes = if wide { 8 } else { 4 };
    let mut pos = (head & 0x0fff_ffff) as usize;
    for _ in 0..within {
        let n = read_u32(bucket, pos, big_endian)? as usize;
        pos = pos
            .checked_add(4)?
            .checked_add(n.checked_mul(row_bytes + 4)?)?;
    }
    let n = read_u32(bucket, pos, big_endian)? as usize;
    pos += 4;
    if n.checked_mul(row_bytes + 4)? > bucket.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let row = if wide {
            let b = bucket.get(pos + i * 8..pos + i * 8 + 8)?;
            let raw = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
            if big_endian {
                u64::from_be_bytes(raw)
            } else {
                u64::from_le_bytes(raw)
            }
        } else {
            u64::from(read_u32(bucket, pos + i * 4, big_endian)?)
        };
        let offset = read_u32(bucket, pos + n * row_bytes + i * 4, big_endian)?;
        out.push((row, offset));
    }
    Some(out)
}
