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
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
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
