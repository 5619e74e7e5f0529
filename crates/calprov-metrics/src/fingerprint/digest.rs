//! Digests of canonical bytes: xxh3-128, written `xxh3-128:<32 hex digits>`.
//!
//! A column's digest is a two-level tree so that it can be computed in parallel and still not
//! depend on the parallelism: the column's canonical bytes (every element little-endian,
//! complex as real then imaginary, bools one byte 0 or 1, rows in table order) are cut into
//! fixed [`CHUNK_BYTES`] pieces, each piece is hashed, and the digest is the hash of the
//! pieces' 16-byte hashes in order.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_128;

/// The algorithm tag every digest carries.
pub const ALGORITHM: &str = "xxh3-128";

/// Bytes of canonical data per leaf of a column's tree.
pub const CHUNK_BYTES: usize = 1 << 20;

/// `xxh3-128:` and the 128-bit hash of `bytes`, in hex.
pub fn digest_bytes(bytes: &[u8]) -> String {
    format_digest(xxh3_128(bytes))
}

/// The text form of a 128-bit hash.
pub fn format_digest(hash: u128) -> String {
    format!("{ALGORITHM}:{hash:032x}")
}

/// A value as the fingerprint sees it: its canonical little-endian bytes.
pub trait Canonical: Copy + Send + Sync {
    /// Canonical bytes per element.
    const BYTES: usize;
    /// Appends the element's canonical bytes.
    fn put(self, out: &mut Vec<u8>);
}

macro_rules! canonical_number {
    ($($t:ty),*) => {$(
        impl Canonical for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

canonical_number!(f64, f32, i32);

impl Canonical for bool {
    const BYTES: usize = 1;
    fn put(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
}

impl Canonical for (f32, f32) {
    const BYTES: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
    }
}

/// Hashes the canonical bytes of a run of values: straight from memory where its layout
/// already is canonical (little-endian numbers, bools), through a buffer otherwise.
pub trait CanonicalSlice {
    /// Appends the canonical bytes of every element.
    fn put_all(&self, out: &mut Vec<u8>);
    /// The xxh3-128 of the canonical bytes.
    fn hash(&self) -> u128;
}

macro_rules! canonical_plain_slice {
    ($($t:ty),*) => {$(
        impl CanonicalSlice for [$t] {
            fn put_all(&self, out: &mut Vec<u8>) {
                if cfg!(target_endian = "little") {
                    out.extend_from_slice(bytemuck::cast_slice(self));
                } else {
                    self.iter().for_each(|v| v.put(out));
                }
            }
            fn hash(&self) -> u128 {
                if cfg!(target_endian = "little") {
                    xxh3_128(bytemuck::cast_slice(self))
                } else {
                    let mut bytes = Vec::with_capacity(std::mem::size_of_val(self));
                    self.put_all(&mut bytes);
                    xxh3_128(&bytes)
                }
            }
        }
    )*};
}

canonical_plain_slice!(f64, f32, i32);

impl CanonicalSlice for [bool] {
    fn put_all(&self, out: &mut Vec<u8>) {
        // A bool is one byte, 0 or 1, on every target Rust supports.
        out.extend_from_slice(bytemuck::cast_slice(self));
    }
    fn hash(&self) -> u128 {
        xxh3_128(bytemuck::cast_slice(self))
    }
}

impl CanonicalSlice for [(f32, f32)] {
    fn put_all(&self, out: &mut Vec<u8>) {
        out.reserve(self.len() * 8);
        self.iter().for_each(|v| v.put(out));
    }
    fn hash(&self) -> u128 {
        let mut bytes = Vec::with_capacity(self.len() * 8);
        self.put_all(&mut bytes);
        xxh3_128(&bytes)
    }
}

/// The tree digest of a column (see the module docs); leaves hashed in parallel when asked.
pub fn column_digest<T: Canonical>(values: &[T], parallel: bool) -> String
where
    [T]: CanonicalSlice,
{
    let per_chunk = CHUNK_BYTES / T::BYTES;
    let leaf = |chunk: &[T]| chunk.hash().to_le_bytes();
    let leaves: Vec<[u8; 16]> = if parallel {
        values.par_chunks(per_chunk).map(leaf).collect()
    } else {
        values.chunks(per_chunk).map(leaf).collect()
    };
    format_digest(xxh3_128(bytemuck::cast_slice(&leaves)))
}
