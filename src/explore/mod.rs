//! Price exploration (docs/explore-json.md): the exact price curve of a
//! charge for a bucket template, the units a budget buys, and where one
//! charge becomes cheaper than another. Every answer is defined through
//! [`Charge::rate`]: `cost(u)` is what `rate` bills for `u` units under the
//! template, and `amount(u)` the exact amount of its fee.
//!
//! ```
//! use meterprice::{Bucket, BudgetQuery, Charge, Exact, Usage};
//!
//! let charge = Charge::from_lago_json("EUR", r#"{"charge_model": "standard",
//!     "properties": {"amount": "0.0003"}}"#)?;
//! let explorer = charge.explore(&Bucket::new(Usage::default()))?;
//! let query = BudgetQuery::new(1000, Exact::ONE, false)?;
//! let answer = explorer.units_for_budget(&query)?;
//! // 33,349 units cost round(1000.47) = 1000 cents; 33,350 cost 1001.
//! assert_eq!(answer.max_units, Some("33349".parse()?));
//! assert_eq!(answer.next_cost_cents, Some(1001));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod band;
mod break_even;
mod budget;
mod cost;
mod curve;
mod curve_fast;
mod grid;
mod kernel;
mod memo;
mod search;
mod shape;
mod skip;

pub use break_even::{Cheaper, Interval, break_even};
#[cfg(feature = "lago")]
pub(crate) use budget::check_step as check_range;
pub use budget::{BudgetAnswer, BudgetQuery};
pub use curve::{Curve, CurvePiece, CurvePoint};

use crate::{ArithmeticError, Bucket, Charge, ChargeModel, Exact, Period, RateError};
use cost::Money;
use shape::Shape;

/// Why an exploration cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExploreError {
    /// The error `rate` gives for the charge under the template at 0 units
    /// (`invalid_usage` or `arithmetic_overflow`).
    #[error("{0}")]
    Rate(RateError),
    /// A charge explore cannot price as a function of the units alone.
    #[error("{0}")]
    Unsupported(String),
    /// A template or an operation's value out of its range (`invalid_usage`).
    #[error("{0}")]
    InvalidUsage(String),
    /// A curve with more canonical pieces than allowed (`invalid_usage`).
    #[error(
        "the curve has {pieces} canonical pieces, more than max_pieces {limit}: ask for a smaller up_to"
    )]
    TooManyPieces {
        /// The curve's canonical pieces up to `up_to` (at least this many).
        pieces: u128,
        /// The limit asked for.
        limit: u128,
    },
    /// An amount of the curve outside the decimal range.
    #[error("{0}")]
    Arithmetic(#[from] ArithmeticError),
}

impl ExploreError {
    /// The explore contract's code: `invalid_usage`, `unsupported` or
    /// `arithmetic_overflow`.
    ///
    /// ```
    /// use meterprice::{Bucket, Charge, ChargeModel, Currency, Standard, Usage};
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let charge = Charge::builder(eur, ChargeModel::Standard(Standard::try_new("1".parse()?)?)).build()?;
    /// let explorer = charge.explore(&Bucket::new(Usage::default()))?;
    /// // A curve up to 0 units is no curve.
    /// let e = explorer.curve("0".parse()?, 10).unwrap_err();
    /// assert_eq!(e.code(), "invalid_usage");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rate(e) => e.code(),
            Self::InvalidUsage(_) | Self::TooManyPieces { .. } => "invalid_usage",
            Self::Unsupported(_) => "unsupported",
            Self::Arithmetic(e) => e.code(),
        }
    }
}

/// A charge and a bucket template, ready to answer questions about the
/// units: built by [`Charge::explore`].
#[derive(Debug, Clone)]
pub struct Explorer<'c> {
    charge: &'c Charge,
    money: Money<'c>,
    shape: Shape,
    band: band::BandRule,
    /// The budget kernel's money side, when it applies.
    cents_cost: Option<kernel::CentsCost>,
    /// The counted cents at 0 units, when the kernel prices them.
    zero_cents: Option<i128>,
    /// The segments a budget search may pass over, worked out at the
    /// first budget question.
    skips: std::sync::OnceLock<skip::Skips>,
}

impl Charge {
    /// Prepares the exploration of this charge for a bucket template: its
    /// `filter`, `grouped_by` and `usage.events_count` (the units are
    /// ignored). The template must carry no `event_values`,
    /// `prorated_event_values`, `full_units_number` or
    /// `precise_total_amount_cents`.
    ///
    /// # Errors
    /// [`ExploreError::InvalidUsage`] for such a template,
    /// [`ExploreError::Rate`] for the error `rate` gives at 0 units,
    /// [`ExploreError::Unsupported`] for `dynamic`, a prorated charge, or a
    /// percentage with free units or per-transaction bounds.
    pub fn explore(&self, template: &Bucket) -> Result<Explorer<'_>, ExploreError> {
        check_template(template)?;
        self.explore_rate_check(template)?;
        self.explore_support(template)?;
        self.explorer(template)
    }

    /// The error `rate` gives under the template at 0 units.
    pub(crate) fn explore_rate_check(&self, template: &Bucket) -> Result<(), ExploreError> {
        let mut at_zero = template.clone();
        at_zero.usage.units = Exact::ZERO;
        self.rate(std::slice::from_ref(&at_zero), &Period::full(1))
            .map(|_| ())
            .map_err(ExploreError::Rate)
    }

    /// Whether explore can price the template's model by its units alone.
    pub(crate) fn explore_support(&self, template: &Bucket) -> Result<(), ExploreError> {
        self.supported(self.template_model(template))
    }

    /// `curve` and `break_even` refuse a charge with a pricing unit.
    pub(crate) fn explore_no_pricing_unit(&self) -> Result<(), ExploreError> {
        if self.pricing_unit.is_some() {
            return Err(ExploreError::Unsupported(
                "curve and break_even are not available for a charge with an applied_pricing_unit: its fiat amount is a staircase of rounded pricing-unit cents".into(),
            ));
        }
        Ok(())
    }

    /// The explorer, once the checks have passed.
    pub(crate) fn explorer(&self, template: &Bucket) -> Result<Explorer<'_>, ExploreError> {
        let model = self.template_model(template);
        let shape = Shape::of(model, template.usage.events_count)?;
        let money = Money::of(self);
        let cents_cost = kernel::CentsCost::of(&money);
        let zero_cents = cents_cost
            .and_then(|_| {
                (!shape.zero.is_negative() && money.amount_is_safe(shape.zero)).then_some(())
            })
            .and_then(|()| money.counted_cents(shape.zero));
        Ok(Explorer {
            charge: self,
            band: Explorer::band_rule(&money),
            cents_cost,
            zero_cents,
            skips: std::sync::OnceLock::new(),
            money,
            shape,
        })
    }

    /// The model that prices the template (rate at 0 units found it).
    fn template_model(&self, template: &Bucket) -> &ChargeModel {
        template
            .filter
            .as_ref()
            .and_then(|sel| self.filters.iter().find(|f| f.selects(sel)))
            .map_or(&self.model, |f| &f.model)
    }

    fn supported(&self, model: &ChargeModel) -> Result<(), ExploreError> {
        let why = match model {
            ChargeModel::Dynamic => {
                Some("a dynamic charge is priced by its events' own prices, not by its units")
            }
            _ if self.prorated => {
                Some("a prorated charge is priced by each event's prorated units, not by its units")
            }
            ChargeModel::Percentage(p)
                if p.free_units_per_events().is_some()
                    || p.free_units_per_total_aggregation().is_some() =>
            {
                Some(
                    "a percentage with free units is priced by each event's value, not by the units alone",
                )
            }
            ChargeModel::Percentage(p)
                if p.per_transaction_min_amount().is_some()
                    || p.per_transaction_max_amount().is_some() =>
            {
                Some(
                    "a percentage with per-transaction bounds is priced event by event, not by the units alone",
                )
            }
            _ => None,
        };
        match why {
            Some(w) => Err(ExploreError::Unsupported(w.into())),
            None => Ok(()),
        }
    }
}

/// A template carries none of the per-event figures.
fn check_template(template: &Bucket) -> Result<(), ExploreError> {
    let u = &template.usage;
    if !u.event_values.is_empty()
        || !u.prorated_event_values.is_empty()
        || u.full_units_number.is_some()
        || u.precise_total_amount_cents.is_some()
    {
        return Err(ExploreError::InvalidUsage(
            "usage: a template sets no event_values, prorated_event_values, full_units_number or precise_total_amount_cents".into(),
        ));
    }
    Ok(())
}

impl Explorer<'_> {
    /// The segments' facts for budget questions.
    pub(crate) fn skips(&self) -> &skip::Skips {
        self.skips
            .get_or_init(|| skip::Skips::of(&self.shape.segments, &self.shape.spans, &self.money))
    }

    /// The charge explored.
    pub fn charge(&self) -> &Charge {
        self.charge
    }

    /// amount(u): the exact amount of `rate`'s fee at `u ≥ 0` units.
    ///
    /// # Errors
    /// [`ArithmeticError`] where the model's figures leave the range.
    pub fn amount_at(&self, units: Exact) -> Result<Exact, ArithmeticError> {
        self.shape.amount(units)
    }

    /// cost(u): `rate`'s `amount_cents` (or `total_amount_cents` with
    /// `including_taxes`) at `u ≥ 0` units; `None` where `rate` reports
    /// `arithmetic_overflow`.
    pub fn cost_at(&self, units: Exact, including_taxes: bool) -> Option<i128> {
        budget::cost_at(self, units, including_taxes)
    }
}
