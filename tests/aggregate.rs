//! `meterprice aggregate` (usage-json.md, aggregation.md §16): every public
//! case through the real binary, compared as `check_aggregation.py`
//! compares them (numbers by value, `{value, round}` rounded half up,
//! conditional fields only when their condition holds); the unit-level
//! case kinds through the library; and the contract's edges (rejected
//! events, errors, exit statuses).

use meterprice::{
    ChargeFilterSpec, Exact, FilterScope, MetricFilter, MetricRounding, Rounding, Value,
    event_filter,
};
use serde_json::{Value as Json, json};

use crate::common::run;

mod contract;
mod properties;

/// The public cases, as raw lines (requests go to the binary as written:
/// it ignores `expected`, `source` and the other annotations).
fn case_lines() -> Vec<String> {
    let path = format!(
        "{}/tests/data/aggregation-cases.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn kind(case: &Json) -> &str {
    case["kind"].as_str().unwrap_or("aggregation")
}

/// A JSON string or number as an exact decimal.
fn dec(v: &Json) -> Option<Exact> {
    match v {
        Json::String(s) => s.parse().ok(),
        Json::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// check_aggregation.py's `num_eq`.
fn num_eq(actual: &Json, exp: &Json) -> bool {
    match exp {
        Json::Object(o) if o.contains_key("value") => {
            let Some(a) = dec(actual) else { return false };
            let a = match o.get("round").and_then(Json::as_u64) {
                Some(places) => a.round_half_away(places as u32),
                None => a,
            };
            dec(&o["value"]) == Some(a)
        }
        Json::Array(items) => actual.as_array().is_some_and(|a| {
            a.len() == items.len() && a.iter().zip(items).all(|(x, e)| num_eq(x, e))
        }),
        Json::Object(_) => actual == exp,
        Json::Null => actual.is_null(),
        _ => dec(actual).is_some() && dec(actual) == dec(exp),
    }
}

/// usage-json.md's conditions; `None` for fields always or never required.
fn condition(field: &str, q: &Json) -> Option<bool> {
    let charge = &q["charge"];
    let options = &q["options"];
    let prorated = charge["prorated"].as_bool().unwrap_or(false);
    let percentage = charge["charge_model"] == "percentage";
    let free_units = !options["free_units_per_events"].is_null()
        || !options["free_units_per_total_aggregation"].is_null();
    Some(match field {
        "current_usage_units" => options["is_current_usage"].as_bool().unwrap_or(false),
        "full_units_number" | "prorated_event_values" => prorated,
        "event_values" => prorated || percentage || q.get("per_event").is_some(),
        "running_total" => percentage || free_units,
        "total_aggregated_units" => q["billable_metric"]["aggregation_type"] == "weighted_sum_agg",
        "precise_total_amount_cents" => charge["charge_model"] == "dynamic",
        "pay_in_advance_aggregation" | "units_applied" => {
            q.get("pay_in_advance_event").is_some_and(|e| !e.is_null())
        }
        _ => return None,
    })
}

fn field_errors(actual: &Json, exp: &Json, path: &str, q: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    for (k, v) in exp.as_object().into_iter().flatten() {
        if matches!(k.as_str(), "bucket" | "grouped_by" | "buckets_count") {
            continue;
        }
        let cond = condition(k, q);
        if cond == Some(false) {
            continue;
        }
        let required = matches!(k.as_str(), "aggregation" | "count") || cond.is_some();
        match actual.get(k) {
            None if required => errs.push(format!("{path}.{k}: missing (expected {v})")),
            None => {}
            Some(a) if !num_eq(a, v) => errs.push(format!("{path}.{k}: got {a}, expected {v}")),
            Some(_) => {}
        }
    }
    errs
}

/// check_aggregation.py's `compare`.
fn compare(buckets: &[Json], exp: &Json, q: &Json) -> Vec<String> {
    let Some(expected) = exp.get("buckets").and_then(Json::as_array) else {
        if buckets.len() != 1 {
            return vec![format!("expected one bucket, got {}", buckets.len())];
        }
        return field_errors(&buckets[0], exp, "result", q);
    };
    let mut errs = Vec::new();
    if let Some(n) = exp.get("buckets_count").and_then(Json::as_u64)
        && buckets.len() as u64 != n
    {
        errs.push(format!(
            "buckets_count: got {}, expected {n}",
            buckets.len()
        ));
    }
    let mut used = vec![false; buckets.len()];
    for (i, eb) in expected.iter().enumerate() {
        let candidates: Vec<usize> = (0..buckets.len())
            .filter(|&j| !used[j])
            .filter(|&j| {
                eb.get("bucket")
                    .is_none_or(|b| buckets[j].get("bucket") == Some(b))
            })
            .filter(|&j| {
                eb.get("grouped_by")
                    .is_none_or(|g| buckets[j].get("grouped_by") == Some(g))
            })
            .collect();
        let Some(&first) = candidates.first() else {
            errs.push(format!(
                "bucket[{i}] {} {}: not found",
                eb["bucket"], eb["grouped_by"]
            ));
            continue;
        };
        let chosen = candidates
            .iter()
            .copied()
            .find(|&j| field_errors(&buckets[j], eb, "", q).is_empty())
            .unwrap_or(first);
        errs.extend(field_errors(
            &buckets[chosen],
            eb,
            &format!("bucket[{i}]"),
            q,
        ));
        used[chosen] = true;
    }
    errs
}

#[test]
fn every_public_aggregation_case_passes_through_the_binary() {
    let lines: Vec<String> = case_lines()
        .into_iter()
        .filter(|l| kind(&serde_json::from_str(l).unwrap()) == "aggregation")
        .collect();
    assert_eq!(lines.len(), 125, "the public set has 125 aggregation cases");
    let out = run(&["aggregate"], &(lines.join("\n") + "\n"));
    assert_eq!(
        out.lines.len(),
        lines.len(),
        "one result per request: {}",
        out.stderr
    );
    assert_eq!(out.status, 0, "every request aggregated");
    let mut failures = Vec::new();
    for (line, result) in lines.iter().zip(&out.lines) {
        let case: Json = serde_json::from_str(line).unwrap();
        assert_eq!(result["id"], case["id"], "results come in input order");
        let buckets = result["buckets"].as_array().cloned().unwrap_or_default();
        let errs = compare(&buckets, &case["expected"], &case);
        if !errs.is_empty() {
            failures.push(format!("{}: {}", case["id"], errs.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn metric_filters(case: &Json) -> Vec<MetricFilter> {
    let list = case["billable_metric"]["filters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|f| MetricFilter {
            key: f["key"].as_str().unwrap().to_string(),
            values: f["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

fn charge_filters(case: &Json) -> Vec<ChargeFilterSpec> {
    let list = case["charge_filters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|f| {
            let values = f["values"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let vs = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string());
                    (k.clone(), vs.collect())
                })
                .collect();
            let mut spec = ChargeFilterSpec::new(values);
            spec.created_rank = f["created_rank"].as_i64();
            spec
        })
        .collect()
}

fn as_json_map(values: &[(String, Vec<String>)]) -> Json {
    Json::Object(values.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

#[test]
fn the_unit_level_public_cases_hold() {
    let mut checked = 0;
    for line in case_lines() {
        let case: Json = serde_json::from_str(&line).unwrap();
        let id = case["id"].clone();
        match kind(&case) {
            "charge_filter_resolution" => {
                let current = case["current_filter"].as_u64().map(|i| i as usize);
                let scope =
                    FilterScope::of(&charge_filters(&case), &metric_filters(&case), current);
                assert_eq!(
                    as_json_map(&scope.matching),
                    case["expected"]["matching_filters"],
                    "{id}"
                );
                let ignored: Vec<Json> = scope.ignored.iter().map(|m| as_json_map(m)).collect();
                assert_eq!(
                    Json::Array(ignored),
                    case["expected"]["ignored_filters"],
                    "{id}"
                );
            }
            "event_filter_matching" => {
                let props = case["event"]["properties"].as_object().unwrap();
                let texts: Vec<(String, String)> = props
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect();
                let pairs: Vec<(&str, Value<'_>)> = props
                    .iter()
                    .zip(&texts)
                    .map(|((k, v), (_, t))| {
                        let value = match v {
                            Json::String(s) => Value::String(s),
                            Json::Number(_) => Value::Number(t),
                            Json::Bool(b) => Value::Bool(*b),
                            Json::Null => Value::Null,
                            _ => Value::Composite(t),
                        };
                        (k.as_str(), value)
                    })
                    .collect();
                let got = event_filter(&charge_filters(&case), &metric_filters(&case), &pairs);
                assert_eq!(
                    got.map(|i| json!(i)).unwrap_or(Json::Null),
                    case["expected"]["charge_filter"],
                    "{id}"
                );
            }
            "rounding" => {
                let bm = &case["billable_metric"];
                let units: Exact = case["units"].as_str().unwrap().parse().unwrap();
                let function = match bm["rounding_function"].as_str() {
                    Some("round") => Some(Rounding::HalfUp),
                    Some("ceil") => Some(Rounding::Ceil),
                    Some("floor") => Some(Rounding::Floor),
                    _ => None,
                };
                let precision = bm["rounding_precision"].as_i64().unwrap_or(0) as i32;
                let got = match function {
                    Some(function) => MetricRounding {
                        function,
                        precision,
                    }
                    .apply(units)
                    .unwrap(),
                    None => units,
                };
                assert_eq!(Some(got), dec(&case["expected"]["units"]), "{id}");
            }
            _ => continue,
        }
        checked += 1;
    }
    assert_eq!(checked, 25, "11 resolutions, 4 matchings, 10 roundings");
}
