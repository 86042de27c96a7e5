//! Decoding of metadata values whose raw bytes mean little to a reader:
//! `security.capability` (into the capabilities it grants, as getcap prints them) and
//! POSIX ACLs (binary `system.posix_acl_*` xattrs and the text forms GNU tar and bsdtar
//! write), brought to one canonical text so that equal ACLs compare equal whoever wrote
//! them.

/// Capability names by number (linux/capability.h).
const CAPS: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

fn cap_name(n: u32) -> String {
    match CAPS.get(n as usize) {
        Some(s) => format!("cap_{s}"),
        None => format!("cap_{n}"),
    }
}

/// Decode a `security.capability` value (struct vfs_cap_data, v1/v2/v3) into getcap's
/// notation, e.g. `cap_net_admin,cap_net_raw=ep`. `None` if the bytes are not valid.
pub fn decode_capability(v: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u32> {
        v.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = word(0)?;
    let effective = magic & 1 != 0;
    let (perm, inh, rootid) = match (magic & 0xff00_0000, v.len()) {
        (0x0100_0000, 12) => (u64::from(word(1)?), u64::from(word(2)?), None),
        (0x0200_0000, 20) => (
            u64::from(word(1)?) | (u64::from(word(3)?) << 32),
            u64::from(word(2)?) | (u64::from(word(4)?) << 32),
            None,
        ),
        (0x0300_0000, 24) => (
            u64::from(word(1)?) | (u64::from(word(3)?) << 32),
            u64::from(word(2)?) | (u64::from(word(4)?) << 32),
            Some(word(5)?),
        ),
        _ => return None,
    };
    if magic & 0x00ff_fffe != 0 {
        return None;
    }
    // Group capabilities with the same flags, in capability order of first appearance.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for n in 0..64u32 {
        let p = perm >> n & 1 == 1;
        let i = inh >> n & 1 == 1;
        if !p && !i {
            continue;
        }
        let mut flags = String::new();
        if effective {
            flags.push('e');
        }
        if i {
            flags.push('i');
        }
        if p {
            flags.push('p');
        }
        match groups.iter_mut().find(|(f, _)| *f == flags) {
            Some((_, names)) => names.push(cap_name(n)),
            None => groups.push((flags, vec![cap_name(n)])),
        }
    }
    let mut out = if groups.is_empty() {
        "=".to_string()
    } else {
        groups
            .iter()
            .map(|(f, names)| format!("{}={f}", names.join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Some(r) = rootid {
        out.push_str(&format!(" [rootid={r}]"));
    }
    Some(out)
}

/// Decode a binary `system.posix_acl_access` / `_default` xattr into canonical text.
pub fn decode_posix_acl_xattr(v: &[u8]) -> Option<String> {
    if v.len() < 4 || !(v.len() - 4).is_multiple_of(8) {
        return None;
    }
    if u32::from_le_bytes([v[0], v[1], v[2], v[3]]) != 2 {
        return None;
    }
    let mut entries = Vec::new();
    for e in v[4..].chunks_exact(8) {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        let perm = u16::from_le_bytes([e[2], e[3]]);
        let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        let (tag, qual) = match tag {
            0x01 => (Tag::UserObj, String::new()),
            0x02 => (Tag::User, id.to_string()),
            0x04 => (Tag::GroupObj, String::new()),
            0x08 => (Tag::Group, id.to_string()),
            0x10 => (Tag::Mask, String::new()),
            0x20 => (Tag::Other, String::new()),
            _ => return None,
        };
        entries.push(AclEntry {
            tag,
            qual,
            perm: perm_text(perm & 4 != 0, perm & 2 != 0, perm & 1 != 0),
        });
    }
    Some(render(entries))
}

/// The binary `system.posix_acl_*` value the Linux kernel writes for an ACL in
/// canonical text (entries sorted by tag and id; `ACL_UNDEFINED_ID` for the owner,
/// group, mask and other entries): with [`decode_posix_acl_xattr`], tells whether a
/// stored value is fully described by its text.
pub fn encode_posix_acl_xattr(text: &str) -> Option<Vec<u8>> {
    let mut out = 2u32.to_le_bytes().to_vec();
    for e in text.split(',') {
        let f: Vec<&str> = e.split(':').collect();
        let [tag, qual, perm] = f[..] else {
            return None;
        };
        let (t, id): (u16, u32) = match (tag, qual.is_empty()) {
            ("user", true) => (0x01, u32::MAX),
            ("user", false) => (0x02, qual.parse().ok()?),
            ("group", true) => (0x04, u32::MAX),
            ("group", false) => (0x08, qual.parse().ok()?),
            ("mask", true) => (0x10, u32::MAX),
            ("other", true) => (0x20, u32::MAX),
            _ => return None,
        };
        let p = perm.as_bytes();
        if p.len() != 3 {
            return None;
        }
        let bits =
            u16::from(p[0] == b'r') << 2 | u16::from(p[1] == b'w') << 1 | u16::from(p[2] == b'x');
        out.extend(t.to_le_bytes());
        out.extend(bits.to_le_bytes());
        out.extend(id.to_le_bytes());
    }
    Some(out)
}

/// An ACL text with each entry's permissions masked (`***`), when its entries carry,
/// in order, the same kinds of tag and the same permissions as `canonical` (the ACL
/// compared): what is left (names, separators) is what the comparison does not show.
/// `None` when the text does not line up with `canonical`.
pub fn acl_text_residue(text: &[u8], canonical: &str) -> Option<Vec<u8>> {
    let want: Vec<(&str, bool, &str)> = canonical
        .split(',')
        .map(|e| {
            let f: Vec<&str> = e.split(':').collect();
            (
                f[0],
                f.get(1).is_some_and(|q| !q.is_empty()),
                f.get(2).copied().unwrap_or(""),
            )
        })
        .collect();
    let text = std::str::from_utf8(text).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    for raw in text.split_inclusive([',', '\n']) {
        let (body, sep) = match raw.chars().last() {
            Some(c @ (',' | '\n')) => (&raw[..raw.len() - 1], Some(c)),
            _ => (raw, None),
        };
        if body.is_empty() {
            out.push_str(raw);
            continue;
        }
        // `tag:qualifier:perms`, and bsdtar's `tag:name:perms:id`.
        let f: Vec<&str> = body.split(':').collect();
        if f.len() != 3 && f.len() != 4 {
            return None;
        }
        let tag = match f[0] {
            "user" | "u" => "user",
            "group" | "g" => "group",
            "mask" | "m" => "mask",
            "other" | "o" => "other",
            _ => return None,
        };
        let (wt, wq, wp) = *want.get(n)?;
        if tag != wt || wq == f[1].is_empty() || f[2] != wp {
            return None;
        }
        n += 1;
        out.push_str(&format!("{}:{}:***", f[0], f[1]));
        if let Some(id) = f.get(3) {
            out.push(':');
            out.push_str(id);
        }
        if let Some(c) = sep {
            out.push(c);
        }
    }
    (n == want.len()).then(|| out.into_bytes())
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tag {
    UserObj,
    User,
    GroupObj,
    Group,
    Mask,
    Other,
}

#[derive(Debug)]
struct AclEntry {
    tag: Tag,
    qual: String,
    perm: String,
}

fn perm_text(r: bool, w: bool, x: bool) -> String {
    let mut s = String::with_capacity(3);
    s.push(if r { 'r' } else { '-' });
    s.push(if w { 'w' } else { '-' });
    s.push(if x { 'x' } else { '-' });
    s
}

fn render(mut entries: Vec<AclEntry>) -> String {
    entries.sort_by(|a, b| {
        a.tag.cmp(&b.tag).then_with(|| {
            // numeric qualifiers in numeric order, names after numbers
            match (a.qual.parse::<u64>(), b.qual.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                (Ok(_), Err(_)) => std::cmp::Ordering::Less,
                (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
                _ => a.qual.cmp(&b.qual),
            }
        })
    });
    entries
        .iter()
        .map(|e| {
            let t = match e.tag {
                Tag::UserObj | Tag::User => "user",
                Tag::GroupObj | Tag::Group => "group",
                Tag::Mask => "mask",
                Tag::Other => "other",
            };
            format!("{t}:{}:{}", e.qual, e.perm)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Bring a POSIX.1e ACL in text form (GNU tar's `SCHILY.acl.*`, bsdtar's, or
/// getfacl's: entries separated by `,` or newlines, `#` comments, long or short tag
/// names, an optional numeric id as fourth field) to canonical text:
/// `user::rw-,user:1000:r-x,group::r--,mask::r-x,other::r--`. Text that does not parse
/// is returned unchanged, so it is still compared.
pub fn canonical_acl_text(v: &[u8]) -> String {
    let text = String::from_utf8_lossy(v);
    let mut entries = Vec::new();
    for raw in text.split([',', '\n']) {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(':').map(str::trim).collect();
        if f.len() < 3 || f.len() > 4 {
            return text.into_owned();
        }
        let qual = match f.get(3) {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => id.to_string(),
            _ => f[1].to_string(),
        };
        let tag = match (f[0], qual.is_empty()) {
            ("user" | "u", true) => Tag::UserObj,
            ("user" | "u", false) => Tag::User,
            ("group" | "g", true) => Tag::GroupObj,
            ("group" | "g", false) => Tag::Group,
            ("mask" | "m", _) => Tag::Mask,
            ("other" | "o", _) => Tag::Other,
            _ => return text.into_owned(),
        };
        let p = f[2];
        if !p.bytes().all(|b| b"rwx-".contains(&b)) {
            return text.into_owned();
        }
        entries.push(AclEntry {
            tag,
            qual: if matches!(tag, Tag::User | Tag::Group) {
                qual
            } else {
                String::new()
            },
            perm: perm_text(p.contains('r'), p.contains('w'), p.contains('x')),
        });
    }
    render(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(perm: u64, inh: u64, eff: bool) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((0x0200_0000u32 | u32::from(eff)).to_le_bytes());
        v.extend((perm as u32).to_le_bytes());
        v.extend((inh as u32).to_le_bytes());
        v.extend(((perm >> 32) as u32).to_le_bytes());
        v.extend(((inh >> 32) as u32).to_le_bytes());
        v
    }

    #[test]
    fn capability_as_getcap_prints_it() {
        assert_eq!(
            decode_capability(&v2(1 << 13, 0, true)).unwrap(),
            "cap_net_raw=ep"
        );
        assert_eq!(
            decode_capability(&v2(1 << 12 | 1 << 13, 0, true)).unwrap(),
            "cap_net_admin,cap_net_raw=ep"
        );
        assert_eq!(
            decode_capability(&v2(1 << 13, 1 << 21, false)).unwrap(),
            "cap_net_raw=p cap_sys_admin=i"
        );
        assert_eq!(
            decode_capability(&v2(1 << 39, 0, true)).unwrap(),
            "cap_bpf=ep"
        );
        let mut v3 = v2(1, 0, true);
        v3[3] = 0x03;
        v3.extend(1000u32.to_le_bytes());
        assert_eq!(
            decode_capability(&v3).unwrap(),
            "cap_chown=ep [rootid=1000]"
        );
        assert_eq!(decode_capability(b"garbage"), None);
        assert_eq!(decode_capability(&v2(1, 0, true)[..19]), None);
    }

    #[test]
    fn acl_text_forms_agree() {
        let gnu = b"user::rw-\nuser:1000:r-x\ngroup::r--\nmask::r-x\nother::r--\n";
        let getfacl = b"# file: x\nuser::rw-\nuser:1000:r-x\t#effective:r-x\ngroup::r--\nmask::r-x\nother::r--";
        let bsd = b"user::rw-,user:alice:r-x:1000,group::r--,mask::r-x,other::r--";
        let short = b"u::rw,u:1000:rx,g::r,m::rx,o::r";
        let want = "user::rw-,user:1000:r-x,group::r--,mask::r-x,other::r--";
        for t in [&gnu[..], getfacl, bsd, short] {
            assert_eq!(
                canonical_acl_text(t),
                want,
                "{}",
                String::from_utf8_lossy(t)
            );
        }
        // Order of entries does not matter.
        assert_eq!(
            canonical_acl_text(b"other::r--,group::r--,user::rw-"),
            "user::rw-,group::r--,other::r--"
        );
        // Garbage is kept as it is.
        assert_eq!(canonical_acl_text(b"what is this"), "what is this");
    }

    #[test]
    fn binary_acl_xattr() {
        let mut v = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (1u16, 6u16, u32::MAX),
            (2, 5, 1000),
            (4, 4, u32::MAX),
            (0x10, 5, u32::MAX),
            (0x20, 4, u32::MAX),
        ] {
            v.extend(tag.to_le_bytes());
            v.extend(perm.to_le_bytes());
            v.extend(id.to_le_bytes());
        }
        assert_eq!(
            decode_posix_acl_xattr(&v).unwrap(),
            "user::rw-,user:1000:r-x,group::r--,mask::r-x,other::r--"
        );
        assert_eq!(decode_posix_acl_xattr(&v[..7]), None);
    }
}
