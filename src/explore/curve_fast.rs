//! The curve of a shape made of affine segments only (graduated, volume,
//! standard, percentage), in one pass (a performance trick, kept here):
//! each segment is compared with the one before (the same slope, no jump)
//! and a canonical piece is written, with the point at its end, once it
//! is complete, into vectors sized beforehand. Anything else (package steps, an amount out of range, more pieces
//! than allowed) is left to the general builder in curve.rs, which gives
//! the same curve and every error.

use super::curve::{Curve, CurvePiece, CurvePoint};
use super::shape::{Form, Segment, Shape, Span};
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
    // One pass: a piece ends where the next segment changes the slope or
    // jumps; it is written then, with the point at its end, once each.
    let mut pieces: Vec<CurvePiece> = Vec::with_capacity(n.min(limit));
    let mut points: Vec<CurvePoint> = Vec::with_capacity(n.min(limit) + 1);
    points.push(CurvePoint {
        units: Exact::ZERO,
        amount: shape.zero,
    });
    // The open piece: its first segment's start, and its last segment.
    let mut open: Option<(&Segment, &Span, &Segment, &Span)> = None;
    for (i, (seg, span)) in segments.iter().zip(spans).enumerate() {
        let (Form::Affine(_), Some(span)) = (&seg.form, span) else {
            return None;
        };
        if i + 1 < n && seg.hi.is_none_or(|h| h > up_to) {
            return None;
        }
        open = match open {
            Some((first, first_span, _, last))
                if last.slope == span.slope && last.end == Some(span.start) =>
            {
                Some((first, first_span, seg, span))
            }
            Some((first, first_span, last_seg, last)) => {
                close(
                    &mut pieces,
                    &mut points,
                    limit,
                    (first, first_span),
                    (last_seg.hi?, last.end?),
                )?;
                Some((seg, span, seg, span))
            }
            None => Some((seg, span, seg, span)),
        };
    }
    let (first, first_span, _, _) = open?;
    close(
        &mut pieces,
        &mut points,
        limit,
        (first, first_span),
        last_end,
    )?;
    Some(Curve {
        up_to,
        pieces,
        points,
    })
}

/// Writes the piece from `first`'s start to `end` and the point there;
/// `None` past the limit (the general builder reports it).
fn close(
    pieces: &mut Vec<CurvePiece>,
    points: &mut Vec<CurvePoint>,
    limit: usize,
    (first, first_span): (&Segment, &Span),
    (to, amount): (Exact, Exact),
) -> Option<()> {
    if pieces.len() == limit {
        return None;
    }
    pieces.push(CurvePiece {
        from: first.lo,
        to,
        amount_from: first_span.start,
        slope: first_span.slope,
    });
    points.push(CurvePoint { units: to, amount });
    Some(())
}
