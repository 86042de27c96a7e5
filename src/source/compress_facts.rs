//! The parameters a compressed stream's headers carry (codec settings, not content), worked
//! out while the compressed bytes stream past, so that strict mode can say where two inputs
//! differ "from the outside in", starting with the compression.
//!
//! * zstd, xz and bzip2: a [`Tap`] ([`ZstdTap`], [`XzTap`], [`Bzip2Tap`]) is fed the raw bytes
//!   in order, in chunks of any size. It walks headers only: frame and block bodies are
//!   skipped by counting, so the cost is O(headers), not O(bytes). (xz also keeps a bounded
//!   tail, since its index is at the end.) [`Tapped`] feeds a tap from a reader.
//! * gzip: member boundaries are only known by decoding, so [`GzMembers`] is the decoder: it
//!   decodes multi-member gzip one member at a time and reads each member's header as the
//!   decoder consumes it. [`GzFacts`] gives the params afterwards.
//!
//! Inputs may be hostile: nothing here panics, allocates without bound or loops on garbage.
//! Garbage ends the parse; the decoder elsewhere reports the error.

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flate2::bufread::GzDecoder;

/// One compression parameter as shown in reports: a stable snake_case name and a display value.
pub type Param = (&'static str, String);

/// Observes the raw (compressed) bytes of one stream, in order, exactly once each, in chunks of any size
/// (1 byte to megabytes), and works out the parameters its headers carry. Must cost O(number of frames/blocks/headers),
/// not O(bytes): block and frame bodies are skipped by counting, never copied or scanned byte by byte.
pub trait Tap {
    fn feed(&mut self, chunk: &[u8]);
    fn params(&self) -> Vec<Param>;
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// How many distinct values a per-frame / per-member param lists before ", ...".
const MAX_DISTINCT: usize = 4;

/// The distinct values of a per-frame (per-member, per-stream) field, in order of first
/// appearance, at most `MAX_DISTINCT` of them.
#[derive(Clone, Debug)]
struct Distinct<T> {
    vals: Vec<T>,
    more: bool,
}

impl<T> Default for Distinct<T> {
    fn default() -> Self {
        Distinct {
            vals: Vec::new(),
            more: false,
        }
    }
}

impl<T: PartialEq> Distinct<T> {
    fn add(&mut self, v: T) {
        if self.vals.contains(&v) {
            return;
        }
        if self.vals.len() < MAX_DISTINCT {
            self.vals.push(v);
        } else {
            self.more = true;
        }
    }

    fn show(&self, f: impl Fn(&T) -> String) -> String {
        let mut s = String::new();
        for (i, v) in self.vals.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&f(v));
        }
        if self.more {
            s.push_str(", ...");
        }
        s
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// An exact size: in the largest binary unit that divides it ("8 MiB", "1536 KiB"), else
/// in bytes ("1310721 bytes").
fn size_str(n: u64) -> String {
    for (shift, unit) in [(40u32, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        let u = 1u64 << shift;
        if n >= u && n.is_multiple_of(u) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn le_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

/// Little-endian unsigned integer of up to 8 bytes.
fn le_uint(b: &[u8]) -> u64 {
    b.iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

const CRC32_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 (IEEE, as in gzip and xz).
fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC32_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gathers a fixed number of header bytes across chunk boundaries (at most `N`).
#[derive(Clone, Debug)]
struct Gather<const N: usize> {
    buf: [u8; N],
    have: usize,
    want: usize,
}

impl<const N: usize> Gather<N> {
    fn new(want: usize) -> Self {
        Gather {
            buf: [0; N],
            have: 0,
            want: want.min(N),
        }
    }

    fn reset(&mut self, want: usize) {
        self.have = 0;
        self.want = want.min(N);
    }

    /// Takes what it still needs from the front of `data`; true once complete.
    fn take(&mut self, data: &mut &[u8]) -> bool {
        let need = self.want.saturating_sub(self.have);
        let n = need.min(data.len());
        self.buf[self.have..self.have + n].copy_from_slice(&data[..n]);
        self.have += n;
        *data = &data[n..];
        self.have >= self.want
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.have]
    }
}

// ---------------------------------------------------------------------------------------
// zstd (RFC 8878)
// ---------------------------------------------------------------------------------------

const ZSTD_MAGIC: u32 = 0xFD2F_B528;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ZStep {
    /// 4 bytes: a zstd or skippable frame's magic.
    Magic,
    /// 1 byte: the frame header descriptor.
    Descriptor,
    /// The rest of the frame header (window descriptor, dictionary id, content size).
    HeaderRest,
    /// 4 bytes: a skippable frame's size.
    SkippableSize,
    /// 3 bytes: a block header.
    BlockHeader,
    /// Skipping `skip_left` bytes, then `after_skip`.
    Skip,
    /// Garbage: the parse has ended.
    Dead,
}

/// Walks the frames and blocks of a zstd stream (see [`Tap`]).
#[derive(Clone, Debug)]
pub struct ZstdTap {
    step: ZStep,
    gather: Gather<8>,
    skip_left: u64,
    after_skip: ZStep,
    descriptor: u8,
    frame_checksum: bool,
    frames: u64,
    skippable: u64,
    blocks: u64,
    window: Distinct<u64>,
    single_segment: Distinct<bool>,
    content_size: Distinct<bool>,
    checksum: Distinct<bool>,
    dictionary: Distinct<Option<u32>>,
}

impl Default for ZstdTap {
    fn default() -> Self {
        Self::new()
    }
}

impl ZstdTap {
    pub fn new() -> Self {
        ZstdTap {
            step: ZStep::Magic,
            gather: Gather::new(4),
            skip_left: 0,
            after_skip: ZStep::Magic,
            descriptor: 0,
            frame_checksum: false,
            frames: 0,
            skippable: 0,
            blocks: 0,
            window: Distinct::default(),
            single_segment: Distinct::default(),
            content_size: Distinct::default(),
            checksum: Distinct::default(),
            dictionary: Distinct::default(),
        }
    }

    fn go(&mut self, step: ZStep) {
        self.step = step;
        let want = match step {
            ZStep::Magic | ZStep::SkippableSize => 4,
            ZStep::Descriptor => 1,
            ZStep::BlockHeader => 3,
            ZStep::HeaderRest | ZStep::Skip | ZStep::Dead => 0,
        };
        self.gather.reset(want);
    }

    fn skip_then(&mut self, n: u64, next: ZStep) {
        if n == 0 {
            self.go(next);
        } else {
            self.skip_left = n;
            self.after_skip = next;
            self.step = ZStep::Skip;
        }
    }

    /// The gathered bytes of the current step are complete.
    fn complete(&mut self) {
        let mut b = [0u8; 8];
        let n = self.gather.have;
        b[..n].copy_from_slice(self.gather.bytes());
        let b = &b[..n];
        match self.step {
            ZStep::Magic => {
                let m = le_u32(b).unwrap_or(0);
                if m == ZSTD_MAGIC {
                    self.go(ZStep::Descriptor);
                } else if m & 0xFFFF_FFF0 == 0x184D_2A50 {
                    self.go(ZStep::SkippableSize);
                } else {
                    self.go(ZStep::Dead);
                }
            }
            ZStep::SkippableSize => {
                self.skippable = self.skippable.saturating_add(1);
                let size = u64::from(le_u32(b).unwrap_or(0));
                self.skip_then(size, ZStep::Magic);
            }
            ZStep::Descriptor => {
                let d = b.first().copied().unwrap_or(0);
                if d & 0x08 != 0 {
                    // The reserved bit must be zero.
                    self.go(ZStep::Dead);
                    return;
                }
                self.descriptor = d;
                let rest = header_rest_len(d);
                self.step = ZStep::HeaderRest;
                self.gather.reset(rest);
                if rest == 0 {
                    self.frame_header(&[]);
                }
            }
            ZStep::HeaderRest => {
                self.frame_header(b);
            }
            ZStep::BlockHeader => {
                let h = le_uint(b);
                let last = h & 1 != 0;
                let kind = (h >> 1) & 3;
                let size = h >> 3;
                self.blocks = self.blocks.saturating_add(1);
                let body = match kind {
                    0 | 2 => size, // raw, compressed
                    1 => 1,        // RLE: one byte
                    _ => {
                        // Reserved block type.
                        self.go(ZStep::Dead);
                        return;
                    }
                };
                if last {
                    let check = if self.frame_checksum { 4 } else { 0 };
                    self.skip_then(body.saturating_add(check), ZStep::Magic);
                } else {
                    self.skip_then(body, ZStep::BlockHeader);
                }
            }
            ZStep::Skip | ZStep::Dead => {}
        }
    }

    /// `rest` is the frame header after its descriptor.
    fn frame_header(&mut self, rest: &[u8]) {
        let d = self.descriptor;
        let single = d & 0x20 != 0;
        let checksum = d & 0x04 != 0;
        let did_len = [0usize, 1, 2, 4][usize::from(d & 3)];
        let fcs_len = fcs_len(d);
        let mut i = 0;
        let mut window = 0u64;
        if !single {
            let wd = rest.first().copied().unwrap_or(0);
            let log = 10 + u32::from(wd >> 3);
            let base = 1u64 << log;
            window = base + (base >> 3) * u64::from(wd & 7);
            i = 1;
        }
        let dict = if did_len > 0 {
            let v = le_uint(rest.get(i..i + did_len).unwrap_or(&[]));
            i += did_len;
            Some(u32::try_from(v).unwrap_or(u32::MAX))
        } else {
            None
        };
        if fcs_len > 0 {
            let mut v = le_uint(rest.get(i..i + fcs_len).unwrap_or(&[]));
            if fcs_len == 2 {
                v += 256;
            }
            if single {
                window = v;
            }
        }
        self.frames = self.frames.saturating_add(1);
        self.window.add(window);
        self.single_segment.add(single);
        self.content_size.add(fcs_len > 0);
        self.checksum.add(checksum);
        self.dictionary.add(dict);
        self.frame_checksum = checksum;
        self.go(ZStep::BlockHeader);
    }
}

fn fcs_len(descriptor: u8) -> usize {
    match descriptor >> 6 {
        0 => usize::from(descriptor & 0x20 != 0),
        1 => 2,
        2 => 4,
        _ => 8,
    }
}

/// Bytes of the frame header after the descriptor.
fn header_rest_len(descriptor: u8) -> usize {
    let window = usize::from(descriptor & 0x20 == 0);
    let did = [0usize, 1, 2, 4][usize::from(descriptor & 3)];
    window + did + fcs_len(descriptor)
}

impl Tap for ZstdTap {
    fn feed(&mut self, chunk: &[u8]) {
        let mut data = chunk;
        while !data.is_empty() {
            match self.step {
                ZStep::Dead => return,
                ZStep::Skip => {
                    let n = usize::try_from(self.skip_left)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    data = &data[n..];
                    self.skip_left -= n as u64;
                    if self.skip_left == 0 {
                        self.go(self.after_skip);
                    }
                }
                _ => {
                    if self.gather.take(&mut data) {
                        self.complete();
                    }
                }
            }
        }
    }

    fn params(&self) -> Vec<Param> {
        let mut p: Vec<Param> = vec![("frames", self.frames.to_string())];
        if self.skippable > 0 {
            p.push(("skippable_frames", self.skippable.to_string()));
        }
        if self.frames > 0 {
            p.push(("window_size", self.window.show(|w| size_str(*w))));
            p.push(("single_segment", self.single_segment.show(|b| yes_no(*b))));
            p.push((
                "content_size",
                self.content_size
                    .show(|b| if *b { "recorded" } else { "not recorded" }.to_string()),
            ));
            p.push(("checksum", self.checksum.show(|b| yes_no(*b))));
            p.push((
                "dictionary_id",
                self.dictionary
                    .show(|d| d.map_or_else(|| "none".to_string(), |v| v.to_string())),
            ));
        }
        p.push(("blocks", self.blocks.to_string()));
        p
    }
}

// ---------------------------------------------------------------------------------------
// xz
// ---------------------------------------------------------------------------------------

const XZ_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0x00];
const XZ_FOOTER_MAGIC: [u8; 2] = [b'Y', b'Z'];

/// Default size of the tail an [`XzTap`] keeps to find the index.
pub const XZ_TAIL: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum XStep {
    StreamHeader,
    BlockHeaderSize,
    BlockHeader,
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Filters {
    Unknown,
    /// The first stream has no blocks.
    NoBlocks,
    Chain(String),
}

/// Reads an xz stream's header and first block header as they pass, and keeps a bounded
/// tail to read the stream footer(s) and index(es) from at `params()` time (see [`Tap`]).
#[derive(Clone, Debug)]
pub struct XzTap {
    step: XStep,
    gather: Gather<1024>,
    check: Option<u8>,
    filters: Filters,
    tail: Vec<u8>,
    tail_limit: usize,
    total: u64,
}

impl Default for XzTap {
    fn default() -> Self {
        Self::new()
    }
}

impl XzTap {
    /// Keeps the last [`XZ_TAIL`] bytes.
    pub fn new() -> Self {
        Self::with_tail_limit(XZ_TAIL)
    }

    /// Keeps the last `limit` bytes (the index must lie in them for `streams` and `blocks`).
    pub fn with_tail_limit(limit: usize) -> Self {
        XzTap {
            step: XStep::StreamHeader,
            gather: Gather::new(12),
            check: None,
            filters: Filters::Unknown,
            tail: Vec::new(),
            tail_limit: limit,
            total: 0,
        }
    }

    fn keep_tail(&mut self, chunk: &[u8]) {
        let lim = self.tail_limit;
        if lim == 0 {
            return;
        }
        if chunk.len() >= lim {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - lim..]);
            return;
        }
        // Let the buffer grow to twice the limit, then drop all but `lim` bytes at once:
        // each byte is moved O(1) times.
        let after = self.tail.len() + chunk.len();
        if after > lim.saturating_mul(2) {
            let drop = (after - lim).min(self.tail.len());
            self.tail.drain(..drop);
        }
        self.tail.extend_from_slice(chunk);
    }

    fn complete(&mut self) {
        let b = self.gather.bytes();
        match self.step {
            XStep::StreamHeader => {
                if b[..6] != XZ_MAGIC || b[6] != 0 || b[7] & 0xF0 != 0 {
                    self.step = XStep::Done;
                    return;
                }
                self.check = Some(b[7] & 0x0F);
                self.step = XStep::BlockHeaderSize;
                self.gather.reset(1);
            }
            XStep::BlockHeaderSize => {
                let s = b[0];
                if s == 0 {
                    // The index indicator: this stream has no blocks.
                    self.filters = Filters::NoBlocks;
                    self.step = XStep::Done;
                    return;
                }
                self.step = XStep::BlockHeader;
                // The size byte is kept: it is part of the header (and its CRC).
                self.gather.want = ((usize::from(s) + 1) * 4).min(1024);
            }
            XStep::BlockHeader => {
                if let Some(f) = parse_block_header(b) {
                    self.filters = Filters::Chain(f);
                }
                self.step = XStep::Done;
            }
            XStep::Done => {}
        }
    }

    /// Walks the tail backwards: stream padding, footer, index, and the blocks before it,
    /// stream by stream to the start of the input. Returns (streams, blocks, check types
    /// in stream order), or None when any of that is not in the tail or is not valid.
    fn walk_back(&self) -> Option<(u64, u64, Distinct<u8>)> {
        let lim = self.tail_limit.min(self.tail.len());
        let tail = &self.tail[self.tail.len() - lim..];
        let start = self.total.checked_sub(tail.len() as u64)?;
        let at = |abs: u64, len: u64| -> Option<&[u8]> {
            let rel = usize::try_from(abs.checked_sub(start)?).ok()?;
            let len = usize::try_from(len).ok()?;
            tail.get(rel..rel.checked_add(len)?)
        };
        let mut end = self.total;
        let mut streams = 0u64;
        let mut blocks = 0u64;
        let mut checks: Vec<u8> = Vec::new();
        loop {
            // Stream padding (multiples of four zero bytes) may follow a stream.
            while end >= 4 && at(end - 4, 4)? == [0, 0, 0, 0] {
                end -= 4;
            }
            let footer = at(end.checked_sub(12)?, 12)?;
            if footer[10..12] != XZ_FOOTER_MAGIC
                || crc32(&footer[4..10]) != le_u32(footer)?
                || footer[8] != 0
                || footer[9] & 0xF0 != 0
            {
                return None;
            }
            let index_len = (u64::from(le_u32(&footer[4..8])?) + 1) * 4;
            let index_start = (end - 12).checked_sub(index_len)?;
            let (records, blocks_len) = parse_index(at(index_start, index_len)?)?;
            let stream_start = index_start.checked_sub(blocks_len)?.checked_sub(12)?;
            // The stream header, when in the tail, must match the footer.
            if let Some(h) = at(stream_start, 12)
                && (h[..6] != XZ_MAGIC || h[6..8] != footer[8..10])
            {
                return None;
            }
            streams = streams.saturating_add(1);
            blocks = blocks.saturating_add(records);
            checks.push(footer[9] & 0x0F);
            end = stream_start;
            if end == 0 {
                let mut d = Distinct::default();
                for c in checks.iter().rev() {
                    d.add(*c);
                }
                return Some((streams, blocks, d));
            }
        }
    }
}

/// An xz multibyte integer at `*i`.
fn xz_varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for k in 0..9 {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7F) << (7 * k);
        if byte & 0x80 == 0 {
            if k > 0 && byte == 0 {
                return None;
            }
            return Some(v);
        }
    }
    None
}

/// An xz index (indicator to CRC32): (number of records, size of the blocks it describes).
fn parse_index(idx: &[u8]) -> Option<(u64, u64)> {
    if idx.first() != Some(&0) {
        return None;
    }
    let mut i = 1;
    let count = xz_varint(idx, &mut i)?;
    let mut blocks_len = 0u64;
    let mut n = 0u64;
    while n < count {
        // Each record takes at least two bytes, so this ends within the index.
        let unpadded = xz_varint(idx, &mut i)?;
        let _uncompressed = xz_varint(idx, &mut i)?;
        if unpadded == 0 {
            return None;
        }
        blocks_len = blocks_len.checked_add(unpadded.checked_add(3)? & !3)?;
        n += 1;
    }
    while i % 4 != 0 {
        if *idx.get(i)? != 0 {
            return None;
        }
        i += 1;
    }
    if idx.len() != i.checked_add(4)? || crc32(&idx[..i]) != le_u32(&idx[i..])? {
        return None;
    }
    Some((count, blocks_len))
}

/// A block header (from its size byte to its CRC32): the filter chain, for display.
fn parse_block_header(h: &[u8]) -> Option<String> {
    let body = h.get(..h.len().checked_sub(4)?)?;
    let flags = *body.get(1)?;
    if flags & 0x3C != 0 {
        return None;
    }
    let mut i = 2;
    if flags & 0x40 != 0 {
        xz_varint(body, &mut i)?; // compressed size
    }
    if flags & 0x80 != 0 {
        xz_varint(body, &mut i)?; // uncompressed size
    }
    let mut names = Vec::new();
    for _ in 0..=(flags & 3) {
        let id = xz_varint(body, &mut i)?;
        let len = usize::try_from(xz_varint(body, &mut i)?).ok()?;
        let props = body.get(i..i.checked_add(len)?)?;
        i += len;
        names.push(filter_name(id, props));
    }
    Some(names.join(", "))
}

fn lzma2_dictionary(p: u8) -> u64 {
    if p >= 40 {
        u64::from(u32::MAX)
    } else {
        (2 | u64::from(p & 1)) << (u32::from(p / 2) + 11)
    }
}

fn filter_name(id: u64, props: &[u8]) -> String {
    let bcj = match id {
        0x04 => Some("x86"),
        0x05 => Some("PowerPC"),
        0x06 => Some("IA-64"),
        0x07 => Some("ARM"),
        0x08 => Some("ARM-Thumb"),
        0x09 => Some("SPARC"),
        0x0A => Some("ARM64"),
        0x0B => Some("RISC-V"),
        _ => None,
    };
    if let Some(name) = bcj {
        return match props {
            [] => name.to_string(),
            [a, b, c, d] => format!(
                "{name} (start offset {})",
                u32::from_le_bytes([*a, *b, *c, *d])
            ),
            _ => format!("{name} (properties {})", hex(props)),
        };
    }
    match (id, props) {
        (0x21, [p]) if *p <= 40 => {
            format!("LZMA2 (dictionary {})", size_str(lzma2_dictionary(*p)))
        }
        (0x21, _) => format!("LZMA2 (properties {})", hex(props)),
        (0x03, [d]) => format!("delta (distance {})", u32::from(*d) + 1),
        (0x03, _) => format!("delta (properties {})", hex(props)),
        (_, []) => format!("filter 0x{id:X}"),
        (_, _) => format!("filter 0x{id:X} (properties {})", hex(props)),
    }
}

fn xz_check_name(c: u8) -> String {
    match c {
        0x00 => "none".to_string(),
        0x01 => "CRC32".to_string(),
        0x04 => "CRC64".to_string(),
        0x0A => "SHA-256".to_string(),
        n => format!("type {n}"),
    }
}

impl Tap for XzTap {
    fn feed(&mut self, chunk: &[u8]) {
        self.total = self.total.saturating_add(chunk.len() as u64);
        self.keep_tail(chunk);
        let mut data = chunk;
        while !data.is_empty() && self.step != XStep::Done {
            if self.gather.take(&mut data) {
                self.complete();
            }
        }
    }

    fn params(&self) -> Vec<Param> {
        let walk = self.walk_back();
        let unknown = || "unknown".to_string();
        let check = match (&walk, self.check) {
            (Some((_, _, checks)), _) => checks.show(|c| xz_check_name(*c)),
            (None, Some(c)) => xz_check_name(c),
            (None, None) => unknown(),
        };
        let filters = match &self.filters {
            Filters::Unknown => unknown(),
            Filters::NoBlocks => "none".to_string(),
            Filters::Chain(s) => s.clone(),
        };
        vec![
            (
                "streams",
                walk.as_ref().map_or_else(unknown, |w| w.0.to_string()),
            ),
            ("check", check),
            ("filters", filters),
            (
                "blocks",
                walk.as_ref().map_or_else(unknown, |w| w.1.to_string()),
            ),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// bzip2
// ---------------------------------------------------------------------------------------

/// Reads a bzip2 stream's header ("BZh" and the block size digit). Streams are not counted:
/// bzip2 blocks are bit-aligned, so finding them would mean scanning every byte.
#[derive(Clone, Debug)]
pub struct Bzip2Tap {
    gather: Gather<4>,
}

impl Default for Bzip2Tap {
    fn default() -> Self {
        Self::new()
    }
}

impl Bzip2Tap {
    pub fn new() -> Self {
        Bzip2Tap {
            gather: Gather::new(4),
        }
    }
}

impl Tap for Bzip2Tap {
    fn feed(&mut self, chunk: &[u8]) {
        let mut data = chunk;
        self.gather.take(&mut data);
    }

    fn params(&self) -> Vec<Param> {
        let value = match self.gather.bytes() {
            [b'B', b'Z', b'h', d @ b'1'..=b'9'] => format!("{}00k", char::from(*d)),
            _ => "unknown".to_string(),
        };
        vec![("block_size", value)]
    }
}

// ---------------------------------------------------------------------------------------
// Feeding a tap from a reader
// ---------------------------------------------------------------------------------------

/// A shared handle on a tap that a [`Tapped`] reader feeds, to ask for its params later
/// (after the reader has been boxed inside other readers, or dropped).
#[derive(Clone)]
pub struct TapHandle(Arc<Mutex<dyn Tap + Send>>);

impl TapHandle {
    pub fn params(&self) -> Vec<Param> {
        lock(&self.0).params()
    }
}

/// A reader that feeds every byte it passes on (by `read`, or by `fill_buf`) to a tap, once
/// each and in order. Put it right on the compressed input, below the decoder.
pub struct Tapped<R, T> {
    inner: R,
    tap: Arc<Mutex<T>>,
    /// Bytes at the front of `inner`'s buffer that the tap has already been fed.
    ahead: usize,
}

impl<R, T: Tap + Send + 'static> Tapped<R, T> {
    pub fn new(inner: R, tap: T) -> (Self, TapHandle) {
        let tap = Arc::new(Mutex::new(tap));
        let handle = TapHandle(tap.clone());
        (
            Tapped {
                inner,
                tap,
                ahead: 0,
            },
            handle,
        )
    }
}

impl<R: Read, T: Tap> Read for Tapped<R, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // A buffered reader hands out what it holds first: the tap may have seen that.
        let seen = self.ahead.min(n);
        self.ahead -= seen;
        if n > seen {
            lock(&self.tap).feed(&buf[seen..n]);
        }
        Ok(n)
    }
}

impl<R: BufRead, T: Tap> BufRead for Tapped<R, T> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let b = self.inner.fill_buf()?;
        if b.len() > self.ahead {
            lock(&self.tap).feed(&b[self.ahead..]);
            self.ahead = b.len();
        }
        Ok(b)
    }

    fn consume(&mut self, amt: usize) {
        self.ahead = self.ahead.saturating_sub(amt);
        self.inner.consume(amt);
    }
}

// ---------------------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------------------

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// How many bytes of a gzip FNAME or FCOMMENT are kept for display.
const GZ_FIELD_KEEP: usize = 1024;

#[derive(Clone, Debug, Default)]
struct GzField {
    kept: Vec<u8>,
    len: u64,
}

impl GzField {
    fn push(&mut self, bytes: &[u8]) {
        let room = GZ_FIELD_KEEP.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..room.min(bytes.len())]);
        self.len = self.len.saturating_add(bytes.len() as u64);
    }

    /// Quoted, with escapes: exact (different bytes give different text), and never
    /// confused with "none".
    fn show(&self) -> String {
        let mut s = String::from("\"");
        escape_into(&self.kept, &mut s);
        if self.len > self.kept.len() as u64 {
            s.push_str(&format!("...\" ({} bytes)", self.len));
        } else {
            s.push('"');
        }
        s
    }
}

/// Lossless display of bytes that are mostly UTF-8: invalid bytes as \xNN, control and
/// bidirectional-formatting characters escaped, and `"` and `\` escaped.
fn escape_into(bytes: &[u8], s: &mut String) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                    s.push_str(&format!("\\u{{{:x}}}", u32::from(c)))
                }
                c if c.is_control() => s.extend(c.escape_default()),
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
}

#[derive(Clone, Debug)]
enum GzStep {
    Fixed,
    Xlen,
    Extra(u16),
    Name,
    Comment,
    HeaderCrc,
    Done,
    Bad,
}

/// One gzip member's header, parsed from the bytes the decoder consumes.
#[derive(Clone, Debug)]
struct GzHead {
    step: GzStep,
    gather: Gather<10>,
    flags: u8,
    mtime: u32,
    xfl: u8,
    os: u8,
    extra: Option<u16>,
    name: Option<GzField>,
    comment: Option<GzField>,
}

impl GzHead {
    fn new() -> Self {
        GzHead {
            step: GzStep::Fixed,
            gather: Gather::new(10),
            flags: 0,
            mtime: 0,
            xfl: 0,
            os: 0,
            extra: None,
            name: None,
            comment: None,
        }
    }

    fn finished(&self) -> bool {
        matches!(self.step, GzStep::Done | GzStep::Bad)
    }

    /// Goes on after FEXTRA (or where it would be): FNAME, FCOMMENT, FHCRC, as flagged.
    fn next_after_extra(&mut self) {
        self.step = GzStep::Name;
        self.advance();
    }

    /// Skips the optional parts that are not flagged.
    fn advance(&mut self) {
        loop {
            match self.step {
                GzStep::Name if self.flags & FNAME == 0 => self.step = GzStep::Comment,
                GzStep::Comment if self.flags & FCOMMENT == 0 => self.step = GzStep::HeaderCrc,
                GzStep::HeaderCrc if self.flags & FHCRC == 0 => self.step = GzStep::Done,
                GzStep::Name => {
                    self.name.get_or_insert_with(GzField::default);
                    return;
                }
                GzStep::Comment => {
                    self.comment.get_or_insert_with(GzField::default);
                    return;
                }
                GzStep::HeaderCrc => {
                    self.gather.reset(2);
                    return;
                }
                _ => return,
            }
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.step {
                GzStep::Done | GzStep::Bad => return,
                GzStep::Fixed => {
                    if self.gather.take(&mut data) {
                        let b = self.gather.bytes();
                        if b[..3] != [0x1f, 0x8b, 8] {
                            self.step = GzStep::Bad;
                            return;
                        }
                        self.flags = b[3];
                        self.mtime = le_u32(&b[4..8]).unwrap_or(0);
                        self.xfl = b[8];
                        self.os = b[9];
                        if self.flags & FEXTRA != 0 {
                            self.step = GzStep::Xlen;
                            self.gather.reset(2);
                        } else {
                            self.next_after_extra();
                        }
                    }
                }
                GzStep::Xlen => {
                    if self.gather.take(&mut data) {
                        let b = self.gather.bytes();
                        let xlen = u16::from_le_bytes([b[0], b[1]]);
                        self.extra = Some(xlen);
                        if xlen == 0 {
                            self.next_after_extra();
                        } else {
                            self.step = GzStep::Extra(xlen);
                        }
                    }
                }
                GzStep::Extra(left) => {
                    let n = usize::from(left).min(data.len());
                    data = &data[n..];
                    // n <= left, which is a u16.
                    let left = left - n as u16;
                    if left == 0 {
                        self.next_after_extra();
                    } else {
                        self.step = GzStep::Extra(left);
                    }
                }
                GzStep::Name | GzStep::Comment => {
                    let end = data.iter().position(|&b| b == 0);
                    let part = &data[..end.unwrap_or(data.len())];
                    let is_name = matches!(self.step, GzStep::Name);
                    let field = if is_name {
                        &mut self.name
                    } else {
                        &mut self.comment
                    };
                    field.get_or_insert_with(GzField::default).push(part);
                    match end {
                        Some(e) => {
                            data = &data[e + 1..];
                            self.step = if is_name {
                                GzStep::Comment
                            } else {
                                GzStep::HeaderCrc
                            };
                            self.advance();
                        }
                        None => data = &[],
                    }
                }
                GzStep::HeaderCrc => {
                    if self.gather.take(&mut data) {
                        self.step = GzStep::Done;
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct GzSeen {
    members: u64,
    mtime: Distinct<u32>,
    xfl: Distinct<u8>,
    os: Distinct<u8>,
    name: Distinct<String>,
    comment: Distinct<String>,
    extra: Distinct<Option<u16>>,
    header_crc: Distinct<bool>,
}

/// What the headers of the members of one gzip stream say, filled in by a [`GzMembers`]
/// as it decodes. Cloneable: keep one and ask for `params()` when decoding is done.
#[derive(Clone, Debug, Default)]
pub struct GzFacts(Arc<Mutex<GzSeen>>);

fn gz_os_name(os: u8) -> Option<&'static str> {
    Some(match os {
        0 => "FAT",
        1 => "Amiga",
        2 => "VMS",
        3 => "Unix",
        4 => "VM/CMS",
        5 => "Atari TOS",
        6 => "HPFS",
        7 => "Macintosh",
        8 => "Z-System",
        9 => "CP/M",
        10 => "TOPS-20",
        11 => "NTFS",
        12 => "QDOS",
        13 => "Acorn RISCOS",
        255 => "unknown",
        _ => return None,
    })
}

impl GzFacts {
    fn record(&self, h: &GzHead) {
        let mut s = lock(&self.0);
        s.members = s.members.saturating_add(1);
        s.mtime.add(h.mtime);
        s.xfl.add(h.xfl);
        s.os.add(h.os);
        s.name.add(
            h.name
                .as_ref()
                .map_or_else(|| "none".to_string(), GzField::show),
        );
        s.comment.add(
            h.comment
                .as_ref()
                .map_or_else(|| "none".to_string(), GzField::show),
        );
        s.extra.add(h.extra);
        s.header_crc.add(h.flags & FHCRC != 0);
    }

    /// Members whose header was read whole, and what their headers say.
    pub fn params(&self) -> Vec<Param> {
        let s = lock(&self.0);
        let mut p: Vec<Param> = vec![("members", s.members.to_string())];
        if s.members == 0 {
            return p;
        }
        p.push(("mtime", s.mtime.show(|m| m.to_string())));
        p.push((
            "xfl",
            s.xfl.show(|x| match x {
                2 => "2 (maximum compression)".to_string(),
                4 => "4 (fastest)".to_string(),
                x => x.to_string(),
            }),
        ));
        p.push((
            "os",
            s.os.show(|o| match gz_os_name(*o) {
                Some(n) => format!("{o} ({n})"),
                None => o.to_string(),
            }),
        ));
        p.push(("name", s.name.show(String::clone)));
        p.push(("comment", s.comment.show(String::clone)));
        p.push((
            "extra",
            s.extra.show(|e| match e {
                None => "none".to_string(),
                Some(n) => format!("{n} bytes"),
            }),
        ));
        p.push(("header_crc", s.header_crc.show(|b| yes_no(*b))));
        p
    }
}

/// The input of one member's decoder: passes everything through, counts what is consumed,
/// and shows the header parser the bytes consumed while the header is being read.
struct Watch<R> {
    inner: R,
    head: Option<GzHead>,
    facts: GzFacts,
    pos: u64,
}

impl<R> Watch<R> {
    fn observe(head: &mut Option<GzHead>, facts: &GzFacts, bytes: &[u8]) {
        if let Some(h) = head {
            h.feed(bytes);
            if h.finished() {
                if matches!(h.step, GzStep::Done) {
                    facts.record(h);
                }
                *head = None;
            }
        }
    }
}

impl<R: Read> Read for Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        Self::observe(&mut self.head, &self.facts, &buf[..n]);
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Watch<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if self.head.is_some() {
            // The bytes being consumed are the front of the buffer just handed out.
            if let Ok(b) = self.inner.fill_buf() {
                let k = amt.min(b.len());
                Self::observe(&mut self.head, &self.facts, &b[..k]);
            }
        }
        self.inner.consume(amt);
        self.pos = self.pos.saturating_add(amt as u64);
    }
}

/// Decodes a multi-member gzip stream (like `flate2::bufread::MultiGzDecoder`), one member
/// at a time with `flate2::bufread::GzDecoder`, and reads each member's header (FLG, MTIME,
/// XFL, OS, FEXTRA, FNAME, FCOMMENT, FHCRC) from the bytes the decoder consumes for it.
/// [`GzMembers::facts`] gives a handle for the params.
pub struct GzMembers<R: BufRead> {
    member: Option<GzDecoder<Watch<R>>>,
    between: Option<Watch<R>>,
    /// Where the current member started.
    start: u64,
    facts: GzFacts,
    finished: bool,
    failed: bool,
}

impl<R: BufRead> GzMembers<R> {
    /// Starts on the first member (as `MultiGzDecoder::new` does, also when `r` is empty).
    pub fn new(r: R) -> Self {
        let facts = GzFacts::default();
        let watch = Watch {
            inner: r,
            head: Some(GzHead::new()),
            facts: facts.clone(),
            pos: 0,
        };
        GzMembers {
            member: Some(GzDecoder::new(watch)),
            between: None,
            start: 0,
            facts,
            finished: false,
            failed: false,
        }
    }

    /// A handle on the params of the members' headers, filled in as they are read.
    pub fn facts(&self) -> GzFacts {
        self.facts.clone()
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.failed {
            return Err(io::Error::other("gzip: read after an earlier error"));
        }
        loop {
            if let Some(mut d) = self.member.take() {
                match d.read(buf) {
                    Ok(0) => {
                        let w = d.into_inner();
                        let moved = w.pos > self.start;
                        self.between = Some(w);
                        if !moved {
                            self.finished = true;
                        }
                    }
                    Ok(n) => {
                        self.member = Some(d);
                        return Ok(n);
                    }
                    Err(e) => {
                        if e.kind() != io::ErrorKind::Interrupted {
                            self.failed = true;
                        }
                        self.member = Some(d);
                        return Err(e);
                    }
                }
            }
            if self.finished {
                return Ok(0);
            }
            let Some(mut w) = self.between.take() else {
                return Ok(0);
            };
            match w.inner.fill_buf() {
                Ok([]) => {
                    self.finished = true;
                    self.between = Some(w);
                    return Ok(0);
                }
                Ok(_) => {}
                Err(e) => {
                    self.between = Some(w);
                    return Err(e);
                }
            }
            // Another member follows.
            self.start = w.pos;
            w.head = Some(GzHead::new());
            self.member = Some(GzDecoder::new(w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Write};
    use std::process::{Command, Stdio};

    // -- helpers ------------------------------------------------------------------------

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            if n == 0 { 0 } else { self.next() % n }
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// Deterministic, compressible but not trivial input (text lines with numbers).
    fn sample(len: usize) -> Vec<u8> {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let mut v = Vec::with_capacity(len + 64);
        let mut i = 0u64;
        while v.len() < len {
            writeln!(v, "row {i} value {} {:x}", r.below(1000), r.next() >> 40).unwrap();
            i += 1;
        }
        v.truncate(len);
        v
    }

    /// Whether `tool` can be run; when not, says so (or panics under RDIFF_REQUIRE_TOOLS=1).
    fn have(tool: &str) -> bool {
        let ok = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var("RDIFF_REQUIRE_TOOLS").as_deref() == Ok("1") {
                panic!("{tool} is required (RDIFF_REQUIRE_TOOLS=1) but cannot be run");
            }
            eprintln!("SKIPPED: `{tool}` is not installed; this test checks nothing");
        }
        ok
    }

    /// Runs `tool args` with `input` on a pipe (so the tool does not know its size) and
    /// returns its standard output.
    fn pipe(tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
        let mut child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Runs `tool args file` in `dir` (the tool sees a named file) and returns stdout.
    fn on_file(tool: &str, args: &[&str], dir: &std::path::Path, file: &str) -> Vec<u8> {
        let out = Command::new(tool)
            .args(args)
            .arg(file)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A temporary directory holding `data.tar` (the sample) with a fixed mtime.
    fn data_dir(data: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.tar");
        std::fs::write(&path, data).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .unwrap();
        dir
    }

    /// Feeds `bytes` whole, in 1-byte chunks and in random-sized chunks (several seeds);
    /// asserts all give the same params, and returns them.
    fn tap_params<T: Tap>(make: impl Fn() -> T, bytes: &[u8]) -> Vec<Param> {
        let mut whole = make();
        whole.feed(bytes);
        let want = whole.params();

        let mut ones = make();
        for b in bytes {
            ones.feed(std::slice::from_ref(b));
        }
        assert_eq!(ones.params(), want, "1-byte chunks");

        for seed in 1..=4u64 {
            let mut r = Rng(seed * 0x1234_5678_9ABC_DEF1);
            let mut t = make();
            let mut rest = bytes;
            while !rest.is_empty() {
                // Mostly small chunks, sometimes large ones, sometimes empty ones.
                let max = match r.below(4) {
                    0 => 1 << 16,
                    1 => 7,
                    _ => 300,
                };
                let n = (r.below(max + 1) as usize).min(rest.len());
                t.feed(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(t.params(), want, "random chunks, seed {seed}");
        }
        want
    }

    fn zstd_params(bytes: &[u8]) -> Vec<Param> {
        let mut t = ZstdTap::new();
        t.feed(bytes);
        // The walk over frame headers, block headers and checksums ends exactly at the end.
        assert_eq!(
            (t.step, t.gather.have),
            (ZStep::Magic, 0),
            "ends between frames"
        );
        tap_params(ZstdTap::new, bytes)
    }
    fn xz_params(bytes: &[u8]) -> Vec<Param> {
        tap_params(XzTap::new, bytes)
    }
    fn bz_params(bytes: &[u8]) -> Vec<Param> {
        tap_params(Bzip2Tap::new, bytes)
    }

    fn get<'a>(p: &'a [Param], name: &str) -> &'a str {
        p.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no param {name} in {p:?}"))
    }

    fn names(p: &[Param]) -> Vec<&'static str> {
        p.iter().map(|(n, _)| *n).collect()
    }

    /// A reader that hands out random-sized pieces.
    struct Trickle<'a> {
        data: &'a [u8],
        rng: Rng,
        max: u64,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (1 + self.rng.below(self.max) as usize)
                .min(buf.len())
                .min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Reads all of `r` in random-sized reads.
    fn read_all(mut r: impl Read, seed: u64) -> io::Result<Vec<u8>> {
        let mut rng = Rng(seed);
        let mut out = Vec::new();
        let mut buf = vec![0u8; 70_000];
        loop {
            let n = 1 + rng.below(buf.len() as u64) as usize;
            match r.read(&mut buf[..n])? {
                0 => return Ok(out),
                k => out.extend_from_slice(&buf[..k]),
            }
        }
    }

    /// Decodes `gz` with `GzMembers` through differently sized buffers; asserts the output
    /// is MultiGzDecoder's and the params are the same every time; returns (output, params).
    fn gz_decode(gz: &[u8]) -> (Vec<u8>, Vec<Param>) {
        let mut expect = Vec::new();
        flate2::bufread::MultiGzDecoder::new(gz)
            .read_to_end(&mut expect)
            .unwrap();

        let m = GzMembers::new(gz);
        let facts = m.facts();
        let out = read_all(m, 1).unwrap();
        assert_eq!(out, expect);
        let want = facts.params();

        let configs: [(usize, u64); 4] = [(1, 1), (3, 5), (64, 1000), (8192, 20_000)];
        for (i, (cap, max)) in configs.into_iter().enumerate() {
            let src = Trickle {
                data: gz,
                rng: Rng(77 + i as u64),
                max,
            };
            let m = GzMembers::new(BufReader::with_capacity(cap, src));
            let facts = m.facts();
            let out = read_all(m, 2 + i as u64).unwrap();
            assert_eq!(out, expect, "buffer {cap}");
            assert_eq!(facts.params(), want, "buffer {cap}");
        }
        (expect, want)
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    // -- zstd ---------------------------------------------------------------------------

    #[test]
    fn zstd_levels_from_a_pipe_differ_in_window() {
        if !have("zstd") {
            return;
        }
        let data = sample(600_000);
        let fast = zstd_params(&pipe("zstd", &["-3", "-c"], &data));
        let best = zstd_params(&pipe("zstd", &["-19", "-c"], &data));
        assert_eq!(
            names(&fast),
            [
                "frames",
                "window_size",
                "single_segment",
                "content_size",
                "checksum",
                "dictionary_id",
                "blocks"
            ]
        );
        assert_eq!(get(&fast, "frames"), "1");
        assert_eq!(get(&fast, "window_size"), "2 MiB");
        assert_eq!(get(&best, "window_size"), "8 MiB");
        assert_eq!(get(&fast, "single_segment"), "no");
        assert_eq!(get(&fast, "content_size"), "not recorded");
        assert_eq!(get(&fast, "checksum"), "yes");
        assert_eq!(get(&fast, "dictionary_id"), "none");
        // 600 kB in blocks of at most 128 KiB.
        assert!(
            get(&fast, "blocks").parse::<u64>().unwrap() >= 5,
            "{fast:?}"
        );
        assert_ne!(fast, best);
        // Same settings, same params.
        assert_eq!(fast, zstd_params(&pipe("zstd", &["-3", "-c"], &data)));
    }

    #[test]
    fn zstd_long_window() {
        if !have("zstd") {
            return;
        }
        let data = sample(300_000);
        let p = zstd_params(&pipe("zstd", &["--long=27", "-c"], &data));
        assert_eq!(get(&p, "window_size"), "128 MiB");
    }

    #[test]
    fn zstd_no_check() {
        if !have("zstd") {
            return;
        }
        let data = sample(300_000);
        let with = zstd_params(&pipe("zstd", &["-c"], &data));
        let without = zstd_params(&pipe("zstd", &["--no-check", "-c"], &data));
        assert_eq!(get(&with, "checksum"), "yes");
        assert_eq!(get(&without, "checksum"), "no");
        let differing: Vec<_> = with
            .iter()
            .zip(&without)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0)
            .collect();
        assert_eq!(differing, ["checksum"]);
    }

    #[test]
    fn zstd_content_size() {
        if !have("zstd") {
            return;
        }
        let data = sample(300_000);
        let dir = data_dir(&data);
        // From a named file zstd knows the size and records it by default.
        let file = zstd_params(&on_file(
            "zstd",
            &["-c", "--content-size"],
            dir.path(),
            "data.tar",
        ));
        let no = zstd_params(&on_file(
            "zstd",
            &["-c", "--no-content-size"],
            dir.path(),
            "data.tar",
        ));
        assert_eq!(get(&file, "content_size"), "recorded");
        assert_eq!(get(&no, "content_size"), "not recorded");
        // From a pipe the size is unknown, so --content-size cannot record it...
        let piped = zstd_params(&pipe("zstd", &["-c", "--content-size"], &data));
        let piped_no = zstd_params(&pipe("zstd", &["-c", "--no-content-size"], &data));
        assert_eq!(get(&piped, "content_size"), "not recorded");
        assert_eq!(piped, piped_no);
        // ...unless it is told the size.
        let told = format!("--stream-size={}", data.len());
        let piped_told = zstd_params(&pipe("zstd", &["-c", &told], &data));
        assert_eq!(get(&piped_told, "content_size"), "recorded");
        assert_ne!(piped_told, piped);
    }

    #[test]
    fn zstd_concatenated_frames() {
        if !have("zstd") {
            return;
        }
        let data = sample(300_000);
        let a = pipe("zstd", &["-3", "-c"], &data);
        let b = pipe("zstd", &["-19", "-c"], &data);
        let one = zstd_params(&a);
        let two = zstd_params(&cat(&[&a, &a]));
        assert_eq!(get(&two, "frames"), "2");
        assert_eq!(get(&two, "window_size"), get(&one, "window_size"));
        let blocks: u64 = get(&one, "blocks").parse().unwrap();
        assert_eq!(get(&two, "blocks"), (2 * blocks).to_string());
        let mixed = zstd_params(&cat(&[&a, &b, &a]));
        assert_eq!(get(&mixed, "frames"), "3");
        assert_eq!(get(&mixed, "window_size"), "2 MiB, 8 MiB");
    }

    #[test]
    fn zstd_threads_write_one_frame_of_many_blocks() {
        if !have("zstd") {
            return;
        }
        let data = sample(3_000_000);
        let p = zstd_params(&pipe("zstd", &["-T2", "-B1MiB", "-c"], &data));
        // zstd's worker threads share one frame: -B sets the job size, not frames.
        assert_eq!(get(&p, "frames"), "1", "{p:?}");
        assert!(get(&p, "blocks").parse::<u64>().unwrap() >= 23, "{p:?}");
    }

    #[test]
    fn zstd_dictionary_id() {
        if !have("zstd") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut samples = Vec::new();
        for i in 1..=200u32 {
            let name = format!("s{i}");
            let text: String = (i..i * 7).map(|k| format!("row {i} value {k}\n")).collect();
            std::fs::write(dir.path().join(&name), text).unwrap();
            samples.push(name);
        }
        let trained = Command::new("zstd")
            .arg("--train")
            .args(&samples)
            .args(["-o", "dict"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        if !trained.status.success() {
            eprintln!(
                "SKIPPED: zstd --train failed: {}",
                String::from_utf8_lossy(&trained.stderr)
            );
            return;
        }
        let dict = std::fs::read(dir.path().join("dict")).unwrap();
        assert_eq!(le_u32(&dict), Some(0xEC30_A437), "dictionary magic");
        let id = le_u32(&dict[4..]).unwrap();
        let with = zstd_params(&on_file("zstd", &["-c", "-D", "dict"], dir.path(), "s100"));
        assert_eq!(get(&with, "dictionary_id"), id.to_string());
        let without = zstd_params(&on_file(
            "zstd",
            &["-c", "-D", "dict", "--no-dictID"],
            dir.path(),
            "s100",
        ));
        assert_eq!(get(&without, "dictionary_id"), "none");
        // A small file: one segment, the window is its content size.
        let len = std::fs::metadata(dir.path().join("s100")).unwrap().len();
        assert_eq!(get(&with, "single_segment"), "yes");
        assert_eq!(get(&with, "window_size"), size_str(len));
    }

    #[test]
    fn zstd_skippable_frames() {
        if !have("zstd") {
            return;
        }
        let z = pipe("zstd", &["-c"], &sample(10_000));
        let mut skip = vec![0x5E, 0x2A, 0x4D, 0x18, 5, 0, 0, 0];
        skip.extend_from_slice(b"hello");
        let p = zstd_params(&cat(&[&skip, &z, &skip]));
        assert_eq!(get(&p, "frames"), "1");
        assert_eq!(get(&p, "skippable_frames"), "2");
        assert_eq!(names(&p)[..2], ["frames", "skippable_frames"]);
        assert!(!names(&zstd_params(&z)).contains(&"skippable_frames"));
    }

    /// Frames and blocks are skipped by counting: a 4 GiB skippable frame costs one step
    /// per chunk, not per byte.
    #[test]
    fn zstd_skips_bodies_by_counting() {
        let mut t = ZstdTap::new();
        t.feed(&[0x50, 0x2A, 0x4D, 0x18, 0xFF, 0xFF, 0xFF, 0xFF]);
        let zeros = vec![0u8; 1 << 20];
        // 4 GiB - 1 bytes: 4095 MiB, then 1 MiB less one byte.
        for _ in 0..4095 {
            t.feed(&zeros);
        }
        t.feed(&zeros[1..]);
        assert_eq!(t.step, ZStep::Magic, "the frame ended exactly");
        assert_eq!(get(&t.params(), "skippable_frames"), "1");
    }

    // -- gzip ---------------------------------------------------------------------------

    #[test]
    fn gzip_name_and_mtime() {
        if !have("gzip") {
            return;
        }
        let data = sample(200_000);
        let dir = data_dir(&data);
        let named = on_file("gzip", &["-c"], dir.path(), "data.tar");
        let bare = on_file("gzip", &["-n", "-c"], dir.path(), "data.tar");
        let (out, p) = gz_decode(&named);
        assert_eq!(out, data);
        assert_eq!(
            names(&p),
            [
                "members",
                "mtime",
                "xfl",
                "os",
                "name",
                "comment",
                "extra",
                "header_crc"
            ]
        );
        assert_eq!(get(&p, "members"), "1");
        assert_eq!(get(&p, "name"), "\"data.tar\"");
        assert_eq!(get(&p, "mtime"), "1700000000");
        assert_eq!(get(&p, "os"), "3 (Unix)");
        assert_eq!(get(&p, "comment"), "none");
        assert_eq!(get(&p, "extra"), "none");
        assert_eq!(get(&p, "header_crc"), "no");
        let (_, q) = gz_decode(&bare);
        assert_eq!(get(&q, "name"), "none");
        assert_eq!(get(&q, "mtime"), "0");
        assert_ne!(p, q);
        // From a pipe, gzip has neither name nor time.
        assert_eq!(gz_decode(&pipe("gzip", &["-c"], &data)).1, q);
    }

    #[test]
    fn gzip_levels_differ_in_xfl() {
        if !have("gzip") {
            return;
        }
        let data = sample(200_000);
        let fast = gz_decode(&pipe("gzip", &["-1", "-c"], &data)).1;
        let default = gz_decode(&pipe("gzip", &["-6", "-c"], &data)).1;
        let best = gz_decode(&pipe("gzip", &["-9", "-c"], &data)).1;
        assert_eq!(get(&fast, "xfl"), "4 (fastest)");
        assert_eq!(get(&default, "xfl"), "0");
        assert_eq!(get(&best, "xfl"), "2 (maximum compression)");
        assert_ne!(fast, best);
    }

    #[test]
    fn gzip_two_members() {
        if !have("gzip") {
            return;
        }
        let data = sample(150_000);
        let dir = data_dir(&data);
        let a = pipe("gzip", &["-1", "-c"], &data);
        let b = pipe("gzip", &["-9", "-c"], &data);
        let named = on_file("gzip", &["-c"], dir.path(), "data.tar");
        let (out, p) = gz_decode(&cat(&[&a, &a]));
        assert_eq!(out, cat(&[&data, &data]));
        assert_eq!(get(&p, "members"), "2");
        assert_eq!(get(&p, "xfl"), "4 (fastest)");
        let (_, mixed) = gz_decode(&cat(&[&a, &b, &named, &a]));
        assert_eq!(get(&mixed, "members"), "4");
        assert_eq!(
            get(&mixed, "xfl"),
            "4 (fastest), 2 (maximum compression), 0"
        );
        assert_eq!(get(&mixed, "name"), "none, \"data.tar\"");
        assert_eq!(get(&mixed, "mtime"), "0, 1700000000");
    }

    /// A member with every optional header field, FHCRC included (which gzip never writes).
    fn full_member(data: &[u8], name: &[u8], comment: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut h = vec![0x1f, 0x8b, 8, FHCRC | FEXTRA | FNAME | FCOMMENT];
        h.extend_from_slice(&0x1234_5678u32.to_le_bytes());
        h.extend_from_slice(&[0, 11]);
        h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        h.extend_from_slice(extra);
        h.extend_from_slice(name);
        h.push(0);
        h.extend_from_slice(comment);
        h.push(0);
        let crc16 = (crc32(&h) & 0xffff) as u16;
        h.extend_from_slice(&crc16.to_le_bytes());
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        h.extend_from_slice(&e.finish().unwrap());
        h.extend_from_slice(&crc32(data).to_le_bytes());
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h
    }

    #[test]
    fn gzip_all_header_fields() {
        let data = sample(50_000);
        let m = full_member(
            &data,
            b"r\xe9\"sum\xc3\xa9\n.tar",
            b"made \\ here\x1b",
            &[7; 300],
        );
        let (out, p) = gz_decode(&m);
        assert_eq!(out, data);
        assert_eq!(get(&p, "mtime"), "305419896");
        assert_eq!(get(&p, "os"), "11 (NTFS)");
        assert_eq!(get(&p, "name"), r#""r\xe9\"sumé\n.tar""#);
        assert_eq!(get(&p, "comment"), r#""made \\ here\u{1b}""#);
        assert_eq!(get(&p, "extra"), "300 bytes");
        assert_eq!(get(&p, "header_crc"), "yes");

        // Long fields are cut for display but still told apart by their length.
        let long = vec![b'a'; 5000];
        let (_, p) = gz_decode(&full_member(b"x", &long, b"", &[]));
        let shown = get(&p, "name");
        assert!(shown.ends_with("...\" (5000 bytes)"), "{shown}");
        assert!(shown.len() < 1100);
        assert_eq!(get(&p, "extra"), "0 bytes");
        assert_eq!(get(&p, "comment"), "\"\"");
    }

    #[test]
    fn gzip_empty_and_trailing_garbage_behave_as_multigzdecoder() {
        // Empty input: an error, as MultiGzDecoder gives.
        let mut e1 = Vec::new();
        let r1 = flate2::bufread::MultiGzDecoder::new(&b""[..]).read_to_end(&mut e1);
        let m = GzMembers::new(&b""[..]);
        let facts = m.facts();
        let r2 = read_all(m, 3);
        assert_eq!(r1.is_err(), r2.is_err());
        assert_eq!(facts.params(), vec![("members", "0".to_string())]);

        // Trailing garbage after a valid member: an error after the member's data.
        let mut g = full_member(b"hello", b"n", b"c", b"");
        g.extend_from_slice(b"garbage!");
        let m = GzMembers::new(&g[..]);
        let facts = m.facts();
        assert!(read_all(m, 4).is_err());
        assert!(
            flate2::bufread::MultiGzDecoder::new(&g[..])
                .read_to_end(&mut Vec::new())
                .is_err()
        );
        assert_eq!(get(&facts.params(), "members"), "1");
    }

    // -- xz -----------------------------------------------------------------------------

    #[test]
    fn xz_presets_differ_in_dictionary() {
        if !have("xz") {
            return;
        }
        let data = sample(300_000);
        let p0 = xz_params(&pipe("xz", &["-0", "-c"], &data));
        let p9 = xz_params(&pipe("xz", &["-9", "-c"], &data));
        assert_eq!(names(&p0), ["streams", "check", "filters", "blocks"]);
        assert_eq!(get(&p0, "filters"), "LZMA2 (dictionary 256 KiB)");
        assert_eq!(get(&p9, "filters"), "LZMA2 (dictionary 64 MiB)");
        assert_eq!(get(&p0, "check"), "CRC64");
        assert_eq!(get(&p0, "streams"), "1");
        assert_eq!(get(&p0, "blocks"), "1");
        assert_ne!(p0, p9);
        assert_eq!(p0, xz_params(&pipe("xz", &["-0", "-c"], &data)));
    }

    #[test]
    fn xz_check_types() {
        if !have("xz") {
            return;
        }
        let data = sample(100_000);
        let get_check = |c: &str| {
            let arg = format!("--check={c}");
            let p = xz_params(&pipe("xz", &[&arg, "-c"], &data));
            get(&p, "check").to_string()
        };
        assert_eq!(get_check("crc32"), "CRC32");
        assert_eq!(get_check("crc64"), "CRC64");
        assert_eq!(get_check("sha256"), "SHA-256");
        assert_eq!(get_check("none"), "none");
        let default = xz_params(&pipe("xz", &["-c"], &data));
        assert_eq!(get(&default, "check"), "CRC64");
    }

    #[test]
    fn xz_blocks_and_tail() {
        if !have("xz") {
            return;
        }
        let data = sample(1_000_000);
        let xz = pipe("xz", &["-T2", "--block-size=100KiB", "-c"], &data);
        let p = xz_params(&xz);
        assert_eq!(get(&p, "blocks"), data.len().div_ceil(102_400).to_string());
        assert_eq!(get(&p, "streams"), "1");
        assert_eq!(get(&p, "filters"), "LZMA2 (dictionary 8 MiB)");

        // With a tail too short for the index, the counts are unknown; the rest is not.
        let mut t = XzTap::with_tail_limit(32);
        t.feed(&xz);
        let q = t.params();
        assert_eq!(get(&q, "blocks"), "unknown");
        assert_eq!(get(&q, "streams"), "unknown");
        assert_eq!(get(&q, "check"), "CRC64");
        assert_eq!(get(&q, "filters"), get(&p, "filters"));
        // Fed in small pieces the bounded tail stays bounded.
        let mut t = XzTap::with_tail_limit(1000);
        for c in xz.chunks(7) {
            t.feed(c);
            assert!(t.tail.len() <= 2000);
        }
        assert_eq!(t.params(), p);
    }

    #[test]
    fn xz_filter_chains() {
        if !have("xz") {
            return;
        }
        let data = sample(100_000);
        let x86 = xz_params(&pipe("xz", &["--x86", "--lzma2=preset=6", "-c"], &data));
        assert_eq!(get(&x86, "filters"), "x86, LZMA2 (dictionary 8 MiB)");
        let delta = xz_params(&pipe(
            "xz",
            &["--delta=dist=4", "--lzma2=preset=0", "-c"],
            &data,
        ));
        assert_eq!(
            get(&delta, "filters"),
            "delta (distance 4), LZMA2 (dictionary 256 KiB)"
        );
        let arm = xz_params(&pipe("xz", &["--arm", "--lzma2=dict=1536KiB", "-c"], &data));
        assert_eq!(get(&arm, "filters"), "ARM, LZMA2 (dictionary 1536 KiB)");
    }

    #[test]
    fn xz_concatenated_streams() {
        if !have("xz") {
            return;
        }
        let data = sample(300_000);
        let a = pipe("xz", &["-T2", "--block-size=100KiB", "-c"], &data);
        let b = pipe("xz", &["--check=crc32", "-c"], &data);
        let p = xz_params(&cat(&[&a, &b]));
        assert_eq!(get(&p, "streams"), "2");
        assert_eq!(get(&p, "blocks"), "4");
        assert_eq!(get(&p, "check"), "CRC64, CRC32");
        // Stream padding between and after streams.
        let p = xz_params(&cat(&[&a, &[0; 8], &a, &[0; 4]]));
        assert_eq!(get(&p, "streams"), "2");
        assert_eq!(get(&p, "blocks"), "6");
        // Not a multiple of four: not padding, so not a valid end.
        let p = xz_params(&cat(&[&a, &[0; 3]]));
        assert_eq!(get(&p, "streams"), "unknown");
    }

    // -- bzip2 --------------------------------------------------------------------------

    #[test]
    fn bzip2_block_sizes() {
        if !have("bzip2") {
            return;
        }
        let data = sample(100_000);
        let p1 = bz_params(&pipe("bzip2", &["-1", "-c"], &data));
        let p9 = bz_params(&pipe("bzip2", &["-9", "-c"], &data));
        assert_eq!(p1, vec![("block_size", "100k".to_string())]);
        assert_eq!(p9, vec![("block_size", "900k".to_string())]);
    }

    // -- the reader that feeds a tap ----------------------------------------------------

    #[test]
    fn tapped_reader_feeds_each_byte_once() {
        // Synthetic zstd-shaped input: frames of raw blocks, so no tool is needed.
        let mut z = Vec::new();
        for k in 0..50u32 {
            z.extend_from_slice(&ZSTD_MAGIC.to_le_bytes());
            z.push(0x04); // checksum, window descriptor follows
            z.push(((k % 3) as u8) << 3); // 1, 2 or 4 KiB windows
            let body = 100 + k;
            let header = (body << 3) | 1; // last, raw
            z.extend_from_slice(&header.to_le_bytes()[..3]);
            z.extend(std::iter::repeat_n(k as u8, body as usize));
            z.extend_from_slice(&[1, 2, 3, 4]);
        }
        let want = zstd_params(&z);
        assert_eq!(get(&want, "frames"), "50");
        assert_eq!(get(&want, "window_size"), "1 KiB, 2 KiB, 4 KiB");

        // Through read().
        let (t, h) = Tapped::new(&z[..], ZstdTap::new());
        read_all(t, 5).unwrap();
        assert_eq!(h.params(), want);

        // Through fill_buf/consume mixed with read(), over a small buffer.
        let src = Trickle {
            data: &z,
            rng: Rng(9),
            max: 50,
        };
        let (mut t, h) = Tapped::new(BufReader::with_capacity(37, src), ZstdTap::new());
        let mut rng = Rng(11);
        let mut total = 0;
        loop {
            if rng.below(2) == 0 {
                let b = t.fill_buf().unwrap();
                if b.is_empty() {
                    break;
                }
                let n = rng.below(b.len() as u64 + 1) as usize;
                total += n;
                t.consume(n);
            } else {
                let mut buf = [0u8; 23];
                let n = rng.below(24) as usize;
                total += t.read(&mut buf[..n]).unwrap();
            }
        }
        assert_eq!(total, z.len());
        assert_eq!(h.params(), want);
    }

    // -- hostile input ------------------------------------------------------------------

    fn all_taps(bytes: &[u8]) {
        for chunked in [false, true] {
            let mut z = ZstdTap::new();
            let mut x = XzTap::with_tail_limit(4096);
            let mut b = Bzip2Tap::new();
            if chunked {
                for c in bytes.chunks(3) {
                    z.feed(c);
                    x.feed(c);
                    b.feed(c);
                }
            } else {
                z.feed(bytes);
                x.feed(bytes);
                b.feed(bytes);
            }
            assert!(!z.params().is_empty());
            assert_eq!(x.params().len(), 4);
            assert_eq!(b.params().len(), 1);
        }
        let m = GzMembers::new(bytes);
        let facts = m.facts();
        let _ = read_all(m, 6);
        assert!(!facts.params().is_empty());
    }

    #[test]
    fn hostile_garbage_after_magic() {
        let magics: [&[u8]; 6] = [
            &[0x28, 0xB5, 0x2F, 0xFD],
            &[0x57, 0x2A, 0x4D, 0x18],
            &[0x1F, 0x8B, 0x08],
            &[0x1F, 0x8B, 0x08, 0x1F],
            &XZ_MAGIC,
            b"BZh9",
        ];
        let mut r = Rng(42);
        for round in 0..400 {
            let magic = magics[round % magics.len()];
            let len = r.below(if round % 10 == 0 { 20_000 } else { 300 }) as usize;
            let mut v = magic.to_vec();
            v.extend(r.bytes(len));
            all_taps(&v);
        }
    }

    #[test]
    fn hostile_truncated_headers() {
        // Real streams when the tools are there, synthetic ones otherwise; every prefix of
        // their first 200 bytes and a few longer ones.
        let data = sample(50_000);
        let mut inputs = vec![
            full_member(&data, b"name", b"comment", &[1, 2, 3]),
            [&ZSTD_MAGIC.to_le_bytes()[..], &[0xE7, 0x58], &[0xAB; 12]].concat(),
        ];
        for (tool, args) in [
            ("zstd", &["-c"][..]),
            ("xz", &["-c"][..]),
            ("bzip2", &["-c"][..]),
            ("gzip", &["-c"][..]),
        ] {
            if Command::new(tool).arg("--version").output().is_ok() {
                inputs.push(pipe(tool, args, &data));
            }
        }
        let mut r = Rng(7);
        for input in &inputs {
            for n in 0..input.len().min(200) {
                all_taps(&input[..n]);
            }
            for _ in 0..10 {
                let n = r.below(input.len() as u64) as usize;
                all_taps(&input[..n]);
            }
        }
    }

    #[test]
    fn hostile_zstd_block_past_the_end() {
        let mut v = ZSTD_MAGIC.to_le_bytes().to_vec();
        v.extend_from_slice(&[0x00, 0x58]); // no checksum, 2 MiB window
        // A raw, non-last block that claims the largest size, then the input ends.
        let header = 0x1F_FFFFu32 << 3;
        v.extend_from_slice(&header.to_le_bytes()[..3]);
        v.extend_from_slice(b"short");
        let p = tap_params(ZstdTap::new, &v);
        assert_eq!(get(&p, "frames"), "1");
        assert_eq!(get(&p, "blocks"), "1");
        // A reserved block type ends the parse.
        let mut w = ZSTD_MAGIC.to_le_bytes().to_vec();
        w.extend_from_slice(&[0x00, 0x58, 0x07, 0, 0]);
        w.extend_from_slice(&ZSTD_MAGIC.to_le_bytes());
        w.extend_from_slice(&[0x00, 0x58, 0x01, 0, 0]);
        let mut t = ZstdTap::new();
        t.feed(&w);
        assert_eq!(t.step, ZStep::Dead);
        assert_eq!(get(&t.params(), "frames"), "1");
        // A reserved descriptor bit: no frame.
        let p = tap_params(ZstdTap::new, &[0x28, 0xB5, 0x2F, 0xFD, 0x08, 0x58, 1, 0, 0]);
        assert_eq!(p, vec![("frames", "0".into()), ("blocks", "0".into())]);
    }

    #[test]
    fn hostile_xz_tails() {
        // Stream header, then a footer claiming a 16 GiB index.
        let mut v = XZ_MAGIC.to_vec();
        v.extend_from_slice(&[0, 1]);
        v.extend_from_slice(&crc32(&[0, 1]).to_le_bytes());
        let mut footer = Vec::new();
        let rest = [0xFF, 0xFF, 0xFF, 0xFF, 0, 1];
        footer.extend_from_slice(&crc32(&rest).to_le_bytes());
        footer.extend_from_slice(&rest);
        footer.extend_from_slice(b"YZ");
        let p = xz_params(&cat(&[&v, &[0xAB; 64], &footer]));
        assert_eq!(get(&p, "check"), "CRC32");
        assert_eq!(get(&p, "blocks"), "unknown");
        assert_eq!(get(&p, "filters"), "unknown");

        // An index claiming u64::MAX records.
        let mut idx = vec![
            0u8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 5, 5,
        ];
        while idx.len() % 4 != 0 {
            idx.push(0);
        }
        let c = crc32(&idx);
        idx.extend_from_slice(&c.to_le_bytes());
        let mut f = Vec::new();
        let rest = [&((idx.len() / 4 - 1) as u32).to_le_bytes()[..], &[0, 1]].concat();
        f.extend_from_slice(&crc32(&rest).to_le_bytes());
        f.extend_from_slice(&rest);
        f.extend_from_slice(b"YZ");
        assert_eq!(parse_index(&idx), None);
        let p = xz_params(&cat(&[&v, &idx, &f]));
        assert_eq!(get(&p, "blocks"), "unknown");

        // A valid empty stream (no blocks) is understood.
        let mut idx = vec![0u8, 0, 0, 0];
        let c = crc32(&idx);
        idx.extend_from_slice(&c.to_le_bytes());
        let rest = [1u8, 0, 0, 0, 0, 1];
        let mut f = crc32(&rest).to_le_bytes().to_vec();
        f.extend_from_slice(&rest);
        f.extend_from_slice(b"YZ");
        let empty = cat(&[&v, &idx, &f]);
        let p = xz_params(&empty);
        assert_eq!(get(&p, "streams"), "1");
        assert_eq!(get(&p, "blocks"), "0");
        assert_eq!(get(&p, "filters"), "none");
        let p = xz_params(&cat(&[&empty, &empty]));
        assert_eq!(get(&p, "streams"), "2");
    }

    #[test]
    fn hostile_gzip_headers() {
        // An unterminated name runs to the end: bounded, and no member is counted.
        let mut v = vec![0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 3];
        v.extend(std::iter::repeat_n(b'a', 200_000));
        let m = GzMembers::new(&v[..]);
        let facts = m.facts();
        assert!(read_all(m, 1).is_err());
        assert_eq!(get(&facts.params(), "members"), "0");
        // A huge FEXTRA length with little data after it.
        let v = [0x1f, 0x8b, 8, FEXTRA, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 1, 2, 3];
        let m = GzMembers::new(&v[..]);
        let facts = m.facts();
        assert!(read_all(m, 1).is_err());
        assert_eq!(get(&facts.params(), "members"), "0");
        // Reading on after an error does not go on parsing.
        let mut m = GzMembers::new(&v[..]);
        let mut buf = [0u8; 10];
        assert!(m.read(&mut buf).is_err());
        assert!(m.read(&mut buf).is_err());
    }

    // -- display ------------------------------------------------------------------------

    #[test]
    fn display_helpers() {
        assert_eq!(size_str(8 << 20), "8 MiB");
        assert_eq!(size_str(1536 << 10), "1536 KiB");
        assert_eq!(size_str(1 << 31), "2 GiB");
        assert_eq!(size_str(3 << 40), "3 TiB");
        assert_eq!(size_str(1_310_721), "1310721 bytes");
        assert_eq!(size_str(0), "0 bytes");
        assert_eq!(lzma2_dictionary(0), 4096);
        assert_eq!(lzma2_dictionary(40), u64::from(u32::MAX));
        let mut d = Distinct::default();
        for v in [1, 2, 1, 3, 4, 5, 6, 2] {
            d.add(v);
        }
        assert_eq!(d.show(|v| v.to_string()), "1, 2, 3, 4, ...");
        let mut s = String::new();
        escape_into(b"a\xffb\xe2\x80\xaec\t\"\\", &mut s);
        assert_eq!(s, r#"a\xffb\u{202e}c\t\"\\"#);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
