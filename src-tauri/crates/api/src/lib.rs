//! The types that cross medwallet's IPC boundary.
//!
//! Both sides compile this crate: the Tauri shell (native) and the Yew UI (wasm).
//! Every command the webview may call is a type implementing [`Command`], so the
//! command's name, its argument and its answer are declared once, here, and the UI's
//! typed IPC layer and the shell's handlers cannot drift apart.
//!
//! Invariant: nothing in this crate can carry key material or plaintext. The webview
//! gets display data only.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod diagnostics;
pub mod files;
pub mod front_desk;
pub mod health;
pub mod rebuild;
pub mod records;
pub mod settings;
pub mod sharing;
pub mod wallet;

use serde::{de::DeserializeOwned, Serialize};

pub use audit::{
    AcknowledgeAlertsArgs, AuditAction, AuditEntry, AuditQuery, AuditTrail, EmergencyAlert,
    ExportFormat, Party, TrailPage,
};
pub use diagnostics::Diagnostics;
pub use files::{ChosenFile, FileToken, PickPurpose};
pub use front_desk::{
    AnswerCheckInArgs, CheckInArgs, CheckInAsk, CheckInCode, CheckInRecordArgs, CheckInRequest,
    CheckInSession, IssueStaffArgs, ProviderLabel, StaffHolderArgs, StaffList, StaffMember,
    UploadForPatientArgs, UploadedForPatient, Verdict, VerifyArgs, VerifyOutcome,
};
pub use health::{HealthReport, IpfsHealth, IpfsStatus, LedgerHealth, LedgerStatus, NodeProblem};
pub use rebuild::{RebuildStage, RebuildState, RebuildStatus, UnrecoveredRecord};
pub use records::{
    AddProgress, AddStage, Category, CategoryCount, ContentKind, Copies, CopyWaiting, DicomTag,
    FhirItem, FhirSection, FhirSummary, FileDraft, Inspection, LedgerMark, OpenedRecord,
    RecordMetadata, RecordPage, RecordQuery, RecordStatus, RecordSummary, RecordView, RefusedFile,
    SavedCopy, SyncReport, Verification,
};
pub use settings::{
    CaCertificate, CredentialInput, NodeCredentialInfo, NodeSettings, SettingsError,
};
pub use sharing::{
    ClauseText, ExposedVersion, ExposureReport, GrantState, GrantSummary, GroupSummary,
    ShareCodeText, SharePreview, ShareRequest, SharedInbox, SharedRecord, SharingItemProblem,
    SharingProgress, SharingWork,
};
pub use wallet::{
    Done, Identity, KitFile, KitReveal, Role, SessionState, StartupNotice, StrengthReport,
    UnlockOutcome, WalletSummary,
};

/// One IPC command: its wire name, what the webview sends, what it gets back.
pub trait Command {
    /// The name registered with `tauri::generate_handler!` (the Rust fn name).
    const NAME: &'static str;
    /// The arguments object the webview sends.
    type Args: Serialize + DeserializeOwned;
    /// The successful answer.
    type Output: Serialize + DeserializeOwned;
}

/// A command that also streams messages to the webview while it runs, on a Tauri channel
/// passed as the handler's `progress` parameter.
pub trait Streaming: Command {
    /// One message on the channel.
    type Progress: Serialize + DeserializeOwned;
}

/// Arguments of a command that takes none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoArgs {}

/// A failed command, in words for the user: what happened and what to do next.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserError {
    /// What happened, in the user's words.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl UserError {
    /// An error with a message and a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.hint {
            Some(hint) => write!(f, "{} {}", self.message, hint),
            None => f.write_str(&self.message),
        }
    }
}

/// The commands, one type each.
pub mod commands {
    use super::*;

    /// Declares each command as a unit struct implementing [`Command`], and [`ALL`], the
    /// list of their names, from one table: a command cannot be declared without being
    /// listed (the ACL in `src-tauri/build.rs` and the capability file follow `ALL`).
    macro_rules! commands {
        ($($(#[$doc:meta])* $ty:ident = $name:literal ($args:ty) -> $out:ty;)+) => {
            $(
                $(#[$doc])*
                pub struct $ty;
                impl Command for $ty {
                    const NAME: &'static str = $name;
                    type Args = $args;
                    type Output = $out;
                }
            )+
            /// Every command name, in declaration order.
            pub const ALL: &[&str] = &[$($name),+];
        };
    }

    commands! {
        /// Check both nodes now and report their health.
        CheckHealth = "check_health" (NoArgs) -> HealthReport;
        /// Read the node settings.
        GetSettings = "get_settings" (NoArgs) -> NodeSettings;
        /// Validate and store new node settings; answers the stored settings.
        SaveSettings = "save_settings" (SaveSettingsArgs) -> SaveOutcome;
        /// Forget stored node URLs and go back to the defaults.
        ResetSettings = "reset_settings" (NoArgs) -> NodeSettings;
        /// Store (or forget) the unlocked wallet's credentials for one node, in the vault;
        /// answers the settings, which name the nodes with credentials, never the secrets.
        SetNodeCredential = "set_node_credential" (SetNodeCredentialArgs) -> NodeSettings;
        /// Pick a CA certificate file (PEM) in a dialog and trust it for `https://`
        /// nodes; answers the settings (`None`: the dialog was cancelled).
        ImportCaCertificate = "import_ca_certificate" (NoArgs) -> Option<NodeSettings>;
        /// Stop trusting the imported CA certificate.
        ClearCaCertificate = "clear_ca_certificate" (NoArgs) -> NodeSettings;
        /// Where the log file is, and the diagnostics report to copy (versions, node health,
        /// the last 200 log lines).
        GetDiagnostics = "get_diagnostics" (NoArgs) -> Diagnostics;
        /// What the window should show (onboarding, lock screen, unlocked, damaged vault).
        /// Polled every few seconds; it does not count as activity.
        GetSessionState = "session_state" (NoArgs) -> SessionState;
        /// The damaged databases found at start and kept aside (each named, with where
        /// it is kept and what to do).
        GetStartupNotices = "startup_notices" (NoArgs) -> Vec<StartupNotice>;
        /// Rates a passphrase while it is typed.
        RatePassphrase = "rate_passphrase" (RatePassphraseArgs) -> StrengthReport;
        /// Creates a wallet; it is unlocked and its Emergency Kit is pending.
        CreateWallet = "create_wallet" (NewWalletArgs) -> Identity;
        /// The new wallet's recovery phrase: the only answer that carries it, valid only after
        /// creating a wallet and before its kit is confirmed.
        RevealKit = "reveal_kit" (NoArgs) -> KitReveal;
        /// Checks the re-typed words; on success the phrase is forgotten by the app.
        ConfirmKit = "confirm_kit" (ConfirmKitArgs) -> Done;
        /// Writes the printable Emergency Kit to a file and answers its path (never the page).
        ExportKit = "export_kit" (NoArgs) -> KitFile;
        /// Restores a wallet from its recovery phrase (into a new vault file if the vault is damaged).
        RestoreWallet = "restore_wallet" (RestoreWalletArgs) -> Identity;
        /// Unlocks a wallet with its passphrase (locking any other).
        UnlockWallet = "unlock_wallet" (UnlockArgs) -> UnlockOutcome;
        /// Unlocks a wallet with the key kept in the system keyring.
        QuickUnlock = "quick_unlock" (WalletIdArgs) -> Identity;
        /// Locks the unlocked wallet now.
        LockWallet = "lock_wallet" (NoArgs) -> Done;
        /// Turns quick unlock on or off for the unlocked wallet.
        SetQuickUnlock = "set_quick_unlock" (SetQuickUnlockArgs) -> Done;
        /// Sets the idle time before auto-lock, for every wallet.
        SetIdleTimeout = "set_idle_timeout" (SetIdleTimeoutArgs) -> Done;
        /// Changes the unlocked wallet's passphrase.
        ChangePassphrase = "change_passphrase" (ChangePassphraseArgs) -> Done;
        /// Deletes a wallet from this vault (its kit still restores it).
        DeleteWallet = "delete_wallet" (DeleteWalletArgs) -> Done;
        /// Opens the system's file chooser; answers the chosen files (none if cancelled).
        PickFiles = "pick_files" (NoArgs) -> Vec<ChosenFile>;
        /// Opens the system's file chooser for one file, for `purpose`; answers it (none if
        /// cancelled).
        PickFile = "pick_file" (PickFileArgs) -> Option<ChosenFile>;
        /// Streams the files dropped on the window (tokens and names), on the `progress`
        /// channel.
        WatchDrops = "watch_drops" (NoArgs) -> Done;
        /// Checks files before adding them and proposes their metadata.
        InspectFiles = "inspect_files" (InspectFilesArgs) -> Inspection;
        /// Encrypts one file on this device and stores it on IPFS; progress on the channel.
        AddRecord = "add_record" (AddRecordArgs) -> RecordSummary;
        /// Cancels an `add_record` that is still running; nothing of it is kept.
        CancelAdd = "cancel_add" (JobArgs) -> Done;
        /// One page of the unlocked wallet's records that match a search, with the counts.
        ListRecords = "list_records" (RecordQuery) -> RecordPage;
        /// Fetches, verifies and decrypts a record for display.
        OpenRecord = "open_record" (RecordIdArgs) -> OpenedRecord;
        /// Opens the system's save dialog; answers the chosen file, to be written once
        /// (none if cancelled).
        ChooseSavePath = "choose_save_path" (ChooseSavePathArgs) -> Option<ChosenFile>;
        /// Verifies and decrypts a record into a file the user chose.
        SaveRecordCopy = "save_record_copy" (SaveCopyArgs) -> SavedCopy;
        /// Pushes records kept on this device to IPFS now.
        SyncRecords = "sync_records" (NoArgs) -> SyncReport;
        /// Reads new ledger events into the cache (when the node answers) and answers one
        /// page of the unlocked wallet's trail, filtered, with the count.
        GetAuditTrail = "get_audit_trail" (TrailPage) -> AuditTrail;
        /// Writes the filtered trail to a file, as CSV or a FHIR AuditEvent bundle.
        ExportAudit = "export_audit" (ExportAuditArgs) -> SavedCopy;
        /// The patient's emergency openings not marked seen yet, newest first (the red
        /// banner; polled, not activity; empty while locked or for other roles).
        EmergencyAlerts = "emergency_alerts" (NoArgs) -> Vec<EmergencyAlert>;
        /// Marks emergency openings seen; answers those still unseen.
        AcknowledgeEmergencyAlerts = "acknowledge_emergency_alerts" (AcknowledgeAlertsArgs) -> Vec<EmergencyAlert>;
        /// Checks a share request (the grantee's published keys, the policy in words)
        /// without sending anything.
        PreviewShare = "preview_share" (ShareRequest) -> SharePreview;
        /// Shares records with a person: issues them a key if needed, re-wraps each
        /// record's capsule, and grants on the ledger (queued while a node is down).
        ShareRecords = "share_records" (ShareRequest) -> Vec<GrantSummary>;
        /// The unlocked wallet's grants, newest first.
        ListGrants = "list_grants" (NoArgs) -> Vec<GrantSummary>;
        /// Takes a grant back: a new version under a new key without the grantee, then
        /// the revocation on the ledger and the exposure report.
        RevokeGrant = "revoke_grant" (GrantArgs) -> GrantSummary;
        /// The records others shared with the unlocked wallet, from the ledger.
        ListShared = "list_shared" (NoArgs) -> SharedInbox;
        /// Logs the access on the ledger, then fetches, verifies and decrypts a shared
        /// record for display.
        OpenShared = "open_shared" (RecordIdArgs) -> OpenedRecord;
        /// The unlocked wallet's groups and their members.
        ListGroups = "list_groups" (NoArgs) -> Vec<GroupSummary>;
        /// Adds a person to a group (creating it): they get a key for the group.
        AddGroupMember = "add_group_member" (GroupMemberArgs) -> Vec<GroupSummary>;
        /// Removes a person from a group: the group moves to its next epoch, the others
        /// get new keys, and the group's records are re-encrypted.
        RemoveGroupMember = "remove_group_member" (GroupMemberArgs) -> Vec<GroupSummary>;
        /// How far the unlocked wallet's re-encryption (or a clinic's re-keying of its
        /// staff) is: polled while a removal or a revocation runs.
        GetSharingProgress = "sharing_progress" (NoArgs) -> SharingProgress;
        /// The unlocked wallet's signed share code for the ledger's chain.
        GetShareCode = "get_share_code" (NoArgs) -> ShareCodeText;
        /// A patient's one-time check-in code for a front desk (QR and text): a signed
        /// request to be asked; the chosen records are granted only when the patient
        /// allows the desk that redeemed it.
        MakeCheckInCode = "make_check_in_code" (CheckInRequest) -> CheckInCode;
        /// The desks that redeemed the patient's check-in codes, with the answers.
        CheckInAsks = "check_in_asks" (NoArgs) -> Vec<CheckInAsk>;
        /// The patient allows (grants the chosen records until the time chosen, and lets
        /// the desk add records until then) or declines a desk's check-in.
        AnswerCheckIn = "answer_check_in" (AnswerCheckInArgs) -> Vec<CheckInAsk>;
        /// The front desk checks a patient in from a pasted code or a QR picture: the
        /// code's signatures, ledger and freshness checked, then redeemed once: the
        /// patient's wallet then asks them.
        CheckInPatient = "check_in_patient" (CheckInArgs) -> CheckInSession;
        /// The patients checked in at this clinic, newest first.
        ListCheckIns = "list_check_ins" (NoArgs) -> Vec<CheckInSession>;
        /// Logs the access, then opens a record a checked-in patient granted.
        OpenCheckedIn = "open_checked_in" (CheckInRecordArgs) -> OpenedRecord;
        /// Encrypts a file for a checked-in patient (their authority, their policy) and
        /// registers it on the ledger as theirs, with this clinic as its author.
        UploadForPatient = "upload_for_patient" (UploadForPatientArgs) -> UploadedForPatient;
        /// Checks a file or CID against the ledger.
        VerifyRecord = "verify_record" (VerifyArgs) -> Verdict;
        /// Opens the system's file chooser for a picture; answers it (none if cancelled).
        PickPicture = "pick_picture" (NoArgs) -> Option<ChosenFile>;
        /// The clinic's staff keys and its authority's epoch.
        ListStaff = "list_staff" (NoArgs) -> StaffList;
        /// Issues a staff member a key with attributes from the clinic's authority.
        IssueStaffKey = "issue_staff_key" (IssueStaffArgs) -> StaffList;
        /// Revokes a staff member's key: the clinic's authority moves to its next epoch,
        /// the others get new keys, and patients re-encrypt what they shared with its roles.
        RevokeStaffKey = "revoke_staff_key" (StaffHolderArgs) -> StaffList;
        /// Starts rebuilding the unlocked wallet from the ledger and IPFS (it runs in the
        /// background; resumes where a cancelled or interrupted one stopped).
        RebuildWallet = "rebuild_wallet" (NoArgs) -> RebuildStatus;
        /// Where the unlocked wallet's rebuild is (polled while it runs).
        GetRebuildStatus = "rebuild_status" (NoArgs) -> RebuildStatus;
        /// Cancels a running rebuild; what it read is kept, and starting again resumes.
        CancelRebuild = "cancel_rebuild" (NoArgs) -> RebuildStatus;
        /// Record versions registered on the ledger that this device could not bring back.
        ListUnrecovered = "list_unrecovered" (NoArgs) -> Vec<UnrecoveredRecord>;
    }

    impl Streaming for AddRecord {
        type Progress = AddProgress;
    }

    impl Streaming for WatchDrops {
        type Progress = Vec<ChosenFile>;
    }

    /// Arguments of [`ExportAudit`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct ExportAuditArgs {
        /// Which entries.
        pub query: AuditQuery,
        /// The format.
        pub format: ExportFormat,
        /// The file to write (a new file), chosen in the save dialog.
        pub file: FileToken,
    }

    /// Arguments of [`InspectFiles`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct InspectFilesArgs {
        /// Files chosen or dropped.
        pub files: Vec<FileToken>,
    }

    /// Arguments of [`AddRecord`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct AddRecordArgs {
        /// A name the UI picks for this job (for progress and cancel).
        pub job_id: String,
        /// The file (chosen or dropped).
        pub file: FileToken,
        /// Its metadata.
        pub metadata: RecordMetadata,
    }

    /// Arguments naming one grant.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct GrantArgs {
        /// The record.
        pub record_id: String,
        /// The grantee's address (the clinic's, for a clause grant).
        pub grantee: String,
        /// The clause of a grant to a role at a clinic; `None` for a person.
        #[serde(default)]
        pub clause: Option<String>,
    }

    /// Arguments naming a group and a person.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct GroupMemberArgs {
        /// The group (`careteam`).
        pub group: String,
        /// The person's address.
        pub member: String,
    }

    /// Arguments naming a running job.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct JobArgs {
        /// The job.
        pub job_id: String,
    }

    /// Arguments naming a record.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct RecordIdArgs {
        /// The record id.
        pub record_id: String,
    }

    /// Arguments of [`PickFile`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct PickFileArgs {
        /// What the file is for.
        pub purpose: PickPurpose,
    }

    /// Arguments of [`ChooseSavePath`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct ChooseSavePathArgs {
        /// The file name to propose.
        pub suggested_name: String,
    }

    /// Arguments of [`SaveRecordCopy`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SaveCopyArgs {
        /// The record id.
        pub record_id: String,
        /// Where to write the decrypted copy (a new file), chosen in the save dialog.
        pub file: FileToken,
    }

    /// Arguments of [`SaveSettings`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SaveSettingsArgs {
        /// The settings to store.
        pub settings: NodeSettings,
    }

    /// Arguments of [`SetNodeCredential`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SetNodeCredentialArgs {
        /// The node's URL (any URL of it: its origin is what counts).
        pub node: String,
        /// What to send it.
        pub credential: crate::CredentialInput,
    }

    /// The answer of [`SaveSettings`]: refused input is an outcome, not a failure.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(tag = "outcome", rename_all = "snake_case")]
    pub enum SaveOutcome {
        /// Stored; these are the settings now in force.
        Saved {
            /// The stored settings.
            settings: NodeSettings,
        },
        /// Not stored: what is wrong, field by field.
        Invalid {
            /// The problems.
            errors: SettingsError,
        },
    }

    /// Arguments of [`RatePassphrase`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct RatePassphraseArgs {
        /// The passphrase being typed.
        pub passphrase: String,
        /// The wallet's name (guessable words count against the passphrase).
        pub display_name: String,
    }

    /// Arguments of [`CreateWallet`] and, with a phrase, [`RestoreWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct NewWalletArgs {
        /// The role.
        pub role: Role,
        /// A name the user recognises.
        pub display_name: String,
        /// The passphrase.
        pub passphrase: String,
        /// The user saw the weak-passphrase warning and keeps it anyway.
        pub accept_weak: bool,
    }

    /// Arguments of [`ConfirmKit`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct ConfirmKitArgs {
        /// `(1-based position, typed word)`.
        pub answers: Vec<(usize, String)>,
    }

    /// Arguments of [`RestoreWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct RestoreWalletArgs {
        /// The 24 words as typed.
        pub phrase: String,
        /// Role, name and new passphrase.
        pub wallet: NewWalletArgs,
        /// The ledger chain the wallet used, as its printed kit names it (optional): a
        /// ledger node on another chain is then named with both ids instead of read.
        #[serde(default)]
        pub chain_id: Option<u64>,
    }

    /// Arguments of [`UnlockWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct UnlockArgs {
        /// Which wallet.
        pub wallet_id: String,
        /// Its passphrase.
        pub passphrase: String,
    }

    /// Arguments naming one wallet.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct WalletIdArgs {
        /// Which wallet.
        pub wallet_id: String,
    }

    /// Arguments of [`SetQuickUnlock`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SetQuickUnlockArgs {
        /// On or off.
        pub enabled: bool,
    }

    /// Arguments of [`SetIdleTimeout`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SetIdleTimeoutArgs {
        /// Minutes, 1 to 120.
        pub minutes: u32,
    }

    /// Arguments of [`ChangePassphrase`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct ChangePassphraseArgs {
        /// The current passphrase.
        pub old_passphrase: String,
        /// The new one.
        pub new_passphrase: String,
        /// The user keeps a weak new passphrase anyway.
        pub accept_weak: bool,
    }

    /// Arguments of [`DeleteWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct DeleteWalletArgs {
        /// Which wallet.
        pub wallet_id: String,
        /// Its display name, typed by the user.
        pub confirm_name: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique_snake_case() {
        let mut names = commands::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), commands::ALL.len(), "duplicate command name");
        for name in commands::ALL {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn user_error_display_has_hint() {
        let e = UserError::new(
            "The ledger node is unreachable.",
            "Check its URL in Settings.",
        );
        assert_eq!(
            e.to_string(),
            "The ledger node is unreachable. Check its URL in Settings."
        );
    }
}
