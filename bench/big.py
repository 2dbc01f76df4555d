"""The report suite at scale (the issue's 100M-event line): a fixture of
`employees` people over `days` days, ingested on one core, then every catalog
query once on DataFusion (time and peak memory of the accesslake process)
and once on DuckDB over the same files. A query that fails or is killed at
the memory limit is recorded as such, not fatal: at this size the limit is
part of what is measured. The fixture files are deleted after the ingest (a
100M-event fixture is 17 GB)."""

import json
import os
import resource
import shutil
import subprocess
import sys
import time

import duckdb

from reports import catalog_queries, duckdb_over, launch, param_args, parameters
from results import merge

def ingest_lake(bin_, work, fixture, lake, employees, days):
    """Generates the fixture, ingests it on one core and deletes it; returns the ingest figures."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run([bin_, "gen", "--seed", "1", "--employees", employees, "--days", days, "--out", fixture],
                   check=True, stdout=subprocess.DEVNULL)
    files = [os.path.join(fixture, "admin.jsonl"), os.path.join(fixture, "entries.jsonl")]
    summary = os.path.join(work, "ingest.json")
    ingest_rss, ingest_s, code, err = launch(
        ["/usr/bin/taskset", "-c", "0", bin_, "ingest", "--json", "--lake", lake] + files, summary)
    if code:
        sys.exit(f"ingest failed: {err}")
    lines = json.load(open(summary))["events_read"]
    shutil.rmtree(fixture)
    subprocess.run([bin_, "snapshot", "--lake", lake], check=True, stdout=subprocess.DEVNULL)
    state = os.path.getsize(os.path.join(lake, "_state", "state.redb")) / 2**20
    print(f"big ingest     {lines:,} lines  {ingest_s:.1f}s  {lines / ingest_s:,.0f} events/s  peak {ingest_rss:,.0f} MiB  "
          f"state file {state:,.0f} MiB", flush=True)
    return {"seconds": ingest_s, "events": lines, "events_per_second": lines / ingest_s,
            "peak_rss_mib": ingest_rss, "state_file_mib": state}


def main(bin_, work, employees, days, catalog, from_date, to_date, duckdb_limit, results):
    fixture, lake = os.path.join(work, "in"), os.path.join(work, "lake")
    figures = os.path.join(work, "ingest-figures.json")
    lake_name = f"accesslake gen --seed 1 --employees {employees} --days {days}"
    if os.environ.get("BENCH_BIG_QUERIES_ONLY"):
        # The queries again on the lake an earlier run of this part left,
        # with that run's ingest figures.
        earlier = json.load(open(figures))
        if earlier["lake"] != lake_name:
            sys.exit(f"{work} holds {earlier['lake']!r}, not {lake_name!r}")
        ingest = earlier["ingest"]
        print(f"big ingest     reused from {figures}", flush=True)
        # Right after an ingest the lake is in the page cache; read it once
        # so that the engine that runs a query first is not the one that
        # pays for reading it from disk.
        for root, _, names in os.walk(lake):
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    while f.read(1 << 24):
                        pass
    else:
        ingest = ingest_lake(bin_, work, fixture, lake, employees, days)
        with open(figures, "w") as f:
            json.dump({"lake": lake_name, "ingest": ingest}, f)

    params = parameters(from_date, to_date)
    con = duckdb_over(lake, duckdb_limit)
    rows = []
    for name, sql, duck, used in catalog_queries(catalog):
        args = [bin_, "sql", "--lake", lake, "--format", "csv"] + param_args(sql, params)
        peak, secs, code, err = launch(args + ["--", sql])
        row = {"query": name, "datafusion_s": secs, "datafusion_peak_rss_mib": peak, "datafusion_exit": code}
        if code:
            row["datafusion_error"] = err or f"killed by signal {-code}"
        t = time.perf_counter()
        try:
            # Drained batch by batch: the answer is computed in full but not
            # held in Python (door_trail returns millions of rows here).
            for _ in con.execute(duck, [params[u] for u in used]).fetch_record_batch(1 << 16):
                pass
            row["duckdb_s"] = time.perf_counter() - t
        except duckdb.Error as e:
            row["duckdb_error"] = str(e)[:300]
        rows.append(row)
        print(f"big {name:<18} DataFusion {secs:8.2f}s {peak:8,.0f} MiB"
              + (f" FAILED ({row['datafusion_error'][:60]})" if code else "")
              + (f"   DuckDB {row['duckdb_s']:8.2f}s" if "duckdb_s" in row else "   DuckDB FAILED"), flush=True)
    ok = [r for r in rows if r["datafusion_exit"] == 0 and "duckdb_s" in r]
    merge(results, {"reports_100m": {
        "lake": lake_name,
        "ingest": ingest,
        "memory_limit": os.environ.get("BENCH_BIG_LIMIT_NOTE", "none"),
        "duckdb_memory_limit": duckdb_limit,
        "queries": rows,
        "datafusion_failed": [r["query"] for r in rows if r["datafusion_exit"] != 0],
        "suite_completed_datafusion_s": sum(r["datafusion_s"] for r in ok),
        "suite_completed_duckdb_s": sum(r["duckdb_s"] for r in ok),
        "suite_duckdb_s": sum(r.get("duckdb_s", 0) for r in rows),
        "duckdb_process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}})


if __name__ == "__main__":
    main(*sys.argv[1:10])
