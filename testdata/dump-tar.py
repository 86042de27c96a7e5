#!/usr/bin/env python3
"""Dump the raw 512-byte headers of a tar archive, one member per block.

Usage: dump-tar.py ARCHIVE [ARCHIVE...]

The archive may be plain, gzip, bzip2, xz or zstd compressed (detected by
magic bytes, not by name; zstd needs the `zstd` binary, run with
--long=31 so large-window frames decode).

For every 512-byte header block it prints:
  @OFFSET  typeflag, magic (ustar = POSIX "ustar\\0" "00",
           gnu = old GNU "ustar  \\0", v7 = anything else), name (with the
           ustar prefix joined as prefix + "/" + name), mode, uid, gid,
           size, mtime, uname, gname, linkname, devmajor/devminor.
For 'x' / 'g' (PAX) headers: every record "key = value" in file order.
  Values that are printable UTF-8 (newline/tab allowed) are shown as a
  Python string literal; other values as hex:...; SCHILY.xattr.* and
  LIBARCHIVE.xattr.* values are additionally always shown in hex.
For GNU 'L' / 'K' headers: the long name / long link name.
For GNU 'S' (old GNU sparse): realsize and the sparse map including
  extension blocks.
For PAX sparse 1.0 members (GNU.sparse.major=1 in the preceding 'x'):
  the sparse map stored at the start of the member data.
Nothing here depends on the tar module; it is a byte-level walker.
"""
import bz2
import gzip
import lzma
import subprocess
import sys

BLOCK = 512


def read_archive(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), "gzip"
    if data[:3] == b"BZh":
        return bz2.decompress(data), "bzip2"
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(data), "xz"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        out = subprocess.run(["zstd", "-dc", "--long=31"], input=data,
                             stdout=subprocess.PIPE, check=True).stdout
        return out, "zstd"
    return data, "none"


def num(field):
    """Decode a tar numeric field (octal, or GNU base-256)."""
    if not field:
        return 0
    if field[0] & 0x80:  # base-256, positive
        v = field[0] & 0x7F
        for b in field[1:]:
            v = (v << 8) | b
        return v
    if field[0] == 0xFF:  # base-256 negative
        v = -1
        for b in field:
            v = (v << 8) | b
        return v
    s = field.split(b"\0", 1)[0].strip(b" \0")
    return int(s, 8) if s else 0


def cstr(field):
    return field.split(b"\0", 1)[0]


def show_bytes(b):
    """Human-readable form of a byte string (name, link, value)."""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes:" + repr(b)[1:] + " (not UTF-8; hex:" + b.hex() + ")"
    return repr(s)


def is_texty(b):
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\n\t" for c in s)


def pax_records(data):
    """Parse PAX records "LEN key=value\\n". Returns list of (key, value)."""
    recs = []
    i = 0
    while i < len(data):
        if data[i] == 0:  # padding
            break
        sp = data.index(b" ", i)
        length = int(data[i:sp])
        rec = data[sp + 1:i + length]
        assert rec.endswith(b"\n"), "bad pax record at %d" % i
        rec = rec[:-1]
        eq = rec.index(b"=")
        recs.append((rec[:eq], rec[eq + 1:]))
        i += length
    return recs


def checksum_ok(hdr):
    stored = num(hdr[148:156])
    h = bytearray(hdr)
    h[148:156] = b" " * 8
    return sum(h) == stored


def magic_of(hdr):
    m = hdr[257:265]
    if m == b"ustar\x0000":
        return "ustar"
    if m == b"ustar  \x00":
        return "gnu"
    return "v7"


def dump(path):
    raw, comp = read_archive(path)
    print("=== %s (compression: %s, %d bytes uncompressed)" % (path, comp, len(raw)))
    off = 0
    zero_blocks = 0
    pending_sparse1 = False
    while off + BLOCK <= len(raw):
        hdr = raw[off:off + BLOCK]
        if hdr == b"\0" * BLOCK:
            zero_blocks += 1
            off += BLOCK
            if zero_blocks == 2:
                print("@%d end-of-archive (two zero blocks); %d trailing bytes after"
                      % (off - 2 * BLOCK, len(raw) - off))
                return
            continue
        if zero_blocks:
            print("@%d (a lone zero block preceded this header)" % (off - BLOCK))
        zero_blocks = 0
        tf = hdr[156:157].decode("latin-1")
        if tf == "\0":
            tf = "\\0"
        magic = magic_of(hdr)
        name = cstr(hdr[0:100])
        prefix = b""
        if magic == "ustar":
            prefix = cstr(hdr[345:500])
        full = prefix + b"/" + name if prefix else name
        size = num(hdr[124:136])
        line = ("@%d typeflag=%r magic=%s name=%s mode=%04o uid=%d gid=%d size=%d mtime=%d"
                % (off, tf, magic, show_bytes(full), num(hdr[100:108]),
                   num(hdr[108:116]), num(hdr[116:124]), size, num(hdr[136:148])))
        if prefix:
            line += " (ustar prefix=%s name=%s)" % (show_bytes(prefix), show_bytes(name))
        if magic != "v7":
            line += " uname=%s gname=%s" % (show_bytes(cstr(hdr[265:297])),
                                            show_bytes(cstr(hdr[297:329])))
        link = cstr(hdr[157:257])
        if link:
            line += " linkname=%s" % show_bytes(link)
        if tf in ("3", "4"):
            line += " devmajor=%d devminor=%d" % (num(hdr[329:337]), num(hdr[337:345]))
        if not checksum_ok(hdr):
            line += " CHECKSUM-MISMATCH"
        print(line)
        off += BLOCK
        data_len = size
        if tf == "S" and magic == "gnu":
            realsize = num(hdr[483:495])
            entries = []
            for k in range(4):
                o = 386 + 24 * k
                so, sn = hdr[o:o + 12], hdr[o + 12:o + 24]
                if so[0:1] != b"\0":
                    entries.append((num(so), num(sn)))
            ext = hdr[482]
            while ext:
                eb = raw[off:off + BLOCK]
                off += BLOCK
                for k in range(21):
                    o = 24 * k
                    so, sn = eb[o:o + 12], eb[o + 12:o + 24]
                    if so[0:1] != b"\0":
                        entries.append((num(so), num(sn)))
                ext = eb[504]
            print("    gnu-sparse: realsize=%d map=%s (size field = stored bytes = %d)"
                  % (realsize, entries, size))
        body = raw[off:off + data_len]
        if tf in ("x", "g"):
            pending_sparse1 = False
            for k, v in pax_records(body):
                ks = k.decode("utf-8", "replace")
                if is_texty(v):
                    vs = repr(v.decode("utf-8"))
                else:
                    vs = "hex:" + v.hex()
                if (ks.startswith("SCHILY.xattr.") or ks.startswith("LIBARCHIVE.xattr.")) \
                        and not vs.startswith("hex:"):
                    vs += " (hex:%s)" % v.hex()
                print("    pax[%s] %s = %s" % (tf, ks, vs))
                if tf == "x" and ks == "GNU.sparse.major" and v == b"1":
                    pending_sparse1 = True
        elif tf in ("L", "K"):
            print("    gnu-long%s = %s" % ("name" if tf == "L" else "link", show_bytes(cstr(body))))
        elif pending_sparse1:
            pending_sparse1 = False
            # map: decimal numbers, newline-terminated, padded to a block
            vals = []
            p = 0
            while True:
                nl = body.index(b"\n", p)
                vals.append(int(body[p:nl]))
                p = nl + 1
                if len(vals) >= 1 and len(vals) == 1 + 2 * vals[0]:
                    break
            n = vals[0]
            entries = [(vals[1 + 2 * i], vals[2 + 2 * i]) for i in range(n)]
            maplen = (p + BLOCK - 1) // BLOCK * BLOCK
            print("    pax-sparse-1.0 in-data map: count=%d map=%s (map occupies %d bytes of data)"
                  % (n, entries, maplen))
        off += (data_len + BLOCK - 1) // BLOCK * BLOCK
    print("@%d EOF without two zero blocks (zero blocks seen at end: %d)" % (off, zero_blocks))


if __name__ == "__main__":
    for p in sys.argv[1:]:
        dump(p)
