//! A performance trick of the finishing path, kept here: sorting labels
//! by a 128-bit prefix of their first value first.
//!
//! C1 orders group labels by their values, as text. A billing run sorts
//! hundreds of thousands of labels (each bucket's groups, then each
//! charge's groups across buckets), and comparing two texts is a call to
//! `memcmp` through two `Option<String>`s. Most labels already differ in
//! the first 15 bytes of their first value, so each item gets a key made
//! of them, compared as one integer; only items with equal keys are
//! compared in full.

use std::cmp::Ordering;

/// The order of `items` under `cmp`, stable (equal items keep their
/// order), as indices. `first(item)` must be the bytes of the text `cmp`
/// compares first (text order is byte order), `None` before any text: then
/// the keys never contradict `cmp`. Bytes, not `str`: a label's values are
/// decoded from its key without a UTF-8 check.
pub(crate) fn stable_order<T>(
    items: &[T],
    first: impl Fn(&T) -> Option<&[u8]>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Vec<usize> {
    let mut keyed: Vec<(u128, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (key(first(item)), i))
        .collect();
    // The index breaks every tie, so any sort gives the stable order. A
    // merge sort is used because it finds the sorted runs a list is made
    // of (a charge's fees come bucket by bucket, each bucket sorted) and
    // only merges them.
    keyed.sort_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| match (items.get(*a), items.get(*b)) {
                (Some(x), Some(y)) => cmp(x, y),
                _ => Ordering::Equal,
            })
            .then(a.cmp(b))
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// `None` → 0; a text → a top byte of 1, then its first 15 bytes, padded
/// with zeros. Padding with the lowest byte keeps the map monotone: a
/// text before another never gets a greater key (a tie is broken by the
/// full comparison).
fn key(text: Option<&[u8]>) -> u128 {
    let Some(text) = text else { return 0 };
    let mut bytes = [0u8; 16];
    let n = text.len().min(15);
    if let (Some(to), Some(from)) = (bytes.get_mut(1..=n), text.get(..n)) {
        to.copy_from_slice(from);
    }
    // The top byte: 1.
    u128::from_be_bytes(bytes) | 1 << 120
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(texts: &[Option<&str>]) -> Vec<usize> {
        stable_order(texts, |t| t.map(str::as_bytes), |a, b| a.cmp(b))
    }

    #[test]
    fn agrees_with_a_stable_sort() {
        let texts = [
            Some("agent_17"),
            None,
            Some("agent_148"),
            Some(""),
            Some("agent_1"),
            Some("an identical prefix of 15+ bytes, b"),
            Some("an identical prefix of 15+ bytes, a"),
            Some("agent_1"),
            Some("a\u{0}"),
            Some("a"),
            None,
        ];
        let mut expected: Vec<usize> = (0..texts.len()).collect();
        expected.sort_by(|&a, &b| texts[a].cmp(&texts[b]));
        assert_eq!(order(&texts), expected);
        // Equal texts keep their order: 4 before 7, 1 before 10.
        assert_eq!(&expected[..2], &[1, 10]);
    }

    #[test]
    fn merges_sorted_runs_as_a_stable_sort() {
        // Three buckets' labels, each run sorted, as a charge's fees come;
        // "agent_1" is in two runs and keeps run order (2 before 5).
        let texts = [
            Some("agent_1"),
            Some("agent_3"),
            Some("agent_1"),
            Some("agent_2"),
            Some("agent_4"),
            Some("agent_1"),
            None,
            Some("an identical prefix of 15+ bytes, a"),
        ];
        assert_eq!(order(&texts), [6, 0, 2, 5, 3, 1, 4, 7]);
    }

    #[test]
    fn keys_never_contradict_the_text_order() {
        // Around the 15 bytes a key holds: 14, 15, 16 and 17 bytes.
        let texts = [
            "",
            "a",
            "a\u{0}",
            "ab",
            "b",
            "agent_148",
            "agent_17",
            "abcdefghijklmn",
            "abcdefghijklmno",
            "abcdefghijklmnoa",
            "abcdefghijklmnob",
            "abcdefghijklmnoab",
        ];
        for a in texts {
            for b in texts {
                if a < b {
                    assert!(
                        key(Some(a.as_bytes())) <= key(Some(b.as_bytes())),
                        "{a:?} < {b:?}"
                    );
                }
            }
            assert!(key(None) < key(Some(a.as_bytes())));
        }
    }
}
