#!/usr/bin/env bash
# Regenerate the package database fixtures (testdata/packages/*.tar): rootFS trees
# whose packages differ, with their databases written by the package managers
# themselves where this machine has them. See README.md beside this script.
#
#   dpkg:   dpkg-deb --build makes the .deb files, dpkg --root=DIR -i installs them
#           into a scratch root: var/lib/dpkg/status and info/*.list are dpkg's own.
#   pacman: the packages are tars of .PKGINFO and the files (what makepkg makes,
#           without makepkg, which refuses to run as root); pacman -U --root DIR
#           installs them: var/lib/pacman/local/*/desc and files are pacman's own,
#           but for %INSTALLDATE% (the time it ran), set to a fixed value after.
#   apk:    apk-tools is not packaged for Debian 12, so lib/apk/db/installed is
#           written here by its documented format (P: V: A: S: I: T: ... F: R: a: Z:,
#           one blank line after each package), as apk 2.x writes it.
#   rpm:    an rpm database (var/lib/rpm/rpmdb.sqlite, rpm's SQLite schema made with
#           Python's sqlite3), which rdiff finds and says it does not read.
#
# Byte-reproducible: fixed TZ/LC_ALL/umask, SOURCE_DATE_EPOCH for dpkg-deb, GNU tar
# --sort=name --mtime --owner/--group --format=gnu, so that a second run gives the same
# files (README.md lists their SHA-256; the script rewrites the list). Needs no root
# (dpkg --force-not-root, pacman --root), but runs as root too.
#
# Last run with (Debian 12 bookworm): dpkg 1.21.22, pacman 6.0.2
# (pacman-package-manager), GNU tar 1.34, Python 3.11.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC
export SOURCE_DATE_EPOCH=1700000000

OUT=$(cd "$(dirname "$0")" && pwd)
T=1700000000 # every mtime in the archives: only what the packages hold differs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rdiff-packages.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

pack() { # ROOT OUT.tar
    tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$T \
        -C "$1" -cf "$2" .
}

# ================================================================ dpkg
# deb NAME VERSION ARCH MULTIARCH INSTALLED-SIZE: a .deb from $WORK/deb/NAME-VERSION-ARCH/
# (its files already there), with a control file of these fields.
deb() {
    local name=$1 version=$2 arch=$3 ma=$4 isize=$5
    local d=$WORK/deb/$name-$version-$arch
    mkdir -p "$d/DEBIAN"
    {
        echo "Package: $name"
        echo "Version: $version"
        echo "Architecture: $arch"
        [ -n "$ma" ] && echo "Multi-Arch: $ma"
        echo "Maintainer: rdiff tests <rdiff@example.invalid>"
        echo "Installed-Size: $isize"
        echo "Section: misc"
        echo "Priority: optional"
        echo "Description: $name for rdiff's package tests"
        echo " A tiny package made by testdata/packages/make-packages.sh."
    } > "$d/DEBIAN/control"
    find "$d" -exec touch -h -d @$T {} +
    dpkg-deb --root-owner-group -Zgzip --build "$d" "$WORK/deb/${name}_${version}_$arch.deb" >/dev/null
}

file() { # PATH TEXT [MODE]: a file of a package being made
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" > "$1"
    chmod "${3:-644}" "$1"
}

# The packages, in both versions.
make_debs() {
    local p
    p=$WORK/deb/rdiff-base-1.0-all
    file "$p/etc/rdiff-release" 'NAME="rdiff test system"'
    deb rdiff-base 1.0 all "" 4
    # hello: usr/bin/hello and the docs change, NEWS is new in 1.1, bin/hello-legacy is
    # installed through the root's bin -> usr/bin symlink (merged /usr: the list says
    # /bin/hello-legacy, the file is usr/bin/hello-legacy).
    p=$WORK/deb/hello-1.0-1-amd64
    file "$p/usr/bin/hello" '#!/bin/sh
echo "hello, world"' 755
    file "$p/bin/hello-legacy" '#!/bin/sh
exec hello "$@" # 1.0' 755
    file "$p/usr/share/doc/hello/README" 'hello prints a greeting.'
    file "$p/usr/share/doc/hello/changelog" 'hello (1.0-1) unstable; urgency=low
  * Initial release.'
    deb hello 1.0-1 amd64 "" 12
    p=$WORK/deb/hello-1.1-1-amd64
    file "$p/usr/bin/hello" '#!/bin/sh
echo "hello, world!"
echo "(version 1.1)"' 755
    file "$p/bin/hello-legacy" '#!/bin/sh
exec hello "$@" # 1.1' 755
    file "$p/usr/share/doc/hello/README" 'hello prints a greeting.'
    file "$p/usr/share/doc/hello/changelog" 'hello (1.1-1) unstable; urgency=low
  * Say it louder.

hello (1.0-1) unstable; urgency=low
  * Initial release.'
    file "$p/usr/share/doc/hello/NEWS" 'Version 1.1: an exclamation mark.'
    deb hello 1.1-1 amd64 "" 16
    # libgreet1: Multi-Arch: same, so dpkg names its list libgreet1:ARCH.list; the
    # right side has the i386 one too.
    for arch in amd64 i386; do
        local triplet=x86_64-linux-gnu
        [ $arch = i386 ] && triplet=i386-linux-gnu
        p=$WORK/deb/libgreet1-2.0-1-$arch
        file "$p/usr/lib/$triplet/libgreet.so.1" "libgreet 2.0 for $arch"
        file "$p/usr/share/doc/libgreet1/copyright" 'Copyright: rdiff tests'
        deb libgreet1 2.0-1 $arch same 8
    done
    p=$WORK/deb/oldtool-0.1-1-all
    file "$p/usr/bin/oldtool" '#!/bin/sh
echo old' 755
    deb oldtool 0.1-1 all "" 4
    p=$WORK/deb/newtool-1.0-1-amd64
    file "$p/usr/bin/newtool" '#!/bin/sh
echo new' 755
    deb newtool 1.0-1 amd64 "" 4
}

dpkg_root() { # ROOT HOSTNAME DEB...: a root with these packages installed by dpkg
    local r=$1 host=$2
    shift 2
    mkdir -p "$r/usr/bin" "$r/etc" "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
    ln -s usr/bin "$r/bin"
    : > "$r/var/lib/dpkg/status"
    echo "$host" > "$r/etc/hostname"
    local dp=(dpkg "--root=$r" --force-not-root --force-script-chrootless --log=/dev/null)
    if printf '%s\n' "$@" | grep -q _i386; then
        "${dp[@]}" --add-architecture i386
    fi
    local list=()
    for d in "$@"; do list+=("$WORK/deb/$d.deb"); done
    "${dp[@]}" -i "${list[@]}" >/dev/null
    # Files dpkg keeps for itself that say nothing about the packages.
    rm -f "$r/var/lib/dpkg/lock" "$r/var/lib/dpkg/lock-frontend" "$r/var/lib/dpkg/triggers/Lock"
}

make_debs
dpkg_root "$WORK/dpkg-left" left \
    rdiff-base_1.0_all hello_1.0-1_amd64 libgreet1_2.0-1_amd64 oldtool_0.1-1_all
dpkg_root "$WORK/dpkg-right" right \
    rdiff-base_1.0_all hello_1.1-1_amd64 libgreet1_2.0-1_amd64 libgreet1_2.0-1_i386 \
    newtool_1.0-1_amd64
# The same database on both sides: a file of hello edited by hand after installing.
cp -a "$WORK/dpkg-left" "$WORK/dpkg-edited"
echo 'echo "edited by hand"' >> "$WORK/dpkg-edited/usr/bin/hello"
echo edited > "$WORK/dpkg-edited/etc/hostname"
# A status file dpkg would refuse: a line in hello's stanza that is no field.
cp -a "$WORK/dpkg-right" "$WORK/dpkg-malformed"
sed -i '/^Package: hello$/a this line is no field' "$WORK/dpkg-malformed/var/lib/dpkg/status"

# ================================================================ pacman
# pkg NAME VERSION SIZE: a pacman package from $WORK/pac/NAME-VERSION/ (files there).
pkg() {
    local name=$1 version=$2 size=$3
    local d=$WORK/pac/$name-$version
    mkdir -p "$d"
    cat > "$d/.PKGINFO" <<EOF
pkgname = $name
pkgbase = $name
pkgver = $version
pkgdesc = $name for rdiff's package tests
url = https://example.invalid/
builddate = $T
packager = rdiff tests <rdiff@example.invalid>
size = $size
arch = x86_64
license = MIT
EOF
    local members
    members=$(cd "$d" && ls -A | grep -v '^\.PKGINFO$' | tr '\n' ' ')
    # shellcheck disable=SC2086
    (cd "$d" && tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
        --mtime=@$T -czf "$WORK/pac/$name-$version-x86_64.pkg.tar.gz" .PKGINFO $members)
}

make_pkgs() {
    local p
    p=$WORK/pac/rdiff-base-1.0-1
    file "$p/etc/rdiff-release" 'NAME="rdiff test system"'
    pkg rdiff-base 1.0-1 4096
    p=$WORK/pac/hello-1.0-1
    file "$p/usr/bin/hello" '#!/bin/sh
echo "hello, world"' 755
    file "$p/usr/share/doc/hello/README" 'hello prints a greeting.'
    pkg hello 1.0-1 12288
    p=$WORK/pac/hello-1.1-1
    file "$p/usr/bin/hello" '#!/bin/sh
echo "hello, world!"' 755
    file "$p/usr/share/doc/hello/README" 'hello prints a greeting, louder.'
    pkg hello 1.1-1 16384
    p=$WORK/pac/oldtool-0.1-1
    file "$p/usr/bin/oldtool" '#!/bin/sh
echo old' 755
    pkg oldtool 0.1-1 4096
    p=$WORK/pac/newtool-1.0-1
    file "$p/usr/bin/newtool" '#!/bin/sh
echo new' 755
    pkg newtool 1.0-1 4096
}

pacman_root() { # ROOT HOSTNAME PKG...
    local r=$1 host=$2
    shift 2
    mkdir -p "$r/etc" "$r/var/lib/pacman"
    echo "$host" > "$r/etc/hostname"
    printf '[options]\nArchitecture = x86_64\nSigLevel = Never\nLocalFileSigLevel = Never\n' \
        > "$WORK/pacman.conf"
    local list=()
    for p in "$@"; do list+=("$WORK/pac/$p-x86_64.pkg.tar.gz"); done
    pacman -U --root "$r" --dbpath "$r/var/lib/pacman" --config "$WORK/pacman.conf" \
        --cachedir "$WORK/pacman-cache" --gpgdir "$WORK/pacman-gpg" --logfile /dev/null \
        --noconfirm --noscriptlet --nodeps --noprogressbar "${list[@]}" >/dev/null 2>&1
    # The time pacman ran, made fixed.
    for desc in "$r"/var/lib/pacman/local/*/desc; do
        sed -i '/^%INSTALLDATE%$/{n;s/.*/'$T'/}' "$desc"
    done
}

make_pkgs
pacman_root "$WORK/pacman-left" left rdiff-base-1.0-1 hello-1.0-1 oldtool-0.1-1
pacman_root "$WORK/pacman-right" right rdiff-base-1.0-1 hello-1.1-1 newtool-1.0-1

# ================================================================ apk
# apk_pkg NAME VERSION SIZE FILE...: one package of lib/apk/db/installed, its files
# (DIR/NAME) grouped under an F: line per directory, each file an R: line with its
# a: (owner and mode) and Z: (Q1 + base64 of the SHA-1) lines, as apk writes them.
apk_pkg() {
    local root=$1 name=$2 version=$3 size=$4
    shift 4
    echo "C:Q1$(printf '%s-%s' "$name" "$version" | sha1sum | cut -c1-27)="
    echo "P:$name"
    echo "V:$version"
    echo "A:x86_64"
    echo "S:$((size / 4))"
    echo "I:$size"
    echo "T:$name for rdiff's package tests"
    echo "U:https://example.invalid/"
    echo "L:MIT"
    echo "o:$name"
    echo "m:rdiff tests <rdiff@example.invalid>"
    echo "t:$T"
    echo "c:0000000000000000000000000000000000000000"
    local dir=""
    for f in "$@"; do
        local d=${f%/*} b=${f##*/}
        if [ "$d" != "$dir" ]; then
            echo "F:$d"
            dir=$d
        fi
        echo "R:$b"
        echo "a:0:0:$(stat -c %a "$root/$f")"
        echo "Z:Q1$(sha1sum < "$root/$f" | cut -c1-40 | xxd -r -p | base64)"
    done
    echo
}

apk_root() { # ROOT HOSTNAME MUSL-VERSION MUSL-TEXT TOOL
    local r=$1 host=$2 musl=$3 text=$4 tool=$5
    mkdir -p "$r/etc/apk" "$r/lib/apk/db"
    echo "$host" > "$r/etc/hostname"
    file "$r/lib/ld-musl-x86_64.so.1" "$text" 755
    file "$r/bin/busybox" 'busybox 1.36.1' 755
    file "$r/etc/motd" 'Welcome to the rdiff test system.'
    file "$r/usr/bin/$tool" "#!/bin/sh
echo $tool" 755
    {
        apk_pkg "$r" musl "$musl" 651264 lib/ld-musl-x86_64.so.1
        apk_pkg "$r" busybox 1.36.1-r5 946176 bin/busybox etc/motd
        case $tool in
            wget) apk_pkg "$r" wget 1.21.4-r0 483328 usr/bin/wget ;;
            curl) apk_pkg "$r" curl 8.5.0-r0 339968 usr/bin/curl ;;
        esac
    } > "$r/lib/apk/db/installed"
    echo x86_64 > "$r/etc/apk/arch"
}

apk_root "$WORK/apk-left" left 1.2.4-r1 'musl 1.2.4-r1' wget
apk_root "$WORK/apk-right" right 1.2.4-r2 'musl 1.2.4-r2' curl

# ================================================================ rpm
# A tree with an rpm database (SQLite, as rpm 4.16+ writes it: a Packages table of
# header blobs; here one made-up blob): rdiff finds it and says it does not read it.
rpm_root() { # ROOT HOSTNAME BLOB-TEXT
    local r=$1
    mkdir -p "$r/etc" "$r/var/lib/rpm"
    echo "$2" > "$r/etc/hostname"
    python3 - "$r/var/lib/rpm/rpmdb.sqlite" "$3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
db.execute("INSERT INTO Packages (blob) VALUES (?)", (sys.argv[2].encode(),))
db.commit()
db.close()
PY
}
rpm_root "$WORK/rpm-left" left 'header of hello-1.0-1'
rpm_root "$WORK/rpm-right" right 'header of hello-1.1-1'

# ================================================================ pack
rm -f "$OUT"/*.tar
for t in dpkg-left dpkg-right dpkg-edited dpkg-malformed pacman-left pacman-right \
    apk-left apk-right rpm-left rpm-right; do
    pack "$WORK/$t" "$OUT/$t.tar"
done

# ================================================================ checks
has() { # FILE PATTERN: in the tar listing
    tar -tvf "$OUT/$1" > "$WORK/list"
    grep -q -- "$2" "$WORK/list" || { echo "make-packages.sh: $1: no $2" >&2; exit 1; }
}
holds() { # FILE TEXT: in the archive's bytes
    grep -q -a -F -- "$2" "$OUT/$1" || { echo "make-packages.sh: $1: no $2" >&2; exit 1; }
}
has dpkg-left.tar ' ./var/lib/dpkg/info/hello.list$'
has dpkg-left.tar ' ./var/lib/dpkg/info/libgreet1:amd64.list$'
has dpkg-right.tar ' ./var/lib/dpkg/info/libgreet1:i386.list$'
has dpkg-right.tar ' ./usr/bin/hello-legacy$'
holds dpkg-left.tar '/bin/hello-legacy'
holds dpkg-right.tar 'Version: 1.1-1'
holds dpkg-malformed.tar 'this line is no field'
has pacman-left.tar ' ./var/lib/pacman/local/hello-1.0-1/desc$'
has pacman-right.tar ' ./var/lib/pacman/local/hello-1.1-1/files$'
has apk-left.tar ' ./lib/apk/db/installed$'
has rpm-left.tar ' ./var/lib/rpm/rpmdb.sqlite$'

# The list in README.md.
{
    sed '/^<!-- GENERATED -->$/q' "$OUT/README.md"
    echo
    echo '```'
    (cd "$OUT" && sha256sum ./*.tar)
    echo '```'
} > "$WORK/README.md"
mv "$WORK/README.md" "$OUT/README.md"
echo "make-packages.sh: wrote $(ls "$OUT"/*.tar | wc -l) archives to $OUT"
