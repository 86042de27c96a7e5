#!/bin/bash
# benches/e2e.sh — end-to-end timings of rdiff on real rootFS and image pairs, against
# the hardware floor (decompressing both inputs at the same time) and diffoscope 332.
#
#   benches/e2e.sh [DATA_DIR] [RUNS]
#
# DATA_DIR (default ~/.cache/rdiff-bench/data) is filled by ../shared/bench/make-pairs.sh
# when empty (needs root, mmdebstrap, umoci: INSTALL_DEPS=1). Derived pairs are built
# here with python3: an mtime-only pair, a one-file-content pair, and a 4x larger pair
# (the rootFS repeated under four prefixes). For each pair: medians of RUNS runs (default
# 5) of rdiff wall time, user+sys CPU and peak RSS (/usr/bin/time), of the floor, and
# diffoscope once (capped at 10 minutes; SKIP_DIFFOSCOPE=1 leaves it out). Prints a
# Markdown table (also written to benches/results/e2e-DATE.md).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-$HOME/.cache/rdiff-bench/data}
RUNS=${2:-5}
RDIFF=${RDIFF:-$here/target/release/rdiff}
MAKE_PAIRS=${MAKE_PAIRS:-$here/../shared/bench/make-pairs.sh}
[ -x "$RDIFF" ] || (cd "$here" && cargo build --release -q)
mkdir -p "$DATA"
[ -s "$DATA/a.tar.zst" ] || "$MAKE_PAIRS" "$DATA"
[ -s "$DATA/a-copy.tar.zst" ] || cp "$DATA/a.tar.zst" "$DATA/a-copy.tar.zst"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Derived pairs, built once.
derive() {
  python3 - "$DATA" <<'PY'
import sys, tarfile, os, io
d = sys.argv[1]
def rewrite(src, dst, fn):
    with tarfile.open(src) as a, tarfile.open(dst + ".tmp", "w", format=a.format) as b:
        b.pax_headers = a.pax_headers
        for m in a:
            data = a.extractfile(m).read() if m.isreg() else None
            m, data = fn(m, data)
            b.addfile(m, io.BytesIO(data) if data is not None else None)
    os.replace(dst + ".tmp", dst)
if not os.path.exists(f"{d}/a-mtime.tar"):
    def shift(m, data):
        m.mtime += 86400
        for k in ("mtime",):
            if k in m.pax_headers:
                m.pax_headers[k] = str(float(m.pax_headers[k]) + 86400)
        return m, data
    rewrite(f"{d}/a.tar", f"{d}/a-mtime.tar", shift)
if not os.path.exists(f"{d}/a-onefile.tar"):
    done = [False]
    def one(m, data):
        if not done[0] and m.isreg() and m.size > 4096 and m.name.endswith(".so") is False and data:
            data = data[:100] + bytes([data[100] ^ 0xff]) + data[101:]
            done[0] = True
        return m, data
    rewrite(f"{d}/a.tar", f"{d}/a-onefile.tar", one)
for name in ("a", "b"):
    big = f"{d}/{name}-x4.tar"
    if not os.path.exists(big):
        with tarfile.open(f"{d}/{name}.tar") as a, tarfile.open(big + ".tmp", "w", format=a.format) as b:
            members = [(m, a.extractfile(m).read() if m.isreg() else None) for m in a]
            for p in ("p1", "p2", "p3", "p4"):
                for m, data in members:
                    n = tarfile.TarInfo(p + "/" + m.name.lstrip("./"))
                    for k in ("mode", "uid", "gid", "uname", "gname", "mtime", "type", "linkname", "devmajor", "devminor", "size"):
                        setattr(n, k, getattr(m, k))
                    n.pax_headers = {k: v for k, v in m.pax_headers.items() if k not in ("path", "linkpath")}
                    if m.islnk():
                        n.linkname = p + "/" + m.linkname.lstrip("./")
                    b.addfile(n, io.BytesIO(data) if data is not None else None)
        os.replace(big + ".tmp", big)
PY
  for f in a-mtime a-onefile a-x4 b-x4; do
    [ -s "$DATA/$f.tar.zst" ] || zstd -q --long -T0 -8 -f "$DATA/$f.tar" -o "$DATA/$f.tar.zst"
  done
}
derive

decomp() {
  case $(head -c 4 "$1" | od -An -tx1 | tr -d ' ') in
    28b52ffd) echo "zstd -dc --long=31" ;; 1f8b*) echo "gzip -dc" ;; fd377a58) echo "xz -dc" ;; *) echo "cat" ;;
  esac
}
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
floor_files() {  # decode all given files at the same time
  local s e; s=$(date +%s.%N)
  for f in "$@"; do $(decomp "$f") "$f" >/dev/null & done; wait
  e=$(date +%s.%N); echo "$e - $s" | bc
}
rdiff_runs() {  # rdiff_runs LABEL ARGS...: medians of wall, cpu, rss
  : > "$tmp/r"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$RDIFF" "$@" >/dev/null 2>&1 || true
    tail -1 "$tmp/t" >> "$tmp/r"
  done
  W=$(cut -d' ' -f1 "$tmp/r" | median)
  C=$(awk '{print $2+$3}' "$tmp/r" | median)
  M=$(cut -d' ' -f4 "$tmp/r" | median)
}
floor_runs() { : > "$tmp/f"; for _ in $(seq "$RUNS"); do floor_files "$@" >> "$tmp/f"; done; F=$(median < "$tmp/f"); }
diffoscope_once() {
  DW=""; DM=""
  [ "${SKIP_DIFFOSCOPE:-0}" = 1 ] && return
  local venv=${DIFFOSCOPE_VENV:-$HOME/.cache/rdiff-bench/diffoscope-venv}
  if [ ! -x "$venv/bin/diffoscope" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q diffoscope==332 libarchive-c python-magic
  fi
  /usr/bin/time -f "%e %M" -o "$tmp/d" timeout 600 "$venv/bin/diffoscope" --text "$tmp/d.txt" "$1" "$2" >/dev/null 2>&1 || true
  read -r DW DM < <(tail -1 "$tmp/d")
}
out="$here/benches/results/e2e-$(date -u +%Y-%m-%d).md"
mkdir -p "$(dirname "$out")"
{
echo "rdiff $("$RDIFF" --version | cut -d' ' -f2), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d); medians of $RUNS runs"
echo
echo "| pair | floor s | rdiff s | rdiff CPU s | rdiff RSS MiB | rdiff/floor | diffoscope s | diffoscope/rdiff |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row() {  # row LABEL LEFT RIGHT [EXTRA rdiff flags]
  local label=$1 l=$2 r=$3; shift 3
  floor_runs "$l" "$r"
  rdiff_runs rootfs --format json "$@" "$l" "$r"
  diffoscope_once "$l" "$r"
  local ratio; ratio=$(echo "scale=2; $W/$F" | bc)
  local dr=""; [ -n "$DW" ] && dr=$(echo "scale=1; $DW/$W" | bc)
  printf '| %s | %.2f | %.2f | %.2f | %.0f | %s | %s | %s |\n' "$label" "$F" "$W" "$C" "$(echo "$M/1024" | bc -l)" "$ratio" "${DW:--}" "${dr:--}"
}
row "zstd, mtimes + 1 file (a/b)" "$DATA/a.tar.zst" "$DATA/b.tar.zst"
row "zstd, mtimes only" "$DATA/a.tar.zst" "$DATA/a-mtime.tar.zst"
row "zstd, one file's content" "$DATA/a.tar.zst" "$DATA/a-onefile.tar.zst"
SKIP_DIFFOSCOPE=1 row "gzip (a/b)" "$DATA/a.tar.gz" "$DATA/b.tar.gz"
SKIP_DIFFOSCOPE=1 row "plain tar (a/b)" "$DATA/a.tar" "$DATA/b.tar"
SKIP_DIFFOSCOPE=1 row "byte-identical zstd" "$DATA/a.tar.zst" "$DATA/a-copy.tar.zst"
SKIP_DIFFOSCOPE=1 row "zstd 4x larger" "$DATA/a-x4.tar.zst" "$DATA/b-x4.tar.zst"
SKIP_DIFFOSCOPE=1 row "zstd, --threads 1" "$DATA/a.tar.zst" "$DATA/b.tar.zst" --threads 1
SKIP_DIFFOSCOPE=1 row "zstd, --low-memory" "$DATA/a.tar.zst" "$DATA/b.tar.zst" --low-memory
SKIP_DIFFOSCOPE=1 row "zstd 4x larger, --low-memory" "$DATA/a-x4.tar.zst" "$DATA/b-x4.tar.zst" --low-memory
if [ -d "$DATA/oci-a" ]; then
  blobs() { python3 -c "
import json,sys
d=sys.argv[1]; ref=sys.argv[2]
idx=json.load(open(d+'/index.json'))
m=[x for x in idx['manifests'] if x.get('annotations',{}).get('org.opencontainers.image.ref.name')==ref][0]
man=json.load(open(d+'/blobs/sha256/'+m['digest'].split(':')[1]))
print(' '.join(d+'/blobs/sha256/'+l['digest'].split(':')[1] for l in man['layers']))" "$1" "$2"; }
  for ref in 1layer 2layer; do
    # shellcheck disable=SC2046
    floor_runs $(blobs "$DATA/oci-a" $ref) $(blobs "$DATA/oci-b" $ref)
    for flags in "" "--low-memory"; do
      # shellcheck disable=SC2086
      rdiff_runs image --format json $flags "$DATA/oci-a:$ref" "$DATA/oci-b:$ref"
      printf '| image %s (gzip layers)%s | %.2f | %.2f | %.2f | %.0f | %s | - | - |\n' "$ref" "${flags:+, $flags}" "$F" "$W" "$C" "$(echo "$M/1024" | bc -l)" "$(echo "scale=2; $W/$F" | bc)"
    done
  done
fi
} | tee "$out"
