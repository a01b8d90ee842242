#!/usr/bin/env python3
"""A month of events for the billing run (usage-json.md, "Billing run").

Writes PLAN.json (a three-charge plan: a sum with 3 filters and a group key,
a count, a unique count) and EVENTS.jsonl (one event per line, each with its
external_subscription_id), deterministic for a given seed:

    python3 examples/gen_events.py --events 1000000 --subscriptions 1000 --out target/bill
    meterprice usage --plan target/bill/plan.json --from 2024-03-01T00:00:00Z \
        --to 2024-03-31T23:59:59Z target/bill/events.jsonl > target/bill/usage.jsonl
"""
import argparse
import json
import os
import random

PLAN = {
    "currency": "EUR",
    "timezone": "UTC",
    "taxes": [{"code": "vat", "name": "VAT", "rate": "20"}],
    "plan": {
        "code": "scale",
        "charges": [
            {
                "code": "storage",
                "charge_model": "graduated",
                "properties": {"graduated_ranges": [
                    {"from_value": 0, "to_value": 100, "per_unit_amount": "0.05", "flat_amount": "0"},
                    {"from_value": 101, "to_value": None, "per_unit_amount": "0.02", "flat_amount": "1"}],
                    "pricing_group_keys": ["agent"]},
                "filters": [
                    {"values": {"region": ["eu"]}, "invoice_display_name": "Europe",
                     "properties": {"graduated_ranges": [
                         {"from_value": 0, "to_value": None, "per_unit_amount": "0.06", "flat_amount": "0"}],
                         "pricing_group_keys": ["agent"]}},
                    {"values": {"region": ["us"]},
                     "properties": {"graduated_ranges": [
                         {"from_value": 0, "to_value": None, "per_unit_amount": "0.04", "flat_amount": "0"}],
                         "pricing_group_keys": ["agent"]}},
                    {"values": {"region": ["asia"]},
                     "properties": {"graduated_ranges": [
                         {"from_value": 0, "to_value": None, "per_unit_amount": "0.05", "flat_amount": "0"}],
                         "pricing_group_keys": ["agent"]}}],
                "billable_metric": {"code": "storage_gb", "name": "Storage", "aggregation_type": "sum_agg",
                                    "field_name": "gb",
                                    "filters": [{"key": "region", "values": ["eu", "us", "asia", "af"]}]},
            },
            {
                "code": "api_calls",
                "charge_model": "package",
                "properties": {"amount": "1", "package_size": 1000, "free_units": 100},
                "billable_metric": {"code": "api_calls", "name": "API calls", "aggregation_type": "count_agg"},
            },
            {
                "code": "seats",
                "charge_model": "standard",
                "properties": {"amount": "4"},
                "billable_metric": {"code": "active_users", "name": "Active users",
                                    "aggregation_type": "unique_count_agg", "field_name": "user"},
            },
        ],
    },
}

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
