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

    /// Test hook: stores raw bytes as a person's record, as if written by another version or
    /// damaged on disk; [`Store::get_user`] decodes them through [`codec::decode`] like any
    /// other record, so tests can show how an unreadable record is handled.
    pub fn put_raw_user(&self, key: &str, bytes: Vec<u8>) {
        if let Ok(mut users) = self.users.lock() {
            users.insert(key.to_string(), bytes);
        }
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

    fn apply(&self, w: &Write) -> Result<(), StoreError> {
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

    fn event_seen(&self, event: &str) -> Result<bool, StoreError> {
        Ok(self.events.lock().map_err(poisoned)?.contains_key(event))
    }

    fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut events = self.events.lock().map_err(poisoned)?;
        let n = events.len();
        events.retain(|_, at| *at >= before);
        Ok(n - events.len())
    }

    fn next_outbox_id(&self) -> Result<u64, StoreError> {
        Ok(self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    }

    fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self
            .outbox
            .lock()
            .map_err(poisoned)?
            .values()
            .cloned()
            .collect())
    }

    fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox
            .lock()
            .map_err(poisoned)?
            .insert(entry.id, entry.clone());
        Ok(())
    }

    fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        self.outbox.lock().map_err(poisoned)?.remove(&id);
        Ok(())
    }

    fn inbox_append(
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

    fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError> {
        Ok(self
            .high_water
            .lock()
            .map_err(poisoned)?
            .get(source)
            .copied()
            .unwrap_or(0))
    }

    fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError> {
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
