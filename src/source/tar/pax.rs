//! PAX extended header records (`x` local, `g` global). Records are walked by their
//! decimal length prefix, never split on newlines: binary values such as
//! `SCHILY.xattr.security.capability` may contain `\n` bytes.

/// One record: key and raw value bytes.
pub type Record = (Vec<u8>, Vec<u8>);

/// Where one record lies in the header data: its length prefix, key and value (the
/// record ends with the newline after the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub len: std::ops::Range<usize>,
    pub key: std::ops::Range<usize>,
    pub value: std::ops::Range<usize>,
}

/// Parse the data of a PAX header into records, in order.
pub fn parse_records(data: &[u8]) -> Result<Vec<Record>, String> {
    Ok(record_spans(data)?
        .into_iter()
        .map(|s| (data[s.key].to_vec(), data[s.value].to_vec()))
        .collect())
}

/// Walk the records of PAX header data by their length prefixes.
pub fn record_spans(data: &[u8]) -> Result<Vec<Span>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        // GNU tar and others pad the header data with NULs; stop there.
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .filter(|&i| i > 0 && i <= 20)
            .ok_or_else(|| format!("PAX record at offset {pos} has no length prefix"))?;
        let len_txt = &rest[..sp];
        if !len_txt.iter().all(u8::is_ascii_digit) {
            return Err(format!(
                "PAX record at offset {pos} has a bad length prefix {:?}",
                String::from_utf8_lossy(len_txt)
            ));
        }
        let len: usize = std::str::from_utf8(len_txt)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("PAX record at offset {pos}: length out of range"))?;
        if len < sp + 3 || len > rest.len() {
            return Err(format!(
                "PAX record at offset {pos} claims {len} bytes but {} remain",
                rest.len()
            ));
        }
        let rec = &rest[..len];
        if rec[len - 1] != b'\n' {
            return Err(format!(
                "PAX record at offset {pos} (length {len}) does not end in a newline"
            ));
        }
        let body = &rec[sp + 1..len - 1];
        let eq = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| format!("PAX record at offset {pos} has no '='"))?;
        if eq == 0 {
            return Err(format!("PAX record at offset {pos} has an empty key"));
        }
        let body_at = pos + sp + 1;
        out.push(Span {
            len: pos..pos + sp,
            key: body_at..body_at + eq,
            value: body_at + eq + 1..pos + len - 1,
        });
        pos += len;
    }
    Ok(out)
}

/// Decode `%XX` escapes (libarchive URL-encodes xattr names in `LIBARCHIVE.xattr.*`).
pub fn url_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Decode base64 with or without `=` padding (libarchive omits it).
pub fn base64_decode(v: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{
        DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose,
    };
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let _ = general_purpose::STANDARD;
    ENGINE.decode(v).ok()
}

/// Parse a decimal unsigned PAX value.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, value: &[u8]) -> Vec<u8> {
        let body_len = key.len() + 1 + value.len() + 1;
        let mut n = body_len + 2;
        loop {
            let total = n.to_string().len() + 1 + body_len;
            if total == n {
                break;
            }
            n = total;
        }
        let mut out = format!("{n} {key}=").into_bytes();
        out.extend_from_slice(value);
        out.push(b'\n');
        out
    }

    #[test]
    fn binary_value_with_newline_survives() {
        let cap = [
            1u8, 0, 0, 2, 0x0a, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut data = rec("path", b"usr/bin/ping");
        data.extend(rec("SCHILY.xattr.security.capability", &cap));
        data.extend(rec("mtime", b"1700000000.5"));
        let recs = parse_records(&data).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[1].0, b"SCHILY.xattr.security.capability");
        assert_eq!(recs[1].1, cap);
        assert_eq!(recs[2], (b"mtime".to_vec(), b"1700000000.5".to_vec()));
    }

    #[test]
    fn value_may_contain_equals_and_trailing_nul_padding_is_ignored() {
        let mut data = rec("comment", b"a=b");
        data.extend([0u8; 30]);
        let recs = parse_records(&data).unwrap();
        assert_eq!(recs, vec![(b"comment".to_vec(), b"a=b".to_vec())]);
    }

    #[test]
    fn wrong_length_prefix_is_an_error() {
        assert!(parse_records(b"30 path=x\n").is_err());
        assert!(parse_records(b"8 path=x\n").is_err()); // one short: no newline at its end
        assert!(parse_records(b"9 path=x\n").is_ok());
        assert!(parse_records(b"x path=x\n").is_err());
        assert!(parse_records(b"11 pathxxx\n").is_err());
        assert!(parse_records(b"4 =\n").is_err());
    }

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode(b"user.a%3Db"), b"user.a=b");
        assert_eq!(url_decode(b"user.%"), b"user.%");
        assert_eq!(url_decode(b"100%zz"), b"100%zz");
    }
}
