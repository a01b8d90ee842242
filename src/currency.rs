//! Currencies, minor units and rounding to cents.

use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure};

/// A currency Lago accepts, with its minor unit (semantics.md §9).
///
/// ```
/// use meterprice::Currency;
/// let jpy = Currency::from_code("JPY").unwrap();
/// assert_eq!(jpy.exponent(), 0);
/// assert_eq!(Currency::from_code("KWD").unwrap().subunit_to_unit(), 1000);
/// assert!(Currency::from_code("XYZ").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    subunit_to_unit: u32,
    exponent: u32,
}

/// Codes whose minor unit is 1 (exponent 0).
const SUBUNIT_1: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "HUF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
    "VND", "VUV", "XAF", "XOF", "XPF",
];
/// Codes whose minor unit is 1/1000 (exponent 3).
const SUBUNIT_1000: &[&str] = &["BHD", "JOD", "KWD"];
/// Codes whose minor unit is 1/100 (exponent 2).
const SUBUNIT_100: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY",
    "COP", "CRC", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "IDR", "ILS", "INR",
    "IRR", "JMD", "KES", "KGS", "KHR", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD",
    "MDL", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
    "RUB", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLL", "SOS", "SRD", "STD", "SZL", "THB",
    "TJS", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "WST", "XCD", "YER",
    "ZAR", "ZMW",
];

impl Currency {
    /// The currency with this ISO 4217 code, if Lago accepts it.
    pub fn from_code(code: &str) -> Option<Self> {
        // The lists are sorted (a unit test checks it): binary search.
        let find = |list: &[&'static str]| {
            list.binary_search(&code)
                .ok()
                .and_then(|i| list.get(i).copied())
        };
        if let Some(c) = find(SUBUNIT_100) {
            return Some(Self {
                code: c,
                subunit_to_unit: 100,
                exponent: 2,
            });
        }
        if let Some(c) = find(SUBUNIT_1) {
            return Some(Self {
                code: c,
                subunit_to_unit: 1,
                exponent: 0,
            });
        }
        if let Some(c) = find(SUBUNIT_1000) {
            return Some(Self {
                code: c,
                subunit_to_unit: 1000,
                exponent: 3,
            });
        }
        match code {
            "CLF" => Some(Self {
                code: "CLF",
                subunit_to_unit: 10_000,
                exponent: 4,
            }),
            // Legacy ouguiya: 5 khoums to the unit (semantics.md §9, M7).
            "MRO" => Some(Self {
                code: "MRO",
                subunit_to_unit: 5,
                exponent: 1,
            }),
            _ => None,
        }
    }

    /// The pricing-unit "currency": always two decimals (semantics.md §4.6).
    pub(crate) const PRICING_UNIT: Self = Self {
        code: "",
        subunit_to_unit: 100,
        exponent: 2,
    };

    /// The ISO code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Minor units per main unit (100 for EUR, 1 for JPY, 5 for MRO).
    pub fn subunit_to_unit(&self) -> u32 {
        self.subunit_to_unit
    }

    /// Exact places of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// `amount` scaled to minor units, unrounded (`precise_amount_cents`).
    pub(crate) fn to_precise_cents(self, amount: Exact) -> Result<Exact, ArithmeticError> {
        amount
            .times(Exact::from(self.subunit_to_unit))
            .figure("precise_amount_cents")
    }

    /// `amount` in minor units, rounded half away from zero (`amount_cents`)
    /// and unrounded (`precise_amount_cents`), scaling once. For a
    /// power-of-ten minor unit this is rounding at the exponent; for MRO it
    /// rounds `amount × 5` (M7).
    pub(crate) fn cents_and_precise(self, amount: Exact) -> Result<(i128, Exact), ArithmeticError> {
        let precise = self.to_precise_cents(amount)?;
        Ok((cents_of(precise.round_half_away(0)), precise))
    }

    /// `amount` in minor units truncated toward zero (`unit_amount_cents`, Q17).
    pub(crate) fn to_cents_truncated(self, amount: Exact) -> Result<i128, ArithmeticError> {
        let scaled = amount
            .times(Exact::from(self.subunit_to_unit))
            .figure("unit_amount_cents")?;
        Ok(cents_of(scaled.trunc()))
    }

    /// Minor units back to the main unit for a derived figure (a prorated
    /// minimum, a unit amount): exact when the quotient terminates (M3),
    /// else rounded to 28 significant digits like any quotient.
    pub(crate) fn cents_to_units_rounded(self, cents: Exact) -> Result<Exact, ArithmeticError> {
        cents
            .over(Exact::from(self.subunit_to_unit))
            .figure("amount from cents")
    }

    /// Minor units back to the main unit, exactly: a fifth is two tenths,
    /// so even the 1/5 minor unit needs no rounding division.
    pub(crate) fn cents_to_units(self, cents: Exact) -> Result<Exact, ArithmeticError> {
        let units = if self.subunit_to_unit == 5 {
            cents.times(Exact::from(2u32)).and_then(|x| x.div_pow10(1))
        } else {
            cents.div_pow10(self.exponent)
        };
        units.figure("amount from cents")
    }
}

/// An integral figure (cents: rounded or truncated) as a 128-bit integer.
/// Figures are below 2^96, so it always fits.
pub(crate) fn cents_of(integral: Exact) -> i128 {
    let cents = integral.trunc().to_i128();
    debug_assert!(cents.is_some(), "a figure of 2^127 or more: {integral}");
    cents.unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    fn d(s: &str) -> Exact {
        Exact::from_str(s).unwrap()
    }

    #[test]
    fn table_has_all_codes_of_semantics_9() {
        // 18 + 3 + 1 (CLF) + 1 (MRO) + 119 = 142 codes.
        let count = SUBUNIT_1.len() + SUBUNIT_1000.len() + SUBUNIT_100.len() + 2;
        assert_eq!(count, 142);
    }

    #[test]
    fn code_lists_are_sorted_for_binary_search() {
        for list in [SUBUNIT_1, SUBUNIT_100, SUBUNIT_1000] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
        for code in SUBUNIT_100.iter().chain(SUBUNIT_1).chain(SUBUNIT_1000) {
            assert_eq!(Currency::from_code(code).map(|c| c.code()), Some(*code));
        }
    }

    #[test]
    fn cents_round_half_away_at_the_exponent() {
        let eur = Currency::from_code("EUR").unwrap();
        assert_eq!(eur.cents_and_precise(d("0.125")).unwrap().0, 13);
        assert_eq!(eur.cents_and_precise(d("-0.125")).unwrap().0, -13);
        assert_eq!(eur.cents_and_precise(d("0.004")).unwrap().0, 0);
        // KWD: 0.4995 → 0.500 → 500 fils.
        assert_eq!(
            Currency::from_code("KWD")
                .unwrap()
                .cents_and_precise(d("0.4995"))
                .unwrap()
                .0,
            500
        );
        // JPY: 2.5 yen → 3.
        assert_eq!(
            Currency::from_code("JPY")
                .unwrap()
                .cents_and_precise(d("2.5"))
                .unwrap()
                .0,
            3
        );
        // MRO (M7): 1.3 × 5 = 6.5 → 7, where Lago truncates to 6.
        assert_eq!(
            Currency::from_code("MRO")
                .unwrap()
                .cents_and_precise(d("1.3"))
                .unwrap()
                .0,
            7
        );
    }

    #[test]
    fn unit_cents_truncate() {
        let eur = Currency::from_code("EUR").unwrap();
        assert_eq!(eur.to_cents_truncated(d("0.0125")).unwrap(), 1);
        assert_eq!(eur.to_cents_truncated(d("10.12345")).unwrap(), 1012);
        assert_eq!(eur.to_cents_truncated(d("-0.0199")).unwrap(), -1);
    }
}
