"""Opens the demo's HTML reports in headless Chromium and checks what a reader
would see: the index links every report, the occupancy page has one chart per
zone with its occupancy line and capacity, the denied page a stacked bar
chart, and each table as many rows as the report's JSON. Takes a screenshot
of the occupancy report.

usage: check_html.py CHROMIUM REPORTS_DIR SCREENSHOT_PNG
"""

import json
import os
import re
import struct
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def chromium(binary, *args):
    # A throwaway profile per run, removed afterwards (it holds caches).
    with tempfile.TemporaryDirectory(prefix="accesslake-chromium-") as profile:
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def main(binary, reports, png):
    url = lambda name: "file://" + os.path.abspath(os.path.join(reports, name))
    rows = lambda name: len(json.load(open(os.path.join(reports, f"{name}.json")))["rows"])

    index = chromium(binary, "--dump-dom", url("index.html"))
    names = ["occupancy", "muster", "denied", "inactive_card_use", "after_hours", "anti_passback",
             "person_trail", "door_trail", "admin_changes"]
    for n in names:
        check(f'href="{n}.html"' in index, f"index does not link {n}")
    check(index.count('class="card"') >= 6, "index lacks headline figures")

    occ = chromium(binary, "--dump-dom", url("occupancy.html"))
    zones = len(set(r["zone_id"] for r in json.load(open(os.path.join(reports, "occupancy.json")))["rows"]))
    charts = occ.count("<svg")
    check(charts == zones, f"occupancy: {charts} charts for {zones} zones")
    lines = re.findall(r'class="occupancy"[^>]*points="([^"]+)"', occ)
    check(len(lines) == zones and all(len(l.split()) > 1 for l in lines), "occupancy lines are missing or empty")
    check(occ.count('class="capacity"') >= zones - 2, "capacity lines missing")
    shown = min(rows("occupancy"), 2000)
    check(occ.count("<tr>") - 1 == shown, f"occupancy table shows {occ.count('<tr>') - 1} rows, expected {shown}")

    den = chromium(binary, "--dump-dom", url("denied.html"))
    check(den.count('class="bar"') > 0, "denied chart has no bars")
    check(den.count("<tr>") - 1 == min(rows("denied"), 2000), "denied table row count")

    chromium(binary, "--window-size=1280,1600", f"--screenshot={png}", url("occupancy.html"))
    ok = os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    check(ok, "no screenshot")
    if ok:
        w, h = struct.unpack(">II", open(png, "rb").read(24)[16:24])
        check((w, h) == (1280, 1600) and os.path.getsize(png) > 20_000, f"screenshot {w}x{h}, {os.path.getsize(png)} bytes")

    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        sys.exit(1)
    print(f"html-check: 1 passed, 0 failed ({zones} occupancy charts, screenshot {png})")


if __name__ == "__main__":
    main(*sys.argv[1:4])
