//! The `rate` contract's response lines: a result (the fees as
//! `shapes.rs` lays them out, after the echoed id) or an error record.

use super::raw::RawJson;
use super::shapes::Shape;
pub(crate) use super::write::{Json, indent};
use crate::error::Violation;
use crate::rate::ChargeFees;

/// A filter's `{key: [values]}` in the order given, or null.
pub(crate) fn filter_values(w: &mut Json<'_>, key: &str, values: Option<&[(String, Vec<String>)]>) {
    w.filter_values(key, values);
}

/// A group label `{key: value or null}` in the order given, or null.
pub(crate) fn label(w: &mut Json<'_>, key: &str, label: Option<&[(String, Option<String>)]>) {
    w.label(key, label);
}

/// Writes a priced result: the id, then the fees as `shapes.rs` lays them
/// out.
pub(crate) fn write_result(
    out: &mut Vec<u8>,
    id: Option<RawJson<'_>>,
    fees: &ChargeFees,
    pretty: bool,
) {
    let start = out.len();
    let mut w = Json::new(out);
    w.open(b'{');
    if let Some(id) = id {
        w.raw("id", id);
    }
    let Ok(()) = fees.write(&mut w);
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
