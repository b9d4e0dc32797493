//! Encryption at rest with a key per person, so forgetting someone is destroying their key.
//!
//! What protects what:
//! - Everything a person wrote or is sent (their record: reflections, notes, own actions,
//!   answers, profession, name; their queued events and queued replies) is sealed with
//!   XChaCha20-Poly1305 under **their own key** before it reaches sled. A sealed value is
//!   `0xE1`, the key's id (8 bytes), a random 24-byte nonce, then the ciphertext; the value's
//!   store key is bound in as associated data, so a value moved to another key does not open.
//! - The person keys live in the **key file** (`DATA/keys`), each record sealed under the
//!   **store key**. New keys are appended; forgetting a person rewrites the file in full
//!   without theirs (the file is small: about 100 bytes a person), and does the same to the
//!   key file beside every backup (`lensbot-….keys`). Old copies of a forgotten person's
//!   ciphertext (in sled's log until it reclaims the segment, in backups) then open nowhere.
//! - The store key is 32 random bytes in `DATA/store.key` (generated at first start, mode
//!   0600), or in the file `LENSBOT_STORE_KEY_FILE` names. Whoever holds the store key and a
//!   key file can read the records those keys cover: keep a copy of the store key apart from
//!   the backups (without it no backup can be restored).
//!
//! - Over PostgreSQL ([`Vault::in_table`]) the key records live in a table instead of a file:
//!   a new key waits in [`Vault::take_new`] until the store inserts it in the same transaction
//!   as the first value sealed with it, and a key another process made is learnt on first use
//!   ([`Vault::learn`]).
//!
//! What this does not protect: a running bot (the operator can read everything it can), keys
//! and identifiers (`telegram:123`) which stay in the clear, and blocks of a deleted key file
//! the file system has not reused yet.

use super::StoreError;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload, rand_core::RngCore};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

/// The first byte of a sealed value.
pub const SEALED: u8 = 0xE1;
/// The first bytes of a key file.
const HEADER: &[u8; 8] = b"LBKEYS1\n";
/// Associated data of every key record: a record is only a key record.
const RECORD_AAD: &[u8] = b"lensbot key record";
/// The environment variable naming a store key file the operator provides.
pub const KEY_FILE_ENV: &str = "LENSBOT_STORE_KEY_FILE";
const NONCE: usize = 24;

/// Why a sealed value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseal {
    /// Its key is not in the key file: its person was forgotten (or the key file is not the
    /// one that goes with this store).
    NoKey,
    /// The bytes were damaged (or it is not a sealed value).
    Damaged,
}

/// One person's key.
struct PersonKey {
    user: String,
    key: [u8; 32],
    cipher: XChaCha20Poly1305,
}

/// Person keys by id and by person.
#[derive(Default)]
struct Keys {
    by_id: HashMap<u64, PersonKey>,
    by_user: HashMap<String, u64>,
}

impl Keys {
    fn insert(&mut self, id: u64, user: String, key: [u8; 32]) {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&key));
        self.by_user.insert(user.clone(), id);
        self.by_id.insert(id, PersonKey { user, key, cipher });
    }
}

/// The store key, read or made.
pub struct StoreKey(XChaCha20Poly1305);

impl StoreKey {
    /// Reads the store key: the file `LENSBOT_STORE_KEY_FILE` names, else `DATA/store.key`,
    /// made (32 random bytes, hex, mode 0600) only when the store has no key file yet.
    pub fn load(data: &Path) -> Result<StoreKey, StoreError> {
        let (path, provided) = match std::env::var_os(KEY_FILE_ENV) {
            Some(p) if !p.is_empty() => (PathBuf::from(p), true),
            _ => (data.join("store.key"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(text.trim())
                .map(|k| StoreKey(XChaCha20Poly1305::new(&k)))
                .ok_or_else(|| {
                    StoreError::Io(format!(
                        "the store key {} is not 64 hexadecimal characters",
                        path.display()
                    ))
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !provided => {
                if data.join("keys").exists() {
                    return Err(StoreError::Io(format!(
                        "the store key {} is missing but {} exists: put the store key back (or set {KEY_FILE_ENV} to its file); without it nothing in this store can be read",
                        path.display(),
                        data.join("keys").display()
                    )));
                }
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                write_new_secret(&path, format!("{}\n", hex(&key)).as_bytes())?;
                tracing::warn!(
                    path = %path.display(),
                    "generated a new store key: keep a copy somewhere safe, apart from the backups; without it no backup can be restored"
                );
                Ok(StoreKey(XChaCha20Poly1305::new(&key)))
            }
            Err(e) => Err(StoreError::Io(format!(
                "cannot read the store key {}: {e}",
                path.display()
            ))),
        }
    }

    /// A store key from its 32 bytes (tests, tools).
    pub fn from_bytes(key: [u8; 32]) -> StoreKey {
        StoreKey(XChaCha20Poly1305::new(Key::from_slice(&key)))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_key(s: &str) -> Option<Key> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(*Key::from_slice(&out))
}

/// Creates a file only its owner can read, and makes it durable.
fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Io(format!("cannot write {}: {e}", path.display()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    sync_dir(path);
    Ok(())
}

/// Makes a rename or a new file in a directory durable (best effort: not every file system
/// lets a directory be opened).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// Seals one key record under the store key.
fn seal_record(store: &StoreKey, id: u64, key: &[u8; 32], user: &str) -> Vec<u8> {
    let mut plain = Vec::with_capacity(40 + user.len());
    plain.extend_from_slice(&id.to_be_bytes());
    plain.extend_from_slice(key);
    plain.extend_from_slice(user.as_bytes());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = store
        .0
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: RECORD_AAD,
            },
        )
        .expect("sealing a key record cannot fail");
    let mut out = Vec::with_capacity(4 + NONCE + ct.len());
    out.extend_from_slice(&((NONCE + ct.len()) as u32).to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Reads a key file's records; a damaged record or a wrong store key is an error, a record cut
/// short at the end (a crash while appending) is dropped.
fn read_material(store: &StoreKey, bytes: &[u8], what: &str) -> Result<Keys, StoreError> {
    let bad = |why: &str| StoreError::Io(format!("{what} {why}"));
    if bytes.is_empty() {
        return Ok(Keys::default());
    }
    let Some(mut rest) = bytes.strip_prefix(HEADER.as_slice()) else {
        return Err(bad("is not a lensbot key file"));
    };
    let mut keys = Keys::default();
    while !rest.is_empty() {
        if rest.len() < 4 {
            tracing::warn!(
                "{what} ends with a record cut short (a crash while writing it): ignored"
            );
            break;
        }
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + n {
            tracing::warn!(
                "{what} ends with a record cut short (a crash while writing it): ignored"
            );
            break;
        }
        if n < NONCE {
            return Err(bad("is damaged"));
        }
        let body = &rest[4..4 + n];
        rest = &rest[4 + n..];
        let plain = store
            .0
            .decrypt(
                XNonce::from_slice(&body[..NONCE]),
                Payload {
                    msg: &body[NONCE..],
                    aad: RECORD_AAD,
                },
            )
            .map_err(|_| {
                bad("does not open with this store key: the key file is damaged, or the store key is not the one it was written with")
            })?;
        if plain.len() < 40 {
            return Err(bad("is damaged"));
        }
        let id = u64::from_be_bytes(plain[..8].try_into().expect("eight bytes"));
        let key: [u8; 32] = plain[8..40].try_into().expect("32 bytes");
        let user = String::from_utf8(plain[40..].to_vec()).map_err(|_| bad("is damaged"))?;
        keys.insert(id, user, key);
    }
    Ok(keys)
}

/// Writes a key file in full: a temporary file, made durable, renamed over the old one.
fn rewrite(store: &StoreKey, path: &Path, keys: &Keys) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Io(format!("cannot write {}: {e}", path.display()));
    let mut bytes = HEADER.to_vec();
    let mut ids: Vec<&u64> = keys.by_id.keys().collect();
    ids.sort();
    for id in ids {
        let k = &keys.by_id[id];
        bytes.extend_from_slice(&seal_record(store, *id, &k.key, &k.user));
    }
    let tmp = path.with_extension("keys-tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    sync_dir(path);
    Ok(())
}

/// A key made since the store last saved the new ones (a table-backed vault): its id, its
/// person, and its record sealed under the store key.
pub struct NewKey {
    /// The key's id (the first bytes of every value sealed with it).
    pub id: u64,
    /// Whose key it is.
    pub person: String,
    /// The record, sealed under the store key ([`Vault::learn`] reads it back).
    pub record: Vec<u8>,
}

/// The person keys of a store, with the store key that protects them.
pub struct Vault {
    store_key: StoreKey,
    path: PathBuf,
    backups: PathBuf,
    keys: RwLock<Keys>,
    /// The key file, open for appending new keys; `None` when the keys live in a table.
    file: Mutex<Option<std::fs::File>>,
    /// Keys made and not yet saved (table-backed only).
    new: Mutex<Vec<NewKey>>,
    /// A key was appended since the last [`Vault::sync`].
    dirty: AtomicBool,
    /// Held while key files beside backups are written or rewritten, so a backup's key file
    /// cannot be written with a key a forget is destroying.
    backup_files: Mutex<()>,
}

impl Vault {
    /// Opens the key file `DATA/keys` (made when absent) under the store key; backups' key
    /// files live in `backups`.
    pub fn open(data: &Path, store_key: StoreKey, backups: PathBuf) -> Result<Vault, StoreError> {
        let path = data.join("keys");
        let io = |e: std::io::Error| StoreError::Io(format!("cannot open {}: {e}", path.display()));
        let keys = match std::fs::read(&path) {
            Ok(b) => read_material(&store_key, &b, &format!("the key file {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                rewrite(&store_key, &path, &Keys::default())?;
                Keys::default()
            }
            Err(e) => return Err(io(e)),
        };
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Vault {
            store_key,
            path,
            backups,
            keys: RwLock::new(keys),
            file: Mutex::new(Some(file)),
            new: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(false),
            backup_files: Mutex::new(()),
        })
    }

    /// A vault whose key records live in a table (PostgreSQL): `records` are the rows read at
    /// start. Nothing is written to disk by the vault; the store saves [`Vault::take_new`]
    /// with its writes and deletes a forgotten person's rows itself.
    pub fn in_table(store_key: StoreKey, records: &[Vec<u8>]) -> Result<Vault, StoreError> {
        let mut bytes = HEADER.to_vec();
        for r in records {
            bytes.extend_from_slice(r);
        }
        let keys = read_material(&store_key, &bytes, "the key table")?;
        Ok(Vault {
            store_key,
            path: PathBuf::new(),
            backups: PathBuf::new(),
            keys: RwLock::new(keys),
            file: Mutex::new(None),
            new: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(false),
            backup_files: Mutex::new(()),
        })
    }

    /// The keys made since the last call (table-backed): the store inserts them in the same
    /// transaction as the values sealed with them, and gives them back with
    /// [`Vault::keep_new`] when that transaction fails.
    pub fn take_new(&self) -> Vec<NewKey> {
        std::mem::take(&mut *self.new.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Gives back keys [`Vault::take_new`] handed out whose transaction failed.
    pub fn keep_new(&self, keys: Vec<NewKey>) {
        let mut new = self.new.lock().unwrap_or_else(|p| p.into_inner());
        let later = std::mem::take(&mut *new);
        *new = keys;
        new.extend(later);
    }

    /// Learns a key record another process saved (a table-backed vault meeting a value sealed
    /// with a key it has not seen).
    pub fn learn(&self, record: &[u8]) -> Result<(), StoreError> {
        let mut bytes = HEADER.to_vec();
        bytes.extend_from_slice(record);
        let found = read_material(&self.store_key, &bytes, "a key record")?;
        let mut keys = self.write();
        for (id, k) in found.by_id {
            if !keys.by_id.contains_key(&id) {
                keys.insert(id, k.user, k.key);
            }
        }
        Ok(())
    }

    /// Forgets a person's keys in memory only (a table-backed vault, after the store deleted
    /// their rows; or another process's news of a forget).
    pub fn drop_person(&self, user: &str) {
        let mut keys = self.write();
        keys.by_user.remove(user);
        keys.by_id.retain(|_, k| k.user != user);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// How many person keys the store holds.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    /// Whether the store holds no person keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a person has a key.
    pub fn has_key(&self, user: &str) -> bool {
        self.read().by_user.contains_key(user)
    }

    /// The people who have keys.
    pub fn people(&self) -> Vec<String> {
        self.read().by_user.keys().cloned().collect()
    }

    /// A person's key id, made (and appended to the key file) when they have none yet.
    fn key_id(&self, owner: &str) -> Result<u64, StoreError> {
        if let Some(id) = self.read().by_user.get(owner) {
            return Ok(*id);
        }
        let mut keys = self.write();
        if let Some(id) = keys.by_user.get(owner) {
            return Ok(*id);
        }
        let mut id = OsRng.next_u64();
        while id == 0 || keys.by_id.contains_key(&id) {
            id = OsRng.next_u64();
        }
        let key: [u8; 32] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
        // Appended (into the page cache, so a killed process keeps it) before any value sealed
        // with it exists; made durable by the next [`Vault::sync`], which the store runs before
        // its own flush.
        let record = seal_record(&self.store_key, id, &key, owner);
        match self.file.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(file) => {
                file.write_all(&record).map_err(|e| {
                    StoreError::Io(format!("cannot write to {}: {e}", self.path.display()))
                })?;
                self.dirty.store(true, Ordering::Release);
            }
            None => self
                .new
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(NewKey {
                    id,
                    person: owner.to_string(),
                    record,
                }),
        }
        keys.insert(id, owner.to_string(), key);
        Ok(id)
    }

    /// Seals `plain` under `owner`'s key (made when they have none), bound to `aad` (the
    /// value's store key).
    pub fn seal(&self, owner: &str, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let id = self.key_id(owner)?;
        let keys = self.read();
        let Some(k) = keys.by_id.get(&id) else {
            return Err(StoreError::Io(format!(
                "the key of {owner} was forgotten while sealing"
            )));
        };
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = k
            .cipher
            .encrypt(&nonce, Payload { msg: plain, aad })
            .expect("sealing cannot fail");
        let mut out = Vec::with_capacity(1 + 8 + NONCE + ct.len());
        out.push(SEALED);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value.
    pub fn unseal(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unseal> {
        open_with(&self.read(), aad, sealed)
    }

    /// Makes appended keys durable (the store calls it before flushing sled).
    pub fn sync(&self) -> Result<(), StoreError> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            let f = self.file.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = f.as_ref()
                && let Err(e) = f.sync_data()
            {
                self.dirty.store(true, Ordering::Release);
                return Err(StoreError::Io(format!(
                    "cannot make {} durable: {e}",
                    self.path.display()
                )));
            }
        }
        Ok(())
    }

    /// Writes the key file a backup of `people` needs (durably, replacing any old one).
    pub fn write_material(&self, people: &[String], path: &Path) -> Result<(), StoreError> {
        let _files = self.backup_files.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = self.material(people);
        let keys = read_material(&self.store_key, &bytes, "a new key file")?;
        rewrite(&self.store_key, path, &keys)
    }

    /// The key material a backup of `people` needs, sealed under the store key.
    pub fn material(&self, people: &[String]) -> Vec<u8> {
        let keys = self.read();
        let mut out = HEADER.to_vec();
        for p in people {
            if let Some(id) = keys.by_user.get(p)
                && let Some(k) = keys.by_id.get(id)
            {
                out.extend_from_slice(&seal_record(&self.store_key, *id, &k.key, &k.user));
            }
        }
        out
    }

    /// Reads a backup's key material with this store's key (for a restore).
    pub fn read_material(&self, bytes: &[u8], what: &str) -> Result<Material, StoreError> {
        Ok(Material(read_material(&self.store_key, bytes, what)?))
    }

    /// Destroys a person's key: the key file is rewritten in full without it, then the key
    /// file beside every backup. Returns how many backup key files changed. Call it only
    /// after the person's records are deleted and that deletion is durable.
    pub fn forget(&self, user: &str) -> Result<usize, StoreError> {
        let _files = self.backup_files.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut keys = self.write();
            if let Some(id) = keys.by_user.remove(user) {
                keys.by_id.remove(&id);
            }
            // Every key of theirs, should there be more than one.
            keys.by_id.retain(|_, k| k.user != user);
            // Hold the append handle so no key is appended to the file being replaced.
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            if file.is_some() {
                rewrite(&self.store_key, &self.path, &keys)?;
                *file = Some(
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(&self.path)
                        .map_err(|e| {
                            StoreError::Io(format!("cannot open {}: {e}", self.path.display()))
                        })?,
                );
                self.dirty.store(false, Ordering::Release);
            }
        }
        if self.backups.as_os_str().is_empty() {
            return Ok(0);
        }
        let mut changed = 0;
        for path in backup_key_files(&self.backups)? {
            let what = format!("the backup key file {}", path.display());
            let bytes = std::fs::read(&path)
                .map_err(|e| StoreError::Io(format!("cannot read {}: {e}", path.display())))?;
            let mut keys = read_material(&self.store_key, &bytes, &what)?;
            if keys.by_user.contains_key(user) || keys.by_id.values().any(|k| k.user == user) {
                keys.by_user.remove(user);
                keys.by_id.retain(|_, k| k.user != user);
                rewrite(&self.store_key, &path, &keys)?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

/// The id of the key a sealed value was sealed with (`None` when it is not a sealed value).
pub fn key_id_of(sealed: &[u8]) -> Option<u64> {
    match sealed {
        [SEALED, rest @ ..] if rest.len() >= 8 => {
            Some(u64::from_be_bytes(rest[..8].try_into().ok()?))
        }
        _ => None,
    }
}

/// The key files beside backups in a folder (none when the folder does not exist).
pub fn backup_key_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "keys"))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::Io(format!(
            "cannot list the backups in {}: {e}",
            dir.display()
        ))),
    }
}

/// A backup's person keys, for restoring it.
pub struct Material(Keys);

impl Material {
    /// Opens a sealed value from the backup.
    pub fn unseal(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unseal> {
        open_with(&self.0, aad, sealed)
    }
}

fn open_with(keys: &Keys, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unseal> {
    if sealed.len() < 1 + 8 + NONCE + 16 || sealed[0] != SEALED {
        return Err(Unseal::Damaged);
    }
    let id = u64::from_be_bytes(sealed[1..9].try_into().expect("eight bytes"));
    let Some(k) = keys.by_id.get(&id) else {
        return Err(Unseal::NoKey);
    };
    k.cipher
        .decrypt(
            XNonce::from_slice(&sealed[9..9 + NONCE]),
            Payload {
                msg: &sealed[9 + NONCE..],
                aad,
            },
        )
        .map_err(|_| Unseal::Damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(dir: &Path) -> Vault {
        Vault::open(dir, StoreKey::from_bytes([7; 32]), dir.join("backups")).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let s = v.seal("t:1", b"u:t:1", b"my reflection").unwrap();
        assert!(!s.windows(13).any(|w| w == b"my reflection"));
        assert_eq!(v.unseal(b"u:t:1", &s).unwrap(), b"my reflection");
        assert_eq!(
            v.unseal(b"u:t:2", &s),
            Err(Unseal::Damaged),
            "moved elsewhere"
        );
        let mut d = s.clone();
        d[30] ^= 1;
        assert_eq!(v.unseal(b"u:t:1", &d), Err(Unseal::Damaged));
        // Keys survive a reopen; a forgotten key is gone from the file too.
        v.sync().unwrap();
        drop(v);
        let v = vault(dir.path());
        assert_eq!(v.unseal(b"u:t:1", &s).unwrap(), b"my reflection");
        v.seal("t:2", b"x", b"y").unwrap();
        v.forget("t:1").unwrap();
        assert_eq!(v.unseal(b"u:t:1", &s), Err(Unseal::NoKey));
        drop(v);
        let v = vault(dir.path());
        assert_eq!(v.unseal(b"u:t:1", &s), Err(Unseal::NoKey));
        assert!(v.has_key("t:2"));
    }

    #[test]
    fn forgetting_rewrites_every_backup_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let s = v.seal("t:1", b"a", b"words").unwrap();
        v.seal("t:2", b"a", b"other").unwrap();
        std::fs::create_dir_all(dir.path().join("backups")).unwrap();
        let file = dir.path().join("backups/b1.keys");
        std::fs::write(&file, v.material(&["t:1".into(), "t:2".into()])).unwrap();
        let m = v
            .read_material(&std::fs::read(&file).unwrap(), "b1")
            .unwrap();
        assert_eq!(m.unseal(b"a", &s).unwrap(), b"words");
        assert_eq!(v.forget("t:1").unwrap(), 1);
        let m = v
            .read_material(&std::fs::read(&file).unwrap(), "b1")
            .unwrap();
        assert_eq!(m.unseal(b"a", &s), Err(Unseal::NoKey));
    }

    #[test]
    fn a_wrong_store_key_or_a_damaged_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        v.seal("t:1", b"a", b"words").unwrap();
        v.sync().unwrap();
        drop(v);
        let other = Vault::open(
            dir.path(),
            StoreKey::from_bytes([8; 32]),
            dir.path().join("backups"),
        );
        assert!(other.is_err());
        let path = dir.path().join("keys");
        let mut b = std::fs::read(&path).unwrap();
        let n = b.len();
        b[n - 3] ^= 0x40;
        std::fs::write(&path, &b).unwrap();
        assert!(Vault::open(dir.path(), StoreKey::from_bytes([7; 32]), dir.path().into()).is_err());
    }

    #[test]
    fn the_store_key_is_made_once_and_never_silently_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = std::fs::read_to_string({
            StoreKey::load(dir.path()).unwrap();
            dir.path().join("store.key")
        })
        .unwrap();
        StoreKey::load(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("store.key")).unwrap(),
            k1
        );
        std::fs::write(dir.path().join("keys"), HEADER).unwrap();
        std::fs::remove_file(dir.path().join("store.key")).unwrap();
        assert!(
            StoreKey::load(dir.path()).is_err(),
            "keys without their store key"
        );
    }
}
