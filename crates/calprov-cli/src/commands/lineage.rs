//! The lineage commands: `history`, `applied`, `lineage`, `impact`, `recall` and `plan`.

use std::fmt::Write as _;

use anyhow::Context as _;
use calprov_core::lineage::graph::{BadPart, Finding, LineageNode, Window};
use calprov_core::lineage::plan::python_script;
use calprov_core::lineage::selection::parse_user_ids;
use calprov_core::{ApplicationRecord, Registry, TrackOutcome, record_application, strict_error};
use serde_json::json;

use crate::args::{AppliedArgs, HistoryArgs, ImpactArgs, LineageArgs, PlanArgs, RecallArgs};
use crate::context::Context;
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::json_arg::json_object;
use crate::output;
use crate::time_arg::{format_utc, parse_time};

pub fn history(registry: &Registry, args: HistoryArgs) -> Result<Exit, CliError> {
    let solves = registry
        .history(&args.caltable)
        .map_err(|e| registry_or_data(e, "cannot read the history"))?;
    if args.json.json {
        output::print_json("history", &solves)?;
    } else if solves.is_empty() {
        output::print_text(&format!("no solve of {} is recorded", args.caltable))?;
    } else {
        let mut text = String::new();
        for s in &solves {
            let _ = writeln!(
                text,
                "v{}  solve {}  {}  {} ({})  {}  CASA {}",
                s.info.version,
                s.info.id,
                format_utc(s.info.solved_at),
                s.info.origin,
                s.outcome,
                s.info.task.as_deref().unwrap_or("-"),
                s.info.casa_version.as_deref().unwrap_or("?"),
            );
            if let Some(command) = &s.command {
                let _ = writeln!(text, "  command  {command}");
            }
            if s.cwd.is_some() || s.host.is_some() {
                let _ = writeln!(
                    text,
                    "  ran in   {} on {}",
                    s.cwd.as_deref().unwrap_or("?"),
                    s.host.as_deref().unwrap_or("?")
                );
            }
            for input in &s.inputs {
                let _ = writeln!(text, "  {}", describe_input(input));
            }
        }
        output::print_text(&text)?;
    }
    Ok(Exit::Ok)
}

fn describe_input(input: &calprov_core::lineage::graph::InputInfo) -> String {
    let name = match input.role {
        calprov_core::lineage::inputs::Role::Vis => "vis".to_owned(),
        calprov_core::lineage::inputs::Role::Gaintable => format!("gaintable[{}]", input.index),
    };
    let mut line = format!("{name:<13} {}", input.path.as_deref().unwrap_or("?"));
    if let Some(pinned) = input.pinned {
        let _ = write!(line, "  (solve {pinned})");
    }
    if let Some(problem) = &input.problem {
        let _ = write!(line, "  MALFORMED: {problem}");
    }
    line
}

pub fn applied(ctx: &Context, args: AppliedArgs) -> Result<Exit, CliError> {
    let params = json_object("params", Some(&args.params))?.unwrap_or_default();
    let app = ApplicationRecord {
        ms: args.ms.clone(),
        params,
    };
    let target = args.ms.clone().unwrap_or_else(|| "applycal".to_owned());
    let outcome = match ctx.try_open() {
        Ok(mut registry) => record_application(&mut registry, &app, &ctx.track_config()),
        Err(err) => super::track::open_failed_anyhow(&target, &err),
    };
    if args.json.json {
        output::print_json("applied", &json!({"ms": args.ms, "result": outcome}))?;
    }
    match (&outcome, args.strict) {
        (TrackOutcome::Tracked(summary), _) => {
            if !args.json.json {
                output::print_text(&format!("{}: application recorded", summary.caltable))?;
            }
            Ok(Exit::Ok)
        }
        (_, true) => Err(anyhow::Error::new(strict_error(&target, outcome))).exit(Exit::Data),
        (_, false) => {
            eprintln!(
                "warning: {target}: {}",
                super::track::not_recorded(&outcome)
            );
            Ok(Exit::Ok)
        }
    }
}

pub fn lineage(registry: &Registry, args: LineageArgs) -> Result<Exit, CliError> {
    let tree = registry
        .lineage(&args.caltable)
        .map_err(|e| registry_or_data(e, "cannot read the lineage"))?;
    if args.json.json {
        output::print_json("lineage", &tree)?;
    } else if let Some(tree) = &tree {
        let mut text = String::new();
        render_tree(tree, 0, &mut text);
        output::print_text(&text)?;
    }
    if tree.is_none() {
        if !args.json.json {
            eprintln!("no solve of {} is recorded", args.caltable);
        }
        return Ok(Exit::Data);
    }
    Ok(Exit::Ok)
}

fn render_tree(node: &LineageNode, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let s = &node.solve;
    let _ = writeln!(
        out,
        "{pad}{} (v{}, solve {}, {}, {}, CASA {})",
        s.caltable,
        s.version,
        s.id,
        format_utc(s.solved_at),
        s.task.as_deref().unwrap_or(&s.origin),
        s.casa_version.as_deref().unwrap_or("?")
    );
    if node.repeated {
        let _ = writeln!(out, "{pad}  (its inputs are shown above)");
    }
    for input in &node.inputs {
        let mut line = format!("{pad}  {}", describe_input(&input.input));
        if input.cycle {
            line.push_str(
                "  [cycle: a table on this branch, solved with an earlier version of itself]",
            );
        }
        let _ = writeln!(out, "{line}");
        if let Some(child) = &input.solved_by {
            render_tree(child, depth + 2, out);
        }
    }
}

fn ids(
    flag: &str,
    text: Option<&str>,
) -> Result<Option<std::collections::BTreeSet<i64>>, CliError> {
    text.map(|t| {
        parse_user_ids(t)
            .with_context(|| format!("--{flag} {t:?}: expected ids and ranges like 3,5~7"))
            .exit(Exit::Usage)
    })
    .transpose()
}

pub fn impact(registry: &Registry, args: ImpactArgs) -> Result<Exit, CliError> {
    let bad = BadPart {
        antennas: ids("antenna", args.antenna.as_deref())?,
        spws: ids("spw", args.spw.as_deref())?,
    };
    let window = Window {
        since: parse_time("since", args.since.as_deref())?,
        until: parse_time("until", args.until.as_deref())?,
    };
    let impact = registry
        .impact(&args.caltables, &bad, window, args.explain)
        .map_err(|e| registry_or_data(e, "cannot analyse impact"))?;
    match (args.json.json, args.explain) {
        (true, true) => output::print_json("impact", &impact)?,
        (true, false) => output::print_json("impact", &impact.ms)?,
        (false, false) => output::print_text(&impact.ms.join("\n"))?,
        (false, true) => output::print_text(&explain(&impact.findings))?,
    }
    Ok(Exit::Ok)
}

fn explain(findings: &[Finding]) -> String {
    let mut text = String::new();
    for f in findings {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{kind:<11} {}\n            via {}",
            f.target,
            f.path.join(" -> ")
        );
        if let Some(note) = &f.note {
            let _ = writeln!(text, "            note: {note}");
        }
    }
    if findings.is_empty() {
        text.push_str("nothing downstream is recorded");
    }
    text
}

pub fn recall(registry: &Registry, args: RecallArgs) -> Result<Exit, CliError> {
    let window = Window {
        since: parse_time("since", args.since.as_deref())?,
        until: parse_time("until", args.until.as_deref())?,
    };
    let recall = registry
        .recall(&args.casa_version, window)
        .map_err(|e| registry_or_data(e, "cannot recall"))?;
    if args.json.json {
        output::print_json("recall", &recall)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "{} solves made with CASA {}\n",
        recall.solves.len(),
        recall.casa_version
    );
    for s in &recall.solves {
        let _ = writeln!(
            text,
            "  {}  v{}  {}",
            format_utc(s.solved_at),
            s.version,
            s.caltable
        );
    }
    let _ = writeln!(
        text,
        "affected caltables: {}",
        recall.impact.caltables.len()
    );
    for c in &recall.impact.caltables {
        let _ = writeln!(text, "  {c}");
    }
    let _ = writeln!(text, "affected MSes: {}", recall.impact.ms.len());
    for m in &recall.impact.ms {
        let _ = writeln!(text, "  {m}");
    }
    output::print_text(&text)?;
    Ok(Exit::Ok)
}

pub fn plan(registry: &Registry, args: PlanArgs) -> Result<Exit, CliError> {
    let steps = registry
        .plan(&args.caltables, args.downstream)
        .map_err(|e| registry_or_data(e, "cannot plan"))?;
    if let Some(path) = &args.script {
        std::fs::write(path, python_script(&steps))
            .with_context(|| format!("cannot write {}", path.display()))
            .exit(Exit::Data)?;
    }
    if args.json.json {
        output::print_json("plan", &steps)?;
    } else {
        let mut text = String::new();
        for (i, step) in steps.iter().enumerate() {
            let _ = writeln!(
                text,
                "{:>3}. {:<16} {} -> {}  (in {})",
                i + 1,
                step.key,
                step.task.as_deref().unwrap_or("?"),
                step.writes,
                step.cwd.as_deref().unwrap_or("?")
            );
            if let Some(command) = &step.command {
                let _ = writeln!(text, "     {command}");
            }
        }
        if steps.is_empty() {
            text.push_str("no recorded solve of these caltables");
        }
        output::print_text(&text)?;
    }
    Ok(if steps.is_empty() {
        Exit::Data
    } else {
        Exit::Ok
    })
}
