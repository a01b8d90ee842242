//! Grouping keys read from raw JSON: `pricing_group_keys` (or the older
//! `grouped_by`), whose rule is the core's, and `presentation_group_keys`,
//! a display-only list whose shape Lago checks.

use serde_json::{Map, Value};

use super::{Place, Report};
use crate::lago::fields::RawProperties;
use crate::lago::raw::{Raw, RawJson};
use crate::rules;

/// `pricing_group_keys` (or `grouped_by` when it is null): null, `[]` or a
/// list of non-blank strings (semantics.md §8.3: Lago's `all?(&:present?)`).
pub(super) fn group_keys(
    report: &mut Report,
    props: &RawProperties<'_>,
    prefix: &str,
) -> Option<Vec<String>> {
    // Lago validates `pricing_group_keys`, or `grouped_by` when it is null.
    let check = |report: &mut Report, field: &str, raw: &Raw<'_>| -> Option<Vec<String>> {
        let keys = match raw {
            Raw::Null => Some(Vec::new()),
            Raw::Array(v) => serde_json::from_str::<Vec<String>>(v.get()).ok(),
            _ => None,
        };
        let place = Place::key(prefix, field);
        report.check(rules::group_keys(keys, field, &place, &raw.shown()))
    };
    let pgk = Raw::of(props.pricing_group_keys);
    let legacy = Raw::of(props.grouped_by);
    if matches!(pgk, Raw::Null) {
        return check(report, "grouped_by", &legacy);
    }
    let keys = check(report, "pricing_group_keys", &pgk)?;
    // A blank `pricing_group_keys` gives way to `grouped_by` (semantics §1.3).
    if keys.is_empty() && !matches!(legacy, Raw::Null) {
        let mut quiet = Report::default();
        return Some(check(&mut quiet, "grouped_by", &legacy).unwrap_or_default());
    }
    Some(keys)
}

const FIELD: &str = "presentation_group_keys";

/// `presentation_group_keys`: display only, validated as Lago does: each
/// element an object with a non-empty string `value` and, optionally,
/// `options` exactly `{display_in_invoice: bool}`; at most 2; no value
/// twice.
pub(super) fn presentation_keys(report: &mut Report, props: &RawProperties<'_>, prefix: &str) {
    let raw = Raw::of(props.presentation_group_keys);
    if raw.is_blank() {
        return;
    }
    let elements = objects(&raw);
    let all_valid = elements
        .as_ref()
        .is_some_and(|e| e.len() == element_count(&raw) && e.iter().all(valid_element));
    if !all_valid {
        report.violation(
            FIELD,
            "invalid_type",
            format!(
                "{prefix}{FIELD} must be a list of {{value, options}} objects, got {}",
                raw.show()
            ),
        );
    }
    let size = size(&raw);
    if size > 2 {
        report.violation(
            FIELD,
            "too_many_keys",
            format!("{prefix}{FIELD} has {size} keys, at most 2 are allowed"),
        );
    }
    // Duplicates are looked for among the values given, whatever else is
    // wrong with the list.
    let values: Vec<&str> = elements
        .iter()
        .flatten()
        .filter_map(|m| m.get("value").and_then(Value::as_str))
        .collect();
    if values
        .iter()
        .enumerate()
        .any(|(i, v)| values.get(..i).is_some_and(|before| before.contains(v)))
    {
        report.violation(
            FIELD,
            "value_is_duplicated",
            format!("{prefix}{FIELD} repeats a value"),
        );
    }
}

/// The objects among a list's elements; `None` when it is not a list.
fn objects(raw: &Raw<'_>) -> Option<Vec<Map<String, Value>>> {
    let Raw::Array(v) = raw else { return None };
    let items = serde_json::from_str::<Vec<Value>>(v.get()).ok()?;
    Some(
        items
            .into_iter()
            .filter_map(|i| match i {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect(),
    )
}

/// The number of a list's elements (0 when it is not a list).
fn element_count(raw: &Raw<'_>) -> usize {
    match raw {
        Raw::Array(v) => serde_json::from_str::<Vec<RawJson<'_>>>(v.get()).map_or(0, |x| x.len()),
        _ => 0,
    }
}

/// `{value, options}` with a non-blank string value and, when given,
/// options exactly `{display_in_invoice: bool}`.
fn valid_element(m: &Map<String, Value>) -> bool {
    let value_ok = m
        .get("value")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.trim().is_empty());
    let options_ok = match m.get("options") {
        None => true,
        Some(Value::Object(o)) => {
            o.len() == 1 && o.get("display_in_invoice").is_some_and(Value::is_boolean)
        }
        Some(_) => false,
    };
    value_ok && options_ok && m.keys().all(|k| k == "value" || k == "options")
}

/// Lago counts with `size`: elements of a list, characters of a string,
/// keys of an object.
fn size(raw: &Raw<'_>) -> usize {
    match raw {
        Raw::Array(_) => element_count(raw),
        Raw::Object(v) => {
            serde_json::from_str::<Map<String, Value>>(v.get()).map_or(0, |m| m.len())
        }
        Raw::String(s) => s.chars().count(),
        _ => 0,
    }
}
