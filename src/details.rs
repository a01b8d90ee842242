//! Amount details: the per-model breakdown a Lago fee carries.
//!
//! Each variant has exactly the fields of Lago's `amount_details` for its
//! model; the JSON shape itself lives in the `lago` module.

use crate::exact::Exact;

/// The breakdown of a fee's amount, one variant per model.
// Breakdowns of up to three figures are inline (an allocation per fee costs
// more than moving them); the percentage one, ten figures, is boxed: fees
// move through the engine by value, and it would make every fee 250 bytes
// larger.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AmountDetails {
    /// `{}`: standard, dynamic, prorated graduated, true-up fees and
    /// in-advance fees of models without in-advance details.
    #[default]
    Empty,
    /// `{"graduated_ranges": [...]}`.
    Graduated(Vec<GraduatedLine>),
    /// `{"graduated_percentage_ranges": [...]}`.
    GraduatedPercentage(Vec<GraduatedPercentageLine>),
    /// Package details.
    Package(PackageDetails),
    /// Percentage details (in arrears, or the with-minus-without step of a
    /// pay-in-advance event).
    Percentage(Box<PercentageDetails>),
    /// Volume details.
    Volume(VolumeDetails),
}

/// One reached tier of a graduated charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraduatedLine {
    /// The tier's `from_value`.
    pub from_value: Exact,
    /// The tier's `to_value` (`None`: open-ended).
    pub to_value: Option<Exact>,
    /// The tier's flat amount.
    pub flat_unit_amount: Exact,
    /// The tier's unit price, or 0 when no unit falls in the tier.
    pub per_unit_amount: Exact,
    /// Units in the tier.
    pub units: Exact,
    /// `units × per_unit_amount`.
    pub per_unit_total_amount: Exact,
    /// `per_unit_total_amount + flat_unit_amount`.
    pub total_with_flat_amount: Exact,
}

/// One reached tier of a graduated-percentage charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraduatedPercentageLine {
    /// The tier's `from_value`.
    pub from_value: Exact,
    /// The tier's `to_value` (`None`: open-ended).
    pub to_value: Option<Exact>,
    /// The tier's flat amount.
    pub flat_unit_amount: Exact,
    /// The tier's rate, in percent.
    pub rate: Exact,
    /// Units in the tier.
    pub units: Exact,
    /// In arrears `units × rate / 100`; for a pay-in-advance step, the
    /// average per unit including the flat part, rounded to 2 decimals (Q26).
    pub per_unit_total_amount: Exact,
    /// `per_unit_total_amount + flat_unit_amount` (in arrears).
    pub total_with_flat_amount: Exact,
}

/// Package charge details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDetails {
    /// Free units.
    pub free_units: Exact,
    /// Units beyond the free ones (0 when all are free).
    pub paid_units: Exact,
    /// Units per package (0 in Lago's zero-usage shape, Q8).
    pub per_package_size: u64,
    /// Price per package.
    pub per_package_unit_amount: Exact,
}

/// Percentage charge details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentageDetails {
    /// Units of the bucket.
    pub units: Exact,
    /// Free units.
    pub free_units: Exact,
    /// Free events.
    pub free_events: i64,
    /// Paid units.
    pub paid_units: Exact,
    /// Rate, in percent.
    pub rate: Exact,
    /// The percentage part of the amount.
    pub per_unit_total_amount: Exact,
    /// Paid events.
    pub paid_events: i64,
    /// The fixed fee per paid event (0 without paid events).
    pub fixed_fee_unit_amount: Exact,
    /// The fixed fees in all.
    pub fixed_fee_total_amount: Exact,
    /// What the per-transaction min/max added or removed.
    pub min_max_adjustment_total_amount: Exact,
}

/// Volume charge details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeDetails {
    /// The matched tier's flat amount.
    pub flat_unit_amount: Exact,
    /// `per_unit_total_amount / units` (the tier price unless prorated).
    pub per_unit_amount: Exact,
    /// `units × tier price`.
    pub per_unit_total_amount: Exact,
}
