//! The fast path against the general path (`Charge::rate` per row), on the
//! same batches, figure by figure, and on hand-worked values.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Int64Array, StructArray, UInt64Array,
};
use datafusion::arrow::datatypes::Decimal128Type;
use meterprice::Charge;
use proptest::prelude::*;

use super::FastStandard;
use crate::fees::{FeeColumns, FeeFields};
use crate::rate::{Batch, rate_row};

fn charge(currency: &str, json: &str) -> Charge {
    Charge::from_lago_json(currency, json).unwrap()
}

fn standard(price: &str) -> String {
    format!(r#"{{"charge_model": "standard", "properties": {{"amount": "{price}"}}}}"#)
}

/// Both paths over `units` and `events`: (fast, general, rows the fast
/// path sent to the general one).
fn both(charge: &Charge, units: ArrayRef, events: ArrayRef) -> (ArrayRef, ArrayRef, usize) {
    both_with(charge, units, events, FeeFields::ALL)
}

/// [`both`], the fast path building only `fields` (the general path all).
fn both_with(
    charge: &Charge,
    units: ArrayRef,
    events: ArrayRef,
    fields: FeeFields,
) -> (ArrayRef, ArrayRef, usize) {
    let rows = units.len();
    let arrays = [units, events];
    let batch = Batch::new(&arrays, &[false, false]).unwrap();
    let fast = FastStandard::new(charge).expect("a plain standard charge");
    let mut out = FeeColumns::with_capacity(rows, fields);
    let mut general_rows = 0;
    let taken = fast.rate(&batch, rows, &mut out, |row, out| {
        general_rows += 1;
        rate_row(charge, &batch, row, out);
    });
    assert!(taken, "the fast path reads these columns");
    let fast_out = out.finish().unwrap();
    let mut out = FeeColumns::with_capacity(rows, FeeFields::ALL);
    for row in 0..rows {
        rate_row(charge, &batch, row, &mut out);
    }
    (fast_out, out.finish().unwrap(), general_rows)
}

fn d128(values: Vec<Option<i128>>, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(38, scale)
            .unwrap(),
    )
}

fn counts(n: usize) -> ArrayRef {
    Arc::new(Int64Array::from(vec![1i64; n]))
}

/// (amount, amount_cents, precise_unit_amount, amount_details) of `row`.
fn figures(out: &ArrayRef, row: usize) -> (String, i128, String, String) {
    let s: &StructArray = out.as_struct();
    let text = |i: usize| s.column(i).as_string::<i32>().value(row).to_string();
    let cents = |i: usize| s.column(i).as_primitive::<Decimal128Type>().value(row);
    assert!(s.column(7).is_null(row), "no error in row {row}");
    assert_eq!(cents(3), 0, "no taxes");
    assert_eq!(cents(4), cents(1), "total = amount_cents");
    assert!(s.column(5).is_null(row), "no true-up");
    (text(0), cents(1), text(2), text(6))
}

#[test]
fn hand_worked_values() {
    let eur = charge("EUR", &standard("0.0125"));
    // Units at scale 4: 1234.5, 2, 0, 0.4 and 1.2 (mantissas × 10^-4).
    let units = d128(
        vec![
            Some(12_345_000),
            Some(20_000),
            Some(0),
            Some(4_000),
            Some(12_000),
        ],
        4,
    );
    let (fast, general, general_rows) = both(&eur, units, counts(5));
    assert_eq!(general_rows, 0, "every row is plain");
    assert_eq!(&fast, &general);
    let row = |r: usize| figures(&fast, r);
    let s = |t: &str| t.to_string();
    // 1234.5 × 0.0125 = 15.43125 EUR = 1543.125 cents → 1543.
    assert_eq!(row(0), (s("15.43125"), 1543, s("0.0125"), s("{}")));
    // 2 × 0.0125 = 0.025 EUR (trailing zeros of 0.02500000 dropped) = 2.5 cents → 3, half away.
    assert_eq!(row(1), (s("0.025"), 3, s("0.0125"), s("{}")));
    // 0 units: nothing, and a unit amount of 0 (0 / 0 is 0, not the price).
    assert_eq!(row(2), (s("0"), 0, s("0"), s("{}")));
    // 0.4 × 0.0125 = 0.005 EUR = 0.5 cents → 1; 1.2 × 0.0125 = 0.015 = 1.5 cents → 2.
    assert_eq!(row(3), (s("0.005"), 1, s("0.0125"), s("{}")));
    assert_eq!(row(4), (s("0.015"), 2, s("0.0125"), s("{}")));

    // JPY has no minor unit: 3 × 0.5 = 1.5 JPY → 2; KWD has 1000: 7 × 0.0003 = 0.0021 → 2.1 fils → 2.
    let jpy = charge("JPY", &standard("0.5"));
    let (fast, general, _) = both(&jpy, Arc::new(Int64Array::from(vec![3])), counts(1));
    assert_eq!(&fast, &general);
    assert_eq!(figures(&fast, 0), (s("1.5"), 2, s("0.5"), s("{}")));
    let kwd = charge("KWD", &standard("0.0003"));
    let (fast, general, _) = both(&kwd, Arc::new(UInt64Array::from(vec![7u64])), counts(1));
    assert_eq!(&fast, &general);
    assert_eq!(figures(&fast, 0), (s("0.0021"), 2, s("0.0003"), s("{}")));
}

#[test]
fn rows_the_fast_path_cannot_price_exactly_go_through_the_general_path() {
    let eur = charge("EUR", &standard("1000000"));
    let units = d128(
        vec![
            None,     // NULL: the general path's error
            Some(-5), // negative: clamped by the general path
            // 7.9 × 10^25 × 10^6 = 7.9 × 10^31 EUR: beyond 2^96 (7.92 × 10^28)
            Some(79_228_162_514_264_337_593_543_950),
            // 7 × 10^28 EUR is in range, but its 7 × 10^30 cents are not
            Some(70_000_000_000_000_000_000_000),
            Some(7), // 7,000,000 EUR = 700,000,000 cents: plain
        ],
        0,
    );
    let (fast, general, general_rows) = both(&eur, units, counts(5));
    assert_eq!(general_rows, 4);
    assert_eq!(&fast, &general);
    let s: &StructArray = fast.as_struct();
    let error = |row: usize| s.column(7).as_string::<i32>().value(row).to_string();
    assert!(error(0).starts_with("invalid_usage"), "{}", error(0));
    assert_eq!(s.column(1).as_primitive::<Decimal128Type>().value(1), 0);
    assert!(error(2).starts_with("arithmetic_overflow"), "{}", error(2));
    assert!(error(3).starts_with("arithmetic_overflow"), "{}", error(3));
    assert_eq!(
        s.column(1).as_primitive::<Decimal128Type>().value(4),
        700_000_000
    );
}

#[test]
fn charges_with_more_than_the_closed_form_are_not_fast() {
    let not_plain = [
        r#"{"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 100}"#,
        r#"{"charge_model": "standard", "properties": {"amount": "1"}, "taxes": [{"code": "vat", "rate": "20"}]}"#,
        r#"{"charge_model": "standard", "properties": {"amount": "1", "pricing_group_keys": ["region"]}}"#,
        r#"{"charge_model": "package", "properties": {"amount": "1", "package_size": 10, "free_units": 0}}"#,
    ];
    for json in not_plain {
        assert!(FastStandard::new(&charge("EUR", json)).is_none(), "{json}");
    }
    assert!(FastStandard::new(&charge("EUR", &standard("1"))).is_some());
}

/// A price with up to 28 places, as text.
fn price() -> impl Strategy<Value = String> {
    (0u64..=10_000_000_000, 0u32..=12, 0u32..=16).prop_map(|(m, int_shift, s)| {
        let m = u128::from(m) * 10u128.pow(int_shift % 4);
        let scale = s + int_shift;
        Decimal128Array::from(vec![m as i128])
            .with_precision_and_scale(38, scale.min(28) as i8)
            .unwrap()
            .value_as_string(0)
    })
}

/// A units mantissa: mostly plain, sometimes zero, negative, NULL or huge.
fn mantissa() -> impl Strategy<Value = Option<i128>> {
    prop_oneof![
        8 => (0i128..10_000_000_000_000).prop_map(Some),
        1 => Just(Some(0)),
        1 => (-1_000_000i128..0).prop_map(Some),
        1 => Just(None),
        1 => ((1i128 << 90)..(1i128 << 100)).prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_path_equals_the_general_path(
        price in price(),
        scale in 0i8..=28,
        units in prop::collection::vec(mantissa(), 1..40),
        currency in prop::sample::select(vec!["EUR", "JPY", "KWD", "MRO", "USD"]),
        pick in 0usize..8,
    ) {
        let charge = charge(currency, &standard(&price));
        let n = units.len();
        let (fast, general, _) = both(&charge, d128(units.clone(), scale), counts(n));
        prop_assert_eq!(&fast, &general);
        // Pruned to one field (rate/prune.rs), it equals that field of the whole struct.
        let names = crate::fees::fee_fields();
        let field = names[pick % names.len()].name();
        let only = FeeFields::named(field).unwrap();
        let (pruned, _, _) = both_with(&charge, d128(units, scale), counts(n), only);
        let pruned: &StructArray = pruned.as_struct();
        prop_assert_eq!(pruned.num_columns(), 1);
        prop_assert_eq!(pruned.column(0), general.as_struct().column_by_name(field).unwrap());
    }
}
