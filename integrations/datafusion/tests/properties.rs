//! Property: for random charges and usage, `meterprice_rate` in SQL gives
//! exactly what the core's `Charge::rate` gives, figure by figure (errors
//! included), whether the charge is a column or a literal bound at
//! planning, and whether units come as text or as `Decimal128`.

use proptest::prelude::*;

use crate::common::{FeeRow, charge, core_row, ctx, fee_rows, quote, run, runtime};

/// A decimal with up to `places` fractional digits, as text.
fn decimal(max_int: i64, places: u32) -> impl Strategy<Value = String> {
    (0..=max_int, 0..10i64.pow(places), 0..=places).prop_map(move |(int, frac, p)| {
        let frac = frac / 10i64.pow(places - p);
        if p == 0 {
            int.to_string()
        } else {
            format!("{int}.{frac:0>width$}", width = p as usize)
        }
    })
}

fn tiers(key: &'static str, price: &'static str) -> impl Strategy<Value = String> {
    (
        prop::collection::vec((1..50i64, decimal(5, 3), decimal(20, 2)), 1..4),
        decimal(5, 3),
        decimal(20, 2),
    )
        .prop_map(move |(bounded, last_price, last_flat)| {
            let mut from = 0;
            let mut ranges = Vec::new();
            for (width, p, flat) in bounded {
                let to = from + width;
                ranges.push(format!(
                    r#"{{"from_value": {from}, "to_value": {to}, "{price}": "{p}", "flat_amount": "{flat}"}}"#
                ));
                from = to + 1;
            }
            ranges.push(format!(
                r#"{{"from_value": {from}, "to_value": null, "{price}": "{last_price}", "flat_amount": "{last_flat}"}}"#
            ));
            format!(r#"{{"{key}": [{}]}}"#, ranges.join(", "))
        })
}

/// A random valid charge of one of five models, with or without taxes and
/// a minimum.
fn charge_json() -> impl Strategy<Value = String> {
    let model = prop_oneof![
        decimal(10, 6).prop_map(|a| format!(r#""standard", "properties": {{"amount": "{a}"}}"#)),
        tiers("graduated_ranges", "per_unit_amount")
            .prop_map(|p| format!(r#""graduated", "properties": {p}"#)),
        tiers("volume_ranges", "per_unit_amount")
            .prop_map(|p| format!(r#""volume", "properties": {p}"#)),
        (decimal(100, 2), 1..100u32, 0..50u32).prop_map(|(a, size, free)| format!(
            r#""package", "properties": {{"amount": "{a}", "package_size": {size}, "free_units": {free}}}"#
        )),
        (decimal(5, 3), decimal(1, 2)).prop_map(|(rate, fixed)| format!(
            r#""percentage", "properties": {{"rate": "{rate}", "fixed_amount": "{fixed}"}}"#
        )),
    ];
    let taxes = prop_oneof![
        Just(String::new()),
        decimal(30, 2).prop_map(|r| format!(r#", "taxes": [{{"code": "t", "rate": "{r}"}}]"#)),
    ];
    let minimum = prop_oneof![
        Just(String::new()),
        (0..5000u32).prop_map(|m| format!(r#", "min_amount_cents": {m}"#)),
    ];
    (model, taxes, minimum).prop_map(|(m, t, min)| format!(r#"{{"charge_model": {m}{t}{min}}}"#))
}

/// Units: mostly positive, sometimes zero or negative (a fee never goes
/// negative).
fn units() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => decimal(5000, 6),
        1 => Just("0".to_string()),
        1 => decimal(100, 3).prop_map(|u| format!("-{u}")),
    ]
}

fn case() -> impl Strategy<Value = (String, String, u64)> {
    (charge_json(), units(), 0..20u64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sql_equals_the_core(cases in prop::collection::vec(case(), 1..30),
                           currency in prop::sample::select(vec!["EUR", "JPY", "KWD", "USD"])) {
        let rt = runtime();
        let rows: Vec<String> = cases
            .iter()
            .map(|(c, u, e)| format!("({}, {}, {e})", quote(c), quote(u)))
            .collect();
        // The charge as a column: validated per distinct text.
        let by_column = format!(
            "SELECT meterprice_rate(charge, '{currency}', units, events) AS fee \
             FROM (VALUES {}) AS t(charge, units, events)",
            rows.join(", ")
        );
        let got = fee_rows(&rt.block_on(run(&ctx(), &by_column)), "fee");
        let expected: Vec<FeeRow> = cases
            .iter()
            .map(|(c, u, e)| core_row(&charge(currency, c), u, *e))
            .collect();
        prop_assert_eq!(&got, &expected);

        // The first charge as a literal (bound at planning), units as Decimal128.
        let first = &cases[0].0;
        let bound = format!(
            "SELECT meterprice_rate({}, '{currency}', CAST(units AS DECIMAL(38, 10)), events) AS fee \
             FROM (VALUES {}) AS t(charge, units, events)",
            quote(first),
            rows.join(", ")
        );
        let got = fee_rows(&rt.block_on(run(&ctx(), &bound)), "fee");
        let first = charge(currency, first);
        let expected: Vec<FeeRow> = cases
            .iter()
            .map(|(_, u, e)| core_row(&first, u, *e))
            .collect();
        prop_assert_eq!(&got, &expected);
    }
}
