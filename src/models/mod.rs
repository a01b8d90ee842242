//! The seven charge models, one file each.

mod dynamic;
mod graduated;
mod graduated_percentage;
mod package;
mod percentage;
mod standard;
mod volume;

pub use graduated::Graduated;
pub use graduated_percentage::GraduatedPercentage;
pub use package::Package;
pub use percentage::Percentage;
pub use standard::Standard;
pub use volume::Volume;

use crate::exact::Exact;

use crate::details::AmountDetails;
use crate::error::ArithmeticError;
use crate::money::Currency;
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

/// A validated charge model with its properties.
///
/// Values are built by validation ([`crate::Charge::from_lago_json`] or the
/// serde edge), so a `ChargeModel` is always valid and pricing never checks
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
    /// `amount` per unit (a quotient, 28 significant digits at most).
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
}

impl ChargeModel {
    /// The model's name as Lago spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Standard(_) => "standard",
            Self::Graduated(_) => "graduated",
            Self::GraduatedPercentage(_) => "graduated_percentage",
            Self::Package(_) => "package",
            Self::Percentage(_) => "percentage",
            Self::Volume(_) => "volume",
            Self::Dynamic => "dynamic",
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
            Self::Graduated(m) => m.apply(usage, ctx.first_event_excluded),
            Self::GraduatedPercentage(m) => m.apply(usage, ctx.first_event_excluded),
            Self::Package(m) => m.apply(usage),
            Self::Percentage(m) => m.apply(usage, ctx.running_total),
            Self::Volume(m) => m.apply(usage, ctx.prorated),
            Self::Dynamic => dynamic::apply(usage, currency),
        }
    }
}
