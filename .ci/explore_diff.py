#!/usr/bin/env python3
"""Identical-output check for `meterprice explore` between two builds.

Writes random explore requests (every model, taxes, minimums, pricing units,
filters, groups, five currencies, budgets from 0 to 2^96 - 1, steps from
10^-28 to 10^28, curves and break-evens, and malformed ones), runs both
binaries on them and reports the lines whose results differ.

    python3 .ci/explore_diff.py OLD_BIN NEW_BIN [COUNT] [SEED]

Exit status 0 when every line is byte-identical, 1 otherwise. Used to check
that a performance change keeps every answer (README, Performance).
"""
import json
import random
import subprocess
import sys

rnd = random.Random()


def dec(maxdig=12, maxscale=10):
    m = rnd.randint(0, 10 ** rnd.randint(1, maxdig))
    sc = rnd.randint(0, maxscale)
    t = str(m).rjust(sc + 1, "0")
    return t if sc == 0 else t[:-sc] + "." + t[-sc:]


def price():
    return rnd.choice([dec(3, 3), dec(6, 6), dec(12, 10), dec(20, 28), "0", "1", "0.0003",
                       "2.5", "79228162514264337593543950335",
                       "0.0000000000000000000000000001", str(10 ** rnd.randint(0, 28))])


def pct():
    return rnd.choice(["0", "1", "2.5", "33.3", "100", "0.001", dec(4, 3), dec(10, 12), "150"])


def tiers(key, value):
    out, to = [], 0
    for i in range(rnd.randint(1, 6)):
        frm = 0 if i == 0 else to + (1 if rnd.random() < 0.9 else 0)
        to = frm + rnd.choice([1, 2, 9, 10, 100, 10 ** rnd.randint(1, 27)])
        out.append({"from_value": frm, "to_value": to, key: value(),
                    "flat_amount": rnd.choice(["0", "0", "1", "2.5", dec(6, 3), dec(20, 5)])})
    out[-1]["to_value"] = None
    return out


def model():
    k = rnd.choice(["standard", "graduated", "graduated", "graduated_percentage", "volume",
                    "package", "percentage"] * 6 + ["dynamic"])
    if k == "standard":
        p = {"amount": price()}
    elif k == "graduated":
        p = {"graduated_ranges": tiers("per_unit_amount", price)}
    elif k == "graduated_percentage":
        p = {"graduated_percentage_ranges": tiers("rate", pct)}
    elif k == "volume":
        p = {"volume_ranges": tiers("per_unit_amount", price)}
    elif k == "package":
        p = {"amount": price(), "package_size": rnd.choice([1, 3, 10, 10 ** rnd.randint(1, 18)]),
             "free_units": rnd.choice([0, 5, 10 ** rnd.randint(1, 18)])}
    elif k == "percentage":
        p = {"rate": pct()}
        if rnd.random() < 0.7:
            p["fixed_amount"] = rnd.choice(["0", "1", "0.25", dec(8, 4)])
        if rnd.random() < 0.05:
            p["free_units_per_events"] = rnd.choice([None, 3])
    else:
        p = {}
    return {"charge_model": k, "properties": p}


def charge():
    c = model()
    if rnd.random() < 0.5:
        c["taxes"] = [{"code": f"t{j}", "rate": rnd.choice(["19.6", "5.5", "20", "0", "7.25",
                                                             dec(4, 3), dec(6, 28)])}
                      for j in range(rnd.randint(1, 3))]
    if rnd.random() < 0.4:
        c["min_amount_cents"] = rnd.choice([1, 250, 9999, 10 ** rnd.randint(3, 28)])
    if rnd.random() < 0.15:
        c["applied_pricing_unit"] = {"code": "cr", "conversion_rate": rnd.choice(["0.5", "2", dec(6, 6)])}
    if rnd.random() < 0.04:
        c["pay_in_advance"] = True
    return c


def request(i):
    r = {"id": i, "currency": rnd.choice(["EUR", "JPY", "KWD", "MRO", "CLF", "USD"]), "charge": charge()}
    usage = {"events_count": rnd.choice([0, 1, 3, 10 ** rnd.randint(0, 18)])}
    if rnd.random() < 0.08:
        r["charge"]["filters"] = [{"values": {"region": ["eu", "us"]}, "properties": r["charge"]["properties"]}]
        usage["filter"] = {"region": ["eu"]}
    if rnd.random() < 0.08:
        r["charge"]["properties"]["pricing_group_keys"] = ["cloud"]
        usage["grouped_by"] = {"cloud": "aws"}
    r["usage"] = usage
    ops = rnd.choice([["budget"]] * 4 + [["curve"], ["break_even"], ["budget", "curve", "break_even"]])
    if "budget" in ops:
        cents = [rnd.randint(0, 1000), rnd.randint(0, 10 ** rnd.randint(3, 28)), 2 ** 96 - 1 - rnd.randint(0, 10 ** 20)]
        r["budget"] = {"budget_cents": rnd.choice(cents * 8 + [-1, 2 ** 96, "12"]),
                       "units_step": rnd.choice(["1", "0.5", "0.001", "3", "7.77", dec(5, 6), dec(12, 28),
                                                 "10000000000000000000000000000",
                                                 "0.0000000000000000000000000001"] * 3 + ["0"]),
                       "including_taxes": rnd.random() < 0.5}
    if "curve" in ops:
        r["curve"] = {"up_to": rnd.choice(["20", "8000", dec(8, 3), "10000000000000000000000000000"]),
                      "max_pieces": rnd.choice([1, 5, 10000])}
    if "break_even" in ops:
        r["break_even"] = {"charge": model(), "up_to": rnd.choice(["20", "1000", dec(6, 2)]),
                           "units_step": rnd.choice(["1", "0.5", "10", "0.01"])}
    return json.dumps(r)


def main():
    old, new = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    rnd.seed(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    lines = "\n".join(request(i) for i in range(count)) + "\n"
    outs = [subprocess.run([b, "explore"], input=lines, capture_output=True, text=True) for b in (old, new)]
    a, b = outs[0].stdout.splitlines(), outs[1].stdout.splitlines()
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    same_status = outs[0].returncode == outs[1].returncode
    for i in diff[:20]:
        print(f"line {i + 1}:\n  request {lines.splitlines()[i][:300]}\n  old {a[i][:300]}\n  new {b[i][:300]}")
    print(f"{count} requests, {len(diff)} differing, exit statuses {outs[0].returncode}/{outs[1].returncode}")
    sys.exit(0 if not diff and len(a) == len(b) == count and same_status else 1)


if __name__ == "__main__":
    main()
