#!/usr/bin/env bash
# Regenerate testdata/nested/: pairs of rootFS tarballs whose files differ *inside*
# (nested formats), made by the real tools. See FIXTURES.md, "Nested formats".
#
#   left.tar / right.tar   one differing file per nested format:
#     usr/share/doc/pkg/changelog.gz   gzip 1.12 without -n, same text, mtimes 1700000000 / 1710000000
#     usr/share/doc/pkg/NEWS.gz        gzip -n, the text differs in one line
#     opt/app/app.jar                  zip (python zipfile), member date_time 2023-11-14 / 2024-03-09,
#                                      META-INF/MANIFEST.MF differs in one line
#     opt/app/info.zip                 Info-ZIP zip 3.0 (extended timestamp and ux fields), one member's mtime
#     opt/app/src.tar.gz               GNU tar -z: src/README differs (opened as the tar in one step)
#     opt/app/data.xz                  xz --check=crc64 / --check=crc32, same bytes inside
#     opt/app/data.zst                 zstd -3 / zstd -3 --no-check, same bytes inside
#     opt/app/data.bz2                 bzip2 -9 / bzip2 -1, same bytes inside
#     opt/app/notes.lz                 lzip -9, one line differs
#     var/cache/hello.deb              dpkg-deb --build, SOURCE_DATE_EPOCH 1700000000 / 1710000000, usr/bin/hello differs
#     opt/app/broken.gz                right: the gzip cut 10 bytes short (malformed: a note)
#     opt/app/corrupt.jar              right: the zip without its end of central directory (a note)
#     usr/bin/same-code                gcc -O2 -Wl,--build-id=0x1111... / 0x2222..., same source
#     usr/bin/tool                     gcc -O2, the string it prints differs (so does its sha1 build-id)
#     usr/lib/python3/dist-packages/mod/__pycache__/m.cpython-311.pyc
#                                      py_compile (timestamp pyc), source mtime 1700000000 / 1710000000
#   pkg-left.tar / pkg-right.tar   cpio archives (GNU cpio 2.13) and rpm packages (rpmbuild 4.18):
#     boot/initrd.img          the initramfs-tools shape: an uncompressed early cpio (same both sides)
#                              followed by a zstd-compressed main cpio whose init differs in a line
#     opt/app/root.cpio.gz     gzip -n of a newc cpio: etc/motd's mtime 1700000000 / 1710000000
#     opt/app/old.cpio         odc, files archived in name order / reverse order: member order and
#                              the inode numbers --renumber-inodes gave them differ
#     opt/app/sums.cpio        crc, a hardlink pair (data with the last link) and a symlink; the text differs
#     opt/app/cut.cpio         right: cut in the middle of a member (malformed: a note)
#     var/cache/hello.rpm      rpmbuild, payload xz: release 1 / 2, buildtime 1700000000 / 1710000000
#                              (SOURCE_DATE_EPOCH, use_source_date_epoch_as_buildtime), buildhost
#                              builder-a / builder-b, usr/bin/hello differs; a %config(noreplace)
#                              file, a hardlink, a symlink, a %ghost file
#   bomb-left.tar / bomb-right.tar
#     deep.zip     a zip in a zip ... 100 deep (python zipfile), the innermost text differs
#     bomb.zip     zeros.zst inside, 300 MB of zeros then "1\n" / "2\n" (zstd -19, stored in the zip)
#
# Deterministic: fixed TZ/LC_ALL/umask, mtimes via touch -d @EPOCH, tar --sort=name with
# fixed owners and mtime, gzip without -n only where the header is the point. gcc 12.2
# (Debian 12) and Python 3.11 write the ELF files and the pyc.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC
here=$(cd "$(dirname "$0")" && pwd)
out=$here/nested
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

T1=1700000000
T2=1710000000

pack() { # DIR OUT.tar
    find "$1" -exec touch -h -d @$T1 {} +
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$T1 --format=gnu \
        -C "$1" -cf "$2" .
}

side() { # NAME T MANIFEST-LINE README NEWS-LINE HELLO BUILD-ID
    local s=$work/$1 t=$2
    mkdir -p "$s/usr/share/doc/pkg" "$s/opt/app" "$s/var/cache" "$work/w-$1"
    local w=$work/w-$1
    printf 'pkg (1.0) unstable; urgency=low\n\n  * Initial release.\n' > "$w/changelog"
    touch -d @"$t" "$w/changelog"
    gzip -9 -c "$w/changelog" > "$s/usr/share/doc/pkg/changelog.gz"
    printf 'news\n%s\nend\n' "$5" | gzip -n -9 > "$s/usr/share/doc/pkg/NEWS.gz"
    printf 'notes\n%s\n' "$5" | lzip -9 > "$s/opt/app/notes.lz"
    python3 - "$s/opt/app/app.jar" "$t" "$3" <<'PY'
import sys, time, zipfile
path, t, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dt = time.gmtime(t)[:6]
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in [("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\n{line}\n"),
                       ("com/example/App.class", "\xca\xfe\xba\xbe class bytes\n"),
                       ("com/example/Util.class", "\xca\xfe\xba\xbe util\n")]:
        z.writestr(zipfile.ZipInfo(name, date_time=dt), data)
PY
    mkdir -p "$w/iz"
    printf 'same text\n' > "$w/iz/a.txt"
    printf 'other\n' > "$w/iz/b.txt"
    touch -d @$T1 "$w/iz/a.txt"
    touch -d @"$t" "$w/iz/b.txt"
    (cd "$w/iz" && zip -q -9 "$s/opt/app/info.zip" a.txt b.txt)
    mkdir -p "$w/src/src"
    printf '%s\n' "$4" > "$w/src/src/README"
    find "$w/src" -exec touch -h -d @$T1 {} +
    tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu -C "$w/src" -czf "$s/opt/app/src.tar.gz" src
    head -c 3000 /usr/share/common-licenses/GPL-3 > "$w/data"
    if [ "$1" = left ]; then
        xz -c --check=crc64 "$w/data" > "$s/opt/app/data.xz"
        zstd -q -3 -c "$w/data" > "$s/opt/app/data.zst"
        bzip2 -9 -c "$w/data" > "$s/opt/app/data.bz2"
    else
        xz -c --check=crc32 "$w/data" > "$s/opt/app/data.xz"
        zstd -q -3 --no-check -c "$w/data" > "$s/opt/app/data.zst"
        bzip2 -1 -c "$w/data" > "$s/opt/app/data.bz2"
    fi
    mkdir -p "$w/deb/DEBIAN" "$w/deb/usr/bin"
    printf 'Package: hello\nVersion: 1.0\nArchitecture: all\nMaintainer: rdiff <rdiff@example.org>\nDescription: a test package\n' > "$w/deb/DEBIAN/control"
    printf '#!/bin/sh\necho %s\n' "$6" > "$w/deb/usr/bin/hello"
    chmod 755 "$w/deb/usr/bin/hello"
    find "$w/deb" -exec touch -h -d @$T1 {} +
    SOURCE_DATE_EPOCH=$t dpkg-deb --root-owner-group -Zxz --build "$w/deb" "$s/var/cache/hello.deb" >/dev/null
    printf 'a broken stream\n' | gzip -n > "$s/opt/app/broken.gz"
    mkdir -p "$s/usr/bin" "$s/usr/lib/python3/dist-packages/mod/__pycache__"
    printf '#include <stdio.h>\nint main(void) { puts("same"); return 0; }\n' > "$w/same.c"
    (cd "$w" && gcc -O2 -o "$s/usr/bin/same-code" same.c -Wl,--build-id=0x$7)
    printf '#include <stdio.h>\nint main(void) { puts("%s"); return 0; }\n' "$6" > "$w/tool.c"
    (cd "$w" && gcc -O2 -o "$s/usr/bin/tool" tool.c -Wl,--build-id=sha1)
    printf 'def f():\n    return 42\n' > "$w/m.py"
    touch -d @"$t" "$w/m.py"
    python3 -c 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile="m.py", invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)' \
        "$w/m.py" "$s/usr/lib/python3/dist-packages/mod/__pycache__/m.cpython-311.pyc"
    python3 - "$s/opt/app/corrupt.jar" "$1" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr(zipfile.ZipInfo("a.txt", date_time=(2023, 11, 14, 22, 13, 20)), sys.argv[2] + "\n")
PY
}

side left $T1 "Built-By: alice" "readme" "the old line" "hello" 1111111111111111111111111111111111111111
side right $T2 "Built-By: bob" "readme, edited" "the new line" "hello, world" 2222222222222222222222222222222222222222
# The right side's broken.gz is cut short, its corrupt.jar loses its central directory end.
b=$work/right/opt/app/broken.gz
head -c $(($(stat -c %s "$b") - 10)) "$b" > "$b.cut" && mv "$b.cut" "$b"
j=$work/right/opt/app/corrupt.jar
head -c $(($(stat -c %s "$j") - 22)) "$j" > "$j.cut" && mv "$j.cut" "$j"
pack "$work/left" "$out/left.tar"
pack "$work/right" "$out/right.tar"

# cpio archives as GNU cpio writes them: reproducible (inodes renumbered, no device
# numbers), owner 0:0; the file list on standard input.
cpio_of() { # DIR FORMAT [sort options]
    local d=$1 f=$2; shift 2
    (cd "$d" && find . -mindepth 1 | sort "$@" | cpio -o --quiet -H "$f" --reproducible -R 0:0)
}

packages() { # NAME T RELEASE GREETING HOST
    local s=$work/pkg-$1 w=$work/pw-$1 t=$2
    mkdir -p "$s/boot" "$s/opt/app" "$s/var/cache" "$w"
    mkdir -p "$w/early/kernel/x86/microcode" "$w/main/bin" "$w/main/etc"
    printf 'microcode blob\n' > "$w/early/kernel/x86/microcode/GenuineIntel.bin"
    printf '#!/bin/sh\necho %s\nexec /bin/sh\n' "$4" > "$w/main/init"
    chmod 755 "$w/main/init"
    printf 'initramfs\n' > "$w/main/etc/hostname"
    ln -s ../init "$w/main/bin/start"
    find "$w/early" "$w/main" -exec touch -h -d @$T1 {} +
    { cpio_of "$w/early" newc; cpio_of "$w/main" newc | zstd -q -19 -c; } > "$s/boot/initrd.img"
    mkdir -p "$w/root/etc"
    printf 'welcome\n' > "$w/root/etc/motd"
    find "$w/root" -exec touch -h -d @$T1 {} +
    touch -d @"$t" "$w/root/etc/motd"
    cpio_of "$w/root" newc | gzip -n -9 > "$s/opt/app/root.cpio.gz"
    mkdir -p "$w/old"
    for f in a b c; do printf '%s\n' "$f" > "$w/old/$f"; done
    find "$w/old" -exec touch -h -d @$T1 {} +
    if [ "$1" = left ]; then cpio_of "$w/old" odc > "$s/opt/app/old.cpio"
    else cpio_of "$w/old" odc -r > "$s/opt/app/old.cpio"; fi
    mkdir -p "$w/sums"
    printf 'sum %s\n' "$4" > "$w/sums/data"
    ln "$w/sums/data" "$w/sums/data.link"
    ln -s data "$w/sums/latest"
    find "$w/sums" -exec touch -h -d @$T1 {} +
    cpio_of "$w/sums" crc > "$s/opt/app/sums.cpio"
    cpio_of "$w/sums" newc > "$s/opt/app/cut.cpio"
    cat > "$w/hello.spec" <<'SPEC'
Name: hello
Version: 1.0
Release: %{rel}
Summary: a test package
License: MIT
BuildArch: noarch

%description
A test package for rdiff.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/var/log
printf '#!/bin/sh\necho %s\n' "%{greeting}" > %{buildroot}/usr/bin/hello
chmod 755 %{buildroot}/usr/bin/hello
ln %{buildroot}/usr/bin/hello %{buildroot}/usr/bin/hello-again
ln -s hello %{buildroot}/usr/bin/hi
printf 'color=blue\n' > %{buildroot}/etc/hello.conf
touch %{buildroot}/var/log/hello.log

%files
/usr/bin/hello
/usr/bin/hello-again
/usr/bin/hi
%config(noreplace) /etc/hello.conf
%ghost %attr(0640,root,adm) /var/log/hello.log
SPEC
    SOURCE_DATE_EPOCH=$t rpmbuild -bb --quiet --define "_topdir $w/rpm" --define "rel $3" \
        --define "greeting $4" --define "_buildhost $5" \
        --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
        --define "_binary_payload w6.xzdio" "$w/hello.spec" >/dev/null 2>&1
    cp "$w/rpm/RPMS/noarch/hello-1.0-$3.noarch.rpm" "$s/var/cache/hello.rpm"
}

bombs() { # NAME LAST-LINE
    local s=$work/bomb-$1
    mkdir -p "$s"
    python3 - "$s/deep.zip" "$2" <<'PY'
import io, sys, zipfile
data, name = f"innermost {sys.argv[2]}\n".encode(), "note.txt"
for level in range(100):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20)), data)
    data, name = buf.getvalue(), f"level{99 - level}.zip"
open(sys.argv[1], "wb").write(data)
PY
    { head -c 300000000 /dev/zero; printf '%s\n' "$2"; } | zstd -q -19 -c > "$work/zeros.zst"
    python3 - "$s/bomb.zip" "$work/zeros.zst" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr(zipfile.ZipInfo("zeros.zst", date_time=(2023, 11, 14, 22, 13, 20)), open(sys.argv[2], "rb").read())
PY
    pack "$s" "$out/bomb-$1.tar"
}
bombs left 1
bombs right 2

packages left $T1 1 hello builder-a
packages right $T2 2 "hello, world" builder-b
c=$work/pkg-right/opt/app/cut.cpio
head -c 200 "$c" > "$c.cut" && mv "$c.cut" "$c"
pack "$work/pkg-left" "$out/pkg-left.tar"
pack "$work/pkg-right" "$out/pkg-right.tar"

# Self-checks: the tools read back what they wrote.
for s in left right; do
    tar -tf "$out/$s.tar" >/dev/null
    tar -xOf "$out/$s.tar" ./var/cache/hello.deb > "$work/h.deb" && dpkg-deb -c "$work/h.deb" >/dev/null
    tar -xOf "$out/$s.tar" ./opt/app/app.jar > "$work/a.jar" && unzip -tq "$work/a.jar" >/dev/null
done
for s in left right; do
    tar -xOf "$out/pkg-$s.tar" ./var/cache/hello.rpm > "$work/h.rpm" && rpm -qpl "$work/h.rpm" >/dev/null
    tar -xOf "$out/pkg-$s.tar" ./opt/app/sums.cpio | cpio -it --quiet >/dev/null
done
tar -xOf "$out/right.tar" ./opt/app/broken.gz | gzip -t 2>/dev/null && { echo "broken.gz is not broken" >&2; exit 1; }
ls -l "$out"
