"""Compaction benchmark: the fixture ingested as many small files (a file per
`CHUNK` events per table and day, as Lambda batches leave them), the report
suite on both engines, `accesslake compact` (throughput, files and bytes in
and out, peak memory), and the suite again.

usage: compaction.py BIN WORK CATALOG_DIR FROM_DATE TO_DATE CHUNK REPEATS RESULTS_JSON
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import reports  # noqa: E402
from run import run  # noqa: E402
from results import merge  # noqa: E402


def parquet_files(lake):
    n = size = 0
    for d, _, fs in os.walk(lake):
        for f in fs:
            if f.endswith(".parquet"):
                n += 1
                size += os.path.getsize(os.path.join(d, f))
    return n, size


def main(bin_, work, catalog, from_date, to_date, chunk, repeats, results):
    chunk, repeats = int(chunk), int(repeats)
    fixture = os.path.join(work, "in")
    files = [os.path.join(fixture, "admin.jsonl"), os.path.join(fixture, "entries.jsonl")]
    lake = os.path.join(work, "lake-small-files")
    shutil.rmtree(lake, ignore_errors=True)
    ingest_s, ingest_rss, out = run([bin_, "ingest", "--json", "--chunk", str(chunk), "--lake", lake] + files, cpu=0)
    events = json.loads(out)["events_read"]
    run([bin_, "snapshot", "--lake", lake])
    files_before, bytes_before = parquet_files(lake)
    before = reports.suite(bin_, lake, catalog, from_date, to_date, repeats)

    secs, rss, out = run([bin_, "compact", "--json", "--lake", lake], cpu=0)
    m = json.loads(out)
    files_after, bytes_after = parquet_files(lake)
    after = reports.suite(bin_, lake, catalog, from_date, to_date, repeats)

    total = lambda rows, k: sum(r[k] for r in rows)  # noqa: E731
    result = {
        "events": events, "chunk_events": chunk,
        "ingest_seconds": ingest_s, "ingest_peak_rss_mib": ingest_rss,
        "files_before": files_before, "files_after": files_after,
        "bytes_before": bytes_before, "bytes_after": bytes_after,
        "compact_seconds": secs, "compact_peak_rss_mib": rss, "metrics": m,
        "rows_per_second": m["rows_in"] / max(secs, 1e-9),
        "mib_per_second": m["bytes_in"] / 2**20 / max(secs, 1e-9),
        "suite_before": {"datafusion_s": total(before, "datafusion_s"), "duckdb_s": total(before, "duckdb_s"), "queries": before},
        "suite_after": {"datafusion_s": total(after, "datafusion_s"), "duckdb_s": total(after, "duckdb_s"), "queries": after},
    }
    print(f"lake of small files  {events:,} events, {files_before:,} files, {bytes_before / 2**20:.1f} MiB "
          f"(ingest --chunk {chunk}: {ingest_s:.1f}s)")
    print(f"compact              {m['rows_in']:,} rows in {secs:.2f}s: {result['rows_per_second']:,.0f} rows/s, "
          f"{result['mib_per_second']:.1f} MiB/s, peak {rss:.0f} MiB; {m['duplicates_removed']} duplicates removed")
    print(f"files                {files_before:,} -> {files_after:,}   bytes {bytes_before / 2**20:.1f} -> {bytes_after / 2**20:.1f} MiB")
    print(f"{'query':<20}{'DF before':>11}{'DF after':>10}{'DuckDB before':>15}{'DuckDB after':>14}")
    for b, a in zip(before, after):
        print(f"{b['query']:<20}{b['datafusion_s']:>11.3f}{a['datafusion_s']:>10.3f}{b['duckdb_s']:>15.3f}{a['duckdb_s']:>14.3f}")
    sb, sa = result["suite_before"], result["suite_after"]
    print(f"{'suite':<20}{sb['datafusion_s']:>11.3f}{sa['datafusion_s']:>10.3f}{sb['duckdb_s']:>15.3f}{sa['duckdb_s']:>14.3f}")
    merge(results, {"compaction": result})


if __name__ == "__main__":
    main(*sys.argv[1:9])
