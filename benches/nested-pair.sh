#!/bin/bash
# benches/nested-pair.sh [DATA_DIR] [RUNS] — a pair where every .gz file differs inside, as
# when a rootFS is rebuilt without SOURCE_DATE_EPOCH: DATA_DIR/a.tar (from
# ../shared/bench/make-pairs.sh) against a copy whose every gzip member is recompressed
# with another header mtime (python3, gzip level 9, the original name kept). Then
# ../shared/bench/compare-diffoscope.sh times rdiff (which opens every .gz) against the
# floor and diffoscope on that pair, and rdiff --no-deep beside it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-$HOME/.cache/rdiff-bench/data}
RUNS=${2:-3}
RDIFF=${RDIFF:-$here/target/release/rdiff}
[ -s "$DATA/a.tar" ] || { echo "no $DATA/a.tar: run ../shared/bench/make-pairs.sh first" >&2; exit 2; }
if [ ! -s "$DATA/a-gz.tar" ]; then
  python3 - "$DATA/a.tar" "$DATA/a-gz.tar" <<'PY'
import gzip, io, os, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
n = 0
with tarfile.open(src) as a, tarfile.open(dst + ".tmp", "w", format=a.format) as b:
    b.pax_headers = a.pax_headers
    for m in a:
        data = a.extractfile(m).read() if m.isreg() else None
        if data and data[:2] == b"\x1f\x8b":
            try:
                plain = gzip.decompress(data)
            except Exception:
                plain = None
            if plain is not None:
                buf = io.BytesIO()
                name = os.path.basename(m.name)[:-3] if m.name.endswith(".gz") else ""
                with gzip.GzipFile(name, "wb", 9, buf, mtime=1710000000) as z:
                    z.write(plain)
                data = buf.getvalue()
                m.size = len(data)
                n += 1
        b.addfile(m, io.BytesIO(data) if data is not None else None)
os.replace(dst + ".tmp", dst)
print(f"{n} gzip members recompressed", file=sys.stderr)
PY
fi
echo "rdiff --no-deep:"
/usr/bin/time -f "  %e s wall, %M KB peak" "$RDIFF" rootfs -q --no-deep --format json "$DATA/a.tar" "$DATA/a-gz.tar" >/dev/null || true
echo "rdiff (default) and diffoscope:"
"$here/../shared/bench/compare-diffoscope.sh" "$RDIFF" "$DATA/a.tar" "$DATA/a-gz.tar" "$RUNS"
