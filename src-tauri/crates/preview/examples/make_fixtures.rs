//! Writes the sample files of `tests/fixtures/` (the project's fixtures: a PDF, a PNG, a
//! JPEG, a DICOM file, a FHIR bundle, a text note and a video header).
//!
//! `cargo run -p medwallet-preview --example make_fixtures [-- <dir>]`; the directory is
//! `tests/fixtures/` at the repository root unless given. The output is deterministic, and
//! the crate's tests check that the committed files match it.

#[path = "../src/generate.rs"]
mod generate;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures")
        });
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    for (name, bytes) in generate::all() {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
