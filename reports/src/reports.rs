//! The reports of SPEC 6 that the event lake answers, and how each is computed.

use std::collections::BTreeMap;

use accesslake_model::{Micros, format_rfc3339};
use accesslake_queries::{Params, QueryEngine, Value, query};

use crate::cells::{Cell, batches_to_rows};
use crate::{Error, Report, Result};

/// Which parameters a report takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportParams {
    /// `--from`, `--to`
    Range,
    /// `--at`
    At,
    /// `--employee`, `--from`, `--to`
    RangeEmployee,
    /// `--door`, `--from`, `--to`
    RangeDoor,
    /// none: the current state (the newest snapshot)
    Current,
    /// `--days N` (default 30), `--at` (default now)
    DaysAt,
}

/// `--days` when none is given.
pub const DEFAULT_DORMANT_DAYS: u32 = 30;

/// A report: who reads it, what it takes, what it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDef {
    pub name: &'static str,
    pub audience: &'static str,
    pub about: &'static str,
    pub params: ReportParams,
    pub columns: &'static [&'static str],
}

const DECISION_COLUMNS: &[&str] = &[
    "event_id",
    "occurred_at",
    "processed_at",
    "site_id",
    "zone_id",
    "door_id",
    "card_id",
    "employee_id",
    "direction",
    "outcome",
    "reason",
    "presence_change",
    "local_date",
    "local_hour",
    "local_weekday",
];
const DENIED_COLUMNS: &[&str] = &[
    "event_id",
    "occurred_at",
    "reason",
    "employee_id",
    "card_id",
    "door_id",
    "zone_id",
];

/// Every report, in the order of SPEC 6.
pub const REPORTS: &[ReportDef] = &[
    ReportDef {
        name: "occupancy",
        audience: "facility managers",
        about: "per zone and UTC hour: entries, exits, occupancy at the end of the hour, peak within it, peak against capacity",
        params: ReportParams::Range,
        columns: &[
            "zone_id",
            "bucket_start",
            "entries",
            "exits",
            "occupancy_end",
            "peak",
            "capacity",
            "peak_ratio",
        ],
    },
    ReportDef {
        name: "muster",
        audience: "facility managers, safety",
        about: "everyone possibly inside each zone at an instant, with when they entered",
        params: ReportParams::At,
        columns: &["zone_id", "employee_id", "name", "department", "entered_at"],
    },
    ReportDef {
        name: "denied",
        audience: "compliance",
        about: "every denied scan, with who, which card, where and why",
        params: ReportParams::Range,
        columns: DENIED_COLUMNS,
    },
    ReportDef {
        name: "inactive_card_use",
        audience: "compliance",
        about: "every scan of a lost, stolen, revoked, expired or not-yet-valid card",
        params: ReportParams::Range,
        columns: DENIED_COLUMNS,
    },
    ReportDef {
        name: "after_hours",
        audience: "compliance",
        about: "granted entries outside Monday-Friday 07:00-19:00 zone-local time",
        params: ReportParams::Range,
        columns: &[
            "event_id",
            "occurred_at",
            "local_date",
            "local_hour",
            "employee_id",
            "door_id",
            "zone_id",
        ],
    },
    ReportDef {
        name: "anti_passback",
        audience: "compliance",
        about: "anti-passback denials by employee and zone, with the first and last",
        params: ReportParams::Range,
        columns: &["employee_id", "zone_id", "count", "first_at", "last_at"],
    },
    ReportDef {
        name: "person_trail",
        audience: "compliance",
        about: "every decision for one employee, in time order",
        params: ReportParams::RangeEmployee,
        columns: DECISION_COLUMNS,
    },
    ReportDef {
        name: "door_trail",
        audience: "compliance",
        about: "every decision at one door, in time order",
        params: ReportParams::RangeDoor,
        columns: DECISION_COLUMNS,
    },
    ReportDef {
        name: "admin_changes",
        audience: "compliance",
        about: "admin events by actor and type, including those not applied and why",
        params: ReportParams::Range,
        columns: &[
            "event_id",
            "occurred_at",
            "received_at",
            "actor",
            "type",
            "entity_id",
            "payload",
            "applied",
            "error",
        ],
    },
    ReportDef {
        name: "access_review",
        audience: "compliance",
        about: "every grant in force now, who holds it, who granted it and when, and its last use",
        params: ReportParams::Current,
        columns: &[
            "zone_id",
            "employee_id",
            "name",
            "department",
            "schedule",
            "granted_by",
            "granted_at",
            "last_entry_at",
        ],
    },
    ReportDef {
        name: "dormant_cards",
        audience: "compliance",
        about: "active cards with no granted entry in the last N days",
        params: ReportParams::DaysAt,
        columns: &[
            "card_id",
            "employee_id",
            "name",
            "last_entry_at",
            "days_since",
        ],
    },
];

/// Looks a report up by name, with an error listing the reports there are.
pub fn report(name: &str) -> Result<&'static ReportDef> {
    REPORTS.iter().find(|r| r.name == name).ok_or_else(|| {
        Error::UnknownReport(
            name.to_string(),
            REPORTS
                .iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })
}

/// The parameters a user gave.
#[derive(Debug, Clone, Default)]
pub struct ReportArgs {
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    pub at: Option<Micros>,
    pub employee_id: Option<String>,
    pub door_id: Option<String>,
    /// Days without use, for dormant_cards.
    pub days: Option<u32>,
}

const DAY: Micros = 86_400_000_000;

fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn params_for(def: &ReportDef, a: &ReportArgs) -> Result<(Params, Vec<(String, String)>)> {
    let range = || -> Result<(Params, Vec<(String, String)>)> {
        let from = a.from.ok_or(Error::MissingParam(def.name, "--from"))?;
        let to = a.to.ok_or(Error::MissingParam(def.name, "--to"))?;
        Ok((
            Params::range(from, to)?,
            vec![
                ("from".into(), format_rfc3339(from)),
                ("to".into(), format_rfc3339(to)),
            ],
        ))
    };
    Ok(match def.params {
        ReportParams::Range => range()?,
        ReportParams::At => {
            let at = a.at.ok_or(Error::MissingParam(def.name, "--at"))?;
            (Params::at(at), vec![("at".into(), format_rfc3339(at))])
        }
        ReportParams::RangeEmployee => {
            let e = a
                .employee_id
                .clone()
                .ok_or(Error::MissingParam(def.name, "--employee"))?;
            let (p, mut shown) = range()?;
            shown.insert(0, ("employee_id".into(), e.clone()));
            (p.with("employee_id", Value::Text(e)), shown)
        }
        ReportParams::RangeDoor => {
            let d = a
                .door_id
                .clone()
                .ok_or(Error::MissingParam(def.name, "--door"))?;
            let (p, mut shown) = range()?;
            shown.insert(0, ("door_id".into(), d.clone()));
            (p.with("door_id", Value::Text(d)), shown)
        }
        ReportParams::Current => (Params::new(), Vec::new()),
        ReportParams::DaysAt => {
            let at = a.at.unwrap_or_else(now);
            let days = a.days.unwrap_or(DEFAULT_DORMANT_DAYS);
            if days == 0 {
                return Err(Error::BadParam(
                    def.name,
                    "--days must be at least 1".into(),
                ));
            }
            let since = at - i64::from(days) * DAY;
            (
                Params::at(at).with("since", Value::Timestamp(since)),
                vec![
                    ("days".into(), days.to_string()),
                    ("at".into(), format_rfc3339(at)),
                ],
            )
        }
    })
}

async fn run_query(
    engine: &dyn QueryEngine,
    name: &'static str,
    params: &Params,
) -> Result<(Vec<String>, Vec<Vec<Cell>>)> {
    let q = query(name).ok_or(Error::UnknownReport(name.to_string(), String::new()))?;
    Ok(batches_to_rows(&engine.run(q, params).await?))
}

/// Runs a report on an engine.
pub async fn run_report(
    engine: &dyn QueryEngine,
    def: &'static ReportDef,
    args: &ReportArgs,
) -> Result<Report> {
    let (params, shown) = params_for(def, args)?;
    let rows = if def.name == "occupancy" {
        occupancy(engine, &params).await?
    } else if def.name == "dormant_cards" {
        dormant_cards(engine, &params).await?
    } else {
        let (columns, rows) = run_query(engine, def.name, &params).await?;
        if !columns.is_empty() {
            for (got, want) in columns.iter().zip(def.columns) {
                if got != want {
                    return Err(Error::Shape(def.name, got.clone(), want));
                }
            }
        }
        rows
    };
    Ok(Report {
        name: def.name,
        params: shown,
        columns: def.columns.to_vec(),
        rows,
    })
}

const HOUR: Micros = 3_600_000_000;

/// The query's rows with `days_since`: whole days from the last entry to
/// `at` (null for a card never used).
async fn dormant_cards(engine: &dyn QueryEngine, params: &Params) -> Result<Vec<Vec<Cell>>> {
    let Some(Value::Timestamp(at)) = params.get("at") else {
        return Err(Error::MissingParam("dormant_cards", "--at"));
    };
    let (_, rows) = run_query(engine, "dormant_cards", params).await?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            let days = r
                .get(3)
                .and_then(Cell::as_time)
                .map_or(Cell::Null, |last| Cell::Int((at - last).div_euclid(DAY)));
            r.truncate(4);
            r.push(days);
            r
        })
        .collect())
}

/// Every zone × every UTC hour of the range. The query gives the hours with
/// decisions and the level carried into the range; empty hours carry the
/// level forward (their peak and end equal it).
async fn occupancy(engine: &dyn QueryEngine, params: &Params) -> Result<Vec<Vec<Cell>>> {
    let (Some(Value::Timestamp(from)), Some(Value::Timestamp(to))) =
        (params.get("from"), params.get("to"))
    else {
        return Err(Error::MissingParam("occupancy", "--from and --to"));
    };
    let (_, zones) = run_query(engine, "zones", &Params::new()).await?;
    let (_, levels) = run_query(engine, "occupancy", params).await?;
    // zone → (carried-in level, bucket → (entries, exits, peak, end))
    let mut by_zone: BTreeMap<String, (i64, BTreeMap<Micros, [i64; 4]>)> = BTreeMap::new();
    for r in &levels {
        let zone = r[0].as_str().unwrap_or_default().to_string();
        let entry = by_zone.entry(zone).or_default();
        let end = r[5].as_int().unwrap_or(0);
        match r[1].as_time() {
            None => entry.0 = end,
            Some(b) => {
                let v = [
                    r[2].as_int().unwrap_or(0),
                    r[3].as_int().unwrap_or(0),
                    r[4].as_int().unwrap_or(0),
                    end,
                ];
                entry.1.insert(b, v);
            }
        }
    }
    let first = from.div_euclid(HOUR) * HOUR;
    let mut out = Vec::new();
    for z in &zones {
        let zone_id = z[0].as_str().unwrap_or_default();
        let capacity = z[4].as_int();
        let (mut level, buckets) = by_zone.remove(zone_id).unwrap_or_default();
        let mut b = first;
        while b < *to {
            let (entries, exits, peak, end) = match buckets.get(&b) {
                Some(&[e, x, p, end]) => (e, x, p.max(level), end),
                None => (0, 0, level, level),
            };
            level = end;
            let ratio = match capacity {
                Some(c) if c > 0 => Cell::Float(peak as f64 / c as f64),
                _ => Cell::Null,
            };
            out.push(vec![
                Cell::Text(zone_id.to_string()),
                Cell::Time(b),
                Cell::Int(entries),
                Cell::Int(exits),
                Cell::Int(end),
                Cell::Int(peak),
                capacity.map_or(Cell::Null, Cell::Int),
                ratio,
            ]);
            b += HOUR;
        }
    }
    Ok(out)
}
