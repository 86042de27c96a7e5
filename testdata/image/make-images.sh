#!/usr/bin/env bash
# Regenerate every OCI / Docker image fixture under testdata/image/ with REAL
# tools (umoci, skopeo, GNU tar, gzip), plus imgtool.py for the two docker-save
# shapes and the hand-written multi-platform index (no docker daemon here).
#
# Run as root (umoci unpack/repack keep uid/gid 0 that way):
#     testdata/image/make-images.sh
# Rewrites oci/, archives/ and the GENERATED part of README.md; every output
# is checked (umoci stat / skopeo inspect / imgtool.py check-layout /
# unpack-and-compare) before the script exits 0.
#
# Last run with (Debian 12 bookworm packages):
#   umoci 0.4.7+ds-3+b7, skopeo 1.9.3, GNU tar 1.34, gzip 1.12, zstd 1.5.4,
#   python3 3.11.7
#
# Determinism: umask 022, LC_ALL=C, TZ=UTC, SOURCE_DATE_EPOCH, every tree
# re-stamped (touch -h -d @1700000000) right before each repack / tar, every
# umoci command that writes a config or history entry gets an explicit
# --created / --history.created, gzip -n. Re-running gives byte-identical
# files EXCEPT archives/base.oci-archive.tar{,.gz}: skopeo's oci-archive
# writer stores the wall-clock mtime of its temp dir in every tar header
# (see README.md, "Determinism").
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1700000000

if [ "$(id -u)" != 0 ]; then
    echo "make-images.sh: must run as root" >&2
    exit 1
fi
for t in umoci skopeo tar gzip zstd python3; do
    command -v "$t" >/dev/null || { echo "make-images.sh: needs $t" >&2; exit 1; }
done

OUT=$(cd "$(dirname "$0")" && pwd)
TOOL="python3 $OUT/imgtool.py"
T0=1700000000
C0=2023-11-14T22:13:20Z          # = @1700000000
C1=2024-01-01T00:00:00Z          # "changed" image's created time
AUTHOR='Example Builder <builder@example.invalid>'

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rdiff-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FS=$WORK/fs            # final-filesystem dumps for README
mkdir -p "$FS"

rm -rf "$OUT/oci" "$OUT/archives" "$OUT/dir"
mkdir -p "$OUT/oci" "$OUT/archives" "$OUT/dir"
cd "$OUT"

# ---------------------------------------------------------------- helpers
randbytes() { # SEED NBYTES -> stdout
    python3 -c 'import sys, random
sys.stdout.buffer.write(random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2])))' "$1" "$2"
}

stamp() { # DIR : atime+mtime of everything, symlinks themselves included
    find "$1" -exec touch -h -d "@$T0" {} +
}

new_image() { # LAYOUT TAG
    [ -e "$1/oci-layout" ] || umoci init --layout "$1"
    umoci new --image "$1:$2"
}

unpack() { # LAYOUT:TAG BUNDLE
    rm -rf "$2"
    umoci unpack --image "$1" "$2"
}

repack() { # LAYOUT:TAG BUNDLE COMMENT
    stamp "$2/rootfs"
    umoci repack --image "$1" \
        --history.created "$C0" --history.author "$AUTHOR" \
        --history.created_by "umoci repack" --history.comment "$3" "$2"
    rm -rf "$2"
}

# add a hand-made layer: TREE is tarred with GNU tar (ustar, names without
# "./", sorted, uid/gid 0, mtime T0) and appended VERBATIM by umoci, which
# compresses it itself. NB: umoci 0.4.7 raw add-layer must get an
# UNCOMPRESSED tar: given a .tar.gz it silently gzips it again (the image
# then fails to unpack: "unexpected EOF").
raw_layer() { # LAYOUT:TAG TREE COMMENT
    local tarf=$WORK/raw-layer.tar
    stamp "$2"
    (cd "$2" && tar --format=ustar --numeric-owner --owner=0 --group=0 \
        --sort=name --mtime="@$T0" -cf "$tarf" -- *)
    umoci raw add-layer --image "$1" \
        --history.created "$C0" --history.author "$AUTHOR" \
        --history.created_by "umoci raw add-layer" --history.comment "$3" "$tarf"
    rm -f "$tarf"
}

fsdump() { # LAYOUT:TAG NAME : unpack with umoci and record the final tree
    local b=$WORK/dump-bundle
    unpack "$1" "$b"
    $TOOL treedump "$b/rootfs" > "$FS/$2"
    rm -rf "$b"
}

os_release() { # DIR
    mkdir -p "$1/etc"
    printf 'NAME="Example Linux"\nID=example\nVERSION_ID=1\n' > "$1/etc/os-release"
}

# ================================================================ 1. oci/base
# 2. oci/changed: identical recipe, different layer-2 hostname and config.
build_base_like() { # LAYOUT HOSTNAME_L2 CREATED LANG NAME_LABEL BUILD
    local L=$1 b=$WORK/bundle r
    new_image "$L" v1
    # layer 1
    unpack "$L:v1" "$b"; r=$b/rootfs
    os_release "$r"
    printf 'localhost\n' > "$r/etc/hostname"
    printf 'root:*:19675:0:99999:7:::\n' > "$r/etc/shadow"; chmod 0640 "$r/etc/shadow"
    mkdir -p "$r/usr/bin" "$r/usr/lib" "$r/var/empty" "$r/tmp"
    chmod 1777 "$r/tmp"
    randbytes 1 1024 > "$r/usr/bin/tool"; chmod 0755 "$r/usr/bin/tool"
    randbytes 2 512 > "$r/usr/lib/libtool.so.1"; chmod 0755 "$r/usr/lib/libtool.so.1"
    ln -s libtool.so.1 "$r/usr/lib/libtool.so"
    repack "$L:v1" "$b" "layer 1: base tree"
    # layer 2
    unpack "$L:v1" "$b"; r=$b/rootfs
    mkdir -p "$r/usr/share/doc"
    printf 'Example base image.\nSee https://example.invalid/\n' > "$r/usr/share/doc/README"
    printf '%s\n' "$2" > "$r/etc/hostname"
    repack "$L:v1" "$b" "layer 2: README, hostname"
    umoci config --image "$L:v1" \
        --author "$AUTHOR" --created "$3" \
        --config.env PATH=/usr/bin --config.env "LANG=$4" \
        --config.cmd /usr/bin/tool \
        --config.label "org.example.name=$5" \
        --config.workingdir / --config.user 0:0 --config.exposedports 8080/tcp \
        --manifest.annotation "org.opencontainers.image.created=$3" \
        --manifest.annotation "org.example.build=$6" \
        --history.created "$3" --history.author "$AUTHOR" \
        --history.created_by "umoci config" --history.comment "runtime config"
    umoci gc --layout "$L"
}

build_base_like oci/base    base-host "$C0" C       base    1
build_base_like oci/changed chgd-host "$C1" C.UTF-8 changed 2

# ================================================================ 3. squash
# Same final filesystem: 2 layers (squash-2) vs 3 layers (squash-3) where
# squash-3 has an opaque dir (hand-made layer 2) and a umoci whiteout (layer 3).
squash_base() { # ROOT
    os_release "$1"
    printf 'squash\n' > "$1/etc/hostname"
    mkdir -p "$1/usr/bin" "$1/var/tmp"
    chmod 1777 "$1/var/tmp"
    randbytes 3 600 > "$1/usr/bin/tool"; chmod 0755 "$1/usr/bin/tool"
}
squash_config() { # LAYOUT:TAG
    umoci config --image "$1" --author "$AUTHOR" --created "$C0" \
        --config.cmd /usr/bin/tool --config.label org.example.name=squash \
        --history.created "$C0" --history.author "$AUTHOR" \
        --history.created_by "umoci config" --history.comment "runtime config"
}

L=oci/squash-2; b=$WORK/bundle
new_image $L v1
unpack $L:v1 "$b"; squash_base "$b/rootfs"
repack $L:v1 "$b" "layer 1: base tree"
unpack $L:v1 "$b"; r=$b/rootfs
mkdir -p "$r/opt/app" "$r/usr/share/doc"
printf 'mode=new\n' > "$r/opt/app/new.conf"
printf 'squash test image\n' > "$r/usr/share/doc/README"
repack $L:v1 "$b" "layer 2: app config, README"
squash_config $L:v1
umoci gc --layout $L

L=oci/squash-3
new_image $L v1
unpack $L:v1 "$b"; r=$b/rootfs
squash_base "$r"
mkdir -p "$r/opt/app/old2"
printf 'mode=old1\n' > "$r/opt/app/old1.conf"
printf 'mode=old2\n' > "$r/opt/app/old2/x.conf"
printf 'scratch\n' > "$r/var/tmp/junk.txt"
repack $L:v1 "$b" "layer 1: base tree + old app config + junk"
# layer 2, by hand: opt/app replaced wholesale (opaque whiteout)
t=$WORK/tree; rm -rf "$t"; mkdir -p "$t/opt/app"
: > "$t/opt/app/.wh..wh..opq"
printf 'mode=new\n' > "$t/opt/app/new.conf"
raw_layer $L:v1 "$t" "layer 2: opaque opt/app"
rm -rf "$t"
# layer 3, umoci: delete var/tmp/junk.txt (-> var/tmp/.wh.junk.txt), add README
unpack $L:v1 "$b"; r=$b/rootfs
rm "$r/var/tmp/junk.txt"
mkdir -p "$r/usr/share/doc"
printf 'squash test image\n' > "$r/usr/share/doc/README"
repack $L:v1 "$b" "layer 3: rm junk, README"
squash_config $L:v1
umoci gc --layout $L

# ================================================================ 7. whiteouts
L=oci/whiteouts
new_image $L v1
unpack $L:v1 "$b"; r=$b/rootfs
mkdir -p "$r/a" "$r/b/sub" "$r/c/old-sub" "$r/d"
printf 'keep\n' > "$r/a/keep"
printf 'gone\n' > "$r/a/gone"
printf 'x\n' > "$r/b/sub/x"
printf 'y\n' > "$r/b/sub/y"
printf 'old1\n' > "$r/c/old1"
printf 'old2\n' > "$r/c/old2"
printf 'z\n' > "$r/c/old-sub/z"
printf 'first\n' > "$r/d/e.txt"
repack $L:v1 "$b" "layer 1: tree"
unpack $L:v1 "$b"; r=$b/rootfs
rm "$r/a/gone" "$r/d/e.txt"      # file whiteouts
rm -r "$r/b/sub"                 # directory whiteout
repack $L:v1 "$b" "layer 2: delete file, delete dir"
unpack $L:v1 "$b"; r=$b/rootfs
printf 'second\n' > "$r/d/e.txt"          # re-create deleted file
printf 'now a file\n' > "$r/b/sub"        # re-create deleted dir as a file
repack $L:v1 "$b" "layer 3: re-create after delete"
t=$WORK/tree; rm -rf "$t"; mkdir -p "$t/c"
: > "$t/c/.wh..wh..opq"
printf 'new\n' > "$t/c/new"
raw_layer $L:v1 "$t" "layer 4: opaque c/"
rm -rf "$t"
umoci config --image $L:v1 --author "$AUTHOR" --created "$C0" \
    --history.created "$C0" --history.author "$AUTHOR" \
    --history.created_by "umoci config" --history.comment "runtime config"
umoci gc --layout $L

# ================================================================ 6. multi
build_arch() { # LAYOUT ARCH SEED MOTD
    local L=$1 r
    new_image "$L" "$2"
    unpack "$L:$2" "$b"; r=$b/rootfs
    os_release "$r"
    printf '%s\n' "$2" > "$r/etc/arch"
    printf '%s\n' "$4" > "$r/etc/motd"
    mkdir -p "$r/usr/bin"
    randbytes "$3" 768 > "$r/usr/bin/tool"; chmod 0755 "$r/usr/bin/tool"
    repack "$L:$2" "$b" "layer 1: $2 tree"
    umoci config --image "$L:$2" --author "$AUTHOR" --created "$C0" \
        --architecture "$2" --os linux --config.cmd /usr/bin/tool \
        --history.created "$C0" --history.author "$AUTHOR" \
        --history.created_by "umoci config" --history.comment "runtime config"
}
build_multi() { # LAYOUT ARM64_MOTD ORDER
    build_arch "$1" amd64 11 "hello from amd64"
    build_arch "$1" arm64 12 "$2"
    umoci gc --layout "$1"
    umoci stat --image "$1:amd64" > /dev/null
    umoci stat --image "$1:arm64" > /dev/null
    fsdump "$1:amd64" "${1//\//_}@linux-amd64"
    fsdump "$1:arm64" "${1//\//_}@linux-arm64-v8"
    $TOOL multi-index "$1" "$3"
    umoci gc --layout "$1"      # must keep the attestation blobs
}
build_multi oci/multi "hello from arm64" amd64,arm64,att
build_multi oci/multi-reordered "hello from ARM64" arm64,att,amd64
$TOOL nest oci/multi oci/multi-nested v1

# ================================================================ 4. skopeo
skopeo copy -q oci:oci/base:v1 oci-archive:archives/base.oci-archive.tar:v1
skopeo copy -q oci:oci/base:v1 docker-archive:archives/base.docker-archive.tar:example/base:v1
skopeo copy -q --dest-compress-format zstd oci:oci/base:v1 oci:oci/base-zstd:v1
# skopeo's dir: transport (what `podman save --format docker-dir` writes), as OCI and
# as Docker schema 2.
skopeo copy -q oci:oci/base:v1 dir:dir/base
skopeo copy -q --format v2s2 oci:oci/base:v1 dir:dir/base-v2s2
gzip -n -9 -c archives/base.oci-archive.tar > archives/base.oci-archive.tar.gz

# ================================================================ 5. docker save shapes
$TOOL docker-legacy oci/base v1 example/base:v1 archives/base.docker-legacy.tar
$TOOL docker25      oci/base v1 example/base:v1 archives/base.docker25.tar

# ================================================================ checks
echo "== layouts"
for L in oci/*; do
    $TOOL check-layout "$L"
done
for L in base changed squash-2 squash-3 whiteouts base-zstd; do
    umoci stat --image "oci/$L:v1" > /dev/null
    skopeo inspect "oci:oci/$L:v1" > "$WORK/inspect.json"
    skopeo inspect --raw "oci:oci/$L:v1" > /dev/null
done
# multi-nested: the whole list through skopeo (copy --all re-verifies every blob)
skopeo inspect --raw oci:oci/multi-nested:v1 | cmp - oci/multi/index.json
for a in amd64 arm64; do
    skopeo inspect --override-arch $a --override-os linux oci:oci/multi-nested:v1 \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["Architecture"]==sys.argv[1], d' $a
done
rm -rf "$WORK/copy"
skopeo copy -q --all --preserve-digests oci:oci/multi-nested:v1 "oci:$WORK/copy:v1"

echo "== archives"
skopeo inspect oci-archive:archives/base.oci-archive.tar > "$WORK/i-ociarchive.json"
for a in docker-archive docker-legacy docker25; do
    skopeo inspect "docker-archive:archives/base.$a.tar" > "$WORK/i-$a.json"
done
skopeo inspect oci-archive:archives/base.docker25.tar > "$WORK/i-docker25-as-oci.json"
skopeo inspect "oci:oci/base:v1" > "$WORK/i-base.json"
python3 - "$WORK" <<'EOF'
import json, sys, os
w = sys.argv[1]
ref = json.load(open(os.path.join(w, "i-base.json")))
for n in ("ociarchive", "docker-archive", "docker-legacy", "docker25", "docker25-as-oci"):
    d = json.load(open(os.path.join(w, "i-%s.json" % n)))
    for k in ("Created", "Architecture", "Os", "Env", "Labels"):
        assert d[k] == ref[k], (n, k, d[k], ref[k])
    print("skopeo inspect %-16s OK: Created/Architecture/Os/Env/Labels equal to oci/base:v1, %d layers"
          % (n, len(d["Layers"])))
EOF
# every archive unpacks to the same filesystem as oci/base:v1 (copy back into
# an OCI layout with skopeo, then umoci unpack)
fsdump oci/base:v1 "oci_base@v1"
fsdump oci/changed:v1 "oci_changed@v1"
for src in oci-archive:archives/base.oci-archive.tar \
           docker-archive:archives/base.docker-archive.tar \
           docker-archive:archives/base.docker-legacy.tar \
           docker-archive:archives/base.docker25.tar \
           oci-archive:archives/base.docker25.tar \
           oci:oci/base-zstd:v1; do
    rm -rf "$WORK/rt"
    # umoci 0.4.7 cannot unpack +zstd layers ("blob is not correct
    # mediatype"): let skopeo recompress those to gzip on the way
    case $src in *zstd*) fmt=(--dest-compress-format gzip) ;; *) fmt=() ;; esac
    skopeo copy -q "${fmt[@]}" "$src" "oci:$WORK/rt:v1"
    unpack "$WORK/rt:v1" "$WORK/rtb"
    $TOOL treedump "$WORK/rtb/rootfs" | cmp - "$FS/oci_base@v1"
    echo "round trip $src -> skopeo copy -> umoci unpack: same tree as oci/base:v1"
    rm -rf "$WORK/rt" "$WORK/rtb"
done

echo "== squash"
fsdump oci/squash-2:v1 "oci_squash-2@v1"
fsdump oci/squash-3:v1 "oci_squash-3@v1"
cmp "$FS/oci_squash-2@v1" "$FS/oci_squash-3@v1"
unpack oci/squash-2:v1 "$WORK/s2"; unpack oci/squash-3:v1 "$WORK/s3"
diff -r --no-dereference "$WORK/s2/rootfs" "$WORK/s3/rootfs"
rm -rf "$WORK/s2" "$WORK/s3"
echo "squash-2 and squash-3 unpack to identical trees (diff -r, and type/mode/uid/gid/size/sha256/link/xattrs/mtime)"

echo "== whiteouts"
fsdump oci/whiteouts:v1 "oci_whiteouts@v1"
python3 - "$FS/oci_whiteouts@v1" <<'EOF'
import sys
paths = [l.split("  ")[0] for l in open(sys.argv[1])]
want = [".", "a/", "a/keep", "b/", "b/sub", "c/", "c/new", "d/", "d/e.txt"]
assert paths == want, paths
assert " f " in [l for l in open(sys.argv[1]) if l.startswith("b/sub ")][0]
print("whiteouts final tree:", " ".join(paths))
EOF

echo "== base vs changed"
unpack oci/base:v1 "$WORK/bb"; unpack oci/changed:v1 "$WORK/cb"
set +e
diff -r --no-dereference "$WORK/bb/rootfs" "$WORK/cb/rootfs" > "$WORK/base-changed.diff"
rc=$?
set -e
[ $rc = 1 ] && [ "$(grep -c '^diff\|^Only' "$WORK/base-changed.diff")" = 1 ] \
    && grep -q '^diff -r --no-dereference .*/etc/hostname ' "$WORK/base-changed.diff"
diff "$FS/oci_base@v1" "$FS/oci_changed@v1" > "$WORK/base-changed.tree" || true
rm -rf "$WORK/bb" "$WORK/cb"
python3 - "$OUT" > "$FS/_extra.md" <<'EOF'
import json, os, sys, subprocess
out = sys.argv[1]
def blob(L, d): return open(os.path.join(out, L, "blobs", *d.split(":")), "rb").read()
def parts(L):
    idx = json.load(open(os.path.join(out, L, "index.json")))
    md = idx["manifests"][0]["digest"]
    man = json.loads(blob(L, md))
    return md, man, json.loads(blob(L, man["config"]["digest"]))
bm, bman, bcfg = parts("oci/base"); cm, cman, ccfg = parts("oci/changed")
sys.path.insert(0, out)
import imgtool
w = sys.stdout.write
w("## base vs changed (generated)\n\n")
w("Manifest: `%s` -> `%s`\n\n```\n" % (bm, cm))
for l in imgtool.jsondiff(bman, cman): w(l + "\n")
w("```\n\nConfig (`%s` -> `%s`):\n\n```\n" % (bman["config"]["digest"], cman["config"]["digest"]))
for l in imgtool.jsondiff(bcfg, ccfg): w(l + "\n")
w("```\n\n")
for i, (a, b) in enumerate(zip(bman["layers"], cman["layers"])):
    w("Layer %d: %s\n\n" % (i, "IDENTICAL blob `%s`" % a["digest"] if a == b else
                              "`%s` -> `%s`" % (a["digest"], b["digest"])))
EOF
{
    echo "Squashed (final filesystem treedump, \`diff\` base -> changed):"
    echo; echo '```'; cat "$WORK/base-changed.tree"; echo '```'; echo
} >> "$FS/_extra.md"

echo "== README"
$TOOL describe "$OUT" "$FS" > "$WORK/generated.md"
$TOOL readme-update "$OUT/README.md" "$WORK/generated.md"
du -sh "$OUT"
echo "make-images.sh: OK"
