//! An in-memory store for tests: the same encoding as sled, nothing on disk.

use super::{DueEntry, Store, StoreError, codec, time_key};
use crate::engine::UserState;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A store that lives only as long as the process.
#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<BTreeMap<String, Vec<u8>>>,
    meta: Mutex<BTreeMap<String, Vec<u8>>>,
    due: Mutex<BTreeMap<Vec<u8>, DueEntry>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Io("the in-memory store's lock was poisoned by a panic".into())
}

impl Store for MemoryStore {
    fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError> {
        let users = self.users.lock().map_err(poisoned)?;
        users.get(key).map(|b| codec::decode(key, b)).transpose()
    }

    fn put_user(&self, state: &UserState) -> Result<(), StoreError> {
        let bytes = codec::encode(state);
        self.users
            .lock()
            .map_err(poisoned)?
            .insert(state.user.clone(), bytes);
        Ok(())
    }

    fn delete_user(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.users.lock().map_err(poisoned)?.remove(key).is_some())
    }

    fn users(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .users
            .lock()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.lock().map_err(poisoned)?.get(key).cloned())
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta
            .lock()
            .map_err(poisoned)?
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn meta_keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .meta
            .lock()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect())
    }

    fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        self.due
            .lock()
            .map_err(poisoned)?
            .insert(entry.key(), entry.clone());
        Ok(())
    }

    fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        self.due.lock().map_err(poisoned)?.remove(&entry.key());
        Ok(())
    }

    fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError> {
        let end = (u64::from_be_bytes(time_key(until)) + 1)
            .to_be_bytes()
            .to_vec();
        Ok(self
            .due
            .lock()
            .map_err(poisoned)?
            .range(..end)
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .due
            .lock()
            .map_err(poisoned)?
            .values()
            .next()
            .map(|e| e.at))
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
