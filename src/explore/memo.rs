//! The last costs a budget search evaluated, by grid index. A search ends
//! on the two points its answer reports (the last within the budget and
//! the first over it), so the answer reads their costs from here instead
//! of pricing them again.

use std::cell::Cell;

use ethnum::U256;

/// How many evaluations are kept: the search's last two.
const SLOTS: usize = 2;

/// A small ring of `(index, cost)` pairs (`None`: `rate` overflows there);
/// an empty slot holds `U256::MAX`, past every grid index.
pub(crate) struct Memo {
    keys: [Cell<U256>; SLOTS],
    costs: [Cell<Option<i128>>; SLOTS],
    next: Cell<usize>,
}

impl Default for Memo {
    fn default() -> Self {
        Self {
            keys: std::array::from_fn(|_| Cell::new(U256::MAX)),
            costs: std::array::from_fn(|_| Cell::new(None)),
            next: Cell::new(0),
        }
    }
}

impl Memo {
    /// The cost at `k`, evaluated by `eval` unless it is kept.
    pub(crate) fn cost(&self, k: U256, eval: impl FnOnce() -> Option<i128>) -> Option<i128> {
        for (key, cost) in self.keys.iter().zip(&self.costs) {
            if key.get() == k {
                return cost.get();
            }
        }
        let c = eval();
        let at = self.next.get() % SLOTS;
        if let (Some(key), Some(cost)) = (self.keys.get(at), self.costs.get(at)) {
            key.set(k);
            cost.set(c);
        }
        self.next.set(at + 1);
        c
    }
}
