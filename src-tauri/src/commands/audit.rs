//! Audit commands: thin wrappers over `medwallet_core::AuditService`. The trail is the
//! unlocked wallet's; record titles come from its record list.

use medwallet_api::commands::ExportAuditArgs;
use medwallet_api::{AuditQuery, AuditTrail, SavedCopy};
use tauri::State;

use super::records::ledger_target;
use super::Answer;
use crate::state::AppState;

/// `get_audit_trail`: sync from the ledger (when it answers) and answer the filtered trail.
#[tauri::command]
pub async fn get_audit_trail(state: State<'_, AppState>, args: AuditQuery) -> Answer<AuditTrail> {
    let owner = state.wallets.lock().await.record_owner()?;
    let ledger = ledger_target(&state).await?;
    let context = state.records.audit_context(&owner).await?;
    state.audit.trail(&owner, &ledger, &args, &context).await
}

/// `export_audit`: write the filtered trail to the chosen file (CSV or FHIR bundle).
#[tauri::command]
pub async fn export_audit(state: State<'_, AppState>, args: ExportAuditArgs) -> Answer<SavedCopy> {
    let owner = state.wallets.lock().await.record_owner()?;
    let ledger = ledger_target(&state).await?;
    let context = state.records.audit_context(&owner).await?;
    state
        .audit
        .export(
            &owner,
            &ledger,
            &args.query,
            &context,
            args.format,
            &args.path,
        )
        .await
}
