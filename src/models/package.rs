//! `package`: a price per started package of units.

use super::ModelOutcome;
use crate::details::{AmountDetails, PackageDetails};
use crate::error::{ArithmeticError, ValidationError};
use crate::exact::{Exact, Figure, Overflow};
use crate::rules::{self, Violations};
use crate::usage::Usage;

/// A price per package of `package_size` units after `free_units` free ones
/// (semantics.md §2.4; exact package count per M2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub(crate) amount: Exact,
    pub(crate) package_size: u64,
    pub(crate) free_units: u64,
}

impl Package {
    /// A price per started package of `package_size` units, after
    /// `free_units` free ones, checked as Lago checks them (§8.3: the
    /// amount at least 0, the size above 0).
    ///
    /// ```
    /// use meterprice::{ChargeModel, Currency, Package, Usage};
    /// let package = Package::try_new("100".parse()?, 10, 10)?;
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let out = ChargeModel::Package(package).apply(&Usage::new("121".parse()?), eur)?;
    /// // 121 − 10 free = 111 paid units → 12 started packages × 100
    /// assert_eq!(out.amount, "1200".parse()?);
    /// let e = Package::try_new("1".parse()?, 0, 0).unwrap_err();
    /// assert_eq!(e.violations[0].code, "invalid_package_size");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError`] with every violation.
    pub fn try_new(
        amount: Exact,
        package_size: u64,
        free_units: u64,
    ) -> Result<Self, ValidationError> {
        let mut found = Violations::default();
        let amount = found.check(rules::typed_amount(amount, "amount", "invalid_amount"));
        let size = found.check(rules::positive_count(
            Some(i128::from(package_size)),
            "package_size",
            "invalid_package_size",
            &"package_size",
            &package_size,
        ));
        let package = amount.zip(size).map(|(amount, package_size)| Self {
            amount,
            package_size,
            free_units,
        });
        found.finish(package)
    }

    /// Price per package.
    pub fn amount(&self) -> Exact {
        self.amount
    }

    /// Units per package (at least 1).
    pub fn package_size(&self) -> u64 {
        self.package_size
    }

    /// Free units.
    pub fn free_units(&self) -> u64 {
        self.free_units
    }

    /// `ceil(paid / package_size)` packages for `paid > 0`, exactly.
    fn packages(&self, paid: Exact) -> Result<Exact, Overflow> {
        let size = Exact::from(self.package_size);
        // The quotient may be rounded in its last digit; correct the estimate
        // with exact products so the ceiling is never off by one (M2).
        let mut q = paid.over(size)?.floor();
        while q.times(size)? > paid {
            q = q.minus(Exact::ONE)?;
        }
        while q.times(size)? < paid {
            q = q.plus(Exact::ONE)?;
        }
        Ok(q)
    }

    pub(crate) fn apply(&self, usage: &Usage) -> Result<ModelOutcome, ArithmeticError> {
        let units = usage.units;
        let free = Exact::from(self.free_units);
        if units.is_zero() {
            // Lago's zero-usage details ignore the configuration (Q8, kept).
            let details = PackageDetails {
                free_units: Exact::ZERO,
                paid_units: Exact::ZERO,
                per_package_size: 0,
                per_package_unit_amount: Exact::ZERO,
            };
            return Ok(ModelOutcome {
                amount: Exact::ZERO,
                unit_amount: Exact::ZERO,
                details: AmountDetails::Package(details),
            });
        }
        let paid = units.minus(free).figure("package paid_units")?;
        let (amount, paid_units) = if paid.is_negative() && !paid.is_zero() {
            (Exact::ZERO, Exact::ZERO)
        } else {
            let packages = self.packages(paid).figure("package count")?;
            (packages.times(self.amount).figure("package amount")?, paid)
        };
        // Lago divides by the paid units, not all units (Q7, kept).
        let unit_amount = amount.over(paid_units).figure("package unit_amount")?;
        let details = PackageDetails {
            free_units: free,
            paid_units,
            per_package_size: self.package_size,
            per_package_unit_amount: self.amount,
        };
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Package(details),
        })
    }

    pub(crate) fn project(&self, projected_units: Exact) -> Result<Exact, ArithmeticError> {
        if projected_units.is_zero() {
            return Ok(Exact::ZERO);
        }
        let amount = || {
            let paid = projected_units.minus(Exact::from(self.free_units))?;
            if paid <= Exact::ZERO {
                return Ok(Exact::ZERO);
            }
            self.packages(paid)?.times(self.amount)
        };
        amount().figure("package projected_amount")
    }
}
