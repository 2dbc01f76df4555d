"""accesslake benchmark driver (stdlib only): generates a fixture, runs the
release binary's ingest pinned to one core several times, and reports
min/median throughput, bytes per decision row, and peak memory.

usage: run.py BIN WORKDIR EMPLOYEES DAYS REPEATS
"""

import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time


def run(cmd, cpu=None):
    """Runs cmd, returns (seconds, peak RSS in MiB, stdout)."""
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu)] + cmd
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()}")
    return secs, usage.ru_maxrss / 1024, out.decode()


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main(bin_, work, employees, days, repeats):
    os.makedirs(work, exist_ok=True)
    fixture = os.path.join(work, "in")
    shutil.rmtree(fixture, ignore_errors=True)
    gen_s, gen_rss, _ = run([bin_, "gen", "--seed", "1", "--employees", str(employees),
                             "--days", str(days), "--out", fixture], cpu=0)
    files = [os.path.join(fixture, "admin.jsonl"), os.path.join(fixture, "entries.jsonl")]
    lines = sum(1 for f in files for _ in open(f, "rb"))
    input_bytes = sum(os.path.getsize(f) for f in files)

    runs = []
    for i in range(repeats):
        lake = os.path.join(work, "lake")
        shutil.rmtree(lake, ignore_errors=True)
        secs, rss, out = run([bin_, "ingest", "--json", "--lake", lake] + files, cpu=0)
        s = json.loads(out)
        runs.append({"seconds": secs, "rss_mib": rss, "summary": s})
    s = runs[-1]["summary"]
    secs = [r["seconds"] for r in runs]
    decision_bytes = dir_bytes(os.path.join(work, "lake", "decisions"))
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "uname": platform.platform()},
        "fixture": {"employees": employees, "days": days, "lines": lines, "bytes": input_bytes,
                    "gen_seconds": gen_s, "gen_lines_per_second": lines / gen_s, "gen_peak_rss_mib": gen_rss},
        "ingest": {
            "events": s["events_read"], "decisions": s["decisions"], "repeats": repeats,
            "seconds_min": min(secs), "seconds_median": statistics.median(secs),
            "events_per_second_best": s["events_read"] / min(secs),
            "events_per_second_median": s["events_read"] / statistics.median(secs),
            "peak_rss_mib": max(r["rss_mib"] for r in runs),
            "files_written": s["files_written"],
        },
        "parquet": {"decision_bytes": decision_bytes,
                    "bytes_per_decision_row": decision_bytes / max(1, s["decisions"]),
                    "input_bytes_per_event": input_bytes / max(1, lines)},
    }
    g, i, q = result["fixture"], result["ingest"], result["parquet"]
    print(f"fixture        {lines:>12,} lines  {input_bytes / 2**20:8.1f} MiB   gen {g['gen_seconds']:.2f}s "
          f"({g['gen_lines_per_second']:,.0f} lines/s, peak {g['gen_peak_rss_mib']:.0f} MiB)")
    print(f"ingest 1 core  {i['events']:>12,} events  best {i['seconds_min']:.2f}s  median {i['seconds_median']:.2f}s  "
          f"→ {i['events_per_second_best']:,.0f} events/s best, {i['events_per_second_median']:,.0f} median "
          f"(peak {i['peak_rss_mib']:.0f} MiB, {repeats} runs)")
    print(f"parquet        {q['bytes_per_decision_row']:.1f} bytes per decision row "
          f"({q['input_bytes_per_event']:.0f} bytes per input line)")
    stamp = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    out = os.path.join(os.path.dirname(__file__), "results", f"{stamp}.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
