//! A synthetic lineage registry at pipeline scale: `cargo xtask gen-lineage` and the lineage
//! benches build it.
//!
//! Shape, for `n` caltables (one solve each): blocks of 20 solves form chains of depth 20
//! (solve `j` of a block applies solve `j - 1` and the block's first two solves, three
//! gaintable edges per solve, so 3n edges in all); one application per caltable applies its
//! table and the block's first one. One hub table (solve 1, in no block) is applied by the
//! first solve of 500 blocks, so it has exactly 10,000 descendants.

use std::path::Path;

use rusqlite::{Connection, params};

/// Solves per chain.
pub const CHAIN: usize = 20;
/// Blocks whose first solve applies the hub.
pub const HUB_BLOCKS: usize = 500;

/// The tables the benches ask about.
#[derive(Debug, Clone)]
pub struct LineageFixture {
    /// A table with `HUB_BLOCKS * CHAIN` descendants.
    pub hub: String,
    /// The last table of a depth-20 chain.
    pub deep: String,
}

fn path(i: usize) -> String {
    format!("/data/cal/lineage/c{i:07}_gacal")
}

/// The fixture's names for a registry of `n` caltables.
pub fn lineage_fixture(n: usize) -> LineageFixture {
    LineageFixture {
        hub: path(0),
        deep: path(CHAIN.min(n.saturating_sub(1))),
    }
}

/// Writes the registry at `db` (created and migrated through calprov-core first, so the
/// schema is the real one) with `n` caltables.
pub fn write_lineage_registry(db: &Path, n: usize) -> Result<LineageFixture, String> {
    drop(calprov_core::Registry::open(db).map_err(|e| format!("{e}"))?);
    let conn = Connection::open(db).map_err(|e| e.to_string())?;
    fill(&conn, n).map_err(|e| e.to_string())?;
    Ok(lineage_fixture(n))
}

fn fill(conn: &Connection, n: usize) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA synchronous = OFF;")?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut caltable = tx.prepare(
            "INSERT INTO caltables (set_name, path, table_type, order_index, created_at, status, \
             source_ms_path, solver_version) VALUES (?1, ?2, 'GA', 40, ?3, 'active', ?4, '6.7.0.31')",
        )?;
        let mut solve = tx.prepare(
            "INSERT INTO calprov_solves (id, caltable_path, solved_at, origin, outcome, task, params, \
             command, casa_version, source_ms_path, selection, cwd, host) \
             VALUES (?1, ?2, ?3, 'tracked', 'tracked', 'gaincal', ?4, ?5, '6.7.0.31', ?6, '{}', '/work', 'node1')",
        )?;
        let mut input = tx.prepare(
            "INSERT INTO calprov_solve_inputs (solve_id, caltable_path, role, idx, path, input_solve_id) \
             VALUES (?1, ?6, ?2, ?3, ?4, ?5)",
        )?;
        let mut application = tx.prepare(
            "INSERT INTO calprov_applications (id, applied_at, ms_path, params, selection, command, cwd, host) \
             VALUES (?1, ?2, ?3, '{}', '{}', 'applycal()', '/work', 'node1')",
        )?;
        let mut applied = tx.prepare(
            "INSERT INTO calprov_application_tables (application_id, idx, caltable_path, solve_id, ms_path) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for i in 0..n {
            let id = (i + 1) as i64;
            let at = 1.7e9 + i as f64;
            let ms = format!("/data/ms/obs{:06}.ms", i / CHAIN);
            caltable.execute(params![format!("set{}", i / CHAIN), path(i), at, ms])?;
            solve.execute(params![
                id,
                path(i),
                at,
                format!("{{\"vis\": \"{ms}\"}}"),
                format!("gaincal(vis='{ms}')"),
                ms
            ])?;
            input.execute(params![id, "vis", 0, ms, Option::<i64>::None, path(i)])?;
            // Solve 0 is the hub; blocks of CHAIN start at 1.
            let used: Vec<usize> = if i == 0 {
                Vec::new()
            } else {
                let block_start = 1 + (i - 1) / CHAIN * CHAIN;
                let j = i - block_start;
                let block = (i - 1) / CHAIN;
                match j {
                    0 if block < HUB_BLOCKS => vec![0],
                    0 => Vec::new(),
                    1 => vec![block_start],
                    _ => vec![i - 1, block_start, block_start + 1],
                }
            };
            for (idx, u) in used.iter().enumerate() {
                input.execute(params![
                    id,
                    "gaintable",
                    idx as i64,
                    path(*u),
                    (*u + 1) as i64,
                    path(i)
                ])?;
            }
            let target = format!("/data/ms/target{i:07}.ms");
            application.execute(params![id, at + 0.5, target])?;
            applied.execute(params![id, 0, path(i), id, target])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
}
