"""Reads an accesslake lake with pyarrow, an independent Parquet reader, and
checks it against the lake contract (SPEC 4) and the ingest summary.

usage: check_lake.py LAKE_DIR SUMMARY_JSON
"""

import json
import sys
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

TS = pa.timestamp("us", tz="UTC")
S = pa.string()
SCHEMAS = {
    "decisions": [
        ("event_id", S), ("occurred_at", TS), ("processed_at", TS), ("site_id", S),
        ("zone_id", S), ("door_id", S), ("card_id", S), ("employee_id", S),
        ("direction", S), ("outcome", S), ("reason", S), ("presence_change", pa.int8()),
        ("local_date", S), ("local_hour", pa.int8()), ("local_weekday", pa.int8()),
    ],
    "admin_events": [
        ("event_id", S), ("occurred_at", TS), ("received_at", TS), ("actor", S),
        ("type", S), ("entity_id", S), ("payload", S), ("applied", pa.bool_()), ("error", S),
    ],
    "rejected": [
        ("received_at", TS), ("source", S), ("source_ref", S), ("error", S), ("raw", S),
    ],
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def main(lake, summary_path):
    summary = json.load(open(summary_path))
    tables = {}
    for name, columns in SCHEMAS.items():
        part = ds.partitioning(pa.schema([("dt", pa.string())]), flavor="hive")
        dataset = ds.dataset(f"{lake}/{name}", format="parquet", partitioning=part)
        table = dataset.to_table()
        tables[name] = table
        got = [(f.name, f.type) for f in table.schema]
        check(got == columns + [("dt", S)], f"{name}: schema {got}")
        time_col = "received_at" if name == "rejected" else "occurred_at"
        dates = pc.strftime(table[time_col], format="%Y-%m-%d")
        check(pc.all(pc.equal(dates, table["dt"])).as_py() in (True, None),
              f"{name}: rows outside their dt partition")
        print(f"{name}: {table.num_rows} rows, {len(dataset.files)} files")

    d = tables["decisions"]
    check(d.num_rows == summary["decisions"], f"decisions {d.num_rows} != {summary['decisions']}")
    check(len(set(d["event_id"].to_pylist())) == d.num_rows, "duplicate event_id in decisions")
    reasons = Counter(d["reason"].to_pylist())
    check(dict(reasons) == summary["by_reason"], f"reasons {dict(reasons)} != {summary['by_reason']}")
    granted = {"ok", "egress"}
    for outcome, reason in zip(d["outcome"].to_pylist(), d["reason"].to_pylist()):
        if (outcome == "granted") != (reason in granted):
            check(False, f"outcome {outcome} with reason {reason}")
            break
    a = tables["admin_events"]
    check(a.num_rows == summary["admin_applied"] + summary["admin_not_applied"], "admin_events count")
    check(sum(a["applied"].to_pylist()) == summary["admin_applied"], "applied count")
    r = tables["rejected"]
    check(r.num_rows == summary["rejected"], f"rejected {r.num_rows} != {summary['rejected']}")
    check(set(r["source"].to_pylist()) <= {"file"}, "rejected source")

    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        sys.exit(1)
    print("lake-check: 1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
