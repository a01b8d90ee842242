//! `meterprice_rate` in SQL: hand-worked figures, every input type, bad
//! input with its exact outcome, and the charge bound at planning.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan};
use meterprice_datafusion::RateUdf;

use crate::common::{FeeRow, charge, core_fee, ctx, fee_rows, quote, run};

/// rating-json.md's graduated example, with its 20 % tax.
const GRADUATED: &str = r#"{"charge_model": "graduated", "properties": {"graduated_ranges": [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
    {"from_value": 11, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "2"}]},
  "taxes": [{"code": "vat_fr", "name": "TVA", "rate": "20"}]}"#;

/// 12.5 units: 10 × 1 + 0 flat, then 2.5 × 0.5 + 2 flat.
fn graduated_12_5() -> FeeRow {
    FeeRow {
        // 10 + 1.25 + 2
        amount: Some("13.25".into()),
        amount_cents: Some(1325),
        // 13.25 / 12.5
        precise_unit_amount: Some("1.06".into()),
        // 1325 × 20 %
        taxes_amount_cents: Some(265),
        total_amount_cents: Some(1590),
        true_up_amount_cents: None,
        amount_details: Some(
            concat!(
                r#"{"graduated_ranges":["#,
                r#"{"from_value":0,"to_value":10,"flat_unit_amount":"0","per_unit_amount":"1","#,
                r#""units":"10","per_unit_total_amount":"10","total_with_flat_amount":"10"},"#,
                r#"{"from_value":11,"to_value":null,"flat_unit_amount":"2","per_unit_amount":"0.5","#,
                r#""units":"2.5","per_unit_total_amount":"1.25","total_with_flat_amount":"3.25"}]}"#
            )
            .into(),
        ),
        error: None,
    }
}

/// `SELECT meterprice_rate(GRADUATED, 'EUR', <units>, <events>) AS fee`.
async fn rate_one(units: &str, events: &str) -> FeeRow {
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', {units}, {events}) AS fee",
        quote(GRADUATED)
    );
    let rows = fee_rows(&run(&ctx(), &sql).await, "fee");
    assert_eq!(rows.len(), 1, "{sql}");
    rows.into_iter().next().expect("one row")
}

#[tokio::test]
async fn graduated_example_from_the_contract() {
    assert_eq!(rate_one("'12.5'", "3").await, graduated_12_5());
}

#[tokio::test]
async fn every_units_type_reads_the_same_exact_value() {
    for units in [
        "'12.5'",
        "arrow_cast('12.5', 'LargeUtf8')",
        "arrow_cast('12.5', 'Utf8View')",
        "CAST(12.5 AS DECIMAL(10, 1))",
        "CAST('12.5' AS DECIMAL(38, 30))",
        "arrow_cast('12.5', 'Decimal256(60, 40)')",
        "arrow_cast('12.500', 'Dictionary(Int32, Utf8)')",
    ] {
        assert_eq!(rate_one(units, "3").await, graduated_12_5(), "{units}");
    }
}

#[tokio::test]
async fn integer_units_and_a_non_terminating_unit_amount() {
    let expected = FeeRow {
        // 10 × 1 + 2 × 0.5 + 2
        amount: Some("13".into()),
        amount_cents: Some(1300),
        // 13 / 12 to 28 significant digits
        precise_unit_amount: Some(format!("1.08{}", "3".repeat(25))),
        taxes_amount_cents: Some(260),
        total_amount_cents: Some(1560),
        true_up_amount_cents: None,
        amount_details: Some(
            concat!(
                r#"{"graduated_ranges":["#,
                r#"{"from_value":0,"to_value":10,"flat_unit_amount":"0","per_unit_amount":"1","#,
                r#""units":"10","per_unit_total_amount":"10","total_with_flat_amount":"10"},"#,
                r#"{"from_value":11,"to_value":null,"flat_unit_amount":"2","per_unit_amount":"0.5","#,
                r#""units":"2","per_unit_total_amount":"1","total_with_flat_amount":"3"}]}"#
            )
            .into(),
        ),
        error: None,
    };
    for units in ["12", "arrow_cast(12, 'Int8')", "arrow_cast(12, 'UInt16')"] {
        assert_eq!(
            rate_one(units, "arrow_cast(3, 'UInt8')").await,
            expected,
            "{units}"
        );
    }
}

#[tokio::test]
async fn a_minimum_gives_the_true_up_of_a_single_bucket() {
    let charge = r#"{"charge_model": "standard", "properties": {"amount": "0.0125"},
        "min_amount_cents": 1000}"#;
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', '100', 4) AS fee",
        quote(charge)
    );
    let row = fee_rows(&run(&ctx(), &sql).await, "fee").remove(0);
    // 100 × 0.0125 = 1.25 EUR; the minimum 10 EUR needs 1000 − 125 more.
    assert_eq!(row.amount.as_deref(), Some("1.25"));
    assert_eq!(row.amount_cents, Some(125));
    assert_eq!(row.true_up_amount_cents, Some(875));
    assert_eq!(row.amount_details.as_deref(), Some("{}"));
}

#[tokio::test]
async fn null_units_give_null_figures_and_an_error() {
    assert_eq!(
        rate_one("CAST(NULL AS VARCHAR)", "3").await,
        FeeRow::error("invalid_usage: units is NULL")
    );
    assert_eq!(
        rate_one("NULL", "3").await,
        FeeRow::error("invalid_usage: units is NULL")
    );
}

#[tokio::test]
async fn non_numeric_units_are_a_parse_error_in_the_row() {
    assert_eq!(
        rate_one("'12,5'", "3").await,
        FeeRow::error(r#"parse_error: units: expected a decimal, got "12,5""#)
    );
}

#[tokio::test]
async fn text_units_are_read_as_the_rate_contract_reads_them() {
    // Lago's grammar, as `meterprice rate` reads `usage.units`: "-0" is 0
    // and "1.25e1" is 12.5 (it used to be "outside the decimal range").
    assert_eq!(rate_one("'-0'", "3").await, rate_one("'0'", "3").await);
    assert_eq!(rate_one("'1.25e1'", "3").await, graduated_12_5());
}

#[tokio::test]
async fn more_than_28_fractional_digits_are_out_of_range() {
    // 29 fractional digits, as text and as a Decimal128(38, 30) mantissa.
    let text = "0.12345678901234567890123456789";
    assert_eq!(
        rate_one(&quote(text), "3").await,
        FeeRow::error(&format!(
            "arithmetic_overflow: units: \"{text}\" is outside the decimal range \
             (|x| < 2^96, at most 28 fractional digits)"
        ))
    );
    assert_eq!(
        rate_one(&format!("CAST('{text}' AS DECIMAL(38, 30))"), "3").await,
        FeeRow::error(&format!(
            "arithmetic_overflow: units: \"{text}0\" is outside the decimal range \
             (|x| < 2^96, at most 28 fractional digits)"
        ))
    );
    // 60 fractional digits do not parse at all: still out of range, not "not a number".
    let long = format!("0.{}", "1".repeat(60));
    assert_eq!(
        rate_one(&quote(&long), "3").await.error,
        Some(format!(
            "arithmetic_overflow: units: \"{long}\" is outside the decimal range \
             (|x| < 2^96, at most 28 fractional digits)"
        ))
    );
}

#[tokio::test]
async fn a_negative_or_null_count_is_invalid_usage() {
    assert_eq!(
        rate_one("'12.5'", "-1").await,
        FeeRow::error("invalid_usage: events_count must be >= 0, got -1")
    );
    assert_eq!(
        rate_one("'12.5'", "NULL").await,
        FeeRow::error("invalid_usage: events_count is NULL")
    );
}

#[tokio::test]
async fn an_overflowing_amount_is_an_error_never_a_rounded_number() {
    let charge = r#"{"charge_model": "standard", "properties": {"amount": "2"}}"#;
    // 2^96 − 1, the largest units value: twice it is out of range.
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', '79228162514264337593543950335', 1) AS fee",
        quote(charge)
    );
    let row = fee_rows(&run(&ctx(), &sql).await, "fee").remove(0);
    assert_eq!(row.amount, None);
    assert_eq!(row.amount_cents, None);
    let error = row.error.expect("an error");
    assert!(
        error.starts_with("arithmetic_overflow: arithmetic overflow in "),
        "{error}"
    );
}

#[tokio::test]
async fn an_invalid_charge_is_a_planning_error_with_the_validation_message() {
    let charge = r#"{"charge_model": "graduated", "properties": {"graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 15, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "2"}]}}"#;
    let sql = format!("SELECT meterprice_rate({}, 'EUR', '1', 1)", quote(charge));
    let error = ctx()
        .sql(&sql)
        .await
        .expect_err("planning fails")
        .to_string();
    assert!(
        error.contains(
            "meterprice_rate: validation_error: graduated_ranges[1]: from_value must be 10 or 11, \
             got 15 (details: graduated_ranges invalid_graduated_ranges)"
        ),
        "{error}"
    );
    let sql = format!(
        "SELECT meterprice_rate({}, 'XXX', '1', 1)",
        quote(GRADUATED)
    );
    let error = ctx()
        .sql(&sql)
        .await
        .expect_err("planning fails")
        .to_string();
    assert!(
        error.contains("validation_error: currency \"XXX\" is not a currency Lago accepts"),
        "{error}"
    );
}

#[tokio::test]
async fn floats_are_refused_at_planning() {
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', CAST(1.5 AS DOUBLE), 1)",
        quote(GRADUATED)
    );
    let error = ctx()
        .sql(&sql)
        .await
        .expect_err("planning fails")
        .to_string();
    assert!(
        error.contains("meterprice_rate: units is Float64: binary floats are not exact money"),
        "{error}"
    );
}

#[tokio::test]
async fn charges_in_a_column_are_validated_once_each_and_fail_row_by_row() {
    let standard = r#"{"charge_model": "standard", "properties": {"amount": "0.5"}}"#;
    let invalid = r#"{"charge_model": "standard", "properties": {"amount": "-1"}}"#;
    let sql = format!(
        "SELECT meterprice_rate(charge, 'EUR', units, 1) AS fee FROM (VALUES \
         ({s}, '10'), ({i}, '10'), ({s}, '3'), (NULL, '3')) AS t(charge, units)",
        s = quote(standard),
        i = quote(invalid)
    );
    let rows = fee_rows(&run(&ctx(), &sql).await, "fee");
    // 10 × 0.5 and 3 × 0.5
    assert_eq!(rows[0].amount.as_deref(), Some("5"));
    assert_eq!(rows[2].amount.as_deref(), Some("1.5"));
    assert_eq!(rows[2].amount_cents, Some(150));
    let invalid_error = rows[1].error.as_deref().expect("an error");
    assert!(
        invalid_error.starts_with("validation_error: ") && invalid_error.contains("invalid_amount"),
        "{invalid_error}"
    );
    assert_eq!(
        rows[3],
        FeeRow::error("invalid_usage: charge or currency is NULL")
    );
}

/// Every `meterprice_rate` call in the plan's expressions.
fn rate_calls(plan: &LogicalPlan) -> Vec<Option<(String, String)>> {
    let mut found = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::ScalarFunction(f) = e
                    && let Some(rate) = f.func.inner().downcast_ref::<RateUdf>()
                {
                    found.push(
                        rate.charge_text()
                            .map(|(c, j)| (c.to_string(), j.to_string())),
                    );
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .expect("walk");
    found
}

#[tokio::test]
async fn a_literal_charge_is_bound_at_planning() {
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', units, 3) AS fee \
         FROM (VALUES ('12.5'), ('1')) AS t(units)",
        quote(GRADUATED)
    );
    let df = ctx().sql(&sql).await.expect("plans");
    assert_eq!(rate_calls(df.logical_plan()), vec![None]);
    let optimized = df.clone().into_optimized_plan().expect("optimizes");
    assert_eq!(
        rate_calls(&optimized),
        vec![Some(("EUR".to_string(), GRADUATED.to_string()))]
    );
    // The bound call gives the same figures.
    let rows = fee_rows(&df.collect().await.expect("runs"), "fee");
    assert_eq!(rows[0], graduated_12_5());
}

#[tokio::test]
async fn dynamic_charges_read_the_events_summed_price() {
    let dynamic = r#"{"charge_model": "dynamic", "properties": {}}"#;
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', '20', 4, CAST(40.2 AS DECIMAL(5, 1))) AS fee",
        quote(dynamic)
    );
    let row = fee_rows(&run(&ctx(), &sql).await, "fee").remove(0);
    // 40.2 cents are 0.402 EUR, 40 cents rounded; 0.402 / 20 per unit.
    assert_eq!(row.amount.as_deref(), Some("0.402"));
    assert_eq!(row.amount_cents, Some(40));
    assert_eq!(row.precise_unit_amount.as_deref(), Some("0.0201"));
    assert_eq!(row.error, None);
}

#[tokio::test]
async fn prorated_charges_read_the_full_units_number() {
    let prorated =
        r#"{"charge_model": "standard", "properties": {"amount": "3"}, "prorated": true}"#;
    let sql = format!(
        "SELECT meterprice_rate({}, 'EUR', '10.5', 2, NULL, '31') AS fee",
        quote(prorated)
    );
    let row = fee_rows(&run(&ctx(), &sql).await, "fee").remove(0);
    let usage = meterprice::Usage::new("10.5".parse().expect("units"))
        .with_events_count(2)
        .with_full_units_number("31".parse().expect("full"));
    assert_eq!(row, core_fee(&charge("EUR", prorated), usage));
    // 10.5 × 3
    assert_eq!(row.amount.as_deref(), Some("31.5"));
}

/// The struct type each `meterprice_rate` call in the plan returns: its
/// field names.
fn rate_struct_fields(plan: &LogicalPlan) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::ScalarFunction(f) = e
                    && f.func.inner().downcast_ref::<RateUdf>().is_some()
                    && let Ok(DataType::Struct(fields)) = f.func.return_type(&[])
                {
                    found.push(fields.iter().map(|f| f.name().clone()).collect());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .expect("walk");
    found
}

/// The struct's field names.
fn field_names() -> Vec<String> {
    meterprice_datafusion::fee_fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[tokio::test]
async fn a_query_reading_one_field_builds_that_field_only() {
    // Rows with figures, a NULL (the error's row) and a bad text.
    let from = "FROM (VALUES ('12.5'), (NULL), ('x'), ('1')) AS t(units)";
    let whole = format!(
        "SELECT meterprice_rate({}, 'EUR', units, 3) AS fee {from}",
        quote(GRADUATED)
    );
    let whole = run(&ctx(), &whole).await;
    for field in field_names() {
        let field = field.as_str();
        // `…['f']` plans to get_field(…, 'f'), which the rule prunes.
        let sql = format!(
            "SELECT meterprice_rate({}, 'EUR', units, 3)['{field}'] AS v {from}",
            quote(GRADUATED)
        );
        let df = ctx().sql(&sql).await.expect("plans");
        let optimized = df.clone().into_optimized_plan().expect("optimizes");
        assert_eq!(
            rate_struct_fields(&optimized),
            vec![vec![field.to_string()]],
            "{sql}"
        );
        let got = df.collect().await.expect("runs");
        let want: Vec<_> = whole
            .iter()
            .map(|b| b.column_by_name("fee").expect("fee").as_struct())
            .map(|s| s.column_by_name(field).expect("field").clone())
            .collect();
        let got: Vec<_> = got.iter().map(|b| b.column(0).clone()).collect();
        assert_eq!(got, want, "{field}");
    }
}

#[tokio::test]
async fn a_struct_read_for_two_fields_builds_each_field_once() {
    let sql = format!(
        "SELECT fee['amount'] AS a, fee['amount_cents'] AS c FROM \
         (SELECT meterprice_rate({}, 'EUR', units, 3) AS fee \
         FROM (VALUES ('12.5'), ('1')) AS t(units))",
        quote(GRADUATED)
    );
    let df = ctx().sql(&sql).await.expect("plans");
    let optimized = df.clone().into_optimized_plan().expect("optimizes");
    // DataFusion 55 moves each get_field down to the call, a copy of the
    // call for each field (it does so without the rule too, copying the
    // whole struct), so each copy builds its one field.
    let read = |f: &str| vec![f.to_string()];
    assert_eq!(
        rate_struct_fields(&optimized),
        vec![read("amount"), read("amount_cents")]
    );
    let batches = df.collect().await.expect("runs");
    let b = batches.first().expect("a batch");
    // 12.5 units: 13.25 EUR, 1325 cents (graduated_12_5).
    assert_eq!(b.column(0).as_string::<i32>().value(0), "13.25");
    assert_eq!(b.column(1).as_primitive::<Decimal128Type>().value(0), 1325);
}
