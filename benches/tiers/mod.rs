//! The graduated charge that the `explore` and `rate_json` benches price,
//! in one place so that their figures are about the same charge.

/// Lago's JSON for a graduated charge of `n` tiers of 10 units (`[0–10]`,
/// `[11–20]`, …, the last without `to_value`), prices falling from 2 EUR by
/// 0.001 a tier, a flat fee of 0.5 or 1 on two tiers in three.
pub fn graduated_charge(n: usize) -> String {
    let ranges: Vec<String> = (0..n)
        .map(|i| {
            let from = if i == 0 { 0 } else { 10 * i + 1 };
            let to = if i + 1 == n {
                "null".to_owned()
            } else {
                (10 * (i + 1)).to_string()
            };
            let price = rust_decimal::Decimal::new(2000 - i as i64, 3);
            let flat = rust_decimal::Decimal::new(5 * (i % 3) as i64, 1);
            format!(
                r#"{{"from_value": {from}, "to_value": {to}, "per_unit_amount": "{price}", "flat_amount": "{flat}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"charge_model": "graduated", "properties": {{"graduated_ranges": [{}]}}}}"#,
        ranges.join(", ")
    )
}
