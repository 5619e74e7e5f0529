//! The operators' report (pure: no database, no file): [`ReportData`] holds the figures
//! calprov's core gathers from a registry; [`render`] draws them as one self-contained HTML
//! page with inline SVG plots made by plotters; `--json` prints the same [`ReportData`].

pub mod data;
mod html;
pub mod plots;

pub use data::ReportData;
pub use html::{PLOT_CLASS, PLOTS, escape, render};
pub use plots::PlotError;

#[cfg(test)]
mod tests;
