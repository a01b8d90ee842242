//! serde for the types users carry across a service (the `serde` feature):
//! [`Exact`] as an exact decimal string, the fees as the `rate` contract's
//! JSON, and [`Charge`] from Lago's charge JSON.
//!
//! Fees serialize through the same shapes (`shapes.rs`) as the fast writer,
//! so `serde_json::to_string(&fees)` is byte for byte the result line
//! `meterprice rate` writes, without its `id`.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::decimal::parse_decimal;
use super::request::charge_from_json;
use super::shapes::{Shape, Sink};
use crate::charge::Charge;
use crate::details::{
    AmountDetails, GraduatedLine, GraduatedPercentageLine, PackageDetails, PercentageDetails,
    VolumeDetails,
};
use crate::error::{DefinitionError, ValidationError, Violation};
use crate::exact::Exact;
use crate::fee::{Fee, PricingUnitDetails};
use crate::rate::{Bucket, ChargeFees};
use crate::usage::Usage;

/// The members of a shape as a serde map.
struct MapSink<M>(M);

impl<M: SerializeMap> Sink for MapSink<M> {
    type Error = M::Error;

    fn dec(&mut self, key: &'static str, value: Exact) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &value)
    }

    fn int(&mut self, key: &'static str, value: i128) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &value)
    }

    fn boolean(&mut self, key: &'static str, value: bool) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &value)
    }

    fn string(&mut self, key: &'static str, value: Option<&str>) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &value)
    }

    fn bound(&mut self, key: &'static str, value: Option<Exact>) -> Result<(), M::Error> {
        match value.map(|v| (v, v.to_i128())) {
            None => self.0.serialize_entry(key, &None::<()>),
            Some((_, Some(i))) => self.0.serialize_entry(key, &i),
            Some((v, None)) => self.0.serialize_entry(key, &v),
        }
    }

    fn object<S: Shape + ?Sized>(
        &mut self,
        key: &'static str,
        value: Option<&S>,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &value.map(AsMap))
    }

    fn list<S: Shape, I: Iterator<Item = S> + Clone>(
        &mut self,
        key: &'static str,
        items: I,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &List(items))
    }

    fn filter_values(
        &mut self,
        key: &'static str,
        values: Option<&[(String, Vec<String>)]>,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &values.map(Pairs))
    }

    fn label(
        &mut self,
        key: &'static str,
        label: Option<&[(String, Option<String>)]>,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(key, &label.map(Pairs))
    }
}

/// A shape serialized as a map of its members.
struct AsMap<'a, S: ?Sized>(&'a S);

impl<S: Shape + ?Sized> Serialize for AsMap<'_, S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let mut sink = MapSink(serializer.serialize_map(None)?);
        self.0.write(&mut sink)?;
        sink.0.end()
    }
}

/// Shapes serialized as a sequence of maps.
struct List<I>(I);

impl<S: Shape, I: Iterator<Item = S> + Clone> Serialize for List<I> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        serializer.collect_seq(self.0.clone().map(Owned))
    }
}

/// An owned shape serialized as a map (a list's items are made on the fly).
struct Owned<S>(S);

impl<S: Shape> Serialize for Owned<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        AsMap(&self.0).serialize(serializer)
    }
}

/// Ordered `(key, value)` pairs serialized as a map, in their order.
struct Pairs<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for Pairs<'_, V> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// `Serialize` as the contract's object, for each type with a shape.
macro_rules! serialize_as_shape {
    ($($t:ty),* $(,)?) => {$(
        impl Serialize for $t {
            fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
                AsMap(self).serialize(serializer)
            }
        }
    )*};
}

serialize_as_shape!(
    ChargeFees,
    Fee,
    AmountDetails,
    GraduatedLine,
    GraduatedPercentageLine,
    PackageDetails,
    PercentageDetails,
    VolumeDetails,
    PricingUnitDetails,
);

/// An exact decimal as a JSON string in plain notation (`"12.5"`), every
/// digit kept.
impl Serialize for Exact {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        serializer.collect_str(self)
    }
}

/// serde_json's name for a value read as its raw text: the only way to see
/// a JSON number's digits without `arbitrary_precision`, which would change
/// every crate's number handling in the build.
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// An exact decimal from a string in plain notation (`"12.5"`) or a JSON
/// number (`12.5`, `1e3`), never through `f64`: with serde_json a number
/// is read from its text. Formats that hand over a binary float are
/// refused rather than rounded.
impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(RAW_VALUE, ExactVisitor)
    }
}

struct ExactVisitor;

impl<'de> Visitor<'de> for ExactVisitor {
    type Value = Exact;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a decimal string in plain notation, or a JSON number")
    }

    /// serde_json's raw text (a quoted string or a number), or another
    /// format's string.
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Exact, E> {
        if text.starts_with('"') {
            let inner: String = serde_json::from_str(text).map_err(E::custom)?;
            return inner.parse().map_err(E::custom);
        }
        if let Ok(x) = text.parse() {
            return Ok(x);
        }
        if is_json_number(text) {
            return parse_decimal(text).map_err(|_| {
                E::custom(format!(
                    "{text} is outside the decimal range (|x| < 2^96, at most 28 fractional digits)"
                ))
            });
        }
        Err(E::invalid_value(de::Unexpected::Str(text), &self))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Exact, E> {
        Ok(Exact::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Exact, E> {
        Ok(Exact::from(n))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Exact, E> {
        Exact::try_from(n).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Exact, E> {
        Err(E::custom(format!(
            "the binary float {n} is not read as a decimal (it may not be the number written): give it as a string"
        )))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Exact, D::Error> {
        d.deserialize_any(self)
    }

    /// serde_json hands a raw value over as a map of one entry, its token
    /// and the value's text.
    fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Exact, M::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == RAW_VALUE => {
                let text: String = map.next_value()?;
                self.visit_str(&text)
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let body = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (body.get(..at).unwrap_or(""), body.get(at + 1..)),
        None => (body, None),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_ok = digits(int) && (int == "0" || !int.starts_with('0'));
    int_ok && frac.is_none_or(digits) && exponent_ok
}

/// A charge from Lago's charge JSON (`charge_model`, `properties`,
/// `filters`, `taxes`, …) with one more key, `currency` (an ISO code, as a
/// rating request gives it next to its charge): Lago keeps the currency on
/// the plan, and a charge is priced in one. Every rule is checked as
/// [`Charge::from_lago_json`] checks it; a broken one is the error's
/// message. Read from JSON text (serde_json), so numbers keep their digits.
///
/// ```
/// use meterprice::{Bucket, Charge, Period, Usage};
/// let charge: Charge = serde_json::from_str(r#"{"currency": "EUR",
///     "charge_model": "standard", "properties": {"amount": "0.5"}}"#)?;
/// let fees = charge.rate(&[Bucket::new(Usage::new("3".parse()?))], &Period::full(30))?;
/// assert_eq!(fees.fees[0].amount_cents, 150); // 3 × 0.5 EUR
/// // The fees are the contract's JSON.
/// let json = serde_json::to_string(&fees)?;
/// assert!(json.starts_with(r#"{"fees":[{"charge_model":"standard","units":"3""#));
/// assert!(serde_json::from_str::<Charge>(r#"{"charge_model": "standard"}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'de> Deserialize<'de> for Charge {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        charge_with_currency(raw.get()).map_err(de::Error::custom)
    }
}

/// A charge object with its `currency`.
fn charge_with_currency(text: &str) -> Result<Charge, DefinitionError> {
    #[derive(Deserialize)]
    struct WithCurrency {
        #[serde(default)]
        currency: Option<String>,
    }
    let currency = serde_json::from_str::<WithCurrency>(text)
        .map_err(|e| DefinitionError::Malformed(e.to_string()))?
        .currency;
    let Some(currency) = currency else {
        return Err(DefinitionError::Invalid(ValidationError {
            violations: vec![Violation::new(
                "currency",
                "value_is_mandatory",
                "currency is required",
            )],
        }));
    };
    charge_from_json(&currency, text)
}

/// A usage bucket as the `rate` contract gives one: `units` (required),
/// `events_count`, `event_values`, `prorated_event_values`,
/// `full_units_number`, `precise_total_amount_cents`, and the `filter` it
/// belongs to and its `grouped_by` label (objects, in their order).
///
/// ```
/// use meterprice::Bucket;
/// let b: Bucket = serde_json::from_str(r#"{"units": "12.5", "events_count": 3,
///     "filter": {"region": ["eu"]}, "grouped_by": {"cloud": "aws"}}"#)?;
/// assert_eq!(b.usage.units, "12.5".parse()?);
/// assert_eq!(b.grouped_by, Some(vec![("cloud".into(), Some("aws".into()))]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            units: Exact,
            #[serde(default)]
            events_count: u64,
            #[serde(default)]
            event_values: Vec<Exact>,
            #[serde(default)]
            prorated_event_values: Vec<Exact>,
            #[serde(default)]
            full_units_number: Option<Exact>,
            #[serde(default)]
            precise_total_amount_cents: Option<Exact>,
            #[serde(default)]
            filter: Option<InOrder<Vec<String>>>,
            #[serde(default)]
            grouped_by: Option<InOrder<Option<String>>>,
        }
        let r = Raw::deserialize(deserializer)?;
        let mut usage = Usage::new(r.units)
            .with_events_count(r.events_count)
            .with_event_values(r.event_values)
            .with_prorated_event_values(r.prorated_event_values);
        usage.full_units_number = r.full_units_number;
        usage.precise_total_amount_cents = r.precise_total_amount_cents;
        Ok(Bucket {
            usage,
            filter: r.filter.map(|m| m.0),
            grouped_by: r.grouped_by.map(|m| m.0),
        })
    }
}

/// A JSON object as its `(key, value)` pairs, in order.
struct InOrder<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for InOrder<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Pairs<V> {
            type Value = InOrder<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<InOrder<V>, M::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(InOrder(out))
            }
        }
        deserializer.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lago::{Outcome, fees_of, rate_json};
    use serde_json::{Value, json};

    fn data(name: &str) -> String {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every public request that prices: the conformance vectors as
    /// requests, the fee cases, the bundled examples.
    fn requests() -> Vec<String> {
        let mut out = Vec::new();
        for line in data("vectors.jsonl").lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut charge =
                json!({"charge_model": v["charge_model"], "properties": v["properties"]});
            if v["prorated"] == json!(true) {
                charge["prorated"] = json!(true);
            }
            let usage: serde_json::Map<String, Value> = v["aggregation"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| !v.is_null() && k.as_str() != "running_total")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out.push(
                json!({"id": v["id"], "currency": v["currency"], "charge": charge, "usage": usage})
                    .to_string(),
            );
        }
        for line in data("fee-cases.jsonl").lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["request"].is_object() {
                out.push(v["request"].to_string());
            }
        }
        let examples = format!("{}/examples/requests.jsonl", env!("CARGO_MANIFEST_DIR"));
        out.extend(
            std::fs::read_to_string(examples)
                .unwrap()
                .lines()
                .map(String::from),
        );
        out
    }

    #[test]
    fn serde_writes_the_fees_rate_writes_byte_for_byte() {
        let mut priced = 0;
        for text in requests() {
            let mut line = Vec::new();
            if rate_json(&text, &mut line, false) != Outcome::Priced {
                continue;
            }
            priced += 1;
            let fees = fees_of(&text).unwrap();
            // The result line without its id is the fees' serialization.
            let line = String::from_utf8(line).unwrap();
            let body = match line.find(",\"fees\":") {
                Some(at) if line.starts_with("{\"id\":") => format!("{{{}", &line[at + 1..]),
                _ => line.clone(),
            };
            assert_eq!(serde_json::to_string(&fees).unwrap(), body, "{text}");
            // And --pretty's indentation is serde_json's.
            let mut pretty = Vec::new();
            crate::lago::response::write_result(&mut pretty, None, &fees, true);
            let pretty = String::from_utf8(pretty).unwrap();
            assert_eq!(
                serde_json::to_string_pretty(&fees).unwrap(),
                pretty,
                "{text}"
            );
            // Each fee, and its amount details, on their own.
            for fee in &fees.fees {
                let one = serde_json::to_string(fee).unwrap();
                assert!(body.contains(&one), "{one}");
                let details = serde_json::to_string(&fee.amount_details).unwrap();
                assert!(
                    one.contains(&format!("\"amount_details\":{details}")),
                    "{details}"
                );
            }
        }
        assert!(priced > 500, "only {priced} requests priced");
    }

    #[test]
    fn json_numbers_are_recognized_by_their_grammar() {
        for t in ["0", "-0", "12", "-12.50", "1e3", "1E-2", "0.5e+7"] {
            assert!(is_json_number(t), "{t}");
        }
        for t in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1_0", " 1", "0x1",
        ] {
            assert!(!is_json_number(t), "{t}");
        }
    }

    #[test]
    fn exact_reads_strings_and_numbers_exactly() {
        let x = |t: &str| serde_json::from_str::<Exact>(t).map(|x| x.to_string());
        assert_eq!(x(r#""12.50""#).unwrap(), "12.5");
        // 0.1 and 1e-7 as numbers, digit for digit (an f64 would not be).
        assert_eq!(x("0.1").unwrap(), "0.1");
        assert_eq!(x("1e-7").unwrap(), "0.0000001");
        assert_eq!(x("-0").unwrap(), "0");
        assert_eq!(
            x("79228162514264337593543950335").unwrap(),
            "79228162514264337593543950335"
        );
        assert!(x("79228162514264337593543950336").is_err());
        // Strings are plain notation: Lago's grammar is the edge's.
        assert!(x(r#""1e3""#).is_err());
        assert!(x("true").is_err());
        let back: Vec<Exact> = serde_json::from_str(r#"["1.5", 2, -3.25]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            r#"["1.5","2","-3.25"]"#
        );
    }
}
