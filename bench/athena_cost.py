"""What the report catalog costs on Athena for a lake: every catalog query
run once by DataFusion with `--stats`, which reads the same Parquet footers
and column chunks Athena reads and prints the bytes and what Athena bills for
them (whole MB, at least 10 MB per query, $5 per TB).

usage: athena_cost.py BIN LAKE CATALOG_DIR FROM_DATE TO_DATE [RESULTS_JSON]
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reports  # noqa: E402
from results import merge  # noqa: E402

STATS = re.compile(r"^datafusion: sql in ([0-9.]+) s, scanned (.+?) \(billed as (.+?), ≈ \$([0-9.]+)\)", re.M)


def costs(bin_, lake, catalog, from_date, to_date):
    params = reports.parameters(from_date, to_date)
    rows = []
    for f in sorted(os.listdir(catalog)):
        sql = open(os.path.join(catalog, f)).read()
        args = [bin_, "sql", "--lake", lake, "--format", "csv", "--stats"] + reports.param_args(sql, params)
        out = subprocess.run(args + ["--", sql], check=True, capture_output=True, text=True)
        m = STATS.search(out.stderr)
        if not m:
            sys.exit(f"{f}: no stats line in {out.stderr!r}")
        rows.append({"query": f[:-4], "seconds": float(m.group(1)), "read": m.group(2),
                     "billed": m.group(3), "usd": float(m.group(4))})
    return rows


def main(bin_, lake, catalog, from_date, to_date, results=None):
    rows = costs(bin_, lake, catalog, from_date, to_date)
    lake_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(lake) for f in fs
                     if not os.path.relpath(d, lake).startswith("_"))
    print(f"\nAthena cost of each catalog query over {from_date} .. {to_date} "
          f"(lake {lake_bytes / 2**20:.1f} MiB on disk; bytes read measured by DataFusion)")
    print(f"{'query':<20}{'read':>12}{'billed':>12}{'USD':>12}")
    for r in rows:
        print(f"{r['query']:<20}{r['read']:>12}{r['billed']:>12}{r['usd']:>12.6f}")
    total = sum(r["usd"] for r in rows)
    print(f"{'all ' + str(len(rows)) + ' queries':<20}{'':>12}{'':>12}{total:>12.6f}")
    if results:
        merge(results, {"athena_cost": {
            "lake": lake, "lake_bytes": lake_bytes, "from": from_date, "to": to_date,
            "queries": rows, "total_usd": total,
            "note": "bytes read by DataFusion with --stats; Athena bills whole MB, >= 10 MB per query, $5/TB"}})


if __name__ == "__main__":
    main(*sys.argv[1:7])
