//! A compressed stream inside a file: decoded by the decoders every input goes through
//! (`source::compress`), its header parameters read on the way (`compress_facts`:
//! `gzip.mtime`, `xz.check`, `zstd.window_size`, ...). A stream that decodes to a tar or a
//! cpio archive is opened as that archive in one step; anything else is one member.

use std::io::Read;
use std::sync::Arc;

use super::{Budget, Format, Members, Opened, Problem, cpio, is_tar, members_set, open_tar};
use crate::entry::{Entry, Kind};
use crate::source::compress::{Compression, Counting, decode_with_params};

/// Decode `data` (within the budget) and open what it holds.
pub fn open(
    format: Format,
    c: Compression,
    data: &[u8],
    prefix: &[u8],
    stream_name: &[u8],
    budget: &mut Budget,
) -> Result<Opened, Problem> {
    let (out, params) = decode(c, data, budget)?;
    let header = super::headed(format.name(), params);
    let out: Arc<[u8]> = out.into();
    if is_tar(&out) {
        return open_tar(format, header, out, prefix);
    }
    if cpio::is_cpio(&out) {
        return Ok(cpio::read(out, prefix, budget)?.into_opened(format, header));
    }
    let mut e = Entry::new([prefix, stream_name].concat().into(), Kind::File);
    e.size = out.len() as u64;
    e.digest = Some(crate::source::hash::sha256(&out));
    e.order = Some(0);
    let ranges = [(e.path.clone(), 0..out.len())].into_iter().collect();
    Ok(Opened {
        format,
        header,
        set: members_set(vec![e]),
        fields: Default::default(),
        views: Default::default(),
        data: out,
        how: Members::Ranges(ranges),
    })
}

/// A stream's header parameters: key, value.
pub type Params = Vec<(&'static str, String)>;

/// Decode a whole `c` stream, taking what it decodes to from the budget (a stream that
/// decodes to more than is left is cut, having cost nothing); the parameters its
/// headers carry.
pub fn decode(
    c: Compression,
    data: &[u8],
    budget: &mut Budget,
) -> Result<(Vec<u8>, Params), Problem> {
    let bad = |e: std::io::Error| Problem::Malformed(error_text(e));
    let (counted, counters) = Counting::with_counters(data);
    let (mut dec, params) = decode_with_params(c, counted, counters).map_err(bad)?;
    let left = budget.left();
    let out = read_bounded(&mut dec, left).map_err(bad)?;
    if !budget.take(out.len() as u64) {
        return Err(Problem::Cut(format!(
            "its {} stream decodes to more than the {left} bytes left",
            c.name()
        )));
    }
    drop(dec);
    Ok((out, params.get()))
}

/// Read to the end, or one byte past `limit`; the buffer never grows past `limit + 1`
/// bytes (a doubling `read_to_end` could reserve twice that).
fn read_bounded(r: &mut impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 256 << 10];
    while out.len() < cap {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n.min(cap - out.len()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.capacity() - out.len() < n {
            let want = out.len().max(n).min(cap - out.len());
            out.reserve_exact(want.max(n));
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(out)
}

/// A decoder's error as one phrase (`truncated gzip stream after 40 bytes`).
fn error_text(e: std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|i| i.downcast_ref::<crate::error::ErrorKind>())
    {
        Some(k) => k.to_string(),
        None => e.to_string(),
    }
}

/// The name of a stream's member: the outer file's name without its compression
/// suffix (`changelog.gz` -> `changelog`, `x.tgz` -> `x.tar`), or the name itself.
pub fn member_name(outer: &[u8]) -> Vec<u8> {
    let base = match outer.iter().rposition(|&b| b == b'/') {
        Some(i) => &outer[i + 1..],
        None => outer,
    };
    const SUFFIXES: &[(&[u8], &[u8])] = &[
        (b".tgz", b".tar"),
        (b".taz", b".tar"),
        (b".txz", b".tar"),
        (b".tzst", b".tar"),
        (b".tbz2", b".tar"),
        (b".tbz", b".tar"),
        (b".tlz", b".tar"),
        (b".gz", b""),
        (b".z", b""),
        (b".xz", b""),
        (b".lzma", b""),
        (b".zst", b""),
        (b".zstd", b""),
        (b".bz2", b""),
        (b".lz", b""),
    ];
    let lower = base.to_ascii_lowercase();
    for (suffix, then) in SUFFIXES {
        if lower.ends_with(suffix) && base.len() > suffix.len() {
            return [&base[..base.len() - suffix.len()], then].concat();
        }
    }
    base.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_drop_the_suffix() {
        assert_eq!(member_name(b"usr/share/doc/x/changelog.gz"), b"changelog");
        assert_eq!(member_name(b"src.tgz"), b"src.tar");
        assert_eq!(member_name(b"a/b.XZ"), b"b");
        assert_eq!(member_name(b"a/.gz"), b".gz");
        assert_eq!(member_name(b"blob"), b"blob");
    }

    fn gzip(data: &[u8], mtime: u32) -> Vec<u8> {
        let mut e = flate2::GzBuilder::new()
            .mtime(mtime)
            .write(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_gzip_stream_is_one_member_and_its_header() {
        let z = gzip(b"hello\n", 1_700_000_000);
        let mut b = Budget::new(1 << 20);
        let o = open(Format::Gzip, Compression::Gzip, &z, b"c.gz!/", b"c", &mut b).unwrap();
        assert_eq!(o.set.entries.len(), 1);
        assert_eq!(&*o.set.entries[0].path, b"c.gz!/c");
        assert!(
            o.header
                .contains(&("gzip", "mtime".into(), "1700000000".into()))
        );
        assert_eq!(b.used, 6);
    }

    #[test]
    fn truncated_and_bombs_are_problems() {
        let z = gzip(&vec![0u8; 1 << 20], 0);
        let mut b = Budget::new(1 << 30);
        let cut = open(
            Format::Gzip,
            Compression::Gzip,
            &z[..z.len() - 9],
            b"",
            b"x",
            &mut b,
        );
        assert!(matches!(cut, Err(Problem::Malformed(m)) if m.contains("truncated gzip")));
        let mut small = Budget::new(1000);
        let bomb = open(Format::Gzip, Compression::Gzip, &z, b"", b"x", &mut small);
        assert!(matches!(bomb, Err(Problem::Cut(_))));
        assert_eq!(small.used, 0);
        assert!(small.refused);
    }
}
