//! A required string column chunk in `DELTA_LENGTH_BYTE_ARRAY`, without
//! statistics: how the lake writes event ids, which are random and
//! distinct, so that a dictionary would only repeat them and page bounds
//! would prune nothing.
//!
//! parquet-rs writes the same pages (a test of `parquet_file` compares them
//! byte for byte), but gathers every value into a growing buffer of its own first,
//! about 200 instructions a row; here each page's bytes are laid out once
//! from the Arrow array. A page holds the lengths, `DELTA_BINARY_PACKED`
//! (blocks of 128 deltas in 4 miniblocks of 32, as parquet-rs writes them),
//! then the values' bytes end to end. Pages end where parquet-rs ends them:
//! at [`PAGE_ROWS`] rows, or at the first 1,024-row mark (its write batch)
//! where the values and the lengths' blocks written so far have reached
//! `page_bytes`.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::column::page::PageWriter;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::integers::Deltas;
use crate::sorted_dictionary::{PAGE_ROWS, PageLog, Zstd};

/// Rows parquet-rs hands its encoder at a time (its default write batch);
/// a page can end only after a whole batch.
const WRITE_BATCH: usize = 1024;

/// Encodes `column` as a column chunk for `descr` compressed with zstd at
/// `level`, or `None` when the column is not a string array without nulls
/// (the caller then writes it the usual way). The bytes start with the first
/// data page at offset 0, as `SerializedRowGroupWriter::append_column`
/// expects.
pub fn encode(
    column: &dyn Array,
    descr: ColumnDescPtr,
    level: i32,
    page_bytes: usize,
) -> Result<Option<(Bytes, ColumnCloseResult)>, ParquetError> {
    let Some(values) = column.as_string_opt::<i32>() else {
        return Ok(None);
    };
    if values.null_count() > 0 || descr.max_def_level() > 0 || values.is_empty() {
        return Ok(None);
    }
    let mut sink = TrackedWrite::new(Vec::new());
    let mut pages = SerializedPageWriter::new(&mut sink);
    let mut log = PageLog::default();
    let offsets = values.value_offsets();
    let length = |i: usize| i64::from(offsets[i + 1].wrapping_sub(offsets[i]));
    let mut buf = Vec::new();
    let mut lengths = Deltas::new(true);
    let mut start = 0;
    while start < values.len() {
        // Whole write batches until the page is full, as parquet-rs counts
        // it: the values' bytes and the lengths' blocks written so far.
        lengths.start(length(start));
        let mut end = start + 1;
        loop {
            let batch_end = (end + 1)
                .next_multiple_of(WRITE_BATCH)
                .min(values.len())
                .min(start + PAGE_ROWS);
            for i in end..batch_end {
                lengths.push(length(i));
            }
            end = batch_end;
            let bytes = (offsets[end] - offsets[start]) as usize + lengths.blocks.len();
            if end == values.len() || end - start >= PAGE_ROWS || bytes >= page_bytes {
                break;
            }
        }
        buf.clear();
        lengths.finish(&mut buf);
        buf.extend_from_slice(&values.value_data()[offsets[start] as usize..offsets[end] as usize]);
        let encoding = Encoding::DELTA_LENGTH_BYTE_ARRAY;
        log.write_data(&mut pages, &buf, Zstd::Level(level), end - start, encoding)?;
        start = end;
    }
    pages.close()?;
    let bytes = sink.into_inner()?;
    let metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(level)?))
        .set_encodings(vec![Encoding::DELTA_LENGTH_BYTE_ARRAY])
        .set_num_values(values.len() as i64)
        .set_total_compressed_size(log.compressed)
        .set_total_uncompressed_size(log.uncompressed)
        .set_data_page_offset(0)
        .build()?;
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: values.len() as u64,
        metadata,
        bloom_filter: None,
        column_index: None,
        offset_index: Some(log.index.build()),
    };
    Ok(Some((Bytes::from(bytes), close)))
}
