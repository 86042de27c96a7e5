//! What the first bytes of something that is not a tar archive look like, for the
//! error that says so: a failed download (an HTML error page), a zip, an ELF binary,
//! plain text. Only the error uses it; nothing is read because of it.

/// A short description of what `head` (the first bytes of a decompressed stream) looks
/// like, or `None` when it looks like nothing in particular.
pub fn looks_like(head: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x7fELF", "an ELF binary"),
        (b"PK\x03\x04", "a zip archive (or jar, wheel, apk)"),
        (b"PK\x05\x06", "an empty zip archive"),
        (b"!<arch>\n", "an ar archive (or .deb)"),
        (b"070701", "a cpio archive"),
        (b"070707", "a cpio archive"),
        (b"\xed\xab\xee\xdb", "an rpm package"),
        (b"hsqs", "a squashfs image"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
        (b"Rar!\x1a\x07", "a rar archive"),
        (b"%PDF-", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"SQLite format 3\0", "an SQLite database"),
        (b"QFI\xfb", "a qcow2 disk image"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(what);
    }
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // A multi-byte character cut at the end of the sample is still text.
        let valid = std::str::from_utf8(head).err()?.valid_up_to();
        (head.len() - valid < 4).then(|| std::str::from_utf8(&head[..valid]).ok())?
    })?;
    if text.is_empty()
        || text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
    {
        return None;
    }
    let start = text.trim_start().to_ascii_lowercase();
    Some(
        if start.starts_with("<!doctype html") || start.starts_with("<html") {
            "an HTML page (a failed download?)"
        } else if start.starts_with("<?xml") {
            "an XML document"
        } else if start.starts_with('{') || start.starts_with('[') {
            "JSON text"
        } else {
            "text"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::looks_like;

    #[test]
    fn names_what_the_bytes_look_like() {
        assert_eq!(looks_like(b"\x7fELF\x02\x01\x01"), Some("an ELF binary"));
        assert_eq!(
            looks_like(b"PK\x03\x04\x14\0"),
            Some("a zip archive (or jar, wheel, apk)")
        );
        assert_eq!(looks_like(b"hello world\n"), Some("text"));
        assert_eq!(looks_like("caf\u{e9}\n".as_bytes()), Some("text"));
        assert_eq!(looks_like(&"caf\u{e9}".as_bytes()[..4]), Some("text"));
        assert_eq!(
            looks_like(b"\n<!DOCTYPE html><html>"),
            Some("an HTML page (a failed download?)")
        );
        assert_eq!(looks_like(b"{\"errors\":[]}"), Some("JSON text"));
        assert_eq!(looks_like(b"\0\0\x01binary"), None);
        assert_eq!(looks_like(b""), None);
    }
}
