//! The app as the shell sees it: the settings, the wallets, the records and the audit
//! trail of one data folder, and one method per IPC command.
//!
//! Each `#[tauri::command]` in the shell is one call into an [`App`] method: the settings
//! in force, the unlocked wallet and its nodes ([`Session`]) are gathered here, never in
//! the shell, so a command and a test reach the use cases the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medwallet_api::commands::{NewWalletArgs, RestoreWalletArgs, SaveOutcome};
use medwallet_api::{
    AuditQuery, AuditTrail, CheckInAsk, CheckInCode, CheckInSession, CredentialInput, Diagnostics,
    Done, EmergencyAlert, ExportFormat, FileToken, GrantSummary, GroupSummary, HealthReport,
    Identity, Inspection, IpfsStatus, KitFile, KitReveal, LedgerStatus, NodeSettings, OpenedRecord,
    RebuildStatus, RecordMetadata, RecordPage, RecordQuery, RecordSummary, SavedCopy, SessionState,
    ShareCodeText, SharePreview, ShareRequest, SharedInbox, SharingProgress, StaffList,
    StartupNotice, StrengthReport, SyncReport, TrailPage, UnlockOutcome, UnrecoveredRecord,
    UploadedForPatient, UserError, Verdict,
};
use url::Url;

use crate::audit::AuditContext;
use crate::error::{CoreError, FrontDeskError, LocalDatabase, StartupError};
use crate::node_access::{self, NodeCredentials};
use crate::records::Progress;
use crate::session::Owner;
use crate::{
    AuditService, Defaults, LedgerTarget, RebuildService, RecordService, SettingsStore,
    WalletService,
};

/// What a method answers over IPC: its value, or the failure in the user's words. The
/// use cases answer [`CoreError`]; this is where it becomes words.
type Answer<T> = Result<T, UserError>;

/// The unlocked wallet and the nodes it works with, from the settings in force: what a
/// use case that reaches the network needs, in one value.
#[derive(Debug)]
pub struct Session {
    /// The unlocked wallet's keys.
    pub owner: Owner,
    /// The IPFS node's RPC URL.
    pub ipfs: Url,
    /// The ledger node and contract.
    pub ledger: LedgerTarget,
}

/// One app data folder's state and use cases.
pub struct App {
    /// The damaged databases found at start and kept aside, in words for the window.
    notices: Vec<StartupNotice>,
    /// The settings database, or why it could not be opened: the app still starts
    /// without it (on the defaults) so the user sees the problem instead of a crash.
    settings: Result<SettingsStore, Arc<crate::settings::StoreError>>,
    /// The settings in force when the store is unusable.
    defaults: Defaults,
    /// The wallets (vault, unlocked session, pending Emergency Kit).
    pub wallets: tokio::sync::Mutex<WalletService>,
    /// Records (per wallet, under `records/`), their outbox and sharing.
    pub records: RecordService,
    /// The audit trail's event caches (per wallet, under `audit/`).
    pub audit: AuditService,
    /// Wallets being rebuilt from the ledger and IPFS.
    pub rebuild: RebuildService,
    /// The last unlocked wallet's node credentials (see `node_access`).
    node_credentials: std::sync::Mutex<NodeCredentials>,
    /// The data folder's lock, held for the app's life: no other process uses the folder
    /// meanwhile (`data_folder`). Last, so that it is let go after everything above is
    /// dropped (fields drop in order); sqlx closes a dropped pool's connections in the
    /// background, so a reopen in the same process (tests) closes the stores first.
    _lock: crate::data_folder::FolderLock,
}

impl App {
    /// Opens the app's data in `dir`; printed Emergency Kits go to `kit_dir`.
    ///
    /// Refused, before any database is opened, when another process holds the folder
    /// (`StartupError::AlreadyRunning`, with its pid) or it cannot be created or written
    /// (`StartupError::FolderUnusable`). A damaged settings file, records database or
    /// audit cache does not stop it: each is kept aside and told ([`App::startup_notices`]).
    pub async fn open(
        dir: &Path,
        kit_dir: Option<PathBuf>,
        defaults: Defaults,
    ) -> Result<Arc<App>, CoreError> {
        let lock = crate::data_folder::FolderLock::take(dir)?;
        let found = crate::data_folder::keep_damaged_aside(dir).await;
        let settings = SettingsStore::open(&dir.join("settings.sqlite"), defaults.clone())
            .await
            .map_err(Arc::new);
        if let Err(problem) = &settings {
            tracing::error!(%problem, "the settings database cannot be used; running on the defaults");
        }
        let records = RecordService::new(dir);
        let audit = AuditService::over(records.event_caches());
        let mut wallets = WalletService::open(dir, kit_dir).await;
        // A damaged database is told by its wallet's name, which the vault knows.
        let names: std::collections::HashMap<String, String> = match found.is_empty() {
            true => Default::default(),
            false => wallets
                .list()
                .await
                .map(|list| {
                    list.into_iter()
                        .map(|w| (w.wallet_id, w.display_name))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let notices = found.into_iter().map(|f| notice(f, &names)).collect();
        Ok(Arc::new(App {
            _lock: lock,
            notices,
            settings,
            defaults,
            wallets: tokio::sync::Mutex::new(wallets),
            records,
            audit,
            rebuild: RebuildService::new(),
            node_credentials: std::sync::Mutex::new(NodeCredentials::default()),
        }))
    }

    /// What was found damaged at start and kept aside, in words (the window shows them
    /// until the app quits).
    pub fn startup_notices(&self) -> Vec<StartupNotice> {
        self.notices.clone()
    }

    // Settings and nodes.

    fn settings_store(&self) -> Result<&SettingsStore, CoreError> {
        self.settings
            .as_ref()
            .map_err(|problem| CoreError::SettingsUnusable(problem.clone()))
    }

    /// The settings in force (the defaults when the store cannot be read), with the
    /// nodes the wallet has credentials for. Every read also writes the node access
    /// book from them, so a client made after it reaches each node as set.
    pub async fn settings(&self) -> NodeSettings {
        let (mut settings, ca) = match &self.settings {
            Ok(store) => match store.get().await {
                Ok(settings) => (settings, store.extra_ca_pem().await.ok().flatten()),
                Err(e) => {
                    tracing::warn!(error = %e, "the settings could not be read; using the defaults");
                    (self.defaults.0.clone(), None)
                }
            },
            Err(_) => (self.defaults.0.clone(), None),
        };
        let credentials = crate::records::lock(&self.node_credentials);
        node_access::apply(&settings, ca.as_deref(), &credentials);
        settings.credentials = credentials.info();
        settings
    }

    /// Validates and stores new settings.
    pub async fn save_settings(&self, settings: &NodeSettings) -> Answer<SaveOutcome> {
        let saved = self.settings_store()?.save(settings).await;
        Ok(match saved.map_err(CoreError::Settings)? {
            SaveOutcome::Saved { .. } => SaveOutcome::Saved {
                settings: self.settings().await,
            },
            invalid => invalid,
        })
    }

    /// Back to the defaults.
    pub async fn reset_settings(&self) -> Answer<NodeSettings> {
        let reset = self.settings_store()?.reset().await;
        reset.map_err(CoreError::Settings)?;
        Ok(self.settings().await)
    }

    /// Stores (or forgets) the unlocked wallet's credentials for one node in its vault.
    pub async fn set_node_credential(
        &self,
        node: &str,
        credential: &CredentialInput,
    ) -> Answer<NodeSettings> {
        let mut wallets = self.wallets.lock().await;
        let mut credentials = NodeCredentials::load(&mut wallets).await?;
        credentials.set(node, credential)?;
        credentials.save(&mut wallets).await?;
        drop(wallets);
        *crate::records::lock(&self.node_credentials) = credentials;
        Ok(self.settings().await)
    }

    /// Trusts the CA certificate `pem` for `https://` nodes (`None`: no extra CA).
    pub async fn set_extra_ca(&self, pem: Option<&[u8]>) -> Answer<NodeSettings> {
        let set = self.settings_store()?.set_extra_ca(pem).await;
        set.map_err(CoreError::Settings)?
            .map_err(|reason| CoreError::BadCaCertificate { reason })?;
        Ok(self.settings().await)
    }

    /// Trusts the CA certificate in the file at `path` (picked in the shell's dialog).
    pub async fn import_ca_file(&self, path: &Path) -> Answer<NodeSettings> {
        /// A CA bundle is a few KiB; anything far larger is not one.
        const MAX_CA_FILE: u64 = 256 * 1024;
        let unreadable = |source: std::io::Error| CoreError::FileUnreadable {
            path: path.to_owned(),
            source,
        };
        let len = tokio::fs::metadata(path).await.map_err(unreadable)?.len();
        if len > MAX_CA_FILE {
            return Err(CoreError::BadCaCertificate {
                reason: format!("the file has {len} bytes; a CA certificate has a few thousand"),
            }
            .into());
        }
        let pem = tokio::fs::read(path).await.map_err(unreadable)?;
        self.set_extra_ca(Some(&pem)).await
    }

    /// Reads the unlocked wallet's node credentials into the book (after an unlock).
    async fn load_node_credentials(&self) {
        let loaded = NodeCredentials::load(&mut *self.wallets.lock().await).await;
        match loaded {
            Ok(credentials) => {
                *crate::records::lock(&self.node_credentials) = credentials;
                // Written into the book now, not at the next settings read.
                let _ = self.settings().await;
            }
            Err(e) => {
                // Not the last wallet's: none, rather than another wallet's tokens.
                *crate::records::lock(&self.node_credentials) = NodeCredentials::default();
                let _ = self.settings().await;
                tracing::warn!(error = e.kind(), "the node credentials could not be read");
            }
        }
    }

    /// Both nodes, now.
    pub async fn health(&self) -> HealthReport {
        crate::check_health(&self.settings().await).await
    }

    /// The IPFS node's URL from the settings in force.
    pub async fn ipfs_url(&self) -> Answer<Url> {
        let settings = self.settings().await;
        Ok(
            Url::parse(&settings.ipfs_url).map_err(|source| CoreError::BadIpfsUrl {
                url: settings.ipfs_url.clone(),
                source,
            })?,
        )
    }

    /// The ledger from the settings in force.
    pub async fn ledger(&self) -> Answer<LedgerTarget> {
        Ok(LedgerTarget::from_settings(&self.settings().await)?)
    }

    /// The unlocked wallet's keys (refused while locked).
    pub async fn owner(&self) -> Answer<Owner> {
        Ok(self.wallets.lock().await.record_owner()?)
    }

    /// The unlocked wallet and both nodes.
    pub async fn session(&self) -> Answer<Session> {
        Ok(Session {
            owner: self.owner().await?,
            ipfs: self.ipfs_url().await?,
            ledger: self.ledger().await?,
        })
    }

    // Wallets. Each locks the wallet service for one use case; every one but
    // `session_state` counts as activity for auto-lock. `reveal_kit` is the only answer with
    // a secret (the recovery words for the kit screen), and only between `create_wallet`
    // and `confirm_kit`; see `wallet.rs` and its no-secrets test.

    /// What the window should show. Polled; not activity.
    pub async fn session_state(&self) -> SessionState {
        self.wallets.lock().await.state().await
    }

    /// Rates a passphrase while it is typed.
    pub async fn rate_passphrase(&self, passphrase: &str, display_name: &str) -> StrengthReport {
        self.wallets
            .lock()
            .await
            .rate_passphrase(passphrase, display_name)
    }

    /// A new wallet, unlocked, its Emergency Kit pending.
    pub async fn create_wallet(&self, new: &NewWalletArgs) -> Answer<Identity> {
        let mut wallets = self.wallets.lock().await;
        let identity = wallets
            .create_wallet(
                new.role,
                &new.display_name,
                &new.passphrase,
                new.accept_weak,
            )
            .await?;
        self.follow_session(&mut wallets).await;
        drop(wallets);
        // A new wallet has none: the last wallet's leave the book.
        self.load_node_credentials().await;
        Ok(identity)
    }

    /// The new wallet's recovery words, once, for the kit screen.
    pub async fn reveal_kit(&self) -> Answer<KitReveal> {
        Ok(self.wallets.lock().await.reveal_kit()?)
    }

    /// Checks the re-typed words.
    pub async fn confirm_kit(&self, answers: &[(usize, String)]) -> Answer<Done> {
        Ok(self.wallets.lock().await.confirm_kit(answers)?)
    }

    /// The printable kit, written to a file; answers its path only.
    /// The kit names the ledger in the settings (its chain and contract) when it is known,
    /// so that a restore can name a node on another chain.
    pub async fn export_kit(&self) -> Answer<KitFile> {
        let ledger = match self.ledger().await {
            Ok(LedgerTarget {
                contract: Some(contract),
                chain_id,
                url,
            }) => match chain_id {
                Some(chain) => Some((chain, contract.to_checksum(None))),
                // Asked of the node (bounded); a kit without it is still a kit.
                None => medwallet_ledger::LedgerNode::new(&url)
                    .status()
                    .await
                    .ok()
                    .map(|s| (s.chain_id, contract.to_checksum(None))),
            },
            _ => None,
        };
        Ok(self.wallets.lock().await.export_kit(ledger)?)
    }

    /// A wallet restored from its recovery phrase: its keys now, then the rest of it
    /// rebuilt from the ledger and IPFS in the background (when the ledger node does not
    /// answer, as soon as it does).
    pub async fn restore_wallet(self: &Arc<Self>, args: &RestoreWalletArgs) -> Answer<Identity> {
        let (phrase, new) = (&args.phrase, &args.wallet);
        // A typo in the words leaves nothing behind.
        medwallet_vault::RecoveryPhrase::parse(phrase)
            .map_err(|e| CoreError::from(medwallet_vault::VaultError::from(e)))?;
        // The rebuild is asked for under the wallet's id before the vault keeps the
        // wallet: a stop in between leaves at most an empty records folder, never a
        // restored wallet whose records are not brought back. And it is asked for before
        // the wallets are let go: the background pass (which needs them for the unlocked
        // wallet) never sees the restored wallet without it, and so never publishes for
        // it before its epoch is read back.
        let id = medwallet_vault::WalletId::generate().map_err(CoreError::from)?;
        self.records.restore_begins(id.as_str());
        // The chain the kit names, if the user gave it: a node on another one is named.
        let asked = self
            .rebuild
            .ask_on(&self.records, id.as_str(), args.chain_id)
            .await;
        if let Err(e) = asked {
            self.records.restore_ends(id.as_str(), false).await;
            return Err(e.disk_full_in(&self.records.dir, None).into());
        }
        let mut wallets = self.wallets.lock().await;
        let restored = wallets
            .restore_wallet_as(
                id.clone(),
                phrase,
                new.role,
                &new.display_name,
                &new.passphrase,
                new.accept_weak,
            )
            .await;
        self.records
            .restore_ends(id.as_str(), restored.is_ok())
            .await;
        let identity = restored?;
        self.follow_session(&mut wallets).await;
        drop(wallets);
        self.load_node_credentials().await;
        if let Err(e) = self.start_rebuild().await {
            // The keys are restored; the background pass starts the rebuild later.
            tracing::info!(error = %e.message, "the rebuild did not start yet");
        }
        Ok(identity)
    }

    /// Unlocks a wallet with its passphrase.
    pub async fn unlock_wallet(&self, wallet_id: &str, passphrase: &str) -> Answer<UnlockOutcome> {
        let mut wallets = self.wallets.lock().await;
        let outcome = wallets.unlock(wallet_id, passphrase).await?;
        if matches!(outcome, UnlockOutcome::Unlocked { .. }) {
            self.follow_session(&mut wallets).await;
            drop(wallets);
            self.load_node_credentials().await;
        }
        Ok(outcome)
    }

    /// Unlocks a wallet with the key kept in the system keyring.
    pub async fn quick_unlock(&self, wallet_id: &str) -> Answer<Identity> {
        let mut wallets = self.wallets.lock().await;
        let identity = wallets.quick_unlock(wallet_id).await?;
        self.follow_session(&mut wallets).await;
        drop(wallets);
        self.load_node_credentials().await;
        Ok(identity)
    }

    /// Locks the unlocked wallet now (a rebuild running stops and resumes at the next
    /// unlock).
    pub async fn lock_wallet(&self) -> Done {
        let mut wallets = self.wallets.lock().await;
        let done = wallets.lock();
        self.follow_session(&mut wallets).await;
        drop(wallets);
        self.rebuild.interrupt_all();
        done
    }

    /// Forgets the decrypted records list and keeps one for the wallet unlocked now only
    /// (none after a lock); called after every session change that took place (a refused
    /// unlock is none), `wallets` held so that no other change comes between.
    async fn follow_session(&self, wallets: &mut WalletService) {
        let unlocked = if wallets.is_unlocked() {
            wallets.current_wallet_id()
        } else {
            None
        };
        self.records.lists_follow_session(unlocked.as_deref()).await;
    }

    /// Turns quick unlock on or off for the unlocked wallet.
    pub async fn set_quick_unlock(&self, enabled: bool) -> Answer<Done> {
        Ok(self.wallets.lock().await.set_quick_unlock(enabled).await?)
    }

    /// Minutes of inactivity before auto-lock, for every wallet.
    pub async fn set_idle_timeout(&self, minutes: u32) -> Answer<Done> {
        Ok(self.wallets.lock().await.set_idle_timeout(minutes)?)
    }

    /// Changes the unlocked wallet's passphrase.
    pub async fn change_passphrase(&self, old: &str, new: &str, accept_weak: bool) -> Answer<Done> {
        let mut wallets = self.wallets.lock().await;
        Ok(wallets.change_passphrase(old, new, accept_weak).await?)
    }

    /// Deletes a wallet from this vault, after its name was typed (its kit still restores it).
    pub async fn delete_wallet(&self, wallet_id: &str, confirm_name: &str) -> Answer<Done> {
        let mut wallets = self.wallets.lock().await;
        let done = wallets.delete_wallet(wallet_id, confirm_name).await?;
        self.follow_session(&mut wallets).await;
        Ok(done)
    }

    // Records.

    /// Checks files before adding them and proposes metadata; each file is the token the
    /// shell handed out for it (the answer names files by it) and its path.
    pub async fn inspect_files(&self, files: &[(FileToken, String)]) -> Answer<Inspection> {
        let owner = self.owner().await?;
        Ok(self.records.inspect(&owner, files))
    }

    /// Encrypts, uploads and registers a file; `progress` hears how it goes.
    pub async fn add_record(
        &self,
        job_id: &str,
        path: &str,
        metadata: &RecordMetadata,
        progress: Progress,
    ) -> Answer<RecordSummary> {
        let s = self.session().await?;
        let progress = crate::records::throttled(progress, crate::records::PROGRESS_EVERY);
        Ok(self
            .records
            .add(
                &s.owner, &s.ipfs, &s.ledger, job_id, path, metadata, progress,
            )
            .await?)
    }

    /// Stops a running add; nothing of it is kept.
    pub fn cancel_add(&self, job_id: &str) -> Done {
        self.records.cancel(job_id);
        Done {}
    }

    /// One page of the unlocked wallet's records that match `query`, with the counts;
    /// copies are counted on the settings' IPFS node and replicas.
    pub async fn list_records(&self, query: &RecordQuery) -> Answer<RecordPage> {
        let owner = self.owner().await?;
        let settings = self.settings().await;
        let replicas = crate::ipfs::replica_urls(&settings);
        let ipfs = url::Url::parse(&settings.ipfs_url).ok();
        let nodes = ipfs.as_ref().map(|ipfs| crate::records::list::Nodes {
            ipfs,
            replicas: &replicas,
        });
        Ok(self.records.page(&owner, query, nodes).await?)
    }

    /// Fetches, verifies, decrypts and renders a record.
    pub async fn open_record(&self, record_id: &str) -> Answer<OpenedRecord> {
        let (owner, ipfs) = (self.owner().await?, self.ipfs_url().await?);
        Ok(self.records.open(&owner, &ipfs, record_id).await?)
    }

    /// Verifies and decrypts a record into the file at `path`.
    pub async fn save_record_copy(&self, record_id: &str, path: &str) -> Answer<SavedCopy> {
        let (owner, ipfs) = (self.owner().await?, self.ipfs_url().await?);
        Ok(self
            .records
            .save_copy(&owner, &ipfs, record_id, path)
            .await?)
    }

    /// Pushes what waits in the outbox now.
    /// Pushes what waits in the outbox now; then the replicas are asked again what they
    /// hold (what one dropped is forgotten and asked for again), and what they lack.
    pub async fn sync_records(&self) -> Answer<SyncReport> {
        let s = self.session().await?;
        let report = self
            .records
            .sync(&s.owner.wallet_id, Some(&s.owner), &s.ipfs, &s.ledger, true)
            .await?;
        let replicas = crate::ipfs::replica_urls(&self.settings().await);
        if !replicas.is_empty() {
            // Failures are kept per replica and shown with each record's copies.
            let wallet = &s.owner.wallet_id;
            if let Err(e) = self.records.recheck_replicas(wallet, &replicas).await {
                tracing::debug!(error = e.kind(), "replicas were not checked again");
            }
            if let Err(e) = self
                .records
                .replicate(wallet, &s.ipfs, &replicas, true)
                .await
            {
                tracing::debug!(error = e.kind(), "replication did not run");
            }
        }
        Ok(report)
    }

    // The audit trail.

    /// Syncs from the ledger (when it answers), checked against the other ledger nodes in
    /// the settings, and answers one page of the filtered trail.
    pub async fn audit_trail(&self, page: &TrailPage) -> Answer<AuditTrail> {
        let (owner, ledger) = (self.owner().await?, self.ledger().await?);
        let context = AuditContext::of(&self.records, &owner)
            .await?
            .checked_against(&self.settings().await);
        Ok(self.audit.trail(&owner, &ledger, page, &context).await?)
    }

    /// The patient's emergency openings not marked seen, newest first (the red banner;
    /// polled, so not activity). Other roles have none.
    pub async fn emergency_alerts(&self) -> Answer<Vec<EmergencyAlert>> {
        let owner = self.quiet_owner().await?;
        if owner.role != medwallet_vault::Role::Patient {
            return Ok(Vec::new());
        }
        let ledger = self.ledger().await?;
        Ok(self
            .audit
            .emergency_alerts(&self.records, &owner, &ledger)
            .await?)
    }

    /// Marks the emergency openings `ids` seen; answers those still unseen.
    pub async fn acknowledge_emergency_alerts(&self, ids: &[i64]) -> Answer<Vec<EmergencyAlert>> {
        let (owner, ledger) = (self.owner().await?, self.ledger().await?);
        self.audit
            .acknowledge_emergencies(&self.records, &owner, ids)
            .await?;
        Ok(self
            .audit
            .emergency_alerts(&self.records, &owner, &ledger)
            .await?)
    }

    /// Writes the filtered trail to `path` as CSV or a FHIR bundle.
    pub async fn export_audit(
        &self,
        query: &AuditQuery,
        format: ExportFormat,
        path: &str,
    ) -> Answer<SavedCopy> {
        let (owner, ledger) = (self.owner().await?, self.ledger().await?);
        let context = AuditContext::of(&self.records, &owner)
            .await?
            .checked_against(&self.settings().await);
        Ok(self
            .audit
            .export(&owner, &ledger, query, &context, format, path)
            .await?)
    }

    // Sharing.

    /// Checks a share request and shows the policy in words; nothing is sent.
    pub async fn preview_share(&self, request: &ShareRequest) -> Answer<SharePreview> {
        let (owner, ledger) = (self.owner().await?, self.ledger().await?);
        Ok(self.records.preview_share(&owner, &ledger, request).await?)
    }

    /// Queues the grants and sends them now if the nodes answer.
    pub async fn share_records(&self, request: &ShareRequest) -> Answer<Vec<GrantSummary>> {
        let s = self.session().await?;
        Ok(self
            .records
            .share(&s.owner, &s.ipfs, &s.ledger, request)
            .await?)
    }

    /// The unlocked wallet's grants.
    pub async fn list_grants(&self) -> Answer<Vec<GrantSummary>> {
        Ok(self.records.list_grants(&self.owner().await?).await?)
    }

    /// Revokes a grant: re-encrypts without the grantee and reports the exposure.
    pub async fn revoke_grant(
        &self,
        record_id: &str,
        grantee: &str,
        clause: Option<&str>,
    ) -> Answer<GrantSummary> {
        let s = self.session().await?;
        Ok(self
            .records
            .revoke(&s.owner, &s.ipfs, &s.ledger, record_id, grantee, clause)
            .await?)
    }

    /// What others shared with the unlocked wallet.
    pub async fn list_shared(&self) -> Answer<SharedInbox> {
        let s = self.session().await?;
        Ok(self
            .records
            .list_shared(&s.owner, &s.ipfs, &s.ledger)
            .await?)
    }

    /// Logs the access on the ledger, then opens a record shared with this wallet.
    pub async fn open_shared(&self, record_id: &str) -> Answer<OpenedRecord> {
        let s = self.session().await?;
        Ok(self
            .records
            .open_shared(&s.owner, &s.ipfs, &s.ledger, record_id)
            .await?)
    }

    /// The unlocked wallet's groups.
    pub async fn list_groups(&self) -> Answer<Vec<GroupSummary>> {
        Ok(self.records.list_groups(&self.owner().await?).await?)
    }

    /// Adds a person to a group; they get a key for it.
    pub async fn add_group_member(&self, group: &str, member: &str) -> Answer<Vec<GroupSummary>> {
        let s = self.session().await?;
        Ok(self
            .records
            .add_group_member(&s.owner, &s.ipfs, &s.ledger, group, member)
            .await?)
    }

    /// Removes a person from a group; its records are re-encrypted without them.
    pub async fn remove_group_member(
        &self,
        group: &str,
        member: &str,
    ) -> Answer<Vec<GroupSummary>> {
        let s = self.session().await?;
        Ok(self
            .records
            .remove_group_member(&s.owner, &s.ipfs, &s.ledger, group, member)
            .await?)
    }

    /// How far the unlocked wallet's re-encryption (a patient's) or re-keying of its staff
    /// (a clinic's) is, or where the last one ended. Polled while a page waits; not
    /// activity.
    pub async fn sharing_progress(&self) -> Answer<SharingProgress> {
        let owner = self.quiet_owner().await?;
        Ok(self.records.sharing_progress(&owner.wallet_id))
    }

    /// The unlocked wallet's signed share code for the ledger's chain.
    pub async fn share_code(&self) -> Answer<ShareCodeText> {
        let chain_id = self.ledger().await?.chain_id().await?;
        let code = self.wallets.lock().await.share_code(chain_id)?;
        Ok(ShareCodeText { code, chain_id })
    }

    // The front desk.

    /// Makes a check-in code (a signed request to be asked, granting nothing) and answers
    /// it, drawn as a QR code.
    pub async fn make_check_in_code(
        &self,
        record_ids: &[String],
        valid_minutes: u32,
    ) -> Answer<CheckInCode> {
        let s = self.session().await?;
        let offered = self
            .records
            .offer_check_in(&s.owner, &s.ipfs, &s.ledger, record_ids, valid_minutes)
            .await?;
        let code = self
            .wallets
            .lock()
            .await
            .check_in_code(offered.chain_id, &offered.check_in)?;
        let qr_svg = crate::qr::svg(&code)
            .map_err(FrontDeskError::QrNotDrawn)
            .map_err(CoreError::from)?;
        Ok(CheckInCode {
            code,
            qr_svg,
            expires_at: offered.expires_at,
            records: offered.records,
        })
    }

    /// The desks that redeemed this patient's check-in codes, with their answers. Polled
    /// by the window; not activity, so a wallet left open still locks.
    pub async fn check_in_asks(&self) -> Answer<Vec<CheckInAsk>> {
        let owner = self.quiet_owner().await?;
        let ledger = self.ledger().await?;
        Ok(self.records.check_in_asks(&owner, &ledger).await?)
    }

    /// The patient allows or declines a desk's check-in; answers the list again.
    pub async fn answer_check_in(
        &self,
        check_in_id: &str,
        clinic: &str,
        allow: bool,
    ) -> Answer<Vec<CheckInAsk>> {
        let s = self.session().await?;
        self.records
            .answer_check_in(&s.owner, &s.ipfs, &s.ledger, check_in_id, clinic, allow)
            .await?;
        Ok(self.records.check_in_asks(&s.owner, &s.ledger).await?)
    }

    /// Reads a check-in code (its text, or a picture of its QR code) and checks the
    /// patient in.
    pub async fn check_in_patient(
        &self,
        text: Option<&str>,
        picture: Option<&str>,
    ) -> Answer<CheckInSession> {
        let text = match (text.map(str::trim), picture.map(str::trim)) {
            (Some(text), _) if !text.is_empty() => text.to_owned(),
            (_, Some(path)) if !path.is_empty() => {
                crate::front_desk::read_code_picture(Path::new(path)).await?
            }
            _ => return Err(CoreError::from(FrontDeskError::NoCodeGiven).into()),
        };
        let s = self.session().await?;
        Ok(self
            .records
            .check_in(&s.owner, &s.ipfs, &s.ledger, &text)
            .await?)
    }

    /// The patients checked in at this desk.
    pub async fn list_check_ins(&self) -> Answer<Vec<CheckInSession>> {
        let s = self.session().await?;
        Ok(self
            .records
            .list_check_ins(&s.owner, &s.ipfs, &s.ledger)
            .await?)
    }

    /// Logs the access, then opens a record a checked-in patient granted.
    pub async fn open_checked_in(
        &self,
        check_in_id: &str,
        record_id: &str,
    ) -> Answer<OpenedRecord> {
        let s = self.session().await?;
        Ok(self
            .records
            .open_checked_in(&s.owner, &s.ipfs, &s.ledger, check_in_id, record_id)
            .await?)
    }

    /// Encrypts a file for a checked-in patient and registers it as theirs.
    pub async fn upload_for_patient(
        &self,
        check_in_id: &str,
        path: &str,
        metadata: &RecordMetadata,
    ) -> Answer<UploadedForPatient> {
        let s = self.session().await?;
        Ok(self
            .records
            .upload_for_patient(&s.owner, &s.ipfs, &s.ledger, check_in_id, path, metadata)
            .await?)
    }

    /// Checks a file or CID against the ledger.
    pub async fn verify_record(&self, cid: Option<&str>, path: Option<&str>) -> Answer<Verdict> {
        let s = self.session().await?;
        Ok(self
            .records
            .verify(&s.owner, &s.ipfs, &s.ledger, cid, path)
            .await?)
    }

    // Staff.

    /// The clinic's staff keys and its authority's epoch.
    pub async fn list_staff(&self) -> Answer<StaffList> {
        Ok(self.records.list_staff(&self.owner().await?).await?)
    }

    /// Issues a staff member a key with attributes.
    pub async fn issue_staff_key(&self, holder: &str, attributes: &[String]) -> Answer<StaffList> {
        let s = self.session().await?;
        self.records
            .issue_staff_key(&s.owner, &s.ipfs, &s.ledger, holder, attributes)
            .await?;
        Ok(self.records.list_staff(&s.owner).await?)
    }

    /// Revokes a staff key: the authority moves to its next epoch.
    pub async fn revoke_staff_key(&self, holder: &str) -> Answer<StaffList> {
        let s = self.session().await?;
        Ok(self
            .records
            .revoke_staff_key(&s.owner, &s.ipfs, &s.ledger, holder)
            .await?)
    }
}

impl App {
    // Rebuilding the wallet from the ledger and IPFS.

    /// Asks for a rebuild of the unlocked wallet and starts it in the background (it
    /// resumes where a cancelled or interrupted one stopped).
    pub async fn rebuild_wallet(self: &Arc<Self>) -> Answer<RebuildStatus> {
        let owner = self.owner().await?;
        self.rebuild.ask(&self.records, &owner.wallet_id).await?;
        drop(owner);
        self.start_rebuild().await
    }

    /// Starts the unlocked wallet's rebuild in the background if one is asked for and
    /// none runs; answers its status.
    async fn start_rebuild(self: &Arc<Self>) -> Answer<RebuildStatus> {
        let s = self.session().await?;
        let peers = self.settings().await.ipfs_peers;
        let app = self.clone();
        tokio::spawn(async move {
            let Session {
                owner,
                ipfs,
                ledger,
            } = s;
            // A new machine's node knows no one yet: the records are on the peers
            // (a replica, the clinic's node), so it is connected to them first.
            crate::ipfs::keep_peers(&ipfs, &peers).await;
            if let Err(e) = app
                .rebuild
                .run(&app.records, &app.audit, &owner, &ipfs, &ledger)
                .await
            {
                tracing::warn!(error = e.kind(), "the rebuild failed");
            }
        });
        // The task claims its slot at once; until then the status says it waits.
        self.rebuild_status().await
    }

    /// Resumes the unlocked wallet's rebuild when one is asked for and not running (the
    /// background pass: after a restore whose ledger did not answer, after a restart).
    pub async fn resume_rebuild(self: &Arc<Self>) {
        // Its id only: no copy of the keys for a check that is usually "nothing to do".
        let wallet_id = {
            let mut wallets = self.wallets.lock().await;
            wallets
                .is_unlocked()
                .then(|| wallets.current_wallet_id())
                .flatten()
        };
        let Some(wallet_id) = wallet_id else {
            return;
        };
        let contract = self.ledger().await.ok().and_then(|l| l.contract);
        match self
            .rebuild
            .wanted(&self.records, &wallet_id, contract)
            .await
        {
            Ok(true) => {
                if let Err(e) = self.start_rebuild().await {
                    tracing::debug!(error = %e.message, "the rebuild did not start");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = e.kind(), "the rebuild's state was not read"),
        }
    }

    /// The unlocked wallet for a read the window polls: not activity, so a page left
    /// open still auto-locks.
    async fn quiet_owner(&self) -> Answer<Owner> {
        let owner = self.wallets.lock().await.record_owner_if_unlocked();
        match owner {
            Some(owner) => Ok(owner),
            // Locked: the same refusal as any other command's.
            None => self.owner().await,
        }
    }

    /// Where the unlocked wallet's rebuild is (polled; not activity).
    pub async fn rebuild_status(&self) -> Answer<RebuildStatus> {
        Ok(self
            .rebuild
            .status(&self.records, &self.quiet_owner().await?)
            .await?)
    }

    /// Cancels the unlocked wallet's rebuild; what it read is kept.
    pub async fn cancel_rebuild(&self) -> Answer<RebuildStatus> {
        let owner = self.owner().await?;
        self.rebuild.cancel(&owner.wallet_id);
        Ok(self.rebuild.status(&self.records, &owner).await?)
    }

    /// Record versions registered on the ledger that this device could not bring back.
    pub async fn list_unrecovered(&self) -> Answer<Vec<UnrecoveredRecord>> {
        Ok(self
            .rebuild
            .unrecovered(&self.records, &self.quiet_owner().await?)
            .await?)
    }
}

impl App {
    /// A plain-text report for a user to send when something fails: versions, the
    /// platform, the wallet's role, both nodes' health and the newest log lines (which
    /// never hold a secret or a title; see the logging rule in ARCHITECTURE.md).
    pub async fn diagnostics(
        &self,
        app_version: &str,
        log_dir: &Path,
        log_lines: Result<Vec<String>, String>,
    ) -> Diagnostics {
        let health = self.health().await;
        let role = self.wallets.lock().await.current_role();
        let mut lines = vec![
            format!("medwallet {app_version}"),
            format!(
                "platform: {} {}",
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
            format!(
                "wallet: {}",
                role.map_or("none unlocked".to_owned(), |r| format!("{r:?} (unlocked)"))
            ),
            format!(
                "IPFS node {}: {}",
                bare_url(&health.ipfs.url),
                match &health.ipfs.status {
                    IpfsStatus::Up { version, peer_id } => format!("up, {version}, peer {peer_id}"),
                    IpfsStatus::Down { problem, reason } => format!(
                        "down ({problem:?}): {}",
                        without_url(reason, &health.ipfs.url)
                    ),
                }
            ),
            format!(
                "ledger node {}: {}",
                bare_url(&health.ledger.url),
                match &health.ledger.status {
                    LedgerStatus::Up {
                        chain_id,
                        block_height,
                        contract_deployed,
                    } => format!(
                        "up, chain {chain_id}, block {block_height}, contract {}",
                        match contract_deployed {
                            Some(true) => "deployed",
                            Some(false) => "missing",
                            None => "not set",
                        }
                    ),
                    LedgerStatus::Down { problem, reason } => format!(
                        "down ({problem:?}): {}",
                        without_url(reason, &health.ledger.url)
                    ),
                }
            ),
            format!("checked at {}", health.checked_at),
            format!("log folder: {}", log_dir.display()),
        ];
        match log_lines {
            Ok(log) => {
                lines.push(format!("--- the last {} log lines ---", log.len()));
                lines.extend(log);
            }
            Err(problem) => lines.push(format!("the log could not be read: {problem}")),
        }
        let mut text = lines.join("\n");
        text.push('\n');
        Diagnostics {
            log_path: log_dir.display().to_string(),
            text,
        }
    }
}

/// A damaged database found at start, for the window: a records database names its
/// wallet, whose rebuild from the ledger the window offers.
fn notice(
    mut found: StartupError,
    names: &std::collections::HashMap<String, String>,
) -> StartupNotice {
    if let StartupError::SetAside { database, .. } | StartupError::NotSetAside { database, .. } =
        &mut found
    {
        if let LocalDatabase::Records { wallet_id, name }
        | LocalDatabase::AuditCache { wallet_id, name } = &mut **database
        {
            *name = names.get(wallet_id.as_str()).cloned();
        }
    }
    let rebuild_wallet = match &found {
        StartupError::SetAside { database, .. } => match &**database {
            LocalDatabase::Records { wallet_id, .. } => Some(wallet_id.clone()),
            _ => None,
        },
        _ => None,
    };
    StartupNotice {
        problem: CoreError::Startup(found).into(),
        rebuild_wallet,
    }
}

/// A node URL as the diagnostics report shows it: its scheme, host and port only. The
/// rest may carry credentials (a user name and password, a token in the path or query).
fn bare_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            (Some(host), None) => format!("{}://{host}", url.scheme()),
            _ => format!("{}:", url.scheme()),
        },
        Err(_) => "(not a valid URL)".to_owned(),
    }
}

/// A node's health reason with the node's URL, as typed, replaced by its bare form.
fn without_url(reason: &str, url: &str) -> String {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return reason.to_owned();
    }
    let bare = bare_url(trimmed);
    // As typed, and as the URL parser writes it back (errors name either).
    let mut shown = reason.replace(trimmed, &bare);
    if let Ok(parsed) = Url::parse(trimmed) {
        shown = shown.replace(parsed.as_str(), &bare);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::{bare_url, without_url};

    #[test]
    fn the_report_shows_node_urls_without_credentials() {
        assert_eq!(
            bare_url("https://alice:s3cret@ipfs.example:5001/v3/key?token=abc#x"),
            "https://ipfs.example:5001"
        );
        assert_eq!(
            bare_url("https://rpc.example/v3/0123abcd"),
            "https://rpc.example:443"
        );
        assert_eq!(bare_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(bare_url("not a url"), "(not a valid URL)");
        let typed = "http://bob:pw@node.example:8545/secret";
        let reason = format!("The ledger node at {typed} does not answer.");
        let shown = without_url(&reason, typed);
        assert!(
            !shown.contains("pw") && !shown.contains("secret"),
            "{shown}"
        );
        assert!(shown.contains("http://node.example:8545"), "{shown}");
    }
}
