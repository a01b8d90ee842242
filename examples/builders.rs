//! The plan of examples/plan.jsonl with builders alone: prints `code amount taxes total`
//! (cents) per charge, the figures of `meterprice rate examples/plan.jsonl`.
use meterprice::{Bucket, Charge, ChargeFees, ChargeFilter, ChargeModel as M, Currency, Exact};
use meterprice::{Graduated, Package, Percentage, Period, Standard, Tax, Tier, TierPrice, Usage};
type Error = Box<dyn std::error::Error>;

/// Tiers written `from to per_unit flat, …` (`to` is `-` for the open one).
fn tiers(spec: &str) -> Result<Vec<Tier<TierPrice>>, Error> {
    let d = |t: &str| t.parse::<Exact>();
    let tier = |t: &str| match t.split(' ').collect::<Vec<_>>()[..] {
        [from, to, unit, flat] => Ok(Tier::new(
            d(from)?,
            d(to).ok(),
            TierPrice::new(d(unit)?, d(flat)?),
        )),
        _ => Err(format!("not a tier: {t:?}").into()),
    };
    spec.split(", ").map(tier).collect()
}

/// Each charge of the plan with its fees, rated over a 30-day period.
#[rustfmt::skip] // one charge a line, as in examples/plan.jsonl
pub fn plan() -> Result<Vec<(&'static str, ChargeFees)>, Error> {
    let (eur, d) = (Currency::from_code("EUR").ok_or("EUR")?, |t: &str| t.parse::<Exact>());
    let standard = |price| -> Result<_, Error> { Ok(M::Standard(Standard::try_new(d(price)?)?)) };
    let region = |r: &str| vec![("region".to_string(), vec![r.to_string()])];
    let filter = |r, price| -> Result<_, Error> { Ok(ChargeFilter::new(region(r), standard(price)?).with_group_keys(["cloud"])) };
    let bucket = |units: &str, events, place: Option<(&str, &str)>| -> Result<_, Error> {
        let bucket = Bucket::new(Usage::new(d(units)?).with_events_count(events));
        Ok(match place { None => bucket, Some((r, cloud)) => bucket.with_filter(region(r)).with_group(vec![("cloud".into(), Some(cloud.into()))]) })
    };
    let payments = Percentage::builder(d("1.5")?).fixed_amount(d("0.1")?)
        .per_transaction_min_amount(d("0.25")?).per_transaction_max_amount(d("5")?).build()?;
    let values = vec![d("12")?, d("80")?, d("1000")?];
    let plan = [
        ("api", Charge::builder(eur, M::Graduated(Graduated::try_new(tiers("0 1000 0.01 0, 1001 10000 0.008 0, 10001 - 0.005 5")?)?)), vec![bucket("12500", 12500, None)?]),
        ("storage", Charge::builder(eur, M::Volume(meterprice::Volume::try_new(tiers("0 100 0.2 0, 101 - 0.15 10")?)?)), vec![bucket("250.5", 31, None)?]),
        ("payments", Charge::builder(eur, M::Percentage(payments)), vec![Bucket::new(Usage::new(d("1092")?).with_events_count(3).with_event_values(values))]),
        ("seats", Charge::builder(eur, M::Package(Package::try_new(d("20")?, 5, 2)?)), vec![bucket("13", 13, None)?]),
        ("traffic", Charge::builder(eur, standard("0.02")?).min_amount_cents(5000)
            .filter(filter("eu", "0.01")?.with_invoice_display_name("Europe")).filter(filter("us", "0.015")?),
            vec![bucket("1000", 40, Some(("eu", "aws")))?, bucket("500", 12, Some(("eu", "gcp")))?,
                 bucket("200", 9, Some(("us", "aws")))?, bucket("100", 5, None)?]),
    ];
    let vat = Tax::try_new("vat", d("20")?)?.with_name("VAT");
    plan.into_iter().map(|(code, charge, buckets)| -> Result<_, Error> {
        Ok((code, charge.tax(vat.clone()).build()?.rate(&buckets, &Period::full(30))?))
    }).collect()
}

fn main() -> Result<(), Error> {
    for (code, f) in plan()? {
        println!(
            "{code} {} {} {}",
            f.amount_cents, f.taxes_amount_cents, f.total_amount_cents
        );
    }
    Ok(())
}
