//! The 512-byte tar header block: field offsets, numbers (octal and base-256, with
//! checked arithmetic), strings, checksum, magic.

use crate::entry::HeaderFormat;

pub const BLOCK: usize = 512;

/// Field ranges of the ustar header (and the GNU variant where it differs).
pub mod off {
    use std::ops::Range;
    pub const NAME: Range<usize> = 0..100;
    pub const MODE: Range<usize> = 100..108;
    pub const UID: Range<usize> = 108..116;
    pub const GID: Range<usize> = 116..124;
    pub const SIZE: Range<usize> = 124..136;
    pub const MTIME: Range<usize> = 136..148;
    pub const CHKSUM: Range<usize> = 148..156;
    pub const TYPEFLAG: usize = 156;
    pub const LINKNAME: Range<usize> = 157..257;
    pub const MAGIC: Range<usize> = 257..263;
    pub const VERSION: Range<usize> = 263..265;
    pub const UNAME: Range<usize> = 265..297;
    pub const GNAME: Range<usize> = 297..329;
    pub const DEVMAJOR: Range<usize> = 329..337;
    pub const DEVMINOR: Range<usize> = 337..345;
    pub const PREFIX: Range<usize> = 345..500;
    // GNU
    pub const GNU_ATIME: Range<usize> = 345..357;
    pub const GNU_CTIME: Range<usize> = 357..369;
    pub const GNU_SPARSE: Range<usize> = 386..482;
    pub const GNU_ISEXTENDED: usize = 482;
    pub const GNU_REALSIZE: Range<usize> = 483..495;
}

/// A header block, borrowed.
pub struct Header<'a>(pub &'a [u8; BLOCK]);

/// Why a numeric field could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum NumError {
    NotOctal,
    Overflow,
}

impl<'a> Header<'a> {
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    pub fn format(&self) -> HeaderFormat {
        let magic = &self.0[off::MAGIC];
        if magic == b"ustar\0" {
            HeaderFormat::Ustar
        } else if magic == b"ustar " && &self.0[off::VERSION] == b" \0" {
            HeaderFormat::Gnu
        } else {
            HeaderFormat::V7
        }
    }

    /// Verify the checksum: the stored octal value must equal the sum of all header
    /// bytes with the checksum field counted as spaces (unsigned, or signed as some
    /// old writers computed it).
    pub fn checksum_ok(&self) -> bool {
        let Ok(stored) = parse_octal(&self.0[off::CHKSUM]) else {
            return false;
        };
        let mut unsigned: i64 = 0;
        let mut signed: i64 = 0;
        for (i, &b) in self.0.iter().enumerate() {
            let b = if off::CHKSUM.contains(&i) { b' ' } else { b };
            unsigned += i64::from(b);
            signed += i64::from(b as i8);
        }
        stored == unsigned || stored == signed
    }

    pub fn typeflag(&self) -> u8 {
        self.0[off::TYPEFLAG]
    }

    pub fn field(&self, r: std::ops::Range<usize>) -> &'a [u8] {
        cstr(&self.0[r])
    }

    pub fn num(&self, r: std::ops::Range<usize>) -> Result<i64, NumError> {
        parse_numeric(&self.0[r])
    }

    /// The member name from `name` and, for ustar/pax headers, `prefix`.
    pub fn path(&self, fmt: HeaderFormat) -> (Vec<u8>, bool) {
        let name = self.field(off::NAME);
        if fmt == HeaderFormat::Ustar {
            let prefix = self.field(off::PREFIX);
            if !prefix.is_empty() {
                let mut p = Vec::with_capacity(prefix.len() + 1 + name.len());
                p.extend_from_slice(prefix);
                p.push(b'/');
                p.extend_from_slice(name);
                return (p, true);
            }
        }
        (name.to_vec(), false)
    }
}

/// The bytes of a NUL-terminated field.
pub fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(i) => &field[..i],
        None => field,
    }
}

/// Parse a numeric header field: octal text, or base-256 (GNU/star) when the high bit
/// of the first byte is set (0x80 positive, 0xff negative, two's complement).
pub fn parse_numeric(field: &[u8]) -> Result<i64, NumError> {
    match field.first() {
        Some(&b) if b & 0x80 != 0 => parse_base256(field),
        _ => parse_octal(field),
    }
}

fn parse_base256(field: &[u8]) -> Result<i64, NumError> {
    let negative = field[0] == 0xff;
    let mut v: i128 = if negative {
        -1
    } else {
        i128::from(field[0] & 0x7f)
    };
    for &b in &field[1..] {
        v = v
            .checked_mul(256)
            .and_then(|v| v.checked_add(i128::from(b)))
            .ok_or(NumError::Overflow)?;
        if v > i128::from(i64::MAX) || v < i128::from(i64::MIN) {
            return Err(NumError::Overflow);
        }
    }
    i64::try_from(v).map_err(|_| NumError::Overflow)
}

/// Octal digits, read as GNU tar, bsdtar and Python's tarfile read them: a NUL ends the
/// field (what follows it is no part of the number), spaces may stand around the
/// digits, and a field with no digits before its first NUL (all NULs, or leading NULs
/// before digits, as libarchive's timestamp-overflow archive has) is 0. Go's
/// archive/tar skips leading NULs instead; the other three agree.
pub fn parse_octal(field: &[u8]) -> Result<i64, NumError> {
    let text = &field[..number_end(field)];
    let mut i = 0;
    while i < text.len() && text[i] == b' ' {
        i += 1;
    }
    let mut v: i64 = 0;
    while i < text.len() && (b'0'..=b'7').contains(&text[i]) {
        v = v
            .checked_mul(8)
            .and_then(|v| v.checked_add(i64::from(text[i] - b'0')))
            .ok_or(NumError::Overflow)?;
        i += 1;
    }
    if text[i..].iter().all(|&b| b == b' ') {
        Ok(v)
    } else {
        Err(NumError::NotOctal)
    }
}

/// Where an octal field's text ends: at its first NUL, or at its end.
pub fn number_end(field: &[u8]) -> usize {
    field.iter().position(|&b| b == 0).unwrap_or(field.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_fields() {
        assert_eq!(parse_octal(b"0000644\0"), Ok(0o644));
        assert_eq!(parse_octal(b"   644 \0"), Ok(0o644));
        assert_eq!(parse_octal(b"\0\0\0\0\0\0\0\0"), Ok(0));
        assert_eq!(parse_octal(b"00000000000\0"), Ok(0));
        assert_eq!(parse_octal(b"0000x44\0"), Err(NumError::NotOctal));
        // A NUL ends the number: leading NULs make it 0 (libarchive's
        // timestamp-overflow size field, read as 0 by GNU tar, bsdtar and Python),
        // and what follows a NUL is no part of it.
        assert_eq!(parse_octal(b"\0\0\0\0\0\0\0 0016\0"), Ok(0));
        assert_eq!(parse_octal(b"   \x000644\0"), Ok(0));
        assert_eq!(parse_octal(b"0000644\0xyz"), Ok(0o644));
        assert_eq!(parse_octal(b"0006 44\0"), Err(NumError::NotOctal));
        assert_eq!(
            parse_octal(b"7777777777777777777777777"),
            Err(NumError::Overflow)
        );
    }

    #[test]
    fn base256_fields() {
        // 8 GiB size as GNU tar writes it: 0x80 then big-endian bytes.
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[7] = 0x02; // 2 << 32 = 8 GiB
        assert_eq!(parse_numeric(&f), Ok(8 << 30));
        // -1 in 12 bytes of 0xff.
        assert_eq!(parse_numeric(&[0xff; 12]), Ok(-1));
        // -2
        let mut g = [0xffu8; 8];
        g[7] = 0xfe;
        assert_eq!(parse_numeric(&g), Ok(-2));
        // Too large for i64.
        let mut h = [0xffu8; 12];
        h[0] = 0x80;
        assert_eq!(parse_numeric(&h), Err(NumError::Overflow));
        // Negative beyond i64::MIN.
        let mut n = [0u8; 12];
        n[0] = 0xff;
        assert_eq!(parse_numeric(&n), Err(NumError::Overflow));
    }
}
