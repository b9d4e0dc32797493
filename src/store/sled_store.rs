//! The default store: sled, embedded, one process per data directory.
//!
//! Two trees: `users` (key → versioned JSON) and `meta`. [`Store::flush`] calls sled's flush,
//! which survives a crashed or killed process; sled does not promise survival of a power cut.

use super::{Store, StoreError, codec};
use crate::engine::UserState;
use std::path::{Path, PathBuf};

/// A sled database in a data directory.
pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    meta: sled::Tree,
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the store in `dir`; a clear error when another process holds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Io(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let db = sled::Config::new()
            .path(dir.join("sled"))
            .open()
            .map_err(|e| match &e {
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("lock") =>
                {
                    StoreError::Locked(PathBuf::from(dir))
                }
                _ => StoreError::Io(format!("cannot open the store in {}: {e}", dir.display())),
            })?;
        let users = db.open_tree("users").map_err(io)?;
        let meta = db.open_tree("meta").map_err(io)?;
        Ok(SledStore { db, users, meta })
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

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(io)?;
        Ok(())
    }
}
