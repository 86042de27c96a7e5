//! A directory as an input: walked with lstat (symlinks are never followed), children
//! in byte order, xattrs and ACLs read without following links, hardlinks found by
//! inode (the first path in walk order is the file, later ones link to it, as GNU tar
//! records them), FIFOs and devices never opened. Regular files are hashed in parallel.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rayon::prelude::*;

use super::{
    ContentSink, EntrySet, Input, InputInfo, ReadOptions, SourceKind, add_xattr, finish_set, hash,
};
use crate::entry::{Bytes, Entry, Kind, Timestamp};
use crate::error::{Error, Result};

/// Join a normalized entry path onto the root directory.
pub fn join(root: &Path, path: &[u8]) -> PathBuf {
    if path == b"." {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(path))
    }
}

/// Read a directory tree: its entries, every regular file hashed (in parallel) and
/// offered to `sink`.
pub fn read_dir(
    input: &Input,
    root: &Path,
    opts: &ReadOptions,
    sink: &dyn ContentSink,
) -> Result<EntrySet> {
    let mut found: Vec<(Vec<u8>, Metadata)> = Vec::new();
    // The root is what the user named: follow it if it is a symlink to a directory.
    let root_meta = fs::metadata(root).map_err(|e| Error::new(input.name.clone(), e))?;
    found.push((b".".to_vec(), root_meta));
    walk(input, root, &[], &mut found, opts.tar_limits.max_entries)?;

    let mut links: HashMap<(u64, u64), usize> = HashMap::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(found.len());
    let mut files: Vec<usize> = Vec::new();
    for (rel, meta) in &found {
        let mut e = entry(input, root, rel, meta)?;
        if e.kind == Kind::File && meta.nlink() > 1 {
            // The first path of an inode is the file, the others link to it.
            let key = (meta.dev(), meta.ino());
            if let Some(&first) = links.get(&key) {
                e.kind = Kind::Hardlink;
                e.size = 0;
                e.hardlink_target = Some(entries[first].path.clone());
            } else {
                links.insert(key, entries.len());
            }
        }
        if e.kind == Kind::File {
            files.push(entries.len());
        }
        // Hardlink members carry no xattrs in tar (the file they link to does). The root
        // is what the user named: follow it if it is a symlink.
        if !matches!(e.kind, Kind::Socket | Kind::Hardlink) {
            let full = join(root, rel);
            read_xattrs(&full, &mut e, rel == b".").map_err(|err| path_err(input, rel, err))?;
        }
        entries.push(e);
    }
    hash_files(input, root, &mut entries, &files, opts, sink)?;
    let mut info = InputInfo::new(input.name.clone(), SourceKind::Directory);
    info.bytes = entries.iter().map(|e| e.size).sum();
    Ok(finish_set(entries, info))
}

/// An entry from what `lstat` says of a path (a symlink read, a device split).
fn entry(input: &Input, root: &Path, rel: &[u8], meta: &Metadata) -> Result<Entry> {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_file() {
        Kind::File
    } else if ft.is_char_device() {
        Kind::CharDevice
    } else if ft.is_block_device() {
        Kind::BlockDevice
    } else if ft.is_fifo() {
        Kind::Fifo
    } else {
        Kind::Socket
    };
    let mut e = Entry::new(rel.to_vec().into_boxed_slice(), kind);
    e.mode = meta.mode() & 0o7777;
    e.uid = u64::from(meta.uid());
    e.gid = u64::from(meta.gid());
    e.uname = user_name(meta.uid());
    e.gname = group_name(meta.gid());
    e.mtime = Some(Timestamp {
        secs: meta.mtime(),
        nanos: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
    });
    match kind {
        Kind::Symlink => {
            let t = fs::read_link(join(root, rel)).map_err(|err| path_err(input, rel, err))?;
            e.link_target = Some(t.as_os_str().as_bytes().into());
        }
        Kind::CharDevice | Kind::BlockDevice => {
            let d = meta.rdev();
            let major = ((d >> 32) & 0xffff_f000) | ((d >> 8) & 0xfff);
            let minor = ((d >> 12) & 0xffff_ff00) | (d & 0xff);
            e.set_device(Some((major, minor)));
        }
        Kind::File => e.size = meta.len(),
        _ => {}
    }
    Ok(e)
}

/// Hash the regular files `files` (indices into `entries`) in parallel, offering their
/// contents to `sink`.
fn hash_files(
    input: &Input,
    root: &Path,
    entries: &mut [Entry],
    files: &[usize],
    opts: &ReadOptions,
    sink: &dyn ContentSink,
) -> Result<()> {
    let results: Vec<Result<Hashed>> = files
        .par_iter()
        .map_init(Vec::new, |scratch, &i| {
            let e = &entries[i];
            let full = join(root, &e.path);
            let keep = sink.wants(&e.path, e.size);
            let r = hash_file(&full, e.size, keep.then_some(&mut *scratch))
                .map_err(|err| path_err(input, &e.path, err))?;
            if keep {
                sink.content(&e.path, r.sha, scratch);
            }
            if let Some((p, side)) = &opts.progress {
                p.add(*side, e.size);
            }
            Ok(r)
        })
        .collect();
    for (&i, r) in files.iter().zip(results) {
        let h = r?;
        entries[i].digest = Some(h.sha);
        entries[i].set_blocks(h.blocks);
        entries[i].set_nested_format(h.format);
    }
    Ok(())
}

/// The SHA-256 digest and block hashes of a file.
type Hashed = hash::ContentHash;

fn path_err(input: &Input, rel: &[u8], err: io::Error) -> Error {
    let name = if rel == b"." {
        input.name.clone()
    } else {
        format!(
            "{}/{}",
            input.name.trim_end_matches('/'),
            crate::entry::display_bytes(rel)
        )
    };
    Error::new(name, err)
}

/// The sorted children of one directory, with their lstat metadata.
fn children(input: &Input, root: &Path, rel: &[u8]) -> Result<Vec<(Vec<u8>, Metadata)>> {
    let dir = join(root, if rel.is_empty() { b"." } else { rel });
    let rd = fs::read_dir(&dir)
        .map_err(|e| path_err(input, if rel.is_empty() { b"." } else { rel }, e))?;
    let mut out: Vec<(Vec<u8>, Metadata)> = Vec::new();
    for de in rd {
        let de = de.map_err(|e| path_err(input, rel, e))?;
        let name = de.file_name().as_bytes().to_vec();
        let mut p = rel.to_vec();
        if !p.is_empty() {
            p.push(b'/');
        }
        p.extend_from_slice(&name);
        let meta = fs::symlink_metadata(de.path()).map_err(|e| path_err(input, &p, e))?;
        out.push((p, meta));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Walk the tree depth-first, children in byte order, with an explicit stack (a deep
/// tree must not overflow the thread's stack).
fn walk(
    input: &Input,
    root: &Path,
    rel: &[u8],
    out: &mut Vec<(Vec<u8>, Metadata)>,
    max_entries: u64,
) -> Result<()> {
    let mut stack = vec![children(input, root, rel)?.into_iter()];
    while let Some(level) = stack.last_mut() {
        let Some((p, meta)) = level.next() else {
            stack.pop();
            continue;
        };
        let is_dir = meta.is_dir();
        out.push((p, meta));
        if out.len() as u64 > max_entries {
            return Err(Error::new(
                input.name.clone(),
                crate::error::ErrorKind::Limit(format!(
                    "more than {} entries (--max-entries)",
                    max_entries
                )),
            ));
        }
        if is_dir {
            let p = &out.last().expect("just pushed").0;
            let kids = children(input, root, p)?;
            stack.push(kids.into_iter());
        }
    }
    Ok(())
}

fn read_xattrs(path: &Path, e: &mut Entry, follow: bool) -> io::Result<()> {
    let list = if follow {
        xattr::list_deref(path)
    } else {
        xattr::list(path)
    };
    let names = match list {
        Ok(n) => n,
        Err(err) if err.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(err) => return Err(err),
    };
    for name in names {
        let v = if follow {
            xattr::get_deref(path, &name)?
        } else {
            xattr::get(path, &name)?
        };
        if let Some(v) = v {
            add_xattr(e, name.as_bytes().to_vec(), v);
        }
    }
    Ok(())
}

fn open_regular(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(
            "changed while being read (no longer a regular file)",
        ));
    }
    Ok(f)
}

fn hash_file(path: &Path, size: u64, keep: Option<&mut Vec<u8>>) -> io::Result<Hashed> {
    let mut h = hash::ContentHasher::new(size, keep);
    let total = read_through(path, &mut |b| h.update(b))?;
    if total != size {
        return Err(io::Error::other(format!(
            "changed while being read ({size} bytes expected, {total} read)"
        )));
    }
    Ok(h.finish())
}

/// Pass every byte of a regular file to `f`; returns the number of bytes.
fn read_through(path: &Path, f: &mut dyn FnMut(&[u8])) -> io::Result<u64> {
    let mut file = open_regular(path)?;
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        f(&buf[..n]);
    }
    Ok(total)
}

/// Read `len` bytes from `start` of a regular file, and the SHA-256 of the whole file
/// as read this time (the caller checks it against the first read's).
pub fn read_range(
    path: &Path,
    start: u64,
    len: u64,
) -> io::Result<(Vec<u8>, crate::entry::Digest)> {
    let mut v = Vec::new();
    let mut h = hash::ContentHasher::new(0, None);
    let end = start.saturating_add(len);
    let mut pos = 0u64;
    read_through(path, &mut |b| {
        h.update(b);
        let (s, e) = (pos, pos + b.len() as u64);
        pos = e;
        if e > start && s < end {
            v.extend_from_slice(&b[(start.max(s) - s) as usize..(end.min(e) - s) as usize]);
        }
    })?;
    Ok((v, h.finish().sha))
}

fn id_names(file: &str) -> HashMap<u32, Bytes> {
    let mut m = HashMap::new();
    if let Ok(text) = fs::read(file) {
        for line in text.split(|&b| b == b'\n') {
            let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            if f.len() >= 3
                && let Some(id) = std::str::from_utf8(f[2]).ok().and_then(|s| s.parse().ok())
            {
                m.entry(id).or_insert_with(|| Bytes::from(f[0]));
            }
        }
    }
    m
}

/// The host's user name for a uid (from /etc/passwd, as tar looks it up).
fn user_name(uid: u32) -> Option<Bytes> {
    static USERS: OnceLock<HashMap<u32, Bytes>> = OnceLock::new();
    USERS
        .get_or_init(|| id_names("/etc/passwd"))
        .get(&uid)
        .cloned()
}

fn group_name(gid: u32) -> Option<Bytes> {
    static GROUPS: OnceLock<HashMap<u32, Bytes>> = OnceLock::new();
    GROUPS
        .get_or_init(|| id_names("/etc/group"))
        .get(&gid)
        .cloned()
}
