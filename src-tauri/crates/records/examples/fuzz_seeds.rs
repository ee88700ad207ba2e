//! Writes the seed corpora of records' fuzz targets (`fuzz/corpus/<target>/`) from the
//! crate's own encoders, with the keys, record id and version the targets use, so the
//! fuzzer starts past the MACs and tags and mutates real structure.
//!
//! `cargo run -p medwallet-records --example fuzz_seeds -- src-tauri/crates/records/fuzz/corpus`
//! (nonces are random: the files differ from run to run, their structure does not).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use medwallet_abe::{DataKey, MasterKey, Policy};
use medwallet_records::{capsule, cid_of, manifest, stream, IssuedKey, Manifest, CHUNK_SIZE};

/// The fuzz targets' record id and version.
const ID: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";
/// The header the capsule and manifest targets put before their input: magic, version,
/// record id, record version (and, for a capsule, part count, authority, part length).
const MANIFEST_HEADER: usize = 4 + 1 + 32 + 4;
const CAPSULE_HEADER: usize = MANIFEST_HEADER + 2 + 32 + 4;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: fuzz_seeds CORPUS_DIR");
    let out = Path::new(&out);
    // The key stream_decrypt and manifest_open decrypt with.
    let dek = DataKey::from_bytes([0x42; 32]);

    for (name, len) in [
        ("empty", 0),
        ("small", 300),
        ("two-chunks", CHUNK_SIZE + 100),
    ] {
        let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut ct = Vec::new();
        let never = AtomicBool::new(false);
        stream::encrypt(&dek, &plain[..], &mut ct, &mut |_| {}, &never).expect("encrypt");
        write(out, "stream_decrypt", name, &ct);
        let cid = cid_of(&ct);
        write(
            out,
            "cid_parse",
            &format!("{name}-text"),
            cid.to_string().as_bytes(),
        );
        write(out, "cid_parse", &format!("{name}-binary"), &cid.to_bytes());
    }

    // Content over one 256 KiB block has a dag-pb root (the others are raw leaves).
    let large = cid_of(&vec![7u8; 300 * 1024]);
    write(
        out,
        "cid_parse",
        "dag-pb-text",
        large.to_string().as_bytes(),
    );
    write(out, "cid_parse", "dag-pb-binary", &large.to_bytes());

    let m = Manifest {
        record_id: ID.into(),
        version: 1,
        title: "Lipid panel".into(),
        category: "lab_result".into(),
        mime_type: "application/pdf".into(),
        kind: "pdf".into(),
        date: "2026-01-05".into(),
        author: "Dr. Okafor".into(),
        file_name: "lipids.pdf".into(),
        size: 300,
        content_cid: cid_of(b"content").to_string(),
        content_chunks: 1,
        created_at: "2026-01-05T10:00:00Z".into(),
    };
    let sealed = manifest::seal(&dek, &m).expect("seal");
    write(out, "manifest_open", "sealed", &sealed);
    write(
        out,
        "manifest_open",
        "sealed-after-header",
        &sealed[MANIFEST_HEADER..],
    );

    // The key capsule_unwrap unwraps with: the authority and attributes of its own.
    let msk = MasterKey::from_seed(&[3; 32], "fuzz").expect("a master key");
    for (i, text) in ["a AND b", "a OR careteam"].iter().enumerate() {
        let policy = Policy::parse(text).expect("a valid policy");
        let wrapped = capsule::wrap(msk.public_params(), &policy, &dek, ID, 1).expect("wrap");
        write(out, "capsule_unwrap", &format!("capsule-{i}"), &wrapped);
        write(
            out,
            "capsule_unwrap",
            &format!("capsule-{i}-after-header"),
            &wrapped[CAPSULE_HEADER..],
        );
    }

    // Only the envelope's structure is decoded by the target (HPKE is the vault's), so
    // the sealed parts are placeholders of the sizes a real envelope has: a user key
    // (about 500 bytes) plus the AEAD tag, and a short note.
    let envelope = |note| IssuedKey {
        authority: [0xa1; 20],
        holder: [0xb2; 20],
        encapped_key: [0xc3; 32],
        ciphertext: vec![0xd4; 512 + 16],
        note,
    };
    let note = medwallet_records::issued_key::Sealed {
        encapped_key: [0xe5; 32],
        ciphertext: vec![0xf6; 40],
    };
    write(
        out,
        "issued_key_parse",
        "v2-with-note",
        &envelope(Some(note)).to_bytes(),
    );
    write(
        out,
        "issued_key_parse",
        "v1-without-note",
        &envelope(None).to_bytes(),
    );
}
