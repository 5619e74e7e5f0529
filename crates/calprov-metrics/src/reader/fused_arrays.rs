//! The solution's array columns that share StandardStMan's buckets, read in one walk
//! ([`ssm::for_each_array_of`]) into one vector per column.
//!
//! A table CASA wrote has one cell shape per column, so row `r`'s cells of a column sit at
//! `r * cells_per_row`: read in parallel, each chunk of rows then decodes straight into its
//! own part of each column, allocated once. Otherwise (shapes that vary, undefined cells, one
//! thread) each chunk decodes into vectors of its own, appended in row order: at a million
//! solutions that was 34 MB allocated and copied a second time.

use casacure::record::DataType;
use rayon::prelude::*;

use super::columns::{CellShapes, Cells, ColumnReader, READ_CHUNK_ROWS};
use super::decode::Element;
use super::guard::{WalkError, guarded};
use super::ssm::{self, SsmColumn};
use crate::Error;

/// A chunk's part of one column, while it is decoded in place.
enum CellsMut<'a> {
    Complex(&'a mut [(f32, f32)]),
    Float(&'a mut [f32]),
    Bool(&'a mut [bool]),
}

impl CellsMut<'_> {
    /// Decodes `n` elements from `data` into this part's cells `at..at + n`.
    fn decode_at(&mut self, at: usize, n: usize, data: &[u8], big_endian: bool) {
        match self {
            CellsMut::Complex(v) => Element::decode_to(data, big_endian, &mut v[at..at + n]),
            CellsMut::Float(v) => Element::decode_to(data, big_endian, &mut v[at..at + n]),
            CellsMut::Bool(v) => Element::decode_to(data, big_endian, &mut v[at..at + n]),
        }
    }
}

impl Cells {
    /// `n` cells of a column of `data_type`, zeroed (the allocator's zero pages: written once,
    /// by the walk).
    fn zeroed(data_type: DataType, n: usize) -> Self {
        match data_type {
            DataType::Complex => Cells::Complex(vec![(0.0, 0.0); n]),
            DataType::Bool => Cells::Bool(vec![false; n]),
            _ => Cells::Float(vec![0.0; n]),
        }
    }

    /// The column cut into parts of `cells` cells.
    fn parts_mut(&mut self, cells: usize) -> Vec<CellsMut<'_>> {
        let cells = cells.max(1);
        match self {
            Cells::Complex(v) => v.chunks_mut(cells).map(CellsMut::Complex).collect(),
            Cells::Float(v) => v.chunks_mut(cells).map(CellsMut::Float).collect(),
            Cells::Bool(v) => v.chunks_mut(cells).map(CellsMut::Bool).collect(),
        }
    }
}

impl ColumnReader<'_> {
    /// Reads the columns of `walk` (each of the type in `kinds`) whole, with the layout of the
    /// one at `param_at`.
    pub(super) fn fused_arrays(
        &self,
        walk: &[(&SsmColumn<'_>, usize)],
        kinds: &[DataType],
        param_at: Option<usize>,
    ) -> Result<(Vec<Cells>, CellShapes), Error> {
        if self.parallel
            && let Some(read) = self.fused_arrays_in_place(walk, kinds, param_at)?
        {
            return Ok(read);
        }
        let mut parts = self.by_chunks(|start, end| {
            guarded(self.path, "solution arrays", || {
                let mut cells: Vec<Cells> = kinds
                    .iter()
                    .map(|kind| Cells::empty(*kind).reserve((end - start) * 2))
                    .collect();
                let mut shapes = CellShapes::default();
                let visit = |k: usize, _, dims: &[u32], nelem, data: &[u8]| {
                    cells[k].decode(data, nelem, walk[k].0.big_endian);
                    if Some(k) == param_at {
                        shapes.add(dims, nelem);
                    }
                    Ok(())
                };
                ssm::for_each_array_of(walk, start, end, visit).map_err(WalkError)?;
                Ok::<_, WalkError>((cells, shapes))
            })
        })?;
        // One part as it is (a table read on one thread); more appended into vectors
        // allocated once at their final size.
        if parts.len() == 1
            && let Some(part) = parts.pop()
        {
            return Ok(part);
        }
        let mut whole: Vec<Cells> = kinds
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let total = parts.iter().map(|(cells, _)| cells[k].len()).sum();
                Cells::empty(*kind).reserve(total)
            })
            .collect();
        let mut shapes = CellShapes::default();
        for (cells, part_shapes) in parts {
            shapes.extend(part_shapes);
            for (column, part) in whole.iter_mut().zip(cells) {
                column.append(part);
            }
        }
        Ok((whole, shapes))
    }

    /// [`Self::fused_arrays`] when every row's cell of each column has as many elements as row
    /// 0's: each chunk of rows decodes into its own part of each column. `None` (nothing
    /// read) when a cell differs, when row 0 has an undefined cell, or for an empty table.
    fn fused_arrays_in_place(
        &self,
        walk: &[(&SsmColumn<'_>, usize)],
        kinds: &[DataType],
        param_at: Option<usize>,
    ) -> Result<Option<(Vec<Cells>, CellShapes)>, Error> {
        let n = self.n_rows;
        if n == 0 || walk.is_empty() {
            return Ok(None);
        }
        let mut per_row = vec![0usize; walk.len()];
        guarded(self.path, "solution arrays", || {
            ssm::for_each_array_of(walk, 0, 1, |k, _, _, nelem, _| {
                per_row[k] = nelem;
                Ok(())
            })
            .map_err(WalkError)
        })?;
        let Some(total) = per_row
            .iter()
            .map(|cells| n.checked_mul(*cells))
            .collect::<Option<Vec<usize>>>()
        else {
            return Ok(None);
        };
        // Every row's cell must be in the array file: a table whose row 0 claims more than
        // the file could hold for all its rows (a damaged one) is not allocated for here; the
        // general path reads what is really there.
        let fits = walk.iter().zip(&total).all(|((column, bits), cells)| {
            *cells > 0
                && cells
                    .checked_mul(*bits)
                    .is_some_and(|bits| bits.div_ceil(8) <= column.array_file_bytes())
        });
        if !fits {
            return Ok(None);
        }
        let mut columns: Vec<Cells> = kinds
            .iter()
            .zip(&total)
            .map(|(kind, total)| Cells::zeroed(*kind, *total))
            .collect();
        let chunks = n.div_ceil(READ_CHUNK_ROWS);
        let mut sinks: Vec<Vec<CellsMut<'_>>> = (0..chunks)
            .map(|_| Vec::with_capacity(walk.len()))
            .collect();
        for (column, cells) in columns.iter_mut().zip(&per_row) {
            for (c, part) in column
                .parts_mut(READ_CHUNK_ROWS * cells)
                .into_iter()
                .enumerate()
            {
                sinks[c].push(part);
            }
        }
        let read_chunk = |(c, mut parts): (usize, Vec<CellsMut<'_>>)| {
            let start = c * READ_CHUNK_ROWS;
            let end = (start + READ_CHUNK_ROWS).min(n);
            guarded(self.path, "solution arrays", || {
                let mut shapes = CellShapes::default();
                let mut uniform = true;
                let visit = |k: usize, row: usize, dims: &[u32], nelem, data: &[u8]| {
                    if nelem != per_row[k] {
                        uniform = false;
                        // Stops the walk; told apart from a damaged table below.
                        return Err(String::new());
                    }
                    parts[k].decode_at((row - start) * nelem, nelem, data, walk[k].0.big_endian);
                    if Some(k) == param_at {
                        shapes.add(dims, nelem);
                    }
                    Ok(())
                };
                match ssm::for_each_array_of(walk, start, end, visit) {
                    Ok(()) => Ok(Some(shapes)),
                    Err(_) if !uniform => Ok(None),
                    Err(reason) => Err(WalkError(reason)),
                }
            })
        };
        let chunk_shapes: Vec<Option<CellShapes>> = sinks
            .into_par_iter()
            .enumerate()
            .map(read_chunk)
            .collect::<Result<_, Error>>()?;
        let mut shapes = CellShapes::default();
        for part in chunk_shapes {
            let Some(part) = part else {
                return Ok(None);
            };
            shapes.extend(part);
        }
        Ok(Some((columns, shapes)))
    }
}
