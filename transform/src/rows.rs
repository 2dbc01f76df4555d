//! Rows → Arrow record batches, column by column in schema order.

use std::sync::Arc;

use accesslake_model::{
    AdminRecord, Decision, Direction, LocalTime, Micros, Outcome, Reason, Rejected, Table, utc_date,
};
use arrow_array::builder::{BooleanBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, UInt32Type};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, DictionaryArray, PrimitiveArray, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{ArrowNativeType, BooleanBuffer, NullBuffer, OffsetBuffer};
use arrow_schema::{Field, Schema};
use chrono::NaiveDate;

use crate::Result;
use crate::sorted_dictionary::{Numbering, Ranked};

/// A row of one lake table.
pub trait LakeRow: Sized {
    const TABLE: Table;
    /// What the files of one chunk share, made once from all its rows
    /// ([`LakeRow::survey`]) and given to each file's
    /// [`LakeRow::lake_columns`].
    type Shared<'a>
    where
        Self: 'a;
    /// Makes what the files of `rows` share, calling `each` with every row
    /// and its place in `rows` on the way: a chunk's rows are larger than
    /// the processor's caches, and a caller's own work on each row (the
    /// days of [`crate::Lake::encode`]) then reads no row from memory again.
    fn survey<'a>(rows: &'a [Self], each: impl FnMut(usize, &'a Self)) -> Self::Shared<'a>;
    /// The instant whose UTC date is the row's `dt` partition.
    fn partition_time(&self) -> Micros;
    /// Orders rows within a file (SPEC 4: decisions by zone_id, occurred_at).
    fn sort_cmp(&self, other: &Self) -> std::cmp::Ordering;
    /// Appends the rows as one record batch in the table's schema.
    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef>;

    /// The columns [`crate::encode_parquet`] writes the rows from, in the
    /// order `order` gives (the k-th row written is `rows[order[k]]`, and
    /// `order` lists each place in `rows` once): those of
    /// [`LakeRow::to_columns`], or for a string column that file writes
    /// with a dictionary, a dictionary array of the same strings. `shared`
    /// is that of a chunk holding every row given.
    fn lake_columns<'a>(
        rows: &[&'a Self],
        order: &[usize],
        shared: &Self::Shared<'a>,
    ) -> Vec<ArrayRef> {
        let _ = shared;
        Self::to_columns(&in_order(rows, order))
    }

    /// The order [`LakeRow::sort_cmp`] puts `rows` in, ties in the order
    /// given, as places in `rows`: the k-th row is `rows[order[k]]`.
    fn sort_order(rows: &[&Self]) -> Vec<usize> {
        compared_order(rows)
    }

    fn dt(&self) -> NaiveDate {
        utc_date(self.partition_time())
    }
}

/// The order of `rows` by [`LakeRow::sort_cmp`], ties in the order given,
/// found by comparing the rows.
fn compared_order<R: LakeRow>(rows: &[&R]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[a].sort_cmp(rows[b]));
    order
}

/// `rows` in the order `order` gives ([`LakeRow::sort_order`]).
fn in_order<'a, R>(rows: &[&'a R], order: &[usize]) -> Vec<&'a R> {
    order.iter().filter_map(|&i| rows.get(i).copied()).collect()
}

/// Rows the chunk's survey asks for ahead ([`LakeRow::survey`]): it reads
/// two fields of each of a chunk's decisions, which lie beyond the caches.
/// At 8 the load of a row's numbers was still half of the survey's
/// samples; at 32 the survey went from 2.5 % of an ingest's samples to
/// 1.9–2.2 %, and 64 did no better. (A file's column building makes its
/// passes over a day's rows, which the processor's last cache holds;
/// asking for each row ahead there left its time as it was, for 1.5 %
/// more instructions, and is not done.)
const SURVEY_AHEAD: usize = 32;

/// Where each of a file's rows goes in its columns, for building them by
/// reading the rows in the order given and putting each value at its row's
/// place. A chunk's rows lie in memory in the order they were decided, and
/// a file's order (by zone) visits them all over the file's day: read in
/// that order, each column of each row would be a miss of the cache.
struct Places<'o> {
    /// Per row given, its place: past the end for a row the order leaves
    /// out.
    at: Vec<usize>,
    order: &'o [usize],
}

impl<'o> Places<'o> {
    fn new(order: &'o [usize], rows: usize) -> Self {
        let mut at = vec![usize::MAX; rows];
        for (k, &i) in order.iter().enumerate() {
            if let Some(a) = at.get_mut(i) {
                *a = k;
            }
        }
        Places { at, order }
    }

    /// The rows the columns hold.
    fn len(&self) -> usize {
        self.order.len()
    }

    /// Each row's value at its place.
    fn put<'a, R, T: Copy + Default>(&self, rows: &[&'a R], value: impl Fn(&'a R) -> T) -> Vec<T> {
        let mut out = vec![T::default(); self.len()];
        for (r, &at) in rows.iter().zip(&self.at) {
            if let Some(slot) = out.get_mut(at) {
                *slot = value(r);
            }
        }
        out
    }
}

/// A string column, each row's value at its place: the lengths first,
/// then the bytes, each read from the rows in the order given.
fn placed_strings<'a, R>(
    rows: &[&'a R],
    places: &Places<'_>,
    value: impl Fn(&'a R) -> Option<&'a str>,
) -> ArrayRef {
    let lengths = places.put(rows, |r| value(r).map(str::len));
    let mut offsets: Vec<i32> = Vec::with_capacity(lengths.len() + 1);
    let mut end = 0usize;
    offsets.push(0);
    for l in &lengths {
        end += l.unwrap_or(0);
        match i32::try_from(end) {
            Ok(e) => offsets.push(e),
            // Past what one array's offsets hold: row by row, as before.
            Err(_) => return strings(&in_order(rows, places.order), value),
        }
    }
    let mut bytes = vec![0u8; end];
    for (r, &at) in rows.iter().zip(&places.at) {
        if let (Some(v), Some(&start)) = (value(r), offsets.get(at))
            && let Some(to) = bytes.get_mut(start as usize..start as usize + v.len())
        {
            to.copy_from_slice(v.as_bytes());
        }
    }
    let nulls = lengths
        .iter()
        .any(Option::is_none)
        .then(|| NullBuffer::from_iter(lengths.iter().map(Option::is_some)));
    match StringArray::try_new(OffsetBuffer::new(offsets.into()), bytes.into(), nulls) {
        Ok(column) => Arc::new(column),
        // Whole strings at their offsets: not reached.
        Err(_) => strings(&in_order(rows, places.order), value),
    }
}

/// Builds the record batch of `rows` in `R::TABLE`'s schema.
pub fn record_batch<R: LakeRow>(rows: &[&R]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        R::TABLE.schema(),
        R::to_columns(rows),
    )?)
}

/// The record batch [`crate::encode_parquet`] writes `rows` from, in the
/// order `order` gives ([`LakeRow::lake_columns`]): the table's schema,
/// with a dictionary type where a column is given as one. `shared` is that
/// of a chunk holding every row given ([`LakeRow::survey`]).
pub fn lake_batch<'a, R: LakeRow>(
    rows: &[&'a R],
    order: &[usize],
    shared: &R::Shared<'a>,
) -> Result<RecordBatch> {
    let columns = R::lake_columns(rows, order, shared);
    let table = R::TABLE.schema();
    let fields: Vec<Field> = table
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, table.metadata().clone())),
        columns,
    )?)
}

/// A string column of `rows`. The value buffer is sized from the values
/// first: grown by doubling, a column of ids is copied several times over
/// into fresh memory the kernel has to zero.
fn strings<'a, R>(rows: &[&'a R], value: impl Fn(&'a R) -> Option<&'a str>) -> ArrayRef {
    let bytes = rows.iter().map(|r| value(r).map_or(0, str::len)).sum();
    let mut b = StringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_option(value(r));
    }
    Arc::new(b.finish())
}

/// Which rows are valid, as a bitmap built 64 rows at a time.
fn null_buffer(valid: Vec<bool>) -> NullBuffer {
    NullBuffer::new(BooleanBuffer::collect_bool(valid.len(), |i| valid[i]))
}

/// The values of a primitive column, filled row by row, and which rows are
/// null once one is. Cheaper than an Arrow builder, which checks its null
/// bitmap and capacity on every value.
struct Values<T> {
    values: Vec<T>,
    valid: Option<Vec<bool>>,
}

impl<T: ArrowNativeType> Values<T> {
    fn with_capacity(n: usize) -> Self {
        Values {
            values: Vec::with_capacity(n),
            valid: None,
        }
    }

    fn push(&mut self, v: T) {
        self.values.push(v);
        if let Some(valid) = &mut self.valid {
            valid.push(true);
        }
    }

    fn push_null(&mut self) {
        let n = self.values.len();
        self.valid
            .get_or_insert_with(|| {
                let mut valid = Vec::with_capacity(self.values.capacity());
                valid.resize(n, true);
                valid
            })
            .push(false);
        self.values.push(T::default());
    }

    /// `n` values, each to be put at its place ([`Values::put`]).
    fn placed(n: usize) -> Self {
        Values {
            values: vec![T::default(); n],
            valid: None,
        }
    }

    /// Sets the value at place `at` (of [`Values::placed`]).
    fn put(&mut self, at: usize, v: T) {
        if let Some(slot) = self.values.get_mut(at) {
            *slot = v;
        }
    }

    /// Makes the value at place `at` (of [`Values::placed`]) null.
    fn put_null(&mut self, at: usize) {
        let n = self.values.len();
        if let Some(valid) = self.valid.get_or_insert_with(|| vec![true; n]).get_mut(at) {
            *valid = false;
        }
    }

    fn finish<P: ArrowPrimitiveType<Native = T>>(self) -> PrimitiveArray<P> {
        PrimitiveArray::new(self.values.into(), self.valid.map(null_buffer))
    }
}

/// A string column of `rows` as a dictionary array: each distinct string
/// once, each row its key ([`Numbering`]) at its place ([`Places`]).
/// `number` gives the number a row's string is known by
/// (`IdNumbers::NONE` for none), which finds a string met before without
/// hashing it.
fn keyed<'a, R>(
    rows: &[&'a R],
    places: &Places<'_>,
    value: impl Fn(&'a R) -> Option<&'a str>,
    number: impl Fn(&'a R) -> u32,
) -> ArrayRef {
    let mut keys = Values::placed(places.len());
    let mut numbering = Numbering::with_numbers(numbers_kept(places.len()));
    for (r, &at) in rows.iter().zip(&places.at) {
        match value(r) {
            Some(v) => keys.put(at, numbering.id_numbered(v, number(r))),
            None => keys.put_null(at),
        }
    }
    dictionary(keys, &numbering.seen)
}

/// A string column of `rows` as a dictionary array, its strings numbered
/// by themselves ([`Numbering::id`]), each row's key at its place: a row
/// in a run of one string is found by one comparison with the row before.
fn unnumbered<'a, R>(
    rows: &[&'a R],
    places: &Places<'_>,
    value: impl Fn(&'a R) -> Option<&'a str>,
) -> ArrayRef {
    let mut keys = Values::placed(places.len());
    let mut numbering = Numbering::default();
    for (r, &at) in rows.iter().zip(&places.at) {
        match value(r) {
            Some(v) => keys.put(at, numbering.id(v)),
            None => keys.put_null(at),
        }
    }
    dictionary(keys, &numbering.seen)
}

/// A string column of one file of a chunk as a dictionary array, like
/// [`keyed`], its strings found among the chunk's ([`Ranked`]) by the
/// number each row carries. The dictionary is the chunk's strings the file
/// uses, in their order, merged with any the chunk does not rank (a row
/// without a number, or whose number names another string): sorted and
/// distinct, so the writer takes it as it is. A file too small for the
/// chunk's strings to be worth a pass is keyed on its own.
fn ranked<'a, R>(
    rows: &[&'a R],
    places: &Places<'_>,
    value: impl Fn(&'a R) -> Option<&'a str>,
    number: impl Fn(&'a R) -> u32,
    chunk: &Ranked<'a>,
) -> ArrayRef {
    let ranks = chunk.sorted.len();
    if ranks > places.len().saturating_mul(4) {
        return keyed(rows, places, value, number);
    }
    let mut used = vec![false; ranks];
    let mut others = Numbering::default();
    let mut keys = Values::placed(places.len());
    for (r, &at) in rows.iter().zip(&places.at) {
        match value(r) {
            None => keys.put_null(at),
            Some(v) => keys.put(
                at,
                match chunk.rank(v, number(r)) {
                    Some(k) => {
                        if let Some(u) = used.get_mut(k as usize) {
                            *u = true;
                        }
                        k
                    }
                    None => ranks as u32 + others.id(v),
                },
            ),
        }
    }
    // Per key (a rank, then `ranks` + the number of one of the others),
    // its place in the file's dictionary.
    let mut others: Vec<(&str, u32)> = others.seen.iter().copied().zip(0..).collect();
    others.sort_unstable();
    let mut place = vec![0u32; ranks + others.len()];
    let mut values: Vec<&str> = Vec::with_capacity(ranks + others.len());
    let mut add = |v: &'a str| {
        if values.last() != Some(&v) {
            values.push(v);
        }
        values.len() as u32 - 1
    };
    let mut rest = others.iter().peekable();
    for (k, &v) in chunk.sorted.iter().enumerate() {
        if !used[k] {
            continue;
        }
        while let Some(&&(o, i)) = rest.peek()
            && o < v
        {
            place[ranks + i as usize] = add(o);
            rest.next();
        }
        place[k] = add(v);
    }
    for &(o, i) in rest {
        place[ranks + i as usize] = add(o);
    }
    // A null row's key, never read, may be anything.
    for k in &mut keys.values {
        *k = place.get(*k as usize).copied().unwrap_or(0);
    }
    dictionary(keys, &values)
}

/// The numbers a file of `rows` remembers per column ([`Numbering::with_numbers`]):
/// enough for the state of a large site, and in proportion to the file, so
/// a small file's table stays small whatever the numbers.
fn numbers_kept(rows: usize) -> usize {
    rows.saturating_mul(16).max(1 << 16)
}

/// A column of a fieldless enum as a dictionary array, from each row's
/// variant (its place in the enum) and name. No string is compared, and a
/// variant's name is taken once, from its first row.
fn codes(n: usize, codes: impl Iterator<Item = (usize, &'static str)>) -> ArrayRef {
    let mut keys: Vec<u32> = Vec::with_capacity(n);
    // Per variant, 1 + its key, or 0 when not met yet.
    let mut slots: Vec<u32> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (variant, name) in codes {
        if slots.len() <= variant {
            slots.resize(variant + 1, 0);
        }
        if slots[variant] == 0 {
            names.push(name);
            slots[variant] = names.len() as u32;
        }
        keys.push(slots[variant] - 1);
    }
    let keys = Values {
        values: keys,
        valid: None,
    };
    dictionary(keys, &names)
}

fn dictionary(keys: Values<u32>, values: &[&str]) -> ArrayRef {
    let values: ArrayRef = Arc::new(StringArray::from_iter_values(values));
    // The keys index `values` by construction.
    Arc::new(DictionaryArray::new(keys.finish::<UInt32Type>(), values))
}

fn times(n: usize, it: impl Iterator<Item = Micros>) -> ArrayRef {
    let mut values = Vec::with_capacity(n);
    values.extend(it);
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

fn int8s(n: usize, it: impl Iterator<Item = Option<i8>>) -> ArrayRef {
    let mut values = Values::with_capacity(n);
    for v in it {
        match v {
            Some(v) => values.push(v),
            None => values.push_null(),
        }
    }
    Arc::new(values.finish::<Int8Type>())
}

/// The id columns of a chunk of decisions that carry the state's numbers,
/// each ranked once for all the chunk's files.
pub struct DecisionIds<'a> {
    zone: Ranked<'a>,
    door: Ranked<'a>,
    card: Ranked<'a>,
    employee: Ranked<'a>,
}

impl LakeRow for Decision {
    const TABLE: Table = Table::Decisions;
    type Shared<'a> = DecisionIds<'a>;

    fn survey<'a>(rows: &'a [Self], mut each: impl FnMut(usize, &'a Self)) -> DecisionIds<'a> {
        let [zone, door, card, employee] = Ranked::each(
            rows,
            |r, column| match column {
                0 => r.zone_id.as_deref(),
                1 => Some(r.door_id.as_str()),
                2 => Some(r.card_id.as_str()),
                _ => r.employee_id.as_deref(),
            },
            |r| {
                let n = &r.numbers;
                [n.zone, n.door, n.card, n.employee]
            },
            numbers_kept(rows.len()),
            |at, r| {
                if let Some(ahead) = rows.get(at + SURVEY_AHEAD) {
                    accesslake_model::prefetch(&ahead.occurred_at);
                    accesslake_model::prefetch(&ahead.numbers);
                }
                each(at, r)
            },
        );
        DecisionIds {
            zone,
            door,
            card,
            employee,
        }
    }

    fn partition_time(&self) -> Micros {
        self.occurred_at
    }

    fn sort_cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Unknown doors (null zone) sort last.
        (
            self.zone_id.is_none(),
            &self.zone_id,
            self.occurred_at,
            &self.event_id,
        )
            .cmp(&(o.zone_id.is_none(), &o.zone_id, o.occurred_at, &o.event_id))
    }

    /// The zones of a file are few: each row's zone is ranked among them
    /// ([`Numbering`] finds it, one sort of the names ranks it), and the
    /// rows are ordered as integers, each a key of (zone rank, time since
    /// the file's first instant, position) in as few bits as they need.
    /// Rows of one zone and instant, rare, are then put in `event_id`
    /// order, ties kept in the order given.
    fn sort_order(rows: &[&Self]) -> Vec<usize> {
        if u32::try_from(rows.len()).is_err() {
            return compared_order(rows);
        }
        let mut zones = Numbering::with_numbers(numbers_kept(rows.len()));
        let first_seen: Vec<u32> = rows
            .iter()
            .map(|r| {
                r.zone_id
                    .as_deref()
                    .map_or(u32::MAX, |z| zones.id_numbered(z, r.numbers.zone))
            })
            .collect();
        // Ranks in zone order; rows without a zone go last.
        let mut names: Vec<(&str, u32)> = zones.seen.iter().copied().zip(0..).collect();
        names.sort_unstable();
        let mut rank = vec![0u32; names.len()];
        for (r, (_, id)) in names.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }
        let none = names.len() as u32;
        let start = rows.iter().map(|r| r.occurred_at).min().unwrap_or(0);
        let last = rows.iter().map(|r| r.occurred_at).max().unwrap_or(0);
        let bits = |v: u64| 64 - v.leading_zeros();
        let index_bits = bits(rows.len().saturating_sub(1) as u64);
        let time_bits = bits(last.wrapping_sub(start) as u64);
        let mut keys: Vec<u128> = first_seen
            .iter()
            .zip(rows.iter())
            .enumerate()
            .map(|(i, (&id, r))| {
                let bucket = rank.get(id as usize).copied().unwrap_or(none);
                let since = r.occurred_at.wrapping_sub(start) as u64;
                u128::from(bucket) << (time_bits + index_bits)
                    | u128::from(since) << index_bits
                    | i as u128
            })
            .collect();
        // A day's file fits its keys in 64 bits, which sort faster. They
        // are first put in zone order by one counting pass, each zone's in
        // the order given; rows arrive nearly in time order, so each zone's
        // keys are then a few long ascending runs, which a stable sort
        // merges instead of sorting every key again.
        if bits(u64::from(none)) + time_bits + index_bits <= 64 {
            let shift = time_bits + index_bits;
            // Per zone, the count of its keys, then the place in `narrow`
            // of its next key.
            let mut free = vec![0usize; none as usize + 1];
            for &k in &keys {
                free[(k >> shift) as usize] += 1;
            }
            let mut next = 0;
            for f in &mut free {
                (*f, next) = (next, next + *f);
            }
            let mut narrow = vec![0u64; keys.len()];
            for &k in &keys {
                let at = &mut free[(k >> shift) as usize];
                narrow[*at] = k as u64;
                *at += 1;
            }
            narrow.sort();
            keys.clear();
            keys.extend(narrow.into_iter().map(u128::from));
        } else {
            keys.sort_unstable();
        }
        let position = |k: u128| (k & ((1u128 << index_bits) - 1)) as usize;
        let mut order: Vec<usize> = keys.iter().map(|&k| position(k)).collect();
        // Runs of one zone and instant: ordered by event id, stably.
        let mut at = 0;
        while at < keys.len() {
            let same = keys[at..]
                .iter()
                .take_while(|k| *k >> index_bits == keys[at] >> index_bits)
                .count();
            if same > 1 {
                order[at..at + same].sort_by(|&a, &b| rows[a].event_id.cmp(&rows[b].event_id));
            }
            at += same;
        }
        order
    }

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let order: Vec<usize> = (0..rows.len()).collect();
        decision_columns(rows, &order, None)
    }

    /// The dimension, code and date columns as dictionary arrays, which
    /// the file's sorted dictionaries take as they are.
    fn lake_columns<'a>(
        rows: &[&'a Self],
        order: &[usize],
        shared: &DecisionIds<'a>,
    ) -> Vec<ArrayRef> {
        decision_columns(rows, order, Some(shared))
    }
}

/// The decisions columns of `rows` in the order `order` gives, each built
/// by reading the rows in the order given ([`Places`]); with the chunk's
/// ids, the string columns written with a dictionary as dictionary arrays.
fn decision_columns<'a>(
    rows: &[&'a Decision],
    order: &[usize],
    chunk: Option<&DecisionIds<'a>>,
) -> Vec<ArrayRef> {
    let places = Places::new(order, rows.len());
    let n = places.len();
    let keyed_strings = chunk.is_some();
    // A macro, not a closure taking functions: each column's accessors are
    // then inlined into its own loop instead of called per row.
    macro_rules! text {
        ($value:expr, $number:expr, $ranked:ident) => {
            match chunk {
                Some(c) => ranked(rows, &places, $value, $number, &c.$ranked),
                None => placed_strings(rows, &places, $value),
            }
        };
    }
    // The values of a fixed size, put in place in one pass.
    let fixed = places.put(rows, |r| Fixed {
        occurred_at: r.occurred_at,
        processed_at: r.processed_at,
        direction: r.direction,
        outcome: r.outcome,
        reason: r.reason,
        presence_change: r.presence_change,
        local: r.local,
    });
    macro_rules! code {
        ($code:ident) => {
            if keyed_strings {
                codes(
                    n,
                    fixed.iter().map(|f| (f.$code as usize, f.$code.as_str())),
                )
            } else {
                Arc::new(StringArray::from_iter_values(
                    fixed.iter().map(|f| f.$code.as_str()),
                ))
            }
        };
    }
    vec![
        placed_strings(rows, &places, |r| Some(r.event_id.as_str())),
        times(n, fixed.iter().map(|f| f.occurred_at)),
        times(n, fixed.iter().map(|f| f.processed_at)),
        // A file's sites come in runs, which need no number.
        if keyed_strings {
            unnumbered(rows, &places, |r| r.site_id.as_deref())
        } else {
            placed_strings(rows, &places, |r| r.site_id.as_deref())
        },
        text!(|r| r.zone_id.as_deref(), |r| r.numbers.zone, zone),
        text!(|r| Some(r.door_id.as_str()), |r| r.numbers.door, door),
        text!(|r| Some(r.card_id.as_str()), |r| r.numbers.card, card),
        text!(
            |r| r.employee_id.as_deref(),
            |r| r.numbers.employee,
            employee
        ),
        code!(direction),
        code!(outcome),
        code!(reason),
        int8s(n, fixed.iter().map(|f| Some(f.presence_change))),
        local_dates(n, fixed.iter().map(|f| f.local), keyed_strings),
        int8s(n, fixed.iter().map(|f| f.local.map(|l| l.hour))),
        int8s(n, fixed.iter().map(|f| f.local.map(|l| l.weekday))),
    ]
}

/// A decision's values of a fixed size, as its columns take them.
#[derive(Clone, Copy)]
struct Fixed {
    occurred_at: Micros,
    processed_at: Micros,
    direction: Direction,
    outcome: Outcome,
    reason: Reason,
    presence_change: i8,
    local: Option<LocalTime>,
}

/// Where no row is put (never, for an order that lists every row).
impl Default for Fixed {
    fn default() -> Self {
        Fixed {
            occurred_at: 0,
            processed_at: 0,
            direction: Direction::In,
            outcome: Outcome::Granted,
            reason: Reason::Ok,
            presence_change: 0,
            local: None,
        }
    }
}

/// The `local_date` column of rows with these local times. A file's rows
/// fall on one or two local dates, in runs: each run's date is formatted
/// once.
fn local_dates(n: usize, local: impl Iterator<Item = Option<LocalTime>>, keyed: bool) -> ArrayRef {
    let mut keys = Values::with_capacity(n);
    let mut days: Vec<(NaiveDate, String)> = Vec::new();
    for l in local {
        let Some(l) = l else {
            keys.push_null();
            continue;
        };
        if days.last().is_none_or(|(d, _)| *d != l.date) {
            days.push((l.date, accesslake_model::format_date(l.date)));
        }
        keys.push((days.len() - 1) as u32);
    }
    let days: Vec<&str> = days.iter().map(|(_, text)| text.as_str()).collect();
    let column = dictionary(keys, &days);
    if keyed {
        return column;
    }
    // A dictionary of valid keys unpacks to strings without fail.
    unpacked(&column).unwrap_or(column)
}

/// A dictionary array as the array of its values, one per key (null where
/// the key is), by a take of its values; `None` for any other array. What
/// arrow's cast does for a dictionary, without linking every one of the
/// cast's kernels into each binary that writes a file (4.6 MB of code in
/// the entry Lambda).
pub(crate) fn unpacked(column: &ArrayRef) -> Option<ArrayRef> {
    let d = column.as_any_dictionary_opt()?;
    arrow_select::take::take(d.values().as_ref(), d.keys(), None).ok()
}

impl LakeRow for AdminRecord {
    const TABLE: Table = Table::AdminEvents;
    type Shared<'a> = ();
    fn survey<'a>(rows: &'a [Self], mut each: impl FnMut(usize, &'a Self)) {
        for (at, r) in rows.iter().enumerate() {
            each(at, r);
        }
    }

    fn partition_time(&self) -> Micros {
        self.occurred_at
    }

    fn sort_cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.occurred_at, &self.event_id).cmp(&(o.occurred_at, &o.event_id))
    }

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let n = rows.len();
        let mut applied = BooleanBuilder::with_capacity(n);
        for r in rows {
            applied.append_value(r.applied);
        }
        vec![
            strings(rows, |r| Some(r.event_id.as_str())),
            times(n, rows.iter().map(|r| r.occurred_at)),
            times(n, rows.iter().map(|r| r.received_at)),
            strings(rows, |r| Some(r.actor.as_str())),
            strings(rows, |r| Some(r.admin_type.as_str())),
            strings(rows, |r| Some(r.entity_id.as_str())),
            strings(rows, |r| Some(r.payload.as_str())),
            Arc::new(applied.finish()),
            strings(rows, |r| r.error),
        ]
    }
}

impl LakeRow for Rejected {
    const TABLE: Table = Table::Rejected;
    type Shared<'a> = ();
    fn survey<'a>(rows: &'a [Self], mut each: impl FnMut(usize, &'a Self)) {
        for (at, r) in rows.iter().enumerate() {
            each(at, r);
        }
    }

    fn partition_time(&self) -> Micros {
        self.received_at
    }

    fn sort_cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.received_at, &self.source_ref).cmp(&(o.received_at, &o.source_ref))
    }

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let n = rows.len();
        vec![
            times(n, rows.iter().map(|r| r.received_at)),
            strings(rows, |r| Some(r.source.as_str())),
            strings(rows, |r| Some(r.source_ref.as_str())),
            strings(rows, |r| Some(r.error.as_str())),
            strings(rows, |r| Some(r.raw.as_str())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accesslake_model::{Direction, IdNumbers, Reason};
    use arrow_array::Array;
    use proptest::prelude::*;

    #[test]
    fn a_dictionary_unpacks_as_arrow_casts_it() {
        let keys = arrow_array::UInt32Array::from(vec![Some(2), None, Some(0), Some(2), Some(1)]);
        let values: ArrayRef = Arc::new(StringArray::from(vec!["b", "", "été"]));
        let column: ArrayRef = Arc::new(DictionaryArray::new(keys, values));
        let cast = arrow_cast::cast(&column, &arrow_schema::DataType::Utf8).unwrap();
        assert_eq!(unpacked(&column).unwrap().as_ref(), cast.as_ref());
        assert!(unpacked(&cast).is_none(), "strings are not a dictionary");
    }

    fn decision(zone: Option<&str>, occurred_at: Micros, event_id: &str, n: usize) -> Decision {
        Decision {
            event_id: event_id.into(),
            occurred_at,
            processed_at: 0,
            site_id: None,
            zone_id: zone.map(Into::into),
            door_id: "d".into(),
            card_id: n.to_string().into(),
            employee_id: None,
            direction: Direction::In,
            outcome: Reason::Ok.outcome(),
            reason: Reason::Ok,
            presence_change: 0,
            local: None,
            numbers: accesslake_model::IdNumbers::UNKNOWN,
        }
    }

    /// Numbers as the state might give them, and as it never would: one
    /// number for several strings, several for one string, none, and
    /// numbers past what a file remembers.
    fn numbers() -> impl Strategy<Value = u32> {
        prop_oneof![
            0u32..8,
            Just(IdNumbers::NONE),
            Just(u32::MAX - 1),
            Just(1 << 20)
        ]
    }

    /// Ids of every length the numbering treats apart (under 8 bytes, 8 to
    /// 16, 17 to 24, longer), some equal in length and differing in one
    /// byte only, at the start, in the middle or at the end.
    fn ids() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "a",
            "b",
            "card-0001",
            "card-0002",
            "xard-0001",
            "abcdefghijkl",
            "abcdeXghijkl",
            "0123456789abcdef",
            "01234567x9abcdef",
            "door-north-0001-east",
            "a-rather-long-person-id-0001",
            "a-rather-long-person-id-0002",
            "caf\u{e9}-01",
        ])
    }

    proptest! {
        /// The ranked sort of decisions is the order `sort_cmp` defines,
        /// equal rows kept in the order given, whatever the zones' numbers.
        #[test]
        fn ranked_sort_is_the_row_order(rows in proptest::collection::vec(
            (
                proptest::option::of(proptest::sample::select(vec!["a", "b", "ab", "B", "b\u{e9}", ""])),
                prop_oneof![0i64..4, Just(i64::MIN), Just(i64::MAX), Just(-1)],
                proptest::sample::select(vec!["x", "y", "xy"]),
                numbers(),
            ),
            0..60,
        )) {
            let rows: Vec<Decision> = rows
                .iter()
                .enumerate()
                .map(|(n, (zone, t, id, number))| Decision {
                    numbers: IdNumbers { zone: *number, ..IdNumbers::UNKNOWN },
                    ..decision(*zone, *t, id, n)
                })
                .collect();
            let mut want: Vec<&Decision> = rows.iter().collect();
            want.sort_by(|a, b| a.sort_cmp(b));
            let given: Vec<&Decision> = rows.iter().collect();
            let got = in_order(&given, &Decision::sort_order(&given));
            let cards = |v: &[&Decision]| v.iter().map(|d| d.card_id.clone()).collect::<Vec<_>>();
            prop_assert_eq!(cards(&got), cards(&want));
        }

        /// The columns a file is written from hold each row's ids as the
        /// plain columns do, whatever numbers the rows carry and whichever
        /// of its chunk's rows the file holds.
        #[test]
        fn keyed_columns_are_the_rows_ids_whatever_the_numbers(rows in proptest::collection::vec(
            (
                (proptest::option::of(ids()), ids(), ids(), proptest::option::of(ids())),
                (numbers(), numbers(), numbers(), numbers()),
            ),
            0..80,
        ), take in 1usize..4, turn in 0usize..80, backwards: bool) {
            let rows: Vec<Decision> = rows
                .iter()
                .enumerate()
                .map(|(n, ((zone, door, card, employee), (z, d, c, e)))| Decision {
                    site_id: zone.map(|z| z[..1].into()),
                    door_id: (*door).into(),
                    card_id: (*card).into(),
                    employee_id: employee.map(Into::into),
                    numbers: IdNumbers { zone: *z, door: *d, card: *c, employee: *e },
                    // Event ids kept inline and on the heap.
                    ..decision(*zone, n as i64, &format!("ev-{n}-{}", "\u{e9}".repeat(n % 25)), n)
                })
                .collect();
            let shared = Decision::survey(&rows, |_, _| {});
            // The file: every row, or the rows the chunk's numbers have
            // to be found among for some.
            let file: Vec<&Decision> = rows.iter().filter(|r| r.card_id.len() % 3 < take).collect();
            // Written in an order of its own: the file's rows are read in
            // the order given, and each value put at its row's place.
            let mut order: Vec<usize> = (0..file.len()).collect();
            order.rotate_left(turn % file.len().max(1));
            if backwards {
                order.reverse();
            }
            let sorted = in_order(&file, &order);
            let plain = Decision::to_columns(&sorted);
            let columns = Decision::lake_columns(&file, &order, &shared);
            let column = |i: usize| unpacked(&columns[i]).unwrap_or_else(|| columns[i].clone());
            let (events, times) = (column(0), column(1));
            let (sites, cards) = (column(3), column(6));
            let text = |c: &ArrayRef, k: usize| {
                let c = c.as_string::<i32>();
                c.is_valid(k).then(|| c.value(k).to_string())
            };
            for (k, r) in sorted.iter().enumerate() {
                prop_assert_eq!(text(&events, k), Some(r.event_id.to_string()));
                prop_assert_eq!(times.as_primitive::<arrow_array::types::TimestampMicrosecondType>().value(k), r.occurred_at);
                prop_assert_eq!(text(&sites, k), r.site_id.as_ref().map(|s| s.to_string()));
                prop_assert_eq!(text(&cards, k), Some(r.card_id.to_string()));
            }
            for (i, (keyed, plain)) in columns.iter().zip(&plain).enumerate() {
                let chunk = match i {
                    4 => Some(&shared.zone),
                    5 => Some(&shared.door),
                    6 => Some(&shared.card),
                    7 => Some(&shared.employee),
                    _ => None,
                };
                // A ranked column's dictionary is distinct, in order and
                // all used, as a file's dictionary is written (unless the
                // file is too small to be ranked).
                if let Some(d) = keyed.as_any_dictionary_opt()
                    && chunk.is_some_and(|c| c.sorted.len() <= 4 * file.len())
                {
                    let values = d.values().as_string::<i32>();
                    let values: Vec<&str> = values.iter().flatten().collect();
                    prop_assert!(values.windows(2).all(|w| w[0] < w[1]), "column {}: {:?}", i, values);
                    let mut used = vec![false; values.len()];
                    for (row, k) in d.keys().as_primitive::<UInt32Type>().iter().enumerate() {
                        if let Some(k) = k {
                            used[k as usize] = true;
                        } else {
                            prop_assert!(d.keys().is_null(row));
                        }
                    }
                    prop_assert!(used.iter().all(|&u| u), "column {}: unused entries", i);
                }
                let keyed = unpacked(keyed).unwrap_or_else(|| keyed.clone());
                prop_assert_eq!(keyed.as_ref(), plain.as_ref(), "column {}", i);
            }
        }
    }
}
