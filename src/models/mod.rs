//! The seven charge models, one file each.

mod dynamic;
mod graduated;
mod graduated_percentage;
mod package;
mod percentage;
mod prorated_graduated;
mod standard;
mod volume;

pub use graduated::Graduated;
pub use graduated_percentage::GraduatedPercentage;
pub use package::Package;
pub use percentage::{Percentage, PercentageBuilder};
pub use standard::Standard;
pub use volume::Volume;

use crate::exact::Exact;

use crate::currency::Currency;
use crate::details::AmountDetails;
use crate::error::{ArithmeticError, Violation};
use crate::rules;
use crate::usage::Usage;

/// Prices of a graduated or volume tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPrice {
    /// Price per unit in the tier.
    pub per_unit_amount: Exact,
    /// Flat amount billed once the tier is reached.
    pub flat_amount: Exact,
}

/// Prices of a graduated-percentage tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTierPrice {
    /// Rate in percent for the units in the tier.
    pub rate: Exact,
    /// Flat amount billed once the tier is reached.
    pub flat_amount: Exact,
}

impl TierPrice {
    /// A tier's price per unit and flat amount.
    pub fn new(per_unit_amount: Exact, flat_amount: Exact) -> Self {
        Self {
            per_unit_amount,
            flat_amount,
        }
    }

    /// The rules of a range's prices (§8.2): both at least 0.
    pub(crate) fn violations(&self, at: &str) -> Vec<Violation> {
        let per_unit = format!("{at}.per_unit_amount");
        let flat = format!("{at}.flat_amount");
        let (p, f) = (self.per_unit_amount, self.flat_amount);
        [
            rules::amount(p, "per_unit_amount", "invalid_amount", &per_unit, &p),
            rules::amount(f, "flat_amount", "invalid_amount", &flat, &f),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect()
    }
}

impl RateTierPrice {
    /// A tier's rate (in percent) and flat amount.
    pub fn new(rate: Exact, flat_amount: Exact) -> Self {
        Self { rate, flat_amount }
    }

    /// The rules of a range's prices (§8.2): both at least 0, the flat
    /// amount checked first, as Lago lists them.
    pub(crate) fn violations(&self, at: &str) -> Vec<Violation> {
        let flat = format!("{at}.flat_amount");
        let rate = format!("{at}.rate");
        let (f, r) = (self.flat_amount, self.rate);
        [
            rules::amount(f, "flat_amount", "invalid_amount", &flat, &f),
            rules::amount(r, "rate", "invalid_rate", &rate, &r),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect()
    }
}

/// A validated charge model with its properties.
///
/// Every variant is built by a validating constructor
/// ([`Standard::try_new`], [`Graduated::try_new`], [`Package::try_new`],
/// [`Percentage::builder`], …) or read from Lago's JSON (with the `lago`
/// feature), so a `ChargeModel` is always valid and pricing never checks
/// again.
// A charge is parsed once and priced many times; its variants stay inline.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChargeModel {
    /// A price per unit.
    Standard(Standard),
    /// Each unit at the price of its tier.
    Graduated(Graduated),
    /// A rate per tier.
    GraduatedPercentage(GraduatedPercentage),
    /// A price per started package.
    Package(Package),
    /// A rate on the units, with free units, fixed fee and bounds.
    Percentage(Percentage),
    /// All units at the price of the tier the total falls in.
    Volume(Volume),
    /// The events carry their own price.
    Dynamic,
}

/// What a model gives for one bucket: the exact amount (main currency
/// units, or pricing units), the unit amount and the amount details.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelOutcome {
    /// The exact, unrounded amount.
    pub amount: Exact,
    /// `amount` per unit: a quotient, exact when it terminates, else
    /// rounded to 28 significant digits (M3).
    pub unit_amount: Exact,
    /// The per-model breakdown.
    pub details: AmountDetails,
}

/// How a model is applied beyond the usage itself.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context<'a> {
    /// The charge is prorated (volume picks its tier on the full units;
    /// graduated becomes prorated graduated).
    pub prorated: bool,
    /// The pay-in-advance "without" side of the period's first event (M11).
    pub first_event_excluded: bool,
    /// Percentage running totals to reuse (pay-in-advance "without" side).
    pub running_total: Option<&'a [Exact]>,
    /// The amount without the graduated amount details or the unit amount
    /// (customer usage's JSON shows neither).
    pub amounts_only: bool,
}

/// The models meterprice prices, without their properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelKind {
    Standard,
    Graduated,
    GraduatedPercentage,
    Package,
    Percentage,
    Volume,
    Dynamic,
}

impl ModelKind {
    /// The kind Lago names `name`.
    #[cfg(feature = "lago")]
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "standard" => Self::Standard,
            "graduated" => Self::Graduated,
            "graduated_percentage" => Self::GraduatedPercentage,
            "package" => Self::Package,
            "percentage" => Self::Percentage,
            "volume" => Self::Volume,
            "dynamic" => Self::Dynamic,
            _ => return None,
        })
    }

    /// The model's name as Lago spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Graduated => "graduated",
            Self::GraduatedPercentage => "graduated_percentage",
            Self::Package => "package",
            Self::Percentage => "percentage",
            Self::Volume => "volume",
            Self::Dynamic => "dynamic",
        }
    }
}

impl ChargeModel {
    /// The model's name as Lago spells it.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The model's kind.
    pub(crate) fn kind(&self) -> ModelKind {
        match self {
            Self::Standard(_) => ModelKind::Standard,
            Self::Graduated(_) => ModelKind::Graduated,
            Self::GraduatedPercentage(_) => ModelKind::GraduatedPercentage,
            Self::Package(_) => ModelKind::Package,
            Self::Percentage(_) => ModelKind::Percentage,
            Self::Volume(_) => ModelKind::Volume,
            Self::Dynamic => ModelKind::Dynamic,
        }
    }

    /// Applies the model to one bucket's usage, in arrears and not prorated.
    /// `currency` matters only to `dynamic`, whose event prices are in minor
    /// units.
    ///
    /// # Errors
    /// [`ArithmeticError`] when an exact figure leaves the decimal range.
    pub fn apply(
        &self,
        usage: &Usage,
        currency: Currency,
    ) -> Result<ModelOutcome, ArithmeticError> {
        self.apply_with(usage, currency, Context::default())
    }

    pub(crate) fn apply_with(
        &self,
        usage: &Usage,
        currency: Currency,
        ctx: Context<'_>,
    ) -> Result<ModelOutcome, ArithmeticError> {
        match self {
            Self::Standard(m) => m.apply(usage),
            Self::Graduated(m) if ctx.prorated => m.apply_prorated(usage),
            Self::Graduated(m) => m.apply(usage, ctx.first_event_excluded, ctx.amounts_only),
            Self::GraduatedPercentage(m) => m.apply(usage, ctx.first_event_excluded),
            Self::Package(m) => m.apply(usage),
            Self::Percentage(m) => m.apply(usage, ctx.running_total),
            Self::Volume(m) => m.apply(usage, ctx.prorated),
            Self::Dynamic => dynamic::apply(usage, currency),
        }
    }
}
