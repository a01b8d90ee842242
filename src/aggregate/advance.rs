//! Pay in advance (§12): the aggregation for one event, in its bucket
//! (A26) and group (A32 with AD7), up to the event (A9); the units it
//! bills and the state it leaves (A57, A58), with the cached state given
//! as input (AD3).

use crate::aggregate::accumulator::EventOrder;
use crate::aggregate::aggregator::{Advance, AggregateError, Aggregator, OwnedValue};
use crate::aggregate::event::{EventMeta, Properties};
use crate::aggregate::finish::{Core, Ctx, listed_values};
use crate::aggregate::group::Acc;
use crate::aggregate::metric::SetupError;
use crate::aggregate::prorate::ceil5;
use crate::aggregate::result::InAdvanceStep;
use crate::aggregate::spec::{AggregationSpec, CachedAggregation};
use crate::aggregate::value::{Value, numeric_value};
use crate::error::{ArithmeticError, Violation};
use crate::exact::{Exact, Figure};

const WHAT: &str = "pay-in-advance aggregation";

/// The event a pay-in-advance aggregation is for.
#[derive(Debug, Clone, Copy)]
pub struct InAdvanceEvent<'a> {
    /// Its fields; `seq` places it among the events (a persisted event
    /// not in the input comes after all of them).
    pub meta: EventMeta<'a>,
    /// Whether it is one of the events (else an estimate, Lago's
    /// non-persisted event).
    pub persisted: bool,
    /// Its `properties` object is empty (`{}`): Lago bills 0 for it.
    pub properties_empty: bool,
}

/// Why an in-advance aggregation cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InAdvanceError {
    /// The spec is invalid.
    #[error("{0}")]
    Setup(#[from] SetupError),
    /// The event cannot count (its expression fails, its value is out of
    /// range).
    #[error("{0}")]
    Event(#[from] AggregateError),
}

/// The step's units, `units_applied` and new state.
struct Step {
    units: Exact,
    applied: Option<Exact>,
    current: Exact,
    max: Exact,
}

impl Aggregator {
    /// An aggregator for one pay-in-advance event (A57): only the event's
    /// bucket and group, up to the event. Push the other events (and the
    /// event itself when persisted), then [`Aggregator::finish`]; its one
    /// result carries [`crate::BucketResult::in_advance`].
    ///
    /// # Errors
    /// [`InAdvanceError::Setup`] for a spec Lago rejects, a metric that
    /// cannot be paid in advance (max, latest, weighted sum) included;
    /// [`InAdvanceError::Event`] when the event's expression fails or its
    /// value is out of range.
    pub fn for_event<P: Properties + ?Sized>(
        spec: AggregationSpec,
        event: InAdvanceEvent<'_>,
        props: &P,
    ) -> Result<Self, InAdvanceError> {
        let kind = spec.metric.aggregation_type();
        if !kind.payable_in_advance() {
            return Err(SetupError::invalid(vec![Violation::new(
                "pay_in_advance",
                "invalid_aggregation_type_or_charge_model",
                format!("{} cannot be paid in advance", kind.lago_name()),
            )])
            .into());
        }
        let mut agg = Aggregator::new(spec)?;
        let meta = event.meta;
        let computed = agg
            .evaluate(&meta, props)
            .map_err(|r| AggregateError::Event(r.message))?;
        let view = agg.view(props, computed.as_deref());
        let (bucket, group_key) = agg.place(&view);
        let field = agg.field_slot().and_then(|f| view.get(f));
        // A17 with AD8: a missing or non-numeric value counts as 0.
        let value = match numeric_value(field) {
            Ok(v) => v.unwrap_or(Exact::ZERO),
            Err(_) => {
                return Err(AggregateError::Event(format!(
                    "{:?}: its value is beyond the decimal range",
                    meta.transaction_id
                ))
                .into());
            }
        };
        let add = agg
            .op_slot()
            .and_then(|k| view.get(k))
            .is_none_or(|v| matches!(v, Value::Null) || v.text_eq("add"));
        let advance = Advance {
            transaction_id: meta.transaction_id.to_string(),
            order: EventOrder::new(meta.timestamp, meta.seq),
            persisted: event.persisted,
            blank: event.properties_empty,
            value,
            add,
            target: field.map(OwnedValue::of),
            group_key,
            precise: meta.precise_total_amount_cents,
        };
        agg.set_advance(advance, bucket);
        Ok(agg)
    }

    pub(crate) fn advance_core(&self, ctx: &Ctx<'_>) -> Result<Core, ArithmeticError> {
        let Some(adv) = &self.advance else {
            return Ok(Core::default());
        };
        let g = ctx.group;
        let estimate = (!adv.persisted).then_some(adv.value);
        let mut core = match &g.acc {
            Acc::Count(c) => {
                let listed = g.window_events() + u64::from(!adv.persisted);
                let mut core = self.count_core(c.finish(), listed)?;
                core.step = Some(self.step(Exact::ONE, None, None));
                core
            }
            Acc::Sum(s) => self.advance_sum(ctx, s.finish(), estimate)?,
            Acc::Unique(u) => {
                let a = Exact::from(u.adds());
                let step = self.unique_step(ctx)?;
                let listed = g.window_events() + u64::from(!adv.persisted);
                Core {
                    aggregation: a,
                    count: a,
                    running_total: self.counting_total(a)?,
                    event_values: vec![Exact::ONE; usize::try_from(listed).unwrap_or(0)],
                    step: Some(self.finish_step(ctx, step, None)?),
                    ..Core::default()
                }
            }
            Acc::ProratedSum { persisted, current } => {
                self.advance_prorated_sum(ctx, persisted.finish(), current.finish())?
            }
            Acc::ProratedUnique(seqs) => {
                let prorated = self.prorated_unique_value(ctx, seqs)?;
                let step = self.unique_step(ctx)?;
                let (event_values, prorated_event_values) =
                    self.prorated_unique_lists(ctx, seqs)?;
                Core {
                    aggregation: prorated,
                    count: prorated,
                    event_values,
                    prorated_event_values,
                    step: Some(self.prorated_step(ctx, step)?),
                    ..Core::default()
                }
            }
            // Max, latest and weighted sums cannot be paid in advance
            // (checked when the aggregator was built).
            _ => Core::default(),
        };
        if let Some(s) = &mut core.step {
            s.persisted = adv.persisted;
            // A57: the fee's units of a prorated step are its full units.
            if self.spec.charge.prorated {
                core.full = Some(s.full_units);
            }
        }
        Ok(core)
    }

    /// A sum in advance: the window's total, and the step.
    fn advance_sum(
        &self,
        ctx: &Ctx<'_>,
        (total, n): (Exact, u64),
        estimate: Option<Exact>,
    ) -> Result<Core, ArithmeticError> {
        let step = self.sum_step(ctx)?;
        let mut values = listed_values(&ctx.records);
        values.extend(estimate);
        Ok(Core {
            aggregation: total,
            count: Exact::from(n),
            running_total: self.summing_total(ctx.records.iter().map(|r| r.value), estimate)?,
            event_values: values,
            step: Some(self.finish_step(ctx, step, None)?),
            ..Core::default()
        })
    }

    /// A prorated sum in advance: the window's prorated total (A45), and
    /// the prorated step.
    fn advance_prorated_sum(
        &self,
        ctx: &Ctx<'_>,
        (persisted, n_persisted): (Exact, u64),
        (_, n_current): (Exact, u64),
    ) -> Result<Core, ArithmeticError> {
        let prorated = ceil5(self.prorated_sum_value(ctx, persisted)?)?;
        let step = self.sum_step(ctx)?;
        let (event_values, prorated_event_values) = self.prorated_sum_lists(ctx)?;
        Ok(Core {
            aggregation: prorated,
            count: Exact::from(n_persisted + n_current),
            event_values,
            prorated_event_values,
            step: Some(self.prorated_step(ctx, step)?),
            ..Core::default()
        })
    }

    /// A57 for sums: the event's value against the cached state.
    fn sum_step(&self, ctx: &Ctx<'_>) -> Result<Option<Step>, ArithmeticError> {
        let Some(adv) = self.advance.as_ref().filter(|a| !a.blank) else {
            return Ok(None);
        };
        let v = adv.value;
        Ok(Some(match self.cached(ctx.bucket, &ctx.label) {
            None => Step {
                units: v.max(Exact::ZERO),
                applied: Some(v),
                current: v,
                max: v,
            },
            Some(c) => {
                let current = c.current_aggregation.plus(v).figure(WHAT)?;
                if current > c.max_aggregation {
                    // AD8 (QA16): the new maximum is max(old, current).
                    Step {
                        units: current.minus(c.max_aggregation).figure(WHAT)?,
                        applied: None,
                        current,
                        max: current,
                    }
                } else {
                    Step {
                        units: Exact::ZERO,
                        applied: Some(v),
                        current,
                        max: c.max_aggregation,
                    }
                }
            }
        }))
    }

    /// A57 for unique counts: whether the value is new, against the cached
    /// state.
    fn unique_step(&self, ctx: &Ctx<'_>) -> Result<Option<Step>, ArithmeticError> {
        let Some(adv) = self.advance.as_ref().filter(|a| !a.blank) else {
            return Ok(None);
        };
        let active = ctx.group.prior().is_some_and(|(_, add)| add);
        let newly = if adv.add && !active {
            Exact::ONE
        } else {
            Exact::ZERO
        };
        Ok(Some(match self.cached(ctx.bucket, &ctx.label) {
            None => Step {
                units: newly,
                applied: Some(newly),
                current: newly,
                max: newly,
            },
            Some(c) => {
                let current = if adv.add {
                    c.current_aggregation.plus(newly).figure(WHAT)?
                } else if active {
                    c.current_aggregation.minus(Exact::ONE).figure(WHAT)?
                } else {
                    c.current_aggregation
                };
                if current > c.max_aggregation {
                    Step {
                        units: Exact::ONE,
                        applied: None,
                        current,
                        max: current,
                    }
                } else {
                    Step {
                        units: Exact::ZERO,
                        applied: Some(newly),
                        current,
                        max: c.max_aggregation,
                    }
                }
            }
        }))
    }

    /// A57's proration: the step × `date_diff(event, to) / duration`,
    /// rounded up at 5 places; the state keeps the prorated maximum.
    fn prorated_step(
        &self,
        ctx: &Ctx<'_>,
        step: Option<Step>,
    ) -> Result<InAdvanceStep, ArithmeticError> {
        let (Some(adv), Some(s)) = (&self.advance, step) else {
            return self.finish_step(ctx, None, None);
        };
        let p = &self.spec.period;
        let days = p.timezone.date_diff(adv.order.timestamp, p.to);
        let w = s.units.times(Exact::from_small(days, 0)).figure(WHAT)?;
        let prorated = ceil5(w.over(Exact::from(p.charges_duration)).figure(WHAT)?)?;
        let mawp = match self.cached(ctx.bucket, &ctx.label) {
            None => prorated,
            Some(c) => {
                let billed = c.max_aggregation_with_proration.unwrap_or(Exact::ZERO);
                if s.max > c.max_aggregation {
                    billed.plus(prorated).figure(WHAT)?
                } else {
                    billed
                }
            }
        };
        let full = s.units;
        let mut out = self.finish_step(ctx, Some(s), Some(mawp))?;
        out.full_units = full;
        out.pay_in_advance_aggregation = prorated;
        Ok(out)
    }

    fn finish_step(
        &self,
        ctx: &Ctx<'_>,
        step: Option<Step>,
        mawp: Option<Exact>,
    ) -> Result<InAdvanceStep, ArithmeticError> {
        let Some(s) = step else {
            return Ok(self.step(Exact::ZERO, None, None));
        };
        let units = s.units;
        let applied = s.applied;
        let mut cached = CachedAggregation::new(s.current, s.max)
            .with_group(ctx.label.clone())
            .with_bucket(ctx.bucket);
        cached.max_aggregation_with_proration = mawp;
        Ok(self.step(units, applied, Some(cached)))
    }

    fn step(
        &self,
        units: Exact,
        applied: Option<Exact>,
        cached: Option<CachedAggregation>,
    ) -> InAdvanceStep {
        let adv = self.advance.as_ref();
        let dynamic = self.spec.charge.model == crate::aggregate::spec::ChargeModelKind::Dynamic;
        let cached = cached.map(|mut c| {
            if let Some(a) = adv {
                c.timestamp = Some(a.order.timestamp);
                c.event_transaction_id = Some(a.transaction_id.clone());
            }
            c
        });
        InAdvanceStep {
            pay_in_advance_aggregation: units,
            units_applied: applied,
            pay_in_advance_precise_total_amount_cents: dynamic
                .then(|| adv.and_then(|a| a.precise).unwrap_or(Exact::ZERO)),
            full_units: units,
            cached_aggregation: cached,
            persisted: adv.is_some_and(|a| a.persisted),
        }
    }
}
