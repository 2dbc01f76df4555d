//! Integer, timestamp and boolean column chunks: how the lake writes a
//! decision's times, presence change, local hour and weekday, and an admin
//! event's times and `applied`.
//!
//! parquet-rs writes the same values (a test of `parquet_file` compares the
//! pages), but through a column writer made for every column of every file,
//! a zstd context made and zeroed for every page, and a value-at-a-time
//! encoder: 6.8 % of the instructions of an ingest for these five narrow
//! columns. Here each page is laid out once from the Arrow array and
//! compressed with the thread's kept zstd context.
//!
//! A chunk is `PLAIN` or `DELTA_BINARY_PACKED` data pages, or a `PLAIN`
//! dictionary page of the values in order of first appearance followed by
//! `RLE_DICTIONARY` data pages (for `Int8` columns, whose at most 256
//! values a table numbers). Version-1 data pages of [`PAGE_ROWS`] rows:
//! parquet-rs ends its pages there too, since a page of that many 64-bit
//! values stays far below the byte limit (checked). On request the chunk
//! carries its statistics and a column index, as parquet-rs writes them.

use std::borrow::Cow;

use arrow_array::Array;
use arrow_schema::{DataType, TimeUnit};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, Type, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ColumnIndexBuilder};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::sorted_dictionary::{
    PAGE_ROWS, PageLog, PageOrder, Zstd, bit_width, compress, rle_hybrid, uleb128, valid_values,
    write_levels,
};

/// How the values of a chunk are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Plain,
    DeltaBinaryPacked,
    /// A dictionary page, then indices into it.
    Dictionary,
}

/// Widest a value gets in a page: 8 bytes plain, a little more as a delta
/// in a block (its share of the block's header).
const MAX_VALUE_BYTES: usize = 9;

/// Encodes `column` as a column chunk for `descr` in `values`, compressed
/// with zstd at `level`, or returns `None` when this writer does not suit it
/// (another type, a dictionary of anything but `Int8`, or pages that could
/// reach `page_bytes`); the caller then writes the column the usual way.
/// With `statistics`, the chunk gets its minimum, maximum and null count and
/// a column index. The bytes start with the first page at offset 0, as
/// `SerializedRowGroupWriter::append_column` expects.
pub fn encode(
    column: &dyn Array,
    descr: ColumnDescPtr,
    values: Values,
    statistics: bool,
    level: i32,
    page_bytes: usize,
) -> Result<Option<(Bytes, ColumnCloseResult)>, ParquetError> {
    let Some(ints) = Ints::of(column, descr.physical_type()) else {
        return Ok(None);
    };
    if page_bytes < MAX_VALUE_BYTES * PAGE_ROWS || column.is_empty() {
        return Ok(None);
    }
    let boolean = descr.physical_type() == Type::BOOLEAN;
    let values = match values {
        // parquet-rs writes booleans plain whatever the dictionary setting.
        Values::Dictionary if boolean => Values::Plain,
        Values::DeltaBinaryPacked if boolean => return Ok(None),
        other => other,
    };
    let dictionary = match values {
        Values::Dictionary => match Dictionary::of(column) {
            Some(d) => Some(d),
            None => return Ok(None),
        },
        _ => None,
    };
    let len = column.len();
    let nulls = column.nulls();
    let null_count = column.null_count();
    let nullable = descr.max_def_level() > 0;
    if null_count > 0 && !nullable {
        return Err(ParquetError::General(format!(
            "column {} is required but holds nulls",
            descr.name()
        )));
    }
    let physical = descr.physical_type();
    let compressed = Zstd::Level(level);

    let mut sink = TrackedWrite::new(Vec::new());
    let mut pages = SerializedPageWriter::new(&mut sink);
    let mut log = PageLog::default();
    let mut buf = Vec::new();
    if let Some(d) = &dictionary {
        for &v in &d.values {
            buf.extend_from_slice(&i32::from(v).to_le_bytes());
        }
        let page = Page::DictionaryPage {
            buf: Bytes::from(compress(compressed, &buf)?),
            num_values: d.values.len() as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        log.write(&mut pages, CompressedPage::new(page, buf.len()), None)?;
    }

    let mut bounds = statistics.then(|| Bounds::new(physical));
    let mut deltas = Deltas::new(physical == Type::INT32);
    let mut scratch = Vec::new();
    let mut indices = Vec::new();
    let mut start = 0;
    while start < len {
        let end = (start + PAGE_ROWS).min(len);
        buf.clear();
        if nullable {
            write_levels(&mut buf, nulls, start..end);
        }
        let page = valid_values(&mut scratch, &ints.0[start..end], nulls, start..end);
        let encoding = match (&dictionary, values) {
            (Some(d), _) => {
                indices.clear();
                indices.extend(
                    page.iter()
                        .map(|&v| u32::from(d.index[(v as i8 as u8) as usize])),
                );
                let width = bit_width(d.values.len().saturating_sub(1) as u64);
                buf.push(width);
                rle_hybrid(&mut buf, &indices, width);
                Encoding::RLE_DICTIONARY
            }
            (None, Values::DeltaBinaryPacked) => {
                deltas.encode(&mut buf, page);
                Encoding::DELTA_BINARY_PACKED
            }
            (None, _) => {
                if boolean {
                    // Bit-packed, the first value in the lowest bit.
                    buf.extend(page.chunks(8).map(|eight| {
                        eight
                            .iter()
                            .enumerate()
                            .fold(0u8, |b, (i, &v)| b | (u8::from(v != 0) << i))
                    }));
                } else if physical == Type::INT32 {
                    buf.reserve(4 * page.len());
                    for &v in page {
                        buf.extend_from_slice(&(v as i32).to_le_bytes());
                    }
                } else {
                    buf.reserve(8 * page.len());
                    for &v in page {
                        buf.extend_from_slice(&v.to_le_bytes());
                    }
                }
                Encoding::PLAIN
            }
        };
        if let Some(b) = bounds.as_mut() {
            b.add_page(page, end - start);
        }
        log.write_data(&mut pages, &buf, compressed, end - start, encoding)?;
        start = end;
    }
    pages.close()?;
    let bytes = sink.into_inner()?;

    // As parquet-rs lists them: RLE for the levels, whether or not the
    // column has any.
    let encodings = match values {
        Values::Plain => vec![Encoding::PLAIN, Encoding::RLE],
        Values::DeltaBinaryPacked => vec![Encoding::RLE, Encoding::DELTA_BINARY_PACKED],
        Values::Dictionary => vec![Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY],
    };
    let mut metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(level)?))
        .set_encodings(encodings)
        .set_num_values(len as i64)
        .set_total_compressed_size(log.compressed)
        .set_total_uncompressed_size(log.uncompressed)
        .set_dictionary_page_offset(dictionary.is_some().then_some(0))
        .set_data_page_offset(log.first_data_page.unwrap_or(0));
    let mut column_index = None;
    if let Some(b) = bounds {
        metadata = metadata.set_statistics(b.statistics(null_count as u64));
        column_index = Some(b.build()?);
    }
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: len as u64,
        metadata: metadata.build()?,
        bloom_filter: None,
        column_index,
        offset_index: Some(log.index.build()),
    };
    Ok(Some((Bytes::from(bytes), close)))
}

/// A column's values as 64-bit integers (a null row's slot holds anything).
struct Ints<'a>(Cow<'a, [i64]>);

impl<'a> Ints<'a> {
    /// The values of an `Int64` or microsecond timestamp column for an
    /// `INT64` chunk, of an `Int8` or `Int32` column for an `INT32` one,
    /// or of a `Boolean` column (0 and 1) for a `BOOLEAN` one.
    fn of(column: &'a dyn Array, physical: Type) -> Option<Self> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Int8Type, Int32Type, Int64Type, TimestampMicrosecondType};
        let values = match (column.data_type(), physical) {
            (DataType::Int64, Type::INT64) => {
                Cow::Borrowed(&column.as_primitive::<Int64Type>().values()[..])
            }
            (DataType::Timestamp(TimeUnit::Microsecond, _), Type::INT64) => {
                Cow::Borrowed(&column.as_primitive::<TimestampMicrosecondType>().values()[..])
            }
            (DataType::Int8, Type::INT32) => Cow::Owned(
                column
                    .as_primitive::<Int8Type>()
                    .values()
                    .iter()
                    .map(|&v| i64::from(v))
                    .collect(),
            ),
            (DataType::Boolean, Type::BOOLEAN) => {
                Cow::Owned(column.as_boolean().values().iter().map(i64::from).collect())
            }
            (DataType::Int32, Type::INT32) => Cow::Owned(
                column
                    .as_primitive::<Int32Type>()
                    .values()
                    .iter()
                    .map(|&v| i64::from(v))
                    .collect(),
            ),
            _ => return None,
        };
        Some(Ints(values))
    }
}

/// The dictionary of an `Int8` column: its distinct values in order of
/// first appearance (as parquet-rs orders them) and each value's index.
struct Dictionary {
    values: Vec<i8>,
    /// By the value's byte.
    index: [u8; 256],
}

impl Dictionary {
    fn of(column: &dyn Array) -> Option<Self> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::Int8Type;
        let ints = column.as_primitive_opt::<Int8Type>()?;
        let mut seen = [false; 256];
        let mut d = Dictionary {
            values: Vec::new(),
            index: [0; 256],
        };
        for (i, &v) in ints.values().iter().enumerate() {
            let slot = v as u8 as usize;
            if !seen[slot] && ints.is_valid(i) {
                seen[slot] = true;
                d.index[slot] = d.values.len() as u8;
                d.values.push(v);
            }
        }
        Some(d)
    }
}

/// The statistics and column index of a chunk being written.
struct Bounds {
    physical: Type,
    index: ColumnIndexBuilder,
    min: Option<i64>,
    max: Option<i64>,
    order: PageOrder<i64>,
}

impl Bounds {
    fn new(physical: Type) -> Self {
        Self {
            physical,
            index: ColumnIndexBuilder::new(physical),
            min: None,
            max: None,
            order: PageOrder::default(),
        }
    }

    fn bytes(&self, v: i64) -> Vec<u8> {
        match self.physical {
            Type::BOOLEAN => vec![u8::from(v != 0)],
            Type::INT32 => (v as i32).to_le_bytes().to_vec(),
            _ => v.to_le_bytes().to_vec(),
        }
    }

    /// Adds a page of `rows` rows with `values` (its rows that are not null).
    fn add_page(&mut self, values: &[i64], rows: usize) {
        let nulls = (rows - values.len()) as i64;
        let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max()) else {
            self.index.append(true, vec![], vec![], nulls);
            return;
        };
        self.order.add(min, max);
        self.min = Some(self.min.map_or(min, |m| m.min(min)));
        self.max = Some(self.max.map_or(max, |m| m.max(max)));
        let (lo, hi) = (self.bytes(min), self.bytes(max));
        self.index.append(false, lo, hi, nulls);
    }

    /// The chunk statistics: of integers, signed, so also written to the
    /// fields older readers know, as parquet-rs does; of booleans, not.
    fn statistics(&self, nulls: u64) -> Statistics {
        match self.physical {
            Type::BOOLEAN => ValueStatistics::new(
                self.min.map(|v| v != 0),
                self.max.map(|v| v != 0),
                None,
                Some(nulls),
                false,
            )
            .into(),
            Type::INT32 => ValueStatistics::new(
                self.min.map(|v| v as i32),
                self.max.map(|v| v as i32),
                None,
                Some(nulls),
                false,
            )
            .with_backwards_compatible_min_max(true)
            .into(),
            _ => ValueStatistics::new(self.min, self.max, None, Some(nulls), false)
                .with_backwards_compatible_min_max(true)
                .into(),
        }
    }

    fn build(mut self) -> Result<ColumnIndexMetaData, ParquetError> {
        self.index.set_boundary_order(self.order.order());
        self.index.build()
    }
}

const MINIBLOCKS: usize = 4;
/// Deltas in a miniblock of `INT64` values; of `INT32` values, half as many.
const MINIBLOCK_64: usize = 64;

/// `DELTA_BINARY_PACKED` as parquet-rs writes it: blocks of 4 miniblocks of
/// 32 deltas (`INT32`) or 64 (`INT64`), each miniblock as wide as its
/// largest delta above the block's smallest; a last block that is not full
/// has only the miniblocks it needs (the unused widths 0, the last
/// miniblock padded with zeros). Deltas of `INT32` values wrap at 32 bits,
/// of `INT64` at 64.
pub(crate) struct Deltas {
    int32: bool,
    /// Deltas in a miniblock.
    mini: usize,
    count: usize,
    first: i64,
    last: i64,
    /// Deltas not yet in a block.
    deltas: Vec<i64>,
    /// The blocks written so far.
    pub(crate) blocks: Vec<u8>,
}

impl Deltas {
    pub(crate) fn new(int32: bool) -> Self {
        let mini = if int32 {
            MINIBLOCK_64 / 2
        } else {
            MINIBLOCK_64
        };
        Self {
            int32,
            mini,
            count: 0,
            first: 0,
            last: 0,
            deltas: Vec::with_capacity(mini * MINIBLOCKS),
            blocks: Vec::new(),
        }
    }

    /// Appends `values` as one page's encoding.
    fn encode(&mut self, out: &mut Vec<u8>, values: &[i64]) {
        let Some((&first, rest)) = values.split_first() else {
            // No values: a header of none.
            self.start(0);
            self.count = 0;
            return self.finish(out);
        };
        self.start(first);
        for &v in rest {
            self.push(v);
        }
        self.finish(out);
    }

    /// Starts a page whose first value is `first`.
    pub(crate) fn start(&mut self, first: i64) {
        self.count = 1;
        self.first = first;
        self.last = first;
        self.deltas.clear();
        self.blocks.clear();
    }

    pub(crate) fn push(&mut self, value: i64) {
        self.count += 1;
        let delta = if self.int32 {
            i64::from((value as i32).wrapping_sub(self.last as i32))
        } else {
            value.wrapping_sub(self.last)
        };
        self.deltas.push(delta);
        self.last = value;
        if self.deltas.len() == self.mini * MINIBLOCKS {
            self.flush();
        }
    }

    /// Writes the deltas held as a block: their minimum, the four
    /// miniblocks' widths, and each miniblock that has deltas.
    fn flush(&mut self) {
        let Some(&min) = self.deltas.iter().min() else {
            return;
        };
        uleb128(&mut self.blocks, zigzag(min));
        let widths_at = self.blocks.len();
        self.blocks.extend_from_slice(&[0; MINIBLOCKS]);
        let mut packed = [0u64; MINIBLOCK_64];
        let packed = &mut packed[..self.mini];
        for (m, mini) in self.deltas.chunks(self.mini).enumerate() {
            packed.fill(0);
            let deltas = packed.iter_mut().zip(mini);
            if self.int32 {
                for (p, &d) in deltas {
                    *p = u64::from((d as i32).wrapping_sub(min as i32) as u32);
                }
            } else {
                for (p, &d) in deltas {
                    *p = d.wrapping_sub(min) as u64;
                }
            }
            // As wide as the widest: the highest bit set in any of them.
            let width = bit_width(packed.iter().fold(0, |all, &p| all | p));
            self.blocks[widths_at + m] = width;
            pack_wide(&mut self.blocks, packed, width);
        }
        self.deltas.clear();
    }

    /// Appends the page's encoding: the header, then every block.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        self.flush();
        uleb128(out, (self.mini * MINIBLOCKS) as u64);
        uleb128(out, MINIBLOCKS as u64);
        uleb128(out, self.count as u64);
        uleb128(out, zigzag(self.first));
        out.extend_from_slice(&self.blocks);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Appends a miniblock's values at `width` bits each (up to 64), least
/// significant bit first: `width` bytes for every 8 values. Each value must
/// fit its width. Eight bytes are written at a time.
fn pack_wide(out: &mut Vec<u8>, values: &[u64], width: u8) {
    if width == 0 {
        return;
    }
    let width = u32::from(width);
    out.reserve(values.len() / 8 * width as usize);
    let mut acc: u128 = 0;
    let mut bits = 0u32;
    for &v in values {
        debug_assert!(width == 64 || v >> width == 0);
        acc |= u128::from(v) << bits;
        bits += width;
        if bits >= 64 {
            out.extend_from_slice(&(acc as u64).to_le_bytes());
            acc >>= 64;
            bits -= 64;
        }
    }
    // A miniblock is a multiple of 8 values: whole bytes are left.
    debug_assert_eq!(bits % 8, 0);
    out.extend_from_slice(&acc.to_le_bytes()[..(bits / 8) as usize]);
}

/// A page of a column index: minimum, maximum, nulls, whether a null page.
#[cfg(test)]
type IndexPage = (Option<i64>, Option<i64>, Option<i64>, bool);

/// A column index's pages and order, for comparing indexes of either
/// integer type.
#[cfg(test)]
pub(crate) fn index_pages(
    index: &parquet::file::page_index::column_index::ColumnIndexMetaData,
) -> (Vec<IndexPage>, Option<parquet::basic::BoundaryOrder>) {
    use parquet::file::page_index::column_index::ColumnIndexMetaData as Index;
    let pages = match index {
        Index::INT32(i) => (0..i.num_pages() as usize)
            .map(|p| {
                let (lo, hi) = (i.min_value(p), i.max_value(p));
                (
                    lo.map(|&v| i64::from(v)),
                    hi.map(|&v| i64::from(v)),
                    i.null_count(p),
                    i.is_null_page(p),
                )
            })
            .collect(),
        Index::INT64(i) => (0..i.num_pages() as usize)
            .map(|p| {
                (
                    i.min_value(p).copied(),
                    i.max_value(p).copied(),
                    i.null_count(p),
                    i.is_null_page(p),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    (pages, index.get_boundary_order())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int8Array, TimestampMicrosecondArray};
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_writer::{ArrowWriterOptions, compute_leaves};
    use parquet::basic::Compression;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    use super::*;

    const PAGE_BYTES: usize = 2 * 1024 * 1024;

    /// What parquet-rs's column writer closes a chunk of `array` with, and
    /// what [`encode`] does, under the same settings.
    fn both(
        array: ArrayRef,
        values: Values,
        statistics: bool,
    ) -> (ColumnCloseResult, ColumnCloseResult) {
        let field = Field::new("c", array.data_type().clone(), array.null_count() > 0);
        let schema = Arc::new(Schema::new(vec![field.clone()]));
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level")))
            .set_dictionary_enabled(values == Values::Dictionary)
            .set_data_page_row_count_limit(PAGE_ROWS)
            .set_data_page_size_limit(PAGE_BYTES)
            .set_statistics_enabled(if statistics {
                EnabledStatistics::Page
            } else {
                EnabledStatistics::None
            });
        if values == Values::DeltaBinaryPacked {
            props = props.set_encoding(Encoding::DELTA_BINARY_PACKED);
        }
        let options = ArrowWriterOptions::new().with_properties(props.build());
        let mut buf = Vec::new();
        let (file, factory) = ArrowWriter::try_new_with_options(&mut buf, schema, options)
            .expect("writer")
            .into_serialized_writer()
            .expect("writer");
        let descr = file.schema_descr().column(0);
        let mut writer = factory.create_column_writers(0).expect("writers").remove(0);
        for leaf in compute_leaves(&field, &array).expect("leaves") {
            writer.write(&leaf).expect("write");
        }
        let theirs = writer.close().expect("close").close().clone();
        let (_, ours) = encode(array.as_ref(), descr, values, statistics, 1, PAGE_BYTES)
            .expect("encode")
            .expect("an integer column");
        (ours, theirs)
    }

    /// Asserts that [`encode`] gives `array` the statistics (flags
    /// included), column index and row count parquet-rs gives it.
    fn same_bounds(array: ArrayRef, values: Values, what: &str) {
        let (ours, theirs) = both(array, values, true);
        assert_eq!(
            ours.metadata.statistics(),
            theirs.metadata.statistics(),
            "{what}"
        );
        let index = |c: &ColumnCloseResult| index_pages(c.column_index.as_ref().expect("index"));
        assert_eq!(index(&ours), index(&theirs), "{what}");
        assert_eq!(ours.rows_written, theirs.rows_written, "{what}");
    }

    /// Chunks whose pages rise, fall, stay level, or whose bounds move
    /// apart: the same statistics, flags included, and the same column
    /// index as parquet-rs gives them.
    #[test]
    fn statistics_and_page_bounds_are_parquet_rs_ones() {
        let n = 3 * PAGE_ROWS + 5;
        let page = |i: usize| (i / PAGE_ROWS) as i64;
        type Shape = Box<dyn Fn(usize) -> i64>;
        let shapes: [(&str, Shape); 5] = [
            ("rising", Box::new(|i| i as i64 * 1_000)),
            ("falling", Box::new(|i| -(i as i64) * 7)),
            ("level", Box::new(|_| 42)),
            // Each page's minimum falls while its maximum rises.
            (
                "apart",
                Box::new(move |i| if i % 2 == 0 { -page(i) } else { page(i) }),
            ),
            ("extremes", Box::new(|i| [i64::MIN, i64::MAX, 0][i % 3])),
        ];
        for (name, value) in &shapes {
            let times: ArrayRef = Arc::new(
                TimestampMicrosecondArray::from((0..n).map(value).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            );
            let small: ArrayRef = Arc::new(Int8Array::from(
                (0..n)
                    .map(|i| value(i).clamp(-128, 127) as i8)
                    .collect::<Vec<_>>(),
            ));
            // Truncated to 32 bits, so the extremes wrap.
            let wide: ArrayRef = Arc::new(arrow_array::Int32Array::from(
                (0..n).map(|i| value(i) as i32).collect::<Vec<_>>(),
            ));
            for (array, values) in [
                (times.clone(), Values::Plain),
                (times, Values::DeltaBinaryPacked),
                (small.clone(), Values::Plain),
                (small, Values::Dictionary),
                (wide.clone(), Values::Plain),
                (wide, Values::DeltaBinaryPacked),
            ] {
                let what = format!("{name}, {} {values:?}", array.data_type());
                same_bounds(array, values, &what);
            }
        }
    }

    /// Nulls: pages with some, a page of nothing else, and a column of
    /// nothing else.
    #[test]
    fn null_pages_and_counts_are_parquet_rs_ones() {
        let n = 3 * PAGE_ROWS;
        let some = |i: usize| {
            (!i.is_multiple_of(7) && !(PAGE_ROWS..2 * PAGE_ROWS).contains(&i))
                .then_some((i % 24) as i8)
        };
        for array in [
            Int8Array::from((0..n).map(some).collect::<Vec<_>>()),
            Int8Array::from(vec![None::<i8>; 100]),
        ] {
            for values in [Values::Plain, Values::Dictionary] {
                let what = format!("{} rows, {values:?}", array.len());
                same_bounds(Arc::new(array.clone()), values, &what);
            }
        }
    }

    /// Without statistics there are none, and no column index.
    #[test]
    fn no_statistics_no_bounds() {
        let array: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![5; PAGE_ROWS + 1]).with_timezone("UTC"));
        let (ours, theirs) = both(array, Values::Plain, false);
        assert!(ours.metadata.statistics().is_none() && theirs.metadata.statistics().is_none());
        assert!(ours.column_index.is_none() && theirs.column_index.is_none());
        assert_eq!(ours.offset_index.expect("offsets").page_locations.len(), 2);
    }

    /// Types this writer does not take, and pages that could pass the byte
    /// limit, are left to parquet-rs.
    #[test]
    fn other_columns_are_left_to_parquet_rs() {
        let descr = |t: Type| {
            Arc::new(parquet::schema::types::ColumnDescriptor::new(
                Arc::new(
                    parquet::schema::types::Type::primitive_type_builder("c", t)
                        .build()
                        .expect("type"),
                ),
                0,
                0,
                parquet::schema::types::ColumnPath::from("c"),
            ))
        };
        let times = TimestampMicrosecondArray::from(vec![1, 2, 3]);
        let strings = arrow_array::StringArray::from(vec!["a"]);
        let seconds = arrow_array::TimestampSecondArray::from(vec![1]);
        let wide = arrow_array::Int32Array::from(vec![1, 2]);
        for (array, t, values, page_bytes) in [
            (
                &strings as &dyn Array,
                Type::BYTE_ARRAY,
                Values::Plain,
                PAGE_BYTES,
            ),
            (&seconds, Type::INT64, Values::Plain, PAGE_BYTES),
            (&times, Type::INT32, Values::Plain, PAGE_BYTES),
            (&times, Type::INT64, Values::Dictionary, PAGE_BYTES),
            (&wide, Type::INT32, Values::Dictionary, PAGE_BYTES),
            (&times, Type::INT64, Values::Plain, PAGE_ROWS * 8),
        ] {
            let out = encode(array, descr(t), values, true, 1, page_bytes).expect("no error");
            assert!(out.is_none(), "{} as {t:?}, {values:?}", array.data_type());
        }
        assert!(
            encode(
                &times,
                descr(Type::INT64),
                Values::Plain,
                true,
                1,
                PAGE_BYTES
            )
            .expect("encode")
            .is_some()
        );
    }
}
