//! Group labels: their key order (Lago's `grouped_by` hash follows the
//! pricing group keys) and the stable order of C1.

use crate::plan::PlanCharge;

use super::{Label, UsageBucket};

/// A bucket's label in key order; an empty label is no label.
pub(super) fn label_of(bucket: &UsageBucket, keys: &[String]) -> Option<Label> {
    let label = bucket.grouped_by.as_ref().filter(|l| !l.is_empty())?;
    let mut out: Label = keys
        .iter()
        .filter_map(|k| label.iter().find(|(l, _)| l == k).cloned())
        .collect();
    // Keys that are not group keys keep their place after them, for the
    // pricing check to name.
    out.extend(label.iter().filter(|(l, _)| !keys.contains(l)).cloned());
    Some(out)
}

/// A value's place in C1: missing, then null, then the string (by bytes).
type Slot<'a> = Option<Option<&'a str>>;

/// C1's key of a label: the ungrouped first; then key by key in the order
/// of the charge's pricing group keys; then any other keys by name.
type SortKey<'a> = (bool, Vec<Slot<'a>>, Vec<(&'a str, Option<&'a str>)>);

fn sort_key<'a>(keys: &'a [String], label: &'a [(String, Option<String>)]) -> SortKey<'a> {
    let value = |k: &str| {
        label
            .iter()
            .find(|(l, _)| l == k)
            .map(|(_, v)| v.as_deref())
    };
    let main = keys.iter().map(|k| value(k)).collect();
    let mut rest: Vec<(&str, Option<&str>)> = label
        .iter()
        .filter(|(l, _)| !keys.contains(l))
        .map(|(l, v)| (l.as_str(), v.as_deref()))
        .collect();
    rest.sort_unstable();
    (!label.is_empty(), main, rest)
}

/// `items` in C1 order of their labels (stable: equal labels keep their
/// order), each key computed once.
pub(super) fn sort_by_label<T>(
    pc: &PlanCharge,
    items: Vec<T>,
    label: impl Fn(&T) -> &[(String, Option<String>)],
) -> Vec<T> {
    let keys = &pc.charge.group_keys;
    let mut order: Vec<(SortKey<'_>, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (sort_key(keys, label(item)), i))
        .collect();
    order.sort();
    let ranks: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    ranks
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}
