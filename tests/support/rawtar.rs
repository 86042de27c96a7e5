//! Tar archives written byte by byte, for tests that need headers no tar writer
//! produces: odd typeflags, PAX records with non-minimal length prefixes, GNU long-name
//! data with extra NULs, old GNU sparse headers, members after the last file.
//!
//! Every header gets a valid checksum (`%06o\0 `); numeric fields are zero-padded octal
//! with a trailing NUL; everything else is exactly what the test asks for.

/// One 512-byte tar header, described field by field.
#[derive(Clone, Debug)]
pub struct Hdr {
    name: Vec<u8>,
    mode: u64,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: u64,
    typeflag: u8,
    linkname: Vec<u8>,
    gnu: bool,
    /// Raw bytes written at an offset after every other field (before the checksum).
    patches: Vec<(usize, Vec<u8>)>,
}

impl Hdr {
    /// A ustar regular file (`0`), mode 0644, uid/gid 0, owner `root`, mtime 1700000000.
    pub fn new(name: impl AsRef<[u8]>) -> Hdr {
        Hdr {
            name: name.as_ref().to_vec(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 1_700_000_000,
            typeflag: b'0',
            linkname: Vec::new(),
            gnu: false,
            patches: Vec::new(),
        }
    }

    pub fn typeflag(mut self, t: u8) -> Hdr {
        self.typeflag = t;
        self
    }

    pub fn mode(mut self, m: u64) -> Hdr {
        self.mode = m;
        self
    }

    pub fn uid(mut self, u: u64) -> Hdr {
        self.uid = u;
        self
    }

    pub fn mtime(mut self, t: u64) -> Hdr {
        self.mtime = t;
        self
    }

    pub fn size(mut self, s: u64) -> Hdr {
        self.size = s;
        self
    }

    pub fn linkname(mut self, l: impl AsRef<[u8]>) -> Hdr {
        self.linkname = l.as_ref().to_vec();
        self
    }

    /// GNU magic (`ustar  \0`) instead of POSIX ustar (`ustar\000`).
    pub fn gnu(mut self) -> Hdr {
        self.gnu = true;
        self
    }

    /// Write `bytes` at `offset` of the block (after the standard fields).
    pub fn patch(mut self, offset: usize, bytes: impl AsRef<[u8]>) -> Hdr {
        self.patches.push((offset, bytes.as_ref().to_vec()));
        self
    }

    /// The header block, with its checksum.
    pub fn block(&self) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        let mut put = |off: usize, v: &[u8]| h[off..off + v.len()].copy_from_slice(v);
        put(0, &self.name);
        put(100, &octal(self.mode, 8));
        put(108, &octal(self.uid, 8));
        put(116, &octal(self.gid, 8));
        put(124, &octal(self.size, 12));
        put(136, &octal(self.mtime, 12));
        put(156, &[self.typeflag]);
        put(157, &self.linkname);
        put(
            257,
            if self.gnu {
                b"ustar  \0"
            } else {
                b"ustar\x0000"
            },
        );
        put(265, b"root");
        put(297, b"root");
        put(329, &octal(0, 8));
        put(337, &octal(0, 8));
        for (off, v) in &self.patches {
            put(*off, v);
        }
        fix_checksum(&mut h);
        h
    }

    /// The header (its size set to `data`'s length) followed by `data`, zero-padded to
    /// a whole block.
    pub fn member(self, data: &[u8]) -> Vec<u8> {
        let mut out = self.size(data.len() as u64).block();
        out.extend_from_slice(&pad(data));
        out
    }
}

/// A zero-padded octal number of `width - 1` digits and a NUL.
pub fn octal(n: u64, width: usize) -> Vec<u8> {
    let mut s = format!("{n:0w$o}", w = width - 1).into_bytes();
    assert_eq!(s.len(), width - 1, "{n:o} does not fit in {width} bytes");
    s.push(0);
    s
}

/// Set the checksum field of a header block: `%06o\0 ` of the byte sum, the field
/// counted as spaces.
pub fn fix_checksum(h: &mut [u8]) {
    assert_eq!(h.len(), 512);
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// `data` zero-padded to a multiple of 512 bytes.
pub fn pad(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().next_multiple_of(512), 0);
    v
}

/// One PAX record, `"{len} {key}={value}\n"`, with the smallest self-consistent length.
pub fn pax_record(key: &str, value: impl AsRef<[u8]>) -> Vec<u8> {
    let mut body = format!("{key}=").into_bytes();
    body.extend_from_slice(value.as_ref());
    body.push(b'\n');
    let mut n = body.len() + 2;
    loop {
        let t = n.to_string().len() + 1 + body.len();
        if t == n {
            break;
        }
        n = t;
    }
    let mut out = format!("{n} ").into_bytes();
    out.extend_from_slice(&body);
    out
}

/// A PAX extended header (`x`) member named `PaxHeaders/f` holding these records.
pub fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
    pax_raw(b'x', &data)
}

/// An extension member of type `typeflag` (`x`, `g`, GNU `L`/`K`) with exactly this data.
pub fn pax_raw(typeflag: u8, data: &[u8]) -> Vec<u8> {
    let name: &[u8] = match typeflag {
        b'g' => b"pax_global_header",
        b'L' | b'K' => b"././@LongLink",
        _ => b"PaxHeaders/f",
    };
    let h = Hdr::new(name).typeflag(typeflag);
    let h = if matches!(typeflag, b'L' | b'K') {
        h.gnu()
    } else {
        h
    };
    h.member(data)
}

/// The members, then the two zero blocks of the end marker, zero-padded to a whole
/// 10240-byte record (as GNU tar writes it).
pub fn finish(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = parts.concat();
    out.extend_from_slice(&[0; 1024]);
    out.resize(out.len().next_multiple_of(10240), 0);
    out
}

/// Where the end marker of a tar archive starts: the offset of the first all-zero
/// header block (headers are walked by their octal size fields).
pub fn end_of_members(tar: &[u8]) -> usize {
    let mut off = 0;
    while off + 512 <= tar.len() {
        let h = &tar[off..off + 512];
        if h.iter().all(|&b| b == 0) {
            return off;
        }
        let size = std::str::from_utf8(&h[124..136])
            .unwrap()
            .trim_matches(|c: char| c == '\0' || c == ' ');
        let size = u64::from_str_radix(size, 8).unwrap() as usize;
        off += 512 + size.next_multiple_of(512);
    }
    panic!("no end marker");
}

/// A ustar header for a regular file (valid checksum), written by the `tar` crate.
pub fn file_header(name: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

/// A ustar header (the `tar` crate's) with a raw name and link name, anything up to 100
/// bytes (`..`, a leading `/`): mode 0644, uid/gid 0, mtime 1700000000, a valid
/// checksum.
pub fn raw_header(name: &[u8], kind: tar::EntryType, size: u64, link: &[u8]) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    assert!(name.len() <= 100 && link.len() <= 100);
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

/// Append `data` and zero padding up to the next 512-byte boundary.
pub fn push_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    let rem = out.len() % 512;
    if rem != 0 {
        out.resize(out.len() + 512 - rem, 0);
    }
}

/// A tar member, as read (raw header kept, so odd names and symlinks survive).
pub struct Member {
    pub header: tar::Header,
    pub data: Vec<u8>,
}

impl Member {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.header.path_bytes()).into_owned()
    }
}

/// The members of a tar archive (the `tar` crate reads it).
pub fn read_tar(b: &[u8]) -> Vec<Member> {
    use std::io::Read;
    let mut a = tar::Archive::new(b);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let header = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(Member { header, data });
    }
    out
}

/// A tar archive of these members (the `tar` crate writes it).
pub fn write_tar(members: &[Member]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        b.append(&m.header, &m.data[..]).unwrap();
    }
    b.into_inner().unwrap()
}
