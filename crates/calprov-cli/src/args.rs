//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Calibration provenance for radio-astronomy pipelines.
#[derive(Debug, Parser)]
#[command(name = "calprov", version, about)]
pub struct Cli {
    /// The registry: a file, or a postgres:// URL (else PIPELINE_DB, CAL_REGISTRY_DB,
    /// $PIPELINE_STATE_DIR, default).
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// Seconds to wait for another process's registry lock before giving up.
    #[arg(long, global = true, default_value_t = 30.0, value_name = "SECONDS")]
    pub busy_timeout: f64,
    /// More log output on stderr (-v info, -vv debug); CALPROV_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::enum_variant_names)] // `Command` is the name of the `command` subcommand.
pub enum Command {
    /// Create or adopt the registry and bring its schema up to date.
    Init(JsonFlag),
    /// Print which registry would be used (file or PostgreSQL), and which rule chose it.
    Where(JsonFlag),
    /// Copy a whole registry (history and lineage included) into an empty one, SQLite to
    /// PostgreSQL or back, in one transaction, verified row by row.
    Copy(CopyArgs),
    /// Register one caltable (or update it, keeping its provenance).
    Register(RegisterArgs),
    /// Register every caltable directory named PREFIX*, typed by suffix.
    RegisterPrefix(RegisterPrefixArgs),
    /// Record the provenance of a registered caltable after a solve.
    ///
    /// With --task, calprov does the whole job: reads metrics from the caltable, detects the
    /// CASA version, renders the command and records everything. Without it, the given
    /// fields are written as they are.
    Track(TrackArgs),
    /// Track many solves from a JSON-lines file (`-` for stdin), one registry connection.
    ///
    /// Each line: {"ms": ..., "caltable": ..., "task": ..., "params": {...}}, optionally
    /// "solver_version" and "solver_command"; a line with "task": "applycal" records an
    /// application ({"task": "applycal", "ms": ..., "params": {...}}).
    TrackMany(TrackManyArgs),
    /// Show one caltable's full record.
    Show(ShowArgs),
    /// List the caltables solved from an MS.
    BySource(BySourceArgs),
    /// What the given caltables touched: their source MSes, and transitively every caltable
    /// solved with them applied and every MS any of those was applied to.
    Impact(ImpactArgs),
    /// Every recorded solve of a caltable, oldest first.
    History(HistoryArgs),
    /// Record that applycal applied its gaintable list to an MS.
    Applied(AppliedArgs),
    /// Everything a caltable depends on: its MS, its gaintables, their solves and inputs.
    Lineage(LineageArgs),
    /// Every solve made with a CASA version, and everything downstream of them.
    Recall(RecallArgs),
    /// The solves (and applications) that re-create caltables, inputs first.
    Plan(PlanArgs),
    /// List the calibration sets.
    Sets(JsonFlag),
    /// Retire every caltable of a set.
    Retire(RetireArgs),
    /// Is each caltable still the one its latest solve recorded? Says what changed.
    ///
    /// Verdicts: unchanged, missing, unreadable, flags_edited, rows_appended,
    /// solutions_changed, keywords_changed, subtables_changed, no_fingerprint. Exits 0 when
    /// every caltable is unchanged, 1 when any is not, 3 when the registry cannot be read.
    Verify(VerifyArgs),
    /// Record what caltables registered without provenance still know: metrics, breakdowns
    /// and fingerprint, the CASA_Version keyword, the MSName keyword resolved to an MS.
    ///
    /// Never a command or parameters. Each table filled gets a solve marked `backfill`;
    /// re-running skips what is done. Ctrl-C commits the finished batch and exits 130.
    Backfill(BackfillArgs),
    /// One self-contained HTML page for operators (no network, no script: inline SVG plots):
    /// coverage per set, QA pass rate, flagged fractions, an antenna x spw flagged heatmap,
    /// tracking latency, CASA versions, the latest failures and changed caltables. `--json`
    /// prints the same figures.
    Report(ReportArgs),
    /// Write the provenance graph as W3C PROV (PROV-JSON, PROV-N, with IVOA ProvDM types) or
    /// a Graphviz graph: every solve and application an activity, every MS and caltable
    /// version an entity, CASA an agent.
    Export(ExportArgs),
    /// Print the quality metrics and QA verdict of a caltable.
    Metrics(MetricsArgs),
    /// Print the CASA version and the detection step that found it.
    CasaVersion(CasaVersionArgs),
    /// Print the re-executable CASA command for a task and its parameters.
    Command(CommandArgs),
    /// Provenance health: success rate, latency, coverage, versions, QA.
    Stats(StatsArgs),
    /// Exit non-zero (4) when a monitoring threshold is breached, for cron and alerting.
    Check(CheckArgs),
    /// Write the monitoring metrics for node_exporter's textfile collector.
    ExportProm(ExportPromArgs),
    /// Write a synthetic caltable with the layout of real CASA ones.
    GenCaltable(GenCaltableArgs),
    /// Run the whole flow on a fresh registry: solve-like tables, register, track, query.
    Demo(DemoArgs),
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Caltable directories (or use --set / --all).
    #[arg(conflicts_with_all = ["set", "all"], required_unless_present_any = ["set", "all"])]
    pub caltables: Vec<String>,
    /// Every caltable of this set that is not retired.
    #[arg(long, conflicts_with = "all")]
    pub set: Option<String>,
    /// Every registered caltable that is not retired.
    #[arg(long)]
    pub all: bool,
    /// Tables read at once (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Only the caltables of this set.
    #[arg(long, conflicts_with = "all")]
    pub set: Option<String>,
    /// Every registered caltable (the default).
    #[arg(long)]
    pub all: bool,
    /// Where to look for an MS not found next to its caltable: directly, then anywhere
    /// below by its name.
    #[arg(long)]
    pub ms_root: Option<PathBuf>,
    /// Tables read at once (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Tables per write transaction.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Read the tables and report; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the HTML page here (replaced atomically).
    #[arg(long, required_unless_present = "json")]
    pub html: Option<PathBuf>,
    /// Only what happened since then: unix seconds, a UTC date or date-time (`2026-12-01`,
    /// `2026-12-01T10:30:00`), or a duration back from now (`24h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// Only this set.
    #[arg(long)]
    pub set: Option<String>,
    /// Do not verify the caltables (the changed-caltables list reads every table in scope).
    #[arg(long)]
    pub no_verify: bool,
    /// Tables verified at once for the changed-caltables list (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Caltable directories: every recorded version of each (or use --set / --all).
    #[arg(conflicts_with_all = ["set", "all"], required_unless_present_any = ["set", "all"])]
    pub caltables: Vec<String>,
    /// The caltables of this set that are not retired.
    #[arg(long, conflicts_with = "all")]
    pub set: Option<String>,
    /// Everything the registry holds.
    #[arg(long)]
    pub all: bool,
    /// The document format.
    #[arg(long, value_enum, default_value = "prov-json")]
    pub format: ExportFormatArg,
    /// Also what the caltables were made from, recursively (their lineage).
    #[arg(long)]
    pub upstream: bool,
    /// Also everything made or calibrated with them, recursively (their impact).
    #[arg(long)]
    pub downstream: bool,
    /// Write here instead of stdout (replaced only when the export succeeds).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormatArg {
    /// W3C PROV-JSON.
    ProvJson,
    /// W3C PROV-N.
    ProvN,
    /// Graphviz DOT: QA failures and tables changed on disk marked.
    Dot,
}

/// `metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The caltable directory.
    pub caltable: PathBuf,
    /// One line per antenna or per spectral window instead of the whole table.
    #[arg(long, value_enum)]
    pub by: Option<Grouping>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// What `metrics --by` breaks a table down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    /// `ANTENNA1`.
    Antenna,
    /// `SPECTRAL_WINDOW_ID`.
    Spw,
}

/// `casa-version`.
#[derive(Debug, Args)]
pub struct CasaVersionArgs {
    /// Read the version from this caltable's CASA_Version keyword first.
    #[arg(long)]
    pub caltable: Option<PathBuf>,
    /// An explicit version (checked and normalised).
    #[arg(long)]
    pub solver_version: Option<String>,
    /// The longest a probe of Python may take, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `command`.
#[derive(Debug, Args)]
pub struct CommandArgs {
    /// The CASA task.
    #[arg(long)]
    pub task: String,
    /// Its keyword arguments, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub params: String,
    /// Longest command, in bytes.
    #[arg(long, default_value_t = 10 * 1024)]
    pub limit: usize,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only events since then: unix seconds, or a duration back from now (`24h`, `7d`, `30m`).
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Largest acceptable share of tracking calls that recorded no provenance (failed or
    /// not registered), 0..1.
    #[arg(long)]
    pub max_failure_rate: Option<f64>,
    /// Largest acceptable share of tracking calls that recorded provenance with parts
    /// missing, 0..1.
    #[arg(long)]
    pub max_partial_rate: Option<f64>,
    /// Smallest acceptable share of registered caltables with provenance (0..1).
    #[arg(long)]
    pub min_coverage: Option<f64>,
    /// Only events since then (as for `stats`).
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `export-prom`.
#[derive(Debug, Args)]
pub struct ExportPromArgs {
    /// The `.prom` file to write (atomically).
    pub file: PathBuf,
    /// Only events since then (as for `stats`).
    #[arg(long)]
    pub since: Option<String>,
}

/// `gen-caltable`.
#[derive(Debug, Args)]
pub struct GenCaltableArgs {
    /// Number of solutions (rows).
    #[arg(long)]
    pub rows: usize,
    /// The caltable directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// gain, delay or bandpass.
    #[arg(long, default_value = "gain")]
    pub kind: String,
    /// Antennas.
    #[arg(long, default_value_t = 14)]
    pub antennas: usize,
    /// Spectral windows.
    #[arg(long, default_value_t = 2)]
    pub spws: usize,
    /// Channels (bandpass).
    #[arg(long, default_value_t = 8)]
    pub channels: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 20240611)]
    pub seed: u64,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the registry and the caltables.
    #[arg(long, default_value = "calprov-demo")]
    pub dir: PathBuf,
}

/// `copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The registry to copy: a file or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL")]
    pub from: PathBuf,
    /// The empty registry to copy into (created and migrated if needed).
    #[arg(long, value_name = "PATH|URL")]
    pub to: PathBuf,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--json`.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The registry columns a registration sets.
#[derive(Debug, Args)]
pub struct RowFlags {
    /// The calibration set.
    #[arg(long = "set")]
    pub set: String,
    /// Calibrator field.
    #[arg(long)]
    pub cal_field: Option<String>,
    /// Reference antenna.
    #[arg(long)]
    pub refant: Option<String>,
    /// Validity start, MJD.
    #[arg(long, allow_negative_numbers = true)]
    pub valid_start: Option<f64>,
    /// Validity end, MJD.
    #[arg(long, allow_negative_numbers = true)]
    pub valid_end: Option<f64>,
    /// active | retired | failed (default active for new rows).
    #[arg(long)]
    pub status: Option<String>,
    /// Free text.
    #[arg(long)]
    pub notes: Option<String>,
    /// Leave an already registered caltable untouched instead of merging.
    #[arg(long)]
    pub ignore_existing: bool,
}

/// The provenance columns, as flags.
#[derive(Debug, Args)]
pub struct ProvenanceFlags {
    /// The MS the caltable was solved from.
    #[arg(long, visible_alias = "ms")]
    pub source_ms: Option<String>,
    /// The CASA command that made the caltable.
    #[arg(long)]
    pub solver_command: Option<String>,
    /// The CASA version that made the caltable.
    #[arg(long)]
    pub solver_version: Option<String>,
    /// The solve's keyword arguments, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Quality metrics, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub metrics: Option<String>,
}

/// `register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The caltable directory.
    #[arg(long)]
    pub path: String,
    /// Table type (K, BP, GA, ...).
    #[arg(long = "type")]
    pub table_type: String,
    /// Apply order within the set.
    #[arg(long = "order", allow_negative_numbers = true)]
    pub order: i64,
    #[command(flatten)]
    pub row: RowFlags,
    #[command(flatten)]
    pub provenance: ProvenanceFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `register-prefix`.
#[derive(Debug, Args)]
pub struct RegisterPrefixArgs {
    /// The common prefix of the caltable directories.
    pub prefix: PathBuf,
    #[command(flatten)]
    pub row: RowFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `track`.
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// The caltable directory.
    #[arg(long, visible_alias = "path")]
    pub caltable: String,
    /// The CASA task that solved it: calprov then reads metrics, detects the version and
    /// renders the command itself (flags given explicitly override detection).
    #[arg(long, conflicts_with = "metrics")]
    pub task: Option<String>,
    /// Fail (exit 1) unless everything was recorded.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub provenance: ProvenanceFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `track-many`.
#[derive(Debug, Args)]
pub struct TrackManyArgs {
    /// The JSON-lines file, or `-` for stdin.
    pub file: PathBuf,
    /// Fail (exit 1) unless every solve was fully recorded.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The caltable directory.
    pub caltable: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `by-source`.
#[derive(Debug, Args)]
pub struct BySourceArgs {
    /// The source Measurement Set.
    pub ms: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `impact`.
#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// Caltable directories.
    #[arg(required = true)]
    pub caltables: Vec<String>,
    /// Only these antennas are bad (ids and ranges: `3,5~7`).
    #[arg(long, value_name = "LIST")]
    pub antenna: Option<String>,
    /// Only these spectral windows of the tables are bad (ids and ranges).
    #[arg(long, value_name = "LIST")]
    pub spw: Option<String>,
    /// Only solves and applications recorded since then (unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS
    /// UTC, or a duration back from now: 30m, 24h, 7d).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only solves and applications recorded until then (as --since).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Print each finding with the chain that explains it.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The caltable directory.
    pub caltable: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `applied`.
#[derive(Debug, Args)]
pub struct AppliedArgs {
    /// The MS applycal wrote (else the `vis` of --params).
    #[arg(long)]
    pub ms: Option<String>,
    /// applycal's keyword arguments, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub params: String,
    /// Fail (exit 1) unless every table was pinned to a recorded solve.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `lineage`.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// The caltable directory.
    pub caltable: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `recall`.
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// The CASA version (any form CASA prints; compared after normalisation).
    #[arg(long)]
    pub casa_version: String,
    /// Only solves recorded since then (as for `impact`).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only solves recorded until then.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Caltable directories to re-create.
    #[arg(required = true)]
    pub caltables: Vec<String>,
    /// Also everything downstream of them.
    #[arg(long)]
    pub downstream: bool,
    /// Write a Python script for casatasks to this file.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `retire`.
#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The set to retire.
    pub set: String,
    /// Why (appended to each caltable's notes).
    #[arg(long, default_value = "retired by operator")]
    pub reason: String,
    #[command(flatten)]
    pub json: JsonFlag,
}
