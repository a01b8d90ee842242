//! The kernels against independent oracles (256-bit arithmetic, rust_decimal,
//! digit-by-digit loops), and the text both ways.

use ethnum::{I256, U256};
use rust_decimal::Decimal;

use super::ops::{
    add, div_pow10, mul, quotient, quotient_rounded, quotient_small, quotient_wide, rem10,
    round_half_away, sub,
};
use super::text::write_word;
use super::{Exact, MAX_SCALE, pow10};

fn x(s: &str) -> Exact {
    s.parse().unwrap()
}

#[test]
fn the_64_bit_quotient_agrees_with_the_digit_by_digit_one() {
    // quotient_small (chunked, 64/128-bit) against quotient_wide (one
    // digit a step in 256 bits), as values, over mixed magnitudes.
    let value = |q: U256, scale: i64| {
        let (m, s) = if scale < 0 {
            (q * pow10(u32::try_from(-scale).unwrap()), 0)
        } else {
            (q, u32::try_from(scale).unwrap())
        };
        Exact::from_parts(false, m, s)
    };
    let mut r: u64 = 7;
    let mut next = || {
        r = r
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        r
    };
    // Powers of two give exact ties: 1 / 2^41 = 5^41 × 10^-41 has 29
    // significant digits, the last a 5.
    let ties = (30..63u32).flat_map(|j| [1u64, 3, 7, 11].map(|a| (a, 1u64 << j)));
    let random = (0..5000).map(|_| {
        let ma = (next() >> (next() % 64)).min(i64::MAX as u64).max(1);
        let mb = (next() >> (next() % 64)).min(i64::MAX as u64).max(1);
        (ma, mb)
    });
    let cases: Vec<(u64, u64)> = ties.chain(random).collect();
    for (ma, mb) in cases {
        let (sa, sb) = ((next() % 29) as u32, (next() % 29) as u32);
        let (q, scale, exact) = quotient_small(ma, mb, sa, sb);
        let wide = quotient_wide(U256::from(ma), U256::from(mb), sa, sb).unwrap();
        assert_eq!(
            value(U256::from(q), scale),
            value(wide.0, wide.1),
            "{ma}e-{sa} / {mb}e-{sb}"
        );
        assert_eq!(exact, wide.2, "{ma}e-{sa} / {mb}e-{sb}");
    }
}

#[test]
fn a_quotient_rounded_at_places_is_rounded_once() {
    // 0.0149999999999999999999999999989 / 3 = 0.00499999999999999999999999999963…
    // repeats: at 2 places that is 0.00, while the 28-digit quotient
    // 0.005000… would round again to 0.01.
    let (a, b) = (x("0.0149999999999999999999999999989"), x("3"));
    assert_eq!(
        round_half_away(quotient(a, b).unwrap(), 2),
        x("0.01"),
        "the double rounding this guards against"
    );
    assert_eq!(quotient_rounded(a, b, 2).unwrap(), x("0"));
    assert_eq!(quotient_rounded(-a, b, 2).unwrap(), x("0"));
    // Exact ties go away from zero: 0.025 / 1 → 0.03, −0.025 → −0.03;
    // 1 / 8 = 0.125 → 0.13; 2 / 3 = 0.666… → 0.67; 10 / −4 = −2.5 → −3;
    // a zero divisor gives 0, as quotient does.
    for (a, b, dp, want) in [
        ("0.025", "1", 2, "0.03"),
        ("-0.025", "1", 2, "-0.03"),
        ("1", "8", 2, "0.13"),
        ("2", "3", 2, "0.67"),
        ("10", "-4", 0, "-3"),
        ("0", "7", 2, "0"),
        ("5", "0", 2, "0"),
    ] {
        assert_eq!(
            quotient_rounded(x(a), x(b), dp).unwrap(),
            x(want),
            "{a} / {b} at {dp}"
        );
    }
}

#[test]
fn the_128_bit_product_and_truncation_agree_with_256_bit_arithmetic() {
    // mul_wide's i128 path and trunc's i128 division, against the same
    // operations on the 256-bit mantissas.
    let mut r: u128 = 5;
    let mut next = || {
        r = r
            .wrapping_mul(0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645)
            .wrapping_add(1);
        r
    };
    for _ in 0..5000 {
        let (ra, rb) = (next(), next());
        let a = (ra >> (ra % 127 + 1)) as i128 * if ra % 3 == 0 { -1 } else { 1 };
        let b = (rb >> (rb % 127 + 1)) as i128;
        let (sa, sb) = ((ra % 29) as u32, (rb % 29) as u32);
        let (xa, xb) = (
            Exact::pack(I256::from(a), sa),
            Exact::pack(I256::from(b), sb),
        );
        let want = Exact::new(I256::from(a) * I256::from(b), sa + sb);
        assert_eq!(mul(xa, xb), want, "{a} × {b}");
        let t = xa.trunc();
        assert_eq!(t.scale(), 0);
        assert_eq!(
            t.m(),
            I256::from(a) / pow10(sa).as_i256(),
            "trunc {a} at {sa}"
        );
    }
}

#[test]
fn the_128_bit_writer_agrees_with_the_general_one() {
    // write_word against render (Display), for mantissas beyond 64 bits.
    let mut r: u128 = 11;
    for _ in 0..2000 {
        r = r
            .wrapping_mul(0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645)
            .wrapping_add(1);
        let m = (r >> (r % 64 + 1)) as i128 * if r.is_multiple_of(3) { -1 } else { 1 };
        for s in [0u32, 1, 5, 19, 20, 28, 38, 45, 56] {
            let x = Exact::pack(I256::from(m), s);
            let mut out = Vec::new();
            write_word(m, s, false, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), x.rendered(), "{m} at {s}");
        }
    }
    for m in [
        i128::from(i64::MAX) + 1,
        10i128.pow(19),
        10i128.pow(38),
        -(10i128.pow(20)),
    ] {
        let mut out = Vec::new();
        write_word(m, 20, true, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("\"{}\"", Exact::pack(I256::from(m), 20).rendered())
        );
    }
}

#[test]
fn rem10_is_the_last_digit() {
    for v in [
        0u128,
        9,
        10,
        123_456_789,
        u128::from(u64::MAX),
        1 << 64,
        (1 << 64) + 7,
        u128::MAX,
    ] {
        assert_eq!(u128::from(rem10(v)), v % 10, "{v}");
    }
}

#[test]
fn the_64_bit_writer_agrees_with_rust_decimal() {
    // rust_decimal's own plain formatting of the normalized value is the
    // oracle, over mantissas of every length, both signs, scales 0–18.
    let mut m: i64 = 1;
    let mut values = vec![0, 1, -1, 9, 10, 99, 100, i64::MAX, i64::MIN + 1];
    for _ in 0..200 {
        m = m
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        values.push(m >> (m.unsigned_abs() % 63));
    }
    for &v in &values {
        for s in 0..=18u32 {
            let mut out = Vec::new();
            Exact::from_small(v, s).write_plain(&mut out);
            let want = Decimal::new(v, s).normalize().to_string();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{v} at scale {s}");
        }
        // Beyond rust_decimal's scale the digits are all places, padded
        // with zeros: the general renderer is the oracle there.
        for s in 19..=MAX_SCALE {
            let x = Exact::pack(I256::from(v), s);
            let mut out = Vec::new();
            x.write_quoted(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", x.rendered()),
                "{v} at scale {s}"
            );
        }
    }
}

#[test]
fn products_beyond_28_digits_stay_exact() {
    // 999999999999997 × 486.374144085519 = 486374144085517540.877567743443
    // (30 significant digits: a Decimal would round it).
    let p = mul(x("999999999999997"), x("486.374144085519")).unwrap();
    assert_eq!(p.to_string(), "486374144085517540.877567743443");
    assert_eq!(p.to_decimal(), None);
}

#[test]
fn mul_keeps_up_to_56_places_and_rejects_more() {
    // 1e-15 × 1e-15 = 1e-30: 30 places, exact (M3).
    assert_eq!(
        mul(x("0.000000000000001"), x("0.000000000000001"))
            .unwrap()
            .to_string(),
        "0.000000000000000000000000000001"
    );
    // 1e-12 × 0.50000000000000000001 = 5.0000000000000000001e-13 (32 places).
    let p = mul(x("0.000000000001"), x("0.50000000000000000001")).unwrap();
    assert_eq!(p.to_string(), "0.00000000000050000000000000000001");
    // 1e-28 × 1e-28 = 1e-56 is the smallest; one more place is too many.
    let tiny = x("0.0000000000000000000000000001");
    let square = mul(tiny, tiny).unwrap();
    assert!(div_pow10(square, 1).is_err());
    // 1e20 × 1e10 = 1e30 ≥ 2^96.
    assert!(mul(x("100000000000000000000"), x("10000000000")).is_err());
    // Trailing zeros are not digits: 0.10…0 (28 places) squared is 0.01.
    let tenth = x("0.1000000000000000000000000000");
    assert_eq!(mul(tenth, tenth).unwrap(), x("0.01"));
}

#[test]
fn sums_are_exact() {
    assert_eq!(add(x("0.15"), x("0.25")).unwrap(), x("0.4"));
    assert_eq!(sub(x("1"), x("1.5")).unwrap(), x("-0.5"));
    // 1e20 + 1e-20 has 41 significant digits: exact here.
    let s = add(x("100000000000000000000"), x("0.00000000000000000001")).unwrap();
    assert_eq!(s.to_string(), "100000000000000000000.00000000000000000001");
    assert!(add(Exact::from(Decimal::MAX), Exact::ONE).is_err());
}

#[test]
fn quotient_rounds_only_non_terminating() {
    assert_eq!(quotient(x("2.04"), x("2")).unwrap(), x("1.02"));
    assert_eq!(
        quotient(x("1"), x("3")).unwrap().to_string(),
        "0.3333333333333333333333333333"
    );
    assert_eq!(
        quotient(x("2"), x("3")).unwrap().to_string(),
        "0.6666666666666666666666666667"
    );
    assert_eq!(
        quotient(x("-2"), x("3")).unwrap().to_string(),
        "-0.6666666666666666666666666667"
    );
    assert_eq!(quotient(x("1"), x("0")).unwrap(), Exact::ZERO);
    // 10/4 terminates: exact.
    assert_eq!(quotient(x("10"), x("4")).unwrap(), x("2.5"));
    // A small quotient still carries 28 significant digits (M3):
    // 0.01 / 3e9 = 3.333…e-12.
    assert_eq!(
        quotient(x("0.01"), x("3000000000")).unwrap().to_string(),
        "0.000000000003333333333333333333333333333"
    );
    // 10 / 0.5 = 20: a terminating quotient of a finer divisor.
    assert_eq!(quotient(x("10"), x("0.5")).unwrap(), x("20"));
    // Wide operands take the 256-bit loop with the same result.
    let big = x("486374144085517540.877567743443");
    assert_eq!(
        quotient(big, x("999999999999997")).unwrap().to_string(),
        "486.374144085519"
    );
    // Tiny over tiny.
    let q = quotient(
        x("0.0000000000000000000000000005"),
        x("0.0000000000000000000000000001"),
    )
    .unwrap();
    assert_eq!(q, x("5"));
    // A long quotient keeps 28 significant digits: 1e20 / 3.
    let q = quotient(x("100000000000000000000"), x("3")).unwrap();
    assert_eq!(q.to_string(), "33333333333333333333.33333333");
    // 17000 / 31 to 28 significant digits, rounded up at the last place.
    let q = quotient(x("17000"), x("31")).unwrap();
    assert_eq!(q.to_string(), "548.3870967741935483870967742");
}

#[test]
fn a_terminating_quotient_is_exact_past_28_digits() {
    // 39614081257132168796771975167.745 / 2 (an input below 2^96 with 32
    // significant digits) terminates: 19807040628566084398385987583.8725.
    let q = quotient(x("39614081257132168796771975167.745"), x("2")).unwrap();
    assert_eq!(q.to_string(), "19807040628566084398385987583.8725");
    // 1 / 2^41 = 4.547473508864641189575195312e-13 terminates after 41
    // places, with 29 significant digits (the 64-bit loop stops at 28).
    let q = quotient(x("1"), x("2199023255552")).unwrap();
    assert_eq!(q.to_string(), "0.00000000000045474735088646411895751953125");
    // The same divided by a scaled divisor (0.0002199023255552 = 2^41 / 10^16).
    let q = quotient(x("-1"), x("0.0002199023255552")).unwrap();
    assert_eq!(q.to_string(), "-4547.4735088646411895751953125");
    // A quotient that reduces: 3 × 2^-41 over 3.
    let q = quotient(x("0.00000000000136424205265939235687255859375"), x("3")).unwrap();
    assert_eq!(q.to_string(), "0.00000000000045474735088646411895751953125");
    // Terminating, but beyond 56 places (2^-60 needs 60): rounded to 28
    // significant digits like a repeating quotient.
    let q = quotient(x("1"), x("1152921504606846976")).unwrap();
    assert_eq!(
        q.to_string(),
        "0.0000000000000000008673617379884035472059622407"
    );
    // Repeating quotients keep 28 significant digits on both paths.
    let q = quotient(x("39614081257132168796771975167.745"), x("3")).unwrap();
    assert_eq!(q.to_string(), "13204693752377389598923991720");
    assert_eq!(
        quotient(x("10"), x("3")).unwrap().to_string(),
        "3.333333333333333333333333333"
    );
    // Out of range stays an error.
    assert!(quotient(x("39614081257132168796771975167.745"), x("0.25")).is_err());
}

#[test]
fn rounding_is_half_away_from_zero() {
    assert_eq!(round_half_away(x("0.125"), 2), x("0.13"));
    assert_eq!(round_half_away(x("-0.125"), 2), x("-0.13"));
    assert_eq!(round_half_away(x("2.5"), 0), x("3"));
    assert_eq!(round_half_away(x("2.4999"), 0), x("2"));
}

#[test]
fn display_is_plain_and_normalized() {
    assert_eq!(x("10.0").to_string(), "10");
    assert_eq!(x("0.00001").to_string(), "0.00001");
    assert_eq!(x("-0.5").to_string(), "-0.5");
    assert_eq!((-x("0")).to_string(), "0");
    assert_eq!(Exact::ZERO.to_string(), "0");
    // Mantissas past 64 bits render in 19-digit chunks, inner zeros kept.
    for text in [
        "10000000000000000000",
        "18446744073709551616",
        "0.1000000000000000000000000001",
        "-1000000000000000000000000.0007",
        "486374144085517540.877567743443",
    ] {
        assert_eq!(x(text).to_string(), text);
    }
}

#[test]
fn text_round_trips_at_every_scale() {
    let tiny = x("0.0000000000000000000000000001");
    let square = mul(tiny, tiny).unwrap();
    assert_eq!(square.to_string().parse::<Exact>().unwrap(), square);
    assert!("0.1e-56".parse::<Exact>().is_err());
}

#[test]
fn floor_and_trunc() {
    assert_eq!(x("2.7").floor(), x("2"));
    assert_eq!(x("-2.7").floor(), x("-3"));
    assert_eq!(x("-2.7").trunc(), x("-2"));
    assert_eq!(x("-3").floor(), x("-3"));
}

#[test]
fn plain_text_is_the_only_text() {
    // Display's own output reads back, at every scale and both signs.
    for text in [
        "0",
        "-1",
        "12.5",
        "0.00001",
        "-123456789.123456789",
        "79228162514264337593543950335",
    ] {
        assert_eq!(x(text).to_string(), text);
    }
    // Trailing and leading zeros are still plain notation.
    assert_eq!(x("0012.500"), x("12.5"));
    // Lago's grammar is not: exponents, spaces, underscores, lone points,
    // a `+` or `#`, a negative zero, non-finite spellings.
    for text in [
        "1e3", " 7", "7 ", "1_000.5", ".5", "5.", "-0", "-0.00", "+5", "#12", "NaN", "", "-",
        "1.2.3", "１",
    ] {
        let e = text.parse::<Exact>().unwrap_err();
        assert_eq!(e.code(), "parse_error", "{text:?}");
    }
    // Valid digits beyond the range: 2^96, 57 places.
    for text in [
        "79228162514264337593543950336",
        &format!("0.{}1", "0".repeat(56)),
        &format!("1{}", "0".repeat(100)),
    ] {
        assert_eq!(
            text.parse::<Exact>().unwrap_err().code(),
            "arithmetic_overflow",
            "{text:?}"
        );
    }
    // 56 places is the limit; longer texts of zeros are fine.
    let tiny = format!("0.{}1", "0".repeat(55));
    assert_eq!(x(&tiny).to_string(), tiny);
    assert_eq!(
        x(&format!("{}7.5{}", "0".repeat(100), "0".repeat(100))),
        x("7.5")
    );
}
