//! meterprice: placeholder docs, rewritten below.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::float_arithmetic)]

mod charge;
mod decimal_text;
mod details;
mod error;
mod exact;
mod fee;
mod lago;
mod models;
mod money;
mod rate;
mod tiers;
mod usage;
mod validate;

pub use charge::{Charge, ChargeFilter, Labels, PricingUnit, Tax};
pub use details::{
    AmountDetails, GraduatedLine, GraduatedPercentageLine, PackageDetails, PercentageDetails,
    VolumeDetails,
};
pub use error::{
    ArithmeticError, DefinitionError, ParseExactError, RateError, UsageError, ValidationError,
    Violation,
};
pub use exact::Exact;
pub use fee::{AppliedTax, Fee, FeeTaxes, PricingUnitDetails, Projection};
pub use lago::{Outcome, rate_json};
pub use models::{
    ChargeModel, Graduated, GraduatedPercentage, ModelOutcome, Package, Percentage, RateTierPrice,
    Standard, TierPrice, Volume,
};
pub use money::Currency;
pub use rate::{Bucket, ChargeFees, Event, Period};
pub use tiers::{Tier, Tiers};
pub use usage::Usage;
