//! `--all` on every core: a pass's statements run over id ranges (`CHUNK` solves or
//! applications each) on worker threads, each with its own read-only connection, which
//! render their records into a buffer; this thread writes the buffers in order. At most
//! `WINDOW` chunks are ahead of the writer, so memory stays bounded. The ranges stop at the
//! ids that existed when the export started (`Cut`): history is append-only, so every
//! worker sees the same rows below the cut whatever is recorded meanwhile (on a server,
//! where ids are not committed in order, every worker reads the export's one snapshot).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};

use calprov_prov::{Format, Kind, Record, Writer};

use super::passes::{Owner, Shape, calibrated_entity, relation, version_entity};
use crate::sql::{Cell, Dialect, RowRef};
use crate::{Error, Registry};

/// Solves (or applications) per chunk: a few MB of output.
const CHUNK: i64 = 2048;
/// Chunks rendered ahead of the one being written.
const WINDOW: usize = 4;
/// The capacity of a chunk's buffer: most chunks fit without growing.
const BUFFER: usize = 8 << 20;

/// Chunk buffers, handed back after writing and reused for the whole export: buffers of
/// megabytes allocated and freed on several threads would otherwise stay in the allocator's
/// per-thread arenas (measured: 300 MB peak instead of 80).
#[derive(Debug, Default)]
pub(super) struct Buffers(Mutex<Vec<Vec<u8>>>);

impl Buffers {
    fn take(&self) -> Vec<u8> {
        let mut free = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        free.pop().unwrap_or_else(|| Vec::with_capacity(BUFFER))
    }

    fn give_back(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
    }
}

/// The highest solve and application ids when the export started, and the snapshot every
/// reader reads on a server.
#[derive(Debug, Clone)]
pub(super) struct Cut {
    pub(super) solves: i64,
    pub(super) applications: i64,
    snapshot: Option<String>,
}

impl Cut {
    /// Read in the registry's shared snapshot (`snapshot` its name, on a server).
    pub(super) fn of(registry: &Registry, snapshot: Option<&str>) -> Result<Cut, Error> {
        let max = |table: &str| -> Result<i64, Error> {
            let mut found = 0;
            registry.for_each_row(
                &format!("SELECT coalesce(max(id), 0) FROM {table}"),
                &[],
                "read the provenance history",
                |row| {
                    found = row.id(0)?;
                    Ok(())
                },
            )?;
            Ok(found)
        };
        Ok(Cut {
            solves: max("calprov_solves")?,
            applications: max("calprov_applications")?,
            snapshot: snapshot.map(str::to_owned),
        })
    }

    /// A reader of what this cut covers, for another thread.
    fn reader(&self, registry: &Registry) -> Result<Registry, Error> {
        registry.open_reader(self.snapshot.as_deref())
    }
}

/// How a statement's rows become records.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fill {
    Relation(Kind, Shape),
    /// A caltable version (`export::VERSIONS`).
    Version,
    /// An MS after applycal (`SELECT a.id, a.ms_path`).
    Calibrated,
}

/// One ranged statement (`?1`, `?2`: the owner id range).
pub(super) struct Ranged<'a> {
    pub(super) fill: Fill,
    pub(super) owner: Owner,
    pub(super) sql: &'a str,
}

/// A chunk's job number and its rendered records (and how many), or why it failed.
type Chunk = (usize, Result<(Vec<u8>, u64), Error>);

/// Where the chunks go.
pub(super) struct Output<'a> {
    pub(super) format: Format,
    pub(super) writer: &'a mut dyn Writer,
    pub(super) write_error: &'a dyn Fn(std::io::Error) -> Error,
    pub(super) buffers: &'a Buffers,
}

/// Runs `statements` in order, all records of `kind`; returns how many were written.
pub(super) fn run(
    registry: &Registry,
    kind: Kind,
    statements: &[Ranged<'_>],
    cut: &Cut,
    output: Output<'_>,
) -> Result<u64, Error> {
    let Output {
        format,
        writer,
        write_error,
        buffers,
    } = output;
    let jobs: Vec<(usize, i64, i64)> = statements
        .iter()
        .enumerate()
        .flat_map(|(index, statement)| {
            let max = match statement.owner {
                Owner::Solve => cut.solves,
                Owner::Application => cut.applications,
            };
            (0..)
                .map(|k| 1 + k * CHUNK)
                .take_while(move |lo| *lo <= max)
                .map(move |lo| (index, lo, (lo + CHUNK - 1).min(max)))
        })
        .collect();
    if jobs.is_empty() {
        return Ok(0);
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    // Opened here: a connection moves to its thread, the registry itself stays on this one.
    let readers = (0..workers)
        .map(|_| cut.reader(registry))
        .collect::<Result<Vec<Registry>, Error>>()?;
    let next = AtomicUsize::new(0);
    let written = (Mutex::new(0usize), Condvar::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (results, finished) = mpsc::channel::<Chunk>();
        let mut started = 0;
        for reader in readers {
            let results = results.clone();
            let (jobs, next, written, stop) = (&jobs, &next, &written, &stop);
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                loop {
                    let job = next.fetch_add(1, Ordering::SeqCst);
                    if job >= jobs.len() || stop.load(Ordering::SeqCst) {
                        return;
                    }
                    // Wait while this chunk is more than WINDOW ahead of the writer.
                    let mut done = written.0.lock().unwrap_or_else(PoisonError::into_inner);
                    while job >= *done + WINDOW && !stop.load(Ordering::SeqCst) {
                        done = written.1.wait(done).unwrap_or_else(PoisonError::into_inner);
                    }
                    drop(done);
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let (index, lo, hi) = jobs[job];
                    let rendered =
                        chunk(&reader, format, &statements[index], lo, hi, buffers.take());
                    if results.send((job, rendered)).is_err() {
                        return;
                    }
                }
            });
            match spawned {
                Ok(_) => started += 1,
                // None started: nothing would read. Some did: they do all the jobs.
                Err(source) if started == 0 => {
                    return Err(Error::Spawn {
                        what: "read the provenance history",
                        source,
                    });
                }
                Err(source) => {
                    tracing::warn!(error = %source, "export: fewer reader threads than cores");
                }
            }
        }
        drop(results);
        let outcome = write_in_order(
            &finished,
            jobs.len(),
            kind,
            writer,
            write_error,
            &written,
            buffers,
        );
        stop.store(true, Ordering::SeqCst);
        written.1.notify_all();
        outcome
    })
}

/// Writes the chunks as they arrive, in job order.
fn write_in_order(
    finished: &mpsc::Receiver<Chunk>,
    jobs: usize,
    kind: Kind,
    writer: &mut dyn Writer,
    write_error: &dyn Fn(std::io::Error) -> Error,
    written: &(Mutex<usize>, Condvar),
    buffers: &Buffers,
) -> Result<u64, Error> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut count = 0;
    for (job, rendered) in finished {
        pending.insert(job, rendered);
        while let Some(rendered) = pending.remove(&next) {
            let (bytes, n) = rendered?;
            writer.rendered(kind, &bytes).map_err(write_error)?;
            buffers.give_back(bytes);
            count += n;
            next += 1;
            *written.0.lock().unwrap_or_else(PoisonError::into_inner) = next;
            written.1.notify_all();
        }
        if next == jobs {
            return Ok(count);
        }
    }
    Err(write_error(std::io::Error::other(
        "the export's readers stopped before the end",
    )))
}

/// Renders the records of one statement over ids `lo..=hi`.
fn chunk(
    reader: &Registry,
    format: Format,
    statement: &Ranged<'_>,
    lo: i64,
    hi: i64,
    mut bytes: Vec<u8>,
) -> Result<(Vec<u8>, u64), Error> {
    let mut record = Record::new(Kind::Entity);
    let mut count = 0;
    reader.for_each_row(
        statement.sql,
        &[Cell::Integer(lo), Cell::Integer(hi)],
        "read the provenance history",
        |row: RowRef<'_>| {
            let made = match statement.fill {
                Fill::Relation(kind, shape) => relation(kind, shape, &row, &mut record, None)?,
                Fill::Version => {
                    version_entity(&row, &mut record)?;
                    true
                }
                Fill::Calibrated => {
                    calibrated_entity(&row, &mut record)?;
                    true
                }
            };
            if made {
                // Rendering into memory cannot fail.
                let _ = format.render(&record, &mut bytes);
                count += 1;
            }
            Ok(())
        },
    )?;
    Ok((bytes, count))
}

/// Paths read ahead by [`prefetch`], in order, as they come.
pub(super) type Prefetched = mpsc::Receiver<Result<String, Error>>;

/// Paths sent ahead while a bounded channel has room.
const PREFETCH: usize = 1024;

/// Runs `sql` (one text column) on its own connection and thread, from now: its rows wait
/// in a bounded channel until they are read, and the thread ends when the receiver is
/// dropped.
pub(super) fn prefetch<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    registry: &Registry,
    cut: &Cut,
    sql: &'static str,
) -> Result<Prefetched, Error> {
    let reader = cut.reader(registry)?;
    let action = "read the provenance history";
    if reader.dialect() == Dialect::Sqlite {
        // The bundled SQLite keeps temporary tables in memory; a UNION over the whole
        // history would hold every path there. On disk, its cache bounds the memory.
        reader.execute_here("PRAGMA temp_store = FILE", &[], action)?;
        reader.execute_here("PRAGMA temp.cache_size = -2048", &[], action)?;
    }
    let (send, receive) = mpsc::sync_channel(PREFETCH);
    let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
        let mut stopped = false;
        let result = reader.for_each_row(sql, &[], action, |row| {
            let path = row.text(0)?.unwrap_or_default().into_owned();
            if send.send(Ok(path)).is_err() {
                // The export stopped reading: end the query (the error goes nowhere).
                stopped = true;
                return Err(Error::Write {
                    destination: "the export".to_owned(),
                    source: std::io::Error::other("stopped reading paths"),
                });
            }
            Ok(())
        });
        if let (Err(e), false) = (result, stopped) {
            let _ = send.send(Err(e));
        }
    });
    spawned.map_err(|source| Error::Spawn {
        what: "read paths ahead",
        source,
    })?;
    Ok(receive)
}
