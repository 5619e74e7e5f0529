//! Canonical bytes of what casacure decodes (record values, keywords, table descriptions),
//! for the fingerprint: a type tag before every value, lengths before every variable part,
//! numbers little-endian, so that two different values never give the same bytes and the
//! same value always does, whatever stored it.

use casacure::record::{ArrayData, DataType, RecordValue, TableRecord};
use casacure::tabledesc::{ColumnKind, TableDesc};

use crate::fingerprint::digest_bytes;

/// The digest of a table description: the table keywords, then each column (by name) with
/// its type, kind, dimensions and keywords. Storage managers are left out: they say how
/// the data is stored, not what it is.
pub(super) fn description_digest(desc: &TableDesc) -> String {
    let mut out = Vec::with_capacity(1024);
    put_record(&desc.keywords, &mut out);
    let mut columns: Vec<_> = desc.columns.iter().collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    put_len(columns.len(), &mut out);
    for column in columns {
        put_str(&column.name, &mut out);
        put_str(&format!("{:?}", column.data_type), &mut out);
        match &column.kind {
            ColumnKind::Scalar(_) => out.push(b's'),
            ColumnKind::Array => out.push(b'a'),
            ColumnKind::Record => out.push(b'r'),
        }
        out.extend_from_slice(&column.ndim.to_le_bytes());
        let shape = column.shape.as_deref().unwrap_or_default();
        put_len(shape.len(), &mut out);
        shape
            .iter()
            .for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
        put_record(&column.keywords, &mut out);
    }
    digest_bytes(&out)
}

/// Appends a record: its fields in order, each name then value.
pub(super) fn put_record(record: &TableRecord, out: &mut Vec<u8>) {
    put_len(record.values.len(), out);
    for (i, value) in record.values.iter().enumerate() {
        let name = record.desc.fields.get(i).map_or("", |f| f.name.as_str());
        put_str(name, out);
        put_value(value, out);
    }
}

/// Appends one value with its type tag.
pub(super) fn put_value(value: &RecordValue, out: &mut Vec<u8>) {
    match value {
        RecordValue::Bool(v) => tagged(1, &[u8::from(*v)], out),
        RecordValue::UChar(v) => tagged(2, &[*v], out),
        RecordValue::Short(v) => tagged(3, &v.to_le_bytes(), out),
        RecordValue::UShort(v) => tagged(4, &v.to_le_bytes(), out),
        RecordValue::Int(v) => tagged(5, &v.to_le_bytes(), out),
        RecordValue::UInt(v) => tagged(6, &v.to_le_bytes(), out),
        RecordValue::Int64(v) => tagged(7, &v.to_le_bytes(), out),
        RecordValue::Float(v) => tagged(8, &v.to_le_bytes(), out),
        RecordValue::Double(v) => tagged(9, &v.to_le_bytes(), out),
        RecordValue::Complex(re, im) => {
            out.push(10);
            out.extend_from_slice(&re.to_le_bytes());
            out.extend_from_slice(&im.to_le_bytes());
        }
        RecordValue::DComplex(re, im) => {
            out.push(11);
            out.extend_from_slice(&re.to_le_bytes());
            out.extend_from_slice(&im.to_le_bytes());
        }
        RecordValue::String(s) => {
            out.push(12);
            put_str(s, out);
        }
        RecordValue::Record(r) => {
            out.push(13);
            put_record(r, out);
        }
        // A subtable reference: only its name. The stored path may be absolute and a copy
        // of the table elsewhere is the same table; the subtable's rows are digested apart.
        RecordValue::Table(name) => {
            out.push(14);
            put_str(subtable_name(name), out);
        }
        RecordValue::Array(array) => {
            out.push(15);
            put_len(array.shape.len(), out);
            array
                .shape
                .iter()
                .for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
            put_array(&array.data, out);
        }
    }
}

/// The canonical bytes of a numeric or boolean array cell straight from its stored form, the
/// same bytes [`put_value`] gives for the value casacure decodes from it: `casa_dims` in
/// CASA's order, `nelem` elements of `data` in the file's byte order (booleans bit-packed).
/// An undefined cell (no dimensions) is an empty array of the column's type. `None` for a
/// type stored otherwise (strings) or that casacure cannot decode, and for data shorter than
/// `nelem` elements.
pub(super) fn put_stored_array(
    data_type: DataType,
    casa_dims: &[u32],
    nelem: usize,
    data: &[u8],
    big_endian: bool,
    out: &mut Vec<u8>,
) -> Option<()> {
    // (tag of `put_array`, bytes per element, bytes per swapped number)
    let (tag, size, word) = match data_type {
        DataType::Bool => (1, 0, 0),
        DataType::UChar | DataType::Char => (2, 1, 1),
        DataType::Short => (3, 2, 2),
        DataType::UShort => (4, 2, 2),
        DataType::Int => (5, 4, 4),
        DataType::UInt => (6, 4, 4),
        DataType::Int64 => (7, 8, 8),
        DataType::Float => (8, 4, 4),
        DataType::Complex => (10, 8, 4),
        DataType::DComplex => (11, 16, 8),
        DataType::Double => (9, 8, 8),
        // Strings live in the string buckets; casacure cannot decode arrays of other types.
        _ => return None,
    };
    out.push(15);
    put_len(casa_dims.len(), out);
    casa_dims
        .iter()
        .rev()
        .for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
    out.push(tag);
    // A complex number counts once, its two parts stored one after the other.
    put_len(nelem, out);
    if data_type == DataType::Bool {
        let bits = data.get(..nelem.div_ceil(8))?;
        out.extend((0..nelem).map(|i| bits[i / 8] >> (i % 8) & 1));
        return Some(());
    }
    let bytes = data.get(..nelem.checked_mul(size)?)?;
    if big_endian && word > 1 {
        for number in bytes.chunks_exact(word) {
            out.extend(number.iter().rev());
        }
    } else {
        out.extend_from_slice(bytes);
    }
    Some(())
}

fn put_array(data: &ArrayData, out: &mut Vec<u8>) {
    macro_rules! numbers {
        ($tag:expr, $v:expr) => {{
            out.push($tag);
            put_len($v.len(), out);
            $v.iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }};
    }
    match data {
        ArrayData::Bool(v) => {
            out.push(1);
            put_len(v.len(), out);
            out.extend(v.iter().map(|b| u8::from(*b)));
        }
        ArrayData::UChar(v) => numbers!(2, v),
        ArrayData::Short(v) => numbers!(3, v),
        ArrayData::UShort(v) => numbers!(4, v),
        ArrayData::Int(v) => numbers!(5, v),
        ArrayData::UInt(v) => numbers!(6, v),
        ArrayData::Int64(v) => numbers!(7, v),
        ArrayData::Float(v) => numbers!(8, v),
        ArrayData::Double(v) => numbers!(9, v),
        ArrayData::Complex(v) => {
            out.push(10);
            put_len(v.len(), out);
            for (re, im) in v {
                out.extend_from_slice(&re.to_le_bytes());
                out.extend_from_slice(&im.to_le_bytes());
            }
        }
        ArrayData::DComplex(v) => {
            out.push(11);
            put_len(v.len(), out);
            for (re, im) in v {
                out.extend_from_slice(&re.to_le_bytes());
                out.extend_from_slice(&im.to_le_bytes());
            }
        }
        ArrayData::String(v) => {
            out.push(12);
            put_len(v.len(), out);
            v.iter().for_each(|s| put_str(s, out));
        }
    }
}

/// The last component of a subtable reference (`ANTENNA`, `/data/x.G/ANTENNA`, `./ANTENNA`).
pub(super) fn subtable_name(reference: &str) -> &str {
    reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(reference)
}

fn tagged(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    out.extend_from_slice(bytes);
}

fn put_len(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_str(s: &str, out: &mut Vec<u8>) {
    put_len(s.len(), out);
    out.extend_from_slice(s.as_bytes());
}
