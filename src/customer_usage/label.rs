//! Group labels: their key order (Lago's `grouped_by` hash follows the
//! pricing group keys) and the stable order of C1.

use crate::plan::PlanCharge;

use super::{Label, UsageBucket};

/// A bucket's label in key order; an empty label is no label.
fn label_of(bucket: &UsageBucket, keys: &[String]) -> Option<Label> {
    let owned = |(k, v): (&str, Option<&str>)| (k.to_string(), v.map(str::to_string));
    label_key(bucket, keys).map(|l| l.into_iter().map(owned).collect())
}

/// Whether `label` names exactly the (distinct) `keys`, each once, in
/// their order, as an aggregation labels its groups: such a label is its
/// own [`label_key`], and C1 orders such labels by their values alone.
pub(super) fn in_key_order(keys: &[String], label: &[(String, Option<String>)]) -> bool {
    label.len() == keys.len() && label.iter().zip(keys).all(|((l, _), k)| l == k) && distinct(keys)
}

/// A label's values in its order: what C1 compares of labels in key
/// order.
pub(super) fn values(label: Option<&Label>) -> impl Iterator<Item = Option<&str>> {
    label.into_iter().flatten().map(|(_, v)| v.as_deref())
}

/// No key given twice (the usual one or two keys: a few comparisons).
pub(crate) fn distinct(keys: &[String]) -> bool {
    keys.iter()
        .enumerate()
        .all(|(i, k)| !keys.get(..i).unwrap_or_default().contains(k))
}

/// A used-up bucket's label in key order ([`label_of`]): a label in key
/// order already (an aggregation's) moves.
pub(super) fn take_label(bucket: &mut UsageBucket, keys: &[String]) -> Option<Label> {
    match bucket.grouped_by.take() {
        Some(label) if !label.is_empty() && in_key_order(keys, &label) => Some(label),
        other => {
            bucket.grouped_by = other;
            label_of(bucket, keys)
        }
    }
}

/// A bucket's label in key order, borrowed: what tells two buckets apart,
/// without copying a string. Keys that are not group keys keep their place
/// after them, for the pricing check to name.
pub(super) fn label_key<'a>(
    bucket: &'a UsageBucket,
    keys: &[String],
) -> Option<Vec<(&'a str, Option<&'a str>)>> {
    let label = bucket.grouped_by.as_ref().filter(|l| !l.is_empty())?;
    let borrow = |(k, v): &'a (String, Option<String>)| (k.as_str(), v.as_deref());
    let mut out: Vec<(&str, Option<&str>)> = keys
        .iter()
        .filter_map(|k| label.iter().find(|(l, _)| l == k).map(borrow))
        .collect();
    out.extend(label.iter().filter(|(l, _)| !keys.contains(l)).map(borrow));
    Some(out)
}

/// A value's place in C1: missing, then null, then the string (by bytes).
type Slot<'a> = Option<Option<&'a str>>;

fn slot<'a>(label: &'a [(String, Option<String>)], key: &str) -> Slot<'a> {
    label
        .iter()
        .find(|(l, _)| l == key)
        .map(|(_, v)| v.as_deref())
}

/// The keys of a label that are not pricing group keys, by name (empty,
/// and not allocated, for the usual label).
fn rest<'a>(
    keys: &[String],
    label: &'a [(String, Option<String>)],
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut rest: Vec<(&str, Option<&str>)> = label
        .iter()
        .filter(|(l, _)| !keys.contains(l))
        .map(|(l, v)| (l.as_str(), v.as_deref()))
        .collect();
    rest.sort_unstable();
    rest
}

/// C1's order of two labels: the ungrouped first; then key by key in the
/// order of the charge's pricing group keys; then any other keys by name.
fn compare(
    keys: &[String],
    a: &[(String, Option<String>)],
    b: &[(String, Option<String>)],
) -> std::cmp::Ordering {
    (!a.is_empty())
        .cmp(&!b.is_empty())
        .then_with(|| {
            let slots = |l| keys.iter().map(move |k| slot(l, k));
            slots(a).cmp(slots(b))
        })
        .then_with(|| rest(keys, a).cmp(&rest(keys, b)))
}

/// `items` in C1 order of their labels (stable: equal labels keep their
/// order). Labels are compared in place, nothing copied: the aggregation
/// gives them in this order already, which one pass confirms (a sort
/// would first allocate scratch space for half the items).
pub(super) fn sort_by_label<T>(
    pc: &PlanCharge,
    items: &mut [T],
    label: impl Fn(&T) -> &[(String, Option<String>)],
) {
    let keys = &pc.charge.group_keys;
    let order = |x: &T, y: &T| compare(keys, label(x), label(y));
    if !items.is_sorted_by(|x, y| order(x, y).is_le()) {
        items.sort_by(order);
    }
}
