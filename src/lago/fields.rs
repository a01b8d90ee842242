//! The raw shapes of Lago's JSON that the edge reads: each field kept as
//! raw JSON text (or a list of raw ranges), so that numbers keep their
//! exact text and wrong types become violations, never parse failures.
//!
//! Each shape's field list is declared once, by [`raw_fields!`], for serde
//! (the derived `Deserialize`) and for the one-pass scanner (`scan.rs`),
//! which must read exactly the fields serde reads.

use serde::Deserialize;

use super::raw::RawJson;
use super::scan::{ScanField, Scanner, Seen};

/// The index of `key` in `keys` (a field's bit in the scanner's duplicate
/// check), at compile time.
pub(crate) const fn index_of(keys: &[&str], key: &str) -> u32 {
    let (mut rest, mut i) = (keys, 0);
    while let [k, tail @ ..] = rest {
        if same(k.as_bytes(), key.as_bytes()) {
            return i;
        }
        i += 1;
        rest = tail;
    }
    u32::MAX
}

/// Byte equality in a `const fn`.
const fn same(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, ra @ ..], [y, rb @ ..]) if *x == *y => {
                a = ra;
                b = rb;
            }
            _ => return false,
        }
    }
}

/// Declares a raw shape: a struct whose every field is optional and read
/// without assuming a type (`#[serde(borrow, default)]`), and the scanner's
/// reading of its members, from the same list of fields.
macro_rules! raw_fields {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, PartialEq, Deserialize)]
        pub(crate) struct $name<'a> {
            $(
                $(#[$fmeta])*
                #[serde(borrow, default)]
                pub(crate) $field: $ty,
            )*
        }

        impl<'a> $name<'a> {
            /// The JSON keys, in declaration order.
            const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Reads member `key` into its field (a field given twice makes
            /// the scanner give up, as serde refuses it); skips other keys.
            #[inline]
            pub(crate) fn scan_member(
                &mut self,
                s: &mut Scanner<'a>,
                seen: &mut Seen,
                key: &str,
            ) -> Option<()> {
                match key {
                    $(stringify!($field) => {
                        seen.first(const { index_of($name::KEYS, stringify!($field)) })?;
                        ScanField::scan(&mut self.$field, s)
                    })*
                    _ => s.skip(),
                }
            }
        }
    };
}

raw_fields! {
    /// The top level of a rating request, read in one pass; leaves that may
    /// hold a wrong type stay raw. When this fails, `LenientEnvelope`
    /// finds out why.
    Envelope {
        id: Option<RawJson<'a>>,
        currency: Option<RawJson<'a>>,
        charge: Option<Obj<RawCharge<'a>>>,
        usage: Option<UsageField<'a>>,
        event: Option<RawJson<'a>>,
        period: Option<RawJson<'a>>,
    }
}

raw_fields! {
    /// A charge object.
    RawCharge {
        charge_model: Option<RawJson<'a>>,
        properties: Option<Obj<RawProperties<'a>>>,
        filters: Option<RawJson<'a>>,
        pay_in_advance: Option<RawJson<'a>>,
        invoiceable: Option<RawJson<'a>>,
        prorated: Option<RawJson<'a>>,
        min_amount_cents: Option<RawJson<'a>>,
        code: Option<RawJson<'a>>,
        billable_metric_code: Option<RawJson<'a>>,
        billable_metric_name: Option<RawJson<'a>>,
        invoice_display_name: Option<RawJson<'a>>,
        taxes: Option<RawJson<'a>>,
        applied_pricing_unit: Option<RawJson<'a>>,
        /// Lago's legacy per-group properties: read only to be refused.
        group_properties: Option<RawJson<'a>>,
    }
}

raw_fields! {
    /// The keys of Lago's `properties`.
    RawProperties {
        amount: Option<RawJson<'a>>,
        graduated_ranges: Option<RangeList<'a>>,
        graduated_percentage_ranges: Option<RangeList<'a>>,
        volume_ranges: Option<RangeList<'a>>,
        package_size: Option<RawJson<'a>>,
        free_units: Option<RawJson<'a>>,
        rate: Option<RawJson<'a>>,
        fixed_amount: Option<RawJson<'a>>,
        free_units_per_events: Option<RawJson<'a>>,
        free_units_per_total_aggregation: Option<RawJson<'a>>,
        per_transaction_min_amount: Option<RawJson<'a>>,
        per_transaction_max_amount: Option<RawJson<'a>>,
        pricing_group_keys: Option<RawJson<'a>>,
        grouped_by: Option<RawJson<'a>>,
        presentation_group_keys: Option<RawJson<'a>>,
    }
}

raw_fields! {
    /// One tier.
    RawRange {
        from_value: Option<RawJson<'a>>,
        to_value: Option<RawJson<'a>>,
        per_unit_amount: Option<RawJson<'a>>,
        flat_amount: Option<RawJson<'a>>,
        rate: Option<RawJson<'a>>,
    }
}

raw_fields! {
    /// One usage bucket.
    RawBucket {
        units: Option<RawJson<'a>>,
        events_count: Option<RawJson<'a>>,
        event_values: Option<RawJson<'a>>,
        prorated_event_values: Option<RawJson<'a>>,
        full_units_number: Option<RawJson<'a>>,
        precise_total_amount_cents: Option<RawJson<'a>>,
        filter: Option<RawJson<'a>>,
        grouped_by: Option<RawJson<'a>>,
    }
}

/// A tier list read in the same pass as the rest of the request: the
/// ranges when it is a list, else what it was (for Lago's codes).
#[derive(Debug, PartialEq)]
pub(crate) enum RangeList<'a> {
    /// A JSON array: each element a range object, or not.
    Items(Vec<RangeItem<'a>>),
    /// Anything else: whether it is blank (`""`, `{}`), and what it is.
    Other { blank: bool, shown: &'static str },
}

/// One element of a tier list.
#[derive(Debug, PartialEq)]
pub(crate) enum RangeItem<'a> {
    /// An object.
    Range(RawRange<'a>),
    /// Anything else.
    NotObject,
}

/// The visitor methods for the JSON scalars other than strings, which a
/// shape takes only to report them: each gives `$make(blank, shown)`.
macro_rules! other_scalars {
    ($make:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(($make)(false, "a boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(($make)(false, "a number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(($make)(false, "a number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(($make)(false, "a number"))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(($make)(true, "null"))
        }
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for RangeList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RangeList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of ranges")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RangeList::Items(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut blank = true;
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {
                    blank = false;
                }
                Ok(RangeList::Other {
                    blank,
                    shown: "an object",
                })
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: v.trim().is_empty(),
                    shown: "a string",
                })
            }
            other_scalars!(|blank, shown| RangeList::Other { blank, shown });
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RangeItem<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RangeItem<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a range")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawRange::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RangeItem::Range)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(RangeItem::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            other_scalars!(|_, _| RangeItem::NotObject);
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A struct that must be given as a JSON object: derived `Deserialize`
/// would also take an array, field by field in order.
#[derive(Debug, PartialEq)]
pub(crate) struct Obj<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `usage`: one bucket or a list of them.
#[derive(Debug, PartialEq)]
pub(crate) enum UsageField<'a> {
    One(RawBucket<'a>),
    Many(Vec<RawBucket<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for UsageField<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = UsageField<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a usage bucket or an array of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawBucket::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(UsageField::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(Obj(b)) = seq.next_element()? {
                    out.push(b);
                }
                Ok(UsageField::Many(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}
