//! What a result's fees hold in the `rate` contract's JSON
//! (docs/rating-json.md), and in which order: written once, for the fast
//! writer (`write.rs`) and for serde (`serde_impls.rs`) alike, so `meterprice
//! rate` and `serde_json::to_string(&fees)` give the same bytes.

use crate::details::{
    AmountDetails, GraduatedLine, GraduatedPercentageLine, PackageDetails, PercentageDetails,
    VolumeDetails,
};
use crate::exact::Exact;
use crate::fee::{AppliedTax, Fee, PricingUnitDetails};
use crate::rate::ChargeFees;

/// Where an object's members go: the fast writer, or a serde map.
pub(crate) trait Sink {
    type Error;
    /// A decimal, as a plain-notation string.
    fn dec(&mut self, key: &'static str, value: Exact) -> Result<(), Self::Error>;
    /// An integer (counts, cents).
    fn int(&mut self, key: &'static str, value: i128) -> Result<(), Self::Error>;
    fn boolean(&mut self, key: &'static str, value: bool) -> Result<(), Self::Error>;
    /// A string, or `null`.
    fn string(&mut self, key: &'static str, value: Option<&str>) -> Result<(), Self::Error>;
    /// A tier bound: an integer when integral, else a decimal string, or
    /// `null` for an open tier (M4).
    fn bound(&mut self, key: &'static str, value: Option<Exact>) -> Result<(), Self::Error>;
    /// An object, or `null`.
    fn object<S: Shape + ?Sized>(
        &mut self,
        key: &'static str,
        value: Option<&S>,
    ) -> Result<(), Self::Error>;
    /// A list of objects.
    fn list<S: Shape, I: Iterator<Item = S> + Clone>(
        &mut self,
        key: &'static str,
        items: I,
    ) -> Result<(), Self::Error>;
    /// A filter's `{key: [values]}` in the order given, or `null`.
    fn filter_values(
        &mut self,
        key: &'static str,
        values: Option<&[(String, Vec<String>)]>,
    ) -> Result<(), Self::Error>;
    /// A group label `{key: value or null}` in the order given, or `null`.
    fn label(
        &mut self,
        key: &'static str,
        label: Option<&[(String, Option<String>)]>,
    ) -> Result<(), Self::Error>;
}

/// The members of one of the contract's objects, in its order.
pub(crate) trait Shape {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error>;
}

impl<S: Shape + ?Sized> Shape for &S {
    #[inline(always)]
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        (**self).write(k)
    }
}

/// A result without its `id`: the fees, the true-up and the totals.
impl Shape for ChargeFees {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.list("fees", self.fees.iter())?;
        k.object("true_up_fee", self.true_up_fee.as_ref())?;
        k.int("fees_amount_cents", self.fees_amount_cents)?;
        k.int("amount_cents", self.amount_cents)?;
        k.int("taxes_amount_cents", self.taxes_amount_cents)?;
        k.int("total_amount_cents", self.total_amount_cents)
    }
}

/// One fee, with what it shows of its charge.
impl Shape for Fee {
    #[inline]
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        let currency = self.echo.currency.code();
        k.string("charge_model", Some(self.echo.model))?;
        k.dec("units", self.units)?;
        k.int("events_count", i128::from(self.events_count))?;
        k.dec("amount", self.amount)?;
        k.int("amount_cents", self.amount_cents)?;
        k.dec("precise_amount_cents", self.precise_amount_cents)?;
        k.int("unit_amount_cents", self.unit_amount_cents)?;
        k.dec("precise_unit_amount", self.precise_unit_amount)?;
        k.string("amount_currency", Some(currency))?;
        k.dec("taxes_rate", self.taxes.taxes_rate)?;
        k.int("taxes_amount_cents", self.taxes.taxes_amount_cents)?;
        k.dec(
            "taxes_precise_amount_cents",
            self.taxes.taxes_precise_amount_cents,
        )?;
        k.int("total_amount_cents", self.taxes.total_amount_cents)?;
        k.string("total_amount_currency", Some(currency))?;
        k.boolean("pay_in_advance", self.pay_in_advance)?;
        k.boolean("invoiceable", self.echo.invoiceable)?;
        k.object("amount_details", Some(&self.amount_details))?;
        let taxes = self.taxes.applied.iter().map(|tax| Taxed { tax, currency });
        k.list("applied_taxes", taxes)?;
        k.object("pricing_unit_details", self.pricing_unit_details.as_deref())?;
        k.object("item", Some(&Item(self)))?;
        if let Some(p) = &self.projection {
            k.dec("projected_units", p.projected_units)?;
            k.dec("projected_amount", p.projected_amount)?;
            k.int("projected_amount_cents", p.projected_amount_cents)?;
        }
        Ok(())
    }
}

/// A tax on a fee, in the fee's currency.
#[derive(Clone, Copy)]
struct Taxed<'a> {
    tax: &'a AppliedTax,
    currency: &'a str,
}

impl Shape for Taxed<'_> {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        let t = self.tax;
        k.string("tax_code", Some(&t.code))?;
        k.string("tax_name", t.name.as_deref())?;
        k.dec("tax_rate", t.rate)?;
        k.int("amount_cents", t.amount_cents)?;
        k.dec("precise_amount_cents", t.precise_amount_cents)?;
        k.string("amount_currency", Some(self.currency))
    }
}

/// A fee's `item`: what it bills (a true-up is a charge fee in Lago too).
struct Item<'a>(&'a Fee);

impl Shape for Item<'_> {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        let (fee, echo) = (self.0, &self.0.echo);
        let labels = &echo.labels;
        let metric_name = labels.billable_metric_name.as_deref();
        let filter = fee.filter.and_then(|i| echo.filters.get(i));
        k.string("type", Some("charge"))?;
        k.string("code", labels.billable_metric_code.as_deref())?;
        k.string("name", metric_name)?;
        let display = labels.invoice_display_name.as_deref().or(metric_name);
        k.string("invoice_display_name", display)?;
        let filter_name = filter.map(|f| f.display_name.as_str());
        k.string("filter_invoice_display_name", filter_name)?;
        k.filter_values("filters", filter.map(|f| f.values.as_slice()))?;
        k.label("grouped_by", fee.grouped_by.as_deref())
    }
}

impl Shape for PricingUnitDetails {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.string("pricing_unit_code", Some(&self.pricing_unit_code))?;
        k.dec("conversion_rate", self.conversion_rate)?;
        k.int("amount_cents", self.amount_cents)?;
        k.dec("precise_amount_cents", self.precise_amount_cents)?;
        k.int("unit_amount_cents", self.unit_amount_cents)?;
        k.dec("precise_unit_amount", self.precise_unit_amount)
    }
}

/// `amount_details`, with exactly Lago's keys for the model.
impl Shape for AmountDetails {
    #[inline]
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        match self {
            Self::Graduated(lines) => k.list("graduated_ranges", lines.iter()),
            Self::GraduatedPercentage(lines) => k.list("graduated_percentage_ranges", lines.iter()),
            Self::Package(p) => p.write(k),
            Self::Percentage(p) => p.write(k),
            Self::Volume(v) => v.write(k),
            Self::Empty => Ok(()),
        }
    }
}

impl Shape for GraduatedLine {
    #[inline]
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.bound("from_value", Some(self.from_value))?;
        k.bound("to_value", self.to_value)?;
        k.dec("flat_unit_amount", self.flat_unit_amount)?;
        k.dec("per_unit_amount", self.per_unit_amount)?;
        k.dec("units", self.units)?;
        k.dec("per_unit_total_amount", self.per_unit_total_amount)?;
        k.dec("total_with_flat_amount", self.total_with_flat_amount)
    }
}

impl Shape for GraduatedPercentageLine {
    #[inline]
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.bound("from_value", Some(self.from_value))?;
        k.bound("to_value", self.to_value)?;
        k.dec("flat_unit_amount", self.flat_unit_amount)?;
        k.dec("rate", self.rate)?;
        k.dec("units", self.units)?;
        k.dec("per_unit_total_amount", self.per_unit_total_amount)?;
        k.dec("total_with_flat_amount", self.total_with_flat_amount)
    }
}

impl Shape for PackageDetails {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.dec("free_units", self.free_units)?;
        k.dec("paid_units", self.paid_units)?;
        k.int("per_package_size", i128::from(self.per_package_size))?;
        k.dec("per_package_unit_amount", self.per_package_unit_amount)
    }
}

impl Shape for PercentageDetails {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.dec("units", self.units)?;
        k.dec("free_units", self.free_units)?;
        k.int("free_events", i128::from(self.free_events))?;
        k.dec("paid_units", self.paid_units)?;
        k.dec("rate", self.rate)?;
        k.dec("per_unit_total_amount", self.per_unit_total_amount)?;
        k.int("paid_events", i128::from(self.paid_events))?;
        k.dec("fixed_fee_unit_amount", self.fixed_fee_unit_amount)?;
        k.dec("fixed_fee_total_amount", self.fixed_fee_total_amount)?;
        let adjustment = self.min_max_adjustment_total_amount;
        k.dec("min_max_adjustment_total_amount", adjustment)
    }
}

impl Shape for VolumeDetails {
    fn write<K: Sink>(&self, k: &mut K) -> Result<(), K::Error> {
        k.dec("flat_unit_amount", self.flat_unit_amount)?;
        k.dec("per_unit_amount", self.per_unit_amount)?;
        k.dec("per_unit_total_amount", self.per_unit_total_amount)
    }
}
