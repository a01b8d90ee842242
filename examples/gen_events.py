#!/usr/bin/env python3
"""A month of events for the billing run (usage-json.md, "Billing run").

Writes PLAN.json (examples/month-plan.json, a three-charge plan: a sum with
3 filters and a group key, a count, a unique count) and EVENTS.jsonl (one
event per line, each with its external_subscription_id), deterministic for
a given seed:

    python3 examples/gen_events.py --events 1000000 --subscriptions 1000 --out target/bill
    meterprice usage --plan target/bill/plan.json --from 2024-03-01T00:00:00Z \
        --to 2024-03-31T23:59:59Z target/bill/events.jsonl > target/bill/usage.jsonl
"""
import argparse
import json
import os
import random

# The three-charge plan, also read by benches/usage.rs and the DataFusion
# billing example.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "month-plan.json")) as _f:
    PLAN = json.load(_f)

REGIONS = ["eu", "us", "asia", "af"]
START = 1709251200  # 2024-03-01T00:00:00Z
MONTH = 31 * 86400


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--subscriptions", type=int, default=1_000)
    ap.add_argument("--groups", type=int, default=1_000, help="distinct agents (storage's group key)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--out", default="target/bill")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "plan.json"), "w") as f:
        json.dump(PLAN, f, indent=1)
        f.write("\n")
    rng = random.Random(a.seed)
    with open(os.path.join(a.out, "events.jsonl"), "w", buffering=1 << 20) as f:
        for i in range(a.events):
            sub = "sub_%05d" % rng.randrange(a.subscriptions)
            t = START + rng.randrange(MONTH)
            kind = rng.random()
            if kind < 0.6:
                props = '{"region":"%s","agent":"agent_%d","gb":"%d.%d"}' % (
                    REGIONS[rng.randrange(4)], rng.randrange(a.groups), rng.randrange(50), rng.randrange(10))
                code = "storage_gb"
            elif kind < 0.85:
                props = '{"endpoint":"/v1/items"}'
                code = "api_calls"
            else:
                props = '{"user":"user_%d"}' % rng.randrange(200)
                code = "active_users"
            f.write('{"transaction_id":"tx_%d","external_subscription_id":"%s","code":"%s",'
                    '"timestamp":%d,"properties":%s}\n' % (i, sub, code, t, props))


if __name__ == "__main__":
    main()
