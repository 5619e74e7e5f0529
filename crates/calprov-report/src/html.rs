//! The report page: one self-contained HTML file. No script, no external resource: the
//! plots are inline SVG, the style is inline, and the page's Content-Security-Policy forbids
//! loading anything, so a browser reports any attempt as an error.

use std::fmt::Write as _;

use crate::data::ReportData;
use crate::plots::{self, PlotError};

/// The class of every plot's container: a test counts them.
pub const PLOT_CLASS: &str = "plot";

/// The number of plots in every report.
pub const PLOTS: usize = 6;

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1600px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
.plots{display:flex;flex-wrap:wrap;gap:16px}.plot{border:1px solid #ddd}\
.totals td{padding:2px 14px 2px 0}table.list{border-collapse:collapse;font-size:13px}\
table.list td,table.list th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\
.muted{color:#777}";

/// Renders the whole page.
pub fn render(data: &ReportData) -> Result<String, PlotError> {
    let svgs = [
        plots::coverage(&data.coverage, &data.calendar)?,
        plots::qa_rate(&data.qa, &data.calendar)?,
        plots::histogram(
            "Flagged fraction of each caltable",
            "flagged fraction",
            "caltables",
            &data.flagged_fraction,
        )?,
        plots::heatmap(data.heatmap.as_ref())?,
        plots::histogram(
            "Tracking latency",
            "ms per tracking call",
            "tracking calls",
            &data.latency_ms,
        )?,
        plots::casa_versions(&data.casa_versions, &data.calendar)?,
    ];
    let mut page = String::new();
    let scope = match (&data.set, &data.since) {
        (Some(set), _) => format!("set {}", escape(set)),
        (None, _) => "all sets".to_owned(),
    };
    let since = if data.since.is_some() {
        " (from --since)"
    } else {
        ""
    };
    // Writing to a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>calprov report</title><style>{STYLE}</style></head><body>\n\
<h1>calprov report: {scope}{since}</h1>\n<p class=\"muted\">registry {} &middot; made {}</p>\n",
        escape(&data.registry),
        escape(&data.generated),
    );
    let t = &data.totals;
    let _ = writeln!(
        page,
        "<table class=\"totals\"><tr><td>caltables</td><td>{}</td><td>with provenance</td><td>{} ({:.1}%)</td></tr>\
<tr><td>solves</td><td>{}</td><td>QA passed</td><td>{} of {}</td></tr>\
<tr><td>tracking calls</td><td>{}</td><td>failed</td><td>{}</td></tr></table>",
        t.caltables,
        t.with_provenance,
        if t.caltables == 0 {
            0.0
        } else {
            100.0 * t.with_provenance as f64 / t.caltables as f64
        },
        t.solves,
        t.qa_passed,
        t.qa_assessed,
        t.tracking_calls,
        t.tracking_failures,
    );
    page.push_str("<div class=\"plots\">\n");
    for svg in &svgs {
        let _ = writeln!(
            page,
            "<div class=\"{PLOT_CLASS}\">{}</div>",
            strip_xml_header(svg)
        );
    }
    page.push_str("</div>\n<h2>Latest tracking failures</h2>\n");
    if data.latest_failures.is_empty() {
        page.push_str("<p class=\"muted\">none</p>\n");
    } else {
        page.push_str(
            "<table class=\"list\"><tr><th>when (UTC)</th><th>caltable</th><th>outcome</th><th>kind</th><th>message</th></tr>\n",
        );
        for f in &data.latest_failures {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.at),
                escape(&f.caltable),
                escape(&f.outcome),
                escape(f.kind.as_deref().unwrap_or("")),
                escape(f.message.as_deref().unwrap_or("")),
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("<h2>Changed caltables (verify)</h2>\n");
    if !data.verified {
        page.push_str("<p class=\"muted\">not checked (--no-verify)</p>\n");
    } else if data.changed_tables.is_empty() {
        page.push_str("<p class=\"muted\">none: every verified caltable is what its latest solve recorded</p>\n");
    } else {
        page.push_str("<table class=\"list\"><tr><th>caltable</th><th>verdicts</th><th>what changed</th></tr>\n");
        for c in &data.changed_tables {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.caltable),
                escape(&c.verdicts),
                escape(c.detail.as_deref().unwrap_or("")),
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</body></html>\n");
    Ok(page)
}

/// An SVG document without its `<?xml ...?>` line, for inlining in HTML.
fn strip_xml_header(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    }
}
