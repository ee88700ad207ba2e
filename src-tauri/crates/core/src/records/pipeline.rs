//! The one encryption pipeline: every record version this wallet makes goes through here,
//! whether the patient adds a file, a front desk uploads one for a patient, or a
//! revocation re-encrypts a record under a new key.
//!
//! Content is encrypted (STREAM AES-256-GCM, its CID computed in the same pass) on a
//! blocking thread, into a `.part` file that is synced and renamed only when complete, so
//! a crash or a cancel never leaves a file that looks finished. The manifest and the
//! capsule are sealed here too, so every version is built the same way.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_abe::{DataKey, Policy, PublicParams};
use medwallet_api::{ContentKind, RecordMetadata};
use medwallet_records::{capsule, manifest, stream};

use crate::error::{is_disk_full, Answer, CoreError, Part, RecordsError};
use crate::records::inspect;
use crate::store::{remove_file, RecordStore};

/// How many bytes of a file's start tell its kind (`medwallet_preview::sniff`).
pub(crate) const SNIFF_LEN: usize = 4096;
/// The buffer of every file read and write in the pipeline: large enough that the disk,
/// not the system calls, sets the pace; small enough that memory stays flat for any size.
pub(crate) const IO_BUFFER: usize = 1 << 20;

/// A file about to be encrypted: checked to exist, not to be empty, and its kind sniffed
/// from its first bytes.
pub(crate) struct SourceFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its name, as the manifest keeps it.
    pub file_name: String,
    /// Its size when it was opened; a file that changes while it is read is refused.
    pub size: u64,
    /// What its bytes say it is.
    pub kind: ContentKind,
    /// Its MIME type.
    pub mime: &'static str,
}

impl SourceFile {
    /// Opens `path` (as the user typed or picked it) and sniffs its kind.
    pub(crate) fn open(path: &str) -> Answer<SourceFile> {
        let path = PathBuf::from(path.trim());
        let mut file = std::fs::File::open(&path).map_err(|e| inspect::unreadable(&path, e))?;
        let size = file
            .metadata()
            .map_err(|e| inspect::unreadable(&path, e))?
            .len();
        if size == 0 {
            return Err(RecordsError::EmptyFile { path }.into());
        }
        let mut head = vec![0u8; SNIFF_LEN];
        let n = read_up_to(&mut file, &mut head).map_err(|e| inspect::unreadable(&path, e))?;
        head.truncate(n);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (kind, mime) = medwallet_preview::sniff(&head, &file_name);
        Ok(SourceFile {
            path,
            file_name,
            size,
            kind,
            mime,
        })
    }
}

/// Encrypts `source` under `dek` into `dest` (through `dest`'s `.part`, synced, then
/// renamed). `progress` hears the plaintext bytes done; `cancel` stops it. On any failure
/// nothing is left at `dest` or at its `.part`.
pub(crate) async fn encrypt_file(
    dek: &DataKey,
    source: &SourceFile,
    dest: &Path,
    mut progress: impl FnMut(u64) + Send + 'static,
    cancel: Arc<AtomicBool>,
) -> Answer<stream::Encrypted> {
    let dek = DataKey::from_bytes(*dek.as_bytes());
    let (src, done) = (source.path.clone(), dest.to_owned());
    let part = RecordStore::part_path(dest);
    let written = part.clone();
    let encrypted = tokio::task::spawn_blocking(move || {
        let input = std::fs::File::open(&src).map_err(|e| inspect::unreadable(&src, e))?;
        let out = std::fs::File::create(&part).map_err(|e| CoreError::disk(&part, e))?;
        let mut out = std::io::BufWriter::with_capacity(IO_BUFFER, out);
        let encrypted = stream::encrypt(
            &dek,
            std::io::BufReader::with_capacity(IO_BUFFER, input),
            &mut out,
            &mut progress,
            &cancel,
        )
        .map_err(|e| CoreError::encrypting(e, &src, &part))?;
        finish_file(out, &part)?;
        medwallet_faults::point("pipeline.content.synced");
        std::fs::rename(&part, &done).map_err(|e| CoreError::disk(&done, e))?;
        Ok::<_, CoreError>(encrypted)
    })
    .await
    .map_err(|e| CoreError::internal("the encryption task", e))
    .and_then(|r| r);
    let encrypted = match encrypted {
        Ok(encrypted) => encrypted,
        Err(e) => {
            remove_file(&written);
            return Err(e);
        }
    };
    if encrypted.plaintext_len != source.size {
        remove_file(dest);
        return Err(RecordsError::FileChanged {
            path: source.path.clone(),
        }
        .into());
    }
    Ok(encrypted)
}

/// The manifest of a new version made from `source`.
pub(crate) fn manifest_for(
    record_id: &str,
    version: u32,
    metadata: &RecordMetadata,
    source: &SourceFile,
    encrypted: &stream::Encrypted,
    created_at: &str,
) -> manifest::Manifest {
    manifest::Manifest {
        record_id: record_id.to_owned(),
        version,
        title: metadata.title.clone(),
        category: metadata.category.as_str().to_owned(),
        mime_type: source.mime.to_owned(),
        kind: kind_name(source.kind),
        date: metadata.date.clone(),
        author: metadata.author.clone(),
        file_name: source.file_name.clone(),
        size: source.size,
        content_cid: encrypted.cid.to_string(),
        content_chunks: encrypted.chunks,
        created_at: created_at.to_owned(),
    }
}

/// Seals the manifest under `dek` and wraps `dek` for `policy` under `params`: the two
/// small objects of a version, bound to its record id and version.
pub(crate) fn seal_objects(
    dek: &DataKey,
    m: &manifest::Manifest,
    params: &PublicParams,
    policy: &Policy,
) -> Answer<(Vec<u8>, Vec<u8>)> {
    let manifest_bytes =
        manifest::seal(dek, m).map_err(|e| CoreError::internal("sealing the manifest", e))?;
    let capsule_bytes = capsule::wrap(params, policy, dek, &m.record_id, m.version)
        .map_err(|e| CoreError::internal("wrapping the data key", e))?;
    Ok((manifest_bytes, capsule_bytes))
}

/// Decrypts `src` under `old` and encrypts the plaintext under `new` into `dst` (through
/// its `.part`), through an in-process pipe: one thread decrypts each authenticated chunk
/// into the pipe, another encrypts what comes out, so the plaintext never touches the
/// disk. Both results are answered; the caller compares the decrypted CID.
pub(crate) async fn reencrypt_file(
    old: &DataKey,
    new: &DataKey,
    src: &Path,
    dst: &Path,
) -> Answer<(stream::Decrypted, stream::Encrypted)> {
    let (old, new) = (
        DataKey::from_bytes(*old.as_bytes()),
        DataKey::from_bytes(*new.as_bytes()),
    );
    let (src, dst) = (src.to_owned(), dst.to_owned());
    let part = RecordStore::part_path(&dst);
    let written = part.clone();
    let result = tokio::task::spawn_blocking(move || {
        let pair = reencrypt(&old, &new, &src, &part)?;
        std::fs::rename(&part, &dst).map_err(|e| CoreError::disk(&dst, e))?;
        Ok::<_, CoreError>(pair)
    })
    .await
    .map_err(|e| CoreError::internal("the re-encryption task", e))
    .and_then(|r| r);
    if result.is_err() {
        remove_file(&written);
    }
    result
}

fn reencrypt(
    old: &DataKey,
    new: &DataKey,
    src: &Path,
    dst: &Path,
) -> Answer<(stream::Decrypted, stream::Encrypted)> {
    let input = std::fs::File::open(src).map_err(|e| CoreError::disk(src, e))?;
    let output = std::fs::File::create(dst).map_err(|e| CoreError::disk(dst, e))?;
    let (reader, writer) = std::io::pipe().map_err(|e| CoreError::internal("a pipe", e))?;
    let old = DataKey::from_bytes(*old.as_bytes());
    let decrypting = std::thread::spawn(move || {
        // `writer` is dropped when this returns, so the encrypting side sees the end.
        stream::decrypt(
            &old,
            std::io::BufReader::with_capacity(IO_BUFFER, input),
            writer,
        )
    });
    let mut out = std::io::BufWriter::with_capacity(IO_BUFFER, output);
    let never = AtomicBool::new(false);
    let encrypted = stream::encrypt(new, reader, &mut out, &mut |_| {}, &never);
    let decrypted = decrypting
        .join()
        .map_err(|_| CoreError::internal("the decrypting thread", "panicked"))?;
    // A full disk under the new copy is the cause: the decryption then saw a broken pipe.
    let encrypted = match encrypted {
        Err(stream::StreamError::Io(io)) if is_disk_full(&io) => {
            return Err(CoreError::disk(dst, io))
        }
        other => other,
    };
    // Else a decryption failure is the cause; the encryption then saw a broken pipe or a
    // cut.
    let decrypted = decrypted.map_err(|e| CoreError::stream(Part::Content, e))?;
    let encrypted = encrypted.map_err(|e| CoreError::internal("re-encrypting", e))?;
    finish_file(out, dst)?;
    Ok((decrypted, encrypted))
}

/// Where decrypted bytes go.
pub(crate) enum Sink {
    /// Into memory (answered when `show`), or verified into nothing.
    Memory,
    /// Into this file.
    File(PathBuf),
}

/// Decrypts the ciphertext file into `sink` on a blocking thread; with [`Sink::Memory`]
/// and `show`, the plaintext is answered. The stream's own result is answered as is: the
/// caller names a failure and compares the CID.
pub(crate) async fn decrypt_file(
    dek: &DataKey,
    ciphertext: PathBuf,
    sink: Sink,
    show: bool,
    size: u64,
) -> Answer<(Result<stream::Decrypted, stream::StreamError>, Vec<u8>)> {
    let dek_copy = DataKey::from_bytes(*dek.as_bytes());
    tokio::task::spawn_blocking(move || {
        let input =
            std::fs::File::open(&ciphertext).map_err(|e| CoreError::disk(&ciphertext, e))?;
        let input = std::io::BufReader::with_capacity(IO_BUFFER, input);
        let mut memory = Vec::new();
        let result = match &sink {
            Sink::Memory if show => {
                memory.reserve(usize::try_from(size).unwrap_or(0));
                stream::decrypt(&dek_copy, input, &mut memory)
            }
            Sink::Memory => stream::decrypt(&dek_copy, input, std::io::sink()),
            Sink::File(path) => {
                let out = std::fs::File::create(path).map_err(|e| CoreError::disk(path, e))?;
                let mut out = std::io::BufWriter::with_capacity(IO_BUFFER, out);
                let r = stream::decrypt(&dek_copy, input, &mut out);
                out.flush().map_err(|e| CoreError::disk(path, e))?;
                r
            }
        };
        Ok::<_, CoreError>((result, memory))
    })
    .await
    .map_err(|e| CoreError::internal("the decryption task", e))?
}

/// Flushes and syncs a written file, so a rename after it publishes complete bytes.
fn finish_file(out: std::io::BufWriter<std::fs::File>, path: &Path) -> Answer<()> {
    let file = out.into_inner().map_err(|e| {
        let (error, _) = e.into_parts();
        CoreError::disk(path, error)
    })?;
    file.sync_all().map_err(|e| CoreError::disk(path, e))
}

/// Reads into `buf` until it is full or the file ends.
pub(crate) fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A new record's id and its nonce (both `0x` + 64 hex): the id is
/// `keccak256(abi.encode(author, nonce))`, as the contract computes it when `author`
/// registers it, so nobody else can take the id first.
pub(crate) fn new_record_id(author: &str) -> Answer<(String, String)> {
    let author = crate::ledger::parse_address(author)?;
    let mut nonce = [0u8; 32];
    OsRng.fill_bytes(&mut nonce);
    let nonce = medwallet_ledger::B256::from(nonce);
    Ok((
        medwallet_ledger::record_id_of(author, nonce).to_string(),
        nonce.to_string(),
    ))
}

/// The manifest's name for a kind of content.
pub(crate) fn kind_name(kind: ContentKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".to_owned())
}
