//! An in-memory store for tests: the same encoding as sled, nothing on disk.

use super::{DueEntry, Store, StoreError, Write, codec, time_key};
use crate::engine::UserState;
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A store that lives only as long as the process.
#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<BTreeMap<String, Vec<u8>>>,
    meta: Mutex<BTreeMap<String, Vec<u8>>>,
    due: Mutex<BTreeMap<Vec<u8>, DueEntry>>,
    outbox: Mutex<BTreeMap<u64, OutboxEntry>>,
    events: Mutex<BTreeMap<String, Timestamp>>,
    inbox: Mutex<BTreeMap<Vec<u8>, InboxEntry>>,
    high_water: Mutex<BTreeMap<String, u64>>,
    ids: std::sync::atomic::AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Test hook: stores `bytes` as a person's record as they are, so a test can plant a
    /// record a newer lensbot wrote, or a damaged one (read back through the codec as ever).
    pub fn put_raw_user(&self, key: &str, bytes: Vec<u8>) {
        self.users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), bytes);
    }

    /// Test hook: a person's record as stored, so a test can check it was not overwritten.
    pub fn raw_user(&self, key: &str) -> Option<Vec<u8>> {
        self.users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Io("the in-memory store's lock was poisoned by a panic".into())
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError> {
        let users = self.users.lock().map_err(poisoned)?;
        users.get(key).map(|b| codec::decode(key, b)).transpose()
    }

    async fn put_user(&self, state: &UserState) -> Result<(), StoreError> {
        let bytes = codec::encode(state);
        self.users
            .lock()
            .map_err(poisoned)?
            .insert(state.user.clone(), bytes);
        Ok(())
    }

    async fn delete_user(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.users.lock().map_err(poisoned)?.remove(key).is_some())
    }

    async fn users(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .users
            .lock()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect())
    }

    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.lock().map_err(poisoned)?.get(key).cloned())
    }

    async fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta
            .lock()
            .map_err(poisoned)?
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    async fn meta_keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .meta
            .lock()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect())
    }

    async fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        self.due
            .lock()
            .map_err(poisoned)?
            .insert(entry.key(), entry.clone());
        Ok(())
    }

    async fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        self.due.lock().map_err(poisoned)?.remove(&entry.key());
        Ok(())
    }

    async fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError> {
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

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .due
            .lock()
            .map_err(poisoned)?
            .values()
            .next()
            .map(|e| e.at))
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn apply(&self, w: &Write) -> Result<(), StoreError> {
        // Every lock at once, always in this order, so a reader never sees half a turn.
        let mut users = self.users.lock().map_err(poisoned)?;
        let mut meta = self.meta.lock().map_err(poisoned)?;
        let mut due = self.due.lock().map_err(poisoned)?;
        let mut outbox = self.outbox.lock().map_err(poisoned)?;
        let mut events = self.events.lock().map_err(poisoned)?;
        let mut inbox = self.inbox.lock().map_err(poisoned)?;
        for k in &w.delete_users {
            users.remove(k);
        }
        for u in &w.users {
            users.insert(u.user.clone(), codec::encode(u));
        }
        for (k, v) in &w.meta {
            match v {
                Some(v) => meta.insert(k.clone(), v.clone()),
                None => meta.remove(k),
            };
        }
        for e in &w.due_delete {
            due.remove(&e.key());
        }
        for e in &w.due_put {
            due.insert(e.key(), e.clone());
        }
        for e in &w.outbox {
            outbox.insert(e.id, e.clone());
        }
        for (id, at) in &w.events {
            events.insert(id.clone(), *at);
        }
        for k in &w.inbox_done {
            inbox.remove(k);
        }
        Ok(())
    }

    async fn event_seen(&self, event: &str) -> Result<bool, StoreError> {
        Ok(self.events.lock().map_err(poisoned)?.contains_key(event))
    }

    async fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut events = self.events.lock().map_err(poisoned)?;
        let n = events.len();
        events.retain(|_, at| *at >= before);
        Ok(n - events.len())
    }

    async fn next_outbox_id(&self) -> Result<u64, StoreError> {
        Ok(self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    }

    async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self
            .outbox
            .lock()
            .map_err(poisoned)?
            .values()
            .cloned()
            .collect())
    }

    async fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox
            .lock()
            .map_err(poisoned)?
            .insert(entry.id, entry.clone());
        Ok(())
    }

    async fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        self.outbox.lock().map_err(poisoned)?.remove(&id);
        Ok(())
    }

    async fn inbox_append(
        &self,
        source: &str,
        high_water: u64,
        entries: &[InboxEntry],
    ) -> Result<(), StoreError> {
        let mut inbox = self.inbox.lock().map_err(poisoned)?;
        let mut hw = self.high_water.lock().map_err(poisoned)?;
        for e in entries {
            inbox.insert(e.key(), e.clone());
        }
        hw.insert(source.to_string(), high_water);
        Ok(())
    }

    async fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError> {
        Ok(self
            .high_water
            .lock()
            .map_err(poisoned)?
            .get(source)
            .copied()
            .unwrap_or(0))
    }

    async fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError> {
        Ok(self
            .inbox
            .lock()
            .map_err(poisoned)?
            .values()
            .filter(|e| e.source == source)
            .cloned()
            .collect())
    }
}
