//! An in-memory store for tests: the same encoding as sled, nothing on disk.

use super::{Store, StoreError, codec};
use crate::engine::UserState;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A store that lives only as long as the process.
#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<BTreeMap<String, Vec<u8>>>,
    meta: Mutex<BTreeMap<String, Vec<u8>>>,
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

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
