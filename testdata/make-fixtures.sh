#!/usr/bin/env bash
# Regenerate every fixture under testdata/ from scratch, using REAL tools.
#
# Must run as root (setcap, mknod, security.* xattrs). Trees are built in a
# mktemp dir (needs user.* xattrs + POSIX ACLs; falls back to
# testdata/../../tmp-fixtures if $TMPDIR/tmp cannot do that) and removed at exit.
#
# Last run with (Debian 12 bookworm, kernel 6.18, ext4):
#   GNU tar            1.34   (Debian 1.34+dfsg-1.2+deb12u1)
#   bsdtar             3.6.2  (libarchive 3.6.2, libarchive-tools 3.6.2-1+deb12u5)
#   zstd               1.5.4  (1.5.4+dfsg2-5)
#   xz (XZ Utils)      5.4.1
#   gzip               1.12
#   bzip2              1.0.8
#   python3            3.11.7 (tarfile, random)
#   setcap/getcap      libcap2-bin 1:2.66-4+deb12u2+b2
#   setfacl/getfacl    acl 2.3.1
#   setfattr/getfattr  attr 2.5.1
#   coreutils          9.1 (touch, mknod, mkfifo, ln, truncate)
#   util-linux unshare (only to give tar PID 1 so "%p" in GNU tar's
#                      GNUSparseFile.%p name is deterministic)
#
# Determinism: fixed umask/LC_ALL/TZ, mtimes via touch -h -d @EPOCH (re-applied
# right before every pack, because reading a file under relatime bumps its
# atime), --sort=name, fixed owners, gzip -n, seeded random data.
# NOT deterministic (tool limitation, documented in FIXTURES.md):
#   * rootfs/*.tar*, formats/posix-default.tar, formats/bsdtar-pax.tar: GNU
#     tar's posix format (and bsdtar's full pax) record the inode ctime
#     (cannot be set from user space), and hardlink members get the atime of
#     the moment tar read the link target -- kept on purpose because that is
#     exactly what Arch's command produces. Re-paste the dumps in
#     FIXTURES.md after regenerating (only ctime/those atimes change).
#   * SCHILY.acl.* text: GNU tar/libarchive resolve uid/gid to NAMES of the
#     generating host (here uid 1000 = "cloudsdk", gid 100 = "users").
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

if [ "$(id -u)" != 0 ]; then
    echo "make-fixtures.sh: must run as root" >&2
    exit 1
fi

OUT=$(cd "$(dirname "$0")" && pwd)
T0=1700000000
T1=1710000000

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rdiff-fixtures.XXXXXX")
if ! { touch "$WORK/.probe" && setfattr -n user.probe -v 1 "$WORK/.probe" \
        && setfacl -m u:1000:r "$WORK/.probe"; } 2>/dev/null; then
    rm -rf "$WORK"
    mkdir -p "$OUT/../../tmp-fixtures"
    WORK=$(mktemp -d "$OUT/../../tmp-fixtures/rdiff-fixtures.XXXXXX")
fi
rm -f "$WORK/.probe"
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- helpers
randbytes() { # SEED NBYTES -> stdout
    python3 -c 'import sys, random
sys.stdout.buffer.write(random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2])))' "$1" "$2"
}

stamp() { # ROOT EPOCH : set atime+mtime of everything (no symlink follow)
    find "$1" -exec touch -h -d "@$2" {} +
}

# run a command as PID 1 of a fresh pid namespace if possible (GNU tar puts
# its PID into some member names, e.g. GNUSparseFile.%p)
as_pid1() {
    if unshare --pid --fork true 2>/dev/null; then
        unshare --pid --fork "$@"
    else
        "$@"
    fi
}

# ================================================================ rootfs
build_rootfs() { # ROOT
    local r=$1
    mkdir -p "$r"
    (
        cd "$r"
        mkdir -p etc usr/bin usr/lib usr/share/doc var/log run dev opt/acl

        printf 'repro-left\n' > etc/hostname
        cat > etc/os-release <<'EOF'
NAME="Repro Linux"
PRETTY_NAME="Repro Linux"
ID=repro
BUILD_ID=rolling
ANSI_COLOR="38;2;23;147;209"
HOME_URL="https://example.invalid/"
DOCUMENTATION_URL="https://example.invalid/docs"
LOGO=repro-logo
EOF
        cat > etc/passwd <<'EOF'
root:x:0:0::/root:/bin/bash
bin:x:1:1::/:/usr/bin/nologin
daemon:x:2:2::/:/usr/bin/nologin
mail:x:8:12::/var/spool/mail:/usr/bin/nologin
nobody:x:65534:65534:Kernel Overflow User:/:/usr/bin/nologin
EOF
        chmod 0644 etc/passwd

        randbytes 42 102400 > usr/bin/ping
        chmod 0755 usr/bin/ping
        ln usr/bin/ping usr/bin/ping6

        randbytes 1 2048 > usr/lib/libx.so.1
        chmod 0755 usr/lib/libx.so.1
        ln -s libx.so.1 usr/lib/libx.so

        python3 -c 'import sys
sys.stdout.write("".join("line %04d lorem ipsum\n" % i for i in range(1, 3001)))' \
            > usr/share/doc/big.txt
        python3 -c 'import sys
sys.stdout.write("".join("2023-11-14 22:13:%02d status installed pkg%02d:amd64 1.0-%d\n"
                         % (i, i, i) for i in range(1, 21)))' > var/log/dpkg.log

        printf 'this file carries user.comment\n' > usr/share/doc/comment.txt
        setfattr -n user.comment -v hello usr/share/doc/comment.txt

        mkfifo -m 0600 run/initctl
        mknod -m 0666 dev/null c 1 3
        mknod -m 0660 dev/loop0 b 7 0

        printf 'caf\xe9 (latin-1 file name)\n' > "usr/share/doc/caf"$'\xe9'".txt"
        printf 'only in left\n' > usr/share/doc/removed.txt

        setfacl -m u:1000:rx opt/acl
        setfacl -d -m g:100:r opt/acl

        # last: any later write to the inode would drop security.capability
        setcap cap_net_raw+ep usr/bin/ping
    )
}

mutate_right() { # ROOT
    local r=$1
    (
        cd "$r"
        printf 'repro-right\n' > etc/hostname
        python3 - <<'EOF'
p = "var/log/dpkg.log"
lines = open(p).read().splitlines(True)
lines[4] = lines[4].replace("status installed", "status half-configured")   # line 5
lines[14] = lines[14].replace("status installed", "status unpacked")        # line 15
open(p, "w").write("".join(lines))

p = "usr/share/doc/big.txt"
lines = open(p).read().splitlines(True)
assert lines[1499] == "line 1500 lorem ipsum\n" and lines[2499] == "line 2500 lorem ipsum\n"
lines[1499] = "line 1500 LOREM IPSUM\n"   # same length -> same size
lines[2499] = "line 2500 changed!!!!\n"   # same length -> same size
open(p, "w").write("".join(lines))

p = "usr/bin/ping"
with open(p, "r+b") as f:
    f.seek(70000)
    b = f.read(1)[0]
    f.seek(70000)
    f.write(bytes([b ^ 0xFF]))
EOF
        # the write above cleared security.capability; set the new one
        setcap cap_net_raw,cap_net_admin+ep usr/bin/ping

        randbytes 2 2048 > usr/lib/libx.so.2
        chmod 0755 usr/lib/libx.so.2
        ln -sfn libx.so.2 usr/lib/libx.so

        setfattr -n user.comment -v world usr/share/doc/comment.txt
        # -n: do not recompute the mask, so only the ACL entry changes
        # (mode stays 0755, mask stays r-x)
        setfacl -n -m u:1000:rwx opt/acl
        chmod 0600 etc/passwd

        rm usr/share/doc/removed.txt
        printf 'only in right\n' > usr/share/doc/added.txt
    )
}

arch_pack() { # ROOT OUT.tar.zst  -- exactly Arch's repro rootFS command
    tar --numeric-owner --xattrs --acls --sort=name -C "$1" -cf - . | zstd --long -T0 -8 > "$2"
}

mkdir -p "$OUT/rootfs"
rm -f "$OUT"/rootfs/*

build_rootfs "$WORK/left"
stamp "$WORK/left" $T0

build_rootfs "$WORK/right"
mutate_right "$WORK/right"
stamp "$WORK/right" $T0
touch -d @$T1 "$WORK/right/etc/os-release" "$WORK/right/var/log/dpkg.log"

arch_pack "$WORK/left" "$OUT/rootfs/left.tar.zst"
arch_pack "$WORK/right" "$OUT/rootfs/right.tar.zst"
zstd -q -dc "$OUT/rootfs/left.tar.zst" > "$OUT/rootfs/left.tar"
gzip -n -c "$OUT/rootfs/left.tar" > "$OUT/rootfs/left.tar.gz"

# ================================================================ formats
F="$WORK/fmt"
LONGDIR=long-directory-name-padded-to-sixty-characters-xxxxxxxxxxxxx
LONGFILE=long-file-name-padded-to-ninety-characters-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy.txt
[ ${#LONGDIR} = 60 ] && [ ${#LONGFILE} = 90 ] || { echo "bad long names" >&2; exit 1; }

build_formats() { # ROOT
    local r=$1
    mkdir -p "$r"
    (
        cd "$r"
        printf 'regular file\n' > file.txt
        ln file.txt hardlink.txt
        mkdir empty-dir
        mkfifo fifo
        printf 'nanosecond mtime\n' > nsec.txt
        printf 'has user.k=v\n' > xattr.txt
        setfattr -n user.k -v v xattr.txt
        randbytes 7 64 > cap.bin
        chmod 0755 cap.bin
        # permitted/effective = cap_dac_override(1)|cap_fowner(3)|cap_net_raw(13)
        # -> permitted word 0x0000200a, whose first byte is 0x0a (a newline)
        setcap cap_dac_override,cap_fowner,cap_net_raw+ep cap.bin
        mkdir "$LONGDIR"
        printf 'long name\n' > "$LONGDIR/$LONGFILE"
        ln -s "$LONGDIR/$LONGFILE" long-symlink
        ln -s file.txt short-symlink
        mkdir acl-dir
        setfacl -m u:4711:rwx acl-dir   # uid 4711 has no name -> numeric in ACL text
        mkdir acl-named                 # uid 1000 / gid 100 resolve to names on the host
        setfacl -m u:1000:rx acl-named
        setfacl -d -m g:100:r acl-named
    )
}

stamp_formats() {
    stamp "$F" $T0
    touch -d @1700000000.123456789 "$F/nsec.txt"
}

build_formats "$F"
mkdir -p "$OUT/formats"
rm -f "$OUT"/formats/*
GOWN=(--owner=root:0 --group=root:0)

stamp_formats
tar --format=gnu "${GOWN[@]}" --sort=name -C "$F" -cf "$OUT/formats/gnu.tar" .

# ustar cannot hold a >100 byte link target: GNU tar says
# "long-symlink: link name is too long; not dumped" and exits 2, so the
# ustar variant of the tree leaves that one symlink out.
stamp_formats
tar --format=ustar "${GOWN[@]}" --sort=name --exclude=./long-symlink \
    -C "$F" -cf "$OUT/formats/ustar.tar" .

# pax: atime/ctime records deleted for determinism (see posix-default.tar for
# the undeleted variant)
stamp_formats
tar --format=pax --xattrs --acls "${GOWN[@]}" --sort=name \
    --pax-option=delete=atime,delete=ctime -C "$F" -cf "$OUT/formats/pax.tar" .

# what Arch gets: no --format (GNU tar switches gnu -> posix because of
# --xattrs/--acls); same flags as the rootfs command
stamp_formats
tar --numeric-owner --xattrs --acls --sort=name -C "$F" -cf "$OUT/formats/posix-default.tar" .

# bsdtar has no --sort: feed a C-sorted name list with -n (no recursion)
stamp_formats
(cd "$F" && find . | sort) > "$WORK/bsd.list"
stamp_formats
bsdtar --xattrs --acls --uid 0 --gid 0 --uname root --gname root -n \
    -C "$F" -cf "$OUT/formats/bsdtar.tar" -T "$WORK/bsd.list"

# bsdtar full pax (not the default "restricted pax"): writes atime/ctime/mtime
# with sub-second precision for every member -> NOT byte-deterministic (ctime)
stamp_formats
bsdtar --format=pax --xattrs --acls --uid 0 --gid 0 --uname root --gname root -n \
    -C "$F" -cf "$OUT/formats/bsdtar-pax.tar" -T "$WORK/bsd.list"

# python tarfile, PAX_FORMAT, global header + crafted per-member xattrs
stamp_formats
python3 - "$F" "$OUT/formats/python.tar" <<'EOF'
import os, sys, tarfile
root, out = sys.argv[1], sys.argv[2]
# v2 vfs_cap_data: magic_etc=0x02000001 (VFS_CAP_REVISION_2|EFFECTIVE),
# permitted[0]=0x0000200a (cap_dac_override|cap_fowner|cap_net_raw),
# inheritable[0]=0, permitted[1]=0, inheritable[1]=0  (little endian)
CAP = bytes.fromhex("01000002" "0a200000" "00000000" "00000000" "00000000")
assert b"\n" in CAP
assert os.getxattr(os.path.join(root, "cap.bin"), "security.capability") == CAP
names = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        names.append(os.path.relpath(os.path.join(d, n), root))
names.sort()
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT,
                  pax_headers={"comment": "fixture"}) as tf:
    for rel in ["."] + names:
        ti = tf.gettarinfo(os.path.join(root, rel), arcname=rel)
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        if rel == "nsec.txt":
            ti.mtime = 1700000000.123456789
            ti.pax_headers["mtime"] = "1700000000.123456789"
        if rel == "cap.bin":
            # str with only code points < 0x80 -> UTF-8 bytes == CAP bytes
            ti.pax_headers["SCHILY.xattr.security.capability"] = CAP.decode("ascii")
        if rel == "xattr.txt":
            ti.pax_headers["SCHILY.xattr.user.k"] = "v"
        if ti.isreg():
            with open(os.path.join(root, rel), "rb") as f:
                tf.addfile(ti, f)
        else:
            tf.addfile(ti)
EOF

# pax global header in the middle of the archive
python3 - "$OUT/formats/global-mid.tar" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
def reg(name, data, mtime=1700000000, pax=None):
    ti = tarfile.TarInfo(name)
    ti.size = len(data); ti.mtime = mtime; ti.mode = 0o644
    ti.uid = ti.gid = 0; ti.uname = ti.gname = ""
    if pax:
        ti.pax_headers = dict(pax)
    return ti, io.BytesIO(data)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
    tf.addfile(*reg("before.txt", b"before the global header\n"))
    recs = b""
    for k, v in (("uid", "4242"), ("mtime", "1600000000")):
        body = " %s=%s\n" % (k, v)
        n = len(body) + 1
        while len(str(n)) + len(body) != n:
            n += 1
        recs += (str(n) + body).encode()
    g = tarfile.TarInfo("pax_global_header")
    g.type = tarfile.XGLTYPE
    g.size = len(recs); g.mtime = 0; g.mode = 0o644
    g.uname = g.gname = ""
    tf.addfile(g, io.BytesIO(recs))
    tf.addfile(*reg("after-1.txt", b"after: inherits uid/mtime from the global header\n"))
    tf.addfile(*reg("after-2.txt", b"after: own x header overrides uid\n", pax={"uid": "7"}))
EOF

# sparse: 1 MiB, data only at [0,4096) and [512KiB, 512KiB+4096)
S="$WORK/sparse"
mkdir -p "$S"
randbytes 11 4096 > "$S/sparse.bin"
truncate -s 524288 "$S/sparse.bin"
randbytes 12 4096 >> "$S/sparse.bin"
truncate -s 1048576 "$S/sparse.bin"
stamp "$S" $T0
tar --format=gnu --sparse "${GOWN[@]}" --sort=name -C "$S" -cf "$OUT/formats/sparse-gnu.tar" sparse.bin
stamp "$S" $T0
as_pid1 tar --format=pax --sparse --sparse-version=1.0 "${GOWN[@]}" --sort=name \
    --pax-option=delete=atime,delete=ctime -C "$S" -cf "$OUT/formats/sparse-pax.tar" sparse.bin

# same path twice (GNU tar --append): the later member wins on extraction
D="$WORK/dup"
mkdir -p "$D"
printf 'first version\n' > "$D/dup.txt"
printf 'unrelated\n' > "$D/other.txt"
stamp "$D" $T0
tar --format=gnu "${GOWN[@]}" --sort=name -C "$D" -cf "$OUT/formats/dup.tar" dup.txt other.txt
printf 'second version, longer\n' > "$D/dup.txt"
touch -d @$T1 "$D/dup.txt"
tar --format=gnu "${GOWN[@]}" -C "$D" -rf "$OUT/formats/dup.tar" dup.txt

# ================================================================ compress
C="$OUT/compress"
mkdir -p "$C"
rm -f "$C"/*
SRC="$OUT/formats/pax.tar"
gzip -n -c "$SRC" > "$C/pax.tar.gz"
xz -c "$SRC" > "$C/pax.tar.xz"
bzip2 -c "$SRC" > "$C/pax.tar.bz2"
zstd -q -c "$SRC" > "$C/pax.tar.zst"
# from stdin: size unknown, so the frame header keeps the full 2^27 window
# (= what Arch's `zstd --long` produces); from a file zstd would shrink the
# window to the input size (20 KiB)
cat "$SRC" | zstd -q --long=27 -c > "$C/long27.tar.zst"
cat "$SRC" | zstd -q --long=31 -c > "$C/long31.tar.zst"
SZ=$(stat -c %s "$SRC")
HALF=$((SZ / 2))
head -c $HALF "$SRC" > "$WORK/part1"
tail -c +$((HALF + 1)) "$SRC" > "$WORK/part2"
{ gzip -n -c "$WORK/part1"; gzip -n -c "$WORK/part2"; } > "$C/multi.tar.gz"
{ zstd -q -c "$WORK/part1"; zstd -q -c "$WORK/part2"; } > "$C/multi.tar.zst"
zstd -q -c "$SRC" > "$C/zstd-named.tar.gz"

# ================================================================ checks
fail=0
for t in "$OUT"/rootfs/*.tar* "$OUT"/formats/*.tar "$C"/*; do
    case $t in
        */long31.tar.zst) tar --use-compress-program='zstd -d --long=31' -tvf "$t" > /dev/null ;;
        */zstd-named.tar.gz) tar --zstd -tvf "$t" > /dev/null ;;
        *) tar -tvf "$t" > /dev/null ;;
    esac || { echo "tar -tvf FAILED: $t" >&2; fail=1; }
done
for t in "$OUT"/formats/*.tar; do
    bsdtar -tvf "$t" > /dev/null || { echo "bsdtar -tvf FAILED: $t" >&2; fail=1; }
done
cmp -s <(zstd -q -dc "$C/multi.tar.zst") "$SRC" || { echo "multi.tar.zst mismatch" >&2; fail=1; }
cmp -s <(gzip -dc "$C/multi.tar.gz") "$SRC" || { echo "multi.tar.gz mismatch" >&2; fail=1; }
cmp -s <(gzip -dc "$OUT/rootfs/left.tar.gz") "$OUT/rootfs/left.tar" || { echo "left.tar.gz mismatch" >&2; fail=1; }
if zstd -q -dc "$C/long31.tar.zst" > /dev/null 2>&1; then
    echo "long31.tar.zst decoded WITHOUT --long=31 (expected a window error)" >&2; fail=1
fi
cmp -s <(zstd -q -dc --long=31 "$C/long31.tar.zst") "$SRC" || { echo "long31 mismatch" >&2; fail=1; }
# sparse members must expand to the original 1 MiB file
for t in sparse-gnu sparse-pax; do
    mkdir "$WORK/x-$t"
    tar -xf "$OUT/formats/$t.tar" -C "$WORK/x-$t"
    cmp -s "$WORK/x-$t/sparse.bin" "$S/sparse.bin" || { echo "$t extract mismatch" >&2; fail=1; }
done
# dup.tar: extraction keeps the last copy
mkdir "$WORK/x-dup"
tar -xf "$OUT/formats/dup.tar" -C "$WORK/x-dup"
[ "$(cat "$WORK/x-dup/dup.txt")" = "second version, longer" ] || { echo "dup.tar: last member did not win" >&2; fail=1; }
# right ping differs from left ping in exactly one byte, at offset 70000
python3 - "$WORK/left/usr/bin/ping" "$WORK/right/usr/bin/ping" <<'PYEOF' || fail=1
import sys
a, b = (open(p, "rb").read() for p in sys.argv[1:])
d = [i for i in range(len(a)) if a[i] != b[i]]
assert len(a) == len(b) == 102400 and d == [70000], d
PYEOF
[ $fail = 0 ] || exit 1
du -sh "$OUT"
echo "fixtures regenerated OK"
