//! String views compacted before they are sorted.
//!
//! Strings are scanned as `Utf8View`: each value points into the Parquet page
//! it was decoded from. After a filter or a hash repartition, a batch of a few
//! thousand rows can point into hundreds of pages, and it holds (and the
//! memory pool charges for) every byte of them. A sort that buffers such
//! batches reaches its memory limit with a fraction of that in rows, and one
//! batch alone can be charged more than the sort may hold, which fails the
//! query instead of spilling it. [`CompactViewsBeforeSort`] puts a
//! [`CompactViewsExec`] under every sort: a view column that uses less than
//! half of the bytes it holds is copied into buffers of its own, so the sort
//! holds and is charged for its rows' strings only.

use std::pin::Pin;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties,
};
use futures::{Stream, StreamExt};

#[derive(Debug, Default)]
pub struct CompactViewsBeforeSort;

impl PhysicalOptimizerRule for CompactViewsBeforeSort {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(sort) = node.downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(node));
            };
            let input = sort.input();
            let has_views = input
                .schema()
                .fields()
                .iter()
                .any(|f| f.data_type() == &DataType::Utf8View);
            if !has_views || input.downcast_ref::<CompactViewsExec>().is_some() {
                return Ok(Transformed::no(node));
            }
            let compact = Arc::new(CompactViewsExec {
                input: Arc::clone(input),
            }) as Arc<dyn ExecutionPlan>;
            let node = Arc::clone(&node).replace_children(
                vec![compact],
                ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep),
            )?;
            Ok(Transformed::yes(node))
        })
        .data()
    }

    fn name(&self) -> &str {
        "compact_views_before_sort"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Its input's batches, with sparse `Utf8View` columns compacted.
#[derive(Debug)]
pub struct CompactViewsExec {
    input: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for CompactViewsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "CompactViewsExec")
    }
}

impl ExecutionPlan for CompactViewsExec {
    fn name(&self) -> &str {
        "CompactViewsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(CompactViewsExec { input })),
            _ => datafusion::common::internal_err!("CompactViewsExec has one input"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        Ok(map_batches(input, self.schema(), compact))
    }
}

/// `input` with `f` applied to each batch, as a stream of `schema`.
pub(crate) fn map_batches(
    input: SendableRecordBatchStream,
    schema: datafusion::arrow::datatypes::SchemaRef,
    mut f: impl FnMut(RecordBatch) -> Result<RecordBatch> + Send + 'static,
) -> SendableRecordBatchStream {
    let stream = input.map(move |batch| f(batch?));
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>,
    ))
}

/// `batch` with every view column that uses less than half of the bytes its
/// buffers hold (their capacity: a buffer grown for more strings than came
/// is charged whole) copied into buffers of its own.
fn compact(batch: RecordBatch) -> Result<RecordBatch> {
    let sparse = |c: &ArrayRef| {
        c.data_type() == &DataType::Utf8View && {
            let views = c.as_string_view();
            let held: usize = views.data_buffers().iter().map(|b| b.capacity()).sum();
            views.total_buffer_bytes_used() * 2 < held
        }
    };
    if !batch.columns().iter().any(sparse) {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .map(|c| {
            if sparse(c) {
                Arc::new(c.as_string_view().gc()) as ArrayRef
            } else {
                Arc::clone(c)
            }
        })
        .collect();
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringViewArray;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    fn batch(values: StringViewArray) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(values)]).unwrap()
    }

    fn held(b: &RecordBatch) -> usize {
        let v = b.column(0).as_string_view();
        v.data_buffers().iter().map(|b| b.capacity()).sum()
    }

    #[test]
    fn sparse_columns_are_copied_and_dense_ones_kept() {
        let long: StringViewArray = (0..1000)
            .map(|i| Some(format!("a value longer than twelve bytes {i:04}")))
            .collect();
        let full = batch(long.clone());
        let kept = compact(full.clone()).unwrap();
        assert_eq!(held(&kept), held(&full));
        assert!(kept.column(0).to_data().ptr_eq(&full.column(0).to_data()));

        let few = full.slice(10, 5);
        assert_eq!(held(&few), held(&full));
        let compacted = compact(few.clone()).unwrap();
        assert!(held(&compacted) < held(&full) / 100, "{}", held(&compacted));
        assert_eq!(compacted, few);
    }

    #[tokio::test]
    async fn every_sort_over_views_reads_through_one() {
        let run = |with_rule: bool| async move {
            let mut state = SessionStateBuilder::new()
                .with_config(SessionConfig::new().with_target_partitions(2))
                .with_default_features();
            if with_rule {
                state = state.with_physical_optimizer_rule(Arc::new(CompactViewsBeforeSort));
            }
            let ctx = SessionContext::new_with_state(state.build());
            let values: StringViewArray = (0..100)
                .map(|i| Some(format!("value number {:03} of many", (i * 37) % 100)))
                .collect();
            ctx.register_batch("t", batch(values)).unwrap();
            let df = ctx
                .sql("SELECT s FROM t WHERE s > 'value number 050' ORDER BY s DESC")
                .await
                .unwrap();
            let plan = df.clone().create_physical_plan().await.unwrap();
            let plan = displayable(plan.as_ref()).indent(true).to_string();
            let answer = pretty_format_batches(&df.collect().await.unwrap())
                .unwrap()
                .to_string();
            (plan, answer)
        };
        let (plan, answer) = run(true).await;
        let sort = plan.lines().position(|l| l.contains("SortExec")).unwrap();
        assert!(
            plan.lines()
                .nth(sort + 1)
                .unwrap()
                .contains("CompactViewsExec"),
            "{plan}"
        );
        assert_eq!(
            plan.matches("CompactViewsExec").count(),
            plan.matches("SortExec").count()
        );
        assert_eq!(answer, run(false).await.1);
        assert_eq!(
            answer
                .lines()
                .filter(|l| l.contains("value number"))
                .count(),
            50
        );
    }
}
