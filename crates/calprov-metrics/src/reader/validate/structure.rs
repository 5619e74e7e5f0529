//! Checks that the counts the table reader will allocate for are plausible, before it reads.
//!
//! casacure trusts every element count it reads from `table.dat` and from a StandardStMan
//! file's header and index: it calls `Vec::with_capacity(count)` before reading the items.
//! A garbled count of a few billion, times a large element type, asks for more memory than
//! the machine has, and a failed allocation aborts the process (no panic to catch). This
//! walk mirrors the reader's structure with casacure's own AipsIO cursor and rejects any
//! count whose items could not fit in the bytes that remain. When the walk itself cannot
//! follow the structure it stops and lets the reader report the error: every allocation
//! before that point has been checked, and the reader fails at the same point.

use casacure::aipsio::Reader;
use casacure::record::DataType;

/// A count that cannot be real.
pub(super) struct Implausible(pub(super) String);

/// Why the walk stopped early (the structure is not what it expects); not a verdict.
struct Stop;

impl From<casacure::aipsio::AipsIoError> for Stop {
    fn from(_: casacure::aipsio::AipsIoError) -> Self {
        Stop
    }
}

enum Halt {
    Stop,
    Implausible(String),
}

impl From<Stop> for Halt {
    fn from(_: Stop) -> Self {
        Halt::Stop
    }
}

impl From<casacure::aipsio::AipsIoError> for Halt {
    fn from(_: casacure::aipsio::AipsIoError) -> Self {
        Halt::Stop
    }
}

type Step<T> = Result<T, Halt>;

fn finish(result: Step<()>) -> Result<(), Implausible> {
    match result {
        Ok(()) | Err(Halt::Stop) => Ok(()),
        Err(Halt::Implausible(reason)) => Err(Implausible(reason)),
    }
}

/// Rejects `count` items of at least `min_bytes` each when they cannot fit in what remains.
fn plausible(r: &Reader<'_>, len: usize, what: &str, count: u64, min_bytes: u64) -> Step<()> {
    let remaining = (len - r.position().min(len)) as u64;
    if count.saturating_mul(min_bytes.max(1)) > remaining {
        return Err(Halt::Implausible(format!(
            "{what} claims {count} items but only {remaining} bytes follow"
        )));
    }
    Ok(())
}

/// Checks `table.dat`; returns the data-file endianness (`true` = big) when it could read it.
pub(super) fn check_table_dat(buf: &[u8]) -> Result<Option<bool>, Implausible> {
    let mut big_endian = None;
    let len = buf.len();
    let mut r = Reader::new(buf);
    let result = (|| -> Step<()> {
        let obj = r.read_object_start(true)?;
        if obj.type_name != "Table" {
            return Err(Halt::Stop);
        }
        match obj.version {
            2 => {
                r.read_u32()?;
            }
            3 => {
                r.read_u64()?;
            }
            _ => return Err(Halt::Stop),
        }
        big_endian = match r.read_u32()? {
            0 => Some(true),
            1 => Some(false),
            _ => return Err(Halt::Stop),
        };
        r.read_string()?;
        let kinds = table_desc(&mut r, len)?;
        column_set(&mut r, len, &kinds)
    })();
    finish(result).map(|()| big_endian)
}

fn table_desc(r: &mut Reader<'_>, len: usize) -> Step<Vec<bool>> {
    let obj = r.read_object_start(false)?;
    if obj.type_name != "TableDesc" {
        return Err(Halt::Stop);
    }
    for _ in 0..3 {
        r.read_string()?;
    }
    table_record(r, len)?;
    if obj.version != 1 {
        table_record(r, len)?;
    }
    let ncols = r.read_u32()?;
    // A column description holds a dozen fields: at least 40 bytes.
    plausible(
        r,
        len,
        "the table description's column count",
        u64::from(ncols),
        40,
    )?;
    let mut is_array = Vec::new();
    for _ in 0..ncols {
        is_array.push(column_desc(r, len)?);
    }
    Ok(is_array)
}

/// Walks one column description; returns whether it is an array column.
fn column_desc(r: &mut Reader<'_>, len: usize) -> Step<bool> {
    r.read_u32()?;
    let class = r.read_string()?;
    let record = class.starts_with("ScalarRecordColumnDesc");
    let scalar = class.starts_with("ScalarColumnDesc<") || record;
    if !scalar && !class.starts_with("ArrayColumnDesc<") {
        return Err(Halt::Stop);
    }
    r.read_u32()?;
    for _ in 0..4 {
        r.read_string()?;
    }
    let data_type = DataType::from_i32(r.read_i32()?).map_err(|_| Halt::Stop)?;
    r.read_i32()?;
    r.read_i32()?;
    if !scalar {
        iposition(r, len)?;
    }
    r.read_i32()?;
    table_record(r, len)?;
    r.read_u32()?;
    if record {
    } else if scalar {
        scalar_value(r, data_type)?;
    } else {
        r.read_bool()?;
    }
    Ok(!scalar)
}

fn column_set(r: &mut Reader<'_>, len: usize, is_array: &[bool]) -> Step<()> {
    let version_raw = r.read_i32()?;
    let version = if version_raw < 0 {
        let v = version_raw.unsigned_abs();
        if v <= 2 {
            r.read_u32()?;
        } else {
            r.read_u64()?;
        }
        v
    } else {
        1
    };
    if version >= 3 {
        r.read_i32()?;
        r.read_i32()?;
    }
    r.read_u32()?;
    let nr = r.read_u32()?;
    plausible(
        r,
        len,
        "the column set's data-manager count",
        u64::from(nr),
        8,
    )?;
    let mut types = Vec::new();
    for _ in 0..nr {
        types.push(r.read_string()?);
        r.read_u32()?;
    }
    for array in is_array {
        if r.read_u32()? != 2 {
            return Err(Halt::Stop);
        }
        r.read_string()?;
        r.read_u32()?;
        r.read_u32()?;
        if *array && r.read_bool()? {
            iposition(r, len)?;
        }
    }
    for type_name in types {
        let blob = r.read_opaque()?;
        if type_name == "StandardStMan" {
            ssm_spec(blob)?;
        }
    }
    Ok(())
}

fn ssm_spec(blob: &[u8]) -> Step<()> {
    let len = blob.len();
    let mut r = Reader::new(blob);
    let obj = r.read_object_start(true)?;
    if obj.type_name != "SSM" {
        return Err(Halt::Stop);
    }
    r.read_string()?;
    for _ in 0..2 {
        block(&mut r, len, 4)?;
    }
    Ok(())
}

/// A framed `Block` of `item_bytes`-sized items.
fn block(r: &mut Reader<'_>, len: usize, item_bytes: u64) -> Step<()> {
    let obj = r.read_object_start(false)?;
    if obj.type_name != "Block" {
        return Err(Halt::Stop);
    }
    let n = r.read_u32()?;
    plausible(r, len, "a Block", u64::from(n), item_bytes)?;
    r.skip((n as usize).saturating_mul(item_bytes as usize))?;
    Ok(())
}

fn iposition(r: &mut Reader<'_>, len: usize) -> Step<()> {
    let (version, _) = r.read_object(false, "IPosition")?;
    let n = r.read_u32()?;
    let item = if version == 2 { 8 } else { 4 };
    plausible(r, len, "an IPosition", u64::from(n), item)?;
    r.skip((n as usize).saturating_mul(item as usize))?;
    Ok(())
}

/// The shape of a record description, enough to walk its data.
enum Field {
    Table,
    Record(Vec<Field>),
    Array(DataType),
    Scalar(DataType),
}

fn record_desc(r: &mut Reader<'_>, len: usize) -> Step<Vec<Field>> {
    let (version, _) = r.read_object(false, "RecordDesc")?;
    let nfields = r.read_i32()?.max(0);
    // A field is at least a name length and a type code.
    plausible(
        r,
        len,
        "a record description's field count",
        nfields as u64,
        8,
    )?;
    let mut fields = Vec::new();
    for _ in 0..nfields {
        r.read_string()?;
        let data_type = DataType::from_i32(r.read_i32()?).map_err(|_| Halt::Stop)?;
        let field = match data_type {
            DataType::Record => Field::Record(record_desc(r, len)?),
            DataType::Table => {
                r.read_string()?;
                Field::Table
            }
            dt if dt.is_array() => {
                iposition(r, len)?;
                Field::Array(dt.element_type())
            }
            dt => Field::Scalar(dt),
        };
        if version > 1 {
            r.read_string()?;
        }
        fields.push(field);
    }
    Ok(fields)
}

fn table_record(r: &mut Reader<'_>, len: usize) -> Step<()> {
    let obj = r.read_object_start(false)?;
    if obj.type_name != "TableRecord" {
        return Err(Halt::Stop);
    }
    let desc = record_desc(r, len)?;
    r.read_i32()?;
    record_data(r, len, &desc)
}

fn record_data(r: &mut Reader<'_>, len: usize, fields: &[Field]) -> Step<()> {
    for field in fields {
        match field {
            Field::Table => {
                r.read_string()?;
            }
            Field::Record(sub) if sub.is_empty() => table_record(r, len)?,
            Field::Record(sub) => record_data(r, len, sub)?,
            Field::Array(element) => array(r, len, *element)?,
            Field::Scalar(dt) => scalar_value(r, *dt)?,
        }
    }
    Ok(())
}

fn array(r: &mut Reader<'_>, len: usize, element: DataType) -> Step<()> {
    let obj = r.read_object_start(false)?;
    if !obj.type_name.starts_with("Array") {
        return Err(Halt::Stop);
    }
    let ndim = r.read_u32()?;
    plausible(r, len, "an array's dimension count", u64::from(ndim), 4)?;
    r.skip(ndim as usize * 4)?;
    if obj.version < 3 {
        r.skip(ndim as usize * 4)?;
    }
    let nelem = r.read_u32()?;
    let (min_bits, fixed) = match element {
        DataType::Bool => (1, true),
        DataType::Char | DataType::UChar => (8, true),
        DataType::Short | DataType::UShort => (16, true),
        DataType::Int | DataType::UInt | DataType::Float => (32, true),
        DataType::Int64 | DataType::Double | DataType::Complex => (64, true),
        DataType::DComplex => (128, true),
        // Strings: at least their 4-byte length each.
        _ => (32, false),
    };
    let min_bytes = (u64::from(nelem) * min_bits).div_ceil(8);
    plausible(r, len, "an array's element count", min_bytes, 1)?;
    if fixed {
        r.skip(min_bytes as usize)?;
    } else {
        for _ in 0..nelem {
            r.read_string()?;
        }
    }
    Ok(())
}

fn scalar_value(r: &mut Reader<'_>, dt: DataType) -> Step<()> {
    let bytes = match dt {
        DataType::Bool | DataType::Char | DataType::UChar => 1,
        DataType::Short | DataType::UShort => 2,
        DataType::Int | DataType::UInt | DataType::Float => 4,
        DataType::Int64 | DataType::Double | DataType::Complex => 8,
        DataType::DComplex => 16,
        DataType::String => {
            r.read_string()?;
            return Ok(());
        }
        _ => return Err(Halt::Stop),
    };
    r.skip(bytes)?;
    Ok(())
}

/// Checks a StandardStMan data file's header and index (`table.f<n>`): `head` is the
/// file's first bytes (the header lives in the first 512), `len` its size, and
/// `read_at(offset, n)` reads `n` bytes at `offset` (the index buckets), so a large data
/// file is not read whole.
pub(super) fn check_ssm_file(
    head: &[u8],
    len: usize,
    read_at: impl Fn(usize, usize) -> Option<Vec<u8>>,
    big_endian: bool,
) -> Result<(), Implausible> {
    let mut r = if big_endian {
        Reader::new(head)
    } else {
        Reader::new_le(head)
    };
    let result = (|| -> Step<()> {
        let obj = r.read_object_start(true)?;
        if obj.type_name != "StandardStMan" {
            return Err(Halt::Stop);
        }
        if obj.version >= 3 {
            r.read_bool()?;
        }
        let bucket_size = r.read_u32()? as usize;
        r.read_u32()?; // buckets
        r.read_u32()?; // cache size
        r.read_u32()?; // free buckets
        r.read_i32()?; // first free bucket
        let nr_index_buckets = r.read_u32()?;
        let first_index_bucket = r.read_i32()?;
        let index_bucket_offset = r.read_i32()?;
        r.read_i32()?; // last string bucket
        let index_length = r.read_u32()?;
        let nr_index = r.read_u32()?;
        if nr_index == 0 {
            return Ok(());
        }
        if index_length as usize > len {
            return Err(Halt::Implausible(format!(
                "the bucket index claims {index_length} bytes in a {len}-byte file"
            )));
        }
        // An SSMIndex object is at least its framing and three numbers.
        if u64::from(nr_index) * 24 > u64::from(index_length) {
            return Err(Halt::Implausible(format!(
                "{nr_index} bucket indexes cannot fit in {index_length} bytes"
            )));
        }
        if first_index_bucket < 0 || bucket_size < 8 {
            return Err(Halt::Stop);
        }
        if index_bucket_offset > 0 && index_bucket_offset as usize >= bucket_size {
            return Err(Halt::Implausible(format!(
                "the bucket index starts at offset {index_bucket_offset} of a {bucket_size}-byte bucket"
            )));
        }
        // The reader follows the chain of index buckets up to `nr_index_buckets` times, even
        // around a cycle and after the index is complete: a count beyond the buckets the file
        // holds would keep it (and this check) busy for billions of steps.
        let buckets_in_file = len.saturating_sub(casacure::ssm::DATA_START) / bucket_size;
        if nr_index_buckets as usize > buckets_in_file {
            return Err(Halt::Implausible(format!(
                "the bucket index claims {nr_index_buckets} index buckets in a file of {buckets_in_file}"
            )));
        }
        // Assemble the index stream as the reader does, then walk it.
        let mut stream = Vec::with_capacity(index_length as usize);
        let mut left = index_length as usize;
        let mut bucket_nr = first_index_bucket as usize;
        for _ in 0..nr_index_buckets {
            let start = bucket_nr
                .checked_mul(bucket_size)
                .and_then(|o| o.checked_add(casacure::ssm::DATA_START))
                .ok_or(Halt::Stop)?;
            if start.saturating_add(bucket_size) > len {
                return Err(Halt::Stop);
            }
            let bucket = read_at(start, bucket_size).ok_or(Halt::Stop)?;
            let next = i32::from_be_bytes([bucket[4], bucket[5], bucket[6], bucket[7]]);
            let (from, room) = if index_bucket_offset > 0 {
                let off = index_bucket_offset as usize;
                (off, bucket_size.saturating_sub(off))
            } else {
                (8, bucket_size - 8)
            };
            let take = left.min(room);
            stream.extend_from_slice(bucket.get(from..from + take).ok_or(Halt::Stop)?);
            left -= take;
            if next < 0 || left == 0 {
                break;
            }
            bucket_nr = next as usize;
        }
        let slen = stream.len();
        let mut s = if big_endian {
            Reader::new(&stream)
        } else {
            Reader::new_le(&stream)
        };
        for _ in 0..nr_index {
            let obj = s.read_object_start(true)?;
            if obj.type_name != "SSMIndex" {
                return Err(Halt::Stop);
            }
            s.read_u32()?;
            s.read_u32()?;
            s.read_i32()?;
            let map = s.read_object_start(false)?;
            if map.type_name != "SimpleOrderedMap" {
                return Err(Halt::Stop);
            }
            s.read_i32()?;
            let n_free = s.read_u32()?;
            s.read_u32()?;
            plausible(&s, slen, "a free-bucket map", u64::from(n_free), 8)?;
            s.skip(n_free as usize * 8)?;
            block(&mut s, slen, if obj.version >= 2 { 8 } else { 4 })?;
            block(&mut s, slen, 4)?;
        }
        Ok(())
    })();
    finish(result)
}
