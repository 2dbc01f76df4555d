//! Which engine runs `report` and `sql`, and the `catalog` command: the
//! lake's Glue tables for Athena.

use std::path::{Path, PathBuf};

use accesslake_queries::{DataFusionEngine, QueryEngine, QueryStats};

/// Query engines of `report` and `sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EngineKind {
    /// DataFusion in this process, over a lake folder (`--lake`).
    #[default]
    Datafusion,
    /// Amazon Athena, over the Glue tables `accesslake catalog sync` made.
    Athena,
}

/// Where Athena runs (used with `--engine athena`).
#[derive(clap::Args, Debug, Clone)]
pub struct AthenaArgs {
    /// Athena: the Glue database of the lake tables.
    #[arg(long, env = "ACCESSLAKE_ATHENA_DATABASE", default_value = "accesslake")]
    pub database: String,
    /// Athena: the workgroup (its enforced settings win).
    #[arg(long, env = "ACCESSLAKE_ATHENA_WORKGROUP", default_value = "primary")]
    pub workgroup: String,
    /// Athena: where results go (s3://…/), unless the workgroup enforces a location.
    #[arg(long = "athena-output", env = "ACCESSLAKE_ATHENA_OUTPUT")]
    pub output: Option<String>,
    /// Athena: cancel a query still running after this many seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub athena_timeout: u64,
}

/// Where `report` and `sql` run.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Lake folder (engine datafusion).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Query engine: datafusion over --lake, or athena over the Glue database.
    #[arg(long, value_enum, default_value_t = EngineKind::Datafusion)]
    pub engine: EngineKind,
    #[command(flatten)]
    pub athena: AthenaArgs,
    /// Print each query's time and the bytes it read from the lake, with
    /// what Athena bills for that many (always on with --engine athena).
    #[arg(long)]
    pub stats: bool,
    /// Memory a DataFusion query may hold in its sorts, groups and joins;
    /// past it sorts and groups spill to the temporary folder (TMPDIR).
    #[arg(long, env = "ACCESSLAKE_QUERY_MEMORY", default_value = "1GiB",
          value_parser = crate::parse_size)]
    pub memory: u64,
}

/// The `catalog` actions.
#[derive(clap::Subcommand, Debug)]
pub enum CatalogAction {
    /// Create or update the Glue database and the lake's tables so Athena can
    /// query the lake (idempotent: a second run changes nothing).
    Sync {
        /// Glue database.
        #[arg(long, env = "ACCESSLAKE_ATHENA_DATABASE", default_value = "accesslake")]
        database: String,
        /// The lake: s3://bucket[/prefix].
        #[arg(long)]
        lake: String,
        /// First day partition projection offers (YYYY-MM-DD); it runs to today.
        #[arg(long, default_value = accesslake_queries::glue::DEFAULT_PROJECTION_START)]
        projection_start: String,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the CloudFormation template of the Glue database and tables
    /// (infra/glue-catalog.json is this output).
    Template,
}

/// The engine a command asked for.
pub async fn open(on: &EngineArgs) -> anyhow::Result<Box<dyn QueryEngine>> {
    let (lake, athena) = (on.lake.as_deref(), &on.athena);
    match on.engine {
        EngineKind::Datafusion => {
            let lake = lake.ok_or_else(|| {
                anyhow::anyhow!("--lake is needed (a lake folder), or --engine athena")
            })?;
            Ok(Box::new(open_lake(lake, on.memory).await?))
        }
        EngineKind::Athena => athena_engine(lake, athena).await,
    }
}

/// DataFusion over a lake folder (queries holding at most `memory` bytes
/// before they spill), or a clear error when it is not one.
pub async fn open_lake(lake: &Path, memory: u64) -> anyhow::Result<DataFusionEngine> {
    if !lake.join("decisions").is_dir() && !lake.join("admin_events").is_dir() {
        anyhow::bail!(
            "{} is not a lake (no decisions/ or admin_events/ folder); run `accesslake ingest` first",
            lake.display()
        );
    }
    let memory = usize::try_from(memory).unwrap_or(usize::MAX);
    Ok(DataFusionEngine::local_with_memory(lake, memory).await?)
}

#[cfg(feature = "aws")]
async fn athena_engine(
    lake: Option<&Path>,
    a: &AthenaArgs,
) -> anyhow::Result<Box<dyn QueryEngine>> {
    use accesslake_queries::aws::{AthenaEngine, AthenaSettings};
    if let Some(lake) = lake {
        anyhow::bail!(
            "--lake {} is for --engine datafusion; Athena reads the Glue database --database {}",
            lake.display(),
            a.database
        );
    }
    let mut s = AthenaSettings::new(&a.database, &a.workgroup);
    s.output_location = a.output.clone();
    s.timeout = std::time::Duration::from_secs(a.athena_timeout);
    Ok(Box::new(AthenaEngine::from_env(s).await))
}

#[cfg(not(feature = "aws"))]
async fn athena_engine(
    _lake: Option<&Path>,
    _a: &AthenaArgs,
) -> anyhow::Result<Box<dyn QueryEngine>> {
    anyhow::bail!(NO_AWS)
}

#[cfg(not(feature = "aws"))]
const NO_AWS: &str =
    "this accesslake was built without AWS support; build it with `--features aws`";

/// Prints what each query cost on standard error: its time, the bytes it
/// read and their price on Athena (whole MB, at least 10 MB, list price).
/// Athena's runs always; DataFusion's when `all` (`--stats`), where the
/// price is what Athena would bill for the bytes DataFusion read.
pub fn print_stats(stats: &[QueryStats], all: bool) {
    for s in stats.iter().filter(|s| all || s.engine == "athena") {
        let scanned = s.bytes_scanned.map_or(String::new(), |b| {
            format!(
                ", scanned {} (billed as {}, ≈ ${:.6})",
                accesslake_transform::compact::human_bytes(b),
                accesslake_transform::compact::human_bytes(
                    accesslake_queries::athena_billed_bytes(b)
                ),
                accesslake_queries::athena_cost_usd(b)
            )
        });
        eprintln!(
            "{}: {} in {:.2} s{scanned}{}",
            s.engine,
            s.label,
            s.elapsed.as_secs_f64(),
            s.query_id
                .as_ref()
                .map_or(String::new(), |id| format!(" (query {id})"))
        );
    }
}

/// `accesslake catalog …`
pub fn catalog(action: CatalogAction) -> anyhow::Result<()> {
    match action {
        CatalogAction::Template => {
            let t = accesslake_queries::glue::cloudformation_template()?;
            println!("{}", serde_json::to_string_pretty(&t)?);
            Ok(())
        }
        CatalogAction::Sync {
            database,
            lake,
            projection_start,
            dry_run,
        } => sync(&database, &lake, &projection_start, dry_run),
    }
}

#[cfg(feature = "aws")]
fn sync(database: &str, lake: &str, start: &str, dry_run: bool) -> anyhow::Result<()> {
    use accesslake_queries::aws::{Change, sync_from_env};
    let opts = accesslake_queries::glue::CatalogOptions::new(lake, start)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(sync_from_env(database, &opts, dry_run))?;
    let would = if dry_run { "would be " } else { "" };
    if report.database_created {
        println!("database {}: {would}created", report.database);
    } else {
        println!("database {}: exists", report.database);
    }
    for (table, change) in &report.tables {
        match change {
            Change::Created => println!("  {table:<13} {would}created"),
            Change::Updated(parts) => {
                println!("  {table:<13} {would}updated ({})", parts.join(", "))
            }
            Change::Unchanged => println!("  {table:<13} unchanged"),
        }
    }
    if report.unchanged() {
        println!("the catalog already matches the lake's schemas; nothing changed");
    }
    Ok(())
}

#[cfg(not(feature = "aws"))]
fn sync(_database: &str, _lake: &str, _start: &str, _dry_run: bool) -> anyhow::Result<()> {
    anyhow::bail!(NO_AWS)
}
