//! `row_number()` over many small partitions, numbered as the sorted input
//! streams by.
//!
//! The catalog folds a decision's copies with `row_number() OVER (PARTITION
//! BY event_id ORDER BY processed_at)`, so every window partition holds one
//! row or two. DataFusion plans such a window as a `BoundedWindowAggExec`,
//! whose bookkeeping per window partition made it several microseconds a
//! row. [`StreamingRowNumber`] swaps it for [`RowNumberExec`] when every
//! function of the window is `row_number` over the same partition keys and
//! the input arrives sorted by them: each batch is cut where the keys
//! change and numbered in one pass, carrying the last partition's key and
//! count into the next batch. It holds one batch, so a window over any
//! number of rows runs in the memory of its sort, which can spill.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::compute::partition;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::windows::{BoundedWindowAggExec, StandardWindowExpr, WindowUDFExpr};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode, PhysicalExpr, PlanProperties,
};

#[derive(Debug, Default)]
pub struct StreamingRowNumber;

fn is_row_number(expr: &dyn datafusion::physical_plan::WindowExpr) -> bool {
    expr.as_any()
        .downcast_ref::<StandardWindowExpr>()
        .and_then(|e| {
            e.get_standard_func_expr()
                .as_any()
                .downcast_ref::<WindowUDFExpr>()
        })
        .is_some_and(|f| f.fun().name() == "row_number")
}

/// The partition keys shared by every function of `window`, when they are all
/// `row_number` and the input is sorted on those keys.
fn row_number_keys(window: &BoundedWindowAggExec) -> Option<Vec<Arc<dyn PhysicalExpr>>> {
    if window.input_order_mode != InputOrderMode::Sorted {
        return None;
    }
    let exprs = window.window_expr();
    let keys = exprs.first()?.partition_by().to_vec();
    let same_keys = |e: &Arc<dyn datafusion::physical_plan::WindowExpr>| {
        e.partition_by().len() == keys.len()
            && e.partition_by().iter().zip(&keys).all(|(a, b)| a.eq(b))
    };
    exprs
        .iter()
        .all(|e| is_row_number(e.as_ref()) && same_keys(e))
        .then_some(keys)
}

impl PhysicalOptimizerRule for StreamingRowNumber {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(keys) = row_number_keys(window) else {
                return Ok(Transformed::no(node));
            };
            let exec = RowNumberExec {
                keys,
                functions: window.window_expr().len(),
                window: Arc::clone(&node),
            };
            Ok(Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "streaming_row_number"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The window it replaces, computed as the input streams by: the input's
/// columns followed by one row number per window function.
#[derive(Debug)]
pub struct RowNumberExec {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    functions: usize,
    /// The replaced window: this node keeps its input, its properties
    /// (schema, ordering, partitioning) and its input requirements.
    window: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for RowNumberExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let keys: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        write!(f, "RowNumberExec: partition_by=[{}]", keys.join(", "))
    }
}

impl ExecutionPlan for RowNumberExec {
    fn name(&self) -> &str {
        "RowNumberExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.window.properties()
    }

    fn input_distribution_requirements(
        &self,
    ) -> datafusion::physical_plan::InputDistributionRequirements {
        self.window.input_distribution_requirements()
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.window.apply_expressions(f)
    }

    fn required_input_ordering(
        &self,
    ) -> Vec<Option<datafusion::physical_expr::OrderingRequirements>> {
        self.window.required_input_ordering()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.window.children()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let window = Arc::clone(&self.window).replace_children(children, options)?;
        StreamingRowNumber.optimize(window, &ConfigOptions::default())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(input) = self.window.children().first().copied() else {
            return internal_err!("RowNumberExec without an input");
        };
        let input = input.execute(partition, context)?;
        let mut numbering = Numbering {
            keys: self.keys.clone(),
            functions: self.functions,
            schema: self.schema(),
            last: None,
        };
        Ok(crate::compact_views::map_batches(
            input,
            self.schema(),
            move |batch| numbering.number(batch),
        ))
    }
}

/// Row numbers of one input partition, batch after batch.
struct Numbering {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    functions: usize,
    schema: datafusion::arrow::datatypes::SchemaRef,
    /// The last window partition seen: its key and the rows numbered so far.
    last: Option<(Vec<ScalarValue>, u64)>,
}

impl Numbering {
    fn number(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        let keys = self
            .keys
            .iter()
            .map(|k| k.evaluate(&batch)?.into_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let key_at = |i: usize| -> Result<Vec<ScalarValue>> {
            keys.iter()
                .map(|k| ScalarValue::try_from_array(k, i))
                .collect()
        };
        // Where the previous batch's last partition goes on, numbering does too.
        let mut count = match self.last.take() {
            Some((key, n)) if key == key_at(0)? => n,
            _ => 0,
        };
        let mut numbers = Vec::with_capacity(rows);
        // No PARTITION BY: the whole input is one partition.
        let ranges: Vec<std::ops::Range<usize>> = if keys.is_empty() {
            std::iter::once(0..rows).collect()
        } else {
            partition(&keys)?.ranges()
        };
        for (i, range) in ranges.into_iter().enumerate() {
            if i > 0 {
                count = 0;
            }
            numbers.extend((count + 1)..=(count + range.len() as u64));
            count += range.len() as u64;
        }
        self.last = Some((key_at(rows - 1)?, count));
        let numbers: ArrayRef = Arc::new(UInt64Array::from(numbers));
        let mut columns = batch.columns().to_vec();
        columns.extend(std::iter::repeat_n(numbers, self.functions));
        if columns.len() != self.schema.fields().len() {
            return internal_err!(
                "RowNumberExec: {} columns for {:?}",
                columns.len(),
                self.schema
            );
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// The plan and the answer of `sql` over events with copies, with the
    /// rule or without it, in batches of 7 rows so that window partitions
    /// straddle batches.
    async fn run(sql: &str, with_rule: bool) -> (String, String) {
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(7);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        if with_rule {
            state = state.with_physical_optimizer_rule(Arc::new(StreamingRowNumber));
        }
        let ctx = SessionContext::new_with_state(state.build());
        let schema = Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new("processed_at", DataType::Int64, true),
            Field::new("door", DataType::Utf8, false),
        ]));
        // Events 0..300, every third one twice (the later copy elsewhere),
        // every tenth a third time.
        let rows: Vec<(String, Option<i64>, String)> = (0..300)
            .flat_map(|i| {
                let first = (
                    format!("ev-{i:03}"),
                    Some(1000 + i),
                    format!("door-{}", i % 4),
                );
                let copy = (
                    format!("ev-{i:03}"),
                    (i % 2 == 0).then_some(5000 + i),
                    "copy".into(),
                );
                let third = (format!("ev-{i:03}"), Some(9000 + i), "third".into());
                match (i % 3 == 0, i % 10 == 0) {
                    (true, true) => vec![third, copy, first],
                    (true, false) => vec![copy, first],
                    (false, true) => vec![first, third],
                    (false, false) => vec![first],
                }
            })
            .collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.0.as_str()),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.2.as_str()),
                )),
            ],
        )
        .unwrap();
        ctx.register_batch("decisions", batch).unwrap();
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let plan = displayable(plan.as_ref()).indent(true).to_string();
        let answer = pretty_format_batches(&df.collect().await.unwrap())
            .unwrap()
            .to_string();
        (plan, answer)
    }

    #[tokio::test]
    async fn the_first_copy_is_chosen_as_without_the_rule() {
        let sql = "SELECT event_id, processed_at, door FROM ( \
                     SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy \
                     FROM decisions) d \
                   WHERE copy = 1 ORDER BY event_id";
        let (plan, answer) = run(sql, true).await;
        assert!(plan.contains("RowNumberExec"), "{plan}");
        assert!(!plan.contains("WindowAggExec"), "{plan}");
        assert_eq!(answer, run(sql, false).await.1);
        // 300 events once each; no copy kept (a copy with no processed_at sorts last).
        assert_eq!(answer.lines().filter(|l| l.contains("| ev-")).count(), 300);
        assert!(
            !answer.contains("copy") && !answer.contains("third"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn every_row_is_numbered_as_without_the_rule() {
        let sql = "SELECT event_id, door, \
                     row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS n, \
                     row_number() OVER (PARTITION BY event_id ORDER BY processed_at DESC) AS m \
                   FROM decisions ORDER BY event_id, n";
        let (plan, answer) = run(sql, true).await;
        assert!(plan.contains("RowNumberExec"), "{plan}");
        assert_eq!(answer, run(sql, false).await.1);
        // Events with three copies are numbered 1, 2, 3 across batches.
        assert!(answer.contains("| ev-000   | third  | 3 | 1 |"), "{answer}");

        // Without PARTITION BY every row is one partition's, numbered on.
        let sql = "SELECT event_id, door, \
                     row_number() OVER (ORDER BY event_id, door) AS n \
                   FROM decisions ORDER BY n";
        let (plan, answer) = run(sql, true).await;
        assert!(plan.contains("RowNumberExec: partition_by=[]"), "{plan}");
        assert_eq!(answer, run(sql, false).await.1);
        assert!(answer.contains("| ev-299   | door-3 | 430 |"), "{answer}");
    }

    #[tokio::test]
    async fn other_window_functions_keep_their_streaming_form() {
        let sql = "SELECT event_id, sum(processed_at) OVER (PARTITION BY door ORDER BY event_id \
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running, \
                   row_number() OVER (PARTITION BY door ORDER BY event_id) AS n \
                   FROM decisions ORDER BY event_id, running";
        let (plan, answer) = run(sql, true).await;
        assert!(plan.contains("BoundedWindowAggExec"), "{plan}");
        assert_eq!(answer, run(sql, false).await.1);
    }
}
