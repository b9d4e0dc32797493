//! The default store: sled, embedded, one process per data directory.
//!
//! Four trees: `users` (key → versioned JSON), `meta`, `due` (the reminder index, keyed by
//! big-endian time so "what is due" is a range scan) and `pipe`, which holds the event path's
//! records under a one-byte prefix: `o` the outbox (messages owed, by id), `e` the ledger of
//! applied event ids, `i` the inbox (events waiting for their turn), `h` each source's inbox
//! high-water mark, `j` the journal.
//!
//! **Atomic writes without sled transactions.** sled's transactions (and `apply_batch`) take a
//! global write lock that every flush holds for reading while it waits for the disk, so under
//! group commit each turn waited for a whole flush before it could even write, and the
//! end-to-end benchmark fell to a third. [`Store::apply`] instead writes its operations first
//! as one journal record (a single insert, which sled applies atomically), then applies them
//! one by one, then removes the record. sled's log is recovered as a prefix of the writes made
//! (in log order), so after a crash either the record is absent and none of its operations
//! happened, or it is present and [`SledStore::open`] applies it again (every operation is a
//! plain put or delete, so applying twice is harmless). [`Store::flush`] calls sled's flush,
//! which survives a crashed or killed process; sled does not promise survival of a power cut.

use super::{DueEntry, Store, StoreError, Write, codec, time_key};
use crate::engine::UserState;
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use jiff::Timestamp;
use std::path::{Path, PathBuf};

/// A sled database in a data directory.
pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    meta: sled::Tree,
    due: sled::Tree,
    pipe: sled::Tree,
}

/// The `pipe` tree's prefixes.
const OUTBOX: u8 = b'o';
const EVENTS: u8 = b'e';
const INBOX: u8 = b'i';
const HIGH_WATER: u8 = b'h';
const JOURNAL: u8 = b'j';

/// The trees an operation may touch, by number in the journal.
const USERS: u8 = 0;
const META: u8 = 1;
const DUE: u8 = 2;
const PIPE: u8 = 3;

/// One put (`Some`) or delete (`None`) in a tree.
type Op = (u8, Vec<u8>, Option<Vec<u8>>);

/// A journal record: each operation as tree, key length, key, then a value flag, length and
/// value (lengths big-endian `u32`).
fn encode_ops(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tree, k, v) in ops {
        out.push(*tree);
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match v {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

fn decode_ops(mut b: &[u8]) -> Option<Vec<Op>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Some(h)
    }
    fn len(b: &mut &[u8]) -> Option<usize> {
        Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?) as usize)
    }
    let mut ops = Vec::new();
    while !b.is_empty() {
        let tree = take(&mut b, 1)?[0];
        let n = len(&mut b)?;
        let k = take(&mut b, n)?.to_vec();
        let v = match take(&mut b, 1)?[0] {
            1 => {
                let n = len(&mut b)?;
                Some(take(&mut b, n)?.to_vec())
            }
            _ => None,
        };
        ops.push((tree, k, v));
    }
    Some(ops)
}

fn pkey(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn corrupt(k: &[u8], e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(k).into_owned(),
        reason: codec::json_error(&e),
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
        let pipe = db.open_tree("pipe").map_err(io)?;
        let store = SledStore {
            db,
            users,
            meta,
            due,
            pipe,
        };
        store.replay_journal()?;
        Ok(store)
    }
}

impl SledStore {
    fn tree(&self, n: u8) -> &sled::Tree {
        match n {
            USERS => &self.users,
            META => &self.meta,
            DUE => &self.due,
            _ => &self.pipe,
        }
    }

    /// Applies operations all together or not at all (see the module's documentation).
    fn journaled(&self, ops: &[Op]) -> Result<(), StoreError> {
        let id = self.db.generate_id().map_err(io)?;
        let record = pkey(JOURNAL, &id.to_be_bytes());
        self.pipe.insert(&record, encode_ops(ops)).map_err(io)?;
        self.run(ops)?;
        self.pipe.remove(&record).map_err(io)?;
        Ok(())
    }

    fn run(&self, ops: &[Op]) -> Result<(), StoreError> {
        for (tree, k, v) in ops {
            let t = self.tree(*tree);
            match v {
                Some(v) => t.insert(k.as_slice(), v.as_slice()).map(|_| ()),
                None => t.remove(k.as_slice()).map(|_| ()),
            }
            .map_err(io)?;
        }
        Ok(())
    }

    /// Finishes the writes a crash interrupted: every journal record left is applied again
    /// and removed.
    fn replay_journal(&self) -> Result<(), StoreError> {
        let mut replayed = 0;
        for kv in self.pipe.scan_prefix([JOURNAL]) {
            let (k, v) = kv.map_err(io)?;
            let ops = decode_ops(&v).ok_or_else(|| StoreError::Corrupt {
                key: "a journal record".into(),
                reason: "it could not be decoded".into(),
            })?;
            self.run(&ops)?;
            self.pipe.remove(k).map_err(io)?;
            replayed += 1;
        }
        if replayed > 0 {
            self.db.flush().map_err(io)?;
            tracing::info!(replayed, "finished writes interrupted by a crash");
        }
        Ok(())
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
            let e: DueEntry = serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?;
            out.push(e);
        }
        Ok(out)
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        match self.due.first().map_err(io)? {
            Some((k, v)) => {
                let e: DueEntry = serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?;
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
        let mut ops: Vec<Op> = Vec::new();
        for k in &w.delete_users {
            ops.push((USERS, k.as_bytes().to_vec(), None));
        }
        for u in &w.users {
            ops.push((USERS, u.user.as_bytes().to_vec(), Some(codec::encode(u))));
        }
        for (k, v) in &w.meta {
            ops.push((META, k.as_bytes().to_vec(), v.clone()));
        }
        for e in &w.due_delete {
            ops.push((DUE, e.key(), None));
        }
        for e in &w.due_put {
            let v = serde_json::to_vec(e).expect("a due entry always serialises");
            ops.push((DUE, e.key(), Some(v)));
        }
        for e in &w.outbox {
            let v = serde_json::to_vec(e).expect("an outbox entry always serialises");
            ops.push((PIPE, pkey(OUTBOX, &e.key()), Some(v)));
        }
        for (id, at) in &w.events {
            ops.push((
                PIPE,
                pkey(EVENTS, id.as_bytes()),
                Some(time_key(*at).to_vec()),
            ));
        }
        for k in &w.inbox_done {
            ops.push((PIPE, pkey(INBOX, k), None));
        }
        self.journaled(&ops)
    }

    fn event_seen(&self, event: &str) -> Result<bool, StoreError> {
        self.pipe
            .contains_key(pkey(EVENTS, event.as_bytes()))
            .map_err(io)
    }

    fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError> {
        let cut = time_key(before);
        let mut gone = 0;
        for kv in self.pipe.scan_prefix([EVENTS]) {
            let (k, v) = kv.map_err(io)?;
            if v.as_ref() < cut.as_slice() {
                self.pipe.remove(k).map_err(io)?;
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
        for kv in self.pipe.scan_prefix([OUTBOX]) {
            let (k, v) = kv.map_err(io)?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?);
        }
        Ok(out)
    }

    fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let v = serde_json::to_vec(entry).expect("an outbox entry always serialises");
        self.pipe
            .insert(pkey(OUTBOX, &entry.key()), v)
            .map_err(io)?;
        Ok(())
    }

    fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        self.pipe
            .remove(pkey(OUTBOX, &id.to_be_bytes()))
            .map_err(io)?;
        Ok(())
    }

    fn inbox_append(
        &self,
        source: &str,
        high_water: u64,
        entries: &[InboxEntry],
    ) -> Result<(), StoreError> {
        // The entries first, the mark last: the log is recovered as a prefix, so a mark that
        // survives a crash comes with every entry it covers (no journal record needed).
        for e in entries {
            let v = serde_json::to_vec(e).expect("an inbox entry always serialises");
            self.pipe.insert(pkey(INBOX, &e.key()), v).map_err(io)?;
        }
        self.pipe
            .insert(
                pkey(HIGH_WATER, source.as_bytes()),
                high_water.to_be_bytes().to_vec(),
            )
            .map_err(io)?;
        Ok(())
    }

    fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError> {
        Ok(self
            .pipe
            .get(pkey(HIGH_WATER, source.as_bytes()))
            .map_err(io)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError> {
        let prefix = pkey(INBOX, &crate::inbox::key(source, 0)[..source.len() + 1]);
        let mut out = Vec::new();
        for kv in self.pipe.scan_prefix(&prefix) {
            let (k, v) = kv.map_err(io)?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_round_trips() {
        let ops: Vec<Op> = vec![
            (USERS, b"t:1".to_vec(), Some(b"{}".to_vec())),
            (PIPE, vec![OUTBOX, 0, 1], None),
            (META, Vec::new(), Some(Vec::new())),
        ];
        assert_eq!(decode_ops(&encode_ops(&ops)), Some(ops));
        assert_eq!(decode_ops(&[USERS, 0, 0, 0, 9, b'x']), None, "a cut record");
    }

    #[test]
    fn a_write_a_crash_interrupted_is_finished_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            // As if the process died after writing the journal record and before applying it.
            let ops: Vec<Op> = vec![
                (META, b"k".to_vec(), Some(b"v".to_vec())),
                (PIPE, pkey(EVENTS, b"tg:7"), Some(vec![0; 8])),
            ];
            s.pipe
                .insert(pkey(JOURNAL, &1u64.to_be_bytes()), encode_ops(&ops))
                .unwrap();
            s.db.flush().unwrap();
        }
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(s.get_meta("k").unwrap(), Some(b"v".to_vec()));
        assert!(s.event_seen("tg:7").unwrap());
        assert_eq!(
            s.pipe.scan_prefix([JOURNAL]).count(),
            0,
            "the record is gone"
        );
    }
}
