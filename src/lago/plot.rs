//! `meterprice explore --svg FILE`: the curve of one explore request as an
//! SVG picture (plotters' SVG backend). Exact figures become `f64` here for
//! pixel coordinates only; nothing drawn feeds back into a price.
#![allow(clippy::float_arithmetic)]

use plotters::prelude::*;

use super::explore::{Answers, prepare, run};
use crate::{Cheaper, Curve, Exact};

fn f(x: Exact) -> f64 {
    x.to_string().parse().unwrap_or(0.0)
}

/// The polyline of a curve: each piece from its start to its end, jumps
/// drawn as vertical steps, with the breakpoints' own values as dots.
/// Pixel-space points of a curve.
type Points = Vec<(f64, f64)>;

fn lines(c: &Curve) -> (Points, Points) {
    let mut line = Vec::new();
    for (p, end) in c.pieces.iter().zip(c.points.iter().skip(1)) {
        let left = Curve::piece_value(p, p.to).map_or(0.0, f);
        line.push((f(p.from), f(p.amount_from)));
        line.push((f(p.to), left));
        line.push((f(p.to), f(end.amount)));
    }
    let dots = c.points.iter().map(|p| (f(p.units), f(p.amount))).collect();
    (line, dots)
}

/// Draws the request in `text` (one explore request) as SVG.
///
/// # Errors
/// The request's error record (`code: message`), or a drawing failure.
pub fn explore_svg(text: &str) -> Result<String, String> {
    let p = prepare(text).map_err(|e| format!("{}: {}", e.code, e.message))?;
    let fail = |e: super::explore::Fault| format!("{}: {}", e.code, e.message);
    let ea = p.a.explorer(&p.template).map_err(|e| e.to_string())?;
    let eb =
        p.b.as_ref()
            .map(|b| b.explorer(&p.template))
            .transpose()
            .map_err(|e| e.to_string())?;
    let answers = run(&ea, eb.as_ref(), p.ranges()).map_err(fail)?;
    // The units shown: the curve's or the break-even's end, else past the
    // budget's answer.
    let end = p
        .curve_end()
        .or_else(|| budget_end(&answers))
        .unwrap_or(Exact::ONE);
    let ca = ea.curve(end, 100_000).map_err(|e| e.to_string())?;
    let cb = eb
        .as_ref()
        .map(|b| b.curve(end, 100_000))
        .transpose()
        .map_err(|e| e.to_string())?;
    let currency = p.a.currency().code();
    // The budget's answer sits on the curve: the amount at its units.
    let marker = answers.budget.as_ref().and_then(|(q, ans)| {
        let units = ans.max_units.or(ans.max_units_any)?;
        Some((q.budget_cents(), units, ea.amount_at(units).ok()?))
    });
    draw(&ca, cb.as_ref(), &answers, marker, currency).map_err(|e| format!("drawing failed: {e}"))
}

fn budget_end(a: &Answers) -> Option<Exact> {
    let (_, ans) = a.budget.as_ref()?;
    let x = ans.next_units.or(ans.max_units_any)?;
    x.checked_mul("1.5".parse().ok()?).filter(|x| !x.is_zero())
}

fn draw(
    ca: &Curve,
    cb: Option<&Curve>,
    a: &Answers,
    marker: Option<(i128, Exact, Exact)>,
    currency: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let (la, da) = lines(ca);
    let (lb, db) = cb.map(lines).unwrap_or_default();
    let xmax = f(ca.up_to).max(f64::MIN_POSITIVE);
    let ymax = la
        .iter()
        .chain(&lb)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.08;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("meterprice explore: amount by units", ("sans-serif", 22))
            .margin(18)
            .x_label_area_size(44)
            .y_label_area_size(78)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)?;
        chart
            .configure_mesh()
            .x_desc("units")
            .y_desc(format!("amount ({currency})"))
            .draw()?;
        if let Some((_, _, intervals)) = &a.break_even {
            shade(&mut chart, intervals, ymax)?;
        }
        let blue = RGBColor(31, 97, 172);
        let orange = RGBColor(214, 107, 24);
        chart
            .draw_series(LineSeries::new(la, blue.stroke_width(2)))?
            .label("a: the request's charge")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(2))
            });
        chart.draw_series(da.iter().map(|p| Circle::new(*p, 3, blue.filled())))?;
        if cb.is_some() {
            chart
                .draw_series(LineSeries::new(lb, orange.stroke_width(2)))?
                .label("b: break_even.charge")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], orange.stroke_width(2))
                });
            chart.draw_series(db.iter().map(|p| Circle::new(*p, 3, orange.filled())))?;
        }
        if let Some((cents, max, amount)) = marker {
            let at = (f(max), f(amount).min(ymax));
            let label = format!("budget {cents} cents: up to {} units", max.normalize());
            chart
                .draw_series(std::iter::once(Cross::new(at, 7, BLACK.stroke_width(2))))?
                .label(label)
                .legend(|(x, y)| Cross::new((x + 9, y), 5, BLACK.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Break-even intervals as shaded bands: light blue where a is cheaper,
/// light orange where b is; their starts marked as break-even points.
fn shade<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    intervals: &[crate::Interval],
    ymax: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    for i in intervals {
        let color = match i.cheaper {
            Cheaper::A => RGBColor(31, 97, 172).mix(0.12),
            Cheaper::B => RGBColor(214, 107, 24).mix(0.14),
            Cheaper::Equal => BLACK.mix(0.05),
        };
        let (x0, x1) = (f(i.from), f(i.to));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, 0.0), (x1.max(x0), ymax)],
            color.filled(),
        )))?;
    }
    let points = intervals.iter().skip(1).map(|i| f(i.from));
    chart
        .draw_series(points.map(|x| {
            PathElement::new(vec![(x, 0.0), (x, ymax)], BLACK.mix(0.55).stroke_width(1))
        }))?;
    Ok(())
}
