#!/usr/bin/env python3
"""ctest ReportRendersInChromium: `rapid report` on a recorded tune (tests/data/tune/trials.csv, real
trials from the 2-core dev machine), opened in headless Chromium (Debian's `chromium`, installed by
scripts/install-deps.sh). Checks that the browser parsed the page into its charts and table (the
DOM Chromium dumps) and that the charts were drawn (pixels of each series colour and of the chosen
configuration's highlight in a screenshot).

    report_render_check.py RAPID_BINARY TRIALS_DIR
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def read_png_rgb(path):
    """Pixels of an 8-bit RGB or RGBA PNG as a list of rows of (r, g, b)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                fail(f"{path}: PNG colour type {colour} depth {depth} not handled")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        prev = line
    return rows


def count_colour(rows, hex_colour, tolerance=12):
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for row in rows for px in row if all(abs(px[k] - target[k]) <= tolerance for k in range(3)))


def main():
    rapid, trials_dir = sys.argv[1], sys.argv[2]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        fail("chromium is not installed (scripts/install-deps.sh installs Debian's chromium)")
    work = tempfile.mkdtemp(prefix="rapid-report-")
    try:
        shutil.copy(os.path.join(trials_dir, "trials.csv"), work)
        subprocess.run([rapid, "report", work], check=True, stdout=subprocess.DEVNULL)
        page = "file://" + os.path.join(work, "report.html")
        profile = os.path.join(work, "chromium-profile")
        dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page],
                             check=True, capture_output=True, text=True, timeout=120).stdout
        charts = re.findall(r'<svg id="(\w+)" class="chart"', dom)
        if charts != ["throughput", "memory", "scaling"]:
            fail(f"charts in Chromium's DOM: {charts}")
        if dom.count("<polyline") < 2:
            fail(f"{dom.count('<polyline')} polylines in the DOM")
        if dom.count('<g class="highlight">') != 3:
            fail("the chosen configuration is not highlighted in every chart")
        if dom.count('<tr class="chosen">') != 1:
            fail("the chosen row is not in the table once")
        shot = os.path.join(work, "report.png")
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1100,2400",
                        f"--screenshot={shot}", page], check=True, capture_output=True, timeout=120)
        rows = read_png_rgb(shot)
        # Below the "chosen configuration" box (its border has the highlight colour too): the charts.
        charts_rows = rows[250:]
        counts = {name: count_colour(charts_rows, colour) for name, colour in
                  [("highlight #d62728", "#d62728"), ("chosen row #ffe0e0", "#ffe0e0"),
                   ("series blue #1f77b4", "#1f77b4"), ("series green #2ca02c", "#2ca02c"),
                   ("planned orange #ff7f0e", "#ff7f0e"), ("series purple #9467bd", "#9467bd")]}
        print(f"rendered {len(rows[0])}x{len(rows)} px; pixels of each colour: {counts}")
        minimum = {"highlight #d62728": 300, "chosen row #ffe0e0": 3000}
        for name, n in counts.items():
            if n < minimum.get(name, 150):
                fail(f"only {n} pixels of {name}: a chart or highlight was not drawn")
        print("PASS: report.html renders its three charts, the highlight and the table in Chromium")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
