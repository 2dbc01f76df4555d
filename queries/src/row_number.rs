//! `row_number()` over many small partitions, computed a whole sorted input
//! partition at a time.
//!
//! The catalog folds a decision's copies with `row_number() OVER (PARTITION
//! BY event_id ORDER BY processed_at)`, so every window partition holds one
//! row or two. DataFusion plans such a window as a streaming
//! `BoundedWindowAggExec`, whose bookkeeping per window partition made it
//! several microseconds a row. [`RowNumberWholeInput`] swaps it for
//! `WindowAggExec` (the same functions over the same sorted input, evaluated
//! over partition ranges found in one pass), for windows of `row_number`
//! only. It holds its sorted input partition whole, as the sort under it
//! already does, where the streaming form would let rows go as it went.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::windows::{
    BoundedWindowAggExec, StandardWindowExpr, WindowAggExec, WindowUDFExpr,
};

#[derive(Debug, Default)]
pub struct RowNumberWholeInput;

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

impl PhysicalOptimizerRule for RowNumberWholeInput {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() else {
                return Ok(Transformed::no(node));
            };
            if !window
                .window_expr()
                .iter()
                .all(|e| is_row_number(e.as_ref()))
            {
                return Ok(Transformed::no(node));
            }
            let whole = WindowAggExec::try_new(
                window.window_expr().to_vec(),
                Arc::clone(window.input()),
                true,
            )?;
            Ok(Transformed::yes(Arc::new(whole) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "row_number_whole_input"
    }

    fn schema_check(&self) -> bool {
        true
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
    /// rule or without it.
    async fn run(sql: &str, with_rule: bool) -> (String, String) {
        let mut state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_default_features();
        if with_rule {
            state = state.with_physical_optimizer_rule(Arc::new(RowNumberWholeInput));
        }
        let ctx = SessionContext::new_with_state(state.build());
        let schema = Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new("processed_at", DataType::Int64, true),
            Field::new("door", DataType::Utf8, false),
        ]));
        // Events 0..300, every third one twice (the later copy elsewhere).
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
                if i % 3 == 0 {
                    vec![copy, first]
                } else {
                    vec![first]
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
        assert!(plan.contains("WindowAggExec"), "{plan}");
        assert!(!plan.contains("BoundedWindowAggExec"), "{plan}");
        assert_eq!(answer, run(sql, false).await.1);
        // 300 events once each; no copy kept (a copy with no processed_at sorts last).
        assert_eq!(answer.lines().filter(|l| l.contains("| ev-")).count(), 300);
        assert!(!answer.contains("copy"), "{answer}");
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
