"""Report-suite benchmark: every catalog query on DataFusion (the accesslake
binary) and on DuckDB (the same SQL, transpiled from Athena's dialect by
sqlglot) over the same lake, best of N runs each, and the ratio; and the
peak memory of the accesslake process for each query (DuckDB runs inside
this process, so only its peak over the whole suite is known).

usage: reports.py BIN LAKE CATALOG_DIR FROM_DATE TO_DATE REPEATS RESULTS_JSON
"""

import datetime
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import duckdb
import sqlglot
from results import merge  # noqa: E402

PARAM = re.compile(r"\$([a-z_]+)")


def blank(sql):
    return re.sub(r"'(?:[^']|'')*'|--[^\n]*", lambda m: " " * len(m.group(0)), sql)


TABLES = ["decisions", "admin_events", "rejected", "employees", "cards", "zones", "doors", "grants"]


def parameters(from_date, to_date):
    """Every catalog parameter for the days [from_date, to_date)."""
    utc = datetime.timezone.utc
    start = datetime.datetime.fromisoformat(from_date).replace(tzinfo=utc)
    end = datetime.datetime.fromisoformat(to_date).replace(tzinfo=utc)
    at = start + (end - start) / 2 + datetime.timedelta(hours=10)
    return {"from": start, "to": end, "from_dt": from_date, "to_dt": (end - datetime.timedelta(days=1)).date().isoformat(),
            "at": at, "at_dt": at.date().isoformat(), "employee_id": "e-00007", "door_id": "hq-lobby-main",
            "since": at - datetime.timedelta(days=30)}


def param_args(sql, params):
    """`--param k=v` arguments of the accesslake CLI for the parameters `sql` uses."""
    args = []
    for k in sorted(set(PARAM.findall(blank(sql)))):
        v = params[k]
        args += ["--param", f"{k}={v.strftime('%Y-%m-%dT%H:%M:%SZ') if isinstance(v, datetime.datetime) else v}"]
    return args


# Runs a command from a small process and prints its peak resident memory
# (KiB), wall seconds and exit code. A child forked from this process (which
# holds DuckDB's data) would report this process's peak as its own: Linux
# keeps the high-water mark across exec.
LAUNCH = """
import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    out = os.environ.get("LAUNCH_OUT", os.devnull)
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, time.perf_counter() - t, os.waitstatus_to_exitcode(status))
"""


def launch(args, out=os.devnull):
    """One run of `args` (standard output to `out`): peak MiB, seconds, exit code, end of standard error."""
    r = subprocess.run([sys.executable, "-c", LAUNCH] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=dict(os.environ, LAUNCH_OUT=out))
    kib, secs, code = r.stdout.split()
    return int(kib) / 1024, float(secs), int(code), r.stderr.strip()[-300:]


def peak_rss_mib(args):
    """Peak resident memory of one run of `args`, in MiB (a run of its own, untimed)."""
    peak, _, code, err = launch(args)
    if code:
        sys.exit(f"{args[0]} failed ({code}): {err}")
    return peak


def duckdb_over(lake, memory_limit=None):
    """A DuckDB connection with a view per lake table."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/{t}/*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})")
    return con


def catalog_queries(catalog):
    """(name, Athena SQL, DuckDB SQL with ? placeholders, parameter names in order) of each catalog query."""
    for f in sorted(os.listdir(catalog)):
        name, sql = f[:-4], open(os.path.join(catalog, f)).read()
        used = PARAM.findall(blank(sql))
        positional, last = [], 0
        for m in PARAM.finditer(blank(sql)):
            positional += [sql[last:m.start()], "?"]
            last = m.end()
        duck = sqlglot.transpile("".join(positional) + sql[last:], read="trino", write="duckdb")[0]
        yield name, sql, duck, used


def suite(bin_, lake, catalog, from_date, to_date, repeats):
    """Every catalog query on both engines, best and median of `repeats` runs."""
    params = parameters(from_date, to_date)
    con = duckdb_over(lake)
    rows = []
    for name, sql, duck, used in catalog_queries(catalog):
        args = [bin_, "sql", "--lake", lake, "--format", "csv"] + param_args(sql, params)
        df_times, dk_times = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run(args + ["--", sql], check=True, stdout=subprocess.DEVNULL)
            df_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            con.execute(duck, [params[u] for u in used]).fetchall()
            dk_times.append(time.perf_counter() - t)
        rows.append({"query": name, "datafusion_s": min(df_times), "duckdb_s": min(dk_times),
                     "datafusion_median_s": statistics.median(df_times), "duckdb_median_s": statistics.median(dk_times),
                     "datafusion_peak_rss_mib": peak_rss_mib(args + ["--", sql])})
    return rows


def main(bin_, lake, catalog, from_date, to_date, repeats, results):
    repeats = int(repeats)
    rows = suite(bin_, lake, catalog, from_date, to_date, repeats)
    total_df = sum(r["datafusion_s"] for r in rows)
    total_dk = sum(r["duckdb_s"] for r in rows)
    print(f"{'query':<20}{'DataFusion s':>14}{'DuckDB s':>12}{'ratio':>8}{'DF peak MiB':>13}")
    for r in rows:
        print(f"{r['query']:<20}{r['datafusion_s']:>14.3f}{r['duckdb_s']:>12.3f}"
              f"{r['datafusion_s'] / max(r['duckdb_s'], 1e-9):>8.2f}{r['datafusion_peak_rss_mib']:>13.0f}")
    print(f"{'suite':<20}{total_df:>14.3f}{total_dk:>12.3f}{total_df / max(total_dk, 1e-9):>8.2f}")
    merge(results, {"reports": {
        "lake": lake, "repeats": repeats, "queries": rows, "suite_datafusion_s": total_df,
        "suite_duckdb_s": total_dk, "ratio": total_df / max(total_dk, 1e-9),
        "datafusion_peak_rss_mib": max(r["datafusion_peak_rss_mib"] for r in rows),
        "duckdb_process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "note": "DataFusion times include starting the accesslake process and registering the tables"}})


if __name__ == "__main__":
    main(*sys.argv[1:8])
