//! The exact price curve (explore-json.md, `curve`): amount(u) on
//! `[0, up_to]` as canonical pieces and points, from the shape's segments.

use super::shape::{Form, Segment, Span};
use super::{ExploreError, Explorer};
use crate::exact::Figure;
use crate::{ArithmeticError, Exact};

/// One canonical piece: on the open interval `(from, to)`, amount(u) =
/// `amount_from + slope × (u − from)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurvePiece {
    /// Its start (a breakpoint).
    pub from: Exact,
    /// Its end (the next breakpoint).
    pub to: Exact,
    /// The limit of amount(u) from the right at `from`.
    pub amount_from: Exact,
    /// The amount per unit on the piece.
    pub slope: Exact,
}

/// amount(u) at a breakpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurvePoint {
    /// The breakpoint.
    pub units: Exact,
    /// amount(units).
    pub amount: Exact,
}

/// The canonical curve: `points` has one entry more than `pieces`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Curve {
    /// The curve's end.
    pub up_to: Exact,
    /// The pieces, in order, from 0 to `up_to`.
    pub pieces: Vec<CurvePiece>,
    /// The breakpoints with their amounts, 0 and `up_to` included.
    pub points: Vec<CurvePoint>,
}

const WHAT: &str = "explore curve";

impl Curve {
    /// amount(u) on the piece holding `u` (`u` inside it or at its end):
    /// the piece's affine function.
    pub(crate) fn piece_value(piece: &CurvePiece, u: Exact) -> Result<Exact, ArithmeticError> {
        let d = u.minus(piece.from).figure(WHAT)?;
        piece
            .amount_from
            .plus(d.times(piece.slope).figure(WHAT)?)
            .figure(WHAT)
    }
}

/// Raw pieces in order, merged as they come; past the limit they are
/// only counted. The points are built beside them: `points[i + 1]` is
/// amount(to) of `pieces[i]` (its right end belongs to it).
struct Builder {
    pieces: Vec<CurvePiece>,
    points: Vec<CurvePoint>,
    limit: usize,
    /// Canonical pieces counted, kept or not.
    count: u128,
}

impl Builder {
    /// Adds a piece, merging it into the last when amount is one affine
    /// function across their common breakpoint.
    fn push(&mut self, piece: CurvePiece, end: Exact) -> Result<(), ArithmeticError> {
        if let (Some(last), Some(last_end)) = (self.pieces.last_mut(), self.points.last_mut()) {
            // Segments are closed on the right, so the point at the common
            // breakpoint is the left piece's limit there: one affine
            // function across it when the slope is the same and the amount
            // does not jump.
            if last.slope == piece.slope && last_end.amount == piece.amount_from {
                last.to = piece.to;
                *last_end = CurvePoint {
                    units: piece.to,
                    amount: end,
                };
                return Ok(());
            }
        }
        self.count += 1;
        if self.pieces.len() < self.limit {
            self.points.push(CurvePoint {
                units: piece.to,
                amount: end,
            });
            self.pieces.push(piece);
        }
        Ok(())
    }

    fn full(&self) -> bool {
        self.count > self.limit as u128
    }
}

impl Explorer<'_> {
    /// The canonical curve of amount(u) on `[0, up_to]`.
    ///
    /// # Errors
    /// [`ExploreError::InvalidUsage`] for `up_to` out of range,
    /// [`ExploreError::Unsupported`] for a charge with a pricing unit,
    /// [`ExploreError::TooManyPieces`] beyond `max_pieces` canonical
    /// pieces, [`ExploreError::Arithmetic`] for an amount out of range.
    pub fn curve(&self, up_to: Exact, max_pieces: usize) -> Result<Curve, ExploreError> {
        super::budget::check_step("curve.up_to", up_to)?;
        self.no_pricing_unit()?;
        let up_to = up_to.normalize();
        let limit = max_pieces.max(1);
        if let Some(curve) = super::curve_fast::curve(&self.shape, up_to, limit) {
            return Ok(curve);
        }
        // One piece a segment at most, but for package steps.
        let room = self.shape.segments.len().min(limit);
        let mut b = Builder {
            pieces: Vec::with_capacity(room),
            points: Vec::with_capacity(room + 1),
            limit,
            count: 0,
        };
        b.points.push(CurvePoint {
            units: Exact::ZERO,
            amount: self.shape.zero,
        });
        // Too many pieces wins over an amount out of range: count on.
        let mut overflow = None;
        for (seg, span) in self.shape.segments.iter().zip(&self.shape.spans) {
            if seg.lo >= up_to {
                break;
            }
            if let Err(e) = Self::segment_pieces(seg, *span, up_to, &mut b) {
                b.count += 1;
                overflow.get_or_insert(e);
            }
        }
        if b.full() {
            return Err(ExploreError::TooManyPieces {
                pieces: b.count,
                limit: b.limit as u128,
            });
        }
        if let Some(e) = overflow {
            return Err(e.into());
        }
        Ok(Curve {
            up_to,
            pieces: b.pieces,
            points: b.points,
        })
    }

    fn no_pricing_unit(&self) -> Result<(), ExploreError> {
        self.charge.explore_no_pricing_unit()
    }

    /// The raw pieces of one segment, cut at `up_to`.
    fn segment_pieces(
        seg: &Segment,
        span: Option<Span>,
        up_to: Exact,
        b: &mut Builder,
    ) -> Result<(), ArithmeticError> {
        // A segment past `up_to` is cut there.
        let (to, cut) = match seg.hi {
            Some(h) if h <= up_to => (h, false),
            _ => (up_to, true),
        };
        match (&seg.form, span) {
            (Form::Affine(a), Some(span)) => {
                let piece = CurvePiece {
                    from: seg.lo,
                    to,
                    amount_from: span.start,
                    slope: span.slope,
                };
                // The segment's end was worked out once; a cut one is not.
                let end = match span.end {
                    Some(end) if !cut => end,
                    _ => a.amount(to)?,
                };
                b.push(piece, end)
            }
            (Form::Affine(_), None) => Err(ArithmeticError::new(WHAT)),
            (Form::Steps(s), _) => {
                // Every step is one canonical piece (the price jumps by one
                // package between them): count them before listing them.
                let steps = to.minus(seg.lo).figure(WHAT)?.over(s.size).figure(WHAT)?;
                let whole = steps.floor();
                let steps = if whole == steps {
                    whole
                } else {
                    whole.plus(Exact::ONE).figure(WHAT)?
                };
                let steps = steps
                    .to_i128()
                    .and_then(|n| u128::try_from(n).ok())
                    .unwrap_or(u128::MAX);
                if b.count.saturating_add(steps) > b.limit as u128 {
                    b.count = b.count.saturating_add(steps);
                    return Ok(());
                }
                let mut from = seg.lo;
                let mut count = s.count(from.plus(s.size).figure(WHAT)?)?;
                while from < to {
                    let end = from.plus(s.size).figure(WHAT)?.min(to);
                    let amount = count.times(s.amount).figure(WHAT)?;
                    let piece = CurvePiece {
                        from,
                        to: end,
                        amount_from: amount,
                        slope: Exact::ZERO,
                    };
                    b.push(piece, amount)?;
                    from = end;
                    count = count.plus(Exact::ONE).figure(WHAT)?;
                }
                Ok(())
            }
            (Form::Broken, _) => Err(ArithmeticError::new(WHAT)),
        }
    }
}
