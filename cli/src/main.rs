//! `accesslake`: the command line. Only argument handling and wiring live
//! here; the work is done by the library crates.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod engines;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accesslake_fixtures::GenConfig;
use accesslake_ingest::reader::Merge;
use accesslake_ingest::{
    EmbeddedStore, IngestOptions, LocalPipeline, StateStore, Summary, snapshot,
};
use accesslake_model::{Clock, DAY_MICROS, Micros, Reason, SystemClock, Table, parse_rfc3339};
use accesslake_queries::{Params, QueryEngine, Value};
use accesslake_reports::{ReportArgs, ReportParams, batches_to_rows, render};
use accesslake_transform::Lake;
use accesslake_transform::compact::{self, CompactOptions};
use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use engines::{CatalogAction, EngineArgs, open_lake};
use indicatif::{ProgressBar, ProgressStyle};

/// mimalloc: ingest and the query engine allocate and free millions of small
/// strings and buffers a second; glibc's malloc spends far longer on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The data pipeline of a building access-card system: decides every card
/// scan, keeps the live state, and lands decisions in a Parquet data lake.
#[derive(Parser, Debug)]
#[command(name = "accesslake", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The whole product in one go: generate a fixture, ingest it, write every
    /// report (HTML with charts, CSV, JSON) and print where the index is.
    Demo {
        /// Folder for the fixture, the lake and the reports (created; a folder
        /// made by an earlier demo is replaced).
        #[arg(long, default_value = "accesslake-demo")]
        dir: PathBuf,
        /// Head count of the generated company.
        #[arg(long, default_value_t = 200)]
        employees: u32,
        /// Days of activity, starting Monday 2026-03-02.
        #[arg(long, default_value_t = 14)]
        days: u32,
    },
    /// Write a realistic, deterministic fixture: DIR/admin.jsonl and DIR/entries.jsonl.
    ///
    /// Three sites in three timezones, working days with arrival waves and
    /// lunch breaks, lost and stolen cards that are still tried, passback,
    /// after-hours work, unknown cards and doors, redeliveries, a reader's
    /// late upload and a few malformed lines. The same seed gives the same files.
    Gen {
        /// Seed of the random generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Head count at the start.
        #[arg(long, default_value_t = 200)]
        employees: u32,
        /// Number of days of activity.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// First day (YYYY-MM-DD).
        #[arg(long, default_value = "2026-03-02")]
        start: NaiveDate,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Decide JSONL event files into a lake folder (admin and entry events are told apart by shape).
    ///
    /// Files are merged by occurred_at, each read in its own line order.
    /// Malformed lines become rows of the `rejected` table; duplicates of
    /// already decided events are dropped. Running again on the same lake
    /// continues from its state (LAKE/_state/state.redb).
    Ingest {
        /// Lake folder (created if missing).
        #[arg(long)]
        lake: PathBuf,
        /// Events per chunk: one state commit and one file per table and day per chunk.
        #[arg(long, default_value_t = IngestOptions::default().chunk_events)]
        chunk: usize,
        /// Print the summary as one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Input files, JSON Lines.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run one report over a lake (list them with `accesslake report --list`).
    ///
    /// Times are RFC 3339 (`2026-03-02T08:00:00Z`, any offset) or a date
    /// (`2026-03-02`, midnight UTC). Ranges are half-open: [from, to).
    Report {
        /// Report name: occupancy, muster, denied, inactive_card_use, after_hours,
        /// anti_passback, person_trail, door_trail, admin_changes, access_review,
        /// dormant_cards.
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        #[command(flatten)]
        on: EngineArgs,
        /// Start of the range (inclusive).
        #[arg(long, value_parser = parse_time)]
        from: Option<Micros>,
        /// End of the range (exclusive).
        #[arg(long, value_parser = parse_time)]
        to: Option<Micros>,
        /// The instant of a muster (roll call); for dormant_cards, the day to
        /// count back from (default now).
        #[arg(long, value_parser = parse_time)]
        at: Option<Micros>,
        /// Employee id, for person_trail.
        #[arg(long)]
        employee: Option<String>,
        /// Door id, for door_trail.
        #[arg(long)]
        door: Option<String>,
        /// Days without a granted entry, for dormant_cards.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        days: Option<u32>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// List the reports with their audience and parameters.
        #[arg(long)]
        list: bool,
    },
    /// Rewrite small files into few sorted files near a target size, removing
    /// duplicate rows; or, with --expire-before, drop old partitions.
    ///
    /// Safe to interrupt: a rerun finishes what a run left (docs/lake.md).
    /// Files that land while a partition is compacted are left for the next run.
    Compact {
        /// Lake folder.
        #[arg(long)]
        lake: PathBuf,
        /// Only this table: decisions, admin_events or rejected (default: all
        /// three); with --expire-before, any table, snapshots included.
        #[arg(long)]
        table: Option<String>,
        /// Only this day's partitions (YYYY-MM-DD).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        dt: Option<NaiveDate>,
        /// First day (inclusive).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last day (inclusive).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Size of the files to write.
        #[arg(long, default_value = "128MiB", value_parser = parse_size)]
        target_size: u64,
        /// Print the plan (partitions, input files, outputs) and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Retention: delete every partition (all tables, snapshots included,
        /// unless --table) dated before this day, instead of compacting.
        #[arg(long)]
        expire_before: Option<NaiveDate>,
        /// Print the metrics as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write the current state (employees, cards, zones, doors, grants) as
    /// snapshot tables under today's `dt=`; access_review and dormant_cards read them.
    Snapshot {
        /// Lake folder (its state is LAKE/_state/state.redb).
        #[arg(long)]
        lake: PathBuf,
    },
    /// Analyst SQL over the lake tables (decisions, admin_events, rejected, and
    /// the snapshots employees, cards, zones, doors, grants).
    ///
    /// With QUERY, runs it and prints the result. Without, reads statements
    /// ending in `;` from standard input (on a terminal with line editing and
    /// a history in ~/.accesslake_history); `\d` lists the tables, `\r`
    /// (or Ctrl-C) drops the statement being typed, `\q` quits.
    Sql {
        /// One SQL statement.
        query: Option<String>,
        #[command(flatten)]
        on: EngineArgs,
        /// A named parameter for `$name` in QUERY, bound as a value (never spliced
        /// into the text): `--param from=2026-03-02T00:00:00Z` binds a timestamp
        /// (RFC 3339 date-times are timestamps), anything else binds text.
        #[arg(long = "param", value_parser = parse_param)]
        params: Vec<(String, Value)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The lake's tables in the Glue catalog, for Athena: generated from the
    /// same schemas the lake is written with.
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
    },
}

/// Runs one statement of `accesslake sql` and prints its answer: CSV batch
/// by batch as the engine produces them (an answer of any size in the
/// memory of one batch), a table once it has every row (to size columns).
async fn sql_answer(
    engine: &dyn QueryEngine,
    text: &str,
    params: &Params,
    format: Format,
) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    use std::io::Write;
    let mut answer = engine.sql_stream(text, params).await?;
    let columns: Vec<&str> = answer
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    if format == Format::Table {
        let batches: Vec<_> = answer.batches.try_collect().await?;
        let (_, rows) = batches_to_rows(&batches);
        print!("{}", render::table(&columns, &rows, 60));
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    out.write_all(render::csv_rows(&columns, &[]).as_bytes())?;
    while let Some(batch) = answer.batches.try_next().await? {
        let (_, rows) = batches_to_rows(std::slice::from_ref(&batch));
        out.write_all(render::csv_body(&rows).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// `128MiB`, `64KiB`, `1GiB`, `500MB` or a byte count.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 128MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB, GiB)")),
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("{s:?} is not a usable size")),
        Some(v) => Ok(v),
    }
}

/// Report output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

/// `name=value`; an RFC 3339 date-time value is a timestamp, others are text.
fn parse_param(s: &str) -> Result<(String, Value), String> {
    let (name, value) = s.split_once('=').ok_or("expected name=value")?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(format!(
            "parameter name {name:?} must be lowercase letters and _"
        ));
    }
    let v = match parse_rfc3339(value) {
        Ok(t) => Value::Timestamp(t),
        Err(_) => Value::Text(value.to_string()),
    };
    Ok((name.to_string(), v))
}

/// A `--from/--to/--at` value ([`accesslake_model::time::parse_time_arg`]).
fn parse_time(s: &str) -> Result<Micros, String> {
    accesslake_model::time::parse_time_arg(s)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            accesslake_model::logging::log_directives(
                &std::env::var("ACCESSLAKE_LOG").unwrap_or_default(),
            ),
        ))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("accesslake: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Gen {
            seed,
            employees,
            days,
            start,
            out,
        } => {
            let cfg = GenConfig {
                seed,
                employees,
                days,
                start,
            };
            let t = std::time::Instant::now();
            let stats = accesslake_fixtures::generate_to_dir(&cfg, &out)
                .with_context(|| format!("writing the fixture to {}", out.display()))?;
            println!(
                "wrote {} admin events and {} entry lines ({} redelivered, {} malformed) to {} in {:.1}s",
                stats.admin_lines,
                stats.entry_lines,
                stats.duplicate_lines,
                stats.malformed_lines,
                out.display(),
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Ingest {
            lake,
            chunk,
            json,
            files,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            let summary = rt.block_on(ingest(lake.clone(), chunk, files))?;
            if json {
                println!("{}", summary_json(&summary));
            } else {
                print_summary(&summary, &lake);
            }
            Ok(())
        }
        Command::Report {
            name,
            on,
            from,
            to,
            at,
            employee,
            door,
            days,
            format,
            out,
            list,
        } => {
            if list {
                for r in accesslake_reports::REPORTS {
                    println!("{:<18} {:<26} {}", r.name, r.audience, r.about);
                }
                return Ok(());
            }
            let Some(name) = name else {
                anyhow::bail!("a report name is needed (see --list)");
            };
            let def = accesslake_reports::report(&name)?;
            let args = ReportArgs {
                from,
                to,
                at,
                employee_id: employee,
                door_id: door,
                days,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = rt.block_on(async {
                let engine = engines::open(&on).await?;
                let report = accesslake_reports::run_report(engine.as_ref(), def, &args).await;
                engines::print_stats(&engine.take_stats(), on.stats);
                anyhow::Ok(report?)
            })?;
            let text = match format {
                Format::Csv => render::csv(&report),
                Format::Json => render::json(&report),
                Format::Table => render::table(&report.columns, &report.rows, 40),
            };
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Demo {
            dir,
            employees,
            days,
        } => demo(&dir, employees, days),
        Command::Compact {
            lake,
            table,
            dt,
            from,
            to,
            target_size,
            dry_run,
            expire_before,
            json,
        } => {
            let tables = match table.as_deref() {
                None => None,
                Some(name) => Some(
                    Table::parse(name)
                        .filter(|t| expire_before.is_some() || !t.is_snapshot())
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "unknown table {name:?}; compaction works on decisions, admin_events and rejected"
                            )
                        })?,
                ),
            };
            if !lake.is_dir() {
                anyhow::bail!("{} is not a lake folder", lake.display());
            }
            let store = Lake::local(&lake)?;
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            if let Some(before) = expire_before {
                let tables = tables.map_or(Table::ALL.to_vec(), |t| vec![t]);
                let e = rt.block_on(compact::expire(&store, &tables, before, dry_run))?;
                let verb = if dry_run { "would delete" } else { "deleted" };
                println!(
                    "{verb} {} partitions before {before}: {} files, {}",
                    e.partitions,
                    e.files,
                    compact::human_bytes(e.bytes)
                );
                return Ok(());
            }
            let opts = CompactOptions {
                tables: tables.map_or(Table::EVENTS.to_vec(), |t| vec![t]),
                from: dt.or(from),
                to: dt.or(to),
                target_size,
            };
            let plan = rt.block_on(compact::plan(&store, &opts))?;
            if dry_run {
                print!("{plan}");
                return Ok(());
            }
            let m = rt.block_on(compact::execute(&store, &plan))?;
            if json {
                println!("{}", serde_json::to_string(&m)?);
            } else {
                print_compaction(&m);
            }
            if !m.failed.is_empty() {
                anyhow::bail!(
                    "{} partitions were left as they were: {}",
                    m.failed.len(),
                    m.failed
                        .iter()
                        .map(|(p, why)| format!("{p}: {why}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
            Ok(())
        }
        Command::Snapshot { lake } => {
            let state_path = lake.join("_state").join("state.redb");
            if !state_path.is_file() {
                anyhow::bail!(
                    "{} has no state to snapshot (no _state/state.redb); run `accesslake ingest` first",
                    lake.display()
                );
            }
            let state = EmbeddedStore::open(&state_path)
                .with_context(|| format!("opening {}", state_path.display()))?
                .load()?;
            let now = SystemClock.now();
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            let s = rt.block_on(snapshot::write_snapshot(&Lake::local(&lake)?, &state, now))?;
            let counts: Vec<String> = s
                .tables
                .iter()
                .map(|(t, n)| format!("{} {n}", t.name()))
                .collect();
            println!(
                "snapshot of {} at {}: {}",
                lake.display(),
                accesslake_model::format_rfc3339(now),
                counts.join(" · ")
            );
            Ok(())
        }
        Command::Catalog { action } => engines::catalog(action),
        Command::Sql {
            query,
            on,
            params,
            format,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let engine = engines::open(&on).await?;
                let engine = engine.as_ref();
                match query {
                    Some(q) => {
                        if format == Format::Json {
                            anyhow::bail!("--format json is for reports; use csv or table");
                        }
                        let params = Params(params.into_iter().collect());
                        let answer = sql_answer(engine, &q, &params, format).await;
                        engines::print_stats(&engine.take_stats(), on.stats);
                        answer
                    }
                    None => sql_loop(engine, on.stats).await,
                }
            })
        }
    }
}

const DEMO_MARKER: &str = ".accesslake-demo";

fn demo(dir: &std::path::Path, employees: u32, days: u32) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        if !dir.join(DEMO_MARKER).exists() {
            anyhow::bail!(
                "{} exists and was not made by `accesslake demo`; choose another --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(DEMO_MARKER),
        "made by accesslake demo; replaced on the next run\n",
    )?;
    let cfg = GenConfig {
        seed: 1,
        employees,
        days,
        ..GenConfig::default()
    };
    let input = dir.join("input");
    accesslake_fixtures::generate_to_dir(&cfg, &input)?;
    let lake = dir.join("lake");
    let files = vec![input.join("admin.jsonl"), input.join("entries.jsonl")];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = rt.block_on(ingest(
        lake.clone(),
        IngestOptions::default().chunk_events,
        files,
    ))?;

    let from = cfg
        .start
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_micros();
    let to = from + i64::from(days.max(1)) * DAY_MICROS;
    let at = from + 2 * DAY_MICROS + 10 * 3_600_000_000; // the first Wednesday, 10:00 UTC
    let args = ReportArgs {
        from: Some(from),
        to: Some(to),
        at: Some(at),
        employee_id: Some("e-00001".into()),
        door_id: Some("hq-lobby-main".into()),
        days: Some(7),
    };
    // Dormant cards are counted back from the end of the generated activity.
    let dormant_args = ReportArgs {
        at: Some(to),
        ..args.clone()
    };
    let state_path = lake.join("_state").join("state.redb");
    let state = EmbeddedStore::open(&state_path)?.load()?;
    rt.block_on(snapshot::write_snapshot(
        &Lake::local(&lake)?,
        &state,
        SystemClock.now(),
    ))?;
    let out = dir.join("reports");
    std::fs::create_dir_all(&out)?;
    let reports = rt.block_on(async {
        let engine = open_lake(&lake, accesslake_queries::DEFAULT_MEMORY_LIMIT as u64).await?;
        let mut done = Vec::new();
        for def in accesslake_reports::REPORTS {
            let args = if def.params == ReportParams::DaysAt {
                &dormant_args
            } else {
                &args
            };
            done.push((
                def,
                accesslake_reports::run_report(&engine, def, args).await?,
            ));
        }
        anyhow::Ok(done)
    })?;
    for (def, r) in &reports {
        std::fs::write(
            out.join(format!("{}.html", def.name)),
            accesslake_reports::html::report_page(def, r),
        )?;
        std::fs::write(out.join(format!("{}.csv", def.name)), render::csv(r))?;
        std::fs::write(out.join(format!("{}.json", def.name)), render::json(r))?;
    }
    let rows = |name: &str| {
        reports
            .iter()
            .find(|(d, _)| d.name == name)
            .map_or(0, |(_, r)| r.rows.len())
    };
    let peak = reports
        .iter()
        .find(|(d, _)| d.name == "occupancy")
        .and_then(|(_, r)| {
            r.rows
                .iter()
                .filter_map(|row| match row[7] {
                    accesslake_reports::Cell::Float(f) => Some(f),
                    _ => None,
                })
                .reduce(f64::max)
        })
        .unwrap_or(0.0);
    let st = &summary.stats;
    let headlines = vec![
        ("scans decided".to_string(), st.entries_decided.to_string()),
        (
            "granted".to_string(),
            format!(
                "{:.1}%",
                100.0 * st.granted as f64 / st.entries_decided.max(1) as f64
            ),
        ),
        ("denied scans".to_string(), st.denied.to_string()),
        (
            "uses of inactive cards".to_string(),
            rows("inactive_card_use").to_string(),
        ),
        (
            "after-hours entries".to_string(),
            rows("after_hours").to_string(),
        ),
        (
            "busiest hour against capacity".to_string(),
            format!("{:.0}%", 100.0 * peak),
        ),
        (
            format!("inside at {}", &accesslake_model::format_rfc3339(at)[..16]),
            rows("muster").to_string(),
        ),
        (
            "cards unused for 7 days".to_string(),
            rows("dormant_cards").to_string(),
        ),
        ("records rejected".to_string(), st.rejected.to_string()),
    ];
    let pairs: Vec<_> = reports.iter().map(|(d, r)| (*d, r)).collect();
    let index = out.join("index.html");
    std::fs::write(
        &index,
        accesslake_reports::html::index_page(&headlines, &pairs),
    )?;
    for (label, value) in &headlines {
        println!("  {label:<32} {value}");
    }
    println!(
        "\n{} reports written in {:.1}s; open {}",
        reports.len(),
        t.elapsed().as_secs_f64(),
        index.display()
    );
    Ok(())
}

async fn run_sql(engine: &dyn QueryEngine, q: &str, stats: bool) -> anyhow::Result<()> {
    let batches = engine.sql(q).await;
    engines::print_stats(&engine.take_stats(), stats);
    let batches = batches?;
    let (columns, rows) = batches_to_rows(&batches);
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    print!("{}", render::table(&columns, &rows, 60));
    Ok(())
}

/// Where the REPL's lines come from: a line editor with a history file on a
/// terminal, plain standard input otherwise (pipes and scripts).
enum Lines {
    Editor(Box<rustyline::DefaultEditor>, Option<PathBuf>),
    Piped(std::io::Lines<std::io::StdinLock<'static>>),
}

impl Lines {
    fn open() -> Self {
        use std::io::BufRead;
        if std::io::stdin().is_terminal()
            && let Ok(mut editor) = rustyline::DefaultEditor::new()
        {
            let history = history_path();
            if let Some(path) = &history {
                // A missing history file is the normal first run.
                let _ = editor.load_history(path);
            }
            return Lines::Editor(Box::new(editor), history);
        }
        Lines::Piped(std::io::stdin().lock().lines())
    }

    /// The next line; `None` at end of input (Ctrl-D on a terminal).
    fn next(&mut self, continuing: bool) -> anyhow::Result<Option<String>> {
        use rustyline::error::ReadlineError;
        match self {
            Lines::Piped(lines) => Ok(lines.next().transpose()?),
            Lines::Editor(editor, _) => {
                let prompt = if continuing {
                    "        ...> "
                } else {
                    "accesslake> "
                };
                match editor.readline(prompt) {
                    Ok(line) => Ok(Some(line)),
                    // Ctrl-C abandons the statement being typed, as in psql.
                    Err(ReadlineError::Interrupted) => Ok(Some("\\r".into())),
                    Err(ReadlineError::Eof) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Remembers a finished statement or command in the history.
    fn remember(&mut self, entry: &str) {
        if let Lines::Editor(editor, Some(path)) = self {
            let _ = editor.add_history_entry(entry);
            if let Err(e) = editor.save_history(path) {
                tracing::warn!("cannot save the sql history to {}: {e}", path.display());
            }
        }
    }
}

/// `$ACCESSLAKE_HISTORY`, else `~/.accesslake_history`.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("ACCESSLAKE_HISTORY")
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".accesslake_history").into())
        })
        .map(PathBuf::from)
}

async fn sql_loop(engine: &dyn QueryEngine, stats: bool) -> anyhow::Result<()> {
    let mut lines = Lines::open();
    let mut pending = String::new();
    while let Some(line) = lines.next(!pending.is_empty())? {
        let trimmed = line.trim();
        if trimmed == "\\r" {
            pending.clear();
            continue;
        }
        if pending.is_empty() && trimmed == "\\q" {
            break;
        }
        if pending.is_empty() && trimmed == "\\d" {
            lines.remember(trimmed);
            for t in Table::ALL {
                println!("{}", t.name());
            }
        } else if !trimmed.is_empty() {
            pending.push_str(&line);
            pending.push('\n');
            if trimmed.ends_with(';') {
                let statement = pending.trim();
                lines.remember(statement);
                if let Err(e) = run_sql(engine, statement.trim_end_matches(';'), stats).await {
                    eprintln!("error: {e:#}");
                }
                pending.clear();
            }
        }
    }
    Ok(())
}

async fn ingest(lake: PathBuf, chunk: usize, files: Vec<PathBuf>) -> anyhow::Result<Summary> {
    let clock = Arc::new(SystemClock);
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mut merge = Merge::open(&files, clock.as_ref())?;
    let mut pipeline = LocalPipeline::open(&lake, clock.clone())
        .await
        .with_context(|| format!("opening the lake at {}", lake.display()))?;
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let opts = IngestOptions {
        chunk_events: chunk,
    };
    let summary = pipeline
        .ingest(&mut merge, &opts, &mut |bytes, s| {
            bar.set_position(bytes);
            bar.set_message(format!(
                "{} events, {:.0}/s",
                s.events_read,
                s.events_per_second()
            ));
        })
        .await?;
    bar.finish_and_clear();
    Ok(summary)
}

fn summary_json(s: &Summary) -> serde_json::Value {
    let st = &s.stats;
    let reasons: serde_json::Map<String, serde_json::Value> = st
        .by_reason
        .iter()
        .map(|(r, n)| (r.as_str().to_string(), (*n).into()))
        .collect();
    serde_json::json!({
        "events_read": s.events_read,
        "decisions": st.entries_decided,
        "granted": st.granted,
        "denied": st.denied,
        "by_reason": reasons,
        "admin_applied": st.admin_applied,
        "admin_not_applied": st.admin_not_applied,
        "duplicate_entries": st.duplicate_entries,
        "duplicate_admin": st.duplicate_admin,
        "duplicate_rejected": st.duplicate_rejected,
        "rejected": st.rejected,
        "files_written": s.files_written,
        "rows_written": s.rows_written,
        "bytes_written": s.bytes_written,
        "recovered_files": s.recovered_files,
        "seconds": s.elapsed.as_secs_f64(),
        "events_per_second": s.events_per_second(),
    })
}

fn print_compaction(m: &compact::Metrics) {
    println!(
        "compacted {} partitions ({} finished from an earlier run, {} already compacted)",
        m.partitions, m.partitions_finished, m.partitions_up_to_date
    );
    println!("  files       {:>10} -> {}", m.files_in, m.files_out);
    println!(
        "  rows        {:>10} -> {}   ({} duplicates removed)",
        m.rows_in, m.rows_out, m.duplicates_removed
    );
    println!(
        "  bytes       {:>10} -> {}",
        compact::human_bytes(m.bytes_in),
        compact::human_bytes(m.bytes_out)
    );
    if m.inputs_kept_changed > 0 {
        println!(
            "  kept        {:>10}   inputs replaced while compacting, left for the next run",
            m.inputs_kept_changed
        );
    }
    let secs = m.seconds.max(1e-9);
    println!(
        "  time        {:>9.2}s   {:.0} rows/s · {:.1} MiB/s",
        m.seconds,
        m.rows_in as f64 / secs,
        m.bytes_in as f64 / secs / (1 << 20) as f64
    );
}

fn print_summary(s: &Summary, lake: &std::path::Path) {
    let st = &s.stats;
    println!("ingested into {}", lake.display());
    println!("  events read        {:>12}", s.events_read);
    println!(
        "  scans decided      {:>12}   granted {} · denied {}",
        st.entries_decided, st.granted, st.denied
    );
    let reasons: Vec<String> = Reason::ALL
        .iter()
        .filter_map(|r| st.by_reason.get(r).map(|n| format!("{} {n}", r.as_str())))
        .collect();
    if !reasons.is_empty() {
        println!("    by reason        {}", reasons.join(" · "));
    }
    println!(
        "  admin events       {:>12}   applied {} · not applied {}",
        st.admin_applied + st.admin_not_applied,
        st.admin_applied,
        st.admin_not_applied
    );
    println!(
        "  duplicates dropped {:>12}   entry {} · admin {} · rejected {}",
        st.duplicate_entries + st.duplicate_admin + st.duplicate_rejected,
        st.duplicate_entries,
        st.duplicate_admin,
        st.duplicate_rejected
    );
    println!("  rejected           {:>12}", st.rejected);
    println!(
        "  files written      {:>12}   {} rows · {:.1} MiB",
        s.files_written,
        s.rows_written,
        s.bytes_written as f64 / (1 << 20) as f64
    );
    if s.recovered_files > 0 {
        println!(
            "  recovered          {:>12}   files of an interrupted run removed",
            s.recovered_files
        );
    }
    println!(
        "  time               {:>11.2}s   {:.0} events/s",
        s.elapsed.as_secs_f64(),
        s.events_per_second()
    );
}
