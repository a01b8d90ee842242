//! The one search explore does: the end of the run of indices where a
//! monotone predicate holds, starting from a closed-form guess. With an
//! exact guess it costs two evaluations; a wrong one is corrected by
//! galloping and bisection, so an answer never rests on the guess.

use ethnum::U256;

/// The largest `k` in `[lo, hi]` with `holds(k)`, for a predicate that is
/// true on a prefix of the range and false after it; `None` when it fails
/// at `lo`. `guess` is where the caller expects the end.
pub(crate) fn last_true<E>(
    lo: U256,
    hi: U256,
    guess: U256,
    mut holds: impl FnMut(U256) -> Result<bool, E>,
) -> Result<Option<U256>, E> {
    if lo > hi {
        return Ok(None);
    }
    let g = guess.clamp(lo, hi);
    let (mut yes, mut no) = if holds(g)? {
        match gallop_up(g, hi, &mut holds)? {
            (y, None) => return Ok(Some(y)),
            (y, Some(n)) => (y, n),
        }
    } else {
        match gallop_down(lo, g, &mut holds)? {
            (None, _) => return Ok(None),
            (Some(y), n) => (y, n),
        }
    };
    // holds(yes), !holds(no), yes < no.
    while no - yes > U256::ONE {
        let mid = yes + (no - yes) / 2;
        if holds(mid)? {
            yes = mid;
        } else {
            no = mid;
        }
    }
    Ok(Some(yes))
}

/// From a true `g`, steps 1, 2, 4, … up: the last true seen and the first
/// false (`None` when true up to `hi`).
fn gallop_up<E>(
    g: U256,
    hi: U256,
    holds: &mut impl FnMut(U256) -> Result<bool, E>,
) -> Result<(U256, Option<U256>), E> {
    let (mut yes, mut step) = (g, U256::ONE);
    loop {
        if yes == hi {
            return Ok((yes, None));
        }
        let next = if hi - yes > step { yes + step } else { hi };
        if !holds(next)? {
            return Ok((yes, Some(next)));
        }
        yes = next;
        step = step.saturating_mul(U256::from(2u8));
    }
}

/// From a false `g`, steps 1, 2, 4, … down: the first true seen (`None`
/// when false down to `lo`) and the last false.
fn gallop_down<E>(
    lo: U256,
    g: U256,
    holds: &mut impl FnMut(U256) -> Result<bool, E>,
) -> Result<(Option<U256>, U256), E> {
    let (mut no, mut step) = (g, U256::ONE);
    loop {
        if no == lo {
            return Ok((None, no));
        }
        let next = if no - lo > step { no - step } else { lo };
        if holds(next)? {
            return Ok((Some(next), no));
        }
        no = next;
        step = step.saturating_mul(U256::from(2u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(lo: u64, hi: u64, guess: u64, end: Option<u64>) -> Option<u64> {
        let pred = |k: U256| -> Result<bool, ()> { Ok(end.is_some_and(|e| k <= U256::from(e))) };
        last_true(U256::from(lo), U256::from(hi), U256::from(guess), pred)
            .unwrap()
            .map(|k| k.as_u64())
    }

    #[test]
    fn any_guess_finds_the_end() {
        for end in [None, Some(0), Some(3), Some(17), Some(99), Some(100)] {
            for guess in [0, 1, 3, 16, 17, 18, 50, 100, 1000] {
                let want = end.map(|e| e.min(100));
                assert_eq!(find(0, 100, guess, end), want, "end {end:?} guess {guess}");
            }
        }
        // A range that starts after the end holds nowhere.
        assert_eq!(find(5, 10, 7, Some(3)), None);
    }
}
