//! Typed construction against the JSON edge: a definition built in Rust
//! (`Graduated::try_new`, `Percentage::builder`, `Charge::builder`, …) and
//! the same definition read from Lago's JSON (`from_lago_json`) are accepted
//! or refused alike, with the same violations: Lago's field and code, and
//! the same message once the JSON's quotes around a string value are
//! dropped (the edge shows a value as it was written).

use meterprice::{
    Charge, ChargeFilter, ChargeModel, Currency, DefinitionError, Exact, Graduated,
    GraduatedPercentage, Package, Percentage, PricingUnit, RateTierPrice, Standard, Tax, Tier,
    TierPrice, ValidationError, Volume,
};
use proptest::prelude::*;
use serde_json::json;

fn d(text: &str) -> Exact {
    text.parse().unwrap()
}

fn eur() -> Currency {
    Currency::from_code("EUR").unwrap()
}

/// (field, code, message without quotes) of each violation.
type Found = Vec<(String, &'static str, String)>;

fn typed<T>(r: Result<T, ValidationError>) -> Found {
    match r {
        Ok(_) => Vec::new(),
        Err(e) => e
            .violations
            .into_iter()
            .map(|v| (v.field, v.code, v.message.replace('"', "")))
            .collect(),
    }
}

fn json_found<T>(r: Result<T, DefinitionError>) -> Found {
    match r {
        Ok(_) => Vec::new(),
        Err(DefinitionError::Invalid(e)) => typed::<()>(Err(e)),
        Err(other) => panic!("not a validation error: {other}"),
    }
}

/// A decimal written as Lago stores amounts: a JSON string.
fn s(x: Exact) -> serde_json::Value {
    json!(x.to_string())
}

/// A tier bound as Lago stores it: a JSON number (text kept exact).
fn n(x: Exact) -> serde_json::Value {
    serde_json::from_str(&x.to_string()).unwrap()
}

fn bounds(from: i64, to: Option<i64>) -> (Exact, Option<Exact>) {
    (Exact::from(from), to.map(Exact::from))
}

/// Tiers from (from, to, first price, second price).
type RawTier = (i64, Option<i64>, i64, i64);

fn graduated_json(field: &str, tiers: &[RawTier], rate: bool) -> String {
    let ranges: Vec<_> = tiers
        .iter()
        .map(|&(from, to, a, b)| {
            let (f, t) = bounds(from, to);
            let mut r = json!({"from_value": n(f), "to_value": t.map(n),
                               "flat_amount": s(Exact::from(b))});
            let key = if rate { "rate" } else { "per_unit_amount" };
            r[key] = s(Exact::from(a));
            r
        })
        .collect();
    json!({ field: ranges }).to_string()
}

fn tiers_strategy() -> impl Strategy<Value = Vec<RawTier>> {
    // Bounds near a valid chain, so that both valid and broken chains come
    // up; prices around 0.
    prop::collection::vec(
        (0i64..25, prop::option::of(0i64..25), -2i64..5, -2i64..5),
        0..5,
    )
    .prop_map(|mut v| {
        v.sort_by_key(|t| t.0);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn tier_lists_are_checked_alike(tiers in tiers_strategy(), which in 0usize..3) {
        let price = |&(from, to, a, b): &RawTier| {
            let (f, t) = bounds(from, to);
            (f, t, Exact::from(a), Exact::from(b))
        };
        let (typed_found, json) = match which {
            0 => (
                typed(Graduated::try_new(tiers.iter().map(price)
                    .map(|(f, t, a, b)| Tier::new(f, t, TierPrice::new(a, b))).collect())),
                ChargeModel::from_lago_json("graduated", &graduated_json("graduated_ranges", &tiers, false)),
            ),
            1 => (
                typed(Volume::try_new(tiers.iter().map(price)
                    .map(|(f, t, a, b)| Tier::new(f, t, TierPrice::new(a, b))).collect())),
                ChargeModel::from_lago_json("volume", &graduated_json("volume_ranges", &tiers, false)),
            ),
            _ => (
                typed(GraduatedPercentage::try_new(tiers.iter().map(price)
                    .map(|(f, t, a, b)| Tier::new(f, t, RateTierPrice::new(a, b))).collect())),
                ChargeModel::from_lago_json("graduated_percentage",
                    &graduated_json("graduated_percentage_ranges", &tiers, true)),
            ),
        };
        prop_assert_eq!(typed_found, json_found(json));
    }

    #[test]
    fn package_and_percentage_are_checked_alike(
        amount in -2i64..3, size in 0u64..3, free in 0u64..3,
        rate in -2i64..3, fixed in prop::option::of(-2i64..3), per_events in prop::option::of(0u64..3),
        per_total in prop::option::of(-2i64..3), min in prop::option::of(-2i64..4),
        max in prop::option::of(-2i64..4),
    ) {
        let x = Exact::from;
        prop_assert_eq!(
            typed(Package::try_new(x(amount), size, free)),
            json_found(ChargeModel::from_lago_json("package", &json!({
                "amount": s(x(amount)), "package_size": size, "free_units": free}).to_string()))
        );
        let mut b = Percentage::builder(x(rate));
        let mut props = json!({"rate": s(x(rate))});
        if let Some(f) = fixed { b = b.fixed_amount(x(f)); props["fixed_amount"] = s(x(f)); }
        if let Some(e) = per_events { b = b.free_units_per_events(e); props["free_units_per_events"] = json!(e); }
        if let Some(t) = per_total {
            b = b.free_units_per_total_aggregation(x(t));
            props["free_units_per_total_aggregation"] = s(x(t));
        }
        if let Some(m) = min { b = b.per_transaction_min_amount(x(m)); props["per_transaction_min_amount"] = s(x(m)); }
        if let Some(m) = max { b = b.per_transaction_max_amount(x(m)); props["per_transaction_max_amount"] = s(x(m)); }
        prop_assert_eq!(
            typed(b.build()),
            json_found(ChargeModel::from_lago_json("percentage", &props.to_string()))
        );
    }

    #[test]
    fn charges_are_checked_alike(
        which in 0usize..4, pay_in_advance: bool, invoiceable: bool, prorated: bool,
        min in -1i128..2, tax in prop::option::of(-1i64..3), unit in prop::option::of(-1i64..3),
        keys in prop::collection::vec(prop::sample::select(vec!["a", " ", "cloud"]), 0..3),
    ) {
        let tier = |t: Option<Exact>| Tier::new(Exact::ZERO, t, TierPrice::new(d("1"), d("0")));
        let (model, name, props) = match which {
            0 => (ChargeModel::Standard(Standard::try_new(d("1")).unwrap()), "standard", json!({"amount": "1"})),
            1 => (ChargeModel::Volume(Volume::try_new(vec![tier(None)]).unwrap()), "volume",
                  json!({"volume_ranges": [{"from_value": 0, "to_value": null, "per_unit_amount": "1", "flat_amount": "0"}]})),
            2 => (ChargeModel::Graduated(Graduated::try_new(vec![tier(None)]).unwrap()), "graduated",
                  json!({"graduated_ranges": [{"from_value": 0, "to_value": null, "per_unit_amount": "1", "flat_amount": "0"}]})),
            _ => (ChargeModel::Dynamic, "dynamic", json!({})),
        };
        let mut props = props;
        props["pricing_group_keys"] = json!(keys);
        let mut charge = json!({"charge_model": name, "properties": props,
            "pay_in_advance": pay_in_advance, "invoiceable": invoiceable, "prorated": prorated,
            "min_amount_cents": min});
        let mut found = Vec::new();
        let mut b = Charge::builder(eur(), model)
            .pay_in_advance(pay_in_advance)
            .invoiceable(invoiceable)
            .prorated(prorated)
            .min_amount_cents(min)
            .group_keys(keys.iter().copied());
        if let Some(t) = tax {
            charge["taxes"] = json!([{"code": "vat", "rate": s(Exact::from(t))}]);
            match Tax::try_new("vat", Exact::from(t)) {
                Ok(t) => b = b.tax(t),
                Err(e) => found.extend(typed::<()>(Err(e))),
            }
        }
        if let Some(u) = unit {
            charge["applied_pricing_unit"] = json!({"code": "credits", "conversion_rate": s(Exact::from(u))});
            match PricingUnit::try_new("credits", Exact::from(u)) {
                Ok(u) => b = b.pricing_unit(u),
                Err(e) => found.extend(typed::<()>(Err(e))),
            }
        }
        found.extend(typed(b.build()));
        // The edge names a tax's or unit's field in place, and shows a list
        // as "an array" where the typed path shows its keys; the rule is the
        // same.
        let cut = |m: String| match m.split_once(" got [") {
            Some((head, _)) => format!("{head} got an array"),
            None => m,
        };
        let place = |m: String| cut(m).replace("charge.taxes[0].rate", "rate")
            .replace("charge.applied_pricing_unit.conversion_rate", "applied_pricing_unit.conversion_rate")
            .replace("charge.applied_pricing_unit", "applied_pricing_unit")
            .replace("charge.min_amount_cents", "min_amount_cents")
            .replace("charge.invoiceable", "invoiceable")
            .replace("charge.prorated", "prorated");
        let json: Found = json_found(Charge::from_lago_json("EUR", &charge.to_string()))
            .into_iter().map(|(f, c, m)| (f, c, place(m))).collect();
        let found: Found = found.into_iter().map(|(f, c, m)| (f, c, place(m))).collect();
        prop_assert_eq!(found, json);
    }
}

#[test]
fn a_filter_of_another_model_is_refused() {
    let standard = ChargeModel::Standard(Standard::try_new(d("1")).unwrap());
    let package = ChargeModel::Package(Package::try_new(d("1"), 10, 0).unwrap());
    let e = Charge::builder(eur(), standard)
        .filter(ChargeFilter::new(
            vec![("region".into(), vec!["eu".into()])],
            package,
        ))
        .build()
        .unwrap_err();
    assert_eq!(e.violations.len(), 1);
    assert_eq!(e.violations[0].code, "value_is_invalid");
    assert_eq!(
        e.violations[0].message,
        "filters[0] is a package model on a standard charge"
    );
}
