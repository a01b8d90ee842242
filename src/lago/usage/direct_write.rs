//! The billing run's direct path (a performance trick, quarantined here).
//!
//! A subscription whose charges are all plain is priced group by group
//! and written straight into its line: no aggregation results, no
//! buckets, no fees of 560 bytes, no labels made of strings, no customer
//! usage object to build and drop. The line is byte for byte the one the
//! general path writes (`Plan::customer_usage_written`, `response.rs`):
//! the tests below and the `billing_run` fuzz target compare the two.
//!
//! A subscription this path does not take (a charge that is not plain, a
//! rejected event, a warning), or one it cannot price (an overflow, whose
//! error record the general path words), goes the general way: nothing is
//! taken from its feed here.

use std::cell::Cell;

use crate::aggregate::prefix_sort::stable_order;
use crate::aggregate::{
    Aggregator, BucketId, PlainGroup, decode_bytes, decode_texts, encode_label,
};
use crate::customer_usage::totals::amounts_and_taxes;
use crate::customer_usage::{UsageMode, UsageTotals, distinct};
use crate::exact::Exact;
use crate::lago::response::Json;
use crate::models::ChargeModel;
use crate::plan::PlanCharge;
use crate::usage::Usage;

use super::events::{Feed, write_notes};
use super::request::UsageRequest;
use super::response::{
    FilterEntry, FilterTexts, breakdowns, charge_head, filters, grouped_entry, usage_head,
};

/// A run's plan, when every charge is plain: what each line shares.
pub(super) struct Direct<'r> {
    req: &'r UsageRequest,
    charges: Vec<PlainCharge<'r>>,
}

/// A plain charge: priced by a model that reads the units and the count
/// alone, in arrears, without a minimum, a pricing unit or presentation
/// keys; every bucket grouped by the charge's own keys.
struct PlainCharge<'r> {
    pc: &'r PlanCharge,
    /// What its `filters[]` entries show of each filter.
    shown: FilterTexts,
    /// The label of an empty bucket (A30): every key null, encoded.
    nulls: Box<[u8]>,
}

/// One fee, as the JSON shows it.
struct Fee<'a> {
    /// The charge filter's index, `None` for the default bucket.
    slot: Option<usize>,
    /// The label's values, encoded.
    key: &'a [u8],
    units: Exact,
    events: u64,
    cents: i128,
}

/// One charge's fees and their sums.
struct Priced<'a> {
    fees: Vec<Fee<'a>>,
    totals: UsageTotals,
}

impl<'r> Direct<'r> {
    /// The direct path for this run's plan, if its options and every
    /// charge allow it.
    pub(super) fn new(req: &'r UsageRequest) -> Option<Self> {
        let options = &req.options;
        let plain_options = options.mode == UsageMode::CurrentUsage && !options.legacy_groups;
        let no_given_buckets = req.usage.is_empty() && req.setup.given_buckets.is_empty();
        if !plain_options || !no_given_buckets {
            return None;
        }
        let charges = req.plan.charges.iter().map(PlainCharge::new);
        Some(Self {
            req,
            charges: charges.collect::<Option<_>>()?,
        })
    }

    /// Writes the subscription's line into `line` and says so; or leaves
    /// `line` as it was and says no.
    pub(super) fn write(&self, line: &mut Vec<u8>, sub: &str, feed: &Feed) -> bool {
        let start = line.len();
        let written = self.try_write(line, sub, feed).is_some();
        if !written {
            line.truncate(start);
        }
        written
    }

    fn try_write(&self, line: &mut Vec<u8>, sub: &str, feed: &Feed) -> Option<()> {
        let aggregators = feed.unrejected()?.charges_if_quiet()?;
        let mut priced = Vec::with_capacity(self.charges.len());
        let mut charges = self.charges.iter();
        for (code, agg) in aggregators {
            let charge = charges.next().filter(|c| c.pc.code == code)?;
            priced.push(charge.price(agg)?);
        }
        if charges.next().is_some() {
            return None;
        }
        let amounts = self.charges.iter().zip(&priced);
        let amounts = amounts.map(|(c, p)| (c.pc, p.totals.amount_cents));
        let amounts = amounts_and_taxes(&self.req.plan, &self.req.options, amounts).ok()?;
        let currency = self.req.plan.currency.code();
        let failed = Cell::new(false);
        let mut w = Json::new(line);
        w.open(b'{');
        w.string("external_subscription_id", Some(sub));
        w.key("customer_usage");
        usage_head(&mut w, &self.req.period, currency, amounts);
        for (charge, p) in self.charges.iter().zip(&priced) {
            w.comma();
            charge.write(&mut w, p, currency, &failed);
        }
        w.close(b']');
        w.close(b'}');
        w.null("invoice");
        write_notes(&mut w, None);
        w.close(b'}');
        (!failed.get()).then_some(())
    }
}

impl<'r> PlainCharge<'r> {
    fn new(pc: &'r PlanCharge) -> Option<Self> {
        let c = &pc.charge;
        let keys = &c.group_keys;
        let slots = (0..c.filters.len()).map(Some).chain([None]);
        let plain_slot = |slot| {
            let plain_model = pc.bucket_charge(slot).is_some_and(|b| {
                matches!(
                    b.model,
                    ChargeModel::Standard(_)
                        | ChargeModel::Graduated(_)
                        | ChargeModel::Package(_)
                        | ChargeModel::Volume(_)
                )
            });
            plain_model && pc.group_keys(slot) == keys.as_slice() && !pc.shows_breakdowns(slot)
        };
        let plain = !c.pay_in_advance
            && !c.prorated
            && c.pricing_unit.is_none()
            && c.min_amount_cents <= 0
            && distinct(keys)
            && slots.into_iter().all(plain_slot);
        plain.then(|| Self {
            pc,
            shown: FilterTexts::of(pc),
            nulls: encode_label(&vec![None; keys.len()]),
        })
    }

    /// Whether `agg` has the charge's buckets: its filters in order, then
    /// the default bucket, each grouped by the charge's keys.
    fn same_buckets(&self, agg: &Aggregator) -> bool {
        let filters = self.pc.charge.filters.len();
        let keys = self.pc.charge.group_keys.as_slice();
        let mut n = 0;
        let all = agg.bucket_keys().all(|(id, names)| {
            let at = match id {
                BucketId::Filter(i) => i == n && i < filters,
                BucketId::Default => n == filters,
                BucketId::Matching => false,
            };
            n += 1;
            at && names == keys
        });
        all && n == filters + 1
    }

    /// The charge's fees, bucket by bucket (UD1), as `price.rs` gives
    /// them but for their order within a bucket (`write_groups` sorts
    /// them; the sums of exact figures do not depend on it): an empty fee
    /// is left out (U6) and a bucket left without fees shows the zero fee
    /// of an empty aggregation (A30).
    fn price<'a>(&'a self, agg: &'a Aggregator) -> Option<Priced<'a>> {
        if !agg.is_plain() || !self.same_buckets(agg) {
            return None;
        }
        let groups = agg.plain_groups()?;
        let mut fees = Vec::with_capacity(groups.len());
        for bucket in groups.chunk_by(|a, b| a.bucket == b.bucket) {
            let start = fees.len();
            for g in bucket {
                let fee = self.fee(g)?;
                let empty = fee.units.is_zero() && fee.cents == 0 && fee.events == 0;
                if !empty {
                    fees.push(fee);
                }
            }
            if fees.len() == start {
                let none = bucket.first()?;
                let zero = PlainGroup {
                    key: None,
                    units: Exact::ZERO,
                    events: 0,
                    ..*none
                };
                fees.push(self.fee(&zero)?);
            }
        }
        let totals = sums(&fees)?;
        Some(Priced { fees, totals })
    }

    fn fee<'a>(&'a self, g: &PlainGroup<'a>) -> Option<Fee<'a>> {
        let slot = match g.bucket {
            BucketId::Filter(i) => Some(i),
            BucketId::Default | BucketId::Matching => None,
        };
        let usage = Usage::new(g.units).with_events_count(g.events);
        let charge = self.pc.bucket_charge(slot)?;
        let (units, cents) = charge.amounts_in_arrears(&usage).ok()?;
        Some(Fee {
            slot,
            key: g.key.unwrap_or(&self.nulls),
            units,
            events: g.events,
            cents,
        })
    }

    /// The charge's `charges_usage[]` entry (`response::charge_usage`);
    /// `failed` is set if a sum overflows.
    fn write(&self, w: &mut Json<'_>, p: &Priced<'_>, currency: &str, failed: &Cell<bool>) {
        let pc = self.pc;
        let fees: Vec<&Fee<'_>> = p.fees.iter().collect();
        w.open(b'{');
        charge_head(w, pc, &p.totals, currency);
        filters(w, pc, &self.shown, self.entries(&fees, failed), None);
        w.key("grouped_usage");
        w.open(b'[');
        if !pc.charge.group_keys.is_empty() {
            self.write_groups(w, &fees, failed);
        }
        w.close(b']');
        breakdowns(w, &[]);
        w.close(b'}');
    }

    /// U8: one entry per bucket of `fees` (none for a charge without
    /// filters).
    fn entries<'f>(
        &self,
        fees: &'f [&'f Fee<'f>],
        failed: &'f Cell<bool>,
    ) -> impl Iterator<Item = FilterEntry<'f>> {
        let fees = if self.pc.charge.filters.is_empty() {
            &[]
        } else {
            fees
        };
        fees.chunk_by(|a, b| a.slot == b.slot).map(|run| {
            let totals = sums(run.iter().copied()).unwrap_or_else(|| {
                failed.set(true);
                UsageTotals::default()
            });
            FilterEntry {
                filter: run.first().and_then(|f| f.slot),
                totals,
                breakdowns: &[],
            }
        })
    }

    /// U9: one entry per label, in C1 order (the values', every label
    /// naming the charge's keys); a group's fees in bucket order (UD1).
    /// A bucket holds a label once, so label then bucket is a total order:
    /// one sort gives both the buckets' C1 order and the merge across them.
    fn write_groups(&self, w: &mut Json<'_>, fees: &[&Fee<'_>], failed: &Cell<bool>) {
        fn first<'a>(f: &'a &Fee<'_>) -> Option<&'a [u8]> {
            decode_bytes(f.key).next().flatten()
        }
        // The default bucket comes after the filters' (UD1).
        let bucket = |f: &Fee<'_>| f.slot.unwrap_or(usize::MAX);
        let order = stable_order(fees, first, |a, b| {
            let values = decode_bytes(a.key).cmp(decode_bytes(b.key));
            values.then_with(|| bucket(a).cmp(&bucket(b)))
        });
        let members: Vec<&Fee<'_>> = order
            .into_iter()
            .filter_map(|i| fees.get(i).copied())
            .collect();
        let names = &self.pc.charge.group_keys;
        for group in members.chunk_by(|a, b| a.key == b.key) {
            let (Some(label), Some(totals)) = (group.first(), sums(group.iter().copied())) else {
                failed.set(true);
                continue;
            };
            w.comma();
            grouped_entry(
                w,
                self.pc,
                &totals,
                |w| w.label_values("grouped_by", names, decode_texts(label.key)),
                |w, written| {
                    let entries = self.entries(group, failed);
                    filters(w, self.pc, &self.shown, entries, Some(written));
                },
                &[],
            );
        }
    }
}

/// The sums of fees (`summary::sums`): the first fee's figures, then each
/// other's added; `None` when one overflows.
fn sums<'f, 'a: 'f>(fees: impl IntoIterator<Item = &'f Fee<'a>>) -> Option<UsageTotals> {
    let mut fees = fees.into_iter();
    let Some(mut t) = fees.next().map(Fee::totals) else {
        return Some(UsageTotals::default());
    };
    for f in fees {
        t.add(&f.totals()).ok()?;
    }
    Some(t)
}

impl Fee<'_> {
    /// The fee's figures as sums of their own (its units are its total
    /// aggregated units: no weighted sum is plain).
    fn totals(&self) -> UsageTotals {
        UsageTotals {
            units: self.units,
            total_aggregated_units: self.units,
            events_count: self.events,
            amount_cents: self.cents,
            pricing_unit_amount_cents: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::customer_usage::PlanAggregator;
    use crate::lago::usage::billing_run::write_subscription;
    use crate::lago::usage::events::feed_request;
    use crate::lago::usage::request::parse_run_plan;

    const PERIOD: &str =
        r#"{"from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59Z"}"#;
    /// 2024-03-01T00:00:00Z.
    const MARCH: i64 = 1_709_251_200;

    fn metric(code: &str, aggregation: &str, field: Option<&str>) -> serde_json::Value {
        json!({"code": code, "name": code, "aggregation_type": aggregation, "field_name": field,
               "filters": [{"key": "region", "values": ["eu", "us", "asia"]}]})
    }

    fn tiers(key: &str, per_unit: &str) -> serde_json::Value {
        json!({key: [
            {"from_value": 0, "to_value": 10, "per_unit_amount": per_unit, "flat_amount": "1"},
            {"from_value": 11, "to_value": null, "per_unit_amount": "0.25", "flat_amount": "0"}]})
    }

    /// Plain plans: every aggregation type and model the direct path
    /// takes; one group key, two, or none; filters or not; charge taxes,
    /// plan taxes or none.
    fn plans() -> Vec<String> {
        let with_keys = |mut props: serde_json::Value, keys: &serde_json::Value| {
            props["pricing_group_keys"] = keys.clone();
            props
        };
        let plan = |keys: serde_json::Value, taxes: serde_json::Value| {
            let graduated = with_keys(tiers("graduated_ranges", "0.5"), &keys);
            let flat = json!({"graduated_ranges": [
                {"from_value": 0, "to_value": null, "per_unit_amount": "0.2", "flat_amount": "0"}]});
            let package = json!({"amount": "2", "package_size": 3, "free_units": 2});
            json!({"currency": "EUR", "taxes": taxes, "plan": {"charges": [
                {"code": "storage", "charge_model": "graduated", "properties": graduated,
                 "filters": [
                    {"values": {"region": ["eu"]}, "invoice_display_name": "Europe \"EU\"",
                     "properties": with_keys(flat, &keys)},
                    {"values": {"region": ["us", "asia"]},
                     "properties": with_keys(tiers("graduated_ranges", "0.3"), &keys)}],
                 "billable_metric": metric("gb", "sum_agg", Some("gb"))},
                {"code": "calls", "charge_model": "package", "properties": package,
                 "billable_metric": metric("calls", "count_agg", None)},
                {"code": "users", "charge_model": "standard",
                 "properties": with_keys(json!({"amount": "3"}), &keys),
                 "taxes": [{"code": "reduced", "rate": "5.5"}],
                 "billable_metric": metric("users", "unique_count_agg", Some("user"))},
                {"code": "peak", "charge_model": "volume", "properties": tiers("volume_ranges", "1"),
                 "billable_metric": metric("peak", "max_agg", Some("gb"))},
                {"code": "last", "charge_model": "volume", "properties": tiers("volume_ranges", "0.01"),
                 "filters": [{"values": {"region": ["eu"]},
                              "properties": tiers("volume_ranges", "0.02")}],
                 "billable_metric": metric("last", "latest_agg", Some("gb"))}]}})
            .to_string()
        };
        vec![
            plan(json!(["agent"]), json!([{"code": "vat", "rate": "20"}])),
            plan(json!(["agent", "zone"]), json!([])),
            plan(json!([]), json!([{"code": "vat", "rate": "19.6"}])),
        ]
    }

    /// The subscription's line by the direct path (if it takes it) and
    /// by the general path, each after what the buffer held.
    fn both(plan: &str, events: &[String]) -> (bool, String, String) {
        let (req, _) = parse_run_plan(plan, PERIOD).expect("a plan");
        let agg = PlanAggregator::new(&req.plan, &req.period, &req.setup).expect("aggregators");
        let texts: Vec<&str> = events.iter().map(String::as_str).collect();
        let feed = feed_request(agg, &texts);
        let direct = Direct::new(&req).expect("a plain plan");
        let mut line = b"earlier line\n".to_vec();
        let taken = direct.write(&mut line, "sub \"1\"", &feed);
        let mut general = b"earlier line\n".to_vec();
        let mut summary = crate::BillingRunSummary::default();
        write_subscription(&mut general, &req, None, ("sub \"1\"", feed), &mut summary);
        let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8");
        (taken, text(line), text(general))
    }

    /// An event: its code, region, agent, zone, value, user and time
    /// picked from small sets, so that groups repeat across buckets; one
    /// value in eight is not a number.
    fn event(i: usize, pick: [usize; 7], remove: bool) -> String {
        let [code, region, agent, zone, value, user, day] = pick;
        let codes = ["gb", "calls", "users", "peak", "last"];
        let mut props = serde_json::Map::new();
        if let Some(r) = ["eu", "us", "asia"].get(region) {
            props.insert("region".into(), json!(r));
        }
        match ["a1", "a10", "a2", "a\"q", ""].get(agent) {
            Some(a) => props.insert("agent".into(), json!(a)),
            None if agent == 5 => props.insert("agent".into(), json!(null)),
            None => None,
        };
        if let Some(z) = ["z1", "z2"].get(zone) {
            props.insert("zone".into(), json!(z));
        }
        let values = ["12.5", "-3", "0", "0.000", "7", "1000000.125", "0.1", "n/a"];
        props.insert(
            "gb".into(),
            json!(values.get(value).copied().unwrap_or("2")),
        );
        props.insert("user".into(), json!(format!("u{user}")));
        if remove {
            props.insert("operation_type".into(), json!("remove"));
        }
        // Days -1 to 31: some before the period, some on its last day.
        let day = i64::try_from(day).unwrap_or(0) - 1;
        // Ids repeat from the 38th event on (QA19).
        json!({"transaction_id": format!("t{}", i % 37), "external_subscription_id": "s",
               "code": codes.get(code).copied().unwrap_or("gb"),
               "timestamp": MARCH + day * 86_400 + 3_600, "properties": props})
        .to_string()
    }

    fn events() -> impl Strategy<Value = Vec<String>> {
        let pick = (
            0..5usize,
            0..4usize,
            0..7usize,
            0..3usize,
            0..8usize,
            0..3usize,
            0..33usize,
        );
        proptest::collection::vec((pick, proptest::bool::weighted(0.2)), 0..40).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, ((a, b, c, d, e, f, g), remove))| event(i, [a, b, c, d, e, f, g], remove))
                .collect()
        })
    }

    /// Whether the general line tells nothing beside the usage.
    fn quiet(line: &str) -> bool {
        line.contains("\"customer_usage\"")
            && line.ends_with("\"warnings\":[],\"rejected_events\":[]}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The direct path writes the general path's bytes, and takes
        /// every subscription of a plain plan that has nothing to tell.
        #[test]
        fn the_direct_line_is_the_general_line(plan in 0..3usize, events in events()) {
            let plans = plans();
            let plan = plans.get(plan).expect("three plans");
            let (taken, direct, general) = both(plan, &events);
            prop_assert_eq!(taken, quiet(&general), "{}", general);
            if taken {
                prop_assert_eq!(direct, general);
            } else {
                prop_assert_eq!(direct, "earlier line\n");
            }
        }
    }

    #[test]
    fn a_quiet_subscription_takes_the_direct_path() {
        // Two agents in the eu filter and the default bucket, a count, a
        // unique count: every bucket kind, one group in two buckets.
        let picks = [
            [0, 0, 0, 0, 0, 0, 3],
            [0, 0, 2, 0, 4, 0, 4],
            [0, 1, 0, 0, 6, 0, 5],
            [0, 3, 2, 0, 4, 0, 5],
            [1, 3, 0, 0, 0, 0, 6],
            [2, 3, 0, 0, 0, 1, 7],
        ];
        let events: Vec<String> = picks
            .iter()
            .enumerate()
            .map(|(i, p)| event(i, *p, false))
            .collect();
        let plans = plans();
        let (taken, direct, general) = both(plans.first().expect("a plan"), &events);
        assert!(taken, "{general}");
        assert_eq!(direct, general);
        let v: serde_json::Value =
            serde_json::from_str(general.trim_start_matches("earlier line\n")).expect("JSON");
        let storage = &v["customer_usage"]["charges_usage"][0];
        // eu at 0.20: a1 12.5 GB = 250 cents, a2 7 GB = 140; us/asia, a1
        // 0.1 GB in the first tier: 0.1 × 0.30 + 1 = 103 cents; the
        // default bucket, a2 7 GB: 7 × 0.50 + 1 = 450 cents.
        assert_eq!(storage["amount_cents"], 250 + 140 + 103 + 450);
        // a1 is in two buckets: one group, two filters entries.
        let a1 = &storage["grouped_usage"][0];
        assert_eq!(a1["grouped_by"], json!({"agent": "a1"}));
        assert_eq!(a1["filters"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_subscription_with_something_to_tell_goes_the_general_way() {
        let plans = plans();
        let plan = plans.first().expect("a plan");
        let twice = [
            event(0, [1, 0, 0, 0, 0, 0, 3], false),
            event(0, [1, 0, 0, 0, 0, 0, 4], false),
        ];
        let mut unknown = json!({"transaction_id": "x", "code": "nope", "timestamp": MARCH});
        let (taken, direct, _) = both(plan, &twice);
        assert!(!taken, "a duplicate transaction id is rejected");
        assert_eq!(direct, "earlier line\n", "nothing written");
        unknown["external_subscription_id"] = json!("s");
        let (taken, ..) = both(plan, &[unknown.to_string()]);
        assert!(!taken, "an unknown metric code is a warning");
        let mut text = event(0, [0, 0, 0, 0, 0, 0, 3], false);
        text = text.replace("\"12.5\"", "\"twelve\"");
        let (taken, ..) = both(plan, &[text]);
        assert!(!taken, "a value that is not a number is a warning");
    }

    #[test]
    fn a_plan_that_is_not_plain_has_no_direct_path() {
        let plain = plans().into_iter().next().expect("a plan");
        let mut v: serde_json::Value = serde_json::from_str(&plain).expect("JSON");
        let direct = |v: &serde_json::Value| {
            let (req, _) = parse_run_plan(&v.to_string(), PERIOD).expect("a plan");
            Direct::new(&req).is_some()
        };
        assert!(direct(&v));
        let storage = v["plan"]["charges"][0].clone();
        for (key, value) in [
            ("pay_in_advance", json!(true)),
            ("prorated", json!(true)),
            ("min_amount_cents", json!(100)),
            ("charge_model", json!("percentage")),
        ] {
            let mut charge = storage.clone();
            charge[key] = value;
            if key == "prorated" {
                charge["billable_metric"]["recurring"] = json!(true);
            }
            if key == "charge_model" {
                charge["properties"] = json!({"rate": "1"});
                charge["filters"] = json!([]);
            }
            v["plan"]["charges"][0] = charge;
            assert!(!direct(&v), "{key}");
        }
        v["plan"]["charges"][0] = storage;
        v["options"] = json!({"mode": "invoice"});
        assert!(!direct(&v), "the invoice view");
    }
}
