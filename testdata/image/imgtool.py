#!/usr/bin/env python3
"""Helpers for make-images.sh (stdlib only; `zstd` binary for zstd layers).

Subcommands
  docker-legacy LAYOUT TAG REPOTAG OUT   pre-25 `docker save` shape from LAYOUT:TAG
  docker25      LAYOUT TAG REPOTAG OUT   Docker 25+ `docker save` shape (OCI layout + manifest.json)
  multi-index   LAYOUT ORDER             replace LAYOUT/index.json (tags amd64, arm64) by a
                                         platform index; ORDER = comma list of amd64,arm64,att
  nest          SRC DST REF              DST = SRC's blobs + SRC/index.json stored as a blob,
                                         DST/index.json -> that nested index (ref.name=REF)
  check-layout  LAYOUT [--allow-unreferenced]
                                         every descriptor reachable from index.json exists with
                                         the right sha256 and size; no unreferenced blobs
  treedump      ROOT                     one line per path (type, mode, owner, size, sha256 or
                                         link target, xattrs, mtime), sorted
  jsondiff      A.json B.json            differing JSON paths, one per line
  describe      OUTDIR FSDIR             markdown with all digests / layer members / archive
                                         members / final filesystems (for README.md)
  readme-update README GENERATED         replace the text between the BEGIN/END GENERATED
                                         markers of README by the file GENERATED

The docker shapes follow moby's image/tarexport/save.go (pre-25 and 25+); no
docker daemon was available, see README.md for what is and is not exact.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

T0 = 1700000000

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_INTOTO = "application/vnd.in-toto+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


# ------------------------------------------------------------------ helpers
def go_json(obj):
    """Compact JSON as Go's encoding/json writes it (HTML-escaped <, >, &)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")).encode()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def blob_path(layout, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)


def read_blob(layout, digest):
    with open(blob_path(layout, digest), "rb") as f:
        return f.read()


def write_blob(layout, data):
    d = "sha256:" + sha256(data)
    p = blob_path(layout, d)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return d, len(data)


def load_index(layout):
    with open(os.path.join(layout, "index.json"), "rb") as f:
        return json.loads(f.read())


def by_tag(layout, tag):
    for m in load_index(layout)["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m
    raise SystemExit("%s: no tag %r" % (layout, tag))


def decompress(media_type, data):
    if media_type.endswith("+gzip") or media_type.endswith(".tar.gzip"):
        return gzip.decompress(data)
    if media_type.endswith("+zstd"):
        return subprocess.run(["zstd", "-q", "-dc"], input=data, check=True,
                              stdout=subprocess.PIPE).stdout
    return data


def image_parts(layout, tag):
    """(manifest dict, config bytes, [(layer descriptor, uncompressed bytes)])"""
    desc = by_tag(layout, tag)
    man = json.loads(read_blob(layout, desc["digest"]))
    cfg = read_blob(layout, man["config"]["digest"])
    layers = [(l, decompress(l["mediaType"], read_blob(layout, l["digest"])))
              for l in man["layers"]]
    return man, cfg, layers


def chain_ids(diff_ids):
    out = []
    for d in diff_ids:
        out.append(d if not out else "sha256:" + sha256((out[-1] + " " + d).encode()))
    return out


def write_tar(path, members):
    """members: list of dict(name, type 'f'|'d'|'l', data, mtime, mode, link).
    Written in Go filepath.Walk order (depth-first, names sorted per dir),
    USTAR, uid/gid 0, empty user/group names (as moby's archive.Tar)."""
    members = sorted(members, key=lambda m: m["name"].rstrip("/").split("/"))
    with open(path, "wb") as f:
        with tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as t:
            for m in members:
                ti = tarfile.TarInfo(m["name"])
                ti.mtime = m["mtime"]
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                if m["type"] == "d":
                    ti.type = tarfile.DIRTYPE
                    ti.mode = m.get("mode", 0o755)
                    t.addfile(ti)
                elif m["type"] == "l":
                    ti.type = tarfile.SYMTYPE
                    ti.mode = m.get("mode", 0o777)
                    ti.linkname = m["link"]
                    t.addfile(ti)
                else:
                    ti.mode = m.get("mode", 0o644)
                    ti.size = len(m["data"])
                    t.addfile(ti, io.BytesIO(m["data"]))


# moby api/types/container.Config zero value, as json.Marshal writes it
EMPTY_CONTAINER_CONFIG = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
    "AttachStdout": False, "AttachStderr": False, "Tty": False,
    "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
    "OnBuild": None, "Labels": None,
}


def legacy_v1_images(cfg):
    """moby: one V1Image per layer; v1 id = v1.CreateID(v1img, chainID, parent).
    Returns [(id_hex, json_bytes)] (json_bytes includes id and parent)."""
    diff_ids = cfg["rootfs"]["diff_ids"]
    chains = chain_ids(diff_ids)
    out, parent = [], ""
    for i, _ in enumerate(diff_ids):
        if i == len(diff_ids) - 1:
            v1 = {"created": cfg.get("created"),
                  "container_config": EMPTY_CONTAINER_CONFIG}
            if cfg.get("author"):
                v1["author"] = cfg["author"]
            v1["config"] = cfg.get("config", {})
            v1["architecture"] = cfg.get("architecture")
            if cfg.get("variant"):
                v1["variant"] = cfg["variant"]
            v1["os"] = cfg.get("os")
        else:
            v1 = {"created": "1970-01-01T00:00:00Z",
                  "container_config": EMPTY_CONTAINER_CONFIG,
                  "os": cfg.get("os")}
        # CreateID: marshal, unmarshal into a map, add layer_id/parent, marshal
        # again (Go sorts map keys)
        m = dict(v1)
        m["layer_id"] = chains[i]
        if parent:
            m["parent"] = "sha256:" + parent
        vid = sha256(go_json(dict(sorted(m.items()))))
        full = {"id": vid}
        if parent:
            full["parent"] = parent
        full.update(v1)
        out.append((vid, go_json(full)))
        parent = vid
    return out


def familiar(repotag):
    for p in ("docker.io/library/", "docker.io/"):
        if repotag.startswith(p):
            return repotag[len(p):]
    return repotag


def fully_qualified(repotag):
    name = familiar(repotag)
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return ("docker.io/" if "/" in name else "docker.io/library/") + name


# ------------------------------------------------------------ docker shapes
def cmd_docker_legacy(layout, tag, repotag, out):
    _man, cfg_bytes, layers = image_parts(layout, tag)
    cfg = json.loads(cfg_bytes)
    created = T0  # image created (2023-11-14T22:13:20Z) = what moby Chtimes()es to
    v1s = legacy_v1_images(cfg)
    members, layer_paths = [], []
    for (vid, vjson), (_desc, tar_bytes) in zip(v1s, layers):
        members += [
            {"name": vid + "/", "type": "d", "mtime": created},
            {"name": vid + "/VERSION", "type": "f", "data": b"1.0", "mtime": created},
            {"name": vid + "/json", "type": "f", "data": vjson, "mtime": created},
            {"name": vid + "/layer.tar", "type": "f", "data": tar_bytes, "mtime": created},
        ]
        layer_paths.append(vid + "/layer.tar")
    cfg_name = sha256(cfg_bytes) + ".json"
    members.append({"name": cfg_name, "type": "f", "data": cfg_bytes, "mtime": created})
    fam = familiar(repotag)
    name, _, t = fam.rpartition(":")
    manifest = [{"Config": cfg_name, "RepoTags": [fam], "Layers": layer_paths}]
    members.append({"name": "manifest.json", "type": "f", "mtime": 0,
                    "data": go_json(manifest) + b"\n"})
    members.append({"name": "repositories", "type": "f", "mtime": 0,
                    "data": go_json({name: {t: v1s[-1][0]}}) + b"\n"})
    write_tar(out, members)


def cmd_docker25(layout, tag, repotag, out):
    _man, cfg_bytes, layers = image_parts(layout, tag)
    cfg = json.loads(cfg_bytes)
    created = T0
    plat = {"architecture": cfg["architecture"], "os": cfg["os"]}
    blobs = {}  # hex -> (data, mtime)
    for vid, vjson in legacy_v1_images(cfg):
        blobs[sha256(vjson)] = (vjson, created)  # saveLayer writes V1 json as a blob
    layer_descs, layer_paths = [], []
    for _desc, tar_bytes in layers:
        h = sha256(tar_bytes)
        blobs[h] = (tar_bytes, created)
        layer_descs.append({"mediaType": MT_LAYER_TAR, "digest": "sha256:" + h,
                            "size": len(tar_bytes)})
        layer_paths.append("blobs/sha256/" + h)
    cfg_hex = sha256(cfg_bytes)
    blobs[cfg_hex] = (cfg_bytes, created)
    man = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
           "config": {"mediaType": MT_CONFIG, "digest": "sha256:" + cfg_hex,
                      "size": len(cfg_bytes), "platform": plat},
           "layers": layer_descs}
    man_bytes = go_json(man)
    man_hex = sha256(man_bytes)
    blobs[man_hex] = (man_bytes, 0)
    fam = familiar(repotag)
    name, _, t = fam.rpartition(":")
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [
        {"mediaType": MT_MANIFEST, "digest": "sha256:" + man_hex, "size": len(man_bytes),
         "annotations": {"io.containerd.image.name": fully_qualified(repotag),
                         "org.opencontainers.image.ref.name": t},
         "platform": plat}]}
    members = [{"name": "blobs/", "type": "d", "mtime": created},
               {"name": "blobs/sha256/", "type": "d", "mtime": 0}]
    for h, (data, mt) in blobs.items():
        members.append({"name": "blobs/sha256/" + h, "type": "f", "data": data, "mtime": mt})
    members.append({"name": "index.json", "type": "f", "data": go_json(index), "mtime": T0})
    manifest = [{"Config": "blobs/sha256/" + cfg_hex, "RepoTags": [fam], "Layers": layer_paths}]
    members.append({"name": "manifest.json", "type": "f", "mtime": 0,
                    "data": go_json(manifest) + b"\n"})
    members.append({"name": "oci-layout", "type": "f", "mtime": 0,
                    "data": b'{"imageLayoutVersion":"1.0.0"}'})
    members.append({"name": "repositories", "type": "f", "mtime": 0,
                    "data": go_json({name: {t: layer_paths[-1].rsplit("/", 1)[1]}}) + b"\n"})
    write_tar(out, members)


# ------------------------------------------------------------- multi-arch
def cmd_multi_index(layout, order):
    amd = by_tag(layout, "amd64")
    arm = by_tag(layout, "arm64")
    # attestation manifest (buildx shape): config unknown/unknown, one in-toto layer
    stmt = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "pkg:docker/example/multi@v1?platform=linux%2Famd64",
                     "digest": {"sha256": amd["digest"].split(":", 1)[1]}}],
        "predicate": {"builder": {"id": ""},
                      "buildType": "https://mobyproject.org/buildkit@v1",
                      "metadata": {"buildStartedOn": "2023-11-14T22:13:20Z",
                                   "buildFinishedOn": "2023-11-14T22:13:20Z"}},
    }
    st_d, st_n = write_blob(layout, go_json(stmt))
    acfg = {"architecture": "unknown", "os": "unknown", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [st_d]}}
    ac_d, ac_n = write_blob(layout, go_json(acfg))
    aman = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, "digest": ac_d, "size": ac_n},
            "layers": [{"mediaType": MT_INTOTO, "digest": st_d, "size": st_n,
                        "annotations": {"in-toto.io/predicate-type":
                                        "https://slsa.dev/provenance/v0.2"}}]}
    am_d, am_n = write_blob(layout, go_json(aman))
    entries = {
        "amd64": {"mediaType": MT_MANIFEST, "digest": amd["digest"], "size": amd["size"],
                  "platform": {"architecture": "amd64", "os": "linux"}},
        "arm64": {"mediaType": MT_MANIFEST, "digest": arm["digest"], "size": arm["size"],
                  "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        "att": {"mediaType": MT_MANIFEST, "digest": am_d, "size": am_n,
                "annotations": {"vnd.docker.reference.digest": amd["digest"],
                                "vnd.docker.reference.type": "attestation-manifest"},
                "platform": {"architecture": "unknown", "os": "unknown"}},
    }
    index = {"schemaVersion": 2, "mediaType": MT_INDEX,
             "manifests": [entries[k] for k in order.split(",")]}
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(go_json(index))


def cmd_nest(src, dst, ref):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    with open(os.path.join(src, "index.json"), "rb") as f:
        inner = f.read()
    d, n = write_blob(dst, inner)
    outer = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [
        {"mediaType": MT_INDEX, "digest": d, "size": n,
         "annotations": {"org.opencontainers.image.ref.name": ref}}]}
    with open(os.path.join(dst, "index.json"), "wb") as f:
        f.write(go_json(outer))


# ------------------------------------------------------------ verification
def cmd_check_layout(layout, allow_unreferenced=False):
    with open(os.path.join(layout, "oci-layout")) as f:
        assert json.load(f)["imageLayoutVersion"] == "1.0.0"
    seen = set()

    def visit(desc, where):
        data = read_blob(layout, desc["digest"])
        assert sha256(data) == desc["digest"].split(":", 1)[1], (where, desc)
        assert len(data) == desc["size"], (where, desc, len(data))
        seen.add(desc["digest"])
        mt = desc.get("mediaType")
        if mt in (MT_INDEX, DOCKER_LIST):
            for i, m in enumerate(json.loads(data)["manifests"]):
                visit(m, "%s/manifests[%d]" % (where, i))
        elif mt in (MT_MANIFEST, DOCKER_MANIFEST):
            man = json.loads(data)
            visit(man["config"], where + "/config")
            for i, l in enumerate(man["layers"]):
                visit(l, "%s/layers[%d]" % (where, i))
            if mt == MT_MANIFEST and "mediaType" in man:
                assert man["mediaType"] == MT_MANIFEST
            cfg = json.loads(read_blob(layout, man["config"]["digest"]))
            diff_ids = cfg.get("rootfs", {}).get("diff_ids", [])
            assert len(diff_ids) == len(man["layers"]), where
            for l, did in zip(man["layers"], diff_ids):
                if l["mediaType"] == MT_INTOTO:
                    raw = read_blob(layout, l["digest"])
                else:
                    raw = decompress(l["mediaType"], read_blob(layout, l["digest"]))
                assert "sha256:" + sha256(raw) == did, (where, l, did)

    for i, m in enumerate(load_index(layout)["manifests"]):
        visit(m, "index.json/manifests[%d]" % i)
    on_disk = set()
    for algo in os.listdir(os.path.join(layout, "blobs")):
        for h in os.listdir(os.path.join(layout, "blobs", algo)):
            on_disk.add(algo + ":" + h)
    extra = sorted(on_disk - seen)
    if extra and not allow_unreferenced:
        raise SystemExit("%s: unreferenced blobs: %s" % (layout, extra))
    print("%s: OK (%d blobs, all digests/sizes/diff_ids verified%s)" % (
        layout, len(seen), ", %d unreferenced" % len(extra) if extra else ""))


def treedump_lines(root):
    lines = []

    def one(p, rel):
        st = os.lstat(p)
        mode = "%04o" % stat.S_IMODE(st.st_mode)
        own = "%d:%d" % (st.st_uid, st.st_gid)
        xs = ",".join("%s=%s" % (k, os.getxattr(p, k, follow_symlinks=False).hex())
                      for k in sorted(os.listxattr(p, follow_symlinks=False)))
        if stat.S_ISDIR(st.st_mode):
            what = "d %s %s" % (mode, own)
            rel = rel if rel == "." else rel + "/"
        elif stat.S_ISLNK(st.st_mode):
            what = "l %s %s -> %s" % (mode, own, os.readlink(p))
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                h = sha256(f.read())
            what = "f %s %s %d sha256:%s" % (mode, own, st.st_size, h[:16])
        else:
            what = "? %o %s" % (st.st_mode, own)
        lines.append("%s  %s%s  mtime=%d" % (rel, what, (" xattrs=" + xs) if xs else "",
                                             int(st.st_mtime)))

    def rec(d, reld):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            one(p, reld + name)
            if os.path.isdir(p) and not os.path.islink(p):
                rec(p, reld + name + "/")

    one(root, ".")
    rec(root, "")
    return lines


def cmd_treedump(root):
    for l in treedump_lines(root):
        print(l)


def jsondiff(a, b, path=""):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s.%s: (absent) -> %s" % (path, k, json.dumps(b[k])))
            elif k not in b:
                out.append("%s.%s: %s -> (absent)" % (path, k, json.dumps(a[k])))
            else:
                out += jsondiff(a[k], b[k], "%s.%s" % (path, k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += jsondiff(x, y, "%s[%d]" % (path, i))
    elif a != b:
        out.append("%s: %s -> %s" % (path or ".", json.dumps(a), json.dumps(b)))
    return out


def cmd_jsondiff(a, b):
    with open(a, "rb") as f:
        ja = json.load(f)
    with open(b, "rb") as f:
        jb = json.load(f)
    for l in jsondiff(ja, jb):
        print(l)


# ---------------------------------------------------------------- describe
TYPES = {tarfile.REGTYPE: "-", tarfile.AREGTYPE: "-", tarfile.DIRTYPE: "d",
         tarfile.SYMTYPE: "l", tarfile.LNKTYPE: "h", tarfile.CHRTYPE: "c",
         tarfile.BLKTYPE: "b", tarfile.FIFOTYPE: "p"}


MAGICS = {b"ustar\x0000": "ustar", b"ustar  \x00": "gnu"}


def tar_listing(data):
    """Lines with the RAW member names (prefix/name field, or pax path) as
    stored, e.g. directories keep their trailing '/' when the writer put one;
    last line = the set of header magics."""
    out, magics = [], set()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        for m in t:
            hdr = data[m.offset_data - 512:m.offset_data]
            magic = MAGICS.get(hdr[257:265], "v7")
            magics.add(magic)
            name = hdr[0:100].split(b"\0", 1)[0]
            if magic == "ustar" and hdr[345] != 0:
                name = hdr[345:500].split(b"\0", 1)[0] + b"/" + name
            name = name.decode("utf-8", "backslashreplace")
            if "path" in m.pax_headers:
                name = m.pax_headers["path"] + " (pax path)"
            s = "%s %04o %d/%d %6d %10d %s" % (TYPES.get(m.type, "?"), m.mode, m.uid, m.gid,
                                               m.size, m.mtime, name)
            if m.issym():
                s += " -> " + m.linkname
            if m.islnk():
                s += " link to " + m.linkname
            if m.uname or m.gname:
                s += "  (uname=%r gname=%r)" % (m.uname, m.gname)
            out.append(s)
    out.append("# header format(s): " + ", ".join(sorted(magics)))
    return out


def short(d):
    return d


def describe_layout(layout, rel, fsdir, w):
    with open(os.path.join(layout, "index.json"), "rb") as f:
        idx_bytes = f.read()
    w("### `%s`\n\n" % rel)
    w("`index.json` sha256 `%s` (%d bytes)\n\n" % (sha256(idx_bytes), len(idx_bytes)))

    def man_block(desc, depth):
        ind = "  " * depth
        plat = desc.get("platform")
        ann = desc.get("annotations")
        w("%s- descriptor %s `%s` size %d%s%s\n" % (
            ind, desc["mediaType"], desc["digest"], desc["size"],
            (" platform `%s`" % go_json(plat).decode()) if plat else "",
            (" annotations `%s`" % go_json(ann).decode()) if ann else ""))
        data = read_blob(layout, desc["digest"])
        if desc["mediaType"] == MT_INDEX:
            for m in json.loads(data)["manifests"]:
                man_block(m, depth + 1)
            return
        man = json.loads(data)
        if man.get("annotations"):
            w("%s  - manifest annotations `%s`\n" % (ind, go_json(man["annotations"]).decode()))
        c = man["config"]
        cfg = json.loads(read_blob(layout, c["digest"]))
        w("%s  - config `%s` size %d: created `%s`, %s/%s, config `%s`%s\n" % (
            ind, c["digest"], c["size"], cfg.get("created"), cfg.get("architecture"),
            cfg.get("os"), go_json(cfg.get("config", {})).decode(),
            (", author `%s`" % cfg["author"]) if cfg.get("author") else ""))
        for i, h in enumerate(cfg.get("history", [])):
            w("%s    - history[%d] `%s`\n" % (ind, i, go_json(h).decode()))
        for i, (l, did) in enumerate(zip(man["layers"], cfg["rootfs"]["diff_ids"])):
            w("%s  - layer[%d] %s `%s` size %d, diff_id `%s`\n" % (
                ind, i, l["mediaType"], l["digest"], l["size"], did))
            if l["mediaType"] == MT_INTOTO:
                continue
            raw = decompress(l["mediaType"], read_blob(layout, l["digest"]))
            w("\n%s    ```\n" % ind)
            for s in tar_listing(raw):
                w("%s    %s\n" % (ind, s))
            w("%s    ```\n\n" % ind)

    for m in load_index(layout)["manifests"]:
        man_block(m, 0)
    w("\n")
    for name in sorted(os.listdir(fsdir)):
        if name.startswith(rel.replace("/", "_") + "@"):
            w("Final filesystem of `%s` (`umoci unpack`, treedump; mtime = the "
              "unpacked file's mtime):\n\n```\n" % name.replace("_", "/", 1))
            with open(os.path.join(fsdir, name)) as f:
                w(f.read())
            w("```\n\n")


def describe_archive(path, rel, w):
    with open(path, "rb") as f:
        data = f.read()
    w("### `%s`\n\n" % rel)
    w("sha256 `%s`, %d bytes\n\n" % (sha256(data), len(data)))
    if rel.endswith(".gz"):
        w("gzip of `%s` (`gzip -n -9`); decompressed sha256 `%s`\n\n" % (
            rel[:-3], sha256(gzip.decompress(data))))
        return
    w("```\n")
    for s in tar_listing(data):
        w(s + "\n")
    w("```\n\n")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        for name in ("manifest.json", "index.json", "repositories"):
            try:
                m = t.getmember(name)
            except KeyError:
                continue
            w("`%s`: `%s`\n\n" % (name, t.extractfile(m).read().decode().strip()))


def cmd_describe(outdir, fsdir):
    out = []
    w = out.append
    w("## Generated digests and listings\n\n")
    w("Layer member lines: `type mode uid/gid size mtime name [-> symlink target]` "
      "(from the decompressed layer tar).\n\n")
    for name in sorted(os.listdir(os.path.join(outdir, "oci"))):
        describe_layout(os.path.join(outdir, "oci", name), "oci/" + name, fsdir, w)
    for name in sorted(os.listdir(os.path.join(outdir, "archives"))):
        describe_archive(os.path.join(outdir, "archives", name), "archives/" + name, w)
    extra = os.path.join(fsdir, "_extra.md")
    if os.path.exists(extra):
        with open(extra) as f:
            w(f.read())
    sys.stdout.write("".join(out))


BEGIN = "<!-- BEGIN GENERATED (make-images.sh rewrites this part) -->"
END = "<!-- END GENERATED -->"


def cmd_readme_update(readme, gen):
    with open(readme) as f:
        text = f.read()
    with open(gen) as f:
        g = f.read()
    a = text.index(BEGIN) + len(BEGIN)
    b = text.index(END)
    with open(readme, "w") as f:
        f.write(text[:a] + "\n" + g + text[b:])


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "docker-legacy":
        cmd_docker_legacy(*args)
    elif cmd == "docker25":
        cmd_docker25(*args)
    elif cmd == "multi-index":
        cmd_multi_index(*args)
    elif cmd == "nest":
        cmd_nest(*args)
    elif cmd == "check-layout":
        cmd_check_layout(args[0], "--allow-unreferenced" in args[1:])
    elif cmd == "treedump":
        cmd_treedump(*args)
    elif cmd == "jsondiff":
        cmd_jsondiff(*args)
    elif cmd == "describe":
        cmd_describe(*args)
    elif cmd == "readme-update":
        cmd_readme_update(*args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
