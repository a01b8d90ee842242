//! Writing results and errors in the contract's JSON shapes.

use crate::exact::Exact;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::charge::Charge;
use crate::details::{
    AmountDetails, GraduatedLine, GraduatedPercentageLine, PackageDetails, PercentageDetails,
    VolumeDetails,
};
use crate::error::Violation;
use crate::fee::{AppliedTax, Fee, PricingUnitDetails};
use crate::rate::ChargeFees;

/// A decimal written as a normalized plain-notation JSON string.
#[derive(Clone, Copy)]
struct Dec(Exact);

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A tier bound: a JSON integer when integral, else a decimal string (M4).
#[derive(Clone, Copy)]
struct Bound(Option<Exact>);

impl Serialize for Bound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_none(),
            Some(d) if d.to_i128().is_some() => s.serialize_i128(d.to_i128().unwrap_or(0)),
            Some(d) => Dec(d).serialize(s),
        }
    }
}

#[derive(Serialize)]
struct GradLineOut {
    from_value: Bound,
    to_value: Bound,
    flat_unit_amount: Dec,
    per_unit_amount: Dec,
    units: Dec,
    per_unit_total_amount: Dec,
    total_with_flat_amount: Dec,
}

impl From<&GraduatedLine> for GradLineOut {
    fn from(l: &GraduatedLine) -> Self {
        Self {
            from_value: Bound(Some(l.from_value)),
            to_value: Bound(l.to_value),
            flat_unit_amount: Dec(l.flat_unit_amount),
            per_unit_amount: Dec(l.per_unit_amount),
            units: Dec(l.units),
            per_unit_total_amount: Dec(l.per_unit_total_amount),
            total_with_flat_amount: Dec(l.total_with_flat_amount),
        }
    }
}

#[derive(Serialize)]
struct PercentLineOut {
    from_value: Bound,
    to_value: Bound,
    flat_unit_amount: Dec,
    rate: Dec,
    units: Dec,
    per_unit_total_amount: Dec,
    total_with_flat_amount: Dec,
}

impl From<&GraduatedPercentageLine> for PercentLineOut {
    fn from(l: &GraduatedPercentageLine) -> Self {
        Self {
            from_value: Bound(Some(l.from_value)),
            to_value: Bound(l.to_value),
            flat_unit_amount: Dec(l.flat_unit_amount),
            rate: Dec(l.rate),
            units: Dec(l.units),
            per_unit_total_amount: Dec(l.per_unit_total_amount),
            total_with_flat_amount: Dec(l.total_with_flat_amount),
        }
    }
}

#[derive(Serialize)]
struct PackageOut {
    free_units: Dec,
    paid_units: Dec,
    per_package_size: u64,
    per_package_unit_amount: Dec,
}

#[derive(Serialize)]
struct PercentageOut {
    units: Dec,
    free_units: Dec,
    free_events: i64,
    paid_units: Dec,
    rate: Dec,
    per_unit_total_amount: Dec,
    paid_events: i64,
    fixed_fee_unit_amount: Dec,
    fixed_fee_total_amount: Dec,
    min_max_adjustment_total_amount: Dec,
}

#[derive(Serialize)]
struct VolumeOut {
    flat_unit_amount: Dec,
    per_unit_amount: Dec,
    per_unit_total_amount: Dec,
}

/// `amount_details` with exactly Lago's keys for the model.
struct DetailsOut<'a>(&'a AmountDetails);

impl Serialize for DetailsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            AmountDetails::Graduated(lines) => {
                let mut m = s.serialize_map(Some(1))?;
                let out: Vec<GradLineOut> = lines.iter().map(GradLineOut::from).collect();
                m.serialize_entry("graduated_ranges", &out)?;
                m.end()
            }
            AmountDetails::GraduatedPercentage(lines) => {
                let mut m = s.serialize_map(Some(1))?;
                let out: Vec<PercentLineOut> = lines.iter().map(PercentLineOut::from).collect();
                m.serialize_entry("graduated_percentage_ranges", &out)?;
                m.end()
            }
            AmountDetails::Package(PackageDetails {
                free_units,
                paid_units,
                per_package_size,
                per_package_unit_amount,
            }) => PackageOut {
                free_units: Dec(*free_units),
                paid_units: Dec(*paid_units),
                per_package_size: *per_package_size,
                per_package_unit_amount: Dec(*per_package_unit_amount),
            }
            .serialize(s),
            AmountDetails::Percentage(p) => percentage_out(p).serialize(s),
            AmountDetails::Volume(VolumeDetails {
                flat_unit_amount,
                per_unit_amount,
                per_unit_total_amount,
            }) => VolumeOut {
                flat_unit_amount: Dec(*flat_unit_amount),
                per_unit_amount: Dec(*per_unit_amount),
                per_unit_total_amount: Dec(*per_unit_total_amount),
            }
            .serialize(s),
            AmountDetails::Empty => s.serialize_map(Some(0))?.end(),
        }
    }
}

fn percentage_out(p: &PercentageDetails) -> PercentageOut {
    PercentageOut {
        units: Dec(p.units),
        free_units: Dec(p.free_units),
        free_events: p.free_events,
        paid_units: Dec(p.paid_units),
        rate: Dec(p.rate),
        per_unit_total_amount: Dec(p.per_unit_total_amount),
        paid_events: p.paid_events,
        fixed_fee_unit_amount: Dec(p.fixed_fee_unit_amount),
        fixed_fee_total_amount: Dec(p.fixed_fee_total_amount),
        min_max_adjustment_total_amount: Dec(p.min_max_adjustment_total_amount),
    }
}

#[derive(Serialize)]
struct TaxOut<'a> {
    tax_code: &'a str,
    tax_name: Option<&'a str>,
    tax_rate: Dec,
    amount_cents: i128,
    precise_amount_cents: Dec,
    amount_currency: &'a str,
}

#[derive(Serialize)]
struct PricingUnitOut<'a> {
    pricing_unit_code: &'a str,
    conversion_rate: Dec,
    amount_cents: i128,
    precise_amount_cents: Dec,
    unit_amount_cents: i128,
    precise_unit_amount: Dec,
}

/// A `{key: [values]}` or `{key: value}` map in the order given.
struct OrderedMap<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for OrderedMap<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct ItemOut<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: Option<&'a str>,
    name: Option<&'a str>,
    invoice_display_name: Option<&'a str>,
    filter_invoice_display_name: Option<String>,
    filters: Option<OrderedMap<'a, Vec<String>>>,
    grouped_by: Option<OrderedMap<'a, Option<String>>>,
}

#[derive(Serialize)]
struct FeeOut<'a> {
    charge_model: &'a str,
    units: Dec,
    events_count: u64,
    amount: Dec,
    amount_cents: i128,
    precise_amount_cents: Dec,
    unit_amount_cents: i128,
    precise_unit_amount: Dec,
    amount_currency: &'a str,
    taxes_rate: Dec,
    taxes_amount_cents: i128,
    taxes_precise_amount_cents: Dec,
    total_amount_cents: i128,
    total_amount_currency: &'a str,
    pay_in_advance: bool,
    invoiceable: bool,
    amount_details: DetailsOut<'a>,
    applied_taxes: Vec<TaxOut<'a>>,
    pricing_unit_details: Option<PricingUnitOut<'a>>,
    item: ItemOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projected_units: Option<Dec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projected_amount: Option<Dec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projected_amount_cents: Option<i128>,
}

fn fee_out<'a>(charge: &'a Charge, fee: &'a Fee, true_up: bool) -> FeeOut<'a> {
    let currency = charge.currency.code();
    let labels = &charge.labels;
    let filter = fee.filter.and_then(|i| charge.filters.get(i));
    let metric_name = labels.billable_metric_name.as_deref();
    FeeOut {
        charge_model: charge.model.name(),
        units: Dec(fee.units),
        events_count: fee.events_count,
        amount: Dec(fee.amount),
        amount_cents: fee.amount_cents,
        precise_amount_cents: Dec(fee.precise_amount_cents),
        unit_amount_cents: fee.unit_amount_cents,
        precise_unit_amount: Dec(fee.precise_unit_amount),
        amount_currency: currency,
        taxes_rate: Dec(fee.taxes.taxes_rate),
        taxes_amount_cents: fee.taxes.taxes_amount_cents,
        taxes_precise_amount_cents: Dec(fee.taxes.taxes_precise_amount_cents),
        total_amount_cents: fee.taxes.total_amount_cents,
        total_amount_currency: currency,
        pay_in_advance: fee.pay_in_advance,
        invoiceable: charge.invoiceable,
        amount_details: DetailsOut(&fee.amount_details),
        applied_taxes: fee
            .taxes
            .applied
            .iter()
            .map(|t: &AppliedTax| TaxOut {
                tax_code: &t.code,
                tax_name: t.name.as_deref(),
                tax_rate: Dec(t.rate),
                amount_cents: t.amount_cents,
                precise_amount_cents: Dec(t.precise_amount_cents),
                amount_currency: currency,
            })
            .collect(),
        pricing_unit_details: fee
            .pricing_unit_details
            .as_ref()
            .map(|p: &PricingUnitDetails| PricingUnitOut {
                pricing_unit_code: &p.pricing_unit_code,
                conversion_rate: Dec(p.conversion_rate),
                amount_cents: p.amount_cents,
                precise_amount_cents: Dec(p.precise_amount_cents),
                unit_amount_cents: p.unit_amount_cents,
                precise_unit_amount: Dec(p.precise_unit_amount),
            }),
        item: ItemOut {
            kind: if true_up { "true_up" } else { "charge" },
            code: labels.billable_metric_code.as_deref(),
            name: metric_name,
            invoice_display_name: labels.invoice_display_name.as_deref().or(metric_name),
            filter_invoice_display_name: filter.map(|f| f.display_name()),
            filters: filter.map(|f| OrderedMap(&f.values)),
            grouped_by: fee.grouped_by.as_deref().map(OrderedMap),
        },
        projected_units: fee.projection.map(|p| Dec(p.projected_units)),
        projected_amount: fee.projection.map(|p| Dec(p.projected_amount)),
        projected_amount_cents: fee.projection.map(|p| p.projected_amount_cents),
    }
}

#[derive(Serialize)]
struct ResultOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RawValue>,
    fees: Vec<FeeOut<'a>>,
    true_up_fee: Option<FeeOut<'a>>,
    fees_amount_cents: i128,
    amount_cents: i128,
    taxes_amount_cents: i128,
    total_amount_cents: i128,
}

/// Writes a priced result.
pub(crate) fn write_result(
    out: &mut Vec<u8>,
    id: Option<&RawValue>,
    charge: &Charge,
    fees: &ChargeFees,
    pretty: bool,
) -> serde_json::Result<()> {
    let result = ResultOut {
        id,
        fees: fees
            .fees
            .iter()
            .map(|f| fee_out(charge, f, false))
            .collect(),
        true_up_fee: fees.true_up_fee.as_ref().map(|f| fee_out(charge, f, true)),
        fees_amount_cents: fees.fees_amount_cents,
        amount_cents: fees.amount_cents,
        taxes_amount_cents: fees.taxes_amount_cents,
        total_amount_cents: fees.total_amount_cents,
    };
    write(out, &result, pretty)
}

#[derive(Serialize)]
struct DetailOut<'a> {
    field: &'a str,
    code: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Vec<DetailOut<'a>>>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RawValue>,
    error: ErrorBody<'a>,
}

/// Writes an error result.
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    id: Option<&RawValue>,
    code: &str,
    message: &str,
    details: Option<&[Violation]>,
    pretty: bool,
) -> serde_json::Result<()> {
    let body = ErrorBody {
        code,
        message,
        details: details.map(|d| {
            d.iter()
                .map(|v| DetailOut {
                    field: &v.field,
                    code: v.code,
                    message: &v.message,
                })
                .collect()
        }),
    };
    write(out, &ErrorOut { id, error: body }, pretty)
}

fn write<T: Serialize>(out: &mut Vec<u8>, value: &T, pretty: bool) -> serde_json::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(out, value)
    } else {
        serde_json::to_writer(out, value)
    }
}
