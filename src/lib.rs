//! meterprice prices metered usage exactly as the billing platform Lago
//! does, and better: given a charge definition and the aggregated usage of a
//! billing period, it computes the fee with its cents, amount details,
//! taxes, true-up minimum and pay-in-advance steps.
//!
//! A charge is built in code with validating constructors and builders
//! ([`Charge::builder`], [`Graduated::try_new`], [`Percentage::builder`],
//! …), or read from Lago's JSON (`Charge::from_lago_json`, the `lago`
//! feature); either way every rule of Lago's validators is checked, with
//! the same violations. The core (this crate without its default features)
//! knows no JSON; the `lago` feature adds Lago's JSON and the JSON Lines
//! contracts, the `serde` feature serde for [`Exact`], the fees (the `rate`
//! contract's JSON, byte for byte) and [`Charge`].
//!
//! ```
//! use meterprice::{Bucket, Charge, ChargeModel, Currency, Exact, Period, Tier, TierPrice};
//! use meterprice::{Usage, Volume};
//! let d = |t: &str| t.parse::<Exact>();
//! let volume = Volume::try_new(vec![
//!     Tier::new(d("0")?, Some(d("100")?), TierPrice::new(d("2")?, d("10")?)),
//!     Tier::new(d("101")?, None, TierPrice::new(d("1")?, d("0")?)),
//! ])?;
//! let eur = Currency::from_code("EUR").ok_or("EUR")?;
//! let charge = Charge::builder(eur, ChargeModel::Volume(volume)).build()?;
//! let usage = Usage::new(d("100.5")?).with_events_count(3);
//! let fees = charge.rate(&[Bucket::new(usage)], &Period::full(30))?;
//! // 100.5 units lie in the span (100, ∞) of the second tier: 100.5 × 1.
//! assert_eq!(fees.fees[0].amount.to_string(), "100.5");
//! assert_eq!(fees.fees[0].amount_cents, 10050);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same charge from Lago's JSON:
//!
//! ```
//! use meterprice::{Bucket, Charge, Period, Usage};
//!
//! let charge = Charge::from_lago_json("EUR", r#"{
//!     "charge_model": "volume",
//!     "properties": {"volume_ranges": [
//!         {"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "10"},
//!         {"from_value": 101, "to_value": null, "per_unit_amount": "1", "flat_amount": "0"}]}
//! }"#)?;
//! let usage = Usage::new("100.5".parse()?).with_events_count(3);
//! let fees = charge.rate(&[Bucket::new(usage)], &Period::full(30))?;
//! // 100.5 units lie in the span (100, ∞) of the second tier: 100.5 × 1.
//! assert_eq!(fees.fees[0].amount.to_string(), "100.5");
//! assert_eq!(fees.fees[0].amount_cents, 10050);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Models
//!
//! | model | amount | amount details |
//! | --- | --- | --- |
//! | `standard` | units × amount | `{}` |
//! | `graduated` | each unit at its tier's price, plus the flat fee of every reached tier | `graduated_ranges[]` |
//! | `graduated_percentage` | a rate per tier on its units, plus flat fees | `graduated_percentage_ranges[]` |
//! | `package` | started packages of `package_size` after `free_units`, × amount | `free_units`, `paid_units`, `per_package_size`, `per_package_unit_amount` |
//! | `percentage` | rate % of the paid units + fixed fee per paid event, or per-event `clamp(v × rate + fixed, min, max)` | `units`, `free_units`, `paid_units`, `free_events`, `paid_events`, `rate`, … |
//! | `volume` | all units at the price of the tier the total falls in, plus its flat fee | `flat_unit_amount`, `per_unit_amount`, `per_unit_total_amount` |
//! | `dynamic` | the events' own prices (`precise_total_amount_cents`) | `{}` |
//!
//! Each model is one [`ChargeModel`] variant, built by validation
//! ([`ChargeModel::from_lago_json`], [`Charge::from_lago_json`]) with every
//! rule of Lago's validators, all violations reported at once.
//! [`ChargeModel::apply`] prices one bucket; [`Charge::rate`] builds fees
//! for buckets (filters, groups, true-up, taxes, pricing units, projection),
//! and [`Charge::rate_event`] or [`Charge::price_step`] price a
//! pay-in-advance step.
//!
//! One example per model (amounts in EUR, arithmetic in comments):
//!
//! ```
//! use meterprice::{ChargeModel, Currency, Usage};
//! let eur = Currency::from_code("EUR").unwrap();
//! let standard = ChargeModel::from_lago_json("standard", r#"{"amount": "5.12345"}"#)?;
//! // 10 × 5.12345
//! assert_eq!(standard.apply(&Usage::new("10".parse()?), eur)?.amount.to_string(), "51.2345");
//!
//! let graduated = ChargeModel::from_lago_json("graduated", r#"{"graduated_ranges": [
//!     {"from_value": 0, "to_value": 10, "per_unit_amount": "10", "flat_amount": "2"},
//!     {"from_value": 11, "to_value": null, "per_unit_amount": "5", "flat_amount": "3"}]}"#)?;
//! // 10 × 10 + 2 + 2 × 5 + 3
//! assert_eq!(graduated.apply(&Usage::new("12".parse()?), eur)?.amount.to_string(), "115");
//!
//! let package = ChargeModel::from_lago_json("package",
//!     r#"{"amount": "100", "package_size": 10, "free_units": 10}"#)?;
//! // 121 − 10 free = 111 paid units → 12 started packages × 100
//! assert_eq!(package.apply(&Usage::new("121".parse()?), eur)?.amount.to_string(), "1200");
//!
//! let volume = ChargeModel::from_lago_json("volume", r#"{"volume_ranges": [
//!     {"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "10"},
//!     {"from_value": 101, "to_value": null, "per_unit_amount": "1", "flat_amount": "0"}]}"#)?;
//! // all 100 units at tier 1: 100 × 2 + 10
//! assert_eq!(volume.apply(&Usage::new("100".parse()?), eur)?.amount.to_string(), "210");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```
//! use meterprice::{ChargeModel, Currency, Usage};
//! let eur = Currency::from_code("EUR").unwrap();
//! let pct = ChargeModel::from_lago_json("percentage", r#"{"rate": "2.99",
//!     "per_transaction_min_amount": "1.75", "per_transaction_max_amount": "12"}"#)?;
//! let usage = Usage::new("10090".parse()?).with_events_count(3)
//!     .with_event_values(vec!["10".parse()?, "80".parse()?, "10000".parse()?]);
//! // max(0.299, 1.75) + 2.392 + min(299, 12)
//! assert_eq!(pct.apply(&usage, eur)?.amount.to_string(), "16.142");
//!
//! let gp = ChargeModel::from_lago_json("graduated_percentage", r#"{"graduated_percentage_ranges": [
//!     {"from_value": 0, "to_value": 10, "rate": "1", "flat_amount": "200"},
//!     {"from_value": 11, "to_value": null, "rate": "2", "flat_amount": "300"}]}"#)?;
//! // 10 × 1 % + 200 + 1 × 2 % + 300
//! assert_eq!(gp.apply(&Usage::new("11".parse()?), eur)?.amount.to_string(), "500.12");
//!
//! let dynamic = ChargeModel::from_lago_json("dynamic", "{}")?;
//! let usage = Usage::new("20".parse()?).with_precise_total_amount_cents("40.2".parse()?);
//! assert_eq!(dynamic.apply(&usage, eur)?.amount.to_string(), "0.402");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Aggregation: from raw events to buckets
//!
//! [`Aggregator`] performs Lago's billable-metric aggregation
//! (`docs/aggregation.md`): a validated [`BillableMetric`] and an
//! [`AggregationSpec`] (period, charge filters and groups, options, carried
//! state) take events one at a time, in any order, and give one
//! [`BucketResult`] per bucket and group — the [`Bucket`]s that
//! [`Charge::rate`] prices ([`AggregationResult::rate_buckets`]), or, for
//! one pay-in-advance event, the step [`Charge::rate_event`] prices.
//! [`aggregate_json`] is the JSON contract (`docs/aggregate-json.md`).
//!
//! # A whole plan: Lago's customer usage object
//!
//! A [`Plan`] holds a currency, taxes and [`PlanCharge`]s (a charge with its
//! [`BillableMetric`]). [`Plan::customer_usage`] prices every charge of the
//! plan for a [`UsagePeriod`] from each charge's aggregated
//! [`UsageBucket`]s into a [`CustomerUsage`]: the object of Lago's
//! `current_usage` endpoint, every bucket present, in a stable order, taxes
//! rounded once over the whole object, and on request the older `groups`
//! and an invoice view with minimum-spend true-ups (`docs/usage.md`).
//! [`usage_json`] is the same behind the `meterprice usage` JSON contract
//! (`docs/usage-json.md`).
//!
//! ```
//! use meterprice::{Plan, PlanUsage, Usage, UsageBucket, UsageMode, UsageOptions, UsagePeriod};
//! let plan = Plan::from_lago_json("EUR", r#"{"taxes": [{"code": "vat", "rate": "20"}],
//!   "charges": [{"code": "storage", "charge_model": "standard", "min_amount_cents": 2000,
//!     "properties": {"amount": "1", "pricing_group_keys": ["cloud"]},
//!     "billable_metric": {"code": "gb", "name": "Storage", "aggregation_type": "sum_agg"}}]}"#)?;
//! let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")?;
//! let group = |cloud: &str| vec![("cloud".to_string(), Some(cloud.to_string()))];
//! let usage = PlanUsage::new().with_buckets("storage", vec![
//!     UsageBucket::new(Usage::new("7".parse()?)).with_group(group("gcp")),
//!     UsageBucket::new(Usage::new("5".parse()?)).with_group(group("aws")),
//! ]);
//! let options = UsageOptions::default().with_mode(UsageMode::Invoice);
//! let cu = plan.customer_usage(&period, &usage, &options)?;
//! let storage = &cu.charges_usage[0];
//! // Groups sorted by label: aws (5 EUR) before gcp (7 EUR).
//! let cents: Vec<i128> = storage.grouped_usage.iter().map(|g| g.totals.amount_cents).collect();
//! assert_eq!(cents, [500, 700]);
//! // 12 EUR used of a 20 EUR minimum: an 8 EUR true-up on the invoice,
//! // taxes (1200 + 800) × 20 % = 400.
//! let invoice = cu.invoice.unwrap();
//! assert_eq!((invoice.amount_cents, invoice.taxes_amount_cents), (2000, 400));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rounding and precision
//!
//! An amount is rounded half away from zero to the currency's minor unit
//! once per fee (`amount_cents`); the exact amount stays in `amount` and
//! `precise_amount_cents`. `unit_amount_cents` is truncated toward zero, as
//! in Lago. Inputs have at most 28 fractional digits and a magnitude below
//! 2^96; they are read exactly from JSON strings and numbers, never through
//! binary floats. Computed figures are [`Exact`]: every sum and product of
//! magnitude below 2^96 with at most 56 fractional digits is held exactly
//! (256-bit mantissa); a result outside that range is an
//! [`ArithmeticError`], never a rounded number. Only a quotient that does
//! not terminate (a unit amount such as 10/3) is rounded, to 28 significant
//! digits.
//!
//! # Departures from Lago
//!
//! meterprice follows Lago except where Lago is numerically wrong, crashes
//! or contradicts itself ([`decisions`], `docs/decisions.md`): one tier rule for
//! tier bounds (M1), exact package counts (M2) and quotients (M3),
//! consistent JSON types (M4), one free-unit allowance for both percentage
//! paths (M5), per-transaction bounds without a licence (M6), MRO rounded on
//! its real minor unit (M7), pay-in-advance pricing units at the right
//! exponent (M8), exact true-up proration without zero true-ups (M9), `{}`
//! details on a true-up (M10), the first flat fee billed once in advance
//! (M11), exact prorated-graduated coefficients (M12), validation errors
//! where Lago's validators crash (M13), and JSON numbers accepted as
//! decimals (M14). The code cites these, and the sections and quirks of
//! Lago's behaviour it follows (`docs/semantics.md` §§, Q1–Q33); every cited
//! rule is in `docs/`.

mod aggregate;
mod charge;
mod currency;
mod customer_usage;
mod details;
mod error;
mod exact;
mod explore;
mod fee;
#[cfg(feature = "lago")]
mod lago;
mod models;
mod plan;
mod rate;
mod rules;
mod tiers;
mod usage;

pub use aggregate::{
    ALL_FILTER_VALUES, AggregateError, AggregationOptions, AggregationResult, AggregationSpec,
    Aggregator, BillingPeriod, BillingPeriodError, BucketId, BucketResult, CachedAggregation,
    CarriedState, ChargeFilterSpec, ChargeModelKind, ChargeSpec, CountAcc, Evaluated,
    EvaluationError, EventMeta, EventOrder, Expression, ExpressionParseError, FilterScope,
    FilterValues, Filters, FreeUnits, GroupLabel, InAdvanceError, InAdvanceEvent, InAdvanceStep,
    KeyMap, LatestAcc, Mapped, MaxAcc, MetricDefinition, MetricFilter, MetricRounding, MetricSpec,
    Named, OutOfRange, PerEvent, Properties, RejectCode, RejectedEvent, Rounding, SetupError,
    SumAcc, TimeZone, Timestamp, TimestampError, TransactionIds, UniqueCountAcc, Value, Warning,
    WeightedSum, WeightedSumAcc, WeightedSumInitial, event_filter, numeric_value,
};
pub use charge::{Charge, ChargeBuilder, ChargeFilter, Labels, PricingUnit, Tax};
pub use currency::Currency;
pub use customer_usage::{
    ChargeRejection, ChargeUsage, ChargeWarning, CustomerUsage, EventsSetup, FilterUsage,
    GroupedUsage, InvoiceTotals, Label, LegacyGroup, PeriodError, PlanAggregator, PlanEvents,
    PlanUsage, PresentationBreakdown, UsageBucket, UsageFee, UsageMode, UsageOptions, UsagePeriod,
    UsageTotals,
};
pub use details::{
    AmountDetails, GraduatedLine, GraduatedPercentageLine, PackageDetails, PercentageDetails,
    VolumeDetails,
};
pub use error::{
    ArithmeticError, DefinitionError, ParseExactError, RateError, UsageError, ValidationError,
    Violation,
};
pub use exact::Exact;
pub use explore::{
    BudgetAnswer, BudgetQuery, Cheaper, Curve, CurvePiece, CurvePoint, ExploreError, Explorer,
    Interval, break_even,
};
pub use fee::{AppliedTax, Fee, FeeTaxes, PricingUnitDetails, Projection};
#[cfg(feature = "plot")]
pub use lago::explore_svg;
#[cfg(feature = "lago")]
pub use lago::{BillingRunError, BillingRunOptions, BillingRunSummary, billing_run};
#[cfg(feature = "lago")]
pub use lago::{
    DEFAULT_MAX_LINE_BYTES, EventReader, EventSyntaxError, Outcome, ReadEvent, ServeError,
    ServeOptions, Summary, aggregate_json, explore_json, parse_lago_decimal, rate_json, serve,
    usage_json, write_amount_details_json,
};
pub use models::{
    ChargeModel, Graduated, GraduatedPercentage, ModelOutcome, Package, Percentage,
    PercentageBuilder, RateTierPrice, Standard, TierPrice, Volume,
};
pub use plan::{AggregationType, BillableMetric, MetricAggregation, Plan, PlanCharge};
pub use rate::{Bucket, ChargeFees, Event, Period};
pub use tiers::{Tier, Tiers};
pub use usage::Usage;

/// meterprice's decisions: where it follows Lago and where it departs
/// (M1–M14 for pricing, AD1–AD10 for aggregation, UD1–UD4 for customer
/// usage). The text of `docs/decisions.md`.
#[doc = include_str!("../docs/decisions.md")]
pub mod decisions {}

/// The README's Rust example runs as a doc test too.
#[cfg(all(doctest, feature = "lago"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// So does the `aggregate` contract's.
#[cfg(all(doctest, feature = "lago"))]
#[doc = include_str!("../docs/aggregate-json.md")]
struct AggregateJsonDoctests;
