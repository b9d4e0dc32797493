//! Where people's progress is kept: a small [`Store`] trait with the embedded sled store as the
//! default ([`sled_store`]) and an in-memory one for tests ([`memory`]).
//!
//! The trait is deliberately small (users by key, a little metadata, flush) so a PostgreSQL
//! implementation is a day's work. Values are versioned JSON (`{"v":1,…}`, see [`codec`]): a
//! format change is a migration in one place, never a wipe. "Saved" means [`Store::flush`] has
//! returned: for sled that survives a killed process, not a power cut (see the README).

pub mod codec;
pub mod memory;
pub mod sled_store;

use crate::engine::UserState;
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

/// The storage every shell shares. Implementations must be safe to call from many threads.
pub trait Store: Send + Sync {
    /// A person's state, if they have one.
    fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError>;
    /// Writes a person's state (durable only after [`Store::flush`]).
    fn put_user(&self, state: &UserState) -> Result<(), StoreError>;
    /// Deletes a person's state; true when there was one.
    fn delete_user(&self, key: &str) -> Result<bool, StoreError>;
    /// Every person's key.
    fn users(&self) -> Result<Vec<String>, StoreError>;
    /// A metadata value.
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets a metadata value.
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Every metadata key.
    fn meta_keys(&self) -> Result<Vec<String>, StoreError>;
    /// Adds an entry to the due index.
    fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError>;
    /// Removes an entry from the due index (no error when absent).
    fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError>;
    /// Every entry due at or before `until`, earliest first.
    fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError>;
    /// The earliest due time in the index.
    fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
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
