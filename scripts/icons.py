#!/usr/bin/env python3
"""Draws the web app's icons (web/icons/*.png) with the standard library only.

The icon is a white map pin holding a small house (a 驿站, a place to rest) on the
header's navy (#1d3557, `--brand` in web/style.css). Shapes are tested per sample
and each pixel averages 4x4 samples, so edges are smooth; the PNGs are written
with zlib. The output is deterministic: run it again after changing the drawing
and commit the PNGs.

    python3 scripts/icons.py            # writes web/icons/
    python3 scripts/icons.py OUT_DIR

Files (the manifest and index.html name them):
- icon-192.png, icon-512.png: purpose "any", a rounded square with clear corners;
- maskable-512.png: purpose "maskable", full bleed, the pin inside the central
  80 % circle that every launcher mask keeps;
- apple-touch-icon.png (180 px): full bleed, iOS rounds the corners itself.
"""

import math
import os
import struct
import sys
import zlib

NAVY = (0x1D, 0x35, 0x57)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis, per pixel

# The pin, in a unit square (y grows downwards): a circle and the cone from its
# tip tangent to the circle.
PIN_C = (0.5, 0.42)
PIN_R = 0.25
PIN_TIP = (0.5, 0.87)
_D = PIN_TIP[1] - PIN_C[1]
_SIN_A = PIN_R / _D
_TAN_A = _SIN_A / math.sqrt(1 - _SIN_A * _SIN_A)
_Y_TANGENT = PIN_C[1] + PIN_R * _SIN_A


def in_pin(x, y):
    dx, dy = x - PIN_C[0], y - PIN_C[1]
    if dx * dx + dy * dy <= PIN_R * PIN_R:
        return True
    if _Y_TANGENT <= y <= PIN_TIP[1]:
        return abs(x - PIN_TIP[0]) <= (PIN_TIP[1] - y) * _TAN_A
    return False


def in_house(x, y):
    """The house inside the pin: a roof, a body, and a door cut out of the body."""
    if 0.285 <= y <= 0.425:  # roof: apex at (0.5, 0.285), eaves at y 0.425
        half = 0.15 * (y - 0.285) / 0.14
        return abs(x - 0.5) <= half
    if 0.425 < y <= 0.545 and 0.395 <= x <= 0.605:
        door = 0.475 <= x <= 0.525 and y >= 0.465
        return not door
    return False


def in_rounded_square(x, y, r):
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def colour_at(x, y, scale, corner):
    """The colour (RGBA) of one sample, or None outside the icon."""
    if corner and not in_rounded_square(x, y, corner):
        return None
    # The drawing is scaled about the centre (maskable icons keep a margin).
    u = 0.5 + (x - 0.5) / scale
    v = 0.5 + (y - 0.5) / scale
    if in_pin(u, v):
        return NAVY if in_house(u, v) else WHITE
    return NAVY


def render(size, scale, corner):
    rows = []
    n = SAMPLES
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 (none)
        for px in range(size):
            r = g = b = a = 0
            for sy in range(n):
                y = (py + (sy + 0.5) / n) / size
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) / size
                    c = colour_at(x, y, scale, corner)
                    if c is not None:
                        r += c[0]
                        g += c[1]
                        b += c[2]
                        a += 1
            if a:
                # Colour averaged over the covered samples (not premultiplied).
                row += bytes((round(r / a), round(g / a), round(b / a), round(255 * a / (n * n))))
            else:
                row += b"\0\0\0\0"
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width, height, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


ICONS = [
    # name, size, scale of the drawing, corner radius (0: full bleed)
    ("icon-192.png", 192, 1.0, 0.2),
    ("icon-512.png", 512, 1.0, 0.2),
    ("maskable-512.png", 512, 0.8, 0),
    ("apple-touch-icon.png", 180, 0.9, 0),
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "web", "icons")
    os.makedirs(out, exist_ok=True)
    for name, size, scale, corner in ICONS:
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(render(size, scale, corner))
        print(f"{path}: {size}x{size}")


if __name__ == "__main__":
    main()
