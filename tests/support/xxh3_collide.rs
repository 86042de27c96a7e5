//! Constructed collisions for unseeded XXH3 (`xxhash_rust::xxh3::xxh3_128`,
//! identical to the reference `XXH3_128bits()`): pairs of different byte strings
//! with equal 128-bit hashes (their 64-bit `xxh3_64` hashes are equal too).
//! No search is involved; each pair follows from the public default secret
//! `kSecret` and takes microseconds to build.
//!
//! Short inputs (17..=128 bytes, `XXH3_len_17to128_128b`): each 16-byte chunk
//! `(lo, hi)` (two LE u64) is mixed with two secret words `(k0, k1)` as
//! `mix16B = fold64((lo ^ k0) * (hi ^ k1))` (128-bit product), and the 128-bit
//! variant also xors `lo + hi` into the other half of the state. The chunk
//! `A = (k0, X)` has a zero first factor and `B = (k0 + X - k1, k1)` has a zero
//! second factor, so `mix16B` is 0 for both, and `lo + hi = k0 + X` for both.
//! Every quantity the hash reads from that chunk is the same, so the hashes are
//! equal. (`xxh3_64` reads the chunk only via `mix16B`, so it collides too.)
//!
//! Long inputs (> 240 bytes, `hashLong`): the input is read in 64-byte stripes
//! of 8 u64 lanes. Stripe `n` of a 1024-byte block uses secret words
//! `k = kSecret[8n + 8i..][..8]` and per lane does `acc[i ^ 1] += d` and
//! `acc[i] += lo32(d ^ k) * hi32(d ^ k)`. If `lo32(d) == lo32(k)`, the product
//! is 0 whatever `hi32(d)` is, so the lane adds only `d` to `acc[i ^ 1]`. Pin
//! lane `i` like that in two stripes of the same block, then add `+1` to
//! `hi32(d)` in one and `-1` in the other: the sums, and so the accumulators at
//! the end of the block, are unchanged. Scrambling (at block ends) and the final
//! merge read only the accumulators, so both hashes are equal. The two stripes
//! must stay out of the last 64 bytes, which are hashed again as the "last
//! stripe" with another secret offset.

/// XXH3's default secret `kSecret` (xxhash.h, 192 bytes).
const K_SECRET: [u8; 192] = [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
];

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn write_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Deterministic pseudo-random "file" bytes (`SplitMix64`).
fn filler(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Two different 64-byte inputs with equal `xxh3_128` and equal `xxh3_64`.
/// They differ only in bytes 16..32 (the chunk mixed with `kSecret[32..48]`).
pub fn short_pair() -> (Vec<u8>, Vec<u8>) {
    const CHUNK: usize = 16; // input[16..32] is mixed with secret[32..48] when 32 < len <= 64
    let mut a = b"rdiff: a regular file of 64 bytes; one 16-byte chunk is forged.\n".to_vec();
    assert_eq!(a.len(), 64);
    let k0 = read_u64(&K_SECRET, 2 * CHUNK);
    let k1 = read_u64(&K_SECRET, 2 * CHUNK + 8);
    let x = read_u64(&a, CHUNK + 8); // A keeps its original text as second word
    let mut b = a.clone();
    // A = (k0, x): (k0 ^ k0) * (x ^ k1) = 0, lo + hi = k0 + x.
    write_u64(&mut a, CHUNK, k0);
    // B = (k0 + x - k1, k1): (..) * (k1 ^ k1) = 0, lo + hi = k0 + x.
    write_u64(&mut b, CHUNK, k0.wrapping_add(x).wrapping_sub(k1));
    write_u64(&mut b, CHUNK + 8, k1);
    (a, b)
}

/// Two different pseudo-random inputs of length `len` (`len >= 384`; meant for
/// `1024`, `4096`, `100_000`, `1_000_000`, ...) with equal `xxh3_128` and `xxh3_64`.
/// They differ only in the upper half of one 8-byte word at each of two places
/// 64 bytes apart, near the middle of the input.
pub fn long_pair(len: usize) -> (Vec<u8>, Vec<u8>) {
    const STRIPE: usize = 64;
    assert!(len >= 384, "long_pair needs len >= 384, got {len}");
    let mut a = filler(len, len as u64);
    // Two neighbouring stripes (an even one and the next) of the same 1024-byte
    // block, near the middle; both end at least 64 bytes before the end.
    let first = (len / 2 / STRIPE) & !1;
    let lane = first / 2 % 8; // any lane works; vary it a bit with len
    let mut b = a.clone();
    for (stripe, delta) in [(first, 1u32), (first + 1, u32::MAX)] {
        let at = stripe * STRIPE + lane * 8;
        let key = read_u64(&K_SECRET, (stripe % 16 + lane) * 8);
        let pinned = key & 0xFFFF_FFFF; // lo32(d) = lo32(key): the multiply gives 0
        let hi = (read_u64(&a, at) >> 32) as u32;
        write_u64(&mut a, at, (u64::from(hi) << 32) | pinned);
        let hi_b = hi.wrapping_add(delta);
        write_u64(&mut b, at, (u64::from(hi_b) << 32) | pinned);
    }
    (a, b)
}
