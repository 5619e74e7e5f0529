//! Progress of a long command on stderr: an indicatif bar (rate and ETA) on a terminal, a
//! plain line every tenth otherwise, nothing for a handful of items.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Below this many items no progress is shown: the answer comes at once.
const PROGRESS_FROM: usize = 8;

/// Progress on stderr: an indicatif bar on a terminal, a line every tenth otherwise.
pub struct Progress {
    label: &'static str,
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
    plain: bool,
}

impl Progress {
    /// Progress of `total` items, named `label` (`verify`, `backfill`).
    pub fn new(label: &'static str, total: usize) -> Self {
        let shown = total >= PROGRESS_FROM;
        let terminal = std::io::stderr().is_terminal();
        let bar = (shown && terminal).then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(&format!(
                "{label} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
            )) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            label,
            bar,
            total,
            done: AtomicUsize::new(0),
            plain: shown && !terminal,
        }
    }

    /// One more item done.
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        } else if self.plain && (done * 10 / self.total != (done - 1) * 10 / self.total) {
            // Progress is not an error: written as a plain line, not through the log.
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {done}/{} caltables",
                self.label,
                self.total
            );
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
