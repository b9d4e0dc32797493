//! The default store: sled, embedded, one process per data directory.
//!
//! Three trees: `users` (key → versioned JSON), `meta`, and `due` (the reminder index, keyed
//! by big-endian time so "what is due" is a range scan). [`Store::flush`] calls sled's flush,
//! which survives a crashed or killed process; sled does not promise survival of a power cut.

use super::{DueEntry, Store, StoreError, codec, time_key};
use crate::engine::UserState;
use jiff::Timestamp;
use std::path::{Path, PathBuf};

/// A sled database in a data directory.
pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    meta: sled::Tree,
    due: sled::Tree,
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
        Ok(SledStore {
            db,
            users,
            meta,
            due,
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
}
