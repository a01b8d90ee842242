//! Writing results and errors in the contract's JSON shapes.
//!
//! A result line is written by hand into the output buffer: the keys are
//! fixed ASCII, decimals are digits, so only caller-given strings need JSON
//! escaping. This is several times faster than a derived serializer, and
//! keeps cents beyond 64 bits exact.

use crate::raw_json::RawJson;

use crate::charge::Charge;
use crate::details::{AmountDetails, GraduatedLine, GraduatedPercentageLine, PercentageDetails};
use crate::error::Violation;
use crate::exact::Exact;
use crate::fee::Fee;
use crate::rate::ChargeFees;

/// A compact JSON writer with comma bookkeeping.
pub(crate) struct Json<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    /// Whether the innermost open object or array has no member yet.
    first: bool,
}

impl<'a> Json<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, first: true }
    }

    #[inline(always)]
    pub(crate) fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// Opens an object as a value (after a key, or as an array element).
    pub(crate) fn open(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.first = true;
    }

    pub(crate) fn close(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.first = false;
    }

    /// `"key":` — keys are fixed ASCII identifiers, never escaped. Inlined,
    /// so each constant key becomes a few stores instead of a copy call.
    #[inline(always)]
    pub(crate) fn key(&mut self, key: &str) {
        self.comma();
        self.out.reserve(key.len() + 3);
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A decimal as a plain-notation JSON string.
    #[inline(always)]
    pub(crate) fn dec(&mut self, key: &str, value: Exact) {
        self.key(key);
        value.write_quoted(self.out);
    }

    #[inline(always)]
    pub(crate) fn int(&mut self, key: &str, value: i128) {
        self.key(key);
        crate::exact::write_integer(value, self.out);
    }

    #[inline(always)]
    pub(crate) fn boolean(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    #[inline(always)]
    pub(crate) fn null(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    /// A caller-given string, escaped.
    pub(crate) fn string_value(&mut self, value: &str) {
        // serde_json escapes only '"', '\\' and control characters: a string
        // without them is written as it is.
        if crate::raw_json::special_byte(value.as_bytes()).is_none() {
            self.out.push(b'"');
            self.out.extend_from_slice(value.as_bytes());
            self.out.push(b'"');
        } else {
            let _ = serde_json::to_writer(&mut *self.out, value);
        }
    }

    #[inline(always)]
    pub(crate) fn string(&mut self, key: &str, value: Option<&str>) {
        self.key(key);
        match value {
            Some(v) => self.string_value(v),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    /// A tier bound: a JSON integer when integral, else a decimal string (M4).
    #[inline(always)]
    fn bound(&mut self, key: &str, value: Option<Exact>) {
        match value {
            None => self.null(key),
            Some(v) => match v.to_i128() {
                Some(i) => self.int(key, i),
                None => self.dec(key, v),
            },
        }
    }

    /// Echoes a raw JSON value verbatim, minus insignificant whitespace: a
    /// value spread over several input lines must not break the one-line
    /// output.
    pub(crate) fn raw(&mut self, key: &str, value: RawJson<'_>) {
        self.key(key);
        let (mut in_string, mut escaped) = (false, false);
        for &b in value.get().as_bytes() {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else if b == b'"' {
                in_string = true;
            } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                continue;
            }
            self.out.push(b);
        }
    }
}

fn graduated_line(w: &mut Json<'_>, l: &GraduatedLine) {
    w.comma();
    w.open(b'{');
    w.bound("from_value", Some(l.from_value));
    w.bound("to_value", l.to_value);
    w.dec("flat_unit_amount", l.flat_unit_amount);
    w.dec("per_unit_amount", l.per_unit_amount);
    w.dec("units", l.units);
    w.dec("per_unit_total_amount", l.per_unit_total_amount);
    w.dec("total_with_flat_amount", l.total_with_flat_amount);
    w.close(b'}');
}

fn percentage_line(w: &mut Json<'_>, l: &GraduatedPercentageLine) {
    w.comma();
    w.open(b'{');
    w.bound("from_value", Some(l.from_value));
    w.bound("to_value", l.to_value);
    w.dec("flat_unit_amount", l.flat_unit_amount);
    w.dec("rate", l.rate);
    w.dec("units", l.units);
    w.dec("per_unit_total_amount", l.per_unit_total_amount);
    w.dec("total_with_flat_amount", l.total_with_flat_amount);
    w.close(b'}');
}

fn percentage(w: &mut Json<'_>, p: &PercentageDetails) {
    w.dec("units", p.units);
    w.dec("free_units", p.free_units);
    w.int("free_events", i128::from(p.free_events));
    w.dec("paid_units", p.paid_units);
    w.dec("rate", p.rate);
    w.dec("per_unit_total_amount", p.per_unit_total_amount);
    w.int("paid_events", i128::from(p.paid_events));
    w.dec("fixed_fee_unit_amount", p.fixed_fee_unit_amount);
    w.dec("fixed_fee_total_amount", p.fixed_fee_total_amount);
    w.dec(
        "min_max_adjustment_total_amount",
        p.min_max_adjustment_total_amount,
    );
}

/// `"amount_details": {…}`.
fn details(w: &mut Json<'_>, details: &AmountDetails) {
    w.key("amount_details");
    details_object(w, details);
}

/// The amount details object, with exactly Lago's keys for the model.
fn details_object(w: &mut Json<'_>, details: &AmountDetails) {
    w.open(b'{');
    match details {
        AmountDetails::Graduated(lines) => {
            w.key("graduated_ranges");
            w.open(b'[');
            lines.iter().for_each(|l| graduated_line(w, l));
            w.close(b']');
        }
        AmountDetails::GraduatedPercentage(lines) => {
            w.key("graduated_percentage_ranges");
            w.open(b'[');
            lines.iter().for_each(|l| percentage_line(w, l));
            w.close(b']');
        }
        AmountDetails::Package(p) => {
            w.dec("free_units", p.free_units);
            w.dec("paid_units", p.paid_units);
            w.int("per_package_size", i128::from(p.per_package_size));
            w.dec("per_package_unit_amount", p.per_package_unit_amount);
        }
        AmountDetails::Percentage(p) => percentage(w, p),
        AmountDetails::Volume(v) => {
            w.dec("flat_unit_amount", v.flat_unit_amount);
            w.dec("per_unit_amount", v.per_unit_amount);
            w.dec("per_unit_total_amount", v.per_unit_total_amount);
        }
        AmountDetails::Empty => {}
    }
    w.close(b'}');
}

/// Writes a fee's amount details object alone, as in a result's fees.
pub(crate) fn write_amount_details(out: &mut Vec<u8>, details: &AmountDetails) {
    details_object(&mut Json::new(out), details);
}

/// `{key: value}` in the order given.
fn ordered_map<V>(
    w: &mut Json<'_>,
    key: &str,
    pairs: Option<&[(String, V)]>,
    value: impl Fn(&mut Json<'_>, &V),
) {
    w.key(key);
    let Some(pairs) = pairs else {
        w.out.extend_from_slice(b"null");
        return;
    };
    w.open(b'{');
    for (k, v) in pairs {
        w.comma();
        w.string_value(k);
        w.out.push(b':');
        value(w, v);
    }
    w.close(b'}');
}

/// A filter's `{key: [values]}` in the order given, or null.
pub(crate) fn filter_values(w: &mut Json<'_>, key: &str, values: Option<&[(String, Vec<String>)]>) {
    ordered_map(w, key, values, |w, values: &Vec<String>| {
        w.open(b'[');
        for v in values {
            w.comma();
            w.string_value(v);
        }
        w.close(b']');
    });
}

/// A group label `{key: value or null}` in the order given, or null.
pub(crate) fn label(w: &mut Json<'_>, key: &str, label: Option<&[(String, Option<String>)]>) {
    ordered_map(w, key, label, |w, v: &Option<String>| match v {
        Some(s) => w.string_value(s),
        None => w.out.extend_from_slice(b"null"),
    });
}

fn fee(w: &mut Json<'_>, charge: &Charge, fee: &Fee) {
    let currency = charge.currency.code();
    let labels = &charge.labels;
    let filter = fee.filter.and_then(|i| charge.filters.get(i));
    let metric_name = labels.billable_metric_name.as_deref();
    w.open(b'{');
    w.string("charge_model", Some(charge.model.name()));
    w.dec("units", fee.units);
    w.int("events_count", i128::from(fee.events_count));
    w.dec("amount", fee.amount);
    w.int("amount_cents", fee.amount_cents);
    w.dec("precise_amount_cents", fee.precise_amount_cents);
    w.int("unit_amount_cents", fee.unit_amount_cents);
    w.dec("precise_unit_amount", fee.precise_unit_amount);
    w.string("amount_currency", Some(currency));
    w.dec("taxes_rate", fee.taxes.taxes_rate);
    w.int("taxes_amount_cents", fee.taxes.taxes_amount_cents);
    w.dec(
        "taxes_precise_amount_cents",
        fee.taxes.taxes_precise_amount_cents,
    );
    w.int("total_amount_cents", fee.taxes.total_amount_cents);
    w.string("total_amount_currency", Some(currency));
    w.boolean("pay_in_advance", fee.pay_in_advance);
    w.boolean("invoiceable", charge.invoiceable);
    details(w, &fee.amount_details);
    w.key("applied_taxes");
    w.open(b'[');
    for t in &fee.taxes.applied {
        w.comma();
        w.open(b'{');
        w.string("tax_code", Some(&t.code));
        w.string("tax_name", t.name.as_deref());
        w.dec("tax_rate", t.rate);
        w.int("amount_cents", t.amount_cents);
        w.dec("precise_amount_cents", t.precise_amount_cents);
        w.string("amount_currency", Some(currency));
        w.close(b'}');
    }
    w.close(b']');
    match &fee.pricing_unit_details {
        None => w.null("pricing_unit_details"),
        Some(p) => {
            w.key("pricing_unit_details");
            w.open(b'{');
            w.string("pricing_unit_code", Some(&p.pricing_unit_code));
            w.dec("conversion_rate", p.conversion_rate);
            w.int("amount_cents", p.amount_cents);
            w.dec("precise_amount_cents", p.precise_amount_cents);
            w.int("unit_amount_cents", p.unit_amount_cents);
            w.dec("precise_unit_amount", p.precise_unit_amount);
            w.close(b'}');
        }
    }
    w.key("item");
    w.open(b'{');
    // A true-up is a charge fee in Lago too (fee_type "charge").
    w.string("type", Some("charge"));
    w.string("code", labels.billable_metric_code.as_deref());
    w.string("name", metric_name);
    w.string(
        "invoice_display_name",
        labels.invoice_display_name.as_deref().or(metric_name),
    );
    w.string(
        "filter_invoice_display_name",
        filter.map(|f| f.display_name()).as_deref(),
    );
    filter_values(w, "filters", filter.map(|f| f.values.as_slice()));
    label(w, "grouped_by", fee.grouped_by.as_deref());
    w.close(b'}');
    if let Some(p) = &fee.projection {
        w.dec("projected_units", p.projected_units);
        w.dec("projected_amount", p.projected_amount);
        w.int("projected_amount_cents", p.projected_amount_cents);
    }
    w.close(b'}');
}

/// Writes a priced result.
pub(crate) fn write_result(
    out: &mut Vec<u8>,
    id: Option<RawJson<'_>>,
    charge: &Charge,
    fees: &ChargeFees,
    pretty: bool,
) {
    let start = out.len();
    let mut w = Json::new(out);
    w.open(b'{');
    if let Some(id) = id {
        w.raw("id", id);
    }
    w.key("fees");
    w.open(b'[');
    for f in &fees.fees {
        w.comma();
        fee(&mut w, charge, f);
    }
    w.close(b']');
    w.key("true_up_fee");
    match &fees.true_up_fee {
        Some(t) => fee(&mut w, charge, t),
        None => w.out.extend_from_slice(b"null"),
    }
    w.int("fees_amount_cents", fees.fees_amount_cents);
    w.int("amount_cents", fees.amount_cents);
    w.int("taxes_amount_cents", fees.taxes_amount_cents);
    w.int("total_amount_cents", fees.total_amount_cents);
    w.close(b'}');
    if pretty {
        indent(out, start);
    }
}

/// Writes an error result.
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    id: Option<RawJson<'_>>,
    code: &str,
    message: &str,
    details: Option<&[Violation]>,
    pretty: bool,
) {
    let start = out.len();
    let mut w = Json::new(out);
    w.open(b'{');
    if let Some(id) = id {
        w.raw("id", id);
    }
    w.key("error");
    w.open(b'{');
    w.string("code", Some(code));
    w.string("message", Some(message));
    if let Some(details) = details {
        w.key("details");
        w.open(b'[');
        for v in details {
            w.comma();
            w.open(b'{');
            w.string("field", Some(&v.field));
            w.string("code", Some(v.code));
            w.string("message", Some(&v.message));
            w.close(b'}');
        }
        w.close(b']');
    }
    w.close(b'}');
    w.close(b'}');
    if pretty {
        indent(out, start);
    }
}

/// Levels `--pretty` indents: a result nests 6 deep (fees, a fee, its
/// details, a range list, a range), and a deeper echoed `id` stays at this
/// indentation, so the output grows linearly with the input however deep
/// the id (indenting every level would grow with the square of its depth).
const MAX_INDENT_LEVELS: usize = 8;

/// Re-indents the compact JSON written from `start` on, two spaces a level
/// (`--pretty`). Works on the text, so every number stays exactly as written.
pub(crate) fn indent(out: &mut Vec<u8>, start: usize) {
    let compact = out.split_off(start);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth.min(MAX_INDENT_LEVELS) * 2));
    };
    let mut bytes = compact.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                // An empty object or array stays on one line.
                if matches!(bytes.peek(), Some(b'}' | b']')) {
                    if let Some(close) = bytes.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
}
