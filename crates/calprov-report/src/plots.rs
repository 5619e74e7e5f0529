//! The report's plots, each drawn by plotters into an SVG string. A plot with no data is
//! still drawn (axes and a note), so a report always has the same plots in the same places.

use std::collections::BTreeMap;
use std::ops::Range;

use plotters::prelude::*;

use crate::data::{CoverageSeries, Day, Heatmap, Histogram, QaDay, VersionSeries};

/// Width and height of every plot, in pixels.
const SIZE: (u32, u32) = (760, 340);

/// Series colours, in order (colour-blind safe: Okabe and Ito's palette).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Why a plot could not be drawn (plotters' error, as text).
#[derive(Debug)]
pub struct PlotError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError(e.to_string())
    }
}

/// The day range of the points, one day wider each side, and the dates of the calendar.
fn day_range<'a>(
    days: impl Iterator<Item = &'a Day>,
    calendar: &[Day],
) -> (Range<i64>, BTreeMap<i64, String>) {
    let mut labels: BTreeMap<i64, String> =
        calendar.iter().map(|d| (d.day, d.date.clone())).collect();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for d in days {
        lo = lo.min(x_of(d.day));
        hi = hi.max(x_of(d.day));
        labels.entry(d.day).or_insert_with(|| d.date.clone());
    }
    if lo > hi {
        (lo, hi) = (0, 0);
    }
    ((lo - 1)..(hi + 2), labels)
}

/// Days further than this from 1970 are drawn at this distance: a registry's times are
/// its users' data, and an absurd one must not overflow the axis arithmetic.
const MAX_DAY: i64 = 1_000_000;

/// A day's position on a time axis.
fn x_of(day: i64) -> i64 {
    day.clamp(-MAX_DAY, MAX_DAY)
}

/// Whole numbers only: counts have no fractions.
fn whole(v: &f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// Draws one time series chart: `series` of (name, points (day, value)), y in `y`.
fn time_chart(
    title: &str,
    y_desc: &str,
    y: Range<f64>,
    days: &[&Day],
    calendar: &[Day],
    series: &[(String, Vec<(i64, f64)>)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (x, labels) = day_range(days.iter().copied(), calendar);
        let span = usize::try_from(x.end - x.start).unwrap_or(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_labels(span.clamp(2, 7))
            .x_label_formatter(&|x| labels.get(x).cloned().unwrap_or_default())
            .y_desc(y_desc)
            .draw()?;
        if series.is_empty() {
            no_data(&root)?;
        }
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let points: Vec<(i64, f64)> = points.iter().map(|(d, v)| (x_of(*d), *v)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )?;
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// A note in the middle of an empty plot.
fn no_data<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        "no data",
        (w as i32 / 2 - 30, h as i32 / 2),
        ("sans-serif", 16)
            .into_font()
            .color(&RGBColor(120, 120, 120)),
    ))?;
    Ok(())
}

/// Coverage per set over time: % of the caltables registered each day with provenance.
pub fn coverage(series: &[CoverageSeries], calendar: &[Day]) -> Result<String, PlotError> {
    let days: Vec<&Day> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| &p.day))
        .collect();
    let lines: Vec<(String, Vec<(i64, f64)>)> = series
        .iter()
        .map(|s| {
            let points = s
                .points
                .iter()
                .map(|p| (p.day.day, percent(p.with_provenance, p.registered)))
                .collect();
            (s.set.clone(), points)
        })
        .collect();
    time_chart(
        "Provenance coverage per set (by day registered)",
        "% with provenance",
        0.0..105.0,
        &days,
        calendar,
        &lines,
    )
}

/// QA pass rate over time.
pub fn qa_rate(days: &[QaDay], calendar: &[Day]) -> Result<String, PlotError> {
    let all: Vec<&Day> = days.iter().map(|d| &d.day).collect();
    let points: Vec<(i64, f64)> = days
        .iter()
        .map(|d| (d.day.day, percent(d.passed, d.assessed)))
        .collect();
    let lines = if points.is_empty() {
        Vec::new()
    } else {
        vec![("QA passed".to_owned(), points)]
    };
    time_chart(
        "QA pass rate (by day assessed)",
        "% passed",
        0.0..105.0,
        &all,
        calendar,
        &lines,
    )
}

/// Solves per CASA version per day.
pub fn casa_versions(series: &[VersionSeries], calendar: &[Day]) -> Result<String, PlotError> {
    let days: Vec<&Day> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| &p.day))
        .collect();
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.solves))
        .max()
        .unwrap_or(0);
    let lines: Vec<(String, Vec<(i64, f64)>)> = series
        .iter()
        .map(|s| {
            let points = s
                .points
                .iter()
                .map(|p| (p.day.day, p.solves as f64))
                .collect();
            (format!("CASA {}", s.version), points)
        })
        .collect();
    time_chart(
        "Solves per CASA version (by day solved)",
        "solves",
        0.0..(top as f64 * 1.1).max(1.0),
        &days,
        calendar,
        &lines,
    )
}

/// A histogram as bars.
pub fn histogram(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    h: &Histogram,
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let lo = h.edges.first().copied().unwrap_or(0.0);
        let hi = h
            .edges
            .last()
            .copied()
            .unwrap_or(1.0)
            .max(lo + f64::EPSILON);
        let top = h.counts.iter().copied().max().unwrap_or(0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0.0..(top as f64 * 1.1).max(1.0))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&whole)
            .draw()?;
        if h.total() == 0 {
            no_data(&root)?;
        }
        chart.draw_series(h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(
            |(i, count)| {
                Rectangle::new(
                    [(h.edges[i], 0.0), (h.edges[i + 1], *count as f64)],
                    PALETTE[0].mix(0.8).filled(),
                )
            },
        ))?;
        root.present()?;
    }
    Ok(svg)
}

/// The flagged fraction of every (antenna, spw) pair: white (none) to red (all).
pub fn heatmap(map: Option<&Heatmap>) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (title, na, ns) = match map {
            Some(m) => (
                format!(
                    "Flagged per antenna x spw (white 0%, red 100%): set {}, {} caltables",
                    m.set, m.caltables
                ),
                m.antennas.len(),
                m.spws.len(),
            ),
            None => ("Flagged fraction per antenna x spw".to_owned(), 0, 0),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0..na.max(1) as i32, 0..ns.max(1) as i32)?;
        let ids = |v: &[i32], i: i32| {
            v.get(usize::try_from(i).unwrap_or(usize::MAX))
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        let (antennas, spws) = map
            .map(|m| (m.antennas.clone(), m.spws.clone()))
            .unwrap_or_default();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("antenna")
            .y_desc("spw")
            .x_labels(na.clamp(1, 32))
            .y_labels(ns.clamp(1, 16))
            .x_label_formatter(&|i| ids(&antennas, *i))
            .y_label_formatter(&|i| ids(&spws, *i))
            .draw()?;
        match map {
            Some(m) if na > 0 && ns > 0 => {
                let cells = (0..na).flat_map(|a| (0..ns).map(move |s| (a, s)));
                chart.draw_series(cells.map(|(a, s)| {
                    let total = m.cells.get(a).and_then(|r| r.get(s)).copied().unwrap_or(0);
                    let flagged = m
                        .flagged
                        .get(a)
                        .and_then(|r| r.get(s))
                        .copied()
                        .unwrap_or(0);
                    let colour = if total == 0 {
                        RGBColor(220, 220, 220)
                    } else {
                        let f = flagged as f64 / total as f64;
                        let fade = (255.0 * (1.0 - f)).round() as u8;
                        RGBColor(255, fade, fade)
                    };
                    let (a, s) = (a as i32, s as i32);
                    Rectangle::new([(a, s), (a + 1, s + 1)], colour.filled())
                }))?;
            }
            _ => no_data(&root)?,
        }
        root.present()?;
    }
    Ok(svg)
}

/// `part / whole` in percent (0 when `whole` is 0).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}
