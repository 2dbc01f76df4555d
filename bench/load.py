"""The AWS entry path under a burst on the emulator: prints the figures the
load test wrote (ingest/tests/load.rs) and adds them to the results file.
    load.py REPORT RESULTS"""

import json
import sys

from results import merge


def main():
    report, results = sys.argv[1], sys.argv[2]
    with open(report) as f:
        fig = json.load(f)
    print("\nAWS entry path on the emulator (Kinesis → entry-lambda → DynamoDB + S3)")
    rows = [
        ("scans put / decided once", f"{fig['scans']:,} / {fig['decisions']:,}"),
        ("put, PutRecords of 500", f"{fig['put_seconds']:.1f} s"),
        ("drain, batches ≤ 10,000", f"{fig['drain_seconds']:.1f} s, {fig['scans_per_second']:,.0f} scans/s"),
        ("time inside the function", f"{fig['seconds_in_function']:.1f} s, of it CPU {fig['function_cpu_seconds']:.1f} s"),
        ("invocations (largest batch)", f"{fig['invocations']} ({fig['largest_batch']:,})"),
        ("redeliveries", f"{fig['redeliveries']}"),
        ("function peak RSS", f"{fig['function_peak_rss_bytes'] / 2**20:.0f} MiB"),
        ("binary", fig["binary"]),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    merge(results, {"aws_load": fig})


if __name__ == "__main__":
    main()
