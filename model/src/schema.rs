//! The Arrow schema of every lake table: the single source of truth for the
//! Parquet writer, the catalog definitions and docs/lake.md.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The tables of the lake. Their names are the only table names that are ever
/// turned into object keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Decisions,
    AdminEvents,
    Rejected,
    Employees,
    Cards,
    Zones,
    Doors,
    Grants,
}

impl Table {
    /// The event tables, written as events are decided and applied.
    pub const EVENTS: [Table; 3] = [Table::Decisions, Table::AdminEvents, Table::Rejected];
    /// The dimension snapshots: the current state, one row per entity, under
    /// `dt=` of the day the snapshot was taken.
    pub const SNAPSHOTS: [Table; 5] = [
        Table::Employees,
        Table::Cards,
        Table::Zones,
        Table::Doors,
        Table::Grants,
    ];
    pub const ALL: [Table; 8] = [
        Table::Decisions,
        Table::AdminEvents,
        Table::Rejected,
        Table::Employees,
        Table::Cards,
        Table::Zones,
        Table::Doors,
        Table::Grants,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Decisions => "decisions",
            Table::AdminEvents => "admin_events",
            Table::Rejected => "rejected",
            Table::Employees => "employees",
            Table::Cards => "cards",
            Table::Zones => "zones",
            Table::Doors => "doors",
            Table::Grants => "grants",
        }
    }

    pub fn is_snapshot(self) -> bool {
        Self::SNAPSHOTS.contains(&self)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The table's columns, without the `dt` partition column.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Decisions => DECISIONS.clone(),
            Table::AdminEvents => ADMIN_EVENTS.clone(),
            Table::Rejected => REJECTED.clone(),
            Table::Employees => EMPLOYEES.clone(),
            Table::Cards => CARDS.clone(),
            Table::Zones => ZONES.clone(),
            Table::Doors => DOORS.clone(),
            Table::Grants => GRANTS.clone(),
        }
    }

    /// The table's columns as a Markdown table (name, Arrow type, nullability,
    /// meaning), as docs/lake.md shows them.
    pub fn markdown(self) -> String {
        let mut out = String::from("| column | type | null | meaning |\n|---|---|---|---|\n");
        let schema = self.schema();
        for (field, (_, doc)) in schema.fields().iter().zip(self.column_docs()) {
            let ty = match field.data_type() {
                DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
                    "timestamp(µs, UTC)".to_string()
                }
                DataType::Utf8 => "string".to_string(),
                DataType::Int8 => "int8".to_string(),
                DataType::Int32 => "int32".to_string(),
                DataType::Boolean => "bool".to_string(),
                other => other.to_string(),
            };
            let null = if field.is_nullable() { "yes" } else { "" };
            out.push_str(&format!("| `{}` | {ty} | {null} | {doc} |\n", field.name()));
        }
        out
    }

    /// One line per column for docs: what it holds.
    pub fn column_docs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Table::Decisions => &[
                ("event_id", "the scan's id, unique per physical scan"),
                ("occurred_at", "when the card was presented"),
                ("processed_at", "when accesslake decided it"),
                (
                    "site_id",
                    "site of the door's zone; null for an unknown door",
                ),
                (
                    "zone_id",
                    "zone of the door at decision time; null for an unknown door",
                ),
                ("door_id", "the reader"),
                ("card_id", "the card presented"),
                (
                    "employee_id",
                    "the card's holder at decision time; null for an unknown card",
                ),
                ("direction", "`in` or `out`"),
                ("outcome", "`granted` or `denied`"),
                ("reason", "the rule that decided it (docs/decisions.md)"),
                (
                    "presence_change",
                    "+1 entry, -1 exit of someone inside, else 0",
                ),
                ("local_date", "zone-local date, YYYY-MM-DD"),
                ("local_hour", "zone-local hour 0-23"),
                ("local_weekday", "zone-local ISO weekday, 1 = Monday"),
            ],
            Table::AdminEvents => &[
                ("event_id", "the admin event's id"),
                ("occurred_at", "when the change was made"),
                ("received_at", "when accesslake recorded it"),
                ("actor", "who or what made the change"),
                ("type", "admin event type"),
                (
                    "entity_id",
                    "the changed entity; `employee_id/zone_id` for grants",
                ),
                ("payload", "the event's `data` as JSON"),
                ("applied", "whether the state changed"),
                (
                    "error",
                    "why not applied: stale, unknown_employee, unknown_zone, unknown_card",
                ),
            ],
            Table::Rejected => &[
                ("received_at", "when the record was read"),
                ("source", "`kinesis`, `sqs` or `file`"),
                ("source_ref", "sequence number, message id or file:line"),
                ("error", "why it was rejected"),
                ("raw", "the first 64 KiB of the record"),
            ],
            Table::Employees => &[
                ("employee_id", "the employee"),
                ("name", "full name"),
                ("department", "department"),
                ("status", "`active` or `inactive`"),
                ("snapshot_at", SNAPSHOT_AT),
            ],
            Table::Cards => &[
                ("card_id", "the card"),
                ("employee_id", "the holder it is linked to"),
                (
                    "status",
                    "`active`, `lost`, `stolen`, `revoked`, `destroyed` or `expired`",
                ),
                ("valid_from", "first valid instant, if limited"),
                ("valid_until", "end of validity (exclusive), if limited"),
                ("snapshot_at", SNAPSHOT_AT),
            ],
            Table::Zones => &[
                ("zone_id", "the zone"),
                ("name", "display name"),
                ("site_id", "the site it belongs to"),
                ("timezone", "IANA timezone of its local times"),
                ("capacity", "people allowed inside; 0 = not set"),
                ("snapshot_at", SNAPSHOT_AT),
            ],
            Table::Doors => &[
                ("door_id", "the reader"),
                ("zone_id", "the zone it lets into"),
                ("name", "display name"),
                ("snapshot_at", SNAPSHOT_AT),
            ],
            Table::Grants => &[
                ("employee_id", "who may enter"),
                ("zone_id", "where"),
                (
                    "schedule",
                    "`always`, or ISO weekdays and a zone-local window: `Mon-Fri 07:00-19:00`",
                ),
                ("granted_by", "actor of the access_granted event"),
                ("granted_at", "occurred_at of the access_granted event"),
                ("snapshot_at", SNAPSHOT_AT),
            ],
        }
    }
}

const SNAPSHOT_AT: &str =
    "when the snapshot was taken (the newest in a table is the current state)";

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

static DECISIONS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("event_id", false),
        Field::new("occurred_at", ts(), false),
        Field::new("processed_at", ts(), false),
        utf8("site_id", true),
        utf8("zone_id", true),
        utf8("door_id", false),
        utf8("card_id", false),
        utf8("employee_id", true),
        utf8("direction", false),
        utf8("outcome", false),
        utf8("reason", false),
        Field::new("presence_change", DataType::Int8, false),
        utf8("local_date", true),
        Field::new("local_hour", DataType::Int8, true),
        Field::new("local_weekday", DataType::Int8, true),
    ]))
});

static ADMIN_EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("event_id", false),
        Field::new("occurred_at", ts(), false),
        Field::new("received_at", ts(), false),
        utf8("actor", false),
        utf8("type", false),
        utf8("entity_id", false),
        utf8("payload", false),
        Field::new("applied", DataType::Boolean, false),
        utf8("error", true),
    ]))
});

static REJECTED: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("received_at", ts(), false),
        utf8("source", false),
        utf8("source_ref", false),
        utf8("error", false),
        utf8("raw", false),
    ]))
});

fn snapshot(mut fields: Vec<Field>) -> SchemaRef {
    fields.push(Field::new("snapshot_at", ts(), false));
    Arc::new(Schema::new(fields))
}

static EMPLOYEES: LazyLock<SchemaRef> = LazyLock::new(|| {
    snapshot(vec![
        utf8("employee_id", false),
        utf8("name", false),
        utf8("department", false),
        utf8("status", false),
    ])
});

static CARDS: LazyLock<SchemaRef> = LazyLock::new(|| {
    snapshot(vec![
        utf8("card_id", false),
        utf8("employee_id", false),
        utf8("status", false),
        Field::new("valid_from", ts(), true),
        Field::new("valid_until", ts(), true),
    ])
});

static ZONES: LazyLock<SchemaRef> = LazyLock::new(|| {
    snapshot(vec![
        utf8("zone_id", false),
        utf8("name", false),
        utf8("site_id", false),
        utf8("timezone", false),
        Field::new("capacity", DataType::Int32, false),
    ])
});

static DOORS: LazyLock<SchemaRef> = LazyLock::new(|| {
    snapshot(vec![
        utf8("door_id", false),
        utf8("zone_id", false),
        utf8("name", false),
    ])
});

static GRANTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    snapshot(vec![
        utf8("employee_id", false),
        utf8("zone_id", false),
        utf8("schedule", false),
        utf8("granted_by", false),
        Field::new("granted_at", ts(), false),
    ])
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_lake_md_shows_the_schemas_of_the_code() {
        let doc = include_str!("../../docs/lake.md");
        for t in Table::ALL {
            assert!(
                doc.contains(&t.markdown()),
                "docs/lake.md is out of date for `{}`; the table should read:\n{}",
                t.name(),
                t.markdown()
            );
        }
    }

    #[test]
    fn docs_cover_every_column_in_order() {
        for t in Table::ALL {
            let schema = t.schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let documented: Vec<&str> = t.column_docs().iter().map(|(n, _)| *n).collect();
            assert_eq!(names, documented, "{}", t.name());
            assert_eq!(Table::parse(t.name()), Some(t));
            for n in names {
                assert!(
                    n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{n}"
                );
            }
        }
    }
}
