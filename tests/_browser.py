"""Headless Chromium for the picture tests: run it, read its PNG screenshots (no dependency)."""

from __future__ import annotations

import shutil
import subprocess
import zlib

import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def read_png(path):
    """A minimal PNG reader (8-bit RGB/RGBA, not interlaced) → (h, w, 3) uint8."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        typ, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype, interlace = body[8], body[9], body[12]
        elif typ == b"IDAT":
            idat += body
    assert depth == 8 and interlace == 0 and ctype in (2, 6)
    ch = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w * ch + 1)
    img = np.zeros((h, w * ch), np.int64)
    prev = np.zeros(w * ch, np.int64)
    for r in range(h):
        f, line = raw[r, 0], raw[r, 1:].astype(np.int64)
        if f == 0:
            cur = line
        elif f == 1:
            cur = np.cumsum(line.reshape(w, ch), axis=0).reshape(-1) % 256
        elif f == 2:
            cur = (line + prev) % 256
        else:
            cur = line.copy()
            for i in range(w * ch):
                a = cur[i - ch] if i >= ch else 0
                b = prev[i]
                if f == 3:
                    cur[i] = (cur[i] + (a + b) // 2) % 256
                else:
                    c = prev[i - ch] if i >= ch else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) % 256
        img[r] = cur
        prev = cur
    return img.reshape(h, w, ch)[:, :, :3].astype(np.uint8)


def chromium(args, tmp_path):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def near(img, rgb, tol=6):
    return np.all(np.abs(img.astype(int) - np.array(rgb)) <= tol, axis=-1)


