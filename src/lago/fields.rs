//! The raw shapes of Lago's JSON that the validators read: each field kept
//! as raw JSON text (or a list of raw ranges), so that numbers keep their
//! exact text and wrong types become violations, never parse failures.

use serde::Deserialize;

use crate::lago::raw::RawJson;

/// The raw keys of Lago's `properties`, each read without assuming a type.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct RawProperties<'a> {
    #[serde(borrow, default)]
    pub(crate) amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) graduated_ranges: Option<RangeList<'a>>,
    #[serde(borrow, default)]
    pub(crate) graduated_percentage_ranges: Option<RangeList<'a>>,
    #[serde(borrow, default)]
    pub(crate) volume_ranges: Option<RangeList<'a>>,
    #[serde(borrow, default)]
    pub(crate) package_size: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) free_units: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) rate: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) fixed_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) free_units_per_events: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) free_units_per_total_aggregation: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) per_transaction_min_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) per_transaction_max_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) pricing_group_keys: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) grouped_by: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) presentation_group_keys: Option<RawJson<'a>>,
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
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a boolean",
                })
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a number",
                })
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a number",
                })
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a number",
                })
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: true,
                    shown: "null",
                })
            }
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
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One raw tier.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct RawRange<'a> {
    #[serde(borrow, default)]
    pub(crate) from_value: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) to_value: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) per_unit_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) flat_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) rate: Option<RawJson<'a>>,
}
