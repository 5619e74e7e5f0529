//! The QA verdict: issues fail a caltable, warnings only inform.

use crate::QualityMetrics;

/// Configurable QA thresholds; the defaults are DESIGN.md section 4's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QaThresholds {
    /// Mean SNR below this is an issue.
    pub snr_issue: f64,
    /// Mean SNR below this is a warning.
    pub snr_warning: f64,
    /// Flagged fraction above this is an issue.
    pub flagged_issue: f64,
    /// Flagged fraction above this is a warning.
    pub flagged_warning: f64,
    /// Fewer antennas than this is an issue.
    pub min_antennas: u64,
}

impl Default for QaThresholds {
    fn default() -> Self {
        Self {
            snr_issue: 5.0,
            snr_warning: 10.0,
            flagged_issue: 0.5,
            flagged_warning: 0.2,
            min_antennas: 10,
        }
    }
}

/// Issues and warnings of one assessment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Reasons to fail.
    pub issues: Vec<String>,
    /// Things to look at.
    pub warnings: Vec<String>,
}

/// True for delay (K) tables: CASA does not fill their SNR, so it is not judged.
pub fn is_delay_table(metrics: &QualityMetrics) -> bool {
    metrics
        .vis_cal
        .as_deref()
        .is_some_and(|v| v.trim_start().starts_with('K'))
}

/// Judges metrics against thresholds.
pub fn assess(m: &QualityMetrics, t: &QaThresholds) -> Verdict {
    let mut v = Verdict::default();
    if m.n_solutions == 0 {
        v.issues.push("the table has no solutions".to_owned());
        return v;
    }
    if is_delay_table(m) {
        v.warnings.push(format!(
            "SNR is not available for {} tables (CASA does not fill it); SNR not assessed",
            m.vis_cal.as_deref().unwrap_or("K Jones")
        ));
    } else {
        match m.snr_mean {
            Some(mean) if mean < t.snr_issue => v
                .issues
                .push(format!("mean SNR {mean:.2} is below {}", t.snr_issue)),
            Some(mean) if mean < t.snr_warning => v
                .warnings
                .push(format!("mean SNR {mean:.2} is below {}", t.snr_warning)),
            Some(_) => {}
            None => v
                .warnings
                .push("no SNR values: SNR not assessed".to_owned()),
        }
    }
    match m.flagged_fraction {
        Some(f) if f > t.flagged_issue => v.issues.push(format!(
            "{:.1}% of solutions are flagged (more than {:.0}%)",
            f * 100.0,
            t.flagged_issue * 100.0
        )),
        Some(f) if f > t.flagged_warning => v.warnings.push(format!(
            "{:.1}% of solutions are flagged (more than {:.0}%)",
            f * 100.0,
            t.flagged_warning * 100.0
        )),
        Some(_) => {}
        None => v
            .warnings
            .push("no FLAG values: flagging not assessed".to_owned()),
    }
    name_bad_groups(m, t, &mut v);
    if m.n_antennas < t.min_antennas {
        v.issues.push(format!(
            "only {} antennas solved (fewer than {})",
            m.n_antennas, t.min_antennas
        ));
    }
    v
}

/// Names the antennas and spws over the thresholds (`antenna 7: 92.0% flagged`): among the
/// issues when the table fails the same threshold as a whole (they say why), among the
/// warnings otherwise (one dead antenna does not fail a table, but an operator should know).
fn name_bad_groups(m: &QualityMetrics, t: &QaThresholds, v: &mut Verdict) {
    let table_flagged = m.flagged_fraction.is_some_and(|f| f > t.flagged_issue);
    let table_snr = !is_delay_table(m) && m.snr_mean.is_some_and(|s| s < t.snr_issue);
    for (kind, groups) in [("antenna", &m.by_antenna), ("spw", &m.by_spw)] {
        for g in groups {
            if let Some(f) = g.flagged_fraction.filter(|f| *f > t.flagged_issue) {
                let text = format!("{kind} {}: {:.1}% flagged", g.id, f * 100.0);
                if table_flagged {
                    &mut v.issues
                } else {
                    &mut v.warnings
                }
                .push(text);
            }
            if is_delay_table(m) {
                continue;
            }
            if let Some(snr) = g.snr_median_unflagged.filter(|s| *s < t.snr_issue) {
                let text = format!(
                    "{kind} {}: median SNR {snr:.2} of unflagged solutions is below {}",
                    g.id, t.snr_issue
                );
                if table_snr {
                    &mut v.issues
                } else {
                    &mut v.warnings
                }
                .push(text);
            }
        }
    }
}
