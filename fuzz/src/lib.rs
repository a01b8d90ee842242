//! Helpers the fuzz targets share.

/// JSON text without insignificant whitespace (strings kept verbatim), to
/// compare an echoed `id` between compact and pretty output.
pub fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// Panics unless `written` is valid JSON. Grammar only: `IgnoredAny` reads
/// no number's value, so an echoed `id` such as `-5E555550` (valid JSON,
/// but no f64) passes, as it must.
pub fn assert_json(target: &str, written: &[u8], what: &str) {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(written) {
        panic!(
            "{target} wrote invalid {what} JSON ({e}): {:?}",
            String::from_utf8_lossy(written)
        );
    }
}

/// `written` as a `T`, once it is valid JSON (`assert_json`).
pub fn parse_as<'a, T: serde::Deserialize<'a>>(target: &str, written: &'a [u8], what: &str) -> T {
    assert_json(target, written, what);
    match serde_json::from_slice::<T>(written) {
        Ok(r) => r,
        Err(e) => panic!(
            "{target} {what} output is not a result object ({e}): {:?}",
            String::from_utf8_lossy(written)
        ),
    }
}

/// `written`, a JSON object, as a value without its `id`: the echoed id
/// may hold a number no f64 holds, so it is checked as grammar only
/// (`assert_json`) and left out of the value.
pub fn object_without_id(target: &str, written: &[u8], what: &str) -> serde_json::Value {
    assert_json(target, written, what);
    let fields: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
        match serde_json::from_slice(written) {
            Ok(f) => f,
            Err(e) => panic!(
                "{target} {what} output is not an object ({e}): {:?}",
                String::from_utf8_lossy(written)
            ),
        };
    let mut object = serde_json::Map::new();
    for (k, raw) in fields {
        if k != "id" {
            object.insert(k, serde_json::from_str(raw.get()).expect("a value"));
        }
    }
    serde_json::Value::Object(object)
}
