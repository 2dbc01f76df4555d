//! `min` and `max` over strings scanned as Utf8View, grouped, without an
//! allocation per group.
//!
//! DataFusion's grouped min/max of strings keeps one owned `Vec<u8>` per
//! group. Deduplicating decisions by event id (`GROUP BY event_id` with
//! `min(zone_id)`, … as the muster query does) makes one group
//! per decision, so that is millions of small allocations. Here each group
//! holds the 16-byte view of its current value: strings of up to 12 bytes
//! (ids, reasons) live inside the view itself; longer ones are copied into
//! shared blocks. Every other type, and the ungrouped and window forms,
//! are DataFusion's own: [`min_max_udafs`] wraps its functions and changes
//! only the grouped accumulator for Utf8View.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, StringViewArray, StringViewBuilder, make_view,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::compute::{not, nullif, prep_null_mask_filter};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
use datafusion::logical_expr::expr::{
    AggregateFunction, AggregateFunctionParams, WindowFunctionParams,
};
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, Expr, GroupsAccumulator,
    Operator, ReversedUDAF, SetMonotonicity, Signature, StatisticsArgs,
};

/// `min` and `max` as DataFusion has them, but with [`ViewMinMax`] as the
/// grouped accumulator of Utf8View values. Registered under the same names,
/// they replace the built-in functions in a session.
pub fn min_max_udafs() -> [AggregateUDF; 2] {
    [
        AggregateUDF::new_from_impl(ViewMinMaxUdaf {
            inner: min_udaf(),
            is_min: true,
        }),
        AggregateUDF::new_from_impl(ViewMinMaxUdaf {
            inner: max_udaf(),
            is_min: false,
        }),
    ]
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ViewMinMaxUdaf {
    inner: Arc<AggregateUDF>,
    is_min: bool,
}

impl ViewMinMaxUdaf {
    fn built_in(&self) -> &dyn AggregateUDFImpl {
        self.inner.inner().as_ref()
    }
}

impl AggregateUDFImpl for ViewMinMaxUdaf {
    fn name(&self) -> &str {
        self.built_in().name()
    }
    fn aliases(&self) -> &[String] {
        self.built_in().aliases()
    }
    fn schema_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.built_in().schema_name(params)
    }
    fn human_display(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.built_in().human_display(params)
    }
    fn window_function_schema_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.built_in().window_function_schema_name(params)
    }
    fn display_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.built_in().display_name(params)
    }
    fn window_function_display_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.built_in().window_function_display_name(params)
    }
    fn signature(&self) -> &Signature {
        self.built_in().signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.built_in().return_type(arg_types)
    }
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.built_in().return_field(arg_fields)
    }
    fn is_nullable(&self) -> bool {
        self.built_in().is_nullable()
    }
    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.built_in().accumulator(acc_args)
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.built_in().state_fields(args)
    }
    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.built_in().groups_accumulator_supported(args)
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if args.return_field.data_type() == &DataType::Utf8View {
            Ok(Box::new(ViewMinMax::new(self.is_min)))
        } else {
            self.built_in().create_groups_accumulator(args)
        }
    }
    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.built_in().create_sliding_accumulator(args)
    }
    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Arc::clone(self.inner.inner()).with_beneficial_ordering(beneficial_ordering)
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.built_in().order_sensitivity()
    }
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.built_in().simplify()
    }
    fn simplify_expr_op_literal(
        &self,
        agg_function: &AggregateFunction,
        arg: &Expr,
        op: Operator,
        lit: &Expr,
        arg_is_left: bool,
    ) -> Result<Option<Expr>> {
        self.built_in()
            .simplify_expr_op_literal(agg_function, arg, op, lit, arg_is_left)
    }
    fn reverse_expr(&self) -> ReversedUDAF {
        self.built_in().reverse_expr()
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.built_in().coerce_types(arg_types)
    }
    fn is_descending(&self) -> Option<bool> {
        self.built_in().is_descending()
    }
    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.built_in().value_from_stats(statistics_args)
    }
    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.built_in().default_value(data_type)
    }
    fn supports_null_handling_clause(&self) -> bool {
        self.built_in().supports_null_handling_clause()
    }
    fn supports_within_group_clause(&self) -> bool {
        self.built_in().supports_within_group_clause()
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.built_in().documentation()
    }
    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.built_in().set_monotonicity(data_type)
    }
}

/// Longest string a view holds inline.
const INLINE: usize = 12;
/// Size of the blocks that hold the longer values.
const BLOCK: usize = 2 * 1024 * 1024;

/// Grouped min or max of Utf8View values: per group the view of its current
/// value (`seen` false: no value yet, so null). Values longer than
/// [`INLINE`] are copied into `blocks`; a value replaced by a better one
/// leaves its bytes behind (`garbage`), reclaimed once they outweigh the
/// live ones.
#[derive(Debug)]
pub struct ViewMinMax {
    is_min: bool,
    views: Vec<u128>,
    seen: Vec<bool>,
    blocks: Vec<Vec<u8>>,
    live: usize,
    garbage: usize,
    /// Garbage below this is left alone ([`BLOCK`]; tests lower it).
    min_garbage: usize,
}

impl ViewMinMax {
    pub fn new(is_min: bool) -> Self {
        ViewMinMax {
            is_min,
            views: Vec::new(),
            seen: Vec::new(),
            blocks: Vec::new(),
            live: 0,
            garbage: 0,
            min_garbage: BLOCK,
        }
    }

    /// `f` of the bytes of group `g`'s current value.
    fn with_value<R>(&self, g: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        with_view_bytes(self.views[g], &self.blocks, f)
    }

    /// Makes `bytes` (whose view in its own array is `view`) group `g`'s value.
    fn set(&mut self, g: usize, view: u128, bytes: &[u8]) {
        if self.seen[g] {
            let old = self.views[g] as u32 as usize;
            if old > INLINE {
                self.live -= old;
                self.garbage += old;
            }
        }
        self.seen[g] = true;
        self.views[g] = if bytes.len() <= INLINE {
            view
        } else {
            self.live += bytes.len();
            self.store(bytes)
        };
    }

    /// Copies a long value into the blocks and returns its view there.
    fn store(&mut self, bytes: &[u8]) -> u128 {
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= bytes.len());
        if !fits {
            self.blocks.push(Vec::with_capacity(BLOCK.max(bytes.len())));
        }
        let index = self.blocks.len() - 1;
        let block = &mut self.blocks[index];
        let offset = block.len();
        block.extend_from_slice(bytes);
        make_view(bytes, index as u32, offset as u32)
    }

    /// Copies the live long values into fresh blocks once the replaced ones
    /// outweigh them.
    fn reclaim(&mut self) {
        if self.garbage <= self.live.max(self.min_garbage) {
            return;
        }
        let old = std::mem::take(&mut self.blocks);
        for g in 0..self.views.len() {
            if self.seen[g] && self.views[g] as u32 as usize > INLINE {
                let bytes = with_view_bytes(self.views[g], &old, <[u8]>::to_vec);
                self.views[g] = self.store(&bytes);
            }
        }
        self.garbage = 0;
    }

    fn better(&self, new: &[u8], current: &[u8]) -> bool {
        if self.is_min {
            new < current
        } else {
            new > current
        }
    }
}

/// `f` of the bytes a view refers to: inside the view (little-endian, after
/// the 4-byte length) when short, else in `blocks`.
fn with_view_bytes<R>(view: u128, blocks: &[Vec<u8>], f: impl FnOnce(&[u8]) -> R) -> R {
    let len = view as u32 as usize;
    if len <= INLINE {
        f(&view.to_le_bytes()[4..4 + len])
    } else {
        let block = (view >> 64) as u32 as usize;
        let offset = (view >> 96) as u32 as usize;
        f(&blocks[block][offset..offset + len])
    }
}

impl GroupsAccumulator for ViewMinMax {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let array = values[0].as_string_view();
        self.views.resize(total_num_groups, 0);
        self.seen.resize(total_num_groups, false);
        let views = array.views();
        for (row, &g) in group_indices.iter().enumerate() {
            if array.is_null(row) || opt_filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) {
                continue;
            }
            let new = array.value(row).as_bytes();
            if !self.seen[g] || self.with_value(g, |current| self.better(new, current)) {
                self.set(g, views[row], new);
            }
        }
        self.reclaim();
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let n = match emit_to {
            EmitTo::All => self.views.len(),
            EmitTo::First(n) => n,
        };
        let nulls = NullBuffer::from(self.seen[..n].to_vec());
        let array = if n == self.views.len() {
            // Everything: the views and blocks become the array as they are.
            let views = std::mem::take(&mut self.views);
            let views: Vec<u128> = views
                .into_iter()
                .zip(&self.seen)
                .map(|(v, &seen)| if seen { v } else { 0 })
                .collect();
            let blocks: Vec<Buffer> = std::mem::take(&mut self.blocks)
                .into_iter()
                .map(Buffer::from_vec)
                .collect();
            self.seen.clear();
            (self.live, self.garbage) = (0, 0);
            StringViewArray::try_new(ScalarBuffer::from(views), blocks, Some(nulls))?
        } else {
            let mut out = StringViewBuilder::with_capacity(n);
            for g in 0..n {
                if self.seen[g] {
                    let value = self.with_value(g, |b| std::str::from_utf8(b).map(str::to_owned));
                    out.append_value(value.map_err(|e| DataFusionError::Internal(e.to_string()))?);
                    let len = self.views[g] as u32 as usize;
                    if len > INLINE {
                        self.live -= len;
                        self.garbage += len;
                    }
                } else {
                    out.append_null();
                }
            }
            self.views.drain(..n);
            self.seen.drain(..n);
            self.reclaim();
            out.finish()
        };
        Ok(Arc::new(array))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        // A min or max is its own state.
        Ok(vec![self.evaluate(emit_to)?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.update_batch(values, group_indices, None, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(filter) = opt_filter else {
            return Ok(vec![Arc::clone(&values[0])]);
        };
        // Rows the filter does not keep (false or null) become nulls.
        let dropped = not(&prep_null_mask_filter(filter))?;
        Ok(vec![nullif(&values[0], &dropped)?])
    }

    fn size(&self) -> usize {
        self.views.capacity() * 16
            + self.seen.capacity()
            + self.blocks.iter().map(Vec::capacity).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use datafusion::arrow::array::StringViewArray;
    use proptest::prelude::*;

    use super::*;

    /// Strings short enough to sit in a view and long ones that share
    /// prefixes (so comparisons go past the view's 4-byte prefix), and nulls.
    fn value() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            3 => "[a-c]{0,12}".prop_map(Some),
            3 => "(zone-|employee-0000)[a-c]{8,30}".prop_map(Some),
        ]
    }

    fn batches() -> impl Strategy<Value = Vec<Vec<(usize, Option<String>, bool)>>> {
        let row = (0..40usize, value(), proptest::bool::weighted(0.8));
        prop::collection::vec(prop::collection::vec(row, 0..200), 1..6)
    }

    /// Feeds `batches` (group, value, kept by the filter) to the accumulator
    /// and to a plain map; with `first` set, emits that many groups half way
    /// (after which the accumulator numbers its groups from the next one).
    fn check(is_min: bool, batches: &[Vec<(usize, Option<String>, bool)>], first: usize) {
        let mut acc = ViewMinMax::new(is_min);
        // Copy the live values to fresh blocks as soon as anything is replaced.
        acc.min_garbage = first % 2;
        let mut want: BTreeMap<usize, String> = BTreeMap::new();
        let mut got: Vec<Option<String>> = Vec::new();
        let (mut emitted, mut held) = (0, 0);
        for (i, batch) in batches.iter().enumerate() {
            if i == batches.len() / 2 && first > 0 {
                let n = first.min(held);
                let out = acc.evaluate(EmitTo::First(n)).unwrap();
                assert_eq!(out.len(), n);
                got.extend(out.as_string_view().iter().map(|v| v.map(str::to_owned)));
                (emitted, held) = (emitted + n, held - n);
            }
            held = held.max(batch.iter().map(|r| r.0 + 1).max().unwrap_or(0));
            let values = StringViewArray::from_iter(batch.iter().map(|r| r.1.clone()));
            let groups: Vec<usize> = batch.iter().map(|r| r.0).collect();
            let filter = BooleanArray::from_iter(batch.iter().map(|r| Some(r.2)));
            acc.update_batch(&[Arc::new(values)], &groups, Some(&filter), held)
                .unwrap();
            for (g, v, kept) in batch {
                if let (Some(v), true) = (v, kept) {
                    let e = want.entry(emitted + g).or_insert_with(|| v.clone());
                    if (is_min && v < e) || (!is_min && v > e) {
                        e.clone_from(v);
                    }
                }
            }
        }
        let out = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(out.len(), held);
        got.extend(out.as_string_view().iter().map(|v| v.map(str::to_owned)));
        let want: Vec<Option<String>> = (0..got.len()).map(|g| want.get(&g).cloned()).collect();
        assert_eq!(got, want);
    }

    proptest! {
        #[test]
        fn grouped_min_and_max_are_a_plain_fold(batches in batches(), first in 0..10usize) {
            check(true, &batches, first);
            check(false, &batches, first);
        }
    }

    #[test]
    fn rows_the_filter_drops_become_nulls_in_the_state() {
        let acc = ViewMinMax::new(true);
        let values: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("a"),
            Some("a string longer than a view"),
            None,
            Some("c"),
        ]));
        let filter = BooleanArray::from(vec![Some(true), Some(false), Some(true), None]);
        let state = acc.convert_to_state(&[values], Some(&filter)).unwrap();
        let state: Vec<Option<&str>> = state[0].as_string_view().iter().collect();
        assert_eq!(state, [Some("a"), None, None, None]);
    }

    /// The registered functions answer as DataFusion's own, grouped (this
    /// accumulator), ungrouped, over other types and as window functions.
    #[tokio::test]
    async fn sql_answers_as_with_the_built_in_functions() {
        use datafusion::arrow::array::{Int64Array, RecordBatch};
        use datafusion::arrow::datatypes::{Field, Schema};
        use datafusion::prelude::SessionContext;

        let ids = ["e-1", "e-2", "e-1", "e-3", "e-2", "e-1"];
        let zones = [
            Some("hq-lab"),
            Some("a zone whose id is long"),
            None,
            Some("a zone whose id is longer"),
            Some("hq"),
            Some("hq-lab-2"),
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8View, false),
            Field::new("zone", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringViewArray::from_iter_values(ids)),
                Arc::new(StringViewArray::from(zones.to_vec())),
                Arc::new(Int64Array::from_iter_values(0..6)),
            ],
        )
        .unwrap();
        let sql = "SELECT id, min(zone) AS lo, max(zone) AS hi, min(n) AS n, \
                          max(zone) FILTER (WHERE n > 0) AS hi_later, \
                          (SELECT min(zone) FROM t) AS lowest \
                   FROM t GROUP BY id ORDER BY id";
        let window = "SELECT id, max(zone) OVER (PARTITION BY id ORDER BY n) AS so_far \
                      FROM t ORDER BY id, n";
        let mut answers = Vec::new();
        for ours in [false, true] {
            let ctx = SessionContext::new();
            if ours {
                for udaf in min_max_udafs() {
                    ctx.register_udaf(udaf);
                }
            }
            ctx.register_batch("t", batch.clone()).unwrap();
            let mut answer = Vec::new();
            for q in [sql, window] {
                let batches = ctx.sql(q).await.unwrap().collect().await.unwrap();
                answer.push(
                    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                        .unwrap()
                        .to_string(),
                );
            }
            answers.push(answer);
        }
        assert_eq!(answers[0], answers[1]);
        // Rows of e-1 (a null among its zones), e-2, e-3 (one zone).
        let cells = |row: &str| -> Vec<String> {
            let line = answers[1][0]
                .lines()
                .find(|l| l.starts_with(&format!("| {row} ")))
                .unwrap();
            line.split('|')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        };
        assert_eq!(
            cells("e-1"),
            [
                "e-1",
                "hq-lab",
                "hq-lab-2",
                "0",
                "hq-lab-2",
                "a zone whose id is long"
            ]
        );
        assert_eq!(
            cells("e-2"),
            [
                "e-2",
                "a zone whose id is long",
                "hq",
                "1",
                "hq",
                "a zone whose id is long"
            ]
        );
        assert_eq!(
            cells("e-3")[1..3],
            ["a zone whose id is longer", "a zone whose id is longer"]
        );
    }
}
