//! Decoding cells from the bytes StandardStMan stores: fixed-size scalars, and array
//! elements (bit-packed bools, floats, complex pairs), in either byte order.

use casacure::record::{ArrayData, DataType, RecordValue};

/// A fixed-size number as StandardStMan stores it.
pub(super) trait Primitive: Sized + Copy + Send + Sync {
    /// Bytes per value.
    const BYTES: usize;
    /// The value a preallocated output starts with.
    const ZERO: Self;
    /// The value in the first [`Self::BYTES`] of `bytes`.
    fn decode(bytes: &[u8], big_endian: bool) -> Self;
}

/// One implementation for every number type: they differ only in width.
macro_rules! primitive {
    ($($t:ty),*) => {$(
        impl Primitive for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            const ZERO: Self = 0 as $t;
            fn decode(bytes: &[u8], big_endian: bool) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(&bytes[..Self::BYTES]);
                if big_endian { <$t>::from_be_bytes(raw) } else { <$t>::from_le_bytes(raw) }
            }
        }
    )*};
}

primitive!(f64, f32, i32);

/// A scalar column's cell type: how it is stored, and how the generic path's value maps.
pub(super) trait Scalar: Primitive {
    /// The data type a StandardStMan column of this type declares.
    const DATA_TYPE: DataType;
    /// The value of a generically decoded cell, `None` for another type.
    fn from_value(value: RecordValue) -> Option<Self>;
}

impl Scalar for f64 {
    const DATA_TYPE: DataType = DataType::Double;
    fn from_value(value: RecordValue) -> Option<Self> {
        match value {
            RecordValue::Double(x) => Some(x),
            _ => None,
        }
    }
}

impl Scalar for i32 {
    const DATA_TYPE: DataType = DataType::Int;
    fn from_value(value: RecordValue) -> Option<Self> {
        match value {
            RecordValue::Int(x) => Some(x),
            RecordValue::Short(x) => Some(i32::from(x)),
            _ => None,
        }
    }
}

/// An array column's element type.
pub(super) trait Element: Sized + Copy + Send + Sync {
    /// Bits per element in the array file (bools are bit-packed).
    const BITS: usize;
    /// The value a preallocated output starts with.
    const ZERO: Self;
    /// Decodes `out.len()` elements from `bytes` into `out`.
    fn decode_to(bytes: &[u8], big_endian: bool, out: &mut [Self]);
    /// casacure's decoded form, for the generic path.
    fn from_array(data: ArrayData) -> Option<Vec<Self>>;

    /// Appends `n` elements decoded from `bytes`.
    fn decode_into(bytes: &[u8], n: usize, big_endian: bool, out: &mut Vec<Self>) {
        let at = out.len();
        out.resize(at + n, Self::ZERO);
        Self::decode_to(bytes, big_endian, &mut out[at..]);
    }
}

impl Element for bool {
    const BITS: usize = 1;
    const ZERO: Self = false;
    fn decode_to(bytes: &[u8], _big_endian: bool, out: &mut [Self]) {
        // Bit-packed, least significant bit first (casacore's bitToBool).
        for (i, value) in out.iter_mut().enumerate() {
            *value = bytes[i / 8] >> (i % 8) & 1 == 1;
        }
    }
    fn from_array(data: ArrayData) -> Option<Vec<Self>> {
        match data {
            ArrayData::Bool(v) => Some(v),
            _ => None,
        }
    }
}

impl Element for f32 {
    const BITS: usize = 32;
    const ZERO: Self = 0.0;
    fn decode_to(bytes: &[u8], big_endian: bool, out: &mut [Self]) {
        let bytes = &bytes[..out.len() * Self::BYTES];
        for (value, b) in out.iter_mut().zip(bytes.chunks_exact(Self::BYTES)) {
            *value = f32::decode(b, big_endian);
        }
    }
    fn from_array(data: ArrayData) -> Option<Vec<Self>> {
        match data {
            ArrayData::Float(v) => Some(v),
            _ => None,
        }
    }
}

/// A complex value, stored as two consecutive floats (real, imaginary).
impl Element for (f32, f32) {
    const BITS: usize = 64;
    const ZERO: Self = (0.0, 0.0);
    fn decode_to(bytes: &[u8], big_endian: bool, out: &mut [Self]) {
        let bytes = &bytes[..out.len() * 8];
        for (value, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            *value = (
                f32::decode(&b[..4], big_endian),
                f32::decode(&b[4..], big_endian),
            );
        }
    }
    fn from_array(data: ArrayData) -> Option<Vec<Self>> {
        match data {
            ArrayData::Complex(v) => Some(v),
            _ => None,
        }
    }
}
