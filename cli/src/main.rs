//! `accesslake`: the command line. Only argument handling and wiring live
//! here; the work is done by the library crates.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accesslake_fixtures::GenConfig;
use accesslake_ingest::reader::Merge;
use accesslake_ingest::{IngestOptions, LocalPipeline, Summary};
use accesslake_model::{Reason, SystemClock};
use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

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
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ACCESSLAKE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
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
    }
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
