//! Record content: the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015)
//! as age uses it, with AES-256-GCM from ring.
//!
//! ```text
//! header  = "MWRC" | 0x01 | nonce (16 random bytes) | mac (32)
//! key     = HKDF-SHA256(ikm = DEK, salt = nonce, info = "medwallet/v1/record-content")
//! mac     = HMAC-SHA256(HKDF(DEK, nonce, "medwallet/v1/record-content-header"),
//!                       "MWRC" | 0x01 | nonce)
//! chunk i = AES-256-GCM(key, nonce_i, aad = "", plaintext chunk i) | tag (16)
//! nonce_i = i as 11-byte big-endian | last (0x01 for the final chunk, else 0x00)
//! ```
//!
//! Plaintext is cut into [`CHUNK_SIZE`] chunks; every chunk but the last is full, the
//! last may be short, and an empty plaintext is a single empty final chunk. So the
//! ciphertext is `header | chunk_0 | ... | chunk_n`, each chunk `CHUNK_SIZE + 16` bytes
//! except the last.
//!
//! Why each part:
//! - The counter in the nonce pins each chunk to its position: moving, dropping or
//!   duplicating a chunk fails its tag.
//! - The last-chunk flag makes the end authenticated: a stream cut at a chunk boundary
//!   ends with a chunk sealed as "not last", which is caught ([`StreamError::Truncated`]),
//!   and bytes after a chunk sealed as "last" are refused ([`StreamError::TrailingData`]).
//! - The random header nonce gives each encryption its own payload key, so a DEK reused
//!   by mistake never reuses a (key, nonce) pair.
//! - The header MAC commits to the DEK (AES-GCM alone does not commit to its key) and
//!   lets a wrong DEK be told apart from damaged content ([`StreamError::WrongKey`]),
//!   before any plaintext is produced.
//!
//! Memory is bounded: two chunk buffers in each direction (the chunk at hand and the
//! one read ahead, or the copy kept for a retry), whatever the size. Decryption writes
//! a chunk's plaintext only after that chunk authenticated; a caller must still treat
//! the output as unverified until [`decrypt`] returns `Ok` (a later chunk may fail, or
//! the stream may be cut), e.g. by writing to a temporary file and releasing it only
//! afterwards.
//!
//! Both directions also compute the CID of the ciphertext (see [`crate::cid`]) in the
//! same pass, so the data is read once.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use medwallet_abe::DataKey;
use ring::{aead, hmac};

use crate::cid::{Cid, CidBuilder};
use crate::keys;

/// Plaintext bytes per chunk (64 KiB).
pub const CHUNK_SIZE: usize = 64 * 1024;
/// The AES-GCM tag that follows each chunk.
pub const TAG_SIZE: usize = 16;
/// Ciphertext bytes of a full chunk.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
/// Magic bytes that open the content format.
pub const MAGIC: [u8; 4] = *b"MWRC";
/// The content format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Length of the random header nonce (the HKDF salt).
pub const NONCE_SIZE: usize = 16;
/// Length of the header MAC.
pub const MAC_SIZE: usize = 32;
/// Length of the whole header.
pub const HEADER_SIZE: usize = MAGIC.len() + 1 + NONCE_SIZE + MAC_SIZE;

/// What [`encrypt`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encrypted {
    /// The CID an IPFS node gives the ciphertext (`--cid-version=1 --raw-leaves=true`).
    pub cid: Cid,
    /// Ciphertext bytes written (header included).
    pub ciphertext_len: u64,
    /// Plaintext bytes read.
    pub plaintext_len: u64,
    /// Chunks written (at least 1).
    pub chunks: u64,
}

/// What [`decrypt`] verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted {
    /// The CID of the ciphertext bytes read; compare it with the CID the record names.
    pub cid: Cid,
    /// Plaintext bytes written.
    pub plaintext_len: u64,
    /// Chunks authenticated.
    pub chunks: u64,
}

/// Why content could not be encrypted or decrypted.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The data does not start with the content magic: it is not record content.
    #[error("this is not encrypted record content: {0}")]
    BadHeader(&'static str),
    /// The content was written by a newer format version.
    #[error("the record content uses format version {found}; this app reads version {VERSION}: update the app")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The header does not authenticate under this data key: the key is not this
    /// content's key (or the header's nonce or MAC was changed).
    #[error("the data key does not open this content (wrong key, or the header was changed)")]
    WrongKey,
    /// A chunk failed authentication: its bytes were changed, or chunks were reordered,
    /// or the stream was cut inside this chunk.
    #[error("chunk {chunk} of the record content was changed, moved or cut short")]
    Tampered {
        /// Zero-based chunk index.
        chunk: u64,
    },
    /// The stream ends where a chunk or the header should continue: the final chunk is
    /// missing (e.g. cut at a chunk boundary), or fewer bytes than a tag remain.
    #[error("the record content is truncated: it ends before its final chunk")]
    Truncated,
    /// Bytes follow the final chunk.
    #[error("the record content has unexpected bytes after its final chunk")]
    TrailingData,
    /// Reading the source or writing the destination failed.
    #[error("reading or writing the record content failed: {0}")]
    Io(#[from] io::Error),
    /// The caller's cancel flag was set.
    #[error("cancelled")]
    Cancelled,
    /// The operating system's random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// The 12-byte AES-GCM nonce of chunk `index`.
fn chunk_nonce(index: u64, last: bool) -> aead::Nonce {
    let mut n = [0u8; aead::NONCE_LEN];
    // 11-byte big-endian counter: the top 3 bytes stay zero for a u64 index.
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    aead::Nonce::assume_unique_for_key(n)
}

fn header_mac_input(nonce: &[u8; NONCE_SIZE]) -> [u8; MAGIC.len() + 1 + NONCE_SIZE] {
    let mut h = [0u8; MAGIC.len() + 1 + NONCE_SIZE];
    h[..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5..].copy_from_slice(nonce);
    h
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Encrypts `src` into `dst` under `dek` with a fresh random header nonce.
///
/// `progress` is called after each chunk with the plaintext bytes done so far; `cancel`
/// is checked before each chunk. Returns the ciphertext's IPFS CID, computed while
/// writing. `dst` receives whole chunks (one `write_all` each); wrap it in a
/// `BufWriter` only if it is unbuffered and slow per call.
pub fn encrypt(
    dek: &DataKey,
    src: impl Read,
    dst: impl Write,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<Encrypted, StreamError> {
    let mut nonce = [0u8; NONCE_SIZE];
    keys::random(&mut nonce).map_err(|_| StreamError::Random)?;
    encrypt_with_nonce(dek, nonce, src, dst, progress, cancel)
}

/// [`encrypt`] with a given header nonce: for tests and benchmarks only (a repeated
/// nonce under one DEK repeats the payload key).
pub(crate) fn encrypt_with_nonce(
    dek: &DataKey,
    nonce: [u8; NONCE_SIZE],
    mut src: impl Read,
    mut dst: impl Write,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<Encrypted, StreamError> {
    let key = keys::aead_key(dek, &nonce, keys::LABEL_CONTENT);
    let mac_key = keys::mac_key(dek, &nonce, keys::LABEL_CONTENT_HEADER);

    let mut cid = CidBuilder::new();
    let mac_input = header_mac_input(&nonce);
    let mac = hmac::sign(&mac_key, &mac_input);
    let mut header = [0u8; HEADER_SIZE];
    header[..mac_input.len()].copy_from_slice(&mac_input);
    header[mac_input.len()..].copy_from_slice(mac.as_ref());
    dst.write_all(&header)?;
    cid.update(&header);

    // Two buffers: the chunk being sealed (plaintext in `..CHUNK_SIZE`, sealed in place,
    // tag appended) and the next one, read ahead: a chunk is final when nothing follows
    // it, and reading whole chunks keeps every copy aligned.
    let mut cur = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut next = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut index: u64 = 0;
    let mut done: u64 = 0;
    let mut ciphertext_len = HEADER_SIZE as u64;
    let mut n = read_full(&mut src, &mut cur[..CHUNK_SIZE])?;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(StreamError::Cancelled);
        }
        // Only a full chunk can have a successor.
        let following = if n == CHUNK_SIZE {
            read_full(&mut src, &mut next[..CHUNK_SIZE])?
        } else {
            0
        };
        let last = following == 0;
        let tag = key
            .seal_in_place_separate_tag(chunk_nonce(index, last), aead::Aad::empty(), &mut cur[..n])
            .map_err(|_| StreamError::Io(io::Error::other("AES-GCM refused the chunk")))?;
        cur[n..n + TAG_SIZE].copy_from_slice(tag.as_ref());
        let sealed = &cur[..n + TAG_SIZE];
        cid.update(sealed);
        dst.write_all(sealed)?;

        ciphertext_len += sealed.len() as u64;
        done += n as u64;
        index += 1;
        progress(done);
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        n = following;
    }
    dst.flush()?;
    Ok(Encrypted {
        cid: cid.finish(),
        ciphertext_len,
        plaintext_len: done,
        chunks: index,
    })
}

/// Decrypts and verifies `src` into `dst` under `dek`.
///
/// Each chunk's plaintext is written only after it authenticated; everything written is
/// still unverified until this returns `Ok` (see the module docs). The returned CID is
/// that of the ciphertext bytes read.
pub fn decrypt(
    dek: &DataKey,
    mut src: impl Read,
    mut dst: impl Write,
) -> Result<Decrypted, StreamError> {
    let mut cid = CidBuilder::new();
    let mut header = [0u8; HEADER_SIZE];
    let got = read_full(&mut src, &mut header)?;
    if got < MAGIC.len() || header[..MAGIC.len()] != MAGIC {
        return Err(StreamError::BadHeader(
            "it does not start with the content magic",
        ));
    }
    if got < MAGIC.len() + 1 {
        return Err(StreamError::Truncated);
    }
    if header[4] != VERSION {
        return Err(StreamError::UnsupportedVersion { found: header[4] });
    }
    if got < HEADER_SIZE {
        return Err(StreamError::Truncated);
    }
    let mut nonce = [0u8; NONCE_SIZE];
    nonce.copy_from_slice(&header[5..5 + NONCE_SIZE]);
    let mac_key = keys::mac_key(dek, &nonce, keys::LABEL_CONTENT_HEADER);
    hmac::verify(
        &mac_key,
        &header_mac_input(&nonce),
        &header[5 + NONCE_SIZE..],
    )
    .map_err(|_| StreamError::WrongKey)?;
    let key = keys::aead_key(dek, &nonce, keys::LABEL_CONTENT);
    cid.update(&header);

    // `ct` holds a chunk as read (hashed for the CID, kept for a second try with the
    // other last-chunk flag); `pt` is where it is opened, since ring zeroes a buffer
    // that fails to open.
    let mut ct = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut pt = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut index: u64 = 0;
    let mut written: u64 = 0;
    let mut carried = 0usize;
    loop {
        let n = carried + read_full(&mut src, &mut ct[carried..])?;
        if n < TAG_SIZE {
            // Header only, or a cut that left less than a tag.
            return Err(StreamError::Truncated);
        }
        let mut peek = [0u8; 1];
        let more = n == ENCRYPTED_CHUNK_SIZE && read_full(&mut src, &mut peek)? == 1;
        cid.update(&ct[..n]);

        let open = |last: bool, pt: &mut [u8]| -> bool {
            pt[..n].copy_from_slice(&ct[..n]);
            key.open_in_place(chunk_nonce(index, last), aead::Aad::empty(), &mut pt[..n])
                .is_ok()
        };
        if more {
            // A full chunk with bytes after it must be a non-final chunk.
            if !open(false, &mut pt) {
                return Err(if open(true, &mut pt) {
                    StreamError::TrailingData
                } else {
                    StreamError::Tampered { chunk: index }
                });
            }
        } else {
            // Nothing follows: this must be the final chunk.
            if !open(true, &mut pt) {
                return Err(if n == ENCRYPTED_CHUNK_SIZE && open(false, &mut pt) {
                    // A valid non-final chunk with nothing after it: cut at a boundary.
                    StreamError::Truncated
                } else {
                    StreamError::Tampered { chunk: index }
                });
            }
            // Only an empty plaintext ends in an empty chunk; `encrypt` never writes an
            // empty chunk after a full one, so such a stream is not one of ours.
            if n == TAG_SIZE && index > 0 {
                return Err(StreamError::Tampered { chunk: index });
            }
        }
        let plain = &pt[..n - TAG_SIZE];
        dst.write_all(plain)?;
        written += plain.len() as u64;
        index += 1;
        if !more {
            break;
        }
        ct[0] = peek[0];
        carried = 1;
    }
    dst.flush()?;
    Ok(Decrypted {
        cid: cid.finish(),
        plaintext_len: written,
        chunks: index,
    })
}

/// The ciphertext length for a plaintext of `plaintext_len` bytes.
pub fn ciphertext_len(plaintext_len: u64) -> u64 {
    HEADER_SIZE as u64 + plaintext_len + TAG_SIZE as u64 * chunk_count(plaintext_len)
}

/// The number of chunks for a plaintext of `plaintext_len` bytes (at least 1).
pub fn chunk_count(plaintext_len: u64) -> u64 {
    plaintext_len.div_ceil(CHUNK_SIZE as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::cid_of;

    fn dek(b: u8) -> DataKey {
        DataKey::from_bytes([b; 32])
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    fn enc(key: &DataKey, plain: &[u8]) -> (Vec<u8>, Encrypted) {
        let mut out = Vec::new();
        let e = encrypt(key, plain, &mut out, &mut |_| {}, &AtomicBool::new(false)).unwrap();
        (out, e)
    }

    fn dec(key: &DataKey, ct: &[u8]) -> Result<(Vec<u8>, Decrypted), StreamError> {
        let mut out = Vec::new();
        decrypt(key, ct, &mut out).map(|d| (out, d))
    }

    const SIZES: [usize; 7] = [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        2 * CHUNK_SIZE,
        3 * CHUNK_SIZE,
    ];

    #[test]
    fn round_trips_at_chunk_edges() {
        let key = dek(1);
        for size in SIZES {
            let plain = data(size);
            let mut seen = Vec::new();
            let mut ct = Vec::new();
            let e = encrypt(
                &key,
                &plain[..],
                &mut ct,
                &mut |d| seen.push(d),
                &AtomicBool::new(false),
            )
            .unwrap();
            assert_eq!(e.plaintext_len, size as u64);
            assert_eq!(e.ciphertext_len, ct.len() as u64);
            assert_eq!(e.ciphertext_len, ciphertext_len(size as u64), "{size}");
            assert_eq!(e.chunks, chunk_count(size as u64));
            assert_eq!(e.cid, cid_of(&ct), "{size}");
            assert_eq!(seen.len() as u64, e.chunks);
            assert_eq!(seen.last(), Some(&(size as u64)));
            let (back, d) = dec(&key, &ct).unwrap();
            assert_eq!(back, plain, "{size}");
            assert_eq!(d.cid, e.cid);
            assert_eq!(d.chunks, e.chunks);
            assert_eq!(d.plaintext_len, size as u64);
        }
    }

    #[test]
    fn layout_is_as_documented() {
        let (ct, _) = enc(&dek(2), &data(CHUNK_SIZE + 5));
        assert_eq!(&ct[..4], b"MWRC");
        assert_eq!(ct[4], 1);
        assert_eq!(ct.len(), HEADER_SIZE + ENCRYPTED_CHUNK_SIZE + 5 + TAG_SIZE);
        // The empty plaintext is one final chunk holding only a tag.
        let (empty, e) = enc(&dek(2), b"");
        assert_eq!(empty.len(), HEADER_SIZE + TAG_SIZE);
        assert_eq!(e.chunks, 1);
    }

    #[test]
    fn two_encryptions_differ_but_both_decrypt() {
        let key = dek(3);
        let (a, ea) = enc(&key, b"same");
        let (b, eb) = enc(&key, b"same");
        assert_ne!(a, b);
        assert_ne!(ea.cid, eb.cid);
        assert_eq!(dec(&key, &b).unwrap().0, b"same");
    }

    #[test]
    fn reads_in_small_pieces_and_writes_to_a_slow_sink() {
        /// A reader that returns at most 7 bytes per call, with an interruption.
        struct Trickle<'a>(&'a [u8], bool);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.1 = !self.1;
                if self.1 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                let n = buf.len().min(7).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let key = dek(4);
        let plain = data(2 * CHUNK_SIZE + 3);
        let mut ct = Vec::new();
        encrypt(
            &key,
            Trickle(&plain, false),
            &mut ct,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let mut out = Vec::new();
        decrypt(&key, Trickle(&ct, false), &mut out).unwrap();
        assert_eq!(out, plain);
    }

    fn chunk_start(i: usize) -> usize {
        HEADER_SIZE + i * ENCRYPTED_CHUNK_SIZE
    }

    #[test]
    fn a_flipped_bit_in_any_chunk_is_tampering_of_that_chunk() {
        let key = dek(5);
        let (ct, _) = enc(&key, &data(3 * CHUNK_SIZE + 100));
        for chunk in 0..4 {
            for offset in [0, 1000, ENCRYPTED_CHUNK_SIZE - 1] {
                let pos = (chunk_start(chunk) + offset).min(ct.len() - 1);
                let mut bad = ct.clone();
                bad[pos] ^= 0x01;
                let err = dec(&key, &bad).unwrap_err();
                assert!(
                    matches!(err, StreamError::Tampered { chunk: c } if c == chunk as u64),
                    "chunk {chunk} offset {offset}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn plaintext_before_a_bad_chunk_was_authenticated_and_nothing_after_it_is_written() {
        let key = dek(5);
        let plain = data(3 * CHUNK_SIZE);
        let (mut ct, _) = enc(&key, &plain);
        ct[chunk_start(1) + 9] ^= 0x80;
        let mut out = Vec::new();
        let err = decrypt(&key, &ct[..], &mut out).unwrap_err();
        assert!(matches!(err, StreamError::Tampered { chunk: 1 }));
        assert_eq!(out, plain[..CHUNK_SIZE]);
    }

    #[test]
    fn truncation_anywhere_is_detected() {
        let key = dek(6);
        let (ct, _) = enc(&key, &data(3 * CHUNK_SIZE + 10));
        // Drop the final chunk: the cut falls on a chunk boundary.
        let at_boundary = &ct[..chunk_start(3)];
        assert!(matches!(
            dec(&key, at_boundary),
            Err(StreamError::Truncated)
        ));
        // Drop the last two chunks.
        assert!(matches!(
            dec(&key, &ct[..chunk_start(2)]),
            Err(StreamError::Truncated)
        ));
        // Header only.
        assert!(matches!(
            dec(&key, &ct[..HEADER_SIZE]),
            Err(StreamError::Truncated)
        ));
        // Less than a tag after the last full chunk.
        assert!(matches!(
            dec(&key, &ct[..chunk_start(3) + 5]),
            Err(StreamError::Truncated)
        ));
        // Cut inside a chunk: that chunk no longer authenticates.
        let err = dec(&key, &ct[..chunk_start(1) + 500]).unwrap_err();
        assert!(matches!(err, StreamError::Tampered { chunk: 1 }), "{err:?}");
        // Cut inside the final chunk.
        let err = dec(&key, &ct[..ct.len() - 1]).unwrap_err();
        assert!(matches!(err, StreamError::Tampered { chunk: 3 }), "{err:?}");
        // Cut inside the header.
        assert!(matches!(dec(&key, &ct[..20]), Err(StreamError::Truncated)));
        // An exact multiple of the chunk size, cut at the boundary before the last chunk.
        let (ct2, _) = enc(&key, &data(2 * CHUNK_SIZE));
        assert!(matches!(
            dec(&key, &ct2[..chunk_start(1)]),
            Err(StreamError::Truncated)
        ));
    }

    #[test]
    fn reordered_or_duplicated_chunks_are_detected() {
        let key = dek(7);
        let (ct, _) = enc(&key, &data(3 * CHUNK_SIZE + 10));
        let c = |i: usize| &ct[chunk_start(i)..chunk_start(i + 1)];
        let head = &ct[..HEADER_SIZE];
        let tail = &ct[chunk_start(3)..];
        let swapped = [head, c(1), c(0), c(2), tail].concat();
        assert!(matches!(
            dec(&key, &swapped),
            Err(StreamError::Tampered { chunk: 0 })
        ));
        let swapped_later = [head, c(0), c(2), c(1), tail].concat();
        assert!(matches!(
            dec(&key, &swapped_later),
            Err(StreamError::Tampered { chunk: 1 })
        ));
        let duplicated = [head, c(0), c(0), c(1), c(2), tail].concat();
        assert!(matches!(
            dec(&key, &duplicated),
            Err(StreamError::Tampered { chunk: 1 })
        ));
        // A non-final chunk moved to the end in place of the final one.
        let last_replaced = [head, c(0), c(1), c(2), c(1)].concat();
        assert!(matches!(
            dec(&key, &last_replaced),
            Err(StreamError::Tampered { chunk: 3 })
        ));
    }

    #[test]
    fn bytes_after_the_final_chunk_are_refused() {
        let key = dek(8);
        // The final chunk is full: the extra bytes are told apart exactly.
        let (mut ct, _) = enc(&key, &data(2 * CHUNK_SIZE));
        ct.extend_from_slice(b"extra");
        assert!(matches!(dec(&key, &ct), Err(StreamError::TrailingData)));
        let (mut ct1, _) = enc(&key, &data(CHUNK_SIZE));
        ct1.push(0);
        assert!(matches!(dec(&key, &ct1), Err(StreamError::TrailingData)));
        // A whole extra chunk after a full final one.
        let (ct2, _) = enc(&key, &data(CHUNK_SIZE));
        let doubled = [&ct2[..], &ct2[HEADER_SIZE..]].concat();
        assert!(matches!(
            dec(&key, &doubled),
            Err(StreamError::TrailingData)
        ));
        // After a short final chunk the extra bytes become part of that chunk, which
        // then fails: still refused, as tampering of the final chunk.
        let (mut short, _) = enc(&key, &data(100));
        short.extend_from_slice(b"extra");
        assert!(matches!(
            dec(&key, &short),
            Err(StreamError::Tampered { chunk: 0 })
        ));
    }

    #[test]
    fn wrong_key_and_bad_headers_are_told_apart() {
        let (ct, _) = enc(&dek(9), &data(1000));
        assert!(matches!(dec(&dek(10), &ct), Err(StreamError::WrongKey)));
        let mut nonce_changed = ct.clone();
        nonce_changed[7] ^= 1;
        assert!(matches!(
            dec(&dek(9), &nonce_changed),
            Err(StreamError::WrongKey)
        ));
        let mut mac_changed = ct.clone();
        mac_changed[HEADER_SIZE - 1] ^= 1;
        assert!(matches!(
            dec(&dek(9), &mac_changed),
            Err(StreamError::WrongKey)
        ));
        let mut magic = ct.clone();
        magic[0] = b'X';
        assert!(matches!(
            dec(&dek(9), &magic),
            Err(StreamError::BadHeader(_))
        ));
        let mut version = ct.clone();
        version[4] = 2;
        assert!(matches!(
            dec(&dek(9), &version),
            Err(StreamError::UnsupportedVersion { found: 2 })
        ));
        assert!(matches!(dec(&dek(9), b""), Err(StreamError::BadHeader(_))));
        assert!(matches!(
            dec(&dek(9), b"MW"),
            Err(StreamError::BadHeader(_))
        ));
        assert!(matches!(dec(&dek(9), b"MWRC"), Err(StreamError::Truncated)));
        assert!(matches!(
            dec(&dek(9), b"%PDF-1.7 plain file"),
            Err(StreamError::BadHeader(_))
        ));
    }

    #[test]
    fn an_empty_chunk_after_a_full_final_chunk_is_refused() {
        // Build by hand what encrypt never writes: chunk 0 full and non-final, then an
        // empty final chunk. It authenticates, but is not canonical.
        let key = dek(11);
        let nonce = [3u8; NONCE_SIZE];
        let (mut ct, _) = {
            let mut out = Vec::new();
            let plain = data(CHUNK_SIZE);
            let e = encrypt_with_nonce(
                &key,
                nonce,
                &plain[..],
                &mut out,
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
            (out, e)
        };
        let aead_key = keys::aead_key(&key, &nonce, keys::LABEL_CONTENT);
        let mut first = data(CHUNK_SIZE);
        let tag = aead_key
            .seal_in_place_separate_tag(chunk_nonce(0, false), aead::Aad::empty(), &mut first)
            .unwrap();
        ct.truncate(HEADER_SIZE);
        ct.extend_from_slice(&first);
        ct.extend_from_slice(tag.as_ref());
        let mut empty: Vec<u8> = Vec::new();
        let tag = aead_key
            .seal_in_place_separate_tag(chunk_nonce(1, true), aead::Aad::empty(), &mut empty[..])
            .unwrap();
        ct.extend_from_slice(tag.as_ref());
        assert!(matches!(
            dec(&key, &ct),
            Err(StreamError::Tampered { chunk: 1 })
        ));
    }

    #[test]
    fn cancel_stops_before_the_next_chunk() {
        let cancel = AtomicBool::new(false);
        let mut calls = 0;
        let mut out = Vec::new();
        let plain = data(5 * CHUNK_SIZE);
        let err = encrypt(
            &dek(12),
            &plain[..],
            &mut out,
            &mut |_| {
                calls += 1;
                if calls == 2 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap_err();
        assert!(matches!(err, StreamError::Cancelled));
        assert_eq!(calls, 2);
    }

    #[test]
    fn io_errors_are_reported() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let never = AtomicBool::new(false);
        assert!(matches!(
            encrypt(&dek(1), Broken, Vec::new(), &mut |_| {}, &never),
            Err(StreamError::Io(_))
        ));
        assert!(matches!(
            encrypt(&dek(1), &b"x"[..], Broken, &mut |_| {}, &never),
            Err(StreamError::Io(_))
        ));
        let (ct, _) = enc(&dek(1), b"x");
        assert!(matches!(
            decrypt(&dek(1), &ct[..], Broken),
            Err(StreamError::Io(_))
        ));
        assert!(matches!(
            decrypt(&dek(1), Broken, Vec::new()),
            Err(StreamError::Io(_))
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Random bytes, and random bytes after a valid header, never panic.
        #[test]
        fn decrypting_random_bytes_never_panics(
            bytes in proptest::collection::vec(
                proptest::num::u8::ANY,
                0..3 * ENCRYPTED_CHUNK_SIZE / 2,
            ),
            with_header in proptest::bool::ANY,
        ) {
            let key = dek(13);
            let input = if with_header {
                let (ct, _) = enc(&key, b"");
                [&ct[..HEADER_SIZE], &bytes[..]].concat()
            } else {
                bytes
            };
            // Only a panic fails this property: any Ok or Err is a fine answer.
            let _ = dec(&key, &input);
        }

        /// Any single-byte change to a valid ciphertext is rejected.
        #[test]
        fn any_byte_change_is_rejected(
            size in 0usize..(2 * CHUNK_SIZE + 50),
            pos in proptest::num::usize::ANY,
            flip in 1u8..=255,
        ) {
            let key = dek(14);
            let (mut ct, _) = enc(&key, &data(size));
            let pos = pos % ct.len();
            ct[pos] ^= flip;
            proptest::prop_assert!(dec(&key, &ct).is_err());
        }
    }
}
