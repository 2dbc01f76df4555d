//! The lake contract of SPEC 4: Hive partitions by UTC date, the schemas of
//! model/src/schema.rs exactly, UTC microsecond timestamps, zstd, sorted rows.

mod common;

use accesslake_model::{Table, utc_date};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use common::*;
use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};

#[test]
fn files_partitions_schemas_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 40, 5, 3);
    let lake = dir.path().join("lake");
    ingest(&lake, &files, 50_000).unwrap();

    for table in Table::EVENTS {
        let paths = table_files(&lake, table);
        assert!(!paths.is_empty(), "{}", table.name());
        for path in paths {
            let rel = path
                .strip_prefix(&lake)
                .unwrap()
                .to_string_lossy()
                .to_string();
            let parts: Vec<&str> = rel.split('/').collect();
            assert_eq!(parts.len(), 3, "{rel}");
            assert_eq!(parts[0], table.name());
            let dt = parts[1]
                .strip_prefix("dt=")
                .unwrap_or_else(|| panic!("{rel}"));
            assert!(
                parts[2].starts_with("part-") && parts[2].ends_with(".parquet"),
                "{rel}"
            );

            let meta = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            for rg in meta.metadata().row_groups() {
                for c in rg.columns() {
                    assert!(
                        matches!(c.compression(), Compression::ZSTD(_)),
                        "{rel} {}",
                        c.column_path()
                    );
                }
            }
            for batch in read_file(&path) {
                assert_eq!(batch.schema().fields(), table.schema().fields(), "{rel}");
                let time_col = if table == Table::Rejected {
                    "received_at"
                } else {
                    "occurred_at"
                };
                let times = batch
                    .column_by_name(time_col)
                    .unwrap()
                    .as_primitive::<TimestampMicrosecondType>();
                for t in times.values() {
                    assert_eq!(
                        utc_date(*t).to_string(),
                        dt,
                        "{rel}: a row outside its partition"
                    );
                }
                if table == Table::Decisions {
                    let zones = batch.column_by_name("zone_id").unwrap();
                    let keys: Vec<(bool, String, i64)> = (0..batch.num_rows())
                        .map(|i| (zones.is_null(i), cell(zones.as_ref(), i), times.value(i)))
                        .collect();
                    assert!(
                        keys.windows(2).all(|w| w[0] <= w[1]),
                        "{rel} is not sorted by (zone_id, occurred_at)"
                    );
                }
            }
        }
    }
    // The state lives beside the tables, in a folder readers ignore.
    assert!(lake.join("_state/state.redb").exists());
}
