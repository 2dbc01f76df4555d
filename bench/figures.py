"""Writes the figures of a benchmark run into docs/performance.md (the block
between the `figures:begin` and `figures:end` markers) and draws
docs/performance.svg: ingest throughput against the reference pipeline and
every report query on DataFusion against DuckDB.

usage: figures.py RESULTS_JSON DOC_MD SVG
"""

import html
import json
import os
import re
import sys


def fmt(n, digits=0):
    return f"{n:,.{digits}f}"


def verdict(ok):
    return "met" if ok else "**not met**"


def earlier_run(part):
    return f" (run of {part['from_run']})" if "from_run" in part else ""


def rows(d):
    out = []
    i, r, q = d.get("ingest"), d.get("reference"), d.get("parquet")
    if i and r:
        eps, ref = i["events_per_second_median"], r["events_per_second_median"]
        out.append((f"local ingest, events/s on one core ({fmt(i['events'])} events, median of {i['repeats']})",
                    fmt(eps), f"{fmt(ref)} (Python + pyarrow reference, {r['repeats']} run(s); "
                    f"same decisions: {'yes' if r['same_decisions_by_reason'] else 'NO'})",
                    f"{eps / ref:.1f}× (best runs: "
                    f"{i['events_per_second_best'] / r['events_per_second_best']:.1f}×)",
                    "≥ 1,000,000/s and ≥ 10×", verdict(eps >= 1e6 and eps / ref >= 10)))
        if i.get("callgrind"):
            out.append(("ingest, instructions per event (callgrind, repeatable)",
                        fmt(i["callgrind"]["instructions_per_event"]), "—", "", "—", ""))
        out.append(("ingest peak memory", f"{fmt(i['peak_rss_mib'])} MiB", f"{fmt(r['peak_rss_mib'])} MiB",
                    f"{i['peak_rss_mib'] / r['peak_rss_mib']:.2f}×", "—", ""))
    if q and "pyarrow_default_bytes_per_decision_row" in q:
        out.append(("Parquet bytes per decision row", f"{q['bytes_per_decision_row']:.2f}",
                    f"{q['pyarrow_default_bytes_per_decision_row']:.2f} (pyarrow defaults, same rows and files)",
                    f"{q['ratio_to_pyarrow_default']:.4f}×", "≤ 0.5×", verdict(q["ratio_to_pyarrow_default"] <= 0.5)))
    rep = d.get("reports")
    if rep:
        out.append((f"report suite, {len(rep['queries'])} catalog queries (best of {rep['repeats']}){earlier_run(rep)}",
                    f"{rep['suite_datafusion_s']:.2f} s"
                    + (f", peak {rep['datafusion_peak_rss_mib']:,.0f} MiB" if "datafusion_peak_rss_mib" in rep else ""),
                    f"{rep['suite_duckdb_s']:.2f} s (DuckDB)",
                    f"{rep['ratio']:.2f}×", "≤ 1.0×", verdict(rep["ratio"] <= 1.0)))
    big = d.get("reports_100m")
    if big:
        failed = big["datafusion_failed"]
        duck_failed = [q["query"] for q in big["queries"] if "duckdb_s" not in q]
        both = sum(1 for q in big["queries"] if q["datafusion_exit"] == 0 and "duckdb_s" in q)
        peak = max(q["datafusion_peak_rss_mib"] for q in big["queries"])
        all_df = sum(q["datafusion_s"] for q in big["queries"] if q["datafusion_exit"] == 0)
        out.append((f"report suite on {fmt(big['ingest']['events'])} events (one run){earlier_run(big)}",
                    (f"{len(failed)} of {len(big['queries'])} killed at the memory limit "
                     f"({', '.join(failed)}); "
                     if failed else "")
                    + (f"{big['suite_completed_datafusion_s']:.1f} s on the {both} both engines finished "
                       f"(all {len(big['queries']) - len(failed)}: {all_df:.1f} s)"
                       if failed or duck_failed else f"{big['suite_completed_datafusion_s']:.1f} s")
                    + f"; peak {fmt(peak)} MiB"
                    + (" (where the limit stopped it)" if failed else ""),
                    f"{big['suite_completed_duckdb_s']:.1f} s (DuckDB"
                    + (f"; out of memory on {', '.join(duck_failed)} at its "
                       f"{big.get('duckdb_memory_limit', '')} limit" if duck_failed else "")
                    + ")",
                    f"{big['suite_completed_datafusion_s'] / big['suite_completed_duckdb_s']:.2f}×",
                    "peak ≤ 2 GiB, ratio reported", verdict(not failed and peak <= 2048)))
    lam = d.get("lambda")
    if lam:
        h = lam["entry_handler"]
        runs = f", median of {h['runs']} runs" if "runs" in h else ""
        out.append((f"entry handler, 10,000-record batch, state and sink in memory{runs}{earlier_run(lam)}",
                    f"{h['ms_per_batch_median']:.1f} ms", "—", "", "≤ 100 ms",
                    verdict(h["ms_per_batch_median"] <= 100)))
        if h.get("callgrind"):
            out.append(("entry handler, instructions per record (callgrind, repeatable)",
                        fmt(h["callgrind"]["instructions_per_record"]), "—", "", "—", ""))
        for name, b in lam["binaries"].items():
            out.append((f"{name} init (start to first poll), size {b['bytes'] / 1e6:.1f} MB{earlier_run(lam)}",
                        f"{b['init_ms_median']:.1f} ms", "—", "", "≤ 20 ms", verdict(b["init_ms_median"] <= 20)))
    f = d.get("fixture")
    if f:
        runs = f.get("gen_repeats", 1)
        label = f"fixture generation ({fmt(f['lines'])} lines" + (f", median of {runs})" if runs > 1 else ")")
        best = f" (best {fmt(f['gen_lines_per_second_best'])})" if runs > 1 else ""
        out.append((label, f"{fmt(f['gen_lines_per_second'])} lines/s{best}, "
                    f"peak {fmt(f['gen_peak_rss_mib'])} MiB", "—", "", "≥ 2,000,000/s, memory flat",
                    verdict(f["gen_lines_per_second"] >= 2e6)))
    return out


def table(d):
    lines = [f"Run of {d.get('date', '?')} on {d.get('machine', {}).get('cpus', '?')} cores "
             f"({d.get('machine', {}).get('uname', '')}); raw figures in `bench/results/`.", "",
             "| figure | accesslake | peer | ratio | goal | |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows(d)]
    rep = d.get("reports")
    if rep:
        lines += ["", "| query | DataFusion s | DuckDB s | ratio | DataFusion peak memory |",
                  "|---|---|---|---|---|"]
        for q in rep["queries"]:
            peak = f"{q['datafusion_peak_rss_mib']:,.0f} MiB" if "datafusion_peak_rss_mib" in q else "—"
            lines.append(f"| {q['query']} | {q['datafusion_s']:.3f} | {q['duckdb_s']:.3f} | "
                         f"{q['datafusion_s'] / max(q['duckdb_s'], 1e-9):.2f} | {peak} |")
    return "\n".join(lines)


def bars(x0, y, values, scale, colors):
    """Horizontal bars, one per value, stacked downwards from y."""
    out = []
    for k, (v, c) in enumerate(zip(values, colors)):
        out.append(f'<rect x="{x0}" y="{y + k * 11}" width="{max(1.0, v * scale):.1f}" height="10" fill="{c}"/>')
    return out


def svg(d):
    width, left = 760, 170
    parts, y = [], 30
    i, r = d.get("ingest"), d.get("reference")
    colors = ["#1f77b4", "#ff7f0e"]
    if i and r:
        top = max(i["events_per_second_median"], r["events_per_second_median"])
        scale = (width - left - 120) / top
        parts.append(f'<text x="10" y="{y}" font-weight="bold">Local ingest, events/s on one core (median)</text>')
        y += 12
        for label, v, c in (("accesslake", i["events_per_second_median"], colors[0]),
                            ("Python + pyarrow", r["events_per_second_median"], colors[1])):
            parts.append(f'<text x="10" y="{y + 9}">{label}</text>')
            parts += bars(left, y, [v], scale, [c])
            parts.append(f'<text x="{left + v * scale + 6:.1f}" y="{y + 9}">{fmt(v)}</text>')
            y += 14
        y += 24
    rep = d.get("reports")
    if rep:
        top = max(max(q["datafusion_s"], q["duckdb_s"]) for q in rep["queries"])
        scale = (width - left - 70) / top
        parts.append(f'<text x="10" y="{y}" font-weight="bold">Report queries, seconds (best of '
                     f'{rep["repeats"]}): DataFusion (accesslake) and DuckDB</text>')
        y += 12
        for q in rep["queries"]:
            parts.append(f'<text x="10" y="{y + 14}">{html.escape(q["query"])}</text>')
            parts += bars(left, y, [q["datafusion_s"], q["duckdb_s"]], scale, colors)
            for k, v in enumerate((q["datafusion_s"], q["duckdb_s"])):
                parts.append(f'<text x="{left + v * scale + 6:.1f}" y="{y + k * 11 + 9}" font-size="10">{v:.2f}</text>')
            y += 28
        parts.append(f'<rect x="{left}" y="{y}" width="10" height="10" fill="{colors[0]}"/>'
                     f'<text x="{left + 14}" y="{y + 9}">DataFusion</text>'
                     f'<rect x="{left + 100}" y="{y}" width="10" height="10" fill="{colors[1]}"/>'
                     f'<text x="{left + 114}" y="{y + 9}">DuckDB</text>')
        y += 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" '
            f'font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(parts) + "\n</svg>\n")


# Parts a run may leave out (BENCH_PARTS) whose last figures still stand.
# Parts a run may leave out (BENCH_PARTS) whose last figures still hold: the
# 10M report suite stands while the lake's files do not change.
CARRIED = ("reports", "reports_100m", "lambda")


def carry_over(d, results):
    """Takes each part of CARRIED this run did not measure from the newest
    earlier results file that has it, marked with that run's date, so the
    page keeps every figure and says which run each comes from."""
    folder = os.path.dirname(os.path.abspath(results))
    earlier = sorted((f for f in os.listdir(folder)
                      if f.endswith(".json") and f < os.path.basename(results)), reverse=True)
    for part in CARRIED:
        if part in d:
            continue
        for name in earlier:
            old = json.load(open(os.path.join(folder, name)))
            if part in old:
                d[part] = dict(old[part], from_run=name.removesuffix(".json"))
                break
    return d


def main(results, doc, svg_path):
    d = carry_over(json.load(open(results)), results)
    text = open(doc).read()
    block = f"<!-- figures:begin (bench/figures.py) -->\n{table(d)}\n<!-- figures:end -->"
    new, n = re.subn(r"<!-- figures:begin.*?<!-- figures:end -->", lambda _: block, text, flags=re.S)
    if n != 1:
        sys.exit(f"{doc}: no figures:begin/figures:end block")
    open(doc, "w").write(new)
    open(svg_path, "w").write(svg(d))
    print(f"wrote {doc} and {svg_path}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
