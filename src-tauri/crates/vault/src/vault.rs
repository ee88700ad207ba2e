//! The vault: several wallets in one SQLite file, each behind its own passphrase.
//!
//! Key hierarchy of a wallet:
//!
//! ```text
//! passphrase --Argon2id(salt, params)--> wrapping key --AES-GCM--> vault key (random, 256 bits)
//! OS keyring (opt-in) ----------------------------------------->  vault key
//! vault key --AES-GCM--> seed, and every other secret of the wallet
//! seed --HKDF(labels)--> Ed25519, X25519, secp256k1, ABE authority seed
//! ```
//!
//! Changing the passphrase re-wraps the vault key only. The associated data of every ciphertext
//! binds the wallet id, the purpose of the column, and (for the seed and other secrets) the
//! public identity columns, so that swapping rows or editing a name or address is detected.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::SqlitePool;
use zeroize::Zeroizing;

use crate::derive::WalletKeys;
use crate::error::{Result, VaultError};
use crate::identity::{normalize_display_name, PublicIdentity, Role};
use crate::kdf::{derive_wrapping_key, KdfParams, SALT_LEN};
use crate::keyring::QuickUnlockStore;
use crate::kit::EmergencyKit;
use crate::phrase::RecoveryPhrase;
use crate::seal::{self, OpenError};
use crate::seed::{random_bytes, Seed, SEED_LEN};
use crate::session::{Clock, SystemClock, Unlocked, DEFAULT_IDLE_TIMEOUT};
use crate::store::{self, NewWalletRow, WalletId, WalletInfo, WalletRow};
use crate::strength::passphrase_strength;

/// Wrong passphrases allowed without any delay.
pub const FREE_ATTEMPTS: u32 = 3;
/// The longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(5 * 60);

const PURPOSE_VAULT_KEY: &str = "vault-key/argon2id";
const PURPOSE_SEED: &str = "seed";
const PURPOSE_SECRET_PREFIX: &str = "secret/";

/// The delay imposed after `failures` wrong passphrases in a row: none for the first
/// [`FREE_ATTEMPTS`], then 2^(n - 3) seconds (2 s, 4 s, 8 s, ...) up to [`MAX_DELAY`].
pub fn failure_delay(failures: u32) -> Duration {
    if failures <= FREE_ATTEMPTS {
        return Duration::ZERO;
    }
    let exp = failures - FREE_ATTEMPTS;
    if exp >= 9 {
        return MAX_DELAY;
    }
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

/// How a vault is opened. [`Default`] is right for the app.
#[derive(Clone, Debug)]
pub struct VaultOptions {
    /// Argon2id parameters for new wrappings (create, restore, change passphrase). Use
    /// [`crate::kdf::calibrate`] once and keep the result in the app settings.
    pub kdf: KdfParams,
    /// Stored parameters below this are refused as tampering.
    pub kdf_floor: KdfParams,
    /// Idle time after which an unlocked wallet locks itself.
    pub idle_timeout: Duration,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Where quick unlock keeps vault keys.
    pub quick_unlock: QuickUnlockStore,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            kdf: KdfParams::FLOOR,
            kdf_floor: KdfParams::FLOOR,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            clock: Arc::new(SystemClock::new()),
            quick_unlock: QuickUnlockStore::platform(),
        }
    }
}

impl VaultOptions {
    /// Tiny Argon2 parameters (and floor), the system clock, no keyring: for tests that are not
    /// about the KDF cost. Never for real wallets.
    pub fn insecure_fast_kdf_for_tests() -> Self {
        Self {
            kdf: KdfParams::insecure_for_tests(),
            kdf_floor: KdfParams::insecure_for_tests(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            clock: Arc::new(SystemClock::new()),
            quick_unlock: QuickUnlockStore::unavailable("no keyring in this test"),
        }
    }
}

/// What a new wallet needs.
#[derive(Clone, Copy)]
pub struct NewWallet<'a> {
    /// Patient, doctor or clinic.
    pub role: Role,
    /// A name the user recognises (1-100 characters).
    pub display_name: &'a str,
    /// The passphrase that will unlock it.
    pub passphrase: &'a str,
    /// The caller showed the [`crate::Strength`] warning and the user chose to keep a weak
    /// passphrase anyway.
    pub accept_weak: bool,
}

impl std::fmt::Debug for NewWallet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWallet")
            .field("role", &self.role)
            .field("display_name", &self.display_name)
            .field("passphrase", &"[redacted]")
            .field("accept_weak", &self.accept_weak)
            .finish()
    }
}

/// A freshly created wallet: unlocked, with the Emergency Kit to show and confirm.
#[derive(Debug)]
pub struct CreatedWallet {
    /// The unlocked wallet.
    pub session: Unlocked,
    /// Its recovery phrase, to print and to confirm by re-typing a few words.
    pub kit: EmergencyKit,
}

/// An open vault file.
#[derive(Debug)]
pub struct Vault {
    pool: SqlitePool,
    path: PathBuf,
    opts: VaultOptions,
}

impl Vault {
    /// Opens the vault file at `path` (created if absent) with default options.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, VaultOptions::default()).await
    }

    /// Opens the vault file at `path` (created if absent). An existing file is checked
    /// read-only first; a truncated, damaged, foreign or newer file is reported as such and
    /// left untouched.
    pub async fn open_with(path: impl AsRef<Path>, opts: VaultOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let pool = store::open_pool(&path).await.inspect_err(|e| {
            tracing::warn!(error = e.kind(), "the vault file could not be opened");
        })?;
        Ok(Self { pool, path, opts })
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options this vault was opened with.
    pub fn options(&self) -> &VaultOptions {
        &self.opts
    }

    /// Closes the file (waits for pending writes).
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Creates a wallet with a fresh random seed. Returns it unlocked, with its Emergency Kit.
    /// A passphrase scoring below 3 is refused with [`VaultError::WeakPassphrase`] unless
    /// `accept_weak` is set.
    pub async fn create_wallet(&self, new: NewWallet<'_>) -> Result<CreatedWallet> {
        let seed = Seed::generate()?;
        let kit_phrase = RecoveryPhrase::from_seed(&seed);
        let session = self.add_wallet(WalletId::generate()?, seed, new).await?;
        let kit = EmergencyKit::new(
            kit_phrase,
            session.identity().clone(),
            self.opts.clock.wall(),
        );
        Ok(CreatedWallet { session, kit })
    }

    /// Restores a wallet from its recovery phrase into this vault, with a new passphrase.
    /// It gets the same address and keys as the original.
    pub async fn restore_wallet(&self, phrase: &str, new: NewWallet<'_>) -> Result<Unlocked> {
        self.restore_wallet_as(WalletId::generate()?, phrase, new)
            .await
    }

    /// [`restore_wallet`](Self::restore_wallet) under an id the caller chose
    /// ([`WalletId::generate`]).
    pub async fn restore_wallet_as(
        &self,
        id: WalletId,
        phrase: &str,
        new: NewWallet<'_>,
    ) -> Result<Unlocked> {
        let seed = RecoveryPhrase::parse(phrase)?.to_seed();
        self.add_wallet(id, seed, new).await
    }

    async fn add_wallet(&self, id: WalletId, seed: Seed, new: NewWallet<'_>) -> Result<Unlocked> {
        let name =
            normalize_display_name(new.display_name).ok_or(VaultError::InvalidDisplayName)?;
        check_new_passphrase(new.passphrase, &name, new.role, new.accept_weak)?;

        let keys = WalletKeys::derive(&seed, new.role)?;
        let identity = keys.public_identity(&name);
        if let Some(existing) = store::find_by_address(&self.pool, &identity.address).await? {
            return Err(VaultError::WalletExists {
                address: existing.info.identity.address,
                display_name: existing.info.identity.display_name,
            });
        }

        let vault_key = Zeroizing::new(random_bytes::<32>()?);
        let salt = random_bytes::<SALT_LEN>()?;
        let kdf = self.opts.kdf;
        let wk = run_kdf(new.passphrase, salt, kdf).await?;
        let wrapped = seal::seal(&wk, &wrap_aad(&id, &kdf, &salt), vault_key.as_ref())?;
        let sealed_seed = seal::seal(&vault_key, &seed_aad(&id, &identity), seed.as_bytes())?;
        let created_at = unix_secs(self.opts.clock.wall());
        store::insert_wallet(
            &self.pool,
            NewWalletRow {
                id: &id,
                identity: &identity,
                created_at,
                kdf: &kdf,
                kdf_salt: &salt,
                wrapped_vault_key: &wrapped,
                sealed_seed: &sealed_seed,
            },
        )
        .await?;
        Ok(Unlocked::new(
            id,
            identity,
            seed,
            keys,
            vault_key,
            self.opts.clock.clone(),
            self.opts.idle_timeout,
        ))
    }

    /// Every wallet in the vault (public data only), oldest first.
    pub async fn list_wallets(&self) -> Result<Vec<WalletInfo>> {
        Ok(store::list_wallets(&self.pool)
            .await?
            .into_iter()
            .map(|r| r.info)
            .collect())
    }

    /// One wallet's public data.
    pub async fn wallet(&self, id: &WalletId) -> Result<WalletInfo> {
        Ok(store::fetch_wallet(&self.pool, id).await?.info)
    }

    /// Deletes a wallet and its secrets from this vault (and its quick-unlock key, if any).
    /// `confirm_display_name` must be the wallet's display name, as typed by the user.
    /// The wallet can still be restored from its Emergency Kit.
    pub async fn delete_wallet(&self, id: &WalletId, confirm_display_name: &str) -> Result<()> {
        let row = store::fetch_wallet(&self.pool, id).await?;
        if confirm_display_name.trim() != row.info.identity.display_name {
            return Err(VaultError::DeleteConfirmationMismatch {
                expected: row.info.identity.display_name,
            });
        }
        store::delete_wallet(&self.pool, id).await?;
        tracing::info!(wallet = %id, "wallet deleted");
        if row.info.quick_unlock {
            // Best effort: the wallet is gone either way, and the key opens nothing any more.
            if let Err(e) = self
                .keyring_call({
                    let id = id.to_string();
                    move |q| q.delete(&id)
                })
                .await
            {
                tracing::warn!(
                    wallet = %id,
                    error = e.kind(),
                    "the deleted wallet's quick-unlock key could not be removed from the keyring"
                );
            }
        }
        Ok(())
    }

    /// How long the lock screen must wait before the next passphrase attempt (zero: now).
    pub async fn retry_after(&self, id: &WalletId) -> Result<Duration> {
        let row = store::fetch_wallet(&self.pool, id).await?;
        Ok(remaining_delay(&row, self.now_ms()))
    }

    /// Unlocks a wallet with its passphrase.
    ///
    /// Wrong passphrases are counted in the vault file; after [`FREE_ATTEMPTS`] each one
    /// imposes a growing delay ([`failure_delay`]), and an attempt before it has passed is
    /// refused with [`VaultError::TooManyAttempts`] without running the KDF.
    #[tracing::instrument(skip_all, fields(wallet = %id))]
    pub async fn unlock(&self, id: &WalletId, passphrase: &str) -> Result<Unlocked> {
        let result = self.unlock_here(id, passphrase).await;
        log_unlock("passphrase", &result);
        result
    }

    async fn unlock_here(&self, id: &WalletId, passphrase: &str) -> Result<Unlocked> {
        let row = store::fetch_wallet(&self.pool, id).await?;
        self.check_kdf_params(&row)?;
        let wait = remaining_delay(&row, self.now_ms());
        if !wait.is_zero() {
            return Err(VaultError::TooManyAttempts { retry_after: wait });
        }
        // Count the attempt before the slow part: killing the app mid-KDF still counts.
        let attempt_ms = self.now_ms();
        if !store::record_attempt(&self.pool, id, row.failed_attempts, attempt_ms).await? {
            // Another attempt on this wallet is running right now.
            tracing::debug!("another unlock attempt on this wallet is running");
            return Err(VaultError::TooManyAttempts {
                retry_after: Duration::from_secs(1),
            });
        }
        let salt = row.kdf_salt.clone();
        let kdf_started = std::time::Instant::now();
        let wk = run_kdf(passphrase, salt, row.info.kdf).await?;
        tracing::debug!(
            kdf_ms = kdf_started.elapsed().as_millis() as u64,
            m_cost_kib = row.info.kdf.m_cost_kib,
            t_cost = row.info.kdf.t_cost,
            "key derivation done"
        );
        let aad = wrap_aad(id, &row.info.kdf, &row.kdf_salt);
        let vault_key = match seal::open(&wk, &aad, &row.wrapped_vault_key) {
            Ok(pt) => to_key(&pt).ok_or_else(|| tampered(&row, "the wrapped vault key"))?,
            Err(OpenError::Forged) => {
                let failed_attempts = row.failed_attempts.saturating_add(1);
                let after = Duration::from_millis(
                    u64::try_from(self.now_ms().saturating_sub(attempt_ms)).unwrap_or(0),
                );
                return Err(VaultError::WrongPassphrase {
                    failed_attempts,
                    retry_after: failure_delay(failed_attempts).saturating_sub(after),
                });
            }
            Err(OpenError::Malformed) => {
                return Err(tampered(&row, "the wrapped vault key is malformed"))
            }
        };
        // The passphrase was right: whatever follows, it was not a guessing attempt.
        store::reset_attempts(&self.pool, id).await?;
        self.session_from(&row, vault_key)
    }

    /// Changes a wallet's passphrase. The old one is checked like [`Self::unlock`] (same
    /// failure delay); only the vault key is re-wrapped, with a new salt and the vault's
    /// current KDF parameters; the data stays as it is.
    pub async fn change_passphrase(
        &self,
        id: &WalletId,
        old_passphrase: &str,
        new_passphrase: &str,
        accept_weak: bool,
    ) -> Result<()> {
        let info = self.wallet(id).await?;
        check_new_passphrase(
            new_passphrase,
            &info.identity.display_name,
            info.identity.role,
            accept_weak,
        )?;
        let mut session = self.unlock(id, old_passphrase).await?;
        let vault_key = Zeroizing::new(*session.vault_key()?);
        session.lock();
        let salt = random_bytes::<SALT_LEN>()?;
        let kdf = self.opts.kdf;
        let wk = run_kdf(new_passphrase, salt, kdf).await?;
        let wrapped = seal::seal(&wk, &wrap_aad(id, &kdf, &salt), vault_key.as_ref())?;
        store::update_wrapping(&self.pool, id, &kdf, &salt, &wrapped).await?;
        tracing::info!(wallet = %id, "passphrase changed");
        Ok(())
    }

    /// Turns quick unlock on: the vault key goes into the OS keyring.
    /// `Err(KeyringUnavailable)` if there is no usable keyring; the passphrase keeps working.
    pub async fn enable_quick_unlock(&self, session: &mut Unlocked) -> Result<()> {
        let key = Zeroizing::new(*session.vault_key()?);
        let id = session.wallet_id().clone();
        let wid = id.to_string();
        self.keyring_call(move |q| q.save(&wid, &key))
            .await
            .inspect_err(|e| {
                tracing::warn!(wallet = %id, error = e.kind(), "quick unlock could not be turned on");
            })?;
        store::set_quick_unlock(&self.pool, &id, true).await?;
        tracing::info!(wallet = %id, "quick unlock turned on");
        Ok(())
    }

    /// Turns quick unlock off and removes the key from the OS keyring. The flag is cleared
    /// even if the keyring cannot be reached (the error is returned so the UI can say so).
    pub async fn disable_quick_unlock(&self, id: &WalletId) -> Result<()> {
        store::set_quick_unlock(&self.pool, id, false).await?;
        tracing::info!(wallet = %id, "quick unlock turned off");
        let wid = id.to_string();
        self.keyring_call(move |q| q.delete(&wid))
            .await
            .inspect_err(|e| {
                tracing::warn!(
                    wallet = %id,
                    error = e.kind(),
                    "the quick-unlock key could not be removed from the keyring"
                );
            })
    }

    /// Unlocks with the vault key kept in the OS keyring (no passphrase).
    #[tracing::instrument(skip_all, fields(wallet = %id))]
    pub async fn quick_unlock(&self, id: &WalletId) -> Result<Unlocked> {
        let result = self.quick_unlock_here(id).await;
        log_unlock("keyring", &result);
        result
    }

    async fn quick_unlock_here(&self, id: &WalletId) -> Result<Unlocked> {
        let row = store::fetch_wallet(&self.pool, id).await?;
        if !row.info.quick_unlock {
            return Err(VaultError::QuickUnlockNotEnabled);
        }
        let wid = id.to_string();
        let key = self.keyring_call(move |q| q.load(&wid)).await?;
        let Some(key) = key else {
            store::set_quick_unlock(&self.pool, id, false).await?;
            return Err(VaultError::QuickUnlockNotEnabled);
        };
        match self.session_from(&row, key) {
            Ok(s) => Ok(s),
            Err(VaultError::Tampered { .. }) => {
                // The keyring's key does not open this wallet: a replaced vault file, or an
                // edit. Either way forget the key; the passphrase path will tell which.
                store::set_quick_unlock(&self.pool, id, false).await?;
                let wid = id.to_string();
                // Quick unlock is already off for this wallet; a key left behind opens
                // nothing, so a failure to delete it is only worth a warning.
                if let Err(e) = self.keyring_call(move |q| q.delete(&wid)).await {
                    tracing::warn!(
                        error = e.kind(),
                        "the stale quick-unlock key could not be removed from the keyring"
                    );
                }
                Err(VaultError::QuickUnlockStale)
            }
            Err(e) => Err(e),
        }
    }

    /// Stores another secret of the wallet (e.g. a received attribute key), encrypted under the
    /// vault key and bound to the wallet, the `purpose` and the public identity.
    pub async fn put_secret(
        &self,
        session: &mut Unlocked,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<()> {
        check_purpose(purpose)?;
        let id = session.wallet_id().clone();
        let aad = secret_aad(&id, purpose, session.identity());
        let ct = seal::seal(session.vault_key()?, &aad, plaintext)?;
        store::put_secret(
            &self.pool,
            &id,
            purpose,
            &ct,
            unix_secs(self.opts.clock.wall()),
        )
        .await
    }

    /// Reads a secret stored with [`Self::put_secret`]; `None` if there is none.
    pub async fn get_secret(
        &self,
        session: &mut Unlocked,
        purpose: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        check_purpose(purpose)?;
        let id = session.wallet_id().clone();
        let Some(ct) = store::get_secret(&self.pool, &id, purpose).await? else {
            return Ok(None);
        };
        let aad = secret_aad(&id, purpose, session.identity());
        seal::open(session.vault_key()?, &aad, &ct)
            .map(Some)
            .map_err(|_| VaultError::Tampered {
                display_name: session.identity().display_name.clone(),
                detail: format!("the secret {purpose:?} was changed"),
            })
    }

    /// Deletes a secret; returns whether there was one.
    pub async fn delete_secret(&self, session: &mut Unlocked, purpose: &str) -> Result<bool> {
        session.touch()?;
        store::delete_secret(&self.pool, session.wallet_id(), purpose).await
    }

    // ---- internals ----

    fn now_ms(&self) -> i64 {
        unix_millis(self.opts.clock.wall())
    }

    fn check_kdf_params(&self, row: &WalletRow) -> Result<()> {
        let k = &row.info.kdf;
        if !k.at_least(&self.opts.kdf_floor) || !k.at_most(&KdfParams::CEILING) {
            return Err(tampered(
                row,
                "its key-derivation parameters are out of range",
            ));
        }
        if row.kdf_salt.len() != SALT_LEN {
            return Err(tampered(
                row,
                "its key-derivation salt has the wrong length",
            ));
        }
        Ok(())
    }

    /// Opens the seed with the vault key and checks it against the stored identity.
    fn session_from(&self, row: &WalletRow, vault_key: Zeroizing<[u8; 32]>) -> Result<Unlocked> {
        let identity = &row.info.identity;
        let seed_bytes = seal::open(
            &vault_key,
            &seed_aad(&row.info.id, identity),
            &row.sealed_seed,
        )
        .map_err(|_| {
            tampered(
                row,
                "the encrypted seed or the public identity columns (name, role, address, keys)",
            )
        })?;
        let seed = Seed::from_bytes(
            to_seed_bytes(&seed_bytes)
                .ok_or_else(|| tampered(row, "the seed has the wrong length"))?,
        );
        let keys = WalletKeys::derive(&seed, identity.role)?;
        if keys.public_identity(&identity.display_name) != *identity {
            return Err(tampered(row, "the public keys do not match the seed"));
        }
        Ok(Unlocked::new(
            row.info.id.clone(),
            identity.clone(),
            seed,
            keys,
            vault_key,
            self.opts.clock.clone(),
            self.opts.idle_timeout,
        ))
    }

    /// Runs a blocking keyring call off the async runtime.
    async fn keyring_call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&QuickUnlockStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let q = self.opts.quick_unlock.clone();
        tokio::task::spawn_blocking(move || f(&q))
            .await
            .map_err(|_| VaultError::KeyringUnavailable("the keyring call did not finish".into()))?
    }
}

/// Logs an unlock's outcome: the wallet id is the span's; never the passphrase or a key.
fn log_unlock(method: &'static str, result: &Result<Unlocked>) {
    match result {
        Ok(_) => tracing::info!(method, "wallet unlocked"),
        Err(VaultError::WrongPassphrase {
            failed_attempts,
            retry_after,
        }) => tracing::warn!(
            method,
            failed_attempts,
            retry_after_ms = retry_after.as_millis() as u64,
            "unlock failed: wrong passphrase"
        ),
        Err(VaultError::TooManyAttempts { retry_after }) => tracing::warn!(
            method,
            retry_after_ms = retry_after.as_millis() as u64,
            "unlock refused: too many attempts"
        ),
        Err(e) => tracing::warn!(method, error = e.kind(), "unlock failed"),
    }
}

fn check_new_passphrase(passphrase: &str, name: &str, role: Role, accept_weak: bool) -> Result<()> {
    if passphrase.trim().is_empty() {
        return Err(VaultError::EmptyPassphrase);
    }
    let strength = passphrase_strength(passphrase, &[name, role.as_str()]);
    if strength.is_weak() && !accept_weak {
        return Err(VaultError::WeakPassphrase(strength));
    }
    Ok(())
}

fn check_purpose(purpose: &str) -> Result<()> {
    if purpose.is_empty() || purpose.len() > 200 || purpose.chars().any(char::is_control) {
        return Err(VaultError::Crypto(
            "a secret's purpose must be 1-200 printable characters",
        ));
    }
    Ok(())
}

/// Argon2id off the async runtime (it takes most of a second by design).
async fn run_kdf(
    passphrase: &str,
    salt: impl AsRef<[u8]> + Send + 'static,
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; 32]>> {
    let pass = Zeroizing::new(passphrase.to_owned());
    tokio::task::spawn_blocking(move || derive_wrapping_key(&pass, salt.as_ref(), &kdf))
        .await
        .map_err(|_| VaultError::Crypto("the key-derivation task did not finish"))?
}

fn wrap_aad(id: &WalletId, kdf: &KdfParams, salt: &[u8]) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(16 + salt.len());
    for v in [kdf.version, kdf.m_cost_kib, kdf.t_cost, kdf.p_cost] {
        ctx.extend_from_slice(&v.to_be_bytes());
    }
    ctx.extend_from_slice(salt);
    seal::aad(id.as_str(), PURPOSE_VAULT_KEY, &ctx)
}

fn seed_aad(id: &WalletId, identity: &PublicIdentity) -> Vec<u8> {
    seal::aad(id.as_str(), PURPOSE_SEED, &identity.canonical_bytes())
}

fn secret_aad(id: &WalletId, purpose: &str, identity: &PublicIdentity) -> Vec<u8> {
    seal::aad(
        id.as_str(),
        &format!("{PURPOSE_SECRET_PREFIX}{purpose}"),
        &identity.canonical_bytes(),
    )
}

fn tampered(row: &WalletRow, what: &str) -> VaultError {
    VaultError::Tampered {
        display_name: row.info.identity.display_name.clone(),
        detail: format!("{what} failed the integrity check"),
    }
}

fn to_key(b: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let mut k = Zeroizing::new([0u8; 32]);
    (b.len() == 32).then(|| {
        k.copy_from_slice(b);
        k
    })
}

fn to_seed_bytes(b: &[u8]) -> Option<[u8; SEED_LEN]> {
    <[u8; SEED_LEN]>::try_from(b).ok()
}

/// Time left before the next attempt, never more than the delay itself (a wall clock set back
/// must not lock the user out for longer).
fn remaining_delay(row: &WalletRow, now_ms: i64) -> Duration {
    let delay = failure_delay(row.failed_attempts);
    let Some(last) = row.last_failure_at_ms else {
        return Duration::ZERO;
    };
    let elapsed = Duration::from_millis(u64::try_from(now_ms.saturating_sub(last)).unwrap_or(0));
    delay.saturating_sub(elapsed)
}

fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn unix_secs(t: SystemTime) -> i64 {
    unix_millis(t) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_delay_schedule() {
        assert_eq!(failure_delay(0), Duration::ZERO);
        assert_eq!(failure_delay(3), Duration::ZERO);
        assert_eq!(failure_delay(4), Duration::from_secs(2));
        assert_eq!(failure_delay(5), Duration::from_secs(4));
        assert_eq!(failure_delay(11), Duration::from_secs(256));
        assert_eq!(failure_delay(12), MAX_DELAY);
        assert_eq!(failure_delay(u32::MAX), MAX_DELAY);
    }
}
