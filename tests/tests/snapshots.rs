//! Dimension snapshots (SPEC 4): the state as five tables, one row per
//! entity, in the schemas of model/src/schema.rs; a later snapshot the same
//! day replaces the earlier one.

mod common;

use accesslake_ingest::snapshot::{snapshot_file_name, write_snapshot};
use accesslake_ingest::{EmbeddedStore, StateStore};
use accesslake_model::{Table, parse_rfc3339};
use accesslake_transform::Lake;
use common::*;

#[test]
fn a_snapshot_holds_every_entity_of_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 40, 3, 2);
    let lake = dir.path().join("lake");
    ingest(&lake, &files, 1_000).unwrap();
    let state = EmbeddedStore::open(&lake.join("_state/state.redb"))
        .unwrap()
        .load()
        .unwrap();
    let at = parse_rfc3339("2026-04-01T02:00:00Z").unwrap();
    let s = rt()
        .block_on(write_snapshot(&Lake::local(&lake).unwrap(), &state, at))
        .unwrap();
    let grants = state.grants().count();
    assert_eq!(
        s.tables,
        vec![
            (Table::Employees, state.employees.len()),
            (Table::Cards, state.cards.len()),
            (Table::Zones, state.zones.len()),
            (Table::Doors, state.doors.len()),
            (Table::Grants, grants),
        ]
    );
    assert!(grants >= state.employees.len() && state.cards.len() >= state.employees.len());

    for t in Table::SNAPSHOTS {
        let files = table_files(&lake, t);
        assert_eq!(files.len(), 1, "{}", t.name());
        assert!(files[0].ends_with(format!(
            "{}/dt=2026-04-01/snapshot-20260401T020000000000Z.parquet",
            t.name()
        )));
        for b in read_file(&files[0]) {
            assert_eq!(b.schema().fields(), t.schema().fields(), "{}", t.name());
        }
    }
    // Row by row against the state.
    let mut want: Vec<String> = state
        .employees
        .values()
        .map(|e| {
            format!(
                "employee_id={}|name={}|department={}|status={}|snapshot_at=2026-04-01T02:00:00.000000Z",
                e.employee_id,
                e.name,
                e.department,
                e.status.as_str()
            )
        })
        .collect();
    want.sort();
    assert_eq!(rows(&lake, Table::Employees, &[]), want);
    let mut want: Vec<String> = state
        .grants()
        .map(|g| {
            format!(
                "employee_id={}|zone_id={}|schedule={}|granted_by={}|granted_at={}",
                g.employee_id,
                g.zone_id,
                g.schedule.describe(),
                g.granted_by,
                accesslake_model::format_rfc3339(g.granted_at)
            )
        })
        .collect();
    want.sort();
    assert_eq!(rows(&lake, Table::Grants, &["snapshot_at"]), want);
    let cards = rows(&lake, Table::Cards, &["snapshot_at"]);
    assert_eq!(cards.len(), state.cards.len());
    let statuses = [
        "active",
        "lost",
        "stolen",
        "revoked",
        "destroyed",
        "expired",
    ];
    for c in &cards {
        assert!(
            statuses
                .iter()
                .any(|s| c.contains(&format!("|status={s}|"))),
            "{c}"
        );
    }
    let mut want: Vec<String> = state
        .cards
        .values()
        .map(|c| {
            format!(
                "card_id={}|employee_id={}|status={}",
                c.card_id,
                c.employee_id,
                c.status.as_str()
            )
        })
        .collect();
    want.sort();
    let got: Vec<String> = rows(
        &lake,
        Table::Cards,
        &["snapshot_at", "valid_from", "valid_until"],
    );
    assert_eq!(got, want);

    // A later snapshot the same day replaces it; one on another day does not.
    let later = at + 3_600_000_000;
    let s2 = rt()
        .block_on(write_snapshot(&Lake::local(&lake).unwrap(), &state, later))
        .unwrap();
    assert_eq!(s2.replaced, 5);
    let next_day = at + 86_400_000_000;
    let s3 = rt()
        .block_on(write_snapshot(
            &Lake::local(&lake).unwrap(),
            &state,
            next_day,
        ))
        .unwrap();
    assert_eq!(s3.replaced, 0);
    for t in Table::SNAPSHOTS {
        let names: Vec<String> = table_files(&lake, t)
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [snapshot_file_name(later), snapshot_file_name(next_day)],
            "{}",
            t.name()
        );
    }
}
