//! A dictionary-encoded string column chunk whose dictionary is sorted.
//!
//! parquet-rs orders a dictionary by first appearance, which for ids in a
//! file sorted by zone and time is random order. zstd finds little to share
//! between neighbouring entries then; sorted, `e-01157` follows `e-01156`
//! and `0042:15503` follows `0042:15499`. On a decisions lake this takes a
//! day's `employee_id` dictionary from 0.47 to 0.19 bytes per row and
//! `card_id`'s from 0.55 to 0.32 (with the dictionary page at zstd level
//! 7; [`Zstd::SortedValues`] says what it is compressed with now); the
//! indices in the data pages cost the same either way.
//!
//! The chunk is the standard layout every reader knows: one `PLAIN`
//! dictionary page, then version-1 data pages of at most [`PAGE_ROWS`] rows
//! holding the definition levels (`RLE`) and the indices (`RLE_DICTIONARY`,
//! the RLE / bit-packed hybrid). On request it carries the chunk statistics
//! and the column and offset indexes parquet-rs would write for the same
//! values (see `parquet_file`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;

use accesslake_model::{same_bytes, same_id};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, DictionaryArray, StringArray};
use arrow_buffer::NullBuffer;
use bytes::Bytes;
use parquet::basic::{BoundaryOrder, Compression, Encoding, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Rows per data page of every lake column (see `parquet_file`).
pub const PAGE_ROWS: usize = 32 * 1024;

/// How a page is compressed: a zstd level, or the settings of
/// [`Zstd::SortedValues`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zstd {
    Level(i32),
    /// The dictionary page: zstd's greedy match finder with a hash table
    /// of 64 entries, a window of 128 KiB and matches of 6 bytes or more.
    ///
    /// A day's dictionary of card ids is about 38 KB. Sorted, each id
    /// shares its first bytes with the one before, at the same distance
    /// every time, which zstd codes as a repeated offset, a few bits a
    /// match. The larger tables of the standard levels find longer matches
    /// further back instead, at other distances, each coded in full: on the
    /// card, person and door dictionaries of 40 decision files of the
    /// benchmark lake (584,000 rows), level 7 wrote 280,838 bytes in 402
    /// million instructions, these settings 225,683 bytes in 159 million
    /// (levels 1 to 5 wrote 390,000 to 404,000).
    SortedValues,
}

/// zstd level of the data pages of indices of at most [`NARROW`] bits,
/// which are small by nature: a zone's few doors, or a handful of reasons,
/// in runs and patterns. Level 5 takes `door_id` from 0.386 to 0.346 bytes
/// per row (level 3: 0.358; level 7: 0.348 for a quarter more work).
pub const SMALL_PAGE_LEVEL: i32 = 5;

/// Indices up to this width use [`SMALL_PAGE_LEVEL`] (256 entries).
pub const NARROW: u8 = 8;

/// zstd level of the other data pages, as for every other column: wide
/// indices are close to random bits, which no level shrinks (card ids and
/// people are within 0.1 % of each other at levels 1 and 9).
pub const DATA_LEVEL: i32 = 1;

/// A dictionary larger than this is left to parquet-rs, which falls back to
/// plain encoding past its own limit of the same size.
const DICTIONARY_LIMIT: usize = parquet::file::properties::DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT;

thread_local! {
    /// One compression context per setting and thread, kept across pages
    /// and files: a fresh zstd context allocates and zeroes its tables each
    /// time.
    static COMPRESSORS: RefCell<Vec<(Zstd, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(Vec::new()) };
}

fn compressor(how: Zstd) -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::{CParameter, Strategy};
    match how {
        Zstd::Level(level) => zstd::bulk::Compressor::new(level),
        Zstd::SortedValues => {
            let mut c = zstd::bulk::Compressor::new(0)?;
            for p in [
                CParameter::Strategy(Strategy::ZSTD_greedy),
                CParameter::WindowLog(17),
                CParameter::HashLog(6),
                CParameter::ChainLog(6),
                CParameter::SearchLog(1),
                CParameter::MinMatch(6),
            ] {
                c.set_parameter(p)?;
            }
            Ok(c)
        }
    }
}

pub(crate) fn compress(how: Zstd, data: &[u8]) -> Result<Vec<u8>, ParquetError> {
    COMPRESSORS
        .with(|cell| {
            let mut all = cell.borrow_mut();
            let at = match all.iter().position(|(h, _)| *h == how) {
                Some(at) => at,
                None => {
                    all.push((how, compressor(how)?));
                    all.len() - 1
                }
            };
            all[at].1.compress(data)
        })
        .map_err(|e: std::io::Error| ParquetError::External(Box::new(e)))
}

/// Longest statistics value kept, parquet-rs's default truncation length.
/// A page or chunk whose bounds are longer gets no bounds rather than
/// truncated ones.
const STATISTICS_LIMIT: usize = 64;

/// Encodes a string column as a column chunk for `descr`, or returns `None`
/// when a sorted dictionary does not suit it (no values at all, a dictionary
/// past the size limit, or a column of another type); the caller then
/// writes the column the usual way. The column is a `Utf8` array, or a
/// dictionary array of `UInt32` keys into `Utf8` values, which saves finding
/// each row's value among the others when the rows already had it numbered.
/// With `statistics`, the chunk gets its minimum, maximum and null count and
/// a column index (page bounds) as parquet-rs would write them.
///
/// The bytes start with the dictionary page at offset 0, as
/// `SerializedRowGroupWriter::append_column` expects.
pub fn encode(
    column: &dyn Array,
    descr: ColumnDescPtr,
    statistics: bool,
) -> Result<Option<(Bytes, ColumnCloseResult)>, ParquetError> {
    if column.is_empty() {
        return Ok(None);
    }
    let (dict, nulls) = if let Some(values) = column.as_string_opt::<i32>() {
        (Dictionary::of(values), values.nulls())
    } else if let Some(keyed) = column.as_dictionary_opt::<UInt32Type>() {
        (Dictionary::of_keyed(keyed), keyed.keys().nulls())
    } else {
        return Ok(None);
    };
    let Some(dict) = dict else {
        return Ok(None);
    };
    let len = column.len();
    let null_count = nulls.map_or(0, |n| n.null_count());
    let nullable = descr.max_def_level() > 0;
    if null_count > 0 && !nullable {
        return Err(ParquetError::General(format!(
            "column {} is required but holds nulls",
            descr.name()
        )));
    }

    let mut sink = TrackedWrite::new(Vec::new());
    let mut pages = SerializedPageWriter::new(&mut sink);

    let plain = dict.plain();
    let dict_page = Page::DictionaryPage {
        buf: Bytes::from(compress(Zstd::SortedValues, &plain)?),
        num_values: dict.sorted.len() as u32,
        encoding: Encoding::PLAIN,
        is_sorted: true,
    };
    let mut log = PageLog::default();
    log.write(
        &mut pages,
        CompressedPage::new(dict_page, plain.len()),
        None,
    )?;

    let width = bit_width(dict.sorted.len().saturating_sub(1) as u64);
    let level = Zstd::Level(if width <= NARROW {
        SMALL_PAGE_LEVEL
    } else {
        DATA_LEVEL
    });
    let mut bounds = statistics.then(|| PageBounds::new(&dict.sorted));
    // A page's bytes, sized for its levels (a bit a row) and its indices
    // bit-packed, so that they do not grow by doubling.
    let page_rows = PAGE_ROWS.min(len);
    let mut buf = Vec::with_capacity(16 + page_rows.div_ceil(8) * (1 + usize::from(width)));
    let mut scratch = Vec::new();
    let mut start = 0;
    while start < len {
        let end = (start + PAGE_ROWS).min(len);
        buf.clear();
        if nullable {
            write_levels(&mut buf, nulls, start..end);
        }
        let page_values = valid_values(&mut scratch, &dict.index[start..end], nulls, start..end);
        buf.push(width);
        rle_hybrid(&mut buf, page_values, width);
        if let Some(b) = bounds.as_mut() {
            b.add_page(page_values, end - start);
        }

        log.write_data(
            &mut pages,
            &buf,
            level,
            end - start,
            Encoding::RLE_DICTIONARY,
        )?;
        start = end;
    }
    pages.close()?;
    let bytes = sink.into_inner()?;

    let mut metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(DATA_LEVEL)?))
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_num_values(len as i64)
        .set_total_compressed_size(log.compressed)
        .set_total_uncompressed_size(log.uncompressed)
        .set_dictionary_page_offset(Some(0))
        .set_data_page_offset(log.first_data_page.unwrap_or(log.compressed));
    let mut column_index = None;
    if let Some(bounds) = bounds {
        if let Some(stats) = dict.statistics(null_count as u64) {
            metadata = metadata.set_statistics(stats);
        }
        column_index = bounds.build()?;
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

/// What a column chunk's metadata needs of the pages written so far: their
/// sizes, the first data page's offset and the offset index.
#[derive(Default)]
pub(crate) struct PageLog {
    pub(crate) compressed: i64,
    pub(crate) uncompressed: i64,
    pub(crate) first_data_page: Option<i64>,
    pub(crate) index: OffsetIndexBuilder,
}

impl PageLog {
    /// Writes `data`, the values of `rows` rows in `encoding` (and their
    /// levels before them), as a version-1 data page compressed `how`.
    pub(crate) fn write_data(
        &mut self,
        pages: &mut impl PageWriter,
        data: &[u8],
        how: Zstd,
        rows: usize,
        encoding: Encoding,
    ) -> Result<(), ParquetError> {
        let page = Page::DataPage {
            buf: Bytes::from(compress(how, data)?),
            num_values: rows as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        self.write(pages, CompressedPage::new(page, data.len()), Some(rows))
    }

    /// Writes `page`, a data page of `rows` rows or (`None`) a dictionary page.
    pub(crate) fn write(
        &mut self,
        pages: &mut impl PageWriter,
        page: CompressedPage,
        rows: Option<usize>,
    ) -> Result<(), ParquetError> {
        let spec = pages.write_page(page)?;
        self.compressed += spec.compressed_size as i64;
        self.uncompressed += spec.uncompressed_size as i64;
        if let Some(rows) = rows {
            self.first_data_page.get_or_insert(spec.offset as i64);
            let index = &mut self.index;
            index.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
            index.append_row_count(rows as i64);
        }
        Ok(())
    }
}

/// Whether the pages of a chunk, in the order written, have rising or
/// falling bounds, judged as parquet-rs judges them: by each page that has
/// values against the one before it. Level pages (or none) rise.
#[derive(Default)]
pub(crate) struct PageOrder<T> {
    /// The (min, max) of the last page that had values.
    last: Option<(T, T)>,
    not_ascending: bool,
    not_descending: bool,
}

impl<T: PartialOrd + Copy> PageOrder<T> {
    pub(crate) fn add(&mut self, min: T, max: T) {
        if let Some((last_min, last_max)) = self.last {
            self.not_ascending |= last_min > min || last_max > max;
            self.not_descending |= last_min < min || last_max < max;
        }
        self.last = Some((min, max));
    }

    pub(crate) fn order(&self) -> BoundaryOrder {
        match (self.not_ascending, self.not_descending) {
            (false, _) => BoundaryOrder::ASCENDING,
            (true, false) => BoundaryOrder::DESCENDING,
            (true, true) => BoundaryOrder::UNORDERED,
        }
    }
}

/// The column index of a chunk being written: each data page's smallest
/// and largest value, its nulls, and whether the pages are in order.
struct PageBounds<'a> {
    sorted: &'a [&'a str],
    index: ColumnIndexBuilder,
    order: PageOrder<u32>,
}

impl<'a> PageBounds<'a> {
    fn new(sorted: &'a [&'a str]) -> Self {
        Self {
            sorted,
            index: ColumnIndexBuilder::new(parquet::basic::Type::BYTE_ARRAY),
            order: PageOrder::default(),
        }
    }

    /// Adds a page of `rows` rows whose values are `positions` in the
    /// sorted dictionary.
    fn add_page(&mut self, positions: &[u32], rows: usize) {
        let nulls = (rows - positions.len()) as i64;
        let (Some(&min), Some(&max)) = (positions.iter().min(), positions.iter().max()) else {
            self.index.append(true, vec![], vec![], nulls);
            return;
        };
        // Positions order as the values do, since the dictionary is sorted.
        self.order.add(min, max);
        let (lo, hi) = (self.sorted[min as usize], self.sorted[max as usize]);
        if lo.len() > STATISTICS_LIMIT || hi.len() > STATISTICS_LIMIT {
            self.index.to_invalid();
        }
        if self.index.valid() {
            self.index
                .append(false, lo.as_bytes().to_vec(), hi.as_bytes().to_vec(), nulls);
        }
    }

    fn build(mut self) -> Result<Option<ColumnIndexMetaData>, ParquetError> {
        if !self.index.valid() {
            return Ok(None);
        }
        self.index.set_boundary_order(self.order.order());
        self.index.build().map(Some)
    }
}

/// The distinct values of a column in byte order, and each row's position
/// among them (any number for a null row, which has no index in the data
/// page).
struct Dictionary<'a> {
    sorted: Vec<&'a str>,
    index: Cow<'a, [u32]>,
}

/// Distinct values found by comparing with each in turn before a hash
/// table takes over: directions, outcomes and reasons never need one.
const FEW: usize = 8;

/// Longest string [`pack`] takes: every id a scan keeps inline.
const PACKED: usize = 24;

/// A string of at most [`PACKED`] bytes as four words: its bytes in up to
/// three loads (overlapping when it is shorter than 24 bytes) and its
/// length. Two such strings are equal exactly when their packed forms are,
/// so numbering compares and hashes four words held in registers instead
/// of bytes behind a pointer.
type Packed = [u64; 4];

/// The eight bytes of `b` from `at`, as one little-endian word.
#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn pack(b: &[u8]) -> Option<Packed> {
    let n = b.len();
    let half = |at: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(&b[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    // Each shape's loads cover every byte for every length it takes.
    let [a, b2, c] = match n {
        0 => [0; 3],
        1..=3 => [
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
            0,
        ],
        4..=7 => [half(0) | half(n - 4) << 32, 0, 0],
        8..=16 => [word(b, 0), word(b, n - 8), 0],
        17..=PACKED => [word(b, 0), word(b, 8), word(b, n - 8)],
        _ => return None,
    };
    Some([a, b2, c, n as u64])
}

/// Where a packed string starts looking for its slot: foldhash's folded
/// multiply over the four words and the table's seeds.
fn slot_hash(p: &Packed, seeds: &[u64; 3]) -> u64 {
    let fold = |x: u64, y: u64| {
        let f = u128::from(x) * u128::from(y);
        f as u64 ^ (f >> 64) as u64
    };
    fold(
        fold(p[0] ^ seeds[0], p[1] ^ seeds[1]) ^ p[3],
        p[2] ^ seeds[2],
    )
}

/// Numbers the distinct strings of a column in order of first appearance.
/// Runs of one value (a zone's rows, a day's) look nothing up; the first
/// [`FEW`] values are found by comparing with each, the rest in an
/// open-addressing table of packed strings ([`pack`]); longer strings (ids
/// too long to keep inline) go to a hash map of their own.
#[derive(Default)]
pub(crate) struct Numbering<'a> {
    /// The strings numbered so far, by number.
    pub(crate) seen: Vec<&'a str>,
    /// The packed strings of `seen` and their numbers.
    packed: Vec<(Packed, u32)>,
    /// Per slot, 1 + a position in `packed`, or 0 when empty; a power of
    /// two long, and at most half full. Empty until `packed` passes [`FEW`].
    slots: Vec<u32>,
    /// Random per table (drawn when it is first built), so that which
    /// strings share a slot cannot be chosen from outside.
    seeds: [u64; 3],
    long: HashMap<&'a str, u32, foldhash::fast::RandomState>,
    /// The string numbered last, and its number.
    previous: Option<(&'a str, u32)>,
    /// Per number of [`Numbering::id_numbered`], 1 + the id of its string,
    /// or 0 when not met yet; no longer than [`Numbering::numbers`].
    by_number: Vec<u32>,
    /// Numbers below this are remembered; larger ones are numbered as if
    /// they had none.
    numbers: usize,
}

impl<'a> Numbering<'a> {
    /// A numbering that remembers the numbers below `numbers` given to
    /// [`Numbering::id_numbered`] (a table of 4 bytes each, up to the
    /// largest met).
    pub(crate) fn with_numbers(numbers: usize) -> Self {
        Numbering {
            numbers,
            ..Numbering::default()
        }
    }

    /// [`Numbering::id`] of a string its caller knows by a number as well
    /// (`u32::MAX` for none). A number met before names the string's id,
    /// which is taken once the string is compared equal to it; anything
    /// else, a number that names another string included, is numbered by
    /// the string.
    #[inline]
    pub(crate) fn id_numbered(&mut self, v: &'a str, number: u32) -> u32 {
        let n = number as usize;
        if let Some(&k) = self.by_number.get(n)
            && let Some(id) = k.checked_sub(1)
            && self.seen.get(id as usize).is_some_and(|s| same_id(s, v))
        {
            return id;
        }
        let id = self.id(v);
        if n < self.numbers {
            if self.by_number.len() <= n {
                self.by_number.resize(n + 1, 0);
            }
            self.by_number[n] = id + 1;
        }
        id
    }

    /// The number of `v`, given it if it is new. Only a run's first row
    /// goes past the comparison with the row before.
    #[inline]
    pub(crate) fn id(&mut self, v: &'a str) -> u32 {
        if let Some((q, id)) = self.previous
            && same_id(q, v)
        {
            return id;
        }
        let id = match pack(v.as_bytes()) {
            Some(p) => self.find(v, p),
            None => self.long(v),
        };
        self.previous = Some((v, id));
        id
    }

    #[inline(never)]
    fn find(&mut self, v: &'a str, p: Packed) -> u32 {
        if self.slots.is_empty() {
            match self.packed.iter().find(|(q, _)| *q == p) {
                Some(&(_, id)) => id,
                None => {
                    let id = self.add(v, p);
                    if self.packed.len() > FEW {
                        self.grow();
                    }
                    id
                }
            }
        } else {
            let mask = self.slots.len() - 1;
            let mut at = slot_hash(&p, &self.seeds) as usize & mask;
            loop {
                match self.slots[at] {
                    0 => {
                        let id = self.add(v, p);
                        self.slots[at] = self.packed.len() as u32;
                        if self.packed.len() * 2 > self.slots.len() {
                            self.grow();
                        }
                        break id;
                    }
                    k => {
                        let (q, id) = self.packed[k as usize - 1];
                        if q == p {
                            break id;
                        }
                    }
                }
                at = (at + 1) & mask;
            }
        }
    }

    #[cold]
    fn long(&mut self, v: &'a str) -> u32 {
        let next = self.seen.len() as u32;
        let id = *self.long.entry(v).or_insert(next);
        if id == next {
            self.seen.push(v);
        }
        id
    }

    fn add(&mut self, v: &'a str, p: Packed) -> u32 {
        let id = self.seen.len() as u32;
        self.seen.push(v);
        self.packed.push((p, id));
        id
    }

    /// Rebuilds the table with four slots or more per packed string (a
    /// power of two, at least 64).
    fn grow(&mut self) {
        if self.slots.is_empty() {
            let random = foldhash::fast::RandomState::default();
            self.seeds = [0u8, 1, 2].map(|i| random.hash_one(i));
        }
        let len = (self.packed.len() * 4).next_power_of_two().max(64);
        self.slots.clear();
        self.slots.resize(len, 0);
        let mask = len - 1;
        for (k, (p, _)) in self.packed.iter().enumerate() {
            let mut at = slot_hash(p, &self.seeds) as usize & mask;
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = k as u32 + 1;
        }
    }
}

/// The strings of one column across all the files of a chunk, each known
/// by the number its rows carry, sorted once: a file's dictionary is then
/// the entries its rows use, taken in this order, instead of a sort of its
/// own per file and column.
pub(crate) struct Ranked<'a> {
    /// Per number, 1 + the rank in `sorted` of the string it names, or 0.
    by_number: Vec<u32>,
    /// The named strings, distinct, in byte order.
    pub(crate) sorted: Vec<&'a str>,
    /// Per rank, the first [`HEAD`] bytes of its string, zero-padded (its
    /// [`prefix`], taken when its row was read for its number):
    /// [`Ranked::rank`] checks a row's string against this copy when the
    /// ranked string is no longer than that. The strings of `sorted` lie
    /// in the rows that first named them, all over the chunk's memory; a
    /// row's check of its number would read one of those rows from memory
    /// for every column.
    heads: Vec<[u8; HEAD]>,
}

/// Bytes of a ranked string kept beside its rank ([`Ranked::rank`]).
const HEAD: usize = 16;

impl<'a> Ranked<'a> {
    /// Ranks the strings of `N` columns of `rows`: column `c`'s strings
    /// are `value(row, c)` and its numbers `number(row)[c]`. A number names
    /// the string of the first row that carries it and has one; numbers
    /// from `numbers` on name none. `each` is called with every row and
    /// its place on the way.
    ///
    /// One pass over the rows reads all their numbers: a chunk's decisions
    /// are larger than the processor's caches, and a pass per column read
    /// each row from memory again.
    pub(crate) fn each<R, const N: usize>(
        rows: &'a [R],
        value: impl Fn(&'a R, usize) -> Option<&'a str>,
        number: impl Fn(&R) -> [u32; N],
        numbers: usize,
        mut each: impl FnMut(usize, &'a R),
    ) -> [Self; N] {
        // Per column and number, whether a row named its string yet: most
        // rows carry numbers met before, and their strings are not looked at.
        let mut by_number: [Vec<u32>; N] = std::array::from_fn(|_| Vec::new());
        // The strings named, with their prefixes, taken while their rows
        // are at hand.
        let mut named: [Vec<(u128, &'a str, u32)>; N] = std::array::from_fn(|_| Vec::new());
        for (at, r) in rows.iter().enumerate() {
            each(at, r);
            // A row's numbers are nearly always named already: that test
            // is all that is in line, so the columns' loop unrolls.
            for (c, i) in number(r).into_iter().enumerate() {
                let i = i as usize;
                if i < numbers && by_number[c].get(i).is_none_or(|&b| b == 0) {
                    name(&mut by_number[c], &mut named[c], i, value(r, c));
                }
            }
        }
        std::array::from_fn(|c| {
            let mut by_number = std::mem::take(&mut by_number[c]);
            let named = std::mem::take(&mut named[c]);
            let (sorted, prefixes) =
                sort_prefixed(named, |n, rank| by_number[n as usize] = rank + 1);
            let heads = prefixes.into_iter().map(u128::to_be_bytes).collect();
            Ranked {
                by_number,
                sorted,
                heads,
            }
        })
    }

    /// The rank of `v`, known by `number`: that of the string the number
    /// names, once compared equal to `v`; `None` for any other string.
    #[inline(always)]
    pub(crate) fn rank(&self, v: &str, number: u32) -> Option<u32> {
        let r = self.by_number.get(number as usize)?.checked_sub(1)?;
        let named = self.sorted.get(r as usize)?;
        let same = match self.heads.get(r as usize) {
            Some(head) if named.len() <= HEAD => same_bytes(&head[..named.len()], v.as_bytes()),
            _ => same_id(named, v),
        };
        same.then_some(r)
    }
}

impl<'a> Dictionary<'a> {
    fn of(values: &'a StringArray) -> Option<Self> {
        let mut numbering = Numbering::default();
        let mut index = Vec::with_capacity(values.len());
        for v in values {
            // A null row's index is never read.
            index.push(v.map_or(0, |v| numbering.id(v)));
        }
        let seen = numbering.seen;
        // The numbered strings are distinct: the limit can be checked
        // before they are sorted.
        if seen.iter().map(|v| 4 + v.len()).sum::<usize>() > DICTIONARY_LIMIT {
            return None;
        }
        Self::sorted(&seen, &vec![true; seen.len()], Cow::Owned(index))
    }

    /// The dictionary of a column given as keys into a list of strings
    /// (an Arrow dictionary array): only the strings the keys use are kept,
    /// equal strings become one entry, and no row's string is looked up.
    /// `None` as for [`Dictionary::of`], or when a listed string is null.
    fn of_keyed(column: &'a DictionaryArray<UInt32Type>) -> Option<Self> {
        let values = column.values().as_string_opt::<i32>()?;
        if values.null_count() > 0 {
            return None;
        }
        let keys = column.keys();
        let mut used = vec![false; values.len()];
        match keys.nulls().filter(|n| n.null_count() > 0) {
            // Without a null, no row's validity is looked up.
            None => {
                for &k in keys.values() {
                    *used.get_mut(k as usize)? = true;
                }
            }
            Some(nulls) => {
                for i in nulls.valid_indices() {
                    *used.get_mut(*keys.values().get(i)? as usize)? = true;
                }
            }
        }
        let strings: Vec<&str> = values.iter().flatten().collect();
        Self::sorted(&strings, &used, Cow::Borrowed(keys.values()))
    }

    /// The dictionary of rows given as numbers (`keys`, one per row; a null
    /// row's may be anything) into `strings`: the strings `used` marks,
    /// sorted, equal ones merged, and each row's position among them.
    fn sorted(strings: &[&'a str], used: &[bool], keys: Cow<'a, [u32]>) -> Option<Self> {
        let dictionary = if used.iter().all(|&u| u) && strings.windows(2).all(|w| w[0] < w[1]) {
            // Strings already distinct and in order, every one used (those
            // of a file's ranked columns), are the dictionary as they are.
            Self {
                sorted: strings.to_vec(),
                index: keys,
            }
        } else {
            let mut rank = vec![0u32; strings.len()];
            let used = strings
                .iter()
                .zip(0u32..)
                .filter(|&(_, k)| used[k as usize])
                .map(|(v, k)| (*v, k))
                .collect();
            let sorted = sort_distinct(used, |k, r| rank[k as usize] = r);
            let index = keys
                .iter()
                .map(|&k| rank.get(k as usize).copied().unwrap_or(0))
                .collect();
            Self {
                sorted,
                index: Cow::Owned(index),
            }
        };
        // No string at all is a column of nulls: an empty dictionary page,
        // as parquet-rs writes for one.
        let bytes: usize = dictionary.sorted.iter().map(|v| 4 + v.len()).sum();
        (bytes <= DICTIONARY_LIMIT).then_some(dictionary)
    }

    /// The dictionary page's values: `PLAIN` byte arrays, each a 4-byte
    /// little-endian length and the bytes.
    fn plain(&self) -> Vec<u8> {
        let len = self.sorted.iter().map(|v| 4 + v.len()).sum();
        let mut out = Vec::with_capacity(len);
        for v in &self.sorted {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// The chunk's statistics: every entry is used, so the bounds are the
    /// first and the last.
    fn statistics(&self, nulls: u64) -> Option<Statistics> {
        let (Some(min), Some(max)) = (self.sorted.first(), self.sorted.last()) else {
            // Only nulls: their count, and no bounds.
            return Some(Statistics::byte_array(None, None, None, Some(nulls), false));
        };
        if min.len() > STATISTICS_LIMIT || max.len() > STATISTICS_LIMIT {
            return None;
        }
        Some(Statistics::byte_array(
            Some(ByteArray::from(min.as_bytes().to_vec())),
            Some(ByteArray::from(max.as_bytes().to_vec())),
            None,
            Some(nulls),
            false,
        ))
    }
}

/// Names number `i` by `v` in [`Ranked::each`], when a row has a string.
#[cold]
#[inline(never)]
fn name<'a>(
    by_number: &mut Vec<u32>,
    named: &mut Vec<(u128, &'a str, u32)>,
    i: usize,
    v: Option<&'a str>,
) {
    if by_number.len() <= i {
        by_number.resize(i + 1, 0);
    }
    if let Some(v) = v {
        by_number[i] = 1;
        named.push((prefix(v), v, i as u32));
    }
}

/// The distinct strings of `items` in byte order; each item's tag is handed
/// to `ranked` with its string's rank. Sorted by the first 16 bytes as one
/// integer, and by the whole string where those are equal: the same order,
/// with most of the comparisons made on integers.
fn sort_distinct(items: Vec<(&str, u32)>, ranked: impl FnMut(u32, u32)) -> Vec<&str> {
    let items = items
        .into_iter()
        .map(|(v, tag)| (prefix(v), v, tag))
        .collect();
    sort_prefixed(items, ranked).0
}

/// [`sort_distinct`] of items given with their strings' [`prefix`]es,
/// which it returns beside the strings. A string of up to 16 bytes is then
/// never read again: its prefix and length are the string.
fn sort_prefixed<'a>(
    mut items: Vec<(u128, &'a str, u32)>,
    mut ranked: impl FnMut(u32, u32),
) -> (Vec<&'a str>, Vec<u128>) {
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let mut sorted: Vec<&'a str> = Vec::with_capacity(items.len());
    let mut prefixes: Vec<u128> = Vec::with_capacity(items.len());
    for (p, v, tag) in items {
        let repeat = sorted
            .last()
            .zip(prefixes.last())
            .is_some_and(|(&last, &q)| {
                q == p && last.len() == v.len() && (v.len() <= 16 || last == v)
            });
        if !repeat {
            sorted.push(v);
            prefixes.push(p);
        }
        ranked(tag, sorted.len() as u32 - 1);
    }
    (sorted, prefixes)
}

/// The first 16 bytes of `v`, zero-padded, as a big-endian integer: if
/// `prefix(a) < prefix(b)` then `a < b`, and equal prefixes say nothing.
fn prefix(v: &str) -> u128 {
    let mut head = [0; 16];
    let n = v.len().min(16);
    head[..n].copy_from_slice(&v.as_bytes()[..n]);
    u128::from_be_bytes(head)
}

/// Bits needed for values up to `max` (0 for a dictionary of one entry).
pub(crate) fn bit_width(max: u64) -> u8 {
    (64 - max.leading_zeros()) as u8
}

pub(crate) fn uleb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Shortest run worth an RLE run of its own: one bit-packed group.
const MIN_RUN: usize = 8;

/// Appends `values` in the RLE / bit-packed hybrid encoding at `width` bits:
/// runs of at least 8 equal values as RLE runs, everything else in
/// bit-packed groups of 8 (the last group padded with zeros; the page's
/// value count tells a reader where the values end).
///
/// A run can start only where the literals before it fill whole groups of
/// 8, so a run worth its own is one that covers such a group: the groups
/// are tested whole (8 values compared with the first, in one pass the
/// compiler widens), and only an equal group is followed to its run's end.
/// A column of short runs costs a comparison of each group, not a scan of
/// each run.
pub(crate) fn rle_hybrid(out: &mut Vec<u8>, values: &[u32], width: u8) {
    let mut literal_start = 0;
    let mut group = 0;
    while let Some(g) = values.get(group..group + MIN_RUN) {
        let v = g[0];
        if !g.iter().all(|&x| x == v) {
            group += MIN_RUN;
            continue;
        }
        let mut run_end = group + MIN_RUN;
        while values.get(run_end) == Some(&v) {
            run_end += 1;
        }
        bit_packed(out, &values[literal_start..group], width);
        rle_run(out, v, run_end - group, width);
        literal_start = run_end;
        group = run_end;
    }
    bit_packed(out, &values[literal_start..], width);
}

/// Appends an RLE run of `len` values `v` at `width` bits: its length, then
/// the value in as few whole bytes as the width needs.
fn rle_run(out: &mut Vec<u8>, v: u32, len: usize, width: u8) {
    uleb128(out, (len as u64) << 1);
    let value_bytes = usize::from(width).div_ceil(8);
    out.extend_from_slice(&v.to_le_bytes()[..value_bytes]);
}

/// Appends the definition levels of `rows` (1 for a value, 0 for a null)
/// as a version-1 data page begins: their length in 4 bytes, then the
/// hybrid encoding at 1 bit, read straight from the validity bitmap. At one
/// bit a bit-packed group of 8 levels is one byte of the bitmap, so the
/// levels are the bitmap's bytes, except that 2 or more bytes of all
/// values (or all nulls) in a row become an RLE run; no level is looked at
/// on its own.
pub(crate) fn write_levels(buf: &mut Vec<u8>, nulls: Option<&NullBuffer>, rows: Range<usize>) {
    let len = rows.len();
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    match nulls {
        // Every row has its value: one run.
        None if len > 0 => {
            uleb128(buf, (len as u64) << 1);
            buf.push(1);
        }
        None => {}
        Some(n) => {
            let bits = n.inner().slice(rows.start, len).sliced();
            level_bytes(buf, &bits.as_slice()[..len.div_ceil(8)], len);
        }
    }
    let written = (buf.len() - at - 4) as u32;
    buf[at..at + 4].copy_from_slice(&written.to_le_bytes());
}

/// The values of a page's `rows` that are not null, which a data page holds
/// after its levels: `values` (those of `rows` only) as they are when the
/// column has no nulls, else gathered into `scratch`.
pub(crate) fn valid_values<'v, T: Copy>(
    scratch: &'v mut Vec<T>,
    values: &'v [T],
    nulls: Option<&NullBuffer>,
    rows: Range<usize>,
) -> &'v [T] {
    match nulls {
        Some(n) if n.null_count() > 0 => {
            scratch.clear();
            scratch.reserve(values.len());
            gather_valid(scratch, values, n, rows);
            scratch
        }
        _ => values,
    }
}

/// Appends the values of `rows` whose row is valid in `nulls` (`values`
/// holds those of `rows` only), 64 rows at a time: all of them at once
/// when all are valid, else one by one by the set bits.
fn gather_valid<T: Copy>(out: &mut Vec<T>, values: &[T], nulls: &NullBuffer, rows: Range<usize>) {
    let bits = nulls.inner().slice(rows.start, rows.len());
    // The last word is padded with zeros: no bit past the rows is set.
    for (chunk, word) in values.chunks(64).zip(bits.bit_chunks().iter_padded()) {
        if word == u64::MAX {
            out.extend_from_slice(chunk);
            continue;
        }
        let mut w = word;
        while w != 0 {
            out.push(chunk[w.trailing_zeros() as usize]);
            w &= w - 1;
        }
    }
}

/// Fewest whole bytes of one level that [`level_bytes`] writes as a run:
/// at 2 a run costs what its bytes would (a header and a value byte).
const MIN_RUN_BYTES: usize = 2;

/// The hybrid encoding at 1 bit of the first `len` bits of `bytes` (least
/// significant bit first; any bits past `len` are left out).
fn level_bytes(out: &mut Vec<u8>, bytes: &[u8], len: usize) {
    let full = len / 8;
    // Where the bytes not yet written start.
    let mut literal = 0;
    let mut i = 0;
    while i < full {
        let b = bytes[i];
        if b != 0 && b != 0xFF {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < full && bytes[end] == b {
            end += 1;
        }
        if end - i >= MIN_RUN_BYTES {
            literal_bytes(out, &bytes[literal..i], None);
            uleb128(out, ((8 * (end - i)) as u64) << 1);
            out.push(b & 1);
            literal = end;
        }
        i = end;
    }
    let partial = len % 8;
    let last = (partial > 0).then(|| bytes[full] & ((1u8 << partial) - 1));
    literal_bytes(out, &bytes[literal..full], last);
}

/// Writes `bytes` (and `last`, the partial byte after them) as one
/// bit-packed run of 1-bit groups, if there is anything to write.
fn literal_bytes(out: &mut Vec<u8>, bytes: &[u8], last: Option<u8>) {
    let groups = bytes.len() + usize::from(last.is_some());
    if groups == 0 {
        return;
    }
    uleb128(out, ((groups as u64) << 1) | 1);
    out.extend_from_slice(bytes);
    out.extend(last);
}

/// Appends `values` as bit-packed groups of 8, least significant bit first.
fn bit_packed(out: &mut Vec<u8>, values: &[u32], width: u8) {
    if values.is_empty() {
        return;
    }
    let groups = values.len().div_ceil(8);
    uleb128(out, ((groups as u64) << 1) | 1);
    pack_bits(out, values, width);
}

/// Appends `values` at `width` bits each (at most 32), least significant
/// bit first, padded with zeros to a multiple of 8 values: Parquet's bit
/// packing, as the hybrid encoding holds it. Each value must fit its
/// width. Four bytes are written at a time.
fn pack_bits(out: &mut Vec<u8>, values: &[u32], width: u8) {
    let width = u32::from(width);
    let groups = values.len().div_ceil(8);
    out.reserve(groups * width as usize);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &v in values {
        debug_assert!(width == 32 || v >> width == 0);
        acc |= u64::from(v) << bits;
        bits += width;
        if bits >= 32 {
            out.extend_from_slice(&(acc as u32).to_le_bytes());
            acc >>= 32;
            bits -= 32;
        }
    }
    // The padding: zeros up to a whole group of 8, which is `width` bytes.
    let padded = (groups * 8 - values.len()) as u32 * width;
    let tail = ((bits + padded) / 8) as usize;
    let held = tail.min(8);
    out.extend_from_slice(&acc.to_le_bytes()[..held]);
    out.extend(std::iter::repeat_n(0, tail - held));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding back into `n` values.
    fn decode(mut data: &[u8], width: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_uleb = |data: &mut &[u8]| {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    return v;
                }
            }
        };
        while out.len() < n {
            let header = read_uleb(&mut data);
            if header & 1 == 1 {
                let count = (header >> 1) as usize * 8;
                let mut acc = 0u64;
                let mut bits = 0;
                for _ in 0..count {
                    while bits < u32::from(width) {
                        acc |= u64::from(data[0]) << bits;
                        data = &data[1..];
                        bits += 8;
                    }
                    out.push((acc & ((1u64 << width) - 1)) as u32);
                    acc >>= width;
                    bits -= u32::from(width);
                }
            } else {
                let count = (header >> 1) as usize;
                let nb = usize::from(width).div_ceil(8);
                let mut v = [0u8; 4];
                v[..nb].copy_from_slice(&data[..nb]);
                data = &data[nb..];
                out.extend(std::iter::repeat_n(u32::from_le_bytes(v), count));
            }
        }
        assert!(data.is_empty(), "{} bytes left over", data.len());
        out.truncate(n);
        out
    }

    #[test]
    fn sorted_ids_compress_smaller_with_their_settings_than_at_level_7() {
        // A day's card dictionary: about 2,700 of a site's 4,000 cards.
        let mut x = 12_345u32;
        let mut ids: Vec<String> = (0..4_000)
            .filter(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                !(x >> 16).is_multiple_of(3)
            })
            .map(|i| format!("0042:{:05}", 10_000 + i * 7))
            .collect();
        ids.sort();
        let values = StringArray::from(ids.iter().map(String::as_str).collect::<Vec<_>>());
        let plain = Dictionary::of(&values).expect("values").plain();
        let sorted = compress(Zstd::SortedValues, &plain).expect("compress");
        let level_7 = compress(Zstd::Level(7), &plain).expect("compress");
        assert_eq!(
            zstd::bulk::decompress(&sorted, plain.len()).expect("decompress"),
            plain
        );
        assert!(
            sorted.len() * 10 < level_7.len() * 9,
            "{} bytes against {} at level 7",
            sorted.len(),
            level_7.len()
        );
    }

    /// The hybrid encoding as a scan of every run: each run is followed to
    /// its end, and written as a run where it covers a whole group of 8
    /// after the literals before it.
    fn rle_hybrid_by_runs(out: &mut Vec<u8>, values: &[u32], width: u8) {
        let mut literal_start = 0;
        let mut i = 0;
        while i < values.len() {
            let v = values[i];
            let mut run_end = i + 1;
            while run_end < values.len() && values[run_end] == v {
                run_end += 1;
            }
            let aligned = i + (MIN_RUN - (i - literal_start) % MIN_RUN) % MIN_RUN;
            if run_end >= aligned + MIN_RUN {
                bit_packed(out, &values[literal_start..aligned], width);
                rle_run(out, v, run_end - aligned, width);
                literal_start = run_end;
            }
            i = run_end;
        }
        bit_packed(out, &values[literal_start..], width);
    }

    proptest::proptest! {
        /// Testing whole groups writes the bytes a scan of every run does.
        #[test]
        fn hybrid_encoding_by_groups_is_that_by_runs(
            runs in proptest::collection::vec((0u32..4, 1usize..20), 0..80),
        ) {
            let values: Vec<u32> = runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect();
            let (mut groups, mut by_runs) = (Vec::new(), Vec::new());
            rle_hybrid(&mut groups, &values, 2);
            rle_hybrid_by_runs(&mut by_runs, &values, 2);
            proptest::prop_assert_eq!(groups, by_runs);
        }
    }

    proptest::proptest! {
        #[test]
        fn hybrid_encoding_round_trips(
            runs in proptest::collection::vec((0u32..40, 1usize..30), 0..60),
        ) {
            let values: Vec<u32> = runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect();
            let width = bit_width(values.iter().copied().max().unwrap_or(0).into());
            let mut out = Vec::new();
            rle_hybrid(&mut out, &values, width);
            proptest::prop_assert_eq!(decode(&out, width, values.len()), values);
        }
    }

    proptest::proptest! {
        /// Levels read from any stretch of a bitmap, at any bit offset,
        /// decode to the rows' validity.
        #[test]
        fn levels_are_the_validity(
            runs in proptest::collection::vec((proptest::bool::ANY, 1usize..40), 0..40),
            skip in 0usize..20,
            take in 0usize..1_000,
        ) {
            let valid: Vec<bool> =
                runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect();
            let nulls = NullBuffer::from(valid.clone());
            let start = skip.min(valid.len());
            let end = (start + take).min(valid.len());
            let mut out = vec![7];
            write_levels(&mut out, Some(&nulls), start..end);
            let n = u32::from_le_bytes(out[1..5].try_into().expect("length")) as usize;
            proptest::prop_assert_eq!(n, out.len() - 5);
            let want: Vec<u32> = valid[start..end].iter().map(|&v| u32::from(v)).collect();
            proptest::prop_assert_eq!(decode(&out[5..], 1, end - start), want.clone());
            // Without a bitmap every row has its value.
            let mut all = Vec::new();
            write_levels(&mut all, None, start..end);
            proptest::prop_assert_eq!(decode(&all[4..], 1, end - start), vec![1; end - start]);
        }
    }

    proptest::proptest! {
        /// The gathered values are those of the valid rows, in order.
        #[test]
        fn gathered_values_are_the_valid_rows(
            runs in proptest::collection::vec((proptest::bool::ANY, 1usize..150), 0..20),
            skip in 0usize..70,
            take in 0usize..2_000,
        ) {
            let valid: Vec<bool> =
                runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect();
            let nulls = NullBuffer::from(valid.clone());
            let values: Vec<usize> = (0..valid.len()).collect();
            let start = skip.min(valid.len());
            let end = (start + take).min(valid.len());
            let mut out = vec![usize::MAX];
            gather_valid(&mut out, &values[start..end], &nulls, start..end);
            let want: Vec<usize> = std::iter::once(usize::MAX)
                .chain((start..end).filter(|&i| valid[i]))
                .collect();
            proptest::prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn whole_bytes_of_one_level_become_runs() {
        // Rows 26-28 and 42 null, 69 rows: bytes FF FF FF E3 FF FB FF FF
        // and 5 bits.
        let valid: Vec<bool> = (0..72).map(|i| !(26..29).contains(&i) && i != 42).collect();
        let mut out = Vec::new();
        write_levels(&mut out, Some(&NullBuffer::from(valid)), 0..69);
        let levels = [
            0x30, 1, // 24 values
            0x07, 0xE3, 0xFF, 0xFB, // 3 bytes as they are: one FF alone is no run
            0x20, 1, // 16 values
            0x03, 0x1F, // the last 5 rows
        ];
        assert_eq!(out[..4], (levels.len() as u32).to_le_bytes());
        assert_eq!(out[4..], levels);
    }

    #[test]
    fn long_runs_become_rle_runs() {
        let values = vec![3u32; 1000];
        let mut out = Vec::new();
        rle_hybrid(&mut out, &values, 2);
        // header (1000 << 1 as uleb128: 2 bytes) and one value byte
        assert_eq!(out, vec![0xd0, 0x0f, 3]);
    }

    #[test]
    fn a_dictionary_is_sorted_and_rows_point_into_it() {
        let a = StringArray::from(vec![
            Some("c"),
            None,
            Some("a"),
            Some("c"),
            Some("b"),
            Some("a"),
        ]);
        let d = Dictionary::of(&a).expect("values");
        assert_eq!(d.sorted, vec!["a", "b", "c"]);
        let valid: Vec<u32> = [0, 2, 3, 4, 5].iter().map(|&i| d.index[i]).collect();
        assert_eq!(valid, vec![2, 0, 2, 1, 0]);
        assert_eq!(d.plain()[..5], [1, 0, 0, 0, b'a']);
    }

    #[test]
    fn a_keyed_column_keeps_only_the_strings_its_rows_use_once_each() {
        // "c" listed twice, "x" used only by a null row, "z" by no row.
        let values = StringArray::from(vec!["c", "a", "x", "c", "b", "z"]);
        let keys = arrow_array::UInt32Array::from(vec![
            Some(0),
            Some(2),
            Some(1),
            Some(3),
            Some(4),
            Some(1),
        ]);
        let nulls = arrow_buffer::NullBuffer::from(vec![true, false, true, true, true, true]);
        let keys = arrow_array::UInt32Array::new(keys.values().clone(), Some(nulls));
        let column = DictionaryArray::new(keys, std::sync::Arc::new(values));
        let d = Dictionary::of_keyed(&column).expect("values");
        assert_eq!(d.sorted, vec!["a", "b", "c"]);
        let valid: Vec<u32> = [0, 2, 3, 4, 5].iter().map(|&i| d.index[i]).collect();
        assert_eq!(valid, vec![2, 0, 2, 1, 0]);
    }

    /// Strings over a small alphabet, so that different strings often share
    /// bytes and lengths, from empty to past what [`pack`] takes.
    fn short_strings() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("[ab\\x00é]{0,30}").expect("regex")
    }

    proptest::proptest! {
        #[test]
        fn packed_strings_are_equal_exactly_when_the_strings_are(
            a in short_strings(),
            b in short_strings(),
        ) {
            let (pa, pb) = (pack(a.as_bytes()), pack(b.as_bytes()));
            proptest::prop_assert_eq!(pa.is_some(), a.len() <= PACKED);
            if let (Some(pa), Some(pb)) = (pa, pb) {
                proptest::prop_assert_eq!(pa == pb, a == b);
            }
        }

        #[test]
        fn numbering_is_order_of_first_appearance(
            values in proptest::collection::vec(short_strings(), 0..400),
        ) {
            let mut numbering = Numbering::default();
            let mut first: HashMap<&str, u32> = HashMap::new();
            for v in &values {
                let next = first.len() as u32;
                let want = *first.entry(v.as_str()).or_insert(next);
                proptest::prop_assert_eq!(numbering.id(v), want, "{:?}", v);
            }
            let mut seen: Vec<(&str, u32)> = first.into_iter().collect();
            seen.sort_by_key(|&(_, id)| id);
            let seen: Vec<&str> = seen.into_iter().map(|(v, _)| v).collect();
            proptest::prop_assert_eq!(numbering.seen, seen);
        }
    }

    proptest::proptest! {
        #[test]
        fn prefixes_order_as_the_strings_do(a in short_strings(), b in short_strings()) {
            let by_prefix = prefix(&a).cmp(&prefix(&b)).then_with(|| a.cmp(&b));
            proptest::prop_assert_eq!(by_prefix, a.cmp(&b));
        }
    }

    proptest::proptest! {
        /// The strings come out sorted and distinct, each item's tag with
        /// its string's rank, whether equal strings share a prefix and a
        /// length (up to 16 bytes) or only a prefix (longer).
        #[test]
        fn sorted_distinct_strings_are_the_sorted_set(
            items in proptest::collection::vec(
                // Repeats: short ones, and long ones that share their
                // first 16 bytes with strings of other lengths.
                proptest::prop_oneof!["[a\\x00]{0,3}", "a{15,18}", short_strings()],
                0..40,
            ),
        ) {
            let tagged: Vec<(&str, u32)> = items.iter().map(String::as_str).zip(0..).collect();
            let mut ranks = vec![u32::MAX; items.len()];
            let sorted = sort_distinct(tagged, |tag, rank| ranks[tag as usize] = rank);
            let mut want: Vec<&str> = items.iter().map(String::as_str).collect();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(&sorted, &want);
            for (v, r) in items.iter().zip(ranks) {
                proptest::prop_assert_eq!(sorted.get(r as usize), Some(&v.as_str()));
            }
        }
    }

    #[test]
    fn every_length_packs_every_byte() {
        // Changing any one byte of a string changes its packed form.
        for n in 0..=PACKED {
            let base = vec![b'a'; n];
            let p = pack(&base).expect("short");
            for i in 0..n {
                let mut other = base.clone();
                other[i] = b'b';
                assert_ne!(pack(&other), Some(p), "length {n}, byte {i}");
            }
        }
        assert_eq!(pack(&[b'a'; PACKED + 1]), None);
    }

    #[test]
    fn thousands_of_ids_are_numbered_in_order() {
        // Past FEW and through several rebuilds of the table, with repeats.
        let ids: Vec<String> = (0..5_000)
            .map(|i| format!("0042:{:05}", i * 7 % 3_001))
            .collect();
        let mut numbering = Numbering::default();
        let got: Vec<u32> = ids.iter().map(|v| numbering.id(v)).collect();
        // 3,001 is prime, so the first 3,001 ids are distinct and id i
        // repeats id i - 3,001.
        let want: Vec<u32> = (0..5_000).map(|i| i % 3_001).collect();
        assert_eq!(got, want);
    }

    /// A column of nulls has a dictionary of nothing (an admin file
    /// without errors), as parquet-rs writes one; a column of no rows is
    /// left to parquet-rs.
    #[test]
    fn only_nulls_an_empty_dictionary() {
        let nulls = StringArray::from(vec![None::<&str>, None]);
        assert!(Dictionary::of(&nulls).is_some_and(|d| d.sorted.is_empty()));
        // An optional column: its rows may be null.
        let descr = std::sync::Arc::new(parquet::schema::types::ColumnDescriptor::new(
            std::sync::Arc::new(
                parquet::schema::types::Type::primitive_type_builder(
                    "c",
                    parquet::basic::Type::BYTE_ARRAY,
                )
                .with_repetition(parquet::basic::Repetition::OPTIONAL)
                .build()
                .expect("type"),
            ),
            1,
            0,
            parquet::schema::types::ColumnPath::from("c"),
        ));
        let (_, close) = encode(&nulls, descr.clone(), true)
            .expect("encode")
            .expect("written here");
        let stats = close.metadata.statistics().expect("statistics");
        assert_eq!(
            (stats.null_count_opt(), stats.min_bytes_opt()),
            (Some(2), None)
        );
        let none = StringArray::from(Vec::<&str>::new());
        assert!(encode(&none, descr, true).expect("encode").is_none());
    }
}
