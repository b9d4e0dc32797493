//! The default store: sled, embedded, one process per data directory, defending what it holds.
//!
//! Four trees: `users` (key → a person's record), `meta`, `due` (the reminder index, keyed by
//! big-endian time so "what is due" is a range scan) and `pipe`, which holds the event path's
//! records under a one-byte prefix: `o` the outbox (messages owed, by id), `e` the ledger of
//! applied event ids, `i` the inbox (events waiting for their turn), `h` each source's inbox
//! high-water mark, `j` the journal; and three single keys, `s` the write sequence (raised
//! before each write), `d` the writes made (raised after each) and `f` the store's format.
//!
//! **What each value carries.** Every value is wrapped with a checksum ([`super::envelope`]), so
//! a damaged record is found and isolated rather than parsed. A person's record, their queued
//! events and the replies owed to them are sealed with their own key ([`super::vault`]), so
//! forgetting them (destroying the key) leaves nothing readable in sled's log or in backups.
//!
//! **Knowing it came up whole.** Every write is numbered (the sequence is raised before the
//! write it numbers, the done mark after it) and counted; after each flush the number and counts go to a manifest
//! outside the sled directory, checked at open ([`super::integrity`]). A store that fails the
//! check keeps its manifest untouched until the operator accepts the damage, so a restart
//! cannot launder it. sled can panic on damaged files: opening catches that and reports it as
//! damage. A store written before all this is rebuilt into a new sled directory at its first
//! open (never rewritten in place, so no plain copy of anyone's words waits in the old log).
//!
//! **Atomic writes without sled transactions.** sled's transactions (and `apply_batch`) take a
//! global write lock that every flush holds for reading while it waits for the disk, so under
//! group commit each turn waited for a whole flush before it could even write, and the
//! end-to-end benchmark fell to a third. [`Store::apply`] instead writes its operations first
//! as one journal record (a single insert, which sled applies atomically), then applies them
//! one by one, then removes the record. sled's log is recovered as a prefix of the writes made
//! (in log order), so after a crash either the record is absent and none of its operations
//! happened, or it is present and [`SledStore::open`] applies it again (every operation is a
//! plain put or delete, so applying twice is harmless). [`Store::flush`] makes new person keys
//! durable, then calls sled's flush, which survives a crashed or killed process; sled does not
//! promise survival of a power cut.

mod rebuild;

use super::integrity::{self, Counts, Manifest, Report};
use super::vault::{self, StoreKey, Unseal, Vault};
use super::{DueEntry, Store, StoreError, Write, codec, envelope, time_key};
use crate::engine::UserState;
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use jiff::Timestamp;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

/// A sled database in a data directory.
pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    meta: sled::Tree,
    due: sled::Tree,
    pipe: sled::Tree,
    data: PathBuf,
    vault: Vault,
    /// Writes numbered so far.
    seq: AtomicU64,
    /// Records held: people, metadata, due entries.
    counts: [AtomicI64; 3],
    /// Every write holds it for reading; a flush takes it for writing for an instant, to read
    /// the sequence and the counts of one moment.
    gate: RwLock<()>,
    /// The sequence of the manifest this process last wrote.
    manifest_seq: Mutex<Option<u64>>,
    /// The manifest is not rewritten (the store failed its check and the damage is not
    /// accepted).
    frozen: AtomicBool,
    report: Report,
}

/// The `pipe` tree's prefixes.
const OUTBOX: u8 = b'o';
const EVENTS: u8 = b'e';
const INBOX: u8 = b'i';
const HIGH_WATER: u8 = b'h';
const JOURNAL: u8 = b'j';
/// The `pipe` tree's single keys.
const SEQ: &[u8] = b"s";
const DONE: &[u8] = b"d";
const FORMAT: &[u8] = b"f";
/// The store's format: 2 has checksums and sealed records.
const STORE_FORMAT: u64 = 2;

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

/// A key as the operator sees it in warnings and reports (never a value).
fn show(tree: u8, k: &[u8]) -> String {
    let name = match tree {
        USERS => return String::from_utf8_lossy(k).into_owned(),
        META => return format!("meta {}", String::from_utf8_lossy(k)),
        DUE => "due",
        _ => match k.first() {
            Some(&OUTBOX) => "outbox",
            Some(&INBOX) => "inbox",
            Some(&EVENTS) => "ledger",
            Some(&JOURNAL) => "journal",
            _ => "pipe",
        },
    };
    let printable: String = String::from_utf8_lossy(k)
        .chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    format!("{name} {printable}")
}

/// The associated data a sealed value is bound to: its tree and key.
fn aad(tree: u8, k: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(k.len() + 1);
    a.push(tree);
    a.extend_from_slice(k);
    a
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

fn corrupt(tree: u8, k: &[u8], reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: show(tree, k),
        reason: reason.into(),
    }
}

/// A panic's message, for reporting sled failing on damaged files.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, checking it against its manifest; a clear error
    /// when another process holds it or its files cannot be read. What the check found is in
    /// [`SledStore::integrity`]: the caller decides whether a damaged store is served.
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
        let store_key = StoreKey::load(dir)?;
        let vault = Vault::open(dir, store_key, dir.join("backups"))?;
        // A damaged manifest is a problem to report, not a store that cannot open.
        let (manifest, manifest_damage) = match integrity::read(dir) {
            Ok(m) => (m, None),
            Err(e) => (None, Some(e.to_string())),
        };
        rebuild::finish_rebuild(dir)?;
        let had_sled = dir.join("sled").join("conf").exists();
        let mut db = open_db(dir)?;
        let rebuilt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if rebuild::needs_rebuild(&db)? {
                rebuild::rebuild(&db, dir, &vault)?;
                Ok(true)
            } else {
                Ok(false)
            }
        }));
        let rebuilt = match rebuilt {
            Ok(r) => r?,
            Err(p) => {
                return Err(StoreError::Damaged(format!(
                    "sled failed while reading its files in {}/sled ({}): they are damaged",
                    dir.display(),
                    panic_message(p.as_ref())
                )));
            }
        };
        if rebuilt {
            drop(db);
            rebuild::swap_rebuilt(dir)?;
            db = open_db(dir)?;
        }
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            SledStore::check(db, dir, vault, manifest, had_sled, rebuilt)
        }));
        let opened = opened.map(|r| {
            r.map(|mut s| {
                if let Some(d) = manifest_damage {
                    s.report.problems.push(d);
                    s.frozen.store(true, Ordering::SeqCst);
                }
                s
            })
        });
        match opened {
            Ok(r) => r,
            Err(p) => Err(StoreError::Damaged(format!(
                "sled failed while reading its files in {}/sled ({}): they are damaged",
                dir.display(),
                panic_message(p.as_ref())
            ))),
        }
    }

    fn check(
        db: sled::Db,
        dir: &Path,
        vault: Vault,
        manifest: Option<Manifest>,
        had_sled: bool,
        upgraded: bool,
    ) -> Result<Self, StoreError> {
        let users = db.open_tree("users").map_err(io)?;
        let meta = db.open_tree("meta").map_err(io)?;
        let due = db.open_tree("due").map_err(io)?;
        let pipe = db.open_tree("pipe").map_err(io)?;
        let mut store = SledStore {
            db,
            users,
            meta,
            due,
            pipe,
            data: dir.to_path_buf(),
            vault,
            seq: AtomicU64::new(0),
            counts: Default::default(),
            gate: RwLock::new(()),
            manifest_seq: Mutex::new(None),
            frozen: AtomicBool::new(false),
            report: Report {
                manifest,
                upgraded,
                ..Report::default()
            },
        };
        store.replay_journal()?;
        let format = store.format()?;
        if format > STORE_FORMAT {
            return Err(StoreError::Io(format!(
                "the store in {} was written by a newer lensbot (store format {format}; this one reads {STORE_FORMAT}): upgrade lensbot",
                dir.display()
            )));
        }
        if format < STORE_FORMAT {
            // An empty store from before checksums (a rebuilt one has its format): mark it.
            store
                .pipe
                .insert(FORMAT, envelope::wrap(&STORE_FORMAT.to_be_bytes()))
                .map_err(io)?;
        }
        let seq = match store.pipe.get(SEQ).map_err(io)? {
            Some(v) => {
                u64_value(&v).ok_or_else(|| corrupt(PIPE, SEQ, "the write sequence is damaged"))?
            }
            None => 0,
        };
        // A store from before the done mark has none: its writes count as made.
        let done = match store.pipe.get(DONE).map_err(io)? {
            Some(v) => {
                u64_value(&v).ok_or_else(|| corrupt(PIPE, DONE, "the write sequence is damaged"))?
            }
            None => seq,
        };
        store.seq.store(seq, Ordering::SeqCst);
        store.report.seq = seq;
        store.report.done = done;
        let keyless = store.scan()?;
        store.report.compare();
        if manifest.is_some() && !had_sled {
            store.report.problems.push(format!(
                "the sled directory {}/sled is missing",
                dir.display()
            ));
        }
        if keyless > 0 {
            store.report.problems.push(format!(
                "{keyless} people's records have no key in {}/keys: the key file is damaged or not the one that goes with this store",
                dir.display()
            ));
        }
        if store.report.is_damaged() {
            store.frozen.store(true, Ordering::SeqCst);
        } else {
            store.write_manifest(seq, store.counts_now())?;
        }
        Ok(store)
    }

    /// What the check at open found.
    pub fn integrity(&self) -> &Report {
        &self.report
    }

    /// Accepts the store as it is (`--accept-damaged`): the manifest is rewritten to what it
    /// holds now, and later flushes keep it up to date again.
    pub fn accept_damage(&self) -> Result<(), StoreError> {
        self.frozen.store(false, Ordering::SeqCst);
        self.vault.sync()?;
        self.db.flush().map_err(io)?;
        let seq = self.seq.load(Ordering::SeqCst);
        self.write_manifest(seq, self.counts_now())
    }

    /// The store's person keys.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    fn format(&self) -> Result<u64, StoreError> {
        match self.pipe.get(FORMAT).map_err(io)? {
            None => Ok(0),
            Some(v) => {
                u64_value(&v).ok_or_else(|| corrupt(PIPE, FORMAT, "the store format is damaged"))
            }
        }
    }

    fn tree(&self, n: u8) -> &sled::Tree {
        match n {
            USERS => &self.users,
            META => &self.meta,
            DUE => &self.due,
            _ => &self.pipe,
        }
    }

    fn counts_now(&self) -> Counts {
        let c = |i: usize| self.counts[i].load(Ordering::SeqCst).max(0) as u64;
        Counts {
            users: c(0),
            meta: c(1),
            due: c(2),
        }
    }

    fn write_manifest(&self, seq: u64, counts: Counts) -> Result<(), StoreError> {
        if self.frozen.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut last = self.manifest_seq.lock().unwrap_or_else(|p| p.into_inner());
        // Nothing numbered since the last one this process wrote: nothing to say.
        if last.is_some_and(|l| seq <= l) {
            return Ok(());
        }
        integrity::write(
            &self.data,
            &Manifest {
                format: 1,
                seq,
                counts,
            },
        )?;
        *last = Some(seq);
        Ok(())
    }

    /// Numbers `n` writes: the sequence is raised in sled *before* the writes happen, so a
    /// write that survives a crash is always covered by the sequence that survives. Returns
    /// the last number, for [`SledStore::done`] once the writes are made.
    fn number(&self, n: usize) -> Result<u64, StoreError> {
        let last = self.seq.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        self.raise(SEQ, last)?;
        Ok(last)
    }

    /// Records writes numbered up to `last` as made: the mark comes *after* them, so a lost
    /// write (even one that replaced a value and changed no count) takes its mark with it.
    fn done(&self, last: u64) -> Result<(), StoreError> {
        self.raise(DONE, last)
    }

    fn raise(&self, key: &[u8], to: u64) -> Result<(), StoreError> {
        self.pipe
            .fetch_and_update(key, |old| {
                let old = old.and_then(u64_value).unwrap_or(0);
                Some(envelope::wrap(&old.max(to).to_be_bytes()))
            })
            .map_err(io)?;
        Ok(())
    }

    /// Applies operations all together or not at all (see the module's documentation).
    fn journaled(&self, ops: &[Op]) -> Result<(), StoreError> {
        let _writing = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let last = self.number(ops.len())?;
        if ops.len() == 1 {
            self.run(ops)?;
            return self.done(last);
        }
        let id = self.db.generate_id().map_err(io)?;
        let record = pkey(JOURNAL, &id.to_be_bytes());
        self.pipe
            .insert(&record, envelope::wrap(&encode_ops(ops)))
            .map_err(io)?;
        self.run(ops)?;
        self.pipe.remove(&record).map_err(io)?;
        self.done(last)
    }

    /// Runs operations, keeping the counts.
    fn run(&self, ops: &[Op]) -> Result<(), StoreError> {
        for (tree, k, v) in ops {
            let t = self.tree(*tree);
            let (old, delta) = match v {
                Some(v) => {
                    let old = t.insert(k.as_slice(), v.as_slice()).map_err(io)?;
                    let d = if old.is_none() { 1 } else { 0 };
                    (old, d)
                }
                None => {
                    let old = t.remove(k.as_slice()).map_err(io)?;
                    let d = if old.is_some() { -1 } else { 0 };
                    (old, d)
                }
            };
            drop(old);
            if (*tree as usize) < self.counts.len() && delta != 0 {
                self.counts[*tree as usize].fetch_add(delta, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    /// Finishes the writes a crash interrupted: every journal record left is applied again
    /// and removed. Runs before the counts exist (the scan after it counts).
    fn replay_journal(&self) -> Result<(), StoreError> {
        let mut replayed = 0;
        for kv in self.pipe.scan_prefix([JOURNAL]) {
            let (k, v) = kv.map_err(io)?;
            // A store from before checksums may hold a bare record.
            let body = envelope::unwrap(&v).unwrap_or(&v);
            let ops = decode_ops(body).ok_or_else(|| StoreError::Corrupt {
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

    /// Counts every tree and checks every value's checksum (and that each sealed value's key
    /// exists). Unreadable records are listed; queued events and replies of forgotten people
    /// (their key is gone) are removed. Returns how many people's records have no key.
    fn scan(&mut self) -> Result<usize, StoreError> {
        let mut keyless = 0;
        let mut counts = [0i64; 3];
        let mut leftovers = Vec::new();
        for tree in [USERS, META, DUE, PIPE] {
            for kv in self.tree(tree).iter() {
                let (k, v) = kv.map_err(io)?;
                if (tree as usize) < counts.len() {
                    counts[tree as usize] += 1;
                }
                let body = match envelope::unwrap(&v) {
                    Ok(b) => b,
                    Err(d) => {
                        self.report.unreadable.push((show(tree, &k), d.to_string()));
                        continue;
                    }
                };
                if body.first() == Some(&vault::SEALED) {
                    match self.vault.unseal(&aad(tree, &k), body) {
                        Ok(_) => {}
                        Err(Unseal::NoKey) if tree == PIPE => leftovers.push(k.to_vec()),
                        Err(Unseal::NoKey) => {
                            keyless += usize::from(tree == USERS);
                            self.report
                                .unreadable
                                .push((show(tree, &k), "its key is missing".into()))
                        }
                        Err(Unseal::Damaged) => self
                            .report
                            .unreadable
                            .push((show(tree, &k), "it does not decrypt (damaged)".into())),
                    }
                }
            }
        }
        for k in &leftovers {
            self.pipe.remove(k.as_slice()).map_err(io)?;
        }
        if !leftovers.is_empty() {
            tracing::info!(
                removed = leftovers.len(),
                "removed queued messages of forgotten people"
            );
        }
        for (i, n) in counts.iter().enumerate() {
            self.counts[i].store(*n, Ordering::SeqCst);
        }
        self.report.counts = self.counts_now();
        for (k, why) in &self.report.unreadable {
            tracing::warn!(key = %k, "a stored record cannot be read ({why}): it is skipped");
        }
        Ok(keyless)
    }

    /// A value's body: checked, and opened when sealed.
    fn read_value<'a>(&self, tree: u8, k: &[u8], v: &'a [u8]) -> Result<Cow<'a, [u8]>, StoreError> {
        let body = envelope::unwrap(v).map_err(|d| corrupt(tree, k, d.to_string()))?;
        if body.first() == Some(&vault::SEALED) {
            match self.vault.unseal(&aad(tree, k), body) {
                Ok(plain) => Ok(Cow::Owned(plain)),
                Err(Unseal::NoKey) => Err(corrupt(tree, k, "its key is missing")),
                Err(Unseal::Damaged) => Err(corrupt(tree, k, "it does not decrypt (damaged)")),
            }
        } else {
            Ok(Cow::Borrowed(body))
        }
    }

    /// Seals a body under `owner`'s key and wraps it.
    fn seal_body(
        &self,
        owner: &str,
        tree: u8,
        k: &[u8],
        body: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        Ok(envelope::wrap(&self.vault.seal(
            owner,
            &aad(tree, k),
            body,
        )?))
    }

    fn user_value(&self, state: &UserState) -> Result<Vec<u8>, StoreError> {
        let k = state.user.as_bytes();
        self.seal_body(&state.user, USERS, k, &codec::encode(state))
    }

    fn outbox_value(&self, k: &[u8], e: &OutboxEntry) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(e).expect("an outbox entry always serialises");
        match &e.person {
            Some(p) => self.seal_body(p, PIPE, k, &json),
            None => Ok(envelope::wrap(&json)),
        }
    }

    /// Reads every entry under a `pipe` prefix, skipping (with a warning) the damaged ones and
    /// removing those of forgotten people.
    fn scan_entries<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for kv in self.pipe.scan_prefix(prefix) {
            let (k, v) = kv.map_err(io)?;
            let body = match envelope::unwrap(&v) {
                Ok(b) => b,
                Err(d) => {
                    tracing::warn!(key = %show(PIPE, &k), "a queued entry cannot be read ({d}): skipped");
                    continue;
                }
            };
            let plain = if body.first() == Some(&vault::SEALED) {
                match self.vault.unseal(&aad(PIPE, &k), body) {
                    Ok(p) => Cow::Owned(p),
                    Err(Unseal::NoKey) => {
                        // Its person was forgotten: it can never be read again.
                        self.pipe.remove(&k).map_err(io)?;
                        continue;
                    }
                    Err(Unseal::Damaged) => {
                        tracing::warn!(key = %show(PIPE, &k), "a queued entry does not decrypt: skipped");
                        continue;
                    }
                }
            } else {
                Cow::Borrowed(body)
            };
            match serde_json::from_slice(&plain) {
                Ok(e) => out.push(e),
                Err(e) => tracing::warn!(
                    key = %show(PIPE, &k),
                    "a queued entry cannot be read ({}): skipped",
                    codec::json_error(&e)
                ),
            }
        }
        Ok(out)
    }

    fn due_entry(&self, k: &[u8], v: &[u8]) -> Option<DueEntry> {
        let parsed = self
            .read_value(DUE, k, v)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if parsed.is_none() {
            tracing::warn!(key = %show(DUE, k), "a due entry cannot be read: skipped");
        }
        parsed
    }
}

/// A big-endian `u64` in a checked value.
fn u64_value(v: &[u8]) -> Option<u64> {
    let body = envelope::unwrap(v).ok()?;
    Some(u64::from_be_bytes(body.try_into().ok()?))
}

/// Opens sled itself, waiting out a lock a process that just stopped still holds.
fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    let mut attempts = 0;
    loop {
        let opened = std::panic::catch_unwind(|| sled::Config::new().path(dir.join("sled")).open());
        match opened {
            Ok(Ok(db)) => return Ok(db),
            Ok(Err(sled::Error::Io(io)))
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("lock") =>
            {
                attempts += 1;
                if attempts >= 20 {
                    return Err(StoreError::Locked(PathBuf::from(dir)));
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Ok(Err(e @ (sled::Error::Corruption { .. } | sled::Error::ReportableBug(_)))) => {
                return Err(StoreError::Damaged(format!(
                    "sled cannot read its files in {}/sled ({e})",
                    dir.display()
                )));
            }
            Ok(Err(e)) => {
                return Err(StoreError::Io(format!(
                    "cannot open the store in {}: {e}",
                    dir.display()
                )));
            }
            Err(p) => {
                return Err(StoreError::Damaged(format!(
                    "sled failed while opening its files in {}/sled ({}): they are damaged",
                    dir.display(),
                    panic_message(p.as_ref())
                )));
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for SledStore {
    async fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError> {
        match self.users.get(key.as_bytes()).map_err(io)? {
            Some(v) => {
                let body = self.read_value(USERS, key.as_bytes(), &v)?;
                codec::decode(key, &body).map(Some)
            }
            None => Ok(None),
        }
    }

    async fn put_user(&self, state: &UserState) -> Result<(), StoreError> {
        let v = self.user_value(state)?;
        self.journaled(&[(USERS, state.user.as_bytes().to_vec(), Some(v))])
    }

    async fn delete_user(&self, key: &str) -> Result<bool, StoreError> {
        if !self.users.contains_key(key.as_bytes()).map_err(io)? {
            return Ok(false);
        }
        self.journaled(&[(USERS, key.as_bytes().to_vec(), None)])?;
        Ok(true)
    }

    async fn users(&self) -> Result<Vec<String>, StoreError> {
        self.users
            .iter()
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(io)
            })
            .collect()
    }

    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.meta.get(key.as_bytes()).map_err(io)? {
            Some(v) => Ok(Some(
                self.read_value(META, key.as_bytes(), &v)?.into_owned(),
            )),
            None => Ok(None),
        }
    }

    async fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.journaled(&[(META, key.as_bytes().to_vec(), Some(envelope::wrap(value)))])
    }

    async fn meta_keys(&self) -> Result<Vec<String>, StoreError> {
        self.meta
            .iter()
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(io)
            })
            .collect()
    }

    async fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        let v = serde_json::to_vec(entry).expect("a due entry always serialises");
        self.journaled(&[(DUE, entry.key(), Some(envelope::wrap(&v)))])
    }

    async fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        self.journaled(&[(DUE, entry.key(), None)])
    }

    async fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError> {
        let end = (u64::from_be_bytes(time_key(until)) + 1).to_be_bytes();
        let mut out = Vec::new();
        for kv in self.due.range(..end.as_slice()) {
            let (k, v) = kv.map_err(io)?;
            out.extend(self.due_entry(&k, &v));
        }
        Ok(out)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        for kv in self.due.iter() {
            let (k, v) = kv.map_err(io)?;
            if let Some(e) = self.due_entry(&k, &v) {
                return Ok(Some(e.at));
            }
        }
        Ok(None)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // The sequence and counts of one moment: no write is half done while the gate is held.
        let (seq, counts) = {
            let _all = self.gate.write().unwrap_or_else(|p| p.into_inner());
            (self.seq.load(Ordering::SeqCst), self.counts_now())
        };
        super::blocking(|| {
            self.vault.sync()?;
            self.db.flush().map_err(io)?;
            self.write_manifest(seq, counts)
        })
    }

    async fn apply(&self, w: &Write) -> Result<(), StoreError> {
        let mut ops: Vec<Op> = Vec::new();
        for k in &w.delete_users {
            ops.push((USERS, k.as_bytes().to_vec(), None));
        }
        for u in &w.users {
            ops.push((USERS, u.user.as_bytes().to_vec(), Some(self.user_value(u)?)));
        }
        for (k, v) in &w.meta {
            ops.push((
                META,
                k.as_bytes().to_vec(),
                v.as_deref().map(envelope::wrap),
            ));
        }
        for e in &w.due_delete {
            ops.push((DUE, e.key(), None));
        }
        for e in &w.due_put {
            let v = serde_json::to_vec(e).expect("a due entry always serialises");
            ops.push((DUE, e.key(), Some(envelope::wrap(&v))));
        }
        for e in &w.outbox {
            let k = pkey(OUTBOX, &e.key());
            let v = self.outbox_value(&k, e)?;
            ops.push((PIPE, k, Some(v)));
        }
        for (id, at) in &w.events {
            ops.push((
                PIPE,
                pkey(EVENTS, id.as_bytes()),
                Some(envelope::wrap(&time_key(*at))),
            ));
        }
        for k in &w.inbox_done {
            ops.push((PIPE, pkey(INBOX, k), None));
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.journaled(&ops)
    }

    async fn event_seen(&self, event: &str) -> Result<bool, StoreError> {
        self.pipe
            .contains_key(pkey(EVENTS, event.as_bytes()))
            .map_err(io)
    }

    async fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError> {
        let cut = time_key(before);
        let mut gone = Vec::new();
        for kv in self.pipe.scan_prefix([EVENTS]) {
            let (k, v) = kv.map_err(io)?;
            // A damaged ledger entry goes too: it can only have been old.
            match envelope::unwrap(&v) {
                Ok(at) if at >= cut.as_slice() => {}
                _ => gone.push(k.to_vec()),
            }
        }
        let _writing = self.gate.read().unwrap_or_else(|p| p.into_inner());
        for k in &gone {
            self.pipe.remove(k.as_slice()).map_err(io)?;
        }
        Ok(gone.len())
    }

    async fn next_outbox_id(&self) -> Result<u64, StoreError> {
        // sled's ids only grow, across restarts too (it reserves them in blocks).
        self.db.generate_id().map_err(io)
    }

    async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.scan_entries(&[OUTBOX])
    }

    async fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let k = pkey(OUTBOX, &entry.key());
        let v = self.outbox_value(&k, entry)?;
        let _writing = self.gate.read().unwrap_or_else(|p| p.into_inner());
        self.pipe.insert(k, v).map_err(io)?;
        Ok(())
    }

    async fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        let _writing = self.gate.read().unwrap_or_else(|p| p.into_inner());
        self.pipe
            .remove(pkey(OUTBOX, &id.to_be_bytes()))
            .map_err(io)?;
        Ok(())
    }

    async fn inbox_append(
        &self,
        source: &str,
        high_water: u64,
        entries: &[InboxEntry],
    ) -> Result<(), StoreError> {
        let mut sealed = Vec::with_capacity(entries.len());
        for e in entries {
            let k = pkey(INBOX, &e.key());
            let v = serde_json::to_vec(e).expect("an inbox entry always serialises");
            sealed.push((self.seal_body(&e.queue, PIPE, &k, &v)?, k));
        }
        let _writing = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let last = self.number(1)?;
        // The entries first, the mark last: the log is recovered as a prefix, so a mark that
        // survives a crash comes with every entry it covers (no journal record needed).
        for (v, k) in sealed {
            self.pipe.insert(k, v).map_err(io)?;
        }
        self.pipe
            .insert(
                pkey(HIGH_WATER, source.as_bytes()),
                envelope::wrap(&high_water.to_be_bytes()),
            )
            .map_err(io)?;
        self.done(last)
    }

    async fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError> {
        Ok(self
            .pipe
            .get(pkey(HIGH_WATER, source.as_bytes()))
            .map_err(io)?
            .and_then(|v| u64_value(&v))
            .unwrap_or(0))
    }

    async fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError> {
        let prefix = pkey(INBOX, &crate::inbox::key(source, 0)[..source.len() + 1]);
        self.scan_entries(&prefix)
    }

    fn vault(&self) -> Option<&Vault> {
        Some(&self.vault)
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

    #[tokio::test]
    async fn a_write_a_crash_interrupted_is_finished_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            // As if the process died after writing the journal record and before applying it.
            let ops: Vec<Op> = vec![
                (META, b"k".to_vec(), Some(envelope::wrap(b"v"))),
                (PIPE, pkey(EVENTS, b"tg:7"), Some(envelope::wrap(&[0; 8]))),
            ];
            s.pipe
                .insert(
                    pkey(JOURNAL, &1u64.to_be_bytes()),
                    envelope::wrap(&encode_ops(&ops)),
                )
                .unwrap();
            s.db.flush().unwrap();
        }
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(s.get_meta("k").await.unwrap(), Some(b"v".to_vec()));
        assert!(s.event_seen("tg:7").await.unwrap());
        assert_eq!(
            s.pipe.scan_prefix([JOURNAL]).count(),
            0,
            "the record is gone"
        );
    }
}
