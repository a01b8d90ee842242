//! The curve of a shape made of affine segments only (graduated, volume,
//! standard, percentage), in two passes (a performance trick, kept here):
//! the first finds where the canonical pieces start by comparing each
//! segment with the one before (the same slope, no jump), the second
//! writes the pieces and points once each, into vectors of their final
//! size. Anything else (package steps, an amount out of range, more pieces
//! than allowed) is left to the general builder in curve.rs, which gives
//! the same curve and every error.

use super::curve::{Curve, CurvePiece, CurvePoint};
use super::shape::{Form, Shape, Span};
use crate::Exact;

/// The curve on `[0, up_to]`, or `None` when the general builder must
/// make it.
pub(crate) fn curve(shape: &Shape, up_to: Exact, limit: usize) -> Option<Curve> {
    // The segments that start before `up_to`; all but the last end by it.
    let n = shape.segments.partition_point(|s| s.lo < up_to);
    let segments = shape.segments.get(..n)?;
    let spans = shape.spans.get(..n)?;
    let (last_seg, _) = segments.split_last()?;
    // The last segment's right end and amount there (cut at `up_to`).
    let last_end = match (last_seg.hi, spans.last()?, &last_seg.form) {
        (Some(h), Some(span), _) if h <= up_to => (h, span.end?),
        (_, Some(_), Form::Affine(a)) => (up_to, a.amount(up_to).ok()?),
        _ => return None,
    };
    // Pass 1: the first segment of each canonical piece: where the slope
    // changes or the amount jumps.
    let mut starts: Vec<usize> = Vec::with_capacity(n.min(limit));
    let mut prev: Option<&Span> = None;
    for (i, (seg, span)) in segments.iter().zip(spans).enumerate() {
        let (Form::Affine(_), Some(span)) = (&seg.form, span) else {
            return None;
        };
        if i + 1 < n && seg.hi.is_none_or(|h| h > up_to) {
            return None;
        }
        let merges = prev.is_some_and(|p| p.slope == span.slope && p.end == Some(span.start));
        if !merges {
            if starts.len() == limit {
                return None;
            }
            starts.push(i);
        }
        prev = Some(span);
    }
    // Pass 2: one piece and one point a start.
    let mut pieces = Vec::with_capacity(starts.len());
    let mut points = Vec::with_capacity(starts.len() + 1);
    points.push(CurvePoint {
        units: Exact::ZERO,
        amount: shape.zero,
    });
    for (k, &first) in starts.iter().enumerate() {
        let (seg, span) = (segments.get(first)?, spans.get(first)?.as_ref()?);
        let (to, amount) = match starts.get(k + 1) {
            Some(next) => {
                let end = next - 1;
                (segments.get(end)?.hi?, spans.get(end)?.as_ref()?.end?)
            }
            None => last_end,
        };
        pieces.push(CurvePiece {
            from: seg.lo,
            to,
            amount_from: span.start,
            slope: span.slope,
        });
        points.push(CurvePoint { units: to, amount });
    }
    Some(Curve {
        up_to,
        pieces,
        points,
    })
}
