//! Charges read from SQL text: validated once per distinct (currency,
//! charge) text, with the `rate` contract's error codes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use meterprice::{Charge, DefinitionError};

use crate::rate::fast_standard::FastStandard;

/// Why a charge text is not a charge, as the `rate` contract reports it:
/// `"<code>: <message>"`, the code one of `validation_error`,
/// `unsupported`, `arithmetic_overflow`, `parse_error`.
pub(crate) fn definition_error(e: &DefinitionError) -> String {
    let mut text = format!("{}: {e}", e.code());
    if let DefinitionError::Invalid(v) = e {
        let details: Vec<String> = v
            .violations
            .iter()
            .map(|v| format!("{} {}", v.field, v.code))
            .collect();
        text.push_str(&format!(" (details: {})", details.join(", ")));
    }
    text
}

/// Validates a charge: the charge, or the error text of
/// [`definition_error`].
pub(crate) fn validate(currency: &str, charge: &str) -> Result<Arc<Charge>, Arc<str>> {
    Charge::from_lago_json(currency, charge)
        .map(Arc::new)
        .map_err(|e| definition_error(&e).into())
}

/// A charge validated from its text, kept with that text: the text is what
/// identifies it (equality, hashing) and what travels to executors.
#[derive(Debug, Clone)]
pub(crate) struct BoundCharge {
    pub currency: Arc<str>,
    pub json: Arc<str>,
    pub charge: Arc<Charge>,
    /// The charge's closed form, when it has one.
    pub fast: Option<Arc<FastStandard>>,
}

impl BoundCharge {
    /// Validates `json` priced in `currency`.
    pub fn new(currency: &str, json: &str) -> Result<Self, Arc<str>> {
        let charge = validate(currency, json)?;
        Ok(Self {
            currency: currency.into(),
            json: json.into(),
            fast: FastStandard::new(&charge).map(Arc::new),
            charge,
        })
    }
}

impl PartialEq for BoundCharge {
    fn eq(&self, other: &Self) -> bool {
        self.currency == other.currency && self.json == other.json
    }
}

impl Eq for BoundCharge {}

impl Hash for BoundCharge {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.currency.hash(state);
        self.json.hash(state);
    }
}

/// How many distinct charges the cache keeps before it starts over: a
/// charge column normally holds a plan's few charges.
const CACHE_ENTRIES: usize = 1024;

type Validated = Result<Arc<Charge>, Arc<str>>;

/// (currency, charge) texts.
type Key = (Arc<str>, Arc<str>);

/// Validated charges by (currency, charge) text, shared by every batch a
/// function instance evaluates. It is not part of the function's identity:
/// two instances compare equal whatever they cached.
#[derive(Debug, Default, Clone)]
pub(crate) struct ChargeCache(Arc<Mutex<HashMap<Key, Validated>>>);

impl ChargeCache {
    /// The charge for this text, validated on first sight.
    pub fn get(&self, currency: &str, charge: &str) -> Validated {
        let key: Key = (currency.into(), charge.into());
        if let Ok(map) = self.0.lock()
            && let Some(found) = map.get(&key)
        {
            return found.clone();
        }
        let validated = validate(currency, charge);
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_ENTRIES {
                map.clear();
            }
            map.insert(key, validated.clone());
        }
        validated
    }
}

impl PartialEq for ChargeCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ChargeCache {}

impl Hash for ChargeCache {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}
