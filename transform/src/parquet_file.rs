//! The one place that decides how lake Parquet files are written.

use accesslake_model::Table;
use arrow_array::RecordBatch;
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowWriterOptions, compute_leaves,
};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::{Result, delta_length, integers, sorted_dictionary};

/// Rows per row group: large enough for good compression and few footers,
/// small enough that a reader can skip by statistics within a compacted file.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Rows per data page: 32 × 1,024, where parquet-rs (which checks the limit
/// every 1,024 rows) and [`sorted_dictionary`] both end a page exactly.
/// A day of a 4,000-person site, up to 22,000 scans, is then one page per
/// column: its file needs no page index, and no column ends in a page of a
/// few hundred rows (parquet-rs's default of 20,000 rows split 425 of the
/// 685 files of the benchmark lake so). A compacted file keeps pages small
/// enough for its page index to skip most of a zone or an hour.
pub use crate::sorted_dictionary::PAGE_ROWS;

/// Bytes per data page before compression: twice parquet-rs's default, so
/// that [`PAGE_ROWS`] event ids (1.2 MB) fit one page.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Columns written plain, without a dictionary. Most have values (nearly)
/// unique per row, for which a dictionary would only be built and then
/// abandoned. A decision's local hour and weekday are small numbers in long
/// runs, which zstd packs as tightly from plain values (0.037 bytes per row
/// for the two, against 0.038 as dictionary indices) for no more work; the
/// same goes for `processed_at`, one instant per chunk of an ingest, and
/// for an admin event's times: its `occurred_at` is (nearly) its own, and
/// written plain they go to [`integers`], so that an admin events file
/// needs none of parquet-rs's column writers, each of which makes two zstd
/// contexts (0.95 % of the 10M ingest's samples, 861 files of nine
/// columns). The admin files of the 1M ingest take 10 % fewer bytes.
fn no_dictionary(table: Table) -> &'static [&'static str] {
    match table {
        Table::Decisions => &[
            "event_id",
            "occurred_at",
            "processed_at",
            "local_hour",
            "local_weekday",
        ],
        Table::AdminEvents => &["event_id", "occurred_at", "received_at", "payload"],
        Table::Rejected => &["raw", "source_ref"],
        Table::Employees | Table::Cards => &["card_id", "employee_id", "name"],
        Table::Zones | Table::Doors | Table::Grants => &[],
    }
}

/// Encodings, other than plain, for some of the columns written without a
/// dictionary. Random ids of one length: `DELTA_LENGTH_BYTE_ARRAY` stores the
/// lengths apart from the bytes, so zstd no longer codes a 4-byte length
/// between every two ids (19.0 instead of 20.5 bytes per `event_id`).
/// Timestamps in arrival order: `DELTA_BINARY_PACKED` keeps the small
/// differences (2.7 instead of 3.1 bytes per `occurred_at`). An admin
/// event's payload and a rejected line's bytes are written the way event
/// ids are ([`delta_length`], not parquet-rs's writer): 0.6 % and 4 % more
/// bytes than `PLAIN` for those columns, a few kilobytes per million
/// events. DataFusion, DuckDB, pyarrow and Athena (Trino) read both.
fn encodings(table: Table) -> &'static [(&'static str, Encoding)] {
    match table {
        Table::Decisions => &[
            ("event_id", Encoding::DELTA_LENGTH_BYTE_ARRAY),
            ("occurred_at", Encoding::DELTA_BINARY_PACKED),
        ],
        Table::AdminEvents => &[
            ("event_id", Encoding::DELTA_LENGTH_BYTE_ARRAY),
            ("occurred_at", Encoding::DELTA_BINARY_PACKED),
            ("payload", Encoding::DELTA_LENGTH_BYTE_ARRAY),
        ],
        Table::Rejected => &[("raw", Encoding::DELTA_LENGTH_BYTE_ARRAY)],
        _ => &[],
    }
}

/// Columns whose minimum and maximum would never let a reader skip a page or
/// a file: random ids (every file spans nearly all of them), the time of
/// processing and whole documents. Leaving their statistics out saves two
/// comparisons per value when writing and their bytes in every footer.
///
/// A decisions file is sorted by zone and time, so its cards and people are
/// scattered over every page, and a page of 20,000 scans holds both
/// directions, both outcomes and nearly every reason: none of those bounds
/// excludes a page either. Zone, site, door and the dates keep theirs.
fn no_statistics(table: Table) -> &'static [&'static str] {
    match table {
        Table::Decisions => &[
            "event_id",
            "processed_at",
            "card_id",
            "employee_id",
            "direction",
            "outcome",
            "reason",
        ],
        Table::AdminEvents => &["event_id", "received_at", "payload"],
        Table::Rejected => &["raw"],
        _ => &[],
    }
}

/// Parquet settings for a table: zstd at level 1, dictionary encoding for the
/// low-cardinality columns (ids, codes, dates), delta encodings for unique
/// ids and timestamps, page statistics for pruning where they can prune.
///
/// Level 1, not zstd's default of 3: what is left to compress after the
/// dictionaries and delta encodings is bit-packed indices, small deltas and
/// random ids, where the higher levels find only short chance matches. On a
/// decisions lake level 1 writes 0.05 % fewer bytes for files of 16,000 rows
/// and 0.13 % more for files of 200,000, and an ingest spends 1.2 % fewer
/// instructions (on random ids alone: 18.5 instead of 19.0 bytes each).
/// The time deltas of `occurred_at` repeat in patterns level 9 finds, but
/// for 0.024 bytes per row at 2.7 % of an ingest's instructions: not worth it.
pub fn writer_properties(table: Table) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_data_page_size_limit(PAGE_BYTES)
        .set_created_by(format!("accesslake {}", env!("CARGO_PKG_VERSION")));
    for col in no_dictionary(table) {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*col), false);
    }
    for col in no_statistics(table) {
        b = b.set_column_statistics_enabled(ColumnPath::from(*col), EnabledStatistics::None);
    }
    for (col, encoding) in encodings(table) {
        b = b.set_column_encoding(ColumnPath::from(*col), *encoding);
    }
    b.build()
}

/// Encodes one record batch as a complete Parquet file in row groups of
/// [`ROW_GROUP_ROWS`]. String columns with a dictionary are written by
/// [`sorted_dictionary`], event ids by [`delta_length`], integers and
/// timestamps by [`integers`], and whatever none of them takes by
/// parquet-rs's Arrow writer (whose column writers are made only then). The
/// batch is in the table's schema, except that a string column may come as
/// a dictionary array of its strings ([`crate::lake_batch`]).
///
/// Two things parquet-rs would add are left out because they repeat what
/// the file already says:
/// - the Arrow schema (`ARROW:schema`, 1.2 KB a decisions file): every type
///   of the lake has its own Parquet type (strings, int8, UTC timestamps in
///   microseconds), from which arrow-rs, pyarrow, DuckDB and Trino derive
///   the same schema;
/// - the page index of a file whose every column chunk is one data page
///   (0.8 KB a decisions file of up to 32,768 rows): its column index
///   repeats the chunk statistics and its offset index the page offset,
///   and a reader would fetch it for nothing. Files of more pages keep it
///   whole (arrow-rs ignores a page index that lacks any column).
pub fn encode_parquet(table: Table, batch: &RecordBatch) -> Result<Bytes> {
    let mut buf = Vec::with_capacity(batch.get_array_memory_size() / 4 + 1024);
    let schema = table.schema();
    let props = writer_properties(table);
    // For each column written with a sorted dictionary: whether it keeps
    // statistics.
    let sorted: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            let path = ColumnPath::from(f.name().as_str());
            (f.data_type() == &DataType::Utf8 && props.dictionary_enabled(&path))
                .then(|| props.statistics_enabled(&path) != EnabledStatistics::None)
        })
        .collect();
    // For each column written by `delta_length`: its zstd level.
    let delta: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            let path = ColumnPath::from(f.name().as_str());
            let fits = f.data_type() == &DataType::Utf8
                && !props.dictionary_enabled(&path)
                && props.statistics_enabled(&path) == EnabledStatistics::None
                && props.encoding(&path) == Some(Encoding::DELTA_LENGTH_BYTE_ARRAY);
            match props.compression(&path) {
                Compression::ZSTD(level) if fits => Some(level.compression_level()),
                _ => None,
            }
        })
        .collect();
    // For each column written by `integers`: its values' encoding, whether
    // it keeps statistics, and its zstd level.
    let integer: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            let path = ColumnPath::from(f.name().as_str());
            let values = if props.dictionary_enabled(&path) {
                integers::Values::Dictionary
            } else {
                match props.encoding(&path) {
                    None | Some(Encoding::PLAIN) => integers::Values::Plain,
                    Some(Encoding::DELTA_BINARY_PACKED) => integers::Values::DeltaBinaryPacked,
                    Some(_) => return None,
                }
            };
            let statistics = match props.statistics_enabled(&path) {
                EnabledStatistics::None => false,
                EnabledStatistics::Page => true,
                EnabledStatistics::Chunk => return None,
            };
            match props.compression(&path) {
                Compression::ZSTD(level) => Some((values, statistics, level.compression_level())),
                _ => None,
            }
        })
        .collect();
    let page_bytes = props.data_page_size_limit();
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true);
    let (mut file, factory) = ArrowWriter::try_new_with_options(&mut buf, schema.clone(), options)?
        .into_serialized_writer()?;
    let descrs: Vec<_> = (0..sorted.len())
        .map(|i| file.schema_descr().column(i))
        .collect();
    let one_group = batch.num_rows() <= ROW_GROUP_ROWS;
    let mut start = 0;
    let mut group = 0;
    while start < batch.num_rows() {
        let len = ROW_GROUP_ROWS.min(batch.num_rows() - start);
        let rows = batch.slice(start, len);
        // parquet-rs's writers for the row group, made only if a column
        // needs one: they allocate for every column.
        let mut writers: Option<Vec<Option<ArrowColumnWriter>>> = None;
        let mut chunks = Vec::with_capacity(sorted.len());
        for (i, field) in schema.fields().iter().enumerate() {
            let column = rows.column(i);
            if let Some(statistics) = sorted[i]
                && let Some((bytes, close)) =
                    sorted_dictionary::encode(column.as_ref(), descrs[i].clone(), statistics)?
            {
                chunks.push(Chunk::Own(bytes, close));
                continue;
            }
            if let Some(level) = delta[i]
                && let Some((bytes, close)) =
                    delta_length::encode(column.as_ref(), descrs[i].clone(), level, page_bytes)?
            {
                chunks.push(Chunk::Own(bytes, close));
                continue;
            }
            if let Some((values, statistics, level)) = integer[i]
                && let Some((bytes, close)) = integers::encode(
                    column.as_ref(),
                    descrs[i].clone(),
                    values,
                    statistics,
                    level,
                    page_bytes,
                )?
            {
                chunks.push(Chunk::Own(bytes, close));
                continue;
            }
            let writers = match &mut writers {
                Some(w) => w,
                None => writers.insert(
                    factory
                        .create_column_writers(group)?
                        .into_iter()
                        .map(Some)
                        .collect(),
                ),
            };
            let Some(mut writer) = writers.get_mut(i).and_then(Option::take) else {
                return Err(ParquetError::General(format!("no writer for column {i}")).into());
            };
            // A column given in another Arrow type than the table's (a
            // dictionary array of strings) is written as the table's type.
            let unpacked;
            let column = if column.data_type() == field.data_type() {
                column
            } else {
                unpacked = crate::rows::unpacked(column)
                    .filter(|c| c.data_type() == field.data_type())
                    .ok_or_else(|| {
                        arrow_schema::ArrowError::CastError(format!(
                            "column {} is {} where the table has {}",
                            field.name(),
                            column.data_type(),
                            field.data_type()
                        ))
                    })?;
                &unpacked
            };
            for leaf in compute_leaves(field, column)? {
                writer.write(&leaf)?;
            }
            chunks.push(Chunk::Arrow(writer.close()?));
        }
        if one_group
            && chunks.iter().all(|c| {
                c.close()
                    .offset_index
                    .as_ref()
                    .is_some_and(|o| o.page_locations.len() == 1)
            })
        {
            for c in &mut chunks {
                let close = c.close_mut();
                close.column_index = None;
                close.offset_index = None;
            }
        }
        let mut row_group = file.next_row_group()?;
        for c in chunks {
            match c {
                Chunk::Own(bytes, close) => row_group.append_column(&bytes, close)?,
                Chunk::Arrow(chunk) => chunk.append_to_row_group(&mut row_group)?,
            }
        }
        row_group.close()?;
        start += len;
        group += 1;
    }
    file.close()?;
    Ok(Bytes::from(buf))
}

/// An encoded column chunk waiting for its row group.
enum Chunk {
    /// Written here (`sorted_dictionary`, `delta_length`).
    Own(Bytes, ColumnCloseResult),
    Arrow(ArrowColumnChunk),
}

impl Chunk {
    fn close(&self) -> &ColumnCloseResult {
        match self {
            Chunk::Own(_, close) => close,
            Chunk::Arrow(chunk) => chunk.close(),
        }
    }

    fn close_mut(&mut self) -> &mut ColumnCloseResult {
        match self {
            Chunk::Own(_, close) => close,
            Chunk::Arrow(chunk) => chunk.close_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LakeRow, lake_batch, record_batch};
    use accesslake_model::{Decision, Direction, LocalTime, Reason};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::column::page::Page;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn decisions(n: usize, employee: impl Fn(usize) -> Option<String>) -> Vec<Decision> {
        (0..n)
            .map(|i| Decision {
                event_id: format!("ev-{i}").into(),
                occurred_at: i as i64 * 1_000,
                processed_at: 0,
                site_id: Some("hq".into()),
                zone_id: Some(format!("z{}", i / 50_000).into()),
                door_id: format!("d{}", i % 3).into(),
                // Ids in no order, some repeated in runs, one of them empty
                // and some beyond ASCII.
                card_id: match (i * 7919) % 5003 {
                    0 => String::new(),
                    k if k % 11 == 0 => format!("caf\u{e9}:{k}"),
                    k => format!("0042:{}", k / (1 + i % 4)),
                }
                .into(),
                employee_id: employee(i).map(Into::into),
                direction: Direction::In,
                outcome: Reason::Ok.outcome(),
                reason: Reason::Ok,
                presence_change: 1,
                local: None,
                numbers: accesslake_model::IdNumbers::UNKNOWN,
            })
            .collect()
    }

    fn round_trip(rows: &[Decision]) -> Bytes {
        let refs: Vec<&Decision> = rows.iter().collect();
        let batch = record_batch(&refs).expect("batch");
        let bytes = encode_parquet(Table::Decisions, &batch).expect("encode");
        let read: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .expect("reader")
            .with_batch_size(usize::MAX)
            .build()
            .expect("reader")
            .collect::<std::result::Result<_, _>>()
            .expect("read");
        let read = arrow_select::concat::concat_batches(&batch.schema(), &read).expect("concat");
        assert_eq!(read, batch);
        // The lake's own batch (dictionary arrays where the file has a
        // dictionary), from the rows given backwards and put back in
        // order as it is built, is written to the same bytes.
        let given: Vec<&Decision> = refs.iter().rev().copied().collect();
        let order: Vec<usize> = (0..given.len()).rev().collect();
        let lake = encode_parquet(
            Table::Decisions,
            &lake_batch(&given, &order, &Decision::survey(rows, |_, _| {})).expect("lake batch"),
        )
        .expect("encode");
        assert!(lake == bytes, "the lake batch is written otherwise");
        bytes
    }

    /// The dictionary page of column `col` in each row group: how many
    /// values it holds, and whether it says they are sorted and they are.
    fn dictionaries(bytes: &Bytes, col: usize) -> Vec<(u32, bool)> {
        let file = SerializedFileReader::new(bytes.clone()).expect("file");
        (0..file.num_row_groups())
            .map(|g| {
                let mut pages = file
                    .get_row_group(g)
                    .expect("row group")
                    .get_column_page_reader(col)
                    .expect("pages");
                match pages.get_next_page().expect("page") {
                    Some(Page::DictionaryPage {
                        buf,
                        num_values,
                        is_sorted,
                        ..
                    }) => {
                        let mut values = Vec::new();
                        let mut rest = &buf[..];
                        while !rest.is_empty() {
                            let len =
                                u32::from_le_bytes(rest[..4].try_into().expect("length")) as usize;
                            values.push(&rest[4..4 + len]);
                            rest = &rest[4 + len..];
                        }
                        assert_eq!(values.len(), num_values as usize);
                        (num_values, is_sorted && values.is_sorted_by(|a, b| a < b))
                    }
                    other => panic!("no dictionary page first: {other:?}"),
                }
            })
            .collect()
    }

    /// String columns with a dictionary: site, zone, door, card, employee,
    /// direction, outcome, reason, local date.
    const DICTIONARY_STRINGS: [usize; 9] = [3, 4, 5, 6, 7, 8, 9, 10, 12];
    /// Those of them that keep statistics: site, zone, door, local date.
    const WITH_STATISTICS: [usize; 4] = [3, 4, 5, 12];

    fn many_pages() -> Vec<Decision> {
        // Two row groups, the first of many pages; people with runs, nulls
        // in runs and alone; some rows without a zone.
        let mut rows = decisions(ROW_GROUP_ROWS + 30_001, |i| match i % 97 {
            0..=9 => None,
            k if k % 13 == 0 => None,
            _ => Some(format!("e-{:05}", (i / 3) % 4_000)),
        });
        for (i, r) in rows.iter_mut().enumerate() {
            if (100_000..120_000).contains(&i) || i % 1_009 == 0 {
                r.site_id = None;
                r.zone_id = None;
            }
            r.local = r.zone_id.as_ref().map(|_| LocalTime {
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1 + (i % 28) as u32).expect("date"),
                hour: (i % 24) as i8,
                weekday: 1 + (i % 7) as i8,
            });
            if i % 5 == 0 {
                r.direction = Direction::Out;
                r.reason = Reason::Egress;
            }
        }
        rows
    }

    #[test]
    fn sorted_dictionary_columns_read_back_unchanged() {
        let bytes = round_trip(&many_pages());
        for col in DICTIONARY_STRINGS {
            let dicts = dictionaries(&bytes, col);
            assert_eq!(dicts.len(), 2);
            assert!(
                dicts.iter().all(|&(_, sorted)| sorted),
                "column {col}: {dicts:?}"
            );
        }
        assert!(dictionaries(&bytes, 6).iter().all(|&(n, _)| n > 1_000));
        assert!(dictionaries(&bytes, 7).iter().all(|&(n, _)| n == 4_000));
    }

    /// The file parquet-rs's Arrow writer writes for `batch` with the
    /// lake's properties.
    fn parquet_rs_bytes(batch: &RecordBatch) -> Vec<u8> {
        parquet_rs_table_bytes(Table::Decisions, batch)
    }

    fn parquet_rs_table_bytes(table: Table, batch: &RecordBatch) -> Vec<u8> {
        let mut out = Vec::new();
        let props = writer_properties(table);
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).expect("writer");
        w.write(batch).expect("write");
        w.close().expect("close");
        out
    }

    /// A file read back whole (through its page index where it has one),
    /// as one batch in the schema of `like`.
    fn read_whole(bytes: Bytes, like: &RecordBatch) -> RecordBatch {
        let read: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .expect("reader")
            .build()
            .expect("reader")
            .collect::<std::result::Result<_, _>>()
            .expect("read");
        arrow_select::concat::concat_batches(&like.schema(), &read).expect("concat")
    }

    /// Every data page of column `col`, decompressed: its value count,
    /// encoding and bytes.
    fn data_pages(bytes: &[u8], col: usize) -> Vec<(u32, Encoding, Bytes)> {
        let file = SerializedFileReader::new(Bytes::copy_from_slice(bytes)).expect("file");
        let mut all = Vec::new();
        for g in 0..file.num_row_groups() {
            let group = file.get_row_group(g).expect("row group");
            let mut pages = group.get_column_page_reader(col).expect("pages");
            while let Some(page) = pages.get_next_page().expect("page") {
                all.push((page.num_values(), page.encoding(), page.buffer().clone()));
            }
        }
        all
    }

    /// Event ids are written to the pages parquet-rs writes for them:
    /// page for page, byte for byte, over many pages and two row groups,
    /// ids of every length from none to past a page's byte limit, and a
    /// single row.
    #[test]
    fn event_id_pages_are_parquet_rs_pages() {
        let mut varied = decisions(70_000, |_| None);
        for (i, d) in varied.iter_mut().enumerate() {
            d.event_id = match i % 1_000 {
                0 => String::new(),
                1 => "x".repeat(300_000 + i),
                k => format!("{}-{i}", "e".repeat(k % 97)),
            }
            .into();
        }
        for rows in [many_pages(), varied, decisions(1, |_| None)] {
            let refs: Vec<&Decision> = rows.iter().collect();
            let batch = record_batch(&refs).expect("batch");
            let ours = encode_parquet(Table::Decisions, &batch).expect("encode");
            let theirs = parquet_rs_bytes(&batch);
            let (a, b) = (data_pages(&ours, 0), data_pages(&theirs, 0));
            assert!(a.len() == b.len(), "{} pages against {}", a.len(), b.len());
            for (n, (a, b)) in a.iter().zip(&b).enumerate() {
                assert!(
                    a == b,
                    "page {n} of {} rows differs: {} / {} values, {} / {} bytes, first difference at {:?}",
                    rows.len(),
                    a.0,
                    b.0,
                    a.2.len(),
                    b.2.len(),
                    a.2.iter().zip(b.2.iter()).position(|(x, y)| x != y)
                );
            }
            assert_eq!(a[0].1, Encoding::DELTA_LENGTH_BYTE_ARRAY);
            let read = read_whole(ours, &batch);
            assert_eq!(read.column(0), batch.column(0));
        }
    }

    /// Rows whose integer columns vary: times that jump back and forth
    /// (and, with `extremes`, span the whole 64-bit range, so deltas wrap
    /// and take 64 bits), a processing time per 1,000 rows, every presence
    /// change, and a whole page without a local hour or weekday.
    fn varied_integers(extremes: bool) -> Vec<Decision> {
        let mut rows = many_pages();
        let mut x = 7u64;
        let mut t = 1_767_225_600_000_000i64;
        for (i, r) in rows.iter_mut().enumerate() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            t += match x >> 60 {
                0 => -((x >> 20) as i64 % 86_400_000_000),
                1 => (x >> 24) as i64,
                _ => (x >> 40) as i64 % 5_000_000,
            };
            r.occurred_at = match (extremes, i % 5_000) {
                (true, 17) => i64::MIN,
                (true, 18) => i64::MAX,
                (true, 19) => -1,
                _ => t,
            };
            r.processed_at = 1_767_225_600_000_000 + (i / 1_000) as i64 * 7_000_000;
            r.presence_change = [-1, 0, 1][(x >> 33) as usize % 3];
            if (2 * PAGE_ROWS..3 * PAGE_ROWS).contains(&i) {
                r.local = None;
            }
        }
        rows
    }

    /// The integer columns: occurred_at, processed_at, presence_change,
    /// local_hour, local_weekday.
    const INTEGERS: [usize; 5] = [1, 2, 11, 13, 14];

    /// The integer columns are written to the pages parquet-rs writes for
    /// them: page for page, the values byte for byte (the definition levels
    /// and dictionary indices, in the hybrid encoding, are packed
    /// differently and compared by reading the file back).
    #[test]
    fn integer_pages_are_parquet_rs_pages() {
        for rows in [
            varied_integers(false),
            varied_integers(true),
            decisions(1, |_| None),
            decisions(3_000, |_| None),
        ] {
            let refs: Vec<&Decision> = rows.iter().collect();
            let batch = record_batch(&refs).expect("batch");
            let ours = round_trip(&rows);
            let theirs = parquet_rs_bytes(&batch);
            for col in INTEGERS {
                let (a, b) = (data_pages(&ours, col), data_pages(&theirs, col));
                assert_eq!(a.len(), b.len(), "pages of column {col}");
                for (n, (a, b)) in a.iter().zip(&b).enumerate() {
                    let what = format!("page {n} of column {col}, {} rows", rows.len());
                    assert_eq!(a.0, b.0, "values of {what}");
                    let (a, b) = match col {
                        // Levels first: their length, then the levels.
                        13 | 14 => {
                            let skip = |p: &Bytes| {
                                let n = u32::from_le_bytes(p[..4].try_into().expect("len"));
                                p.slice(4 + n as usize..)
                            };
                            (skip(&a.2), skip(&b.2))
                        }
                        // The indices' width only.
                        11 => (a.2.slice(..1), b.2.slice(..1)),
                        _ => (a.2.clone(), b.2.clone()),
                    };
                    assert!(
                        a == b,
                        "{what} differs: {} / {} bytes, first difference at {:?}",
                        a.len(),
                        b.len(),
                        a.iter().zip(b.iter()).position(|(x, y)| x != y)
                    );
                }
                if col == 11 {
                    assert_eq!(dictionary_page(&ours, col), dictionary_page(&theirs, col));
                }
            }
            let first = data_pages(&ours, 1);
            assert_eq!(first[0].1, Encoding::DELTA_BINARY_PACKED);
        }
    }

    /// Admin events of one day: mostly applied, times that go back and
    /// forth, past a page and across two row groups when `n` is large.
    fn admin_records(n: usize) -> Vec<accesslake_model::AdminRecord> {
        (0..n)
            .map(|i| accesslake_model::AdminRecord {
                event_id: format!("a{i}"),
                occurred_at: 1_772_409_600_000_000 + (i as i64 * 7_919 % 5_000) * 1_000_000,
                received_at: 1_772_500_000_000_000,
                actor: "hr".into(),
                admin_type: accesslake_model::AdminType::CardStatusChanged,
                entity_id: format!("c{}", i % 300),
                payload: format!(r#"{{"card_id":"c{}","status":"lost"}}"#, i % 300),
                applied: i % 13 != 0 && i != 2,
                error: (i % 13 == 0).then_some("stale"),
            })
            .collect()
    }

    /// An admin events file is laid out without parquet-rs's column
    /// writers: its times and `applied` go to the pages, statistics and
    /// column index parquet-rs writes for them, and every row reads back.
    #[test]
    fn admin_time_and_boolean_pages_are_parquet_rs_pages() {
        use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
        use parquet::file::page_index::column_index::{
            ByteArrayColumnIndex, ColumnIndexMetaData as Index,
        };
        // occurred_at, received_at, applied.
        const COLUMNS: [usize; 3] = [1, 2, 7];
        const ERROR: usize = 8;
        for n in [1, 8, 9, 3_000, ROW_GROUP_ROWS + PAGE_ROWS + 5] {
            let mut rows = admin_records(n);
            if n == 1 {
                rows[0].applied = false;
            }
            if n == 8 || n > ROW_GROUP_ROWS {
                // No error in the file: a column of nulls.
                rows.iter_mut().for_each(|r| r.error = None);
            }
            let refs: Vec<&accesslake_model::AdminRecord> = rows.iter().collect();
            let batch = record_batch(&refs).expect("batch");
            let ours = encode_parquet(Table::AdminEvents, &batch).expect("encode");
            let theirs = Bytes::from(parquet_rs_table_bytes(Table::AdminEvents, &batch));
            for col in COLUMNS {
                let (a, b) = (data_pages(&ours, col), data_pages(&theirs, col));
                assert_eq!(a.len(), b.len(), "pages of column {col}, {n} rows");
                for (n, (a, b)) in a.iter().zip(&b).enumerate() {
                    assert!(a == b, "page {n} of column {col} differs");
                }
            }
            let read = |b: &Bytes| {
                ParquetMetaDataReader::new()
                    .with_page_index_policy(PageIndexPolicy::Optional)
                    .parse_and_finish(b)
                    .expect("metadata")
            };
            let (m, their_m) = (read(&ours), read(&theirs));
            assert_eq!(m.num_row_groups(), their_m.num_row_groups());
            // Files of more than one page have a column index to compare.
            if n > PAGE_ROWS {
                assert!(m.column_index().is_some() && their_m.column_index().is_some());
            }
            for g in 0..m.num_row_groups() {
                for col in COLUMNS {
                    let (a, b) = (m.row_group(g).column(col), their_m.row_group(g).column(col));
                    assert_eq!(a.statistics(), b.statistics(), "column {col}, {n} rows");
                    assert_eq!(a.encodings_mask(), b.encodings_mask(), "column {col}");
                }
                let (a, b) = (
                    m.row_group(g).column(ERROR),
                    their_m.row_group(g).column(ERROR),
                );
                assert_eq!(a.statistics(), b.statistics(), "errors, {n} rows");
                if let (Some(ci), Some(their_ci)) = (m.column_index(), their_m.column_index()) {
                    assert_eq!(ci[g][7], their_ci[g][7], "applied's column index, {n} rows");
                    assert_eq!(
                        ci[g][ERROR].get_boundary_order(),
                        their_ci[g][ERROR].get_boundary_order()
                    );
                    let (Index::BYTE_ARRAY(a), Index::BYTE_ARRAY(b)) =
                        (&ci[g][ERROR], &their_ci[g][ERROR])
                    else {
                        panic!("no column index of the errors, {n} rows");
                    };
                    assert_eq!(a.num_pages(), b.num_pages());
                    for p in 0..a.num_pages() as usize {
                        let page = |i: &ByteArrayColumnIndex| {
                            (
                                i.min_value(p).map(<[u8]>::to_vec),
                                i.max_value(p).map(<[u8]>::to_vec),
                                i.null_count(p),
                                i.is_null_page(p),
                            )
                        };
                        assert_eq!(page(a), page(b), "errors' page {p}, {n} rows");
                    }
                    assert_eq!(
                        integers::index_pages(&ci[g][1]),
                        integers::index_pages(&their_ci[g][1]),
                        "occurred_at's column index, {n} rows"
                    );
                }
            }
            let read = read_whole(ours, &batch);
            assert_eq!(read, batch, "{n} rows");
        }
    }

    /// The dictionary page of column `col` in the first row group,
    /// decompressed.
    fn dictionary_page(bytes: &[u8], col: usize) -> Bytes {
        let file = SerializedFileReader::new(Bytes::copy_from_slice(bytes)).expect("file");
        let group = file.get_row_group(0).expect("row group");
        let mut pages = group.get_column_page_reader(col).expect("pages");
        match pages.get_next_page().expect("page") {
            Some(p @ Page::DictionaryPage { .. }) => p.buffer().clone(),
            other => panic!("no dictionary page first: {other:?}"),
        }
    }

    /// The integer columns' statistics are parquet-rs's, and their column
    /// index holds the bounds, nulls and order parquet-rs gives them.
    #[test]
    fn integer_statistics_and_page_bounds_are_parquet_rs_ones() {
        use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
        use parquet::file::page_index::column_index::ColumnIndexMetaData as Index;

        let rows = varied_integers(true);
        let refs: Vec<&Decision> = rows.iter().collect();
        let batch = record_batch(&refs).expect("batch");
        let read = |b: Bytes| {
            ParquetMetaDataReader::new()
                .with_page_index_policy(PageIndexPolicy::Required)
                .parse_and_finish(&b)
                .expect("metadata")
        };
        let ours = read(encode_parquet(Table::Decisions, &batch).expect("encode"));
        let theirs = read(Bytes::from(parquet_rs_bytes(&batch)));
        let (ci, their_ci) = (
            ours.column_index().expect("index"),
            theirs.column_index().expect("index"),
        );
        for g in 0..ours.num_row_groups() {
            for col in INTEGERS {
                let (a, b) = (
                    ours.row_group(g).column(col),
                    theirs.row_group(g).column(col),
                );
                assert_eq!(a.statistics(), b.statistics(), "statistics of column {col}");
                assert_eq!(a.encodings_mask(), b.encodings_mask(), "column {col}");
                assert_eq!(a.num_values(), b.num_values());
                let (a, b) = (&ci[g][col], &their_ci[g][col]);
                if matches!((a, b), (Index::NONE, Index::NONE)) {
                    continue;
                }
                let pages = integers::index_pages(a);
                assert!(!pages.0.is_empty(), "no column index for column {col}");
                assert_eq!(
                    pages,
                    integers::index_pages(b),
                    "column {col}, row group {g}"
                );
            }
        }
        // The whole page without a local hour is a null page.
        let Index::INT32(hours) = &ci[0][13] else {
            panic!("no index for the local hour");
        };
        assert!(hours.is_null_page(2));
    }

    /// The chunk statistics are those parquet-rs writes for the same rows,
    /// and the column index holds each page's bounds and nulls as the rows
    /// of that page have them.
    #[test]
    fn sorted_dictionary_statistics_and_page_bounds_are_the_values() {
        use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
        use parquet::file::page_index::column_index::ColumnIndexMetaData;

        let rows = many_pages();
        let refs: Vec<&Decision> = rows.iter().collect();
        let batch = record_batch(&refs).expect("batch");
        let ours = encode_parquet(Table::Decisions, &batch).expect("encode");
        let theirs = parquet_rs_bytes(&batch);
        let read = |b: Bytes| {
            ParquetMetaDataReader::new()
                .with_page_index_policy(PageIndexPolicy::Required)
                .parse_and_finish(&b)
                .expect("metadata")
        };
        let (ours, theirs) = (read(ours), read(Bytes::from(theirs)));
        let (column_index, offset_index) = (
            ours.column_index().expect("column index"),
            ours.offset_index().expect("offset index"),
        );
        let mut first_row = 0;
        for g in 0..ours.num_row_groups() {
            let (rg, their_rg) = (ours.row_group(g), theirs.row_group(g));
            assert_eq!(rg.num_rows(), their_rg.num_rows());
            for col in DICTIONARY_STRINGS {
                let (a, b) = (rg.column(col), their_rg.column(col));
                assert_eq!(a.statistics(), b.statistics(), "statistics of column {col}");
                assert_eq!(a.encodings_mask(), b.encodings_mask(), "column {col}");
                assert_eq!(a.num_values(), b.num_values());
            }
            for col in WITH_STATISTICS {
                let values = batch.column(col).as_string::<i32>();
                let ColumnIndexMetaData::BYTE_ARRAY(index) = &column_index[g][col] else {
                    panic!("no column index for column {col}");
                };
                let pages = &offset_index[g][col].page_locations;
                assert!(pages.len() > 1 || g == 1);
                for (p, page) in pages.iter().enumerate() {
                    let start = first_row + page.first_row_index as usize;
                    let end = pages
                        .get(p + 1)
                        .map_or(first_row + rg.num_rows() as usize, |n| {
                            first_row + n.first_row_index as usize
                        });
                    let page_values: Vec<&str> = (start..end)
                        .filter(|&i| values.is_valid(i))
                        .map(|i| values.value(i))
                        .collect();
                    let want = (
                        page_values.iter().min().map(|v| v.as_bytes()),
                        page_values.iter().max().map(|v| v.as_bytes()),
                        (end - start - page_values.len()) as i64,
                    );
                    let got = (
                        index.min_value(p),
                        index.max_value(p),
                        index.null_count(p).unwrap_or(-1),
                    );
                    assert_eq!(got, want, "column {col}, row group {g}, page {p}");
                    assert_eq!(index.is_null_page(p), page_values.is_empty());
                }
            }
            // The zones are in order.
            assert_eq!(
                column_index[g][4].get_boundary_order(),
                Some(parquet::basic::BoundaryOrder::ASCENDING)
            );
            first_row += rg.num_rows() as usize;
        }
    }

    /// Without the embedded Arrow schema, every table's file still reads as
    /// exactly the table's schema.
    #[test]
    fn every_table_reads_back_as_its_schema() {
        for table in Table::ALL {
            let batch = RecordBatch::new_empty(table.schema());
            let bytes = encode_parquet(table, &batch).expect("encode");
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("reader");
            assert!(
                reader
                    .metadata()
                    .file_metadata()
                    .key_value_metadata()
                    .is_none()
            );
            assert_eq!(reader.schema(), &table.schema(), "{table:?}");
        }
    }

    /// A file of one page per column has no page index; one of more pages
    /// has it for every column.
    #[test]
    fn only_files_of_several_pages_have_a_page_index() {
        use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
        let read = |rows: &[Decision]| {
            let bytes = round_trip(rows);
            ParquetMetaDataReader::new()
                .with_page_index_policy(PageIndexPolicy::Optional)
                .parse_and_finish(&bytes)
                .expect("metadata")
        };
        let small = read(&decisions(sorted_dictionary::PAGE_ROWS, |i| {
            Some(format!("e-{i}"))
        }));
        assert!(small.offset_index().is_none() && small.column_index().is_none());
        let large = read(&decisions(sorted_dictionary::PAGE_ROWS + 1, |i| {
            Some(format!("e-{i}"))
        }));
        let offsets = large.offset_index().expect("offset index");
        assert!(offsets[0].iter().all(|o| !o.page_locations.is_empty()));
        assert_eq!(offsets[0][6].page_locations.len(), 2);
    }

    /// Bounds longer than 64 bytes (a hostile door id) are left out rather
    /// than written whole or cut; the other columns keep theirs.
    #[test]
    fn long_values_leave_no_bounds() {
        let mut rows = decisions(PAGE_ROWS_TWICE, |_| None);
        rows[7].door_id = "d".repeat(65).into();
        let refs: Vec<&Decision> = rows.iter().collect();
        let bytes =
            encode_parquet(Table::Decisions, &record_batch(&refs).expect("batch")).expect("encode");
        let meta = parquet::file::metadata::ParquetMetaDataReader::new()
            .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional)
            .parse_and_finish(&bytes)
            .expect("metadata");
        let rg = meta.row_group(0);
        assert!(rg.column(5).statistics().is_none());
        assert!(rg.column(4).statistics().is_some());
        let index = &meta.column_index().expect("column index")[0];
        assert!(matches!(
            index[5],
            parquet::file::page_index::column_index::ColumnIndexMetaData::NONE
        ));
        assert!(!matches!(
            index[4],
            parquet::file::page_index::column_index::ColumnIndexMetaData::NONE
        ));
        round_trip(&rows);
    }

    const PAGE_ROWS_TWICE: usize = 2 * sorted_dictionary::PAGE_ROWS;

    #[test]
    fn a_dictionary_past_the_size_limit_is_written_without_one() {
        // 20,000 distinct people of 100 bytes each: 2 MB of dictionary.
        let rows = decisions(20_000, |i| Some(format!("{i:0>100}")));
        let bytes = round_trip(&rows);
        // parquet-rs wrote it: a dictionary in order of appearance, given
        // up on past its limit.
        let dicts = dictionaries(&bytes, 7);
        assert!(dicts.iter().all(|&(_, sorted)| !sorted), "{dicts:?}");
    }

    #[test]
    fn a_column_of_nulls_or_of_one_value_reads_back() {
        round_trip(&decisions(1_000, |_| None));
        let bytes = round_trip(&decisions(1_000, |_| Some("e-1".into())));
        assert_eq!(dictionaries(&bytes, 7), vec![(1, true)]);
        round_trip(&decisions(1, |_| None));
        round_trip(&[]);
    }
}
