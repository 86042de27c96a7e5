//! A member's framing digest: SHA-256 over every byte of the tar stream that belongs to
//! the member and is not its content (header blocks, extension headers and their data,
//! GNU sparse maps, a dumpdir's data), except that a value some other field compares is
//! replaced by the *spelling* it was written in.
//!
//! Why: strict mode must see every byte (a changed byte in a header's unused tail, a
//! number written with leading spaces instead of zeros, a checksum written as 7 digits
//! and a NUL instead of 6 digits, a NUL and a space), yet a difference the `mtime` field
//! already shows must not show again as a header difference, or a rule that hides
//! `mtime` would leave the header difference visible (and a rule that hid headers would
//! hide more than it names). So a byte range is left out only where its bytes follow
//! from values rdiff compares anyway, given the spelling recorded here:
//!
//! - a number read into a compared field (or equal to it, as the octal `mtime` of a
//!   header whose PAX record gives the exact time) contributes the shape of its digits
//!   (`0000644\0` and `0000755\0` have the same shape; `   644 \0` another one);
//! - the checksum contributes its shape, and whether it was summed signed or unsigned
//!   (its value follows from the rest of the block, which is all covered);
//! - an extension header's `size` contributes its shape (its value is the length of
//!   the data that follows, which is covered);
//! - a string read into a compared field contributes nothing for the value, and the
//!   bytes after its terminating NUL as they are;
//! - a PAX record whose value is the compared value, spelled the way rdiff would spell
//!   it, contributes its keyword; its length prefix likewise when it has no leading
//!   zeros.
//!
//! Everything else goes in as it is. Two members with equal framing digests and equal
//! compared fields are therefore byte-identical outside their contents.

use sha2::{Digest as _, Sha256};

use super::header::{BLOCK, off};
use crate::entry::{Digest, Kind, Timestamp};

/// Tags that keep the pieces fed to the hash apart.
mod tag {
    pub const RAW: u8 = 1;
    pub const SHAPE: u8 = 2;
    pub const MASKED: u8 = 3;
    pub const BLOCK: u8 = 4;
    pub const RECORD: u8 = 5;
    pub const SIGNED: u8 = 6;
    pub const DATA: u8 = 7;
}

/// Builds one member's framing digest.
pub struct Framing {
    sha: Sha256,
}

impl Default for Framing {
    fn default() -> Self {
        Framing { sha: Sha256::new() }
    }
}

impl Framing {
    fn put(&mut self, tag: u8, bytes: &[u8]) {
        self.sha.update([tag]);
        self.sha.update((bytes.len() as u64).to_le_bytes());
        self.sha.update(bytes);
    }

    /// Bytes that go in as they are.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.put(tag::RAW, bytes);
    }

    /// The padding after an extension header's data: its length follows from the data
    /// (covered), so zeros go in as a mark and anything else as it is.
    pub fn padding(&mut self, pad: &[u8]) {
        if pad.iter().all(|&b| b == 0) {
            self.put(tag::SHAPE, b"zeros");
        } else {
            self.raw(pad);
        }
    }

    /// Stored data that is not content (a dumpdir's): `data_start` with its length,
    /// then the bytes in chunks of any size.
    pub fn data_start(&mut self, len: u64) {
        self.sha.update([tag::DATA]);
        self.sha.update(len.to_le_bytes());
    }

    pub fn data(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
    }

    /// A numeric field by its spelling only: base-256 by its marker byte; octal with
    /// each run of digits replaced by its length.
    fn number_shape(&mut self, field: &[u8]) {
        if field.first().is_some_and(|b| b & 0x80 != 0) {
            self.put(tag::SHAPE, &[field[0]]);
            return;
        }
        // The number ends at the first NUL: digits after it are no part of the value,
        // so they go in as they are (a digit shape keeps every other byte as it is).
        let end = super::header::number_end(field);
        if !field[end..].iter().any(u8::is_ascii_digit) {
            self.put(tag::SHAPE, &digit_shape(field));
        } else {
            self.put(tag::SHAPE, &digit_shape(&field[..end]));
            self.raw(&field[end..]);
        }
    }

    /// A NUL-terminated string whose value is compared: the bytes from the NUL on (as a
    /// mark when they are all NULs, since their number follows from the value).
    pub fn string_rest(&mut self, field: &[u8]) {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        if field[end..].iter().all(|&b| b == 0) {
            self.put(tag::MASKED, b"nul-filled");
        } else {
            self.put(tag::MASKED, &field[end..]);
        }
    }

    /// One header block. `used` says which fields hold values compared elsewhere.
    pub fn block(&mut self, h: &[u8; BLOCK], used: &Used) {
        self.sha.update([tag::BLOCK]);
        let mut at = 0;
        let mut ranges: Vec<(std::ops::Range<usize>, How)> = vec![
            (off::MODE, pick(used.mode, How::Number)),
            (off::UID, pick(used.uid, How::Number)),
            (off::GID, pick(used.gid, How::Number)),
            (off::SIZE, pick(used.size, How::Number)),
            (off::MTIME, pick(used.mtime, How::Number)),
            (off::CHKSUM, How::Checksum),
            (off::LINKNAME, pick(used.linkname, How::String)),
            (off::UNAME, pick(used.uname, How::String)),
            (off::GNAME, pick(used.gname, How::String)),
            (off::DEVMAJOR, pick(used.dev, How::Number)),
            (off::DEVMINOR, pick(used.dev, How::Number)),
        ];
        match used.name {
            NameUse::Raw => {}
            NameUse::Name => ranges.insert(0, (off::NAME, How::String)),
            NameUse::NameAndPrefix => {
                ranges.insert(0, (off::NAME, How::SplitString));
                ranges.push((off::PREFIX, How::SplitString));
            }
        }
        if used.gnu_atime {
            ranges.push((off::GNU_ATIME, How::Number));
        }
        if used.gnu_ctime {
            ranges.push((off::GNU_CTIME, How::Number));
        }
        ranges.sort_by_key(|r| r.0.start);
        for (r, how) in ranges {
            if r.start > at {
                self.raw(&h[at..r.start]);
            }
            let f = &h[r.clone()];
            match how {
                How::Raw => self.raw(f),
                How::Number => self.number_shape(f),
                How::String => self.string_rest(f),
                How::SplitString => {
                    // Where a long path was split between prefix and name is a choice
                    // of the writer: the length of this part records it.
                    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
                    self.put(tag::SHAPE, &(end as u64).to_le_bytes());
                    self.string_rest(f);
                }
                How::Checksum => {
                    self.number_shape(f);
                    if signed_checksum(h) {
                        self.put(tag::SIGNED, &[]);
                    }
                }
            }
            at = r.end;
        }
        self.raw(&h[at..]);
    }

    /// The records of a PAX extended header, each value as `used` says (left out when
    /// it is a compared value in rdiff's own spelling), then what follows the last
    /// record (the NUL padding some writers add) as it is.
    pub fn pax(&mut self, data: &[u8], used: &mut dyn FnMut(&[u8], &[u8]) -> ValueUse) {
        let spans = match super::pax::record_spans(data) {
            Ok(s) => s,
            Err(_) => {
                self.raw(data);
                return;
            }
        };
        let mut end = 0;
        for s in &spans {
            self.sha.update([tag::RECORD]);
            // The length follows from the record, but not how many digits spell it
            // (`9 uid=12` and `10 uid=12` are both right), nor leading zeros.
            let len = &data[s.len.clone()];
            if len.first() == Some(&b'0') {
                self.raw(len);
            } else {
                self.put(tag::SHAPE, &(len.len() as u64).to_le_bytes());
            }
            let (k, v) = (&data[s.key.clone()], &data[s.value.clone()]);
            self.raw(k);
            match used(k, v) {
                ValueUse::Masked => self.put(tag::MASKED, &[]),
                ValueUse::Shape => self.put(tag::SHAPE, &digit_shape(v)),
                ValueUse::Raw => self.raw(v),
                ValueUse::Residue(r) => self.put(tag::SHAPE, &r),
            }
            end = s.value.end + 1;
        }
        self.raw(&data[end.min(data.len())..]);
    }

    pub fn finish(self) -> Digest {
        self.sha.finalize().into()
    }
}

/// `how` where the field holds a compared value, else the raw bytes.
fn pick(used: bool, how: How) -> How {
    if used { how } else { How::Raw }
}

#[derive(Clone, Copy)]
enum How {
    Raw,
    Number,
    String,
    SplitString,
    Checksum,
}

/// Where a member's path came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameUse {
    /// Not from this block (a PAX record or a GNU long name): the field is raw.
    #[default]
    Raw,
    /// The `name` field alone.
    Name,
    /// ustar `prefix` and `name`.
    NameAndPrefix,
}

/// Which fields of a header block hold values that rdiff compares elsewhere (so that
/// only their spelling goes into the framing digest).
#[derive(Clone, Copy, Debug, Default)]
pub struct Used {
    pub name: NameUse,
    pub mode: bool,
    pub uid: bool,
    pub gid: bool,
    pub size: bool,
    pub mtime: bool,
    pub linkname: bool,
    pub uname: bool,
    pub gname: bool,
    pub dev: bool,
    pub gnu_atime: bool,
    pub gnu_ctime: bool,
}

/// Each run of ASCII digits replaced by its length: tokens `[1, length as 8 bytes]`
/// for a run of digits and `[0, byte]` for any other byte (so that no byte of the
/// input can be taken for a run).
pub fn digit_shape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() * 2);
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(1);
            out.extend_from_slice(&((i - start) as u64).to_le_bytes());
        } else {
            out.push(0);
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Whether the stored checksum is the signed sum where the signed and unsigned sums
/// differ (some old writers summed signed bytes).
fn signed_checksum(h: &[u8; BLOCK]) -> bool {
    let Ok(stored) = super::header::parse_octal(&h[off::CHKSUM]) else {
        return false;
    };
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if off::CHKSUM.contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    stored == signed && signed != unsigned
}

/// The value of a numeric header field, when it parses.
pub fn field_value(h: &[u8; BLOCK], r: std::ops::Range<usize>) -> Option<i64> {
    super::header::parse_numeric(&h[r]).ok()
}

/// A PAX time as rdiff writes it (and GNU tar, Go and libarchive do): seconds, then a
/// dot and the nanoseconds without trailing zeros when there are any.
pub fn pax_time(t: Timestamp) -> Vec<u8> {
    let (neg, secs, nanos) = if t.secs < 0 && t.nanos > 0 {
        (true, (t.secs + 1).unsigned_abs(), 1_000_000_000 - t.nanos)
    } else {
        (t.secs < 0, t.secs.unsigned_abs(), t.nanos)
    };
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&secs.to_string());
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.into_bytes()
}

/// How a PAX time value goes into the digest: left out when it is `t` in rdiff's
/// spelling; `Shape` when it is `t` in another spelling (`1700000000.0`, as Python
/// writes float times; nine digits with trailing zeros): the caller leaves the value
/// out and keeps the spelling's shape aside (it is compared where the times are equal,
/// since a writer's spelling can depend on the time); as it is otherwise (a value that
/// is not the time compared, digits past nanoseconds).
pub fn time_use(v: &[u8], t: Option<Timestamp>) -> ValueUse {
    match t {
        Some(t) if v == pax_time(t).as_slice() => ValueUse::Masked,
        Some(t) if Timestamp::parse_pax(v) == Some(t) && fraction_digits(v) <= 9 => ValueUse::Shape,
        _ => ValueUse::Raw,
    }
}

fn fraction_digits(v: &[u8]) -> usize {
    v.iter()
        .position(|&b| b == b'.')
        .map_or(0, |i| v.len() - i - 1)
}

/// How a PAX record's value goes into the digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueUse {
    /// What is left of it once the compared values are taken out.
    Residue(Vec<u8>),
    /// Left out: it is a compared value in rdiff's own spelling.
    Masked,
    /// Its digit shape: a compared value in another spelling.
    Shape,
    /// As it is.
    Raw,
}

/// Whether a decimal PAX value is `n` written without leading zeros or signs.
pub fn decimal_used(v: &[u8], n: u64) -> bool {
    v == n.to_string().as_bytes()
}

/// A digit shape for people: each run of digits as `#` repeated (`##########.#`).
pub fn shape_text(shape: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < shape.len() {
        if shape[i] == 1 && i + 9 <= shape.len() {
            let mut n = [0u8; 8];
            n.copy_from_slice(&shape[i + 1..i + 9]);
            let n = u64::from_le_bytes(n);
            if n <= 64 {
                out.push_str(&"#".repeat(n as usize));
            } else {
                out.push_str(&format!("#×{n}"));
            }
            i += 9;
        } else {
            out.push_str(&crate::entry::display_bytes(
                shape.get(i + 1..i + 2).unwrap_or(&[]),
            ));
            i += 2;
        }
    }
    out
}

/// Whether a member kind carries device numbers that are compared.
pub fn has_device(k: Kind) -> bool {
    matches!(k, Kind::CharDevice | Kind::BlockDevice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_shapes() {
        assert_eq!(digit_shape(b"0000644\0"), digit_shape(b"0000755\0"));
        assert_ne!(digit_shape(b"0000644\0"), digit_shape(b"   644 \0"));
        assert_ne!(digit_shape(b"1.25"), digit_shape(b"1.5"));
        // A run's length is never cut: 300 digits and 280 are not one shape.
        assert_ne!(digit_shape(&[b'0'; 300]), digit_shape(&[b'0'; 280]));
        // No input byte reads as a run.
        assert_ne!(digit_shape(b"\x01\x07"), digit_shape(b"0000000"));
        assert_eq!(shape_text(&digit_shape(b"1700000000.0")), "##########.#");
    }

    #[test]
    fn pax_times_round_trip() {
        for (t, s) in [
            (Timestamp::from_secs(1_700_000_000), &b"1700000000"[..]),
            (
                Timestamp {
                    secs: 1,
                    nanos: 500_000_000,
                },
                b"1.5",
            ),
            (
                Timestamp {
                    secs: -2,
                    nanos: 500_000_000,
                },
                b"-1.5",
            ),
            (Timestamp { secs: 5, nanos: 1 }, b"5.000000001"),
        ] {
            assert_eq!(pax_time(t), s);
            assert_eq!(Timestamp::parse_pax(s), Some(t));
        }
        let t = Some(Timestamp::from_secs(1_700_000_000));
        assert_eq!(time_use(b"1700000000", t), ValueUse::Masked);
        assert_eq!(time_use(b"1700000000.0", t), ValueUse::Shape);
        assert_eq!(time_use(b"1700000000.0000000000", t), ValueUse::Raw);
        assert_eq!(time_use(b"1700000001", t), ValueUse::Raw);
    }
}
