#!/bin/bash
# Codec fixtures for issue 13 (item 8 and the junk after a bzip2 stream), all made from
# testdata/formats/pax.tar with the tools themselves (Debian 12: xz 5.4.1, lzip 1.23,
# lz4 1.9.4, ncompress 5.0, lzop 1.04, bzip2 1.0.8). Run from the repository root.
set -euo pipefail
src=testdata/formats/pax.tar
out=testdata/codecs
xz --format=lzma -9 -c "$src" > "$out/pax.tar.lzma"
lzip -9 -c "$src" > "$out/pax.tar.lz"
lz4 -9 -q -c "$src" > "$out/pax.tar.lz4"
compress -c "$src" > "$out/pax.tar.Z"
lzop -9 -c "$src" > "$out/pax.tar.lzo"
# An lz4 frame after a skippable frame (magic 0x184D2A50, 4 bytes of payload): the
# magic zstd shares.
{ printf '\x50\x2a\x4d\x18\x04\x00\x00\x00abcd'; cat "$out/pax.tar.lz4"; } > "$out/skippable-pax.tar.lz4"
# bzip2, then text that is no second stream: bzip2 -d warns "trailing garbage after EOF
# ignored", GNU tar, bsdtar and Python read the archive.
{ cat testdata/compress/pax.tar.bz2; printf 'junk after the stream\n'; } > "$out/junk-pax.tar.bz2"
