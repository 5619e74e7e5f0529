//! Writes to `caltables`: registering sets (merge-upsert or ignore), writing provenance, and
//! retiring sets. Every write runs in one `BEGIN IMMEDIATE` transaction.

use std::path::Path;
use std::sync::LazyLock;

use calprov_schema::PROVENANCE_COLUMNS;

use super::Registry;
use super::rows::{INSERT_IGNORE_SQL, PreparedRow, UPSERT_SQL, lookup_candidates, object_text};
use crate::Error;
use crate::caltable_row::{
    NewCaltable, Provenance, ProvenanceUpdate, RegisterMode, RegisterSummary,
};
use crate::clock::unix_now;
use crate::sql::{Cell, Tx};
use crate::suffix_rules::find_caltables;

/// `UPDATE caltables SET <the five provenance columns> = ?2.. WHERE path = ?1`.
static UPDATE_PROVENANCE_SQL: LazyLock<String> = LazyLock::new(|| {
    let assignments: Vec<String> = PROVENANCE_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("{name} = ?{}", i + 2))
        .collect();
    format!(
        "UPDATE caltables SET {} WHERE path = ?1",
        assignments.join(", ")
    )
});

impl Registry {
    /// Registers `rows` in set `set` in one transaction (all or nothing).
    ///
    /// `Upsert` keeps an existing row's id and merges: incoming non-null values win, nulls
    /// keep what is stored, so provenance already recorded is never erased. (The Python
    /// pipeline's `INSERT OR REPLACE` deletes and reinserts, losing both.) `Ignore` leaves an
    /// existing row untouched. Paths are stored normalised to absolute form.
    pub fn register_set(
        &mut self,
        set: &str,
        rows: &[NewCaltable],
        mode: RegisterMode,
    ) -> Result<RegisterSummary, Error> {
        let prepared = rows
            .iter()
            .map(|row| PreparedRow::new(set, row))
            .collect::<Result<Vec<_>, _>>()?;
        let now = unix_now();
        let mut tx = self.begin_write("begin register")?;
        let mut summary = RegisterSummary::default();
        let statement = match mode {
            RegisterMode::Upsert => UPSERT_SQL.as_str(),
            RegisterMode::Ignore => INSERT_IGNORE_SQL.as_str(),
        };
        for row in &prepared {
            let existed = tx
                .query_i64(
                    "SELECT 1 FROM caltables WHERE path = ?1",
                    &[Cell::from(row.path.as_str())],
                    "look up caltable",
                )?
                .is_some();
            tx.execute(statement, &row.values(set, now), "register caltable")?;
            match (existed, mode) {
                (false, _) => summary.inserted += 1,
                (true, RegisterMode::Upsert) => summary.updated += 1,
                (true, RegisterMode::Ignore) => summary.ignored += 1,
            }
        }
        tx.commit("commit register")?;
        tracing::info!(set, ?summary, "registered caltables");
        Ok(summary)
    }

    /// Registers the caltable directories named `<prefix>*`, typed and ordered by suffix.
    pub fn register_from_prefix(
        &mut self,
        set: &str,
        prefix: &Path,
        template: &NewCaltable,
        mode: RegisterMode,
    ) -> Result<(Vec<NewCaltable>, RegisterSummary), Error> {
        let rows: Vec<NewCaltable> = find_caltables(prefix)?
            .into_iter()
            .map(|typed| NewCaltable {
                path: typed.path.to_string_lossy().into_owned(),
                table_type: typed.table_type,
                order_index: typed.order_index,
                ..template.clone()
            })
            .collect();
        let summary = self.register_set(set, &rows, mode)?;
        Ok((rows, summary))
    }

    /// Marks every caltable of `set` retired and appends the reason to its notes; returns
    /// how many rows changed.
    pub fn retire_set(&mut self, set: &str, reason: &str) -> Result<usize, Error> {
        let mut tx = self.begin_write("begin retire")?;
        let note = format!("retired: {reason}");
        let changed = tx.execute(
            "UPDATE caltables SET status = 'retired', \
             notes = CASE WHEN notes IS NULL OR notes = '' THEN ?2 ELSE notes || '; ' || ?2 END \
             WHERE set_name = ?1 AND status != 'retired'",
            &[Cell::from(set), Cell::from(note)],
            "retire set",
        )?;
        tx.commit("commit retire")?;
        let changed = usize::try_from(changed).unwrap_or(usize::MAX);
        Ok(changed)
    }
}

/// Writes the five provenance columns of a registered caltable inside the caller's
/// transaction, replacing what was there. An unregistered caltable gets no row.
pub(crate) fn write_provenance(
    tx: &mut Tx<'_>,
    caltable: &str,
    provenance: &Provenance,
) -> Result<ProvenanceUpdate, Error> {
    let params_json = provenance
        .solver_params
        .as_ref()
        .map(|v| object_text(caltable, "solver_params", v))
        .transpose()?;
    let metrics_json = provenance
        .quality_metrics
        .as_ref()
        .map(|v| object_text(caltable, "quality_metrics", v))
        .transpose()?;
    for candidate in lookup_candidates(caltable) {
        let changed = tx.execute(
            &UPDATE_PROVENANCE_SQL,
            &[
                Cell::from(candidate),
                Cell::from(provenance.source_ms_path.as_deref()),
                Cell::from(provenance.solver_command.as_deref()),
                Cell::from(provenance.solver_version.as_deref()),
                Cell::from(params_json.clone()),
                Cell::from(metrics_json.clone()),
            ],
            "write provenance",
        )?;
        if changed > 0 {
            return Ok(ProvenanceUpdate::Updated);
        }
    }
    Ok(ProvenanceUpdate::NotRegistered)
}
