//! Where people's progress is kept: a small [`Store`] trait with the embedded sled store as the
//! default ([`sled_store`]), PostgreSQL for several processes over one database (`postgres`,
//! feature `postgres`) and an in-memory one for tests ([`memory`]); [`location`] chooses.
//!
//! The trait is async: a store that talks to a database over the network must never block the
//! runtime's threads (sled's own blocking work, an fsync, hands the worker's other tasks on:
//! [`blocking`]). It stays small (users by key, a little metadata, the due index, the event
//! path's inbox, ledger and outbox, flush), and the same conformance routines run against
//! every implementation (`tests/it/store.rs`). Values are versioned JSON (`{"v":1,…}`, see [`codec`]): a
//! format change is a migration in one place, never a wipe; a version field must be a small
//! whole number. "Saved" means [`Store::flush`] has returned: for sled that survives a killed
//! process, not a power cut (see the README).
//!
//! The sled store defends what it holds (issue 13), with one module per defence: [`envelope`]
//! (a checksum on every value, so one damaged record is isolated, not parsed), [`integrity`]
//! (a manifest of counts and write numbers outside sled, checked at open, so a store that came
//! up smaller is not served) and [`vault`] (each person's data sealed under a key of their
//! own, so forgetting them is destroying the key, everywhere a copy lies). A record that
//! cannot be read is an error naming its key ([`StoreError::unreadable_key`]): sweeps skip it.

pub mod codec;
pub mod envelope;
pub mod integrity;
pub mod leases;
pub mod location;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sled_store;
pub mod vault;

use crate::engine::UserState;
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use memory::MemoryStore;
pub use sled_store::SledStore;

/// What can go wrong with a store, in words a person running the bot can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (a running bot, say) holds the sled database.
    #[error(
        "the data directory {0} is in use by another lensbot process; stop it first, or use --data to pick another directory"
    )]
    Locked(PathBuf),
    /// The disk or the database failed.
    #[error("the store failed: {0}")]
    Io(String),
    /// The store's files are damaged (sled failed reading them, or the check at open found
    /// data missing).
    #[error("{0}")]
    Damaged(String),
    /// Another process got there first (PostgreSQL): the event was applied already, so this
    /// write changed nothing.
    #[error("{0}")]
    Conflict(String),
    /// Another process has held a person's turn for too long (PostgreSQL): this turn was not
    /// taken and changed nothing; the event stays in the inbox for the next start.
    #[error("{0}")]
    Busy(String),
    /// A stored value could not be read.
    #[error("a stored record for {key} could not be read: {reason}")]
    Corrupt {
        /// Whose record.
        key: String,
        /// Why.
        reason: String,
    },
    /// A stored value was written by a newer lensbot.
    #[error(
        "a stored record for {key} has format version {version}, newer than this lensbot understands ({supported}); upgrade lensbot"
    )]
    TooNew {
        /// Whose record.
        key: String,
        /// Its version.
        version: u32,
        /// The newest this build reads.
        supported: u32,
    },
}

impl StoreError {
    /// The key of the one record this error is about, when it is about a record that cannot be
    /// read ([`StoreError::Corrupt`], [`StoreError::TooNew`]) rather than the store failing
    /// ([`StoreError::Io`], [`StoreError::Locked`]). Sweeps over many records skip such a
    /// record (one bad record must harm no one else) and stop only when the store fails.
    pub fn unreadable_key(&self) -> Option<&str> {
        match self {
            StoreError::Corrupt { key, .. } | StoreError::TooNew { key, .. } => Some(key),
            StoreError::Io(_)
            | StoreError::Locked(_)
            | StoreError::Damaged(_)
            | StoreError::Conflict(_)
            | StoreError::Busy(_) => None,
        }
    }
}

/// The storage every shell shares. Implementations must be safe to call from many threads.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// A person's state, if they have one.
    async fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError>;
    /// Writes a person's state (durable only after [`Store::flush`]).
    async fn put_user(&self, state: &UserState) -> Result<(), StoreError>;
    /// Deletes a person's state; true when there was one.
    async fn delete_user(&self, key: &str) -> Result<bool, StoreError>;
    /// Every person's key.
    async fn users(&self) -> Result<Vec<String>, StoreError>;
    /// A metadata value.
    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets a metadata value.
    async fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Every metadata key.
    async fn meta_keys(&self) -> Result<Vec<String>, StoreError>;
    /// Adds an entry to the due index.
    async fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError>;
    /// Removes an entry from the due index (no error when absent).
    async fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError>;
    /// Every entry due at or before `until`, earliest first.
    async fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError>;
    /// The earliest due time in the index.
    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Makes every write so far durable.
    async fn flush(&self) -> Result<(), StoreError>;

    /// Applies a turn's writes all together or not at all (durable after [`Store::flush`]):
    /// the new state, the due index, the outgoing messages, the event marked applied and its
    /// inbox entry gone. A crash leaves either the whole turn or none of it.
    async fn apply(&self, write: &Write) -> Result<(), StoreError>;
    /// Whether an event id is in the ledger of applied events.
    async fn event_seen(&self, event: &str) -> Result<bool, StoreError>;
    /// Forgets ledger entries recorded before `before` (the platforms replay only recent
    /// events); returns how many went.
    async fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError>;
    /// A fresh outbox id, larger than any given before (even across restarts).
    async fn next_outbox_id(&self) -> Result<u64, StoreError>;
    /// Every outbox entry not yet delivered, in id order.
    async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Rewrites an entry's progress (messages sent, attempts).
    async fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError>;
    /// Removes a delivered (or undeliverable) entry.
    async fn outbox_remove(&self, id: u64) -> Result<(), StoreError>;
    /// Appends events to the inbox and raises the source's high-water mark to `high_water`,
    /// atomically.
    async fn inbox_append(
        &self,
        source: &str,
        high_water: u64,
        entries: &[InboxEntry],
    ) -> Result<(), StoreError>;
    /// The highest sequence number ever appended for a source (0 when none).
    async fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError>;
    /// Every event in the inbox for a source, in arrival order.
    async fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError>;

    /// The person keys, for a store that encrypts at rest (sled); `None` for one that keeps
    /// nothing on disk. Forgetting a person destroys their key here after their records are
    /// gone ([`vault::Vault::forget`]); backups carry this key material beside them.
    fn vault(&self) -> Option<&vault::Vault> {
        None
    }

    /// Claims the entries due at or before `until` for this process, for `lease` (several
    /// processes over one database each take different entries; an entry whose holder died is
    /// taken again once its lease has run out). Handling an entry deletes it; an entry this
    /// process does not handle goes back with [`Store::release_due`]. A store one process owns
    /// has no one to share with: the default is [`Store::due_until`].
    async fn claim_due(
        &self,
        until: Timestamp,
        _lease: std::time::Duration,
    ) -> Result<Vec<DueEntry>, StoreError> {
        self.due_until(until).await
    }

    /// Gives back claimed entries this process will not handle (a platform it does not serve),
    /// so another process may take them at once.
    async fn release_due(&self, _entries: &[DueEntry]) -> Result<(), StoreError> {
        Ok(())
    }

    /// Resolves when another process sharing this store may have added due entries or
    /// forgotten someone (PostgreSQL's `LISTEN/NOTIFY`), so the scheduler looks again at once.
    /// Notifications are lost while the listening connection is down: the scheduler's own
    /// polling (at least once a minute) is the fallback. A store one process owns has no one
    /// to hear from: the default never resolves.
    async fn changed_elsewhere(&self) {
        std::future::pending::<()>().await
    }

    /// Destroys a person's keys (after their records are gone and that is durable): in the
    /// vault, beside every backup it knows, and wherever the store keeps key records. Returns
    /// how many backup key files changed.
    /// Whether other processes may share this store (PostgreSQL): then each platform's
    /// gateway and sender run in one elected process ([`Store::elect`]), and a process that
    /// is not sending leaves its replies in the store for the one that is.
    fn shared(&self) -> bool {
        false
    }

    /// Tries to take `role` (a platform's gateway and sender) for this process: `None` when
    /// another process holds it (try again in a moment). A store one process owns gives every
    /// role for good. See [`leases`].
    async fn elect(&self, _role: &str) -> Result<Option<leases::Held>, StoreError> {
        Ok(Some(leases::Held::for_good()))
    }

    /// Holds `user`'s turn against the other processes sharing this store until the hold is
    /// dropped (waiting while another process holds it), so two processes never step the
    /// same person at once. A store one process owns holds nothing. See [`leases`].
    async fn hold_turn(&self, _user: &str) -> Result<leases::TurnHold, StoreError> {
        Ok(leases::TurnHold::none())
    }

    /// Like [`Store::hold_turn`], but waits at most `within` and never blocks in the store
    /// meanwhile: `None` when another process holds the turn all that time. For a turn that
    /// already holds another person's (linking, unlinking): waiting in the database while
    /// holding one lock could close a cycle the database would break by failing a turn.
    async fn try_hold_turn(
        &self,
        _user: &str,
        _within: std::time::Duration,
    ) -> Result<Option<leases::TurnHold>, StoreError> {
        Ok(Some(leases::TurnHold::none()))
    }

    /// [`Store::hold_turn`] for a group's challenge record. A person's turn may hold their
    /// group's record inside it (a check-in), never the other way round; the two kinds are
    /// held apart (PostgreSQL: from pools of their own) so people waiting can never use up
    /// what a group's hold needs.
    async fn hold_group(&self, _group: &str) -> Result<leases::TurnHold, StoreError> {
        Ok(leases::TurnHold::none())
    }

    /// The events of `queue` (a person or group) from `source` kept in the inbox before
    /// sequence number `seq`, in order: over a store several processes share, another process
    /// may have taken in a person's earlier event and not handled it yet, and the process about
    /// to handle a later one handles those first, so a person's events keep their order across
    /// processes. A store one process owns has its in-process queue for that: the default is
    /// none.
    async fn inbox_before(
        &self,
        _source: &str,
        _queue: &str,
        _seq: u64,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        Ok(Vec::new())
    }

    /// Resolves when another process sharing this store may have added outgoing messages
    /// (`LISTEN/NOTIFY`), so this process's sender looks at the outbox again. Lost while the
    /// listening connection is down: the sender's own polling is the fallback. The default
    /// never resolves.
    async fn outbox_changed_elsewhere(&self) {
        std::future::pending::<()>().await
    }

    async fn forget_keys(&self, user: &str) -> Result<usize, StoreError> {
        match self.vault() {
            Some(v) => v.forget(user),
            None => Ok(0),
        }
    }
}

/// One atomic write: everything a turn changes ([`Store::apply`]).
#[derive(Debug, Default)]
pub struct Write {
    /// States to save.
    pub users: Vec<UserState>,
    /// People to delete.
    pub delete_users: Vec<String>,
    /// Metadata to set (`Some`) or remove (`None`).
    pub meta: Vec<(String, Option<Vec<u8>>)>,
    /// Due-index entries to add.
    pub due_put: Vec<DueEntry>,
    /// Due-index entries to remove.
    pub due_delete: Vec<DueEntry>,
    /// Messages owed.
    pub outbox: Vec<OutboxEntry>,
    /// Event ids now applied, with when (the ledger).
    pub events: Vec<(String, Timestamp)>,
    /// Inbox entries now handled (their keys).
    pub inbox_done: Vec<Vec<u8>>,
}

impl Write {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.delete_users.is_empty()
            && self.meta.is_empty()
            && self.due_put.is_empty()
            && self.due_delete.is_empty()
            && self.outbox.is_empty()
            && self.events.is_empty()
            && self.inbox_done.is_empty()
    }
}

/// One entry of the due index: a person's reminder and when it is next due. The reminder
/// itself lives in the person's state; the index exists so "what is due" is a range scan over
/// keys that sort by time (big-endian seconds first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DueEntry {
    /// When it is due.
    pub at: Timestamp,
    /// Whose.
    pub user: String,
    /// Reminder id.
    pub reminder: String,
}

impl DueEntry {
    /// The index key: seconds (order-preserving big-endian), user, a zero byte, reminder.
    pub fn key(&self) -> Vec<u8> {
        let mut k = time_key(self.at).to_vec();
        k.extend_from_slice(self.user.as_bytes());
        k.push(0);
        k.extend_from_slice(self.reminder.as_bytes());
        k
    }
}

/// The first eight bytes of a due key: seconds since the epoch, sign bit flipped, big-endian,
/// so byte order is time order.
pub fn time_key(at: Timestamp) -> [u8; 8] {
    ((at.as_second() as u64) ^ (1 << 63)).to_be_bytes()
}

/// Runs blocking store work (an fsync, say) from an async method without stalling the other
/// tasks of a multi-threaded runtime: the worker hands its tasks on while it waits
/// (`block_in_place`). On a single-threaded runtime (tests) or outside one it simply runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Waits for a store future from synchronous code (the command line's one-shot commands, the
/// checks at open): on a fresh single-threaded runtime outside one, on a scoped thread of its
/// own inside a single-threaded one, and with `block_in_place` inside a multi-threaded one.
/// Never used on a turn's path, which is async throughout.
pub fn wait<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    let fresh = |f: F| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a single-threaded runtime can always be built")
            .block_on(f)
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(f))
        }
        Ok(_) => std::thread::scope(|s| {
            s.spawn(|| fresh(f))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
        Err(_) => fresh(f),
    }
}

/// The data directory: `--data DIR`, else `LENSBOT_DATA`, else `./lensbot-data`.
pub fn data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(d) = flag {
        return d.to_path_buf();
    }
    match std::env::var_os("LENSBOT_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("lensbot-data"),
    }
}
