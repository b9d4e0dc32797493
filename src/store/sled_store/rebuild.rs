//! Upgrading a store written before checksums and sealing: it is rebuilt into a new sled
//! directory (every value wrapped; people's records, queued events and replies sealed), then
//! swapped in, so no plain copy of anyone's words waits in the old log to be reclaimed. A
//! crash at any point is finished or undone at the next open ([`finish_rebuild`]).

use super::{
    FORMAT, INBOX, JOURNAL, OUTBOX, PIPE, STORE_FORMAT, USERS, aad, decode_ops, io, u64_value,
};
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use crate::store::vault::{self, Vault};
use crate::store::{StoreError, envelope};
use std::path::Path;

/// Whether a store was written before checksums and sealing (and holds anything).
pub(super) fn needs_rebuild(db: &sled::Db) -> Result<bool, StoreError> {
    let pipe = db.open_tree("pipe").map_err(io)?;
    let format = pipe
        .get(FORMAT)
        .map_err(io)?
        .and_then(|v| u64_value(&v))
        .unwrap_or(0);
    if format >= STORE_FORMAT {
        return Ok(false);
    }
    for name in ["users", "meta", "due", "pipe"] {
        if !db.open_tree(name).map_err(io)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The directory a rebuild is written to, and the one the old store waits in during the swap.
const REBUILDING: &str = "sled.rebuilding";
const OLD: &str = "sled.old";

/// Rewrites a store from before checksums and sealing into a new sled directory: every value
/// wrapped, people's records, queued events and replies sealed, a journal record a crash left
/// finished first. A new directory rather than in place, so no plain copy of anyone's words
/// stays in sled's log waiting to be reclaimed. The old store is untouched until
/// [`swap_rebuilt`].
pub(super) fn rebuild(old: &sled::Db, dir: &Path, vault: &Vault) -> Result<(), StoreError> {
    let target = dir.join(REBUILDING);
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .map_err(|e| StoreError::Io(format!("cannot remove {}: {e}", target.display())))?;
    }
    let new = sled::Config::new().path(&target).open().map_err(io)?;
    let names = ["users", "meta", "due", "pipe"];
    let trees: Vec<(sled::Tree, sled::Tree)> = names
        .iter()
        .map(|n| Ok((old.open_tree(n).map_err(io)?, new.open_tree(n).map_err(io)?)))
        .collect::<Result<_, StoreError>>()?;
    let seal = |owner: &str, tree: u8, k: &[u8], body: &[u8]| -> Result<Vec<u8>, StoreError> {
        Ok(envelope::wrap(&vault.seal(owner, &aad(tree, k), body)?))
    };
    let value = |tree: u8, k: &[u8], v: &[u8]| -> Result<Vec<u8>, StoreError> {
        let body = envelope::unwrap(v).unwrap_or(v);
        if body.first() == Some(&vault::SEALED) {
            return Ok(envelope::wrap(body));
        }
        match (tree, k.first()) {
            (USERS, _) => seal(String::from_utf8_lossy(k).as_ref(), USERS, k, body),
            (PIPE, Some(&INBOX)) => match serde_json::from_slice::<InboxEntry>(body) {
                Ok(e) => seal(&e.queue, PIPE, k, body),
                Err(_) => Ok(envelope::wrap(body)),
            },
            (PIPE, Some(&OUTBOX)) => match serde_json::from_slice::<OutboxEntry>(body) {
                Ok(OutboxEntry {
                    person: Some(p), ..
                }) => seal(&p, PIPE, k, body),
                _ => Ok(envelope::wrap(body)),
            },
            _ => Ok(envelope::wrap(body)),
        }
    };
    for (tree, (from, to)) in trees.iter().enumerate() {
        for kv in from.iter() {
            let (k, v) = kv.map_err(io)?;
            if tree as u8 == PIPE && k.first() == Some(&JOURNAL) {
                continue;
            }
            to.insert(&k, value(tree as u8, &k, &v)?).map_err(io)?;
        }
    }
    // A write a crash interrupted in the old store is finished in the new one.
    for kv in trees[PIPE as usize].0.scan_prefix([JOURNAL]) {
        let (_, v) = kv.map_err(io)?;
        let body = envelope::unwrap(&v).unwrap_or(&v);
        let Some(ops) = decode_ops(body) else {
            continue;
        };
        for (tree, k, v) in ops {
            let to = &trees[usize::from(tree.min(PIPE))].1;
            match v {
                Some(v) => to.insert(&k, value(tree, &k, &v)?).map(|_| ()),
                None => to.remove(&k).map(|_| ()),
            }
            .map_err(io)?;
        }
    }
    trees[PIPE as usize]
        .1
        .insert(FORMAT, envelope::wrap(&STORE_FORMAT.to_be_bytes()))
        .map_err(io)?;
    vault.sync()?;
    new.flush().map_err(io)?;
    tracing::info!("rewrote the store with checksums and per-person encryption");
    Ok(())
}

/// Puts a finished rebuild in the old store's place: `sled` → `sled.old`, the rebuild →
/// `sled`, then the old one removed.
pub(super) fn swap_rebuilt(dir: &Path) -> Result<(), StoreError> {
    let err = |e: std::io::Error| {
        StoreError::Io(format!(
            "cannot swap in the rebuilt store in {}: {e}",
            dir.display()
        ))
    };
    std::fs::rename(dir.join("sled"), dir.join(OLD)).map_err(err)?;
    std::fs::rename(dir.join(REBUILDING), dir.join("sled")).map_err(err)?;
    std::fs::remove_dir_all(dir.join(OLD)).map_err(err)?;
    Ok(())
}

/// Finishes or undoes a rebuild a crash interrupted: a rebuild not yet swapped in is thrown
/// away (the old store is whole); an old store moved aside is removed once the new one is in
/// place, or put back if the new one never arrived.
pub(super) fn finish_rebuild(dir: &Path) -> Result<(), StoreError> {
    let err = |e: std::io::Error| {
        StoreError::Io(format!("cannot finish a rebuild in {}: {e}", dir.display()))
    };
    let (live, old, rebuilding) = (dir.join("sled"), dir.join(OLD), dir.join(REBUILDING));
    if old.exists() {
        if live.exists() {
            std::fs::remove_dir_all(&old).map_err(err)?;
        } else {
            std::fs::rename(&old, &live).map_err(err)?;
        }
    }
    if rebuilding.exists() {
        std::fs::remove_dir_all(&rebuilding).map_err(err)?;
    }
    Ok(())
}
