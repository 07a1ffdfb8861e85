#!/usr/bin/env python3
"""Rebuilds NotoSansSC-subset.ttf, the font riskshare carries (for maintainers only).

Source: Noto Sans CJK SC Regular 2.004 (face 2 of NotoSansCJK-Regular.ttc, SIL OFL 1.1,
https://github.com/notofonts/noto-cjk; Debian's fonts-noto-cjk 1:20220127 ships it).
Kept: ASCII, Latin-1, the GB 2312 character set (6,763 hanzi and its punctuation and
symbols: every character of everyday Chinese, so a county's or a bank's name in a user's
scenario is covered too), a few typographic marks, and any CJK character of src/ and
scenarios/. No GSUB: ligatures such as "fi" would swap in glyphs a per-page cut
does not keep, and the PNG renderer shapes no ligatures either. Outlines are converted to TrueType quadratics so that riskshare can subset
the font per report by emptying unused glyphs (src/report/font.rs), which is simple for
`glyf` outlines and not for CFF ones.

    pip install fonttools
    python3 assets/fonts/make_subset.py NotoSansCJK-Regular.ttc assets/fonts/NotoSansSC-subset.ttf
"""
import glob
import subprocess
import sys
import tempfile

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable


def charset():
    chars = set()
    for b1 in range(0xA1, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    chars |= {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x100)}
    chars |= set("–—‘’“”…‰‱−×±≤≥≈·•→←↑↓€¥％，。：；（）【】、！？《》「」　")
    for f in glob.glob("src/**/*.rs", recursive=True) + glob.glob("scenarios/**/*.yaml", recursive=True):
        chars |= {c for c in open(f, encoding="utf-8").read() if 0x3000 <= ord(c) < 0xFFFF}
    return "".join(sorted(chars))


def to_truetype(src, dst):
    f = TTFont(src, recalcTimestamp=False)
    order = f.getGlyphOrder()
    glyphs = f.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    f["glyf"], f["loca"] = glyf, newTable("loca")
    del f["CFF "]
    m = f["maxp"] = newTable("maxp")
    m.tableVersion = 0x00010000
    for k in ("maxZones",):
        setattr(m, k, 1)
    for k in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
              "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(m, k, 0)
    f["head"].glyphDataFormat = 0
    f["post"].formatType = 3.0
    f.sfntVersion = "\x00\x01\x00\x00"
    f.save(dst)


def main(ttc, out):
    with tempfile.TemporaryDirectory() as d:
        text, otf = f"{d}/chars.txt", f"{d}/sub.otf"
        open(text, "w", encoding="utf-8").write(charset())
        subprocess.run(["pyftsubset", ttc, "--font-number=2", f"--text-file={text}", f"--output-file={otf}",
                        "--drop-tables+=vhea,vmtx,VORG,BASE,GSUB", "--layout-features=kern", "--no-hinting",
                        "--desubroutinize", "--name-IDs=*"], check=True)
        to_truetype(otf, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
