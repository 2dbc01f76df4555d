"""Cross-engine check of the SQL catalog (queries/sql/*.sql).

For every query: sqlglot parses it in the Athena/Trino dialect (a query only
DataFusion accepts fails here), its named parameters become positional `?`
exactly as the Athena engine binds them, it is transpiled to DuckDB and run
over the same lake, and the rows are compared with DataFusion's (through
`accesslake sql --param`), as sets of normalised rows.

usage: cross_engine.py ACCESSLAKE_BIN LAKE_DIR CATALOG_DIR
"""

import csv
import datetime
import io
import os
import re
import subprocess
import sys

import duckdb
import sqlglot

PARAM = re.compile(r"\$([a-z_]+)")


def strip_literals_and_comments(sql):
    """The text with string literals and comments blanked, for finding parameters."""
    return re.sub(r"'(?:[^']|'')*'|--[^\n]*", lambda m: " " * len(m.group(0)), sql)


def params_for(name):
    day = "2026-03-02"
    ts = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    p = {"from": ts(f"{day}T06:00:00Z"), "to": ts("2026-03-06T00:00:00Z"),
         "from_dt": day, "to_dt": "2026-03-05", "at": ts("2026-03-03T10:30:00Z"),
         "at_dt": "2026-03-03", "employee_id": "e-00007", "door_id": "hq-f1-east",
         "since": ts("2026-03-02T10:30:00Z")}
    return p


def norm(v):
    if v is None or v == "":
        return ""
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def datafusion_rows(bin_, lake, sql, params):
    args = [bin_, "sql", "--lake", lake, "--format", "csv"]
    for k, v in params.items():
        if isinstance(v, datetime.datetime):
            v = v.strftime("%Y-%m-%dT%H:%M:%SZ")
        args += ["--param", f"{k}={v}"]
    out = subprocess.run(args + ["--", sql], check=True, capture_output=True, text=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return rows[0], sorted(tuple(r) for r in rows[1:])


def duckdb_rows(con, sql, params):
    used = PARAM.findall(strip_literals_and_comments(sql))
    blank = strip_literals_and_comments(sql)
    # positional, in order of appearance: what the Athena engine sends as ExecutionParameters
    pieces, last = [], 0
    for m in PARAM.finditer(blank):
        pieces.append(sql[last:m.start()])
        pieces.append("?")
        last = m.end()
    pieces.append(sql[last:])
    positional = "".join(pieces)
    sqlglot.parse_one(positional, read="trino")  # must parse as Athena SQL
    duck = sqlglot.transpile(positional, read="trino", write="duckdb")[0]
    cur = con.execute(duck, [params[u] for u in used])
    cols = [d[0] for d in cur.description]
    return cols, sorted(tuple(norm(v) for v in r) for r in cur.fetchall())


def main(bin_, lake, catalog):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for t in ["decisions", "admin_events", "rejected", "employees", "cards", "zones", "doors", "grants"]:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/{t}/*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})")
    passed = failed = 0
    for f in sorted(os.listdir(catalog)):
        name = f[:-4]
        sql = open(os.path.join(catalog, f)).read()
        params = params_for(name)
        used = set(PARAM.findall(strip_literals_and_comments(sql)))
        try:
            dcols, drows = duckdb_rows(con, sql, params)
            fcols, frows = datafusion_rows(bin_, lake, sql, {k: v for k, v in params.items() if k in used})
            if dcols != fcols:
                raise AssertionError(f"columns differ: duckdb {dcols} datafusion {fcols}")
            if drows != frows:
                only_d = [r for r in drows if r not in frows][:3]
                only_f = [r for r in frows if r not in drows][:3]
                raise AssertionError(f"{len(drows)} vs {len(frows)} rows; duckdb only {only_d}; datafusion only {only_f}")
            if not drows:
                raise AssertionError("no rows: the fixture does not exercise this query")
            print(f"ok   {name}: {len(drows)} rows agree")
            passed += 1
        except Exception as e:  # noqa: BLE001 - report every query, then fail
            print(f"FAIL {name}: {e}", file=sys.stderr)
            failed += 1
    print(f"cross-engine: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
