//! Wallet use cases over the vault: create, Emergency Kit, restore, unlock and lock, several
//! wallets. Every [`VaultError`] is answered as [`CoreError::Vault`]; its words (what to
//! do next) are `words`'.
//!
//! The shell keeps one [`WalletService`] behind a mutex and calls one method per command.
//! Every answer is an `medwallet_api` display type; the only one that carries a secret is
//! [`WalletService::reveal_kit`] (the 24 words for the kit screen), answered only between
//! creating a wallet and confirming its kit. Every method except [`WalletService::state`]
//! and [`WalletService::tick`] counts as activity for auto-lock.
//!
//! Files in the data folder: `vault.sqlite` (or the file named in `wallet-prefs.json` after
//! a restore out of a damaged vault), `wallet-prefs.json` (the calibrated Argon2 parameters,
//! the idle time, the vault file name: nothing secret), and the printed kits under
//! `Emergency Kits/` when no Documents or Downloads folder exists.
//!
//! `MEDWALLET_INSECURE_TEST_KDF=1` (set only by the end-to-end tests, never by the app) opens
//! the vault with tiny Argon2 parameters so that tests do not spend seconds per unlock; only
//! a debug build honours it (a release build logs that it is ignored).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use medwallet_api::{
    Done, Identity, KitFile, KitReveal, Role, SessionState, StrengthReport, UnlockOutcome,
    UserError, WalletSummary,
};
use medwallet_vault::{
    kdf, CreatedWallet, EmergencyKit, KdfParams, NewWallet, PublicIdentity, QuickUnlockStore,
    Unlocked, Vault, VaultError, VaultOptions, WalletId, WalletInfo,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Answer, CoreError, WalletError};

/// The env var that selects insecure, fast Argon2 parameters (end-to-end tests only).
pub const INSECURE_TEST_KDF_ENV: &str = "MEDWALLET_INSECURE_TEST_KDF";
/// The default vault file name in the data folder.
pub const VAULT_FILE: &str = "vault.sqlite";
const PREFS_FILE: &str = "wallet-prefs.json";
/// Default minutes of inactivity before auto-lock.
pub const DEFAULT_IDLE_MINUTES: u32 = 5;
/// How many words the kit screen asks back.
pub const CONFIRM_WORDS: usize = 3;

/// What is kept about the vault besides the vault itself. Nothing secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Prefs {
    /// Argon2id parameters calibrated at the first wallet creation.
    kdf: Option<KdfParams>,
    /// Minutes before auto-lock.
    idle_minutes: Option<u32>,
    /// The vault file in use, when not `vault.sqlite` (after a restore out of a damaged one).
    vault_file: Option<String>,
}

/// Whether the test switch lowers Argon2 (`MEDWALLET_INSECURE_TEST_KDF=1`): in debug
/// builds (the tests') only. A release build, the one users install, ignores it, so no
/// environment variable can weaken a real vault.
fn insecure_kdf_switch(value: Option<&str>, debug_build: bool) -> bool {
    debug_build && value == Some("1")
}

/// A created wallet's kit until the user confirms it.
struct PendingKit {
    kit: EmergencyKit,
    positions: Vec<usize>,
}

/// Wallet use cases for one app data folder.
pub struct WalletService {
    dir: PathBuf,
    prefs: Prefs,
    insecure_kdf: bool,
    quick_unlock: QuickUnlockStore,
    /// The open vault, or why it cannot be used (shown full-window; the file is left as is).
    vault: Result<Vault, Arc<CoreError>>,
    session: Option<Unlocked>,
    /// The wallet to preselect on the lock screen.
    selected: Option<WalletId>,
    pending_kit: Option<PendingKit>,
    /// Where printed kits go (Documents, else Downloads, else the data folder).
    kit_dir: PathBuf,
}

impl WalletService {
    /// Opens the vault in `dir` (the app data folder). A damaged vault file is not an error
    /// here: the service starts in the damaged state and [`Self::state`] says so.
    /// `kit_dir` is where printable kits are written.
    pub async fn open(dir: &Path, kit_dir: Option<PathBuf>) -> Self {
        let switch = std::env::var(INSECURE_TEST_KDF_ENV).ok();
        let insecure_kdf = insecure_kdf_switch(switch.as_deref(), cfg!(debug_assertions));
        if switch.as_deref() == Some("1") && !insecure_kdf {
            tracing::warn!(
                "the insecure-KDF test switch is set and ignored: this is a release build"
            );
        }
        Self::open_with(dir, kit_dir, insecure_kdf).await
    }

    /// [`Self::open`] with the KDF mode given (tests).
    pub async fn open_with(dir: &Path, kit_dir: Option<PathBuf>, insecure_kdf: bool) -> Self {
        Self::open_with_keyring(dir, kit_dir, insecure_kdf, QuickUnlockStore::platform()).await
    }

    /// [`Self::open_with`] with the keyring given (tests use `keyring_core::mock`).
    pub async fn open_with_keyring(
        dir: &Path,
        kit_dir: Option<PathBuf>,
        insecure_kdf: bool,
        quick_unlock: QuickUnlockStore,
    ) -> Self {
        let prefs = read_prefs(dir);
        let mut service = Self {
            dir: dir.to_owned(),
            prefs,
            insecure_kdf,
            quick_unlock,
            vault: Err(Arc::new(WalletError::NotOpenYet.into())),
            session: None,
            selected: None,
            pending_kit: None,
            kit_dir: kit_dir.unwrap_or_else(|| dir.join("Emergency Kits")),
        };
        service.vault = Vault::open_with(service.vault_path(), service.options())
            .await
            .map_err(|e| Arc::new(e.into()));
        service
    }

    fn vault_path(&self) -> PathBuf {
        self.dir
            .join(self.prefs.vault_file.as_deref().unwrap_or(VAULT_FILE))
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.prefs.idle_minutes.unwrap_or(DEFAULT_IDLE_MINUTES)) * 60)
    }

    fn options(&self) -> VaultOptions {
        let mut opts = if self.insecure_kdf {
            VaultOptions::insecure_fast_kdf_for_tests()
        } else {
            let mut opts = VaultOptions::default();
            if let Some(kdf) = self
                .prefs
                .kdf
                .filter(|k| k.at_least(&KdfParams::FLOOR) && k.at_most(&KdfParams::CEILING))
            {
                opts.kdf = kdf;
            }
            opts
        };
        opts.idle_timeout = self.idle_timeout();
        opts.quick_unlock = self.quick_unlock.clone();
        opts
    }

    fn vault(&self) -> Answer<&Vault> {
        self.vault
            .as_ref()
            .map_err(|e| WalletError::Unusable(e.clone()).into())
    }

    /// Reopens the vault with the current options (after calibration or a new vault file).
    async fn reopen(&mut self) -> Answer<()> {
        let old = std::mem::replace(
            &mut self.vault,
            Err(Arc::new(WalletError::Reopening.into())),
        );
        if let Ok(vault) = old {
            vault.close().await;
        }
        self.vault = Vault::open_with(self.vault_path(), self.options())
            .await
            .map_err(|e| Arc::new(e.into()));
        self.vault().map(|_| ())
    }

    /// Calibrates Argon2 once (at the first wallet creation) and keeps the parameters.
    async fn ensure_calibrated(&mut self) -> Answer<()> {
        if self.insecure_kdf || self.prefs.kdf.is_some() {
            return Ok(());
        }
        let params = tokio::task::spawn_blocking(kdf::calibrate)
            .await
            .map_err(|e| WalletError::CalibrationFailed {
                detail: e.to_string(),
            })??;
        self.prefs.kdf = Some(params);
        self.save_prefs()?;
        self.reopen().await
    }

    /// Writes the prefs through a `.part` renamed into place: a full disk leaves the
    /// file as it was, never cut short.
    fn save_prefs(&self) -> Answer<()> {
        use std::io::Write;
        let text = serde_json::to_string_pretty(&self.prefs).unwrap_or_default();
        let path = self.dir.join(PREFS_FILE);
        let part = self.dir.join(format!("{PREFS_FILE}.part"));
        let saved = std::fs::File::create(&part)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&part, &path));
        saved.map_err(|e| {
            let _ = std::fs::remove_file(&part);
            if crate::error::is_disk_full(&e) {
                CoreError::disk_full(Some(&path))
            } else {
                WalletError::PrefsNotSaved(e).into()
            }
        })
    }

    /// Activity: the unlocked session's idle deadline starts again.
    fn touch(&mut self) {
        if let Some(session) = &mut self.session {
            // An error only says the session had already idled out and locked: there is
            // nothing to extend, and the next call that needs the keys says it is locked.
            let _ = session.touch();
        }
    }

    /// Locks the session if it idled past its deadline. Called from the shell's timer.
    pub fn tick(&mut self) {
        if let Some(session) = &mut self.session {
            if session.tick() {
                self.pending_kit = None;
            }
        }
    }

    /// Whether a wallet is unlocked now (not activity).
    pub fn is_unlocked(&mut self) -> bool {
        self.is_open()
    }

    /// Whether a session is unlocked (locking it first if it idled too long).
    fn is_open(&mut self) -> bool {
        match &mut self.session {
            Some(session) => !session.tick(),
            None => false,
        }
    }

    /// A secret the unlocked wallet keeps in the vault (`purpose` names it), if any.
    pub(crate) async fn secret(&mut self, purpose: &str) -> Answer<Option<Zeroizing<Vec<u8>>>> {
        self.unlocked()?;
        let (Ok(vault), Some(session)) = (&self.vault, self.session.as_mut()) else {
            return Err(VaultError::Locked.into());
        };
        Ok(vault.get_secret(session, purpose).await?)
    }

    /// Stores (or, with `None`, deletes) a secret of the unlocked wallet in the vault.
    pub(crate) async fn set_secret(&mut self, purpose: &str, value: Option<&[u8]>) -> Answer<()> {
        self.unlocked()?;
        let (Ok(vault), Some(session)) = (&self.vault, self.session.as_mut()) else {
            return Err(VaultError::Locked.into());
        };
        match value {
            Some(bytes) => vault.put_secret(session, purpose, bytes).await?,
            None => {
                vault.delete_secret(session, purpose).await?;
            }
        }
        Ok(())
    }

    fn unlocked(&mut self) -> Answer<&mut Unlocked> {
        if !self.is_open() {
            return Err(VaultError::Locked.into());
        }
        self.session
            .as_mut()
            .ok_or_else(|| VaultError::Locked.into())
    }

    async fn summaries(&self) -> Answer<Vec<WalletSummary>> {
        Ok(self
            .vault()?
            .list_wallets()
            .await?
            .iter()
            .map(summary)
            .collect())
    }

    /// What the window should show. Not activity.
    pub async fn state(&mut self) -> SessionState {
        self.tick();
        let open = self.is_open();
        let vault = match &self.vault {
            Ok(vault) => vault,
            Err(error) => {
                return SessionState::Damaged {
                    error: crate::words::user_error(error),
                }
            }
        };
        let wallets = match vault.list_wallets().await {
            Ok(list) => list,
            Err(error) => {
                return SessionState::Damaged {
                    error: CoreError::from(error).into(),
                }
            }
        };
        if wallets.is_empty() {
            return SessionState::Empty;
        }
        let idle_minutes = self.prefs.idle_minutes.unwrap_or(DEFAULT_IDLE_MINUTES);
        if open {
            let Some(session) = self.session.as_ref() else {
                return SessionState::Empty;
            };
            let id = session.wallet_id().clone();
            return SessionState::Unlocked {
                identity: identity(&id, session.identity()),
                quick_unlock: wallets.iter().any(|w| w.id == id && w.quick_unlock),
                wallets: wallets.iter().map(summary).collect(),
                kit_pending: self.pending_kit.is_some(),
                idle_minutes,
            };
        }
        let selected = self
            .selected
            .clone()
            .filter(|id| wallets.iter().any(|w| &w.id == id))
            .or_else(|| wallets.first().map(|w| w.id.clone()));
        let retry_after_secs = match &selected {
            Some(id) => vault
                .retry_after(id)
                .await
                .map(crate::words::secs_up)
                .unwrap_or(0),
            None => 0,
        };
        SessionState::Locked {
            wallets: wallets.iter().map(summary).collect(),
            selected: selected.map(|id| id.to_string()),
            retry_after_secs,
        }
    }

    /// Rates a passphrase for the strength meter.
    pub fn rate_passphrase(&mut self, passphrase: &str, display_name: &str) -> StrengthReport {
        self.touch();
        let s = medwallet_vault::passphrase_strength(passphrase, &[display_name]);
        StrengthReport {
            score: s.score,
            weak: s.is_weak(),
            warning: s.warning.clone(),
            suggestions: s.suggestions.clone(),
        }
    }

    fn lock_current(&mut self) {
        if let Some(mut session) = self.session.take() {
            self.selected = Some(session.wallet_id().clone());
            session.lock();
        }
        self.pending_kit = None;
    }

    /// Creates a wallet (calibrating Argon2 the first time); it is unlocked and its kit pending.
    pub async fn create_wallet(
        &mut self,
        role: Role,
        display_name: &str,
        passphrase: &str,
        accept_weak: bool,
    ) -> Answer<Identity> {
        self.touch();
        self.vault()?;
        self.ensure_calibrated().await?;
        let CreatedWallet { session, kit } = self
            .vault()?
            .create_wallet(NewWallet {
                role: vault_role(role),
                display_name,
                passphrase,
                accept_weak,
            })
            .await?;
        let positions = kit.confirmation_positions(CONFIRM_WORDS)?;
        self.lock_current();
        let id = session.wallet_id().clone();
        let answer = identity(&id, session.identity());
        self.selected = Some(id);
        self.session = Some(session);
        self.pending_kit = Some(PendingKit { kit, positions });
        Ok(answer)
    }

    /// The pending kit's words and the positions to ask back. The one answer with a secret.
    pub fn reveal_kit(&mut self) -> Answer<KitReveal> {
        self.touch();
        self.unlocked()?;
        let pending = self.pending_kit.as_ref().ok_or(WalletError::NoPendingKit)?;
        Ok(KitReveal {
            words: pending
                .kit
                .words()
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
            confirm_positions: pending.positions.clone(),
            address: pending.kit.identity().address.clone(),
            date: pending.kit.date(),
        })
    }

    /// Checks the re-typed words; on success the kit is forgotten.
    pub fn confirm_kit(&mut self, answers: &[(usize, String)]) -> Answer<Done> {
        self.touch();
        self.unlocked()?;
        let pending = self.pending_kit.as_ref().ok_or(WalletError::NoPendingKit)?;
        let asked: Vec<(usize, &str)> = pending
            .positions
            .iter()
            .map(|p| {
                (
                    *p,
                    answers
                        .iter()
                        .find(|(q, _)| q == p)
                        .map(|(_, w)| w.as_str())
                        .unwrap_or(""),
                )
            })
            .collect();
        pending.kit.check_confirmation(&asked)?;
        self.pending_kit = None;
        Ok(Done {})
    }

    /// Writes the printable kit (the pending one, or a fresh one of the unlocked wallet) to a
    /// file and answers the path.
    pub fn export_kit(&mut self, ledger: Option<(u64, String)>) -> Answer<KitFile> {
        self.touch();
        let fresh = match &self.pending_kit {
            Some(_) => None,
            None => Some(self.unlocked()?.emergency_kit()?),
        };
        let kit = match (&self.pending_kit, &fresh) {
            (Some(p), _) => &p.kit,
            (None, Some(k)) => k,
            (None, None) => return Err(WalletError::NoPendingKit.into()),
        };
        let name = format!(
            "medwallet-emergency-kit-{}-{}.html",
            kit.identity().address.get(..10).unwrap_or("wallet"),
            kit.date()
        );
        let ledger = ledger
            .as_ref()
            .map(|(chain, contract)| (*chain, contract.as_str()));
        let written = write_kit(&self.kit_dir, &name, kit, ledger)
            .or_else(|_| write_kit(&self.dir.join("Emergency Kits"), &name, kit, ledger));
        written
            .map(|path| KitFile {
                path: path.display().to_string(),
            })
            .map_err(|e| WalletError::KitNotSaved(e).into())
    }

    /// Restores a wallet from its phrase. If the vault file is damaged, the wallet goes into a
    /// new vault file (the damaged one is left as it is) which is used from then on.
    pub async fn restore_wallet(
        &mut self,
        phrase: &str,
        role: Role,
        display_name: &str,
        passphrase: &str,
        accept_weak: bool,
    ) -> Answer<Identity> {
        let id = WalletId::generate()?;
        self.restore_wallet_as(id, phrase, role, display_name, passphrase, accept_weak)
            .await
    }

    /// [`restore_wallet`](Self::restore_wallet) under an id chosen before (see
    /// [`crate::App::restore_wallet`]).
    pub async fn restore_wallet_as(
        &mut self,
        id: WalletId,
        phrase: &str,
        role: Role,
        display_name: &str,
        passphrase: &str,
        accept_weak: bool,
    ) -> Answer<Identity> {
        self.restore_in_vault(id, phrase, role, display_name, passphrase, accept_weak)
            .await
            // The vault's insert is one transaction: on a full disk nothing of the
            // wallet is kept, and the words say what to free.
            .map_err(|e| e.disk_full_in(&self.dir, None))
    }

    async fn restore_in_vault(
        &mut self,
        id: WalletId,
        phrase: &str,
        role: Role,
        display_name: &str,
        passphrase: &str,
        accept_weak: bool,
    ) -> Answer<Identity> {
        self.touch();
        if self.vault.is_err() {
            // Check the phrase first, so a typo does not leave an empty new vault file behind.
            medwallet_vault::RecoveryPhrase::parse(phrase).map_err(VaultError::from)?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            self.prefs.vault_file = Some(format!("vault-restored-{stamp}.sqlite"));
            self.reopen().await?;
            self.save_prefs()?;
        }
        self.ensure_calibrated().await?;
        let session = self
            .vault()?
            .restore_wallet_as(
                id,
                phrase,
                NewWallet {
                    role: vault_role(role),
                    display_name,
                    passphrase,
                    accept_weak,
                },
            )
            .await?;
        self.lock_current();
        let id = session.wallet_id().clone();
        let answer = identity(&id, session.identity());
        self.selected = Some(id);
        self.session = Some(session);
        Ok(answer)
    }

    /// Unlocks a wallet with its passphrase; a wrong one is an outcome with the wait.
    pub async fn unlock(&mut self, wallet_id: &str, passphrase: &str) -> Answer<UnlockOutcome> {
        let id = parse_id(wallet_id)?;
        self.selected = Some(id.clone());
        match self.vault()?.unlock(&id, passphrase).await {
            Ok(session) => {
                self.lock_current();
                let answer = identity(&id, session.identity());
                self.selected = Some(id);
                self.session = Some(session);
                Ok(UnlockOutcome::Unlocked { identity: answer })
            }
            Err(
                e @ (VaultError::WrongPassphrase { retry_after, .. }
                | VaultError::TooManyAttempts { retry_after }),
            ) => Ok(UnlockOutcome::Refused {
                retry_after_secs: crate::words::secs_up(retry_after),
                error: UserError::from(CoreError::from(e)),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Unlocks a wallet with the key in the system keyring.
    pub async fn quick_unlock(&mut self, wallet_id: &str) -> Answer<Identity> {
        let id = parse_id(wallet_id)?;
        self.selected = Some(id.clone());
        let session = self.vault()?.quick_unlock(&id).await?;
        self.lock_current();
        let answer = identity(&id, session.identity());
        self.selected = Some(id);
        self.session = Some(session);
        Ok(answer)
    }

    /// Locks now.
    pub fn lock(&mut self) -> Done {
        self.lock_current();
        Done {}
    }

    /// Quick unlock on or off for the unlocked wallet.
    pub async fn set_quick_unlock(&mut self, enabled: bool) -> Answer<Done> {
        self.touch();
        if !self.is_open() {
            return Err(VaultError::Locked.into());
        }
        let vault = self
            .vault
            .as_ref()
            .map_err(|e| CoreError::from(WalletError::Unusable(e.clone())))?;
        let Some(session) = self.session.as_mut() else {
            return Err(VaultError::Locked.into());
        };
        if enabled {
            vault.enable_quick_unlock(session).await?;
        } else {
            let id = session.wallet_id().clone();
            vault.disable_quick_unlock(&id).await?;
        }
        Ok(Done {})
    }

    /// Minutes before auto-lock (1 to 120), kept for every wallet.
    pub fn set_idle_timeout(&mut self, minutes: u32) -> Answer<Done> {
        self.touch();
        if !(1..=120).contains(&minutes) {
            return Err(WalletError::IdleTimeoutRange.into());
        }
        self.prefs.idle_minutes = Some(minutes);
        self.save_prefs()?;
        let idle = self.idle_timeout();
        if let Ok(session) = self.unlocked() {
            session.set_idle_timeout(idle);
        }
        Ok(Done {})
    }

    /// Changes the unlocked wallet's passphrase.
    pub async fn change_passphrase(
        &mut self,
        old: &str,
        new: &str,
        accept_weak: bool,
    ) -> Answer<Done> {
        self.touch();
        let id = self.unlocked()?.wallet_id().clone();
        self.vault()?
            .change_passphrase(&id, old, new, accept_weak)
            .await?;
        Ok(Done {})
    }

    /// Deletes a wallet after its name was typed; locks it first if it is the unlocked one.
    pub async fn delete_wallet(&mut self, wallet_id: &str, confirm_name: &str) -> Answer<Done> {
        self.touch();
        let id = parse_id(wallet_id)?;
        self.vault()?.delete_wallet(&id, confirm_name).await?;
        if self.session.as_ref().is_some_and(|s| s.wallet_id() == &id) {
            self.lock_current();
        }
        if self.selected.as_ref() == Some(&id) {
            self.selected = None;
        }
        Ok(Done {})
    }

    /// The wallets in the vault.
    pub async fn list(&mut self) -> Answer<Vec<WalletSummary>> {
        self.summaries().await
    }

    /// What the records use cases need of the unlocked wallet (its id, address, name, and
    /// copies of the record keys that are wiped when the returned value is dropped).
    /// Counts as activity.
    pub fn record_owner(&mut self) -> Answer<crate::session::Owner> {
        let session = self.unlocked()?;
        let wallet_id = session.wallet_id().as_str().to_owned();
        let name = session.identity().display_name.clone();
        let keys = session.keys()?;
        Ok(crate::session::Owner::new(&wallet_id, &name, keys))
    }

    /// The unlocked wallet's [`record_owner`](Self::record_owner), if a session is open,
    /// for background work (the outbox's ledger registrations). Not activity: it does
    /// not keep an idle wallet from locking.
    pub fn record_owner_if_unlocked(&mut self) -> Option<crate::session::Owner> {
        if !self.is_open() {
            return None;
        }
        let session = self.session.as_mut()?;
        let wallet_id = session.wallet_id().as_str().to_owned();
        let name = session.identity().display_name.clone();
        let keys = session.keys_in_background().ok()?;
        Some(crate::session::Owner::new(&wallet_id, &name, keys))
    }

    /// The unlocked wallet's share code for chain `chain_id`: its address and public keys,
    /// signed with its Ed25519 key, as text to paste. Counts as activity.
    pub fn share_code(&mut self, chain_id: u64) -> Answer<String> {
        let session = self.unlocked()?;
        let name = session.identity().display_name.clone();
        let keys = session.keys()?;
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        Ok(medwallet_vault::ShareCode::create(
            keys, &name, chain_id, now,
        )?)
    }

    /// The unlocked wallet's share code carrying `check_in` (a patient's one-time pass for
    /// a front desk). Counts as activity.
    pub fn check_in_code(
        &mut self,
        chain_id: u64,
        check_in: &medwallet_vault::CheckIn,
    ) -> Answer<String> {
        let session = self.unlocked()?;
        let name = session.identity().display_name.clone();
        let keys = session.keys()?;
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        Ok(medwallet_vault::ShareCode::create_with(
            keys,
            &name,
            chain_id,
            now,
            Some(check_in),
        )?)
    }

    /// The role of the wallet whose session is open or was last open (locked or not).
    pub fn current_role(&self) -> Option<medwallet_vault::Role> {
        self.session.as_ref().map(|s| s.identity().role)
    }

    /// The id of the wallet whose session is open or was last open (locked or not).
    pub fn current_wallet_id(&self) -> Option<String> {
        self.session
            .as_ref()
            .map(|s| s.wallet_id().as_str().to_owned())
    }
}

fn write_kit(
    dir: &Path,
    name: &str,
    kit: &EmergencyKit,
    ledger: Option<(u64, &str)>,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let html = kit.to_html_with(ledger);
    std::fs::write(&path, html.as_bytes())?;
    Ok(path)
}

fn read_prefs(dir: &Path) -> Prefs {
    std::fs::read_to_string(dir.join(PREFS_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn parse_id(text: &str) -> Answer<WalletId> {
    Ok(text.parse::<WalletId>()?)
}

fn vault_role(role: Role) -> medwallet_vault::Role {
    match role {
        Role::Patient => medwallet_vault::Role::Patient,
        Role::Doctor => medwallet_vault::Role::Doctor,
        Role::Clinic => medwallet_vault::Role::Clinic,
    }
}

fn api_role(role: medwallet_vault::Role) -> Role {
    match role {
        medwallet_vault::Role::Patient => Role::Patient,
        medwallet_vault::Role::Doctor => Role::Doctor,
        medwallet_vault::Role::Clinic => Role::Clinic,
    }
}

fn identity(id: &WalletId, p: &PublicIdentity) -> Identity {
    Identity {
        wallet_id: id.to_string(),
        address: p.address.clone(),
        signing_key: p.ed25519_public.clone(),
        encryption_key: p.x25519_public.clone(),
        role: api_role(p.role),
        display_name: p.display_name.clone(),
        fingerprint: p.fingerprint(),
    }
}

fn summary(w: &WalletInfo) -> WalletSummary {
    WalletSummary {
        wallet_id: w.id.to_string(),
        display_name: w.identity.display_name.clone(),
        role: api_role(w.identity.role),
        address: w.identity.address.clone(),
        quick_unlock: w.quick_unlock,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_insecure_kdf_switch_works_in_debug_builds_only() {
        use super::insecure_kdf_switch;
        assert!(insecure_kdf_switch(Some("1"), true));
        assert!(
            !insecure_kdf_switch(Some("1"), false),
            "a release build ignores it"
        );
        assert!(!insecure_kdf_switch(Some("yes"), true));
        assert!(!insecure_kdf_switch(None, true));
    }

    use super::*;

    const STRONG: &str = "orbit lantern velvet quarry mosaic";
    const GARBAGE: &[u8] = &[b'x'; 4096];

    #[tokio::test]
    async fn create_confirm_lock_unlock_restore() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalletService::open_with(dir.path(), None, true).await;
        assert_eq!(w.state().await, SessionState::Empty);
        let weak = w
            .create_wallet(Role::Patient, "Ada", "password1", false)
            .await
            .unwrap_err();
        assert!(
            matches!(weak, CoreError::Vault(VaultError::WeakPassphrase(_))),
            "{weak:?}"
        );
        let id = w
            .create_wallet(Role::Patient, "Ada", STRONG, false)
            .await
            .unwrap();
        let kit = w.reveal_kit().unwrap();
        assert_eq!(kit.words.len(), 24);
        let wrong: Vec<(usize, String)> = kit
            .confirm_positions
            .iter()
            .map(|p| (*p, "zzzz".to_owned()))
            .collect();
        let e = w.confirm_kit(&wrong).unwrap_err();
        let CoreError::Vault(VaultError::ConfirmationMismatch { positions }) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(positions, &kit.confirm_positions);
        // The words name the positions as the kit screen shows them.
        let e = UserError::from(e);
        assert!(
            e.message.starts_with("Words number ")
                && e.message.ends_with(" do not match your Emergency Kit."),
            "{e:?}"
        );
        let path = w.export_kit(None).unwrap().path;
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains(&kit.words[0]));
        let right: Vec<(usize, String)> = kit
            .confirm_positions
            .iter()
            .map(|p| (*p, kit.words[p - 1].clone()))
            .collect();
        w.confirm_kit(&right).unwrap();
        assert!(
            matches!(
                w.reveal_kit(),
                Err(CoreError::Wallet(WalletError::NoPendingKit))
            ),
            "the kit is shown once"
        );

        w.lock();
        assert!(matches!(w.state().await, SessionState::Locked { .. }));
        match w.unlock(&id.wallet_id, "not it").await.unwrap() {
            UnlockOutcome::Refused { error, .. } => {
                assert_eq!(error.message, "That passphrase is not right.")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            w.unlock(&id.wallet_id, STRONG).await.unwrap(),
            UnlockOutcome::Unlocked { .. }
        ));

        let other = tempfile::tempdir().unwrap();
        let mut w2 = WalletService::open_with(other.path(), None, true).await;
        let mut typo = kit.words.clone();
        typo[4] = "zzzzq".into();
        let e = w2
            .restore_wallet(&typo.join(" "), Role::Patient, "Ada", STRONG, false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &e,
                CoreError::Vault(VaultError::Phrase(medwallet_vault::PhraseError::UnknownWords(words)))
                    if words.len() == 1 && words[0].position == 5
            ),
            "{e:?}"
        );
        let restored = w2
            .restore_wallet(&kit.words.join(" "), Role::Patient, "Ada 2", STRONG, false)
            .await
            .unwrap();
        assert_eq!(restored.address, id.address);
        assert_eq!(restored.signing_key, id.signing_key);
    }

    #[tokio::test]
    async fn a_damaged_vault_is_reported_kept_and_restore_goes_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(VAULT_FILE), GARBAGE).unwrap();
        let mut w = WalletService::open_with(dir.path(), None, true).await;
        let SessionState::Damaged { error } = w.state().await else {
            panic!("not damaged")
        };
        assert!(error.message.contains("not a medwallet vault"), "{error:?}");

        let src_dir = tempfile::tempdir().unwrap();
        let mut src = WalletService::open_with(src_dir.path(), None, true).await;
        src.create_wallet(Role::Doctor, "Dr B", STRONG, false)
            .await
            .unwrap();
        let words = src.reveal_kit().unwrap().words.join(" ");
        w.restore_wallet(&words, Role::Doctor, "Dr B", STRONG, false)
            .await
            .unwrap();
        assert!(matches!(w.state().await, SessionState::Unlocked { .. }));
        assert_eq!(std::fs::read(dir.path().join(VAULT_FILE)).unwrap(), GARBAGE);
        // Reopening uses the new file.
        let mut again = WalletService::open_with(dir.path(), None, true).await;
        assert!(matches!(again.state().await, SessionState::Locked { .. }));
    }
}
