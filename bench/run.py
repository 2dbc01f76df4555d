"""accesslake benchmark driver: generates a fixture, runs the release
binary's ingest pinned to one core several times, then the Python + pyarrow
reference pipeline (bench/reference_pipeline.py) on the same files and the
same core, and reports min/median throughput of both and their ratio, peak
memory, and Parquet bytes per decision row against pyarrow's default writer
on the same rows.

usage: run.py BIN WORKDIR EMPLOYEES DAYS REPEATS REFERENCE_REPEATS RESULTS_JSON
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
from results import merge  # noqa: E402


def run(cmd, cpu=None):
    """Runs cmd, returns (seconds, peak RSS in MiB, stdout)."""
    secs, rss, out, _ = run_usage(cmd, cpu)
    return secs, rss, out


def run_usage(cmd, cpu=None):
    """run(), also returning the CPU seconds (user and system) it took."""
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
    return secs, usage.ru_maxrss / 1024, out.decode(), usage.ru_utime + usage.ru_stime


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def pyarrow_default_bytes(decisions_dir, out_dir):
    """Rewrites every decisions file with pyarrow's default writer (same rows,
    same split into files), returns the bytes written."""
    import pyarrow.parquet as pq
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    total = 0
    for d, _, fs in os.walk(decisions_dir):
        for f in fs:
            if f.endswith(".parquet"):
                out = os.path.join(out_dir, f"{len(os.listdir(out_dir))}.parquet")
                pq.write_table(pq.read_table(os.path.join(d, f)), out)
                total += os.path.getsize(out)
    return total


def callgrind_per_event(bin_, work):
    """Instructions per event of `accesslake ingest` under callgrind: the
    difference between two fixture sizes, so process start-up cancels out.
    Repeatable to the instruction whatever else the machine does."""
    if not shutil.which("valgrind"):
        return None
    counts = []
    for days in (8, 32):
        d = os.path.join(work, f"callgrind-{days}")
        shutil.rmtree(d, ignore_errors=True)
        run([bin_, "gen", "--seed", "1", "--employees", "400", "--days", str(days), "--out", f"{d}/in"])
        files = [f"{d}/in/admin.jsonl", f"{d}/in/entries.jsonl"]
        lines = sum(1 for f in files for _ in open(f, "rb"))
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            bin_, "ingest", "--lake", f"{d}/lake"] + files, capture_output=True, text=True)
        collected = [l for l in p.stderr.splitlines() if "Collected :" in l]
        if p.returncode != 0 or not collected:
            sys.exit(f"callgrind run failed:\n{p.stderr[-2000:]}")
        counts.append((lines, int(collected[-1].split(":")[-1].strip())))
    (n1, i1), (n2, i2) = counts
    return {"events": [n1, n2], "instructions": [i1, i2], "instructions_per_event": (i2 - i1) / (n2 - n1)}


def reference(work, files, repeats):
    """Runs the Python reference pipeline; returns its runs and last summary."""
    runs = []
    for _ in range(repeats):
        lake = os.path.join(work, "reference-lake")
        shutil.rmtree(lake, ignore_errors=True)
        secs, rss, out = run([sys.executable, os.path.join(os.path.dirname(__file__), "reference_pipeline.py"),
                              lake] + files, cpu=0)
        runs.append({"seconds": secs, "rss_mib": rss, "summary": json.loads(out)})
    return runs


def main(bin_, work, employees, days, repeats, reference_repeats, results):
    os.makedirs(work, exist_ok=True)
    fixture = os.path.join(work, "in")
    # The generator, like the ingest, runs several times: a single run of a
    # few seconds that writes 1.6 GB moves with the disk's writeback.
    gens = []
    for _ in range(repeats):
        shutil.rmtree(fixture, ignore_errors=True)
        gens.append(run_usage([bin_, "gen", "--seed", "1", "--employees", str(employees),
                               "--days", str(days), "--out", fixture], cpu=0))
    gen_secs = [g[0] for g in gens]
    gen_s = statistics.median(gen_secs)
    gen_rss = max(g[1] for g in gens)
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
    pyarrow_bytes = pyarrow_default_bytes(os.path.join(work, "lake", "decisions"),
                                          os.path.join(work, "pyarrow-default"))
    ref_runs = reference(work, files, reference_repeats)
    ref_secs = [r["seconds"] for r in ref_runs]
    ref = ref_runs[-1]["summary"]
    callgrind = callgrind_per_event(bin_, work)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "uname": platform.platform()},
        "fixture": {"employees": employees, "days": days, "lines": lines, "bytes": input_bytes,
                    "gen_repeats": len(gens), "gen_seconds": gen_s, "gen_seconds_min": min(gen_secs),
                    "gen_cpu_seconds_median": statistics.median(g[3] for g in gens),
                    "gen_lines_per_second": lines / gen_s, "gen_lines_per_second_best": lines / min(gen_secs),
                    "gen_peak_rss_mib": gen_rss},
        "ingest": {
            "events": s["events_read"], "decisions": s["decisions"], "repeats": repeats,
            "seconds_min": min(secs), "seconds_median": statistics.median(secs),
            "events_per_second_best": s["events_read"] / min(secs),
            "events_per_second_median": s["events_read"] / statistics.median(secs),
            "peak_rss_mib": max(r["rss_mib"] for r in runs),
            "files_written": s["files_written"],
            "callgrind": callgrind,
        },
        "reference": {
            "what": "bench/reference_pipeline.py: json.loads per record, dict state, pyarrow default writer",
            "repeats": len(ref_runs), "decisions": ref["decisions"],
            "same_decisions_by_reason": ref["by_reason"] == s["by_reason"],
            "seconds_min": min(ref_secs), "seconds_median": statistics.median(ref_secs),
            "events_per_second_best": s["events_read"] / min(ref_secs),
            "events_per_second_median": s["events_read"] / statistics.median(ref_secs),
            "peak_rss_mib": max(r["rss_mib"] for r in ref_runs),
            "decision_bytes": dir_bytes(os.path.join(work, "reference-lake", "decisions")),
        },
        "parquet": {"decision_bytes": decision_bytes,
                    "bytes_per_decision_row": decision_bytes / max(1, s["decisions"]),
                    "pyarrow_default_bytes": pyarrow_bytes,
                    "pyarrow_default_bytes_per_decision_row": pyarrow_bytes / max(1, s["decisions"]),
                    "ratio_to_pyarrow_default": decision_bytes / max(1, pyarrow_bytes),
                    "input_bytes_per_event": input_bytes / max(1, lines)},
    }
    result["ingest"]["ratio_to_reference_median"] = (result["ingest"]["events_per_second_median"]
                                                     / result["reference"]["events_per_second_median"])
    g, i, q, r = result["fixture"], result["ingest"], result["parquet"], result["reference"]
    print(f"fixture        {lines:>12,} lines  {input_bytes / 2**20:8.1f} MiB   gen median {g['gen_seconds']:.2f}s "
          f"best {g['gen_seconds_min']:.2f}s CPU {g['gen_cpu_seconds_median']:.2f}s "
          f"({g['gen_lines_per_second']:,.0f} lines/s median, {g['gen_lines_per_second_best']:,.0f} best, "
          f"peak {g['gen_peak_rss_mib']:.0f} MiB, {g['gen_repeats']} runs)")
    print(f"ingest 1 core  {i['events']:>12,} events  best {i['seconds_min']:.2f}s  median {i['seconds_median']:.2f}s  "
          f"→ {i['events_per_second_best']:,.0f} events/s best, {i['events_per_second_median']:,.0f} median "
          f"(peak {i['peak_rss_mib']:.0f} MiB, {repeats} runs)")
    if i["callgrind"]:
        print(f"callgrind      {i['callgrind']['instructions_per_event']:,.0f} instructions per event "
              f"(ingest of {i['callgrind']['events'][1]:,} minus {i['callgrind']['events'][0]:,} events)")
    print(f"reference      {r['events_per_second_best']:,.0f} events/s best, {r['events_per_second_median']:,.0f} median "
          f"(peak {r['peak_rss_mib']:.0f} MiB, {r['repeats']} runs; same decisions: {r['same_decisions_by_reason']}) "
          f"→ accesslake {i['ratio_to_reference_median']:.1f}× (median)")
    print(f"parquet        {q['bytes_per_decision_row']:.2f} bytes per decision row; pyarrow default on the same rows "
          f"{q['pyarrow_default_bytes_per_decision_row']:.2f} → {q['ratio_to_pyarrow_default']:.4f}× "
          f"({q['input_bytes_per_event']:.0f} bytes per input line)")
    if not r["same_decisions_by_reason"]:
        print("reference pipeline decided differently:", r, s["by_reason"], file=sys.stderr)
    merge(results, result)
    print(f"wrote {results}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
         int(sys.argv[6]), sys.argv[7])
