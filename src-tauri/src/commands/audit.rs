//! Audit commands: one call each into `medwallet_core::App`.

use medwallet_api::commands::{
    AcknowledgeEmergencyAlerts, EmergencyAlerts, ExportAudit, GetAuditTrail,
};
use medwallet_api::NoArgs;
use tauri::State;

use super::{Args, Out};
use crate::state::AppState;

/// `get_audit_trail`: sync from the ledger (when it answers) and answer one page of the
/// filtered trail.
#[tauri::command]
pub async fn get_audit_trail(
    state: State<'_, AppState>,
    args: Args<GetAuditTrail>,
) -> Out<GetAuditTrail> {
    state.app.audit_trail(&args).await
}

/// `export_audit`: write the filtered trail to the chosen file (CSV or FHIR bundle).
#[tauri::command]
pub async fn export_audit(state: State<'_, AppState>, args: Args<ExportAudit>) -> Out<ExportAudit> {
    let path = state.paths.save_text(&args.file)?;
    state
        .app
        .export_audit(&args.query, args.format, &path)
        .await
}

/// `emergency_alerts`: the patient's emergency openings not marked seen (the red banner).
#[tauri::command]
pub async fn emergency_alerts(
    state: State<'_, AppState>,
    args: Args<EmergencyAlerts>,
) -> Out<EmergencyAlerts> {
    let NoArgs {} = args;
    state.app.emergency_alerts().await
}

/// `acknowledge_emergency_alerts`: marks openings seen; answers those still unseen.
#[tauri::command]
pub async fn acknowledge_emergency_alerts(
    state: State<'_, AppState>,
    args: Args<AcknowledgeEmergencyAlerts>,
) -> Out<AcknowledgeEmergencyAlerts> {
    state.app.acknowledge_emergency_alerts(&args.ids).await
}
