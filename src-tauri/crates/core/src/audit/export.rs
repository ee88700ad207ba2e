//! The trail's exports: CSV (RFC 4180) and a FHIR R4 `Bundle` of `AuditEvent`s, written
//! a page of entries at a time ([`Writer`]): a trail of 100,000 entries is never held
//! whole in memory.

use std::path::{Path, PathBuf};

use medwallet_api::{AuditAction, AuditEntry, ExportFormat, Party, SavedCopy};
use tokio::io::AsyncWriteExt;

use crate::error::{Answer, AuditError, CoreError};
use crate::store::{remove_file, RecordStore};

/// Entries read from the cache, named and written at a time.
pub(crate) const PAGE: u32 = 1000;

/// The CSV header of an export.
pub const CSV_HEADER: &str =
    "time,action,actor,actor_name,subject,record_id,record_title,detail,block,tx,ledger_nodes,dispute";

/// The entries as CSV (RFC 4180: CRLF line ends, fields quoted when needed).
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::with_capacity(64 + entries.len() * 256);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    out.push_str(&csv_rows(entries));
    out
}

/// The entries' CSV rows, without the header.
fn csv_rows(entries: &[AuditEntry]) -> String {
    let mut out = String::with_capacity(entries.len() * 256);
    for e in entries {
        let block = e.block_number.to_string();
        // What the trail showed of the block: "2 of 3" nodes hold it, or the dispute.
        let nodes = format!("{} of {}", e.nodes_agreeing, e.nodes_asked);
        let fields = [
            e.time.as_str(),
            e.action.as_str(),
            e.actor.address.as_str(),
            e.actor.name.as_deref().unwrap_or(""),
            e.subject.as_ref().map_or("", |s| s.address.as_str()),
            e.record_id.as_deref().unwrap_or(""),
            e.record_title.as_deref().unwrap_or(""),
            e.detail.as_deref().unwrap_or(""),
            block.as_str(),
            e.tx_hash.as_str(),
            nodes.as_str(),
            e.dispute.as_deref().unwrap_or(""),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&csv_field(f));
        }
        out.push_str("\r\n");
    }
    out
}

pub(crate) fn csv_field(f: &str) -> String {
    // A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
    let formula = f.starts_with(['=', '+', '-', '@']);
    if f.contains([',', '"', '\r', '\n']) || formula {
        let body = f.replace('"', "\"\"");
        if formula {
            format!("\"'{body}\"")
        } else {
            format!("\"{body}\"")
        }
    } else {
        f.to_owned()
    }
}

/// The entries as a FHIR R4 `Bundle` (type `collection`) of `AuditEvent` resources.
pub fn to_fhir_bundle(entries: &[AuditEntry], chain_id: Option<u64>) -> serde_json::Value {
    let observer = observer(chain_id);
    let mut bundle = fhir_bundle_head();
    bundle["entry"] = entries.iter().map(|e| fhir_entry(e, &observer)).collect();
    bundle
}

/// Who observed the events, as the bundle names it.
fn observer(chain_id: Option<u64>) -> String {
    match chain_id {
        Some(n) => format!("medwallet ledger, chain {n}"),
        None => "medwallet ledger".to_owned(),
    }
}

/// A bundle without its entries.
fn fhir_bundle_head() -> serde_json::Value {
    serde_json::json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// One entry of the bundle: the `AuditEvent` of `e`.
fn fhir_entry(e: &AuditEntry, observer: &str) -> serde_json::Value {
    use serde_json::json;
    let (code, display, action) = match e.action {
        AuditAction::Uploaded | AuditAction::UploadedFor => ("110110", "Patient Record", "C"),
        AuditAction::CheckInAnswered | AuditAction::CheckedIn => {
            ("110114", "User Authentication", "E")
        }
        AuditAction::Updated => ("110110", "Patient Record", "U"),
        AuditAction::Accessed => ("110110", "Patient Record", "R"),
        AuditAction::EmergencyAccess => ("110110", "Patient Record", "R"),
        AuditAction::Granted | AuditAction::Revoked | AuditAction::EmergencyAccessSet => {
            ("110110", "Patient Record", "U")
        }
        AuditAction::KeyIssued => ("110106", "Export", "E"),
        AuditAction::KeyRevoked | AuditAction::Attested => {
            ("110136", "Security Roles Changed", "U")
        }
        AuditAction::IdentityPublished | AuditAction::AuthorityPublished => {
            ("110107", "Import", "C")
        }
    };
    let agent = |p: &Party, requestor: bool| {
        let mut who =
            json!({ "identifier": { "system": "urn:ietf:rfc:3986", "value": p.address } });
        if let Some(name) = &p.name {
            who["display"] = json!(name);
        }
        json!({ "who": who, "requestor": requestor })
    };
    let mut agents = vec![agent(&e.actor, true)];
    if let Some(subject) = &e.subject {
        agents.push(agent(subject, false));
    }
    let mut details = vec![
        json!({ "type": "tx", "valueString": e.tx_hash }),
        json!({ "type": "block", "valueString": e.block_number.to_string() }),
    ];
    if let Some(d) = &e.detail {
        details.push(json!({ "type": "detail", "valueString": d }));
    }
    details.push(json!({
        "type": "ledger-nodes",
        "valueString": format!("{} of {}", e.nodes_agreeing, e.nodes_asked),
    }));
    let mut entity = json!({ "detail": details });
    if let Some(id) = &e.record_id {
        entity["what"] = json!({ "identifier": { "value": id } });
        if let Some(title) = &e.record_title {
            entity["name"] = json!(title);
        }
    } else {
        entity["what"] = json!({ "identifier": { "value": e.tx_hash } });
    }
    let mut entry = json!({
        // Unique in the bundle (bdl-7): one batch transaction carries many events, each
        // at its own log index.
        "fullUrl": format!("urn:medwallet:audit:{}:{}", e.tx_hash, e.log_index),
        "resource": {
            "resourceType": "AuditEvent",
            "type": {
                "system": "http://dicom.nema.org/resources/ontology/DCM",
                "code": code,
                "display": display,
            },
            "subtype": [{
                "system": "urn:medwallet:audit-action",
                "code": e.action.as_str(),
                "display": e.action.label(),
            }],
            "action": action,
            "recorded": e.time,
            // A block the ledger's nodes disagree about is not a success to
            // report: "4" (minor failure) with the dispute in words.
            "outcome": if e.dispute.is_some() { "4" } else { "0" },
            "agent": agents,
            "source": { "observer": { "display": observer } },
            "entity": [entity],
        }
    });
    // FHIR has no nulls: the description only when there is one.
    if let Some(dispute) = &e.dispute {
        entry["resource"]["outcomeDesc"] = json!(dispute);
    }
    entry
}

/// An export being written to `<path>.part`, a page of entries at a time, renamed to
/// `path` when complete (removed if it is not).
pub(crate) struct Writer {
    dest: PathBuf,
    part: PathBuf,
    file: tokio::io::BufWriter<tokio::fs::File>,
    format: ExportFormat,
    observer: String,
    /// Entries written so far.
    written: u64,
    size: u64,
}

impl Writer {
    /// Starts the file at `dest`'s `.part`.
    pub(crate) async fn create(
        dest: &Path,
        format: ExportFormat,
        chain_id: Option<u64>,
    ) -> Answer<Writer> {
        let part = RecordStore::part_path(dest);
        let file =
            tokio::fs::File::create(&part)
                .await
                .map_err(|source| AuditError::NotWritten {
                    path: dest.to_owned(),
                    source,
                })?;
        let mut writer = Writer {
            dest: dest.to_owned(),
            part,
            file: tokio::io::BufWriter::with_capacity(1 << 16, file),
            format,
            observer: observer(chain_id),
            written: 0,
            size: 0,
        };
        let head = match format {
            ExportFormat::Csv => format!("{CSV_HEADER}\r\n"),
            ExportFormat::FhirBundle => {
                // The bundle's fields, then its entries one by one, then its end.
                let head = serde_json::to_string(&fhir_bundle_head())
                    .map_err(|e| CoreError::internal("writing the bundle", e))?;
                format!("{},\"entry\":[\n", head.trim_end_matches('}'))
            }
        };
        writer.put(head.as_bytes()).await?;
        Ok(writer)
    }

    /// Appends `entries`.
    pub(crate) async fn write(&mut self, entries: &[AuditEntry]) -> Answer<()> {
        match self.format {
            ExportFormat::Csv => {
                let rows = csv_rows(entries);
                self.put(rows.as_bytes()).await?;
            }
            ExportFormat::FhirBundle => {
                for e in entries {
                    let mut text = if self.written == 0 {
                        String::new()
                    } else {
                        ",\n".to_owned()
                    };
                    text.push_str(
                        &serde_json::to_string(&fhir_entry(e, &self.observer))
                            .map_err(|e| CoreError::internal("writing the bundle", e))?,
                    );
                    self.put(text.as_bytes()).await?;
                    self.written += 1;
                }
            }
        }
        Ok(())
    }

    /// Ends the file, syncs it and renames it into place.
    pub(crate) async fn finish(mut self) -> Answer<SavedCopy> {
        if self.format == ExportFormat::FhirBundle {
            self.put(b"\n]}\n").await?;
        }
        let done = async {
            self.file.flush().await?;
            self.file.get_ref().sync_all().await?;
            tokio::fs::rename(&self.part, &self.dest).await
        }
        .await;
        if let Err(source) = done {
            remove_file(&self.part);
            return Err(AuditError::NotWritten {
                path: self.dest.clone(),
                source,
            }
            .into());
        }
        Ok(SavedCopy {
            path: self.dest.display().to_string(),
            size: self.size,
        })
    }

    /// Gives up: the partial file is removed.
    pub(crate) fn abandon(self) {
        remove_file(&self.part);
    }

    async fn put(&mut self, bytes: &[u8]) -> Answer<()> {
        if let Err(source) = self.file.write_all(bytes).await {
            remove_file(&self.part);
            return Err(AuditError::NotWritten {
                path: self.dest.clone(),
                source,
            }
            .into());
        }
        self.size += bytes.len() as u64;
        Ok(())
    }
}
