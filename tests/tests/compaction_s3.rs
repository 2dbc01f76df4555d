//! Compaction through object_store on S3 (the moto emulator): the same plan
//! and executor as on a folder, many small objects in, one per partition out,
//! duplicates removed, nothing else touched.

mod aws_env;
mod common;

use accesslake_ingest::aws::s3_lake;
use accesslake_model::Table;
use accesslake_transform::compact::{self, CompactOptions};
use common::*;
use object_store::{ObjectStoreExt, PutPayload};

#[test]
fn compaction_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 20, 2, 9);
    let local = dir.path().join("lake");
    ingest(&local, &files, 25).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sdk = aws_env::sdk().await;
        let bucket = aws_env::bucket(&sdk).await;
        let lake = s3_lake(&format!("s3://{bucket}/lake")).unwrap();
        // The local files as objects, and a second copy of a few as an
        // at-least-once writer would leave them.
        let mut objects = 0;
        let mut duplicate_rows = 0;
        for t in Table::EVENTS {
            for (i, f) in table_files(&local, t).iter().enumerate() {
                let key = f
                    .strip_prefix(&local)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(f).unwrap();
                lake.store()
                    .put(&key.as_str().into(), PutPayload::from(bytes.clone()))
                    .await
                    .unwrap();
                objects += 1;
                if i % 5 == 0 {
                    let dup = key.replace(".parquet", "-again.parquet");
                    lake.store()
                        .put(&dup.as_str().into(), PutPayload::from(bytes))
                        .await
                        .unwrap();
                    objects += 1;
                    duplicate_rows += read_file(f)
                        .iter()
                        .map(|b| b.num_rows() as u64)
                        .sum::<u64>();
                }
            }
        }
        // An object outside the lake's layout is not the compactor's.
        lake.store()
            .put(
                &"decisions/README.txt".into(),
                PutPayload::from_static(b"notes"),
            )
            .await
            .unwrap();

        let m = compact::compact(&lake, &CompactOptions::default())
            .await
            .unwrap();
        assert_eq!(m.files_in, objects);
        assert_eq!(m.duplicates_removed, duplicate_rows);
        assert!(m.failed.is_empty(), "{:?}", m.failed);
        for t in Table::EVENTS {
            let got = store_batches(&lake, t).await;
            assert_same_rows(&batch_rows(&got, &[]), &rows(&local, t, &[]), t.name());
            let keys = lake.list(t).await.unwrap();
            let parts: std::collections::BTreeSet<String> = keys
                .iter()
                .map(|k| k.parts().nth(1).unwrap().as_ref().to_string())
                .collect();
            assert_eq!(
                keys.len(),
                parts.len(),
                "{}: one object per partition",
                t.name()
            );
            assert!(
                keys.iter()
                    .all(|k| k.filename().unwrap().starts_with("compact-"))
            );
        }
        assert!(
            lake.store()
                .head(&"decisions/README.txt".into())
                .await
                .is_ok()
        );
        let again = compact::compact(&lake, &CompactOptions::default())
            .await
            .unwrap();
        assert_eq!(again.partitions, 0);
    });
}
