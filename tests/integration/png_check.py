#!/usr/bin/env python3
"""png_check.py — is the HTML report's timeline drawn in a screenshot?

Usage: png_check.py SHOT.png

Decodes the PNG with the standard library only (zlib; 8-bit RGB/RGBA,
non-interlaced, as Chromium writes) and looks for what only the SVG
timeline paints: the arrow blue (#2563eb), the red of the failing
expectation (#dc2626) and the amber wash of a fault span. It prints one
line of figures and exits 1 unless the arrows cover many rows (a drawn
diagram, not one stray line), the failure is highlighted and the fault
is shaded, and the timeline's box is not blank (its pixels vary).
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                sys.exit(f"{path}: unsupported PNG (depth {depth}, type {ctype})")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def near(px, rgb, tol):
    return all(abs(a - b) <= tol for a, b in zip(px, rgb))


def main():
    w, h, bpp, rows = decode(sys.argv[1])
    blue, red, amber = (0x25, 0x63, 0xEB), (0xDC, 0x26, 0x26), (0xFD, 0xEA, 0xC9)
    nblue = nred = namber = 0
    blue_rows = set()
    box = [w, h, 0, 0]
    for y, line in enumerate(rows):
        for x in range(0, w):
            px = line[x * bpp:x * bpp + 3]
            if near(px, blue, 24):
                nblue += 1
                blue_rows.add(y)
                box = [min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)]
            elif near(px, red, 24):
                nred += 1
            elif near(px, amber, 6):
                namber += 1
    x0, y0, x1, y1 = box
    values = [sum(rows[y][x * bpp:x * bpp + 3])
              for y in range(y0, y1 + 1, 3) for x in range(x0, x1 + 1, 3)] if nblue else [0]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    print(f"png {w}x{h}: arrow pixels {nblue} on {len(blue_rows)} rows, failure pixels {nred}, "
          f"fault pixels {namber}, timeline box {x0},{y0}-{x1},{y1}, variance {var:.0f}")
    ok = len(blue_rows) >= 6 and y1 - y0 >= 100 and nred >= 100 and namber >= 2000 and var >= 500
    sys.exit(0 if ok else 1)


main()
