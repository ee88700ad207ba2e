//! An unlocked wallet: its secrets in memory, with an idle deadline and a lock that wipes them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use zeroize::Zeroizing;

use crate::derive::WalletKeys;
use crate::error::{Result, VaultError};
use crate::identity::PublicIdentity;
use crate::kit::EmergencyKit;
use crate::phrase::RecoveryPhrase;
use crate::seed::Seed;
use crate::store::WalletId;

/// Default idle time before an unlocked wallet locks itself.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Time source, injectable so that auto-lock and the failure delay are testable.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall-clock time, for what is persisted (failure timestamps, creation dates).
    fn wall(&self) -> SystemTime;
    /// Monotonic time since an arbitrary origin, for idle deadlines (immune to clock changes).
    fn monotonic(&self) -> Duration;
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that only moves when told to. For tests (here and in crates built on this one).
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<(SystemTime, Duration)>,
}

impl ManualClock {
    /// A clock at wall time `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            state: Mutex::new((start, Duration::ZERO)),
        }
    }

    /// Moves both wall and monotonic time forward by `d`.
    pub fn advance(&self, d: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.0 += d;
            s.1 += d;
        }
    }
}

impl Clock for ManualClock {
    fn wall(&self) -> SystemTime {
        self.state
            .lock()
            .map(|s| s.0)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
    fn monotonic(&self) -> Duration {
        self.state.lock().map(|s| s.1).unwrap_or(Duration::ZERO)
    }
}

/// Everything secret of an unlocked wallet. Dropped as a whole on lock.
struct Secrets {
    seed: Seed,
    keys: WalletKeys,
    vault_key: Zeroizing<[u8; 32]>,
}

/// An unlocked wallet.
///
/// It holds the seed, the derived keys and the vault key until [`Unlocked::lock`] is called,
/// the idle deadline passes, or it is dropped; then every secret is wiped (`Zeroizing`).
/// The deadline is checked on every access to a secret, which also extends it (activity);
/// call [`Unlocked::tick`] from a timer so that secrets are wiped on time even when nothing
/// touches the wallet. Not `Clone`; `Debug` shows no secret.
pub struct Unlocked {
    wallet_id: WalletId,
    identity: PublicIdentity,
    secrets: Option<Secrets>,
    clock: Arc<dyn Clock>,
    idle_timeout: Duration,
    deadline: Duration,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked")
            .field("wallet_id", &self.wallet_id)
            .field("identity", &self.identity)
            .field("locked", &self.secrets.is_none())
            .field("secrets", &"[redacted]")
            .finish()
    }
}

impl Unlocked {
    pub(crate) fn new(
        wallet_id: WalletId,
        identity: PublicIdentity,
        seed: Seed,
        keys: WalletKeys,
        vault_key: Zeroizing<[u8; 32]>,
        clock: Arc<dyn Clock>,
        idle_timeout: Duration,
    ) -> Self {
        let deadline = clock.monotonic() + idle_timeout;
        Self {
            wallet_id,
            identity,
            secrets: Some(Secrets {
                seed,
                keys,
                vault_key,
            }),
            clock,
            idle_timeout,
            deadline,
        }
    }

    /// The wallet's id in the vault.
    pub fn wallet_id(&self) -> &WalletId {
        &self.wallet_id
    }

    /// The public identity (available even after locking).
    pub fn identity(&self) -> &PublicIdentity {
        &self.identity
    }

    /// Whether the secrets are gone. Locks first if the idle deadline has passed.
    pub fn is_locked(&mut self) -> bool {
        self.tick()
    }

    /// Locks if the idle deadline has passed; returns whether the session is locked.
    /// Call it from a timer (e.g. every few seconds) so that secrets leave memory on time.
    pub fn tick(&mut self) -> bool {
        if self.secrets.is_some() && self.clock.monotonic() >= self.deadline {
            self.lock();
        }
        self.secrets.is_none()
    }

    /// Locks now: every secret is wiped from memory.
    pub fn lock(&mut self) {
        // Dropping `Secrets` runs the `Zeroizing` destructors of every buffer it owns.
        self.secrets = None;
    }

    /// Records user activity: the idle deadline starts again from now.
    pub fn touch(&mut self) -> Result<()> {
        self.secrets_mut().map(|_| ())
    }

    /// Time left before auto-lock (zero when locked).
    pub fn time_left(&mut self) -> Duration {
        if self.tick() {
            return Duration::ZERO;
        }
        self.deadline.saturating_sub(self.clock.monotonic())
    }

    /// The idle time after which the session locks itself.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Changes the idle time; the deadline restarts from now.
    pub fn set_idle_timeout(&mut self, idle: Duration) {
        self.idle_timeout = idle;
        self.deadline = self.clock.monotonic() + idle;
    }

    /// The wallet's keys, counting as activity. `Err(Locked)` once locked or idle too long.
    pub fn keys(&mut self) -> Result<&WalletKeys> {
        Ok(&self.secrets_mut()?.keys)
    }

    /// The wallet's keys for background work, *not* counting as activity (an idle wallet
    /// still locks on time). `Err(Locked)` once locked or idle too long.
    pub fn keys_in_background(&mut self) -> Result<&WalletKeys> {
        if self.tick() {
            return Err(VaultError::Locked);
        }
        self.secrets
            .as_ref()
            .map(|s| &s.keys)
            .ok_or(VaultError::Locked)
    }

    /// A fresh Emergency Kit (the recovery phrase) to print again, e.g. from Settings.
    pub fn emergency_kit(&mut self) -> Result<EmergencyKit> {
        let now = self.clock.wall();
        let identity = self.identity.clone();
        let s = self.secrets_mut()?;
        Ok(EmergencyKit::new(
            RecoveryPhrase::from_seed(&s.seed),
            identity,
            now,
        ))
    }

    pub(crate) fn vault_key(&mut self) -> Result<&[u8; 32]> {
        Ok(&self.secrets_mut()?.vault_key)
    }

    fn secrets_mut(&mut self) -> Result<&mut Secrets> {
        if self.tick() {
            return Err(VaultError::Locked);
        }
        self.deadline = self.clock.monotonic() + self.idle_timeout;
        self.secrets.as_mut().ok_or(VaultError::Locked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;

    fn session(clock: Arc<ManualClock>, idle: Duration) -> Unlocked {
        let seed = Seed::from_bytes([9u8; 32]);
        let keys = WalletKeys::derive(&seed, Role::Patient).unwrap();
        let identity = keys.public_identity("Ada");
        Unlocked::new(
            WalletId::from_raw("w1"),
            identity,
            seed,
            keys,
            Zeroizing::new([3u8; 32]),
            clock,
            idle,
        )
    }

    #[test]
    fn auto_locks_after_idle_time_with_fake_clock() {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let mut s = session(clock.clone(), Duration::from_secs(60));
        assert!(s.keys().is_ok());
        clock.advance(Duration::from_secs(59));
        assert!(!s.tick());
        assert_eq!(s.time_left(), Duration::from_secs(1));
        // Activity pushes the deadline back.
        s.touch().unwrap();
        clock.advance(Duration::from_secs(59));
        assert!(s.keys().is_ok());
        clock.advance(Duration::from_secs(60));
        assert!(s.tick(), "idle 60 s: must be locked");
        assert!(matches!(s.keys(), Err(VaultError::Locked)));
        assert!(matches!(s.emergency_kit(), Err(VaultError::Locked)));
        assert_eq!(s.time_left(), Duration::ZERO);
        // The public identity stays available for the lock screen.
        assert_eq!(s.identity().display_name, "Ada");
    }

    #[test]
    fn background_use_of_the_keys_does_not_keep_the_wallet_unlocked() {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let mut s = session(clock.clone(), Duration::from_secs(60));
        clock.advance(Duration::from_secs(50));
        assert!(s.keys_in_background().is_ok());
        // Not activity: the deadline did not move.
        assert_eq!(s.time_left(), Duration::from_secs(10));
        clock.advance(Duration::from_secs(10));
        assert!(matches!(s.keys_in_background(), Err(VaultError::Locked)));
        assert!(s.secrets.is_none(), "the secrets are gone, not just hidden");
    }

    #[test]
    fn lock_on_demand_drops_secrets() {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let mut s = session(clock, DEFAULT_IDLE_TIMEOUT);
        assert!(!s.is_locked());
        s.lock();
        assert!(s.is_locked());
        assert!(s.secrets.is_none());
        assert!(matches!(s.vault_key(), Err(VaultError::Locked)));
    }

    #[test]
    fn debug_does_not_leak() {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let mut s = session(clock, DEFAULT_IDLE_TIMEOUT);
        let secret_hex = hex::encode(s.keys().unwrap().ledger_secret_key());
        let keys_dbg = format!("{:?}", s.keys().unwrap());
        let dbg = format!("{s:?} {keys_dbg}");
        assert!(dbg.contains("[redacted]"));
        assert!(!dbg.contains(&secret_hex));
        assert!(!dbg.contains("030303"));
    }

    #[test]
    fn zeroizing_wipes_on_drop() {
        // What we can observe from safe code: `Zeroizing` zeroes its buffer in place before the
        // memory is released. Here the value is wiped explicitly through the same trait.
        let mut buf = Zeroizing::new([0xAAu8; 32]);
        zeroize::Zeroize::zeroize(&mut *buf);
        assert_eq!(*buf, [0u8; 32]);
    }
}
