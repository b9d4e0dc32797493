//! The default store: sled, embedded, one process per data directory.
//!
//! Six trees: `users` (key → versioned JSON), `meta`, `due` (the reminder index, keyed by
//! big-endian time so "what is due" is a range scan), `outbox` (messages owed, by id),
//! `events` (the ledger of applied event ids) and `inbox` (events waiting for their turn).
//! [`Store::apply`] writes across them in one sled transaction. [`Store::flush`] calls sled's flush,
//! which survives a crashed or killed process; sled does not promise survival of a power cut.

use super::{DueEntry, Store, StoreError, Write, codec, high_water_key, time_key};
use crate::engine::UserState;
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use jiff::Timestamp;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::{Path, PathBuf};

/// A sled database in a data directory.
pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    meta: sled::Tree,
    due: sled::Tree,
    outbox: sled::Tree,
    events: sled::Tree,
    inbox: sled::Tree,
}

fn tx_io(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => io(e),
    }
}

fn corrupt(k: &[u8], e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(k).into_owned(),
        reason: e.to_string(),
    }
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the store in `dir`; a clear error when another process holds it.
    ///
    /// A store that was just closed can stay locked for a moment while sled's background
    /// flusher winds down (a process restarting, or a test reopening), so a locked store is
    /// retried for up to two seconds before giving up.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Io(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let mut attempts = 0;
        let db = loop {
            match sled::Config::new().path(dir.join("sled")).open() {
                Ok(db) => break db,
                Err(sled::Error::Io(io))
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("lock") =>
                {
                    attempts += 1;
                    if attempts >= 20 {
                        return Err(StoreError::Locked(PathBuf::from(dir)));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => {
                    return Err(StoreError::Io(format!(
                        "cannot open the store in {}: {e}",
                        dir.display()
                    )));
                }
            }
        };
        let users = db.open_tree("users").map_err(io)?;
        let meta = db.open_tree("meta").map_err(io)?;
        let due = db.open_tree("due").map_err(io)?;
        let outbox = db.open_tree("outbox").map_err(io)?;
        let events = db.open_tree("events").map_err(io)?;
        let inbox = db.open_tree("inbox").map_err(io)?;
        Ok(SledStore {
            db,
            users,
            meta,
            due,
            outbox,
            events,
            inbox,
        })
    }
}

impl Store for SledStore {
    fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError> {
        match self.users.get(key.as_bytes()).map_err(io)? {
            Some(b) => codec::decode(key, &b).map(Some),
            None => Ok(None),
        }
    }

    fn put_user(&self, state: &UserState) -> Result<(), StoreError> {
        self.users
            .insert(state.user.as_bytes(), codec::encode(state))
            .map_err(io)?;
        Ok(())
    }

    fn delete_user(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.users.remove(key.as_bytes()).map_err(io)?.is_some())
    }

    fn users(&self) -> Result<Vec<String>, StoreError> {
        self.users
            .iter()
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(io)
            })
            .collect()
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .meta
            .get(key.as_bytes())
            .map_err(io)?
            .map(|v| v.to_vec()))
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(key.as_bytes(), value).map_err(io)?;
        Ok(())
    }

    fn meta_keys(&self) -> Result<Vec<String>, StoreError> {
        self.meta
            .iter()
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(io)
            })
            .collect()
    }

    fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        let v = serde_json::to_vec(entry).expect("a due entry always serialises");
        self.due.insert(entry.key(), v).map_err(io)?;
        Ok(())
    }

    fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        self.due.remove(entry.key()).map_err(io)?;
        Ok(())
    }

    fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError> {
        let end = (u64::from_be_bytes(time_key(until)) + 1).to_be_bytes();
        let mut out = Vec::new();
        for kv in self.due.range(..end.as_slice()) {
            let (k, v) = kv.map_err(io)?;
            let e: DueEntry = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?;
            out.push(e);
        }
        Ok(out)
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        match self.due.first().map_err(io)? {
            Some((k, v)) => {
                let e: DueEntry = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: e.to_string(),
                })?;
                Ok(Some(e.at))
            }
            None => Ok(None),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(io)?;
        Ok(())
    }

    fn apply(&self, w: &Write) -> Result<(), StoreError> {
        let users: Vec<(Vec<u8>, Vec<u8>)> = w
            .users
            .iter()
            .map(|u| (u.user.as_bytes().to_vec(), codec::encode(u)))
            .collect();
        let due_put: Vec<(Vec<u8>, Vec<u8>)> = w
            .due_put
            .iter()
            .map(|e| {
                let v = serde_json::to_vec(e).expect("a due entry always serialises");
                (e.key(), v)
            })
            .collect();
        let outbox: Vec<([u8; 8], Vec<u8>)> = w
            .outbox
            .iter()
            .map(|e| {
                let v = serde_json::to_vec(e).expect("an outbox entry always serialises");
                (e.key(), v)
            })
            .collect();
        let events: Vec<(Vec<u8>, [u8; 8])> = w
            .events
            .iter()
            .map(|(id, at)| (id.as_bytes().to_vec(), time_key(*at)))
            .collect();
        (
            &self.users,
            &self.meta,
            &self.due,
            &self.outbox,
            &self.events,
            &self.inbox,
        )
            .transaction(|(tu, tm, td, to, te, ti)| {
                for k in &w.delete_users {
                    tu.remove(k.as_bytes())?;
                }
                for (k, v) in &users {
                    tu.insert(k.as_slice(), v.as_slice())?;
                }
                for (k, v) in &w.meta {
                    match v {
                        Some(v) => tm.insert(k.as_bytes(), v.as_slice())?,
                        None => tm.remove(k.as_bytes())?,
                    };
                }
                for e in &w.due_delete {
                    td.remove(e.key())?;
                }
                for (k, v) in &due_put {
                    td.insert(k.as_slice(), v.as_slice())?;
                }
                for (k, v) in &outbox {
                    to.insert(k, v.as_slice())?;
                }
                for (k, v) in &events {
                    te.insert(k.as_slice(), v)?;
                }
                for k in &w.inbox_done {
                    ti.remove(k.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_io)
    }

    fn event_seen(&self, event: &str) -> Result<bool, StoreError> {
        self.events.contains_key(event.as_bytes()).map_err(io)
    }

    fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError> {
        let cut = time_key(before);
        let mut gone = 0;
        for kv in self.events.iter() {
            let (k, v) = kv.map_err(io)?;
            if v.as_ref() < cut.as_slice() {
                self.events.remove(k).map_err(io)?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    fn next_outbox_id(&self) -> Result<u64, StoreError> {
        // sled's ids only grow, across restarts too (it reserves them in blocks).
        self.db.generate_id().map_err(io)
    }

    fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for kv in self.outbox.iter() {
            let (k, v) = kv.map_err(io)?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?);
        }
        Ok(out)
    }

    fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let v = serde_json::to_vec(entry).expect("an outbox entry always serialises");
        self.outbox.insert(entry.key(), v).map_err(io)?;
        Ok(())
    }

    fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        self.outbox.remove(id.to_be_bytes()).map_err(io)?;
        Ok(())
    }

    fn inbox_append(
        &self,
        source: &str,
        high_water: u64,
        entries: &[InboxEntry],
    ) -> Result<(), StoreError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|e| {
                let v = serde_json::to_vec(e).expect("an inbox entry always serialises");
                (e.key(), v)
            })
            .collect();
        let hw_key = high_water_key(source);
        (&self.inbox, &self.meta)
            .transaction(|(ti, tm)| {
                for (k, v) in &rows {
                    ti.insert(k.as_slice(), v.as_slice())?;
                }
                tm.insert(hw_key.as_bytes(), high_water.to_string().as_bytes())?;
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_io)
    }

    fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(high_water_key(source).as_bytes())
            .map_err(io)?
            .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
            .unwrap_or(0))
    }

    fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError> {
        let mut prefix = source.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.inbox.scan_prefix(&prefix) {
            let (k, v) = kv.map_err(io)?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?);
        }
        Ok(out)
    }
}
