//! Backups: the whole store as versioned JSON lines, and back.
//!
//! ```text
//! {"lensbot_backup":1,"state_version":1,"created":"2026-01-05T09:00:00Z","users":2}
//! {"user":"telegram:1","value":{…the person's state…}}
//! {"meta":"key","hex":"…"}
//! ```
//!
//! The due index is not written: it is rebuilt from the people's reminders (and the group
//! challenges' next posts and prompts, kept as metadata) on restore, so a
//! backup is consistent even though it is read tree by tree. Values are written in the
//! current format and read through the same migrations as the store, so a backup made by an
//! older lensbot restores into a newer one. `lensbot backup` and `lensbot restore` open the
//! store themselves, so they refuse, clearly, while a running bot holds it; `lensbot serve`
//! writes its daily backups from inside the process instead.
//!
//! **Encrypted backups** (format 2, written by a store that encrypts at rest): each person's
//! record is sealed under their own key (`{"user":…,"sealed":"<base64>"}`) and the keys go in
//! a small key file beside the backup (`NAME.keys`, see [`crate::store::vault`]), sealed under
//! the store key. Forgetting a person rewrites every key file in the backup folder without
//! theirs, so their record in any backup opens nowhere again; a restore skips (and counts)
//! records whose key is gone. Restoring needs the store key of the store that wrote it.
//!
//! The daily backups ([`daily`]): one a UTC day, read back and counted as written, with a
//! sidecar of counts; which are kept is [`rotation`].
//!
//! A person's record that cannot be read (damaged, or written by a newer lensbot) is left out
//! and named in [`Counts::unreadable`]: everyone else is still backed up.

pub mod moving;
pub mod rotation;

use crate::store::vault::{Material, Unseal};
use crate::store::{DueEntry, Store, StoreError, codec};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The backup format's version: 2 seals people's records (1, plain, is still read).
pub const FORMAT: u64 = 2;

/// The key file that goes with a backup: the same name ending in `.keys`.
pub fn keys_path(backup: &Path) -> PathBuf {
    backup.with_extension("keys")
}

/// What a sealed record in a backup is bound to.
fn backup_aad(user: &str) -> Vec<u8> {
    format!("backup\0{user}").into_bytes()
}

/// A person's backup line with their record (`plain`, JSON) sealed under their key.
fn sealed_line(
    vault: &crate::store::vault::Vault,
    user: &str,
    plain: &[u8],
) -> Result<Value, StoreError> {
    let sealed = vault.seal(user, &backup_aad(user), plain)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(sealed);
    Ok(json!({"user": user, "sealed": b64}))
}

/// What can go wrong with a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
    /// The file is not a lensbot backup, or is damaged.
    #[error("line {line} of the backup: {reason}")]
    Bad {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The backup's key file does not open with this store's key (or is damaged): the
    /// restore needs the store key of the store that wrote it.
    #[error("{0}")]
    WrongStoreKey(String),
    /// The target store already holds people.
    #[error(
        "the store already holds {0} people: restore into an empty data directory, or pass --replace to delete them first"
    )]
    NotEmpty(usize),
}

/// Counts, for the person running it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// People written or read.
    pub users: usize,
    /// Metadata entries.
    pub meta: usize,
    /// Reminders re-indexed (restore only).
    pub reminders: usize,
    /// People whose records were sealed: their keys belong in the key file (write only).
    pub sealed: Vec<String>,
    /// Records skipped on restore because their person was forgotten (their key is gone).
    pub forgotten: usize,
    /// Keys of people whose records could not be read and were left out (write only), so the
    /// operator can restore them from an older backup.
    pub unreadable: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Writes the whole store: every person whose record can be read (the others are left out,
/// named in [`Counts::unreadable`] and in a warning that gives the key only) and all metadata.
/// Any other store error, or a failed write, fails the backup.
pub async fn write(
    store: &dyn Store,
    mut out: impl Write,
    now: jiff::Timestamp,
) -> Result<Counts, BackupError> {
    let io = |e: std::io::Error| BackupError::Io(format!("cannot write the backup: {e}"));
    let users = store.users().await?;
    let format = if store.vault().is_some() { FORMAT } else { 1 };
    let header = json!({"lensbot_backup": format, "state_version": crate::engine::state::STATE_VERSION,
        "created": now.to_string(), "users": users.len()});
    writeln!(out, "{header}").map_err(io)?;
    let mut counts = Counts::default();
    for key in users {
        let state = match store.get_user(&key).await {
            Ok(Some(state)) => state,
            Ok(None) => continue,
            Err(e @ (StoreError::Corrupt { .. } | StoreError::TooNew { .. })) => {
                tracing::warn!(user = %key, error = %e, "a person's record could not be read: left out of the backup");
                counts.unreadable.push(key);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let line = match store.vault() {
            Some(vault) => {
                counts.sealed.push(key.clone());
                sealed_line(vault, &key, &codec::encode(&state))?
            }
            None => {
                let value: Value = serde_json::from_slice(&codec::encode(&state))
                    .map_err(|e| BackupError::Io(e.to_string()))?;
                json!({"user": key, "value": value})
            }
        };
        writeln!(out, "{line}").map_err(io)?;
        counts.users += 1;
    }
    for key in store.meta_keys().await? {
        if let Some(v) = store.get_meta(&key).await? {
            writeln!(out, "{}", json!({"meta": key, "hex": hex(&v)})).map_err(io)?;
            counts.meta += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(counts)
}

/// Writes the key file that goes with a backup just written (nothing for a store that does
/// not encrypt). Write it before the backup itself is renamed into place, so a backup is
/// never without its keys.
pub fn write_keys(store: &dyn Store, counts: &Counts, backup: &Path) -> Result<(), BackupError> {
    if let Some(vault) = store.vault() {
        vault.write_material(&counts.sealed, &keys_path(backup))?;
    }
    Ok(())
}

/// Seals the backups in `dir` that an older lensbot wrote in plain text (format 1): each
/// person's record is sealed under their key, a key file is written beside the backup, and
/// the backup is replaced atomically. So forgetting someone reaches the backups made before
/// encryption too. Returns how many backups were sealed; nothing for a store that does not
/// encrypt.
pub fn seal_plain_backups(store: &dyn Store, dir: &Path) -> Result<usize, BackupError> {
    let Some(vault) = store.vault() else {
        return Ok(0);
    };
    let io = |e: std::io::Error| BackupError::Io(format!("backup folder {}: {e}", dir.display()));
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(e)),
    };
    let mut sealed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let mut lines = text.lines();
        let Some(Ok(mut header)) = lines.next().map(serde_json::from_str::<Value>) else {
            continue;
        };
        if header["lensbot_backup"].as_u64() != Some(1) {
            continue;
        }
        header["lensbot_backup"] = json!(FORMAT);
        let mut out = format!("{header}\n");
        let mut people = Vec::new();
        for (i, line) in lines.enumerate() {
            let mut v: Value = serde_json::from_str(line).map_err(|_| BackupError::Bad {
                line: i + 2,
                reason: format!("{} is damaged; it was left as it is", path.display()),
            })?;
            if let Some(user) = v["user"].as_str().map(str::to_string)
                && v["value"].is_object()
            {
                let plain =
                    serde_json::to_vec(&v["value"]).map_err(|e| BackupError::Io(e.to_string()))?;
                v = sealed_line(vault, &user, &plain)?;
                people.push(user);
            }
            out.push_str(&format!("{v}\n"));
        }
        let tmp = dir.join(format!(
            ".{}.tmp",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("backup")
        ));
        {
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(out.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        vault.sync()?;
        vault.write_material(&people, &keys_path(&path))?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        sealed += 1;
    }
    Ok(sealed)
}

/// Reads the key file beside a backup, if there is one.
pub fn read_keys(backup: &Path) -> Result<Option<Vec<u8>>, BackupError> {
    let p = keys_path(backup);
    match std::fs::read(&p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BackupError::Io(format!("cannot read {}: {e}", p.display()))),
    }
}

/// Reads a backup into a store: refuses a store that holds people unless `replace`, which
/// deletes them (and their reminders) first. The store is flushed at the end.
pub async fn restore(
    store: &dyn Store,
    input: impl BufRead,
    keys: Option<&[u8]>,
    replace: bool,
) -> Result<Counts, BackupError> {
    let existing = store.users().await?;
    if !existing.is_empty() && !replace {
        return Err(BackupError::NotEmpty(existing.len()));
    }
    // Parse everything before changing anything.
    let mut users = Vec::new();
    let mut meta = Vec::new();
    let mut saw_header = false;
    let mut forgotten = 0;
    let material: Option<Material> = match (keys, store.vault()) {
        (Some(bytes), Some(vault)) => Some(
            vault
                .read_material(bytes, "the backup's key file")
                .map_err(|e| BackupError::WrongStoreKey(e.to_string()))?,
        ),
        _ => None,
    };
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|e| BackupError::Io(format!("cannot read the backup: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| BackupError::Bad {
            line: line_no,
            reason,
        };
        let v: Value = serde_json::from_str(&line).map_err(|e| bad(format!("not JSON ({e})")))?;
        if !saw_header {
            match v["lensbot_backup"].as_u64() {
                Some(1 | FORMAT) => saw_header = true,
                Some(n) => {
                    return Err(bad(format!(
                        "backup format {n} is newer than this lensbot reads ({FORMAT})"
                    )));
                }
                None => return Err(bad("this is not a lensbot backup (no header)".into())),
            }
            continue;
        }
        if let Some(key) = v["user"].as_str() {
            let bytes = if let Some(b64) = v["sealed"].as_str() {
                let sealed = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| bad("a damaged sealed record".into()))?;
                let Some(m) = &material else {
                    return Err(bad(
                        "the records are encrypted and the backup's key file (NAME.keys beside it) is missing"
                            .into(),
                    ));
                };
                match m.unseal(&backup_aad(key), &sealed) {
                    Ok(plain) => plain,
                    Err(Unseal::NoKey) => {
                        // Forgotten since: this record never comes back.
                        forgotten += 1;
                        continue;
                    }
                    Err(Unseal::Damaged) => {
                        return Err(bad(format!("the record of {key} is damaged")));
                    }
                }
            } else {
                serde_json::to_vec(&v["value"]).map_err(|e| bad(e.to_string()))?
            };
            let state = codec::decode(key, &bytes).map_err(|e| bad(e.to_string()))?;
            users.push(state);
        } else if let Some(key) = v["meta"].as_str() {
            let bytes = v["hex"]
                .as_str()
                .and_then(unhex)
                .ok_or_else(|| bad("damaged metadata value".into()))?;
            meta.push((key.to_string(), bytes));
        } else {
            return Err(bad("neither a person nor metadata".into()));
        }
    }
    if !saw_header {
        return Err(BackupError::Bad {
            line: 1,
            reason: "the file is empty".into(),
        });
    }
    if replace {
        for e in store.due_until(jiff::Timestamp::MAX).await? {
            store.delete_due(&e).await?;
        }
        for key in existing {
            store.delete_user(&key).await?;
        }
    }
    let mut counts = Counts {
        forgotten,
        ..Counts::default()
    };
    for state in users {
        for r in &state.reminders {
            if let Some(at) = r.next {
                store
                    .put_due(&DueEntry {
                        at,
                        user: state.user.clone(),
                        reminder: r.id.clone(),
                    })
                    .await?;
                counts.reminders += 1;
            }
        }
        store.put_user(&state).await?;
        counts.users += 1;
    }
    for (k, v) in meta {
        // A group challenge's next post and prompts go back into the due index too.
        if let Some(group) = k.strip_prefix(crate::challenge::META_PREFIX) {
            let c = crate::challenge::decode(group, &v)?;
            for e in crate::challenge::due_entries(&c) {
                store.put_due(&e).await?;
                counts.reminders += 1;
            }
        }
        store.put_meta(&k, &v).await?;
        counts.meta += 1;
    }
    store.flush().await?;
    Ok(counts)
}

/// What [`daily`] did.
#[derive(Debug, Default)]
pub struct Daily {
    /// The backup written, or `None` when today (UTC) already had one.
    pub written: Option<PathBuf>,
    /// What went into it (read back and matched).
    pub counts: Counts,
    /// Backups deleted by rotation (their sidecars went with them).
    pub deleted: Vec<PathBuf>,
}

/// Writes today's backup into `dir` unless the UTC day already has one, then rotates
/// ([`rotation::to_delete`]: the newest `keep` days, the first of each week for five weeks,
/// the newest backup holding more people than the store).
///
/// The backup is written to a temporary file, synced, read back and counted: only when the
/// people and metadata read back match what was written is it renamed into place
/// (`lensbot-YYYYMMDD.jsonl`) with its sidecar (`lensbot-YYYYMMDD.json`, [`rotation::Sidecar`]);
/// a mismatch is an error and nothing is kept. `integrity` is `None` when the store passed its
/// integrity check, else the reason it failed: such a backup is named
/// `lensbot-YYYYMMDD-damaged.jsonl`, says so in its sidecar, and never counts towards the days
/// kept. Nothing is deleted unless a backup was written and verified.
pub async fn daily(
    store: &dyn Store,
    dir: &Path,
    keep: usize,
    now: jiff::Timestamp,
    integrity: Option<&str>,
) -> Result<Daily, BackupError> {
    let io = |e: std::io::Error| BackupError::Io(format!("backup folder {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    // A temporary file left by a crash mid-backup (only one process holds the store).
    for entry in std::fs::read_dir(dir).map_err(io)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".lensbot-") && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let listed = rotation::list(dir).map_err(io)?;
    let policy: Vec<rotation::Backup> = listed.iter().map(rotation::Listed::policy).collect();
    if !rotation::should_write(&policy, today, integrity.is_some()) {
        return Ok(Daily::default());
    }
    let name = rotation::file_name(today, integrity.is_some());
    let tmp = dir.join(format!(".{name}.tmp"));
    let counts = async {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let counts = write(store, std::io::BufWriter::new(&file), now).await?;
        file.sync_all().map_err(io)?;
        let back = rotation::read_back(std::io::BufReader::new(
            std::fs::File::open(&tmp).map_err(io)?,
        ))
        .map_err(|e| BackupError::Io(format!("the backup {name} did not read back: {e}")))?;
        let wrote = rotation::ReadBack {
            format: if store.vault().is_some() { FORMAT } else { 1 },
            people: counts.users,
            metadata: counts.meta,
        };
        if back != wrote {
            return Err(BackupError::Io(format!(
                "the backup {name} read back as {} people and {} metadata entries (format {}), not the {} and {} written (format {}); it was not kept",
                back.people, back.metadata, back.format, counts.users, counts.meta, wrote.format
            )));
        }
        Ok(counts)
    }
    .await
    .inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    let path = dir.join(&name);
    write_keys(store, &counts, &path)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    let sidecar = rotation::Sidecar {
        created: now,
        people: counts.users,
        metadata: counts.meta,
        unreadable: counts.unreadable.len(),
        verified: true,
        store_integrity: match integrity {
            None => "ok".to_string(),
            Some(reason) => format!("damaged: {reason}"),
        },
    };
    rotation::write_sidecar(&path, &sidecar).map_err(io)?;
    // The renames last past a crash only once the folder itself is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let policy: Vec<rotation::Backup> = rotation::list(dir)
        .map_err(io)?
        .iter()
        .map(rotation::Listed::policy)
        .collect();
    let mut deleted = Vec::new();
    for old in rotation::to_delete(&policy, today, counts.users, keep) {
        match std::fs::remove_file(&old) {
            Ok(()) => {
                let _ = std::fs::remove_file(rotation::sidecar_path(&old));
                let _ = std::fs::remove_file(keys_path(&old));
                tracing::info!(path = %old.display(), "old backup deleted");
                deleted.push(old);
            }
            Err(e) => {
                tracing::warn!(path = %old.display(), error = %e, "an old backup could not be deleted")
            }
        }
    }
    Ok(Daily {
        written: Some(path),
        counts,
        deleted,
    })
}
