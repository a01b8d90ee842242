//! What `rate` bills for a model amount: the fee's cents, its taxes, the
//! minimum-spend true-up and its taxes, computed by the same functions
//! `Charge::rate` calls (so every rounding and every range failure is
//! rate's own), without building amount details.

use ethnum::U256;

use crate::currency::{Currency, cents_of};
use crate::exact::{self, Figure};
use crate::fee::{self, Priced};
use crate::rate::true_up::true_up_money;
use crate::{ArithmeticError, Charge, Exact, PricingUnit, Tax};

/// The money side of a charge: currency, pricing unit, taxes, minimum.
#[derive(Debug, Clone)]
pub(crate) struct Money<'c> {
    currency: Currency,
    pricing_unit: Option<&'c PricingUnit>,
    taxes: &'c [Tax],
    min: i128,
    /// A unit amount below this always fits every unit figure `rate`
    /// derives from it (half the tightest bound, so the rounding of the
    /// quotient cannot matter).
    safe_unit: Exact,
    /// The two bounds rounded down to integers, for the kernel.
    safe_ints: (i128, i128),
    /// An amount below this always fits every money figure of a fee (the
    /// bound rounded down: a cheaper comparison, still safe).
    safe_floor: Exact,
    /// The most places an amount may have for every figure of its fee to
    /// keep within the 56 an `Exact` holds (`None`: no amount is sure to).
    safe_scale: Option<u32>,
}

/// Totals of one priced amount, as `rate` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    /// `amount_cents`: the fee and the true-up.
    pub amount_cents: i128,
    /// `total_amount_cents`: the same with their taxes.
    pub total_amount_cents: i128,
}

const WHAT: &str = "explore cost";

/// 2^63: the bound of amounts with a 64-bit mantissa.
const SMALL: i128 = 1 << 63;

/// Whether `|x| < 2^63` because its mantissa is (at any scale).
fn below_small(x: Exact) -> bool {
    x.to_i128_parts()
        .is_some_and(|(m, _)| m.unsigned_abs() < SMALL.unsigned_abs())
}

/// 2^95 as an exact value.
fn half_limit() -> Exact {
    Exact::from_parts(false, U256::ONE << 95, 0).unwrap_or(Exact::ZERO)
}

/// `⌊2^95 / x⌋ / 10^places` for `x > 0`, one integer division (0 when the
/// figures leave 256 bits: no bound is then the safe answer).
fn below_half_limit(x: Exact, places: u32) -> Exact {
    let (negative, m, s) = x.to_parts();
    let num = U256::from(10u8)
        .checked_pow(s)
        .and_then(|p| p.checked_mul(U256::ONE << 95));
    match num {
        Some(num) if !negative && m != U256::ZERO => {
            Exact::from_parts(false, num / m, places).unwrap_or(Exact::ZERO)
        }
        _ => Exact::ZERO,
    }
}

impl<'c> Money<'c> {
    pub(crate) fn of(charge: &'c Charge) -> Self {
        let currency = charge.currency;
        let pricing_unit = charge.pricing_unit.as_ref();
        // unit × 100 (pricing-unit cents) × conversion × minor units must
        // stay below 2^96: bound the product of the factors above 1.
        let mut factor = Exact::from(currency.subunit_to_unit().max(1));
        if let Some(pu) = pricing_unit {
            factor = factor
                .times(Exact::from(100u32))
                .figure(WHAT)
                .unwrap_or(factor);
            let conv = pu.conversion_rate.max(Exact::ONE);
            factor = factor.times(conv).figure(WHAT).unwrap_or(half_limit());
        }
        let safe_unit = below_half_limit(factor, 0)
            .minus(Exact::ONE)
            .figure(WHAT)
            .unwrap_or(Exact::ZERO)
            .max(Exact::ZERO);
        // The fee's cents times each tax rate must stay below 2^96 too.
        let rates = Exact::try_sum(charge.taxes.iter().map(|t| t.rate))
            .figure(WHAT)
            .unwrap_or(half_limit());
        let with_taxes = factor
            .times(rates.max(Exact::ONE))
            .figure(WHAT)
            .unwrap_or(half_limit());
        let safe_amount = below_half_limit(with_taxes, 1);
        let int = |x: Exact| x.floor().to_i128().unwrap_or(0).max(0);
        // Each tax's exact amount has the places of the figure it taxes,
        // plus the rate's, plus 2 (percent); the true-up adds at most 4 (a
        // minor unit back to the main unit). With a pricing unit the taxes
        // fall on fiat figures: the conversion rate's places plus 2.
        let rate_places = charge
            .taxes
            .iter()
            .map(|t| t.rate.scale())
            .max()
            .unwrap_or(0);
        let safe_scale = match pricing_unit {
            None => 52u32.checked_sub(rate_places),
            Some(pu) => (pu.conversion_rate.scale() + 2 + rate_places + 4 <= 56).then_some(56),
        };
        Self {
            currency,
            pricing_unit,
            taxes: &charge.taxes,
            min: charge.min_amount_cents,
            safe_unit,
            safe_ints: (int(safe_unit), int(safe_amount)),
            safe_floor: safe_amount.floor(),
            safe_scale,
        }
    }

    pub(crate) fn min(&self) -> i128 {
        self.min
    }

    /// The minor units the band of the minimum is counted in: the currency's,
    /// or pricing-unit cents (the minimum is in pricing-unit cents then).
    pub(crate) fn counted_subunit(&self) -> u32 {
        if self.pricing_unit.is_some() {
            100
        } else {
            self.currency.subunit_to_unit()
        }
    }

    pub(crate) fn has_pricing_unit(&self) -> bool {
        self.pricing_unit.is_some()
    }

    pub(crate) fn currency(&self) -> Currency {
        self.currency
    }

    pub(crate) fn taxes(&self) -> &[Tax] {
        self.taxes
    }

    pub(crate) fn pricing_unit(&self) -> Option<&PricingUnit> {
        self.pricing_unit
    }

    /// Whether a unit amount of `amount / divisor` is certainly in range.
    pub(crate) fn unit_is_safe(&self, amount: Exact, divisor: Exact) -> bool {
        if amount.is_zero() {
            return true;
        }
        // Over at least one unit, an amount below 2^63 is below a bound of
        // at least 2^63 (no product, no wide comparison).
        if self.safe_ints.0 >= SMALL && below_small(amount) && divisor >= Exact::ONE {
            return true;
        }
        match divisor.times(self.safe_unit).figure(WHAT) {
            Ok(bound) => amount <= bound,
            // A bound past the range holds every amount.
            Err(_) => !divisor.is_zero(),
        }
    }

    /// Whether a fee of `amount` certainly fits every money figure, in
    /// magnitude and in places (a tax of 28 places on an amount of 30 has
    /// more than 56: `rate` reports an overflow there).
    pub(crate) fn amount_is_safe(&self, amount: Exact) -> bool {
        self.safe_scale.is_some_and(|s| amount.scale() <= s)
            && ((self.safe_ints.1 >= SMALL && below_small(amount)) || amount < self.safe_floor)
    }

    /// The bounds of [`Self::unit_is_safe`] and [`Self::amount_is_safe`]
    /// rounded down to integers (so still safe).
    pub(crate) fn safe_ints(&self) -> (i128, i128) {
        self.safe_ints
    }

    /// The places an amount may have under [`Self::amount_is_safe`].
    pub(crate) fn safe_scale(&self) -> Option<u32> {
        self.safe_scale
    }

    /// The counted cents of a fee of `amount`: the fee's `amount_cents`, or
    /// its pricing-unit cents.
    pub(crate) fn counted_cents(&self, amount: Exact) -> Option<i128> {
        let sub = Exact::from(self.counted_subunit());
        let precise = amount.times(sub).figure(WHAT).ok()?;
        Some(cents_of(exact::round_half_away(precise, 0)))
    }

    /// `rate`'s totals for a fee of model amount `amount` whose unit amount
    /// is `unit`, with the true-up of the minimum over a full period; `None`
    /// where `rate` reports `arithmetic_overflow`.
    pub(crate) fn totals(&self, amount: Exact, unit: Exact) -> Option<Totals> {
        let priced = Priced {
            amount,
            unit_amount: unit,
        };
        let money = fee::money(&priced, self.currency, self.pricing_unit).ok()?;
        let taxes = fee::taxes(self.taxes, money.amount_cents, money.precise_amount_cents).ok()?;
        let counted = match &money.pricing_unit_details {
            Some(p) => (p.amount_cents, p.precise_amount_cents),
            None => (money.amount_cents, money.precise_amount_cents),
        };
        let up = self.true_up(counted).ok()?;
        Some(Totals {
            amount_cents: money.amount_cents.checked_add(up.amount_cents)?,
            total_amount_cents: taxes
                .total_amount_cents
                .checked_add(up.total_amount_cents)?,
        })
    }

    /// The true-up fee's totals for counted cents `used` (as rate.rs's
    /// `true_up` over one fee and a full period).
    fn true_up(&self, (used, used_precise): (i128, Exact)) -> Result<Totals, ArithmeticError> {
        let none = Totals {
            amount_cents: 0,
            total_amount_cents: 0,
        };
        if self.min <= 0 {
            return Ok(none);
        }
        let min = Exact::try_from(self.min)?;
        let prorated_min = min.times_over(Exact::ONE, Exact::ONE).figure(WHAT)?;
        let Some(money) = true_up_money(
            prorated_min,
            (used, used_precise),
            self.currency,
            self.pricing_unit,
        )?
        else {
            return Ok(none);
        };
        let (cents, precise) = (money.amount_cents, money.precise_amount_cents);
        let taxes = fee::taxes(self.taxes, cents, precise)?;
        self.currency.cents_to_units(precise)?;
        Ok(Totals {
            amount_cents: cents,
            total_amount_cents: taxes.total_amount_cents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bucket, Period, Usage};

    /// Every total agrees with `rate` on a standard charge at 1 per unit.
    #[test]
    fn totals_are_rates_own() {
        let charges = [
            r#"{"charge_model": "standard", "properties": {"amount": "1"},
                "taxes": [{"code": "a", "rate": "19.6"}], "min_amount_cents": 9999}"#,
            r#"{"charge_model": "standard", "properties": {"amount": "1"},
                "applied_pricing_unit": {"code": "c", "conversion_rate": "0.37"},
                "taxes": [{"code": "a", "rate": "5.5"}, {"code": "b", "rate": "10"}],
                "min_amount_cents": 777}"#,
        ];
        for (currency, text) in [
            ("EUR", charges[0]),
            ("KWD", charges[1]),
            ("JPY", charges[1]),
        ] {
            let charge = Charge::from_lago_json(currency, text).unwrap();
            let money = Money::of(&charge);
            for u in ["0", "0.004", "0.005", "3.3", "99.985", "100", "123.456"] {
                let u: Exact = u.parse().unwrap();
                let fees = charge
                    .rate(&[Bucket::new(Usage::new(u))], &Period::full(1))
                    .unwrap();
                let got = money.totals(u, Exact::ONE).unwrap();
                assert_eq!(got.amount_cents, fees.amount_cents, "{currency} {u}");
                assert_eq!(
                    got.total_amount_cents, fees.total_amount_cents,
                    "{currency} {u}"
                );
            }
        }
    }
}
