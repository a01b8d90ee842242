//! Field pruning: `meterprice_rate(…)['amount_cents']` builds one column,
//! not the whole struct.
//!
//! The struct has three texts and five decimals per row. A query that reads
//! one field of it (`get_field(meterprice_rate(…), 'f')`, which is what
//! `meterprice_rate(…)['f']` and `.f` plan to) would otherwise pay for all
//! eight. This optimizer rule replaces the function under such a
//! `get_field` by one that returns a struct of that field only. The
//! `get_field` stays, so the expression's name and type, and the plan's
//! schema, do not change. A call whose struct is used whole is left as it
//! is. A struct read for two fields is, in DataFusion 55, computed once per
//! field anyway (its optimizer moves each `get_field` down to the call, a
//! copy of the call in each), so each copy then builds its own field only.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::functions::core::getfield::GetFieldFunc;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Expr, LogicalPlan, ScalarUDF};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use super::{RateUdf, text_of};
use crate::fees::FeeFields;

/// The optimizer rule that prunes `meterprice_rate`'s struct to the one
/// field a `get_field` reads. [`register`](crate::register) adds it to a
/// session; add it yourself (`SessionContext::add_optimizer_rule`) when
/// you build the session state another way.
#[derive(Debug, Default, Clone, Copy)]
pub struct RateFieldPruning;

impl OptimizerRule for RateFieldPruning {
    fn name(&self) -> &str {
        "meterprice_rate_field_pruning"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.map_expressions(|e| e.transform_up(prune))
    }
}

/// `get_field(meterprice_rate(args), 'f')` → the same over a
/// `meterprice_rate` that returns field `f` only.
fn prune(expr: Expr) -> Result<Transformed<Expr>> {
    let Some(pruned) = read_field(&expr).map(|(field, rate)| rate.clone().with_fields(field))
    else {
        return Ok(Transformed::no(expr));
    };
    let Expr::ScalarFunction(ScalarFunction { func, mut args }) = expr else {
        return Ok(Transformed::no(expr));
    };
    if let Some(Expr::ScalarFunction(inner)) = args.first_mut() {
        inner.func = Arc::new(ScalarUDF::from(pruned));
    }
    Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction {
        func,
        args,
    })))
}

/// The `meterprice_rate` of a call that returns the whole struct.
fn whole_struct_call(expr: &Expr) -> Option<&RateUdf> {
    let Expr::ScalarFunction(f) = expr else {
        return None;
    };
    let rate = f.func.inner().downcast_ref::<RateUdf>()?;
    (rate.fields() == FeeFields::ALL).then_some(rate)
}

/// The field a `get_field` over a whole-struct `meterprice_rate` reads,
/// and that function.
fn read_field(expr: &Expr) -> Option<(FeeFields, &RateUdf)> {
    let Expr::ScalarFunction(ScalarFunction { func, args }) = expr else {
        return None;
    };
    if !func.inner().is::<GetFieldFunc>() {
        return None;
    }
    // One field name only: the struct's fields are not structs.
    let [inner, Expr::Literal(name, _)] = args.as_slice() else {
        return None;
    };
    let rate = whole_struct_call(inner)?;
    Some((FeeFields::named(text_of(name)?)?, rate))
}
