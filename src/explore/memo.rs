//! The last costs a budget search evaluated, by grid index. A search ends
//! on the two points its answer reports (the last within the budget and
//! the first over it), so the answer reads their costs from here instead
//! of pricing them again.

use std::cell::Cell;

use ethnum::U256;

/// How many evaluations are kept: the search's last two, with room for a
/// band scan's.
const SLOTS: usize = 4;

/// A small ring of `(index, cost)` pairs (`None`: `rate` overflows there).
#[derive(Default)]
pub(crate) struct Memo {
    slots: Cell<[Option<(U256, Option<i128>)>; SLOTS]>,
    next: Cell<usize>,
}

impl Memo {
    /// The cost at `k`, evaluated by `eval` unless it is kept.
    pub(crate) fn cost(&self, k: U256, eval: impl FnOnce() -> Option<i128>) -> Option<i128> {
        let slots = self.slots.get();
        if let Some((_, c)) = slots.iter().flatten().find(|(i, _)| *i == k) {
            return *c;
        }
        let c = eval();
        let mut slots = slots;
        let at = self.next.get() % SLOTS;
        if let Some(slot) = slots.get_mut(at) {
            *slot = Some((k, c));
        }
        self.slots.set(slots);
        self.next.set(at + 1);
        c
    }
}
