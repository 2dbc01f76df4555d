"""Lambda figures (stdlib only): the entry handler's time per 10,000-record
batch with state and sink in memory (the `entry_batch` bench's JSON lines,
one per run: the run with the median figure is reported, with the spread),
each built Lambda binary's size and init time: from process start to
its first request for an event on a local Lambda Runtime API; and the
handler's instructions per record under callgrind (0: not counted).

usage: lambda.py BENCH_JSON_LINES ENTRY_BIN ADMIN_BIN REPEATS RESULTS_JSON
                 [INSTRUCTIONS RECORDS]
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from results import merge  # noqa: E402


def init_time(binary):
    """Seconds from spawn to the first GET /runtime/invocation/next."""
    got = threading.Event()

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            got.set()
            time.sleep(5)  # never answer: the process is stopped first

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The environment a custom runtime gets on Lambda, not this machine's:
    # no SSL_CERT_FILE, SSL_CERT_DIR or proxy, which choose the trust roots.
    env = dict(PATH=os.environ.get("PATH", "/usr/bin:/bin"), LANG="en_US.UTF-8", TZ=":UTC",
               AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_STREAM_NAME="bench",
               AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench", AWS_REGION="eu-west-1",
               AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_EC2_METADATA_DISABLED="true",
               ACCESSLAKE_TABLE="bench", ACCESSLAKE_LAKE="s3://bench/lake", ACCESSLAKE_LOG="warn")
    t = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ok = got.wait(30)
    secs = time.perf_counter() - t
    p.kill()
    err = p.communicate()[1].decode(errors="replace")
    server.shutdown()
    if not ok:
        sys.exit(f"{binary} never asked for an event:\n{err}")
    return secs


def main(bench_lines, entry, admin, repeats, results, instructions=0, records=0):
    runs = sorted((json.loads(line) for line in bench_lines.splitlines() if line.strip()),
                  key=lambda r: r["ms_per_batch_median"])
    handler = dict(runs[len(runs) // 2], runs=len(runs),
                   ms_per_batch_median_of_runs=[round(r["ms_per_batch_median"], 1) for r in runs])
    if instructions and records:
        handler["callgrind"] = {"instructions": instructions, "records": records,
                                "instructions_per_record": round(instructions / records)}
    out = {"entry_handler": handler, "binaries": {}}
    for name, binary in (("entry-lambda", entry), ("admin-lambda", admin)):
        times = sorted(init_time(binary) for _ in range(repeats))
        out["binaries"][name] = {
            "bytes": os.path.getsize(binary),
            "init_ms_min": round(times[0] * 1000, 2),
            "init_ms_median": round(statistics.median(times) * 1000, 2),
        }
    print()
    print("Lambda (goal: ≤ 100 ms per 10,000-record batch, init ≤ 20 ms)")
    print(f"  entry handler, 10,000 records, state and sink in memory: "
          f"median {handler['ms_per_batch_median']:.1f} ms "
          f"(decide + store {handler['ms_decide_store_median']:.1f} ms, "
          f"Parquet {handler['ms_parquet_median']:.1f} ms), min {handler['ms_per_batch_min']:.1f} ms; "
          f"medians of {len(runs)} runs: {handler['ms_per_batch_median_of_runs']}")
    if "callgrind" in handler:
        c = handler["callgrind"]
        print(f"  entry handler under callgrind: {c['instructions_per_record']:,} instructions per record "
              f"({c['records']:,} records)")
    for name, b in out["binaries"].items():
        print(f"  {name}: {b['bytes'] / 1e6:.1f} MB, init median {b['init_ms_median']:.1f} ms "
              f"(min {b['init_ms_min']:.1f} ms, {repeats} starts)")
    merge(results, {"lambda": out})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5],
         *(int(a) for a in sys.argv[6:8]))
