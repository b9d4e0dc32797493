//! Moving people between stores (`lensbot migrate --from … --to …`, sled to PostgreSQL and
//! back): the source written as a backup in memory, with the key material its people need,
//! and restored into the target, which must be empty; the counts read back must match. Both
//! stores must use the same store key (the material is sealed under it). The bot must be
//! stopped: a source with messages still owed or events still queued is refused, since those
//! are not part of a backup.

use super::{BackupError, Counts, restore, write};
use crate::store::Store;

/// What a move found in the source that stops it: messages owed or events queued.
async fn in_flight(from: &dyn Store) -> Result<Option<String>, BackupError> {
    let owed = from.outbox().await?.len();
    let mut queued = 0;
    for source in ["telegram", "discord"] {
        queued += from.inbox(source).await?.len();
    }
    Ok((owed > 0 || queued > 0).then(|| {
        format!(
            "the source store still has {owed} messages to send and {queued} events to handle: start lensbot on it until they are done (its /healthz shows the outbox), stop it, then move"
        )
    }))
}

/// Copies everyone from `from` into the empty `to`; returns what was restored.
pub async fn copy(from: &dyn Store, to: &dyn Store) -> Result<Counts, BackupError> {
    if let Some(why) = in_flight(from).await? {
        return Err(BackupError::Io(why));
    }
    let mut buf = Vec::new();
    let written = write(from, &mut buf, jiff::Timestamp::now()).await?;
    if !written.unreadable.is_empty() {
        return Err(BackupError::Io(format!(
            "{} records in the source cannot be read ({}): `lensbot doctor` names them; nothing was moved",
            written.unreadable.len(),
            written.unreadable.join(", ")
        )));
    }
    let material = from.vault().map(|v| v.material(&written.sealed));
    let restored = restore(to, buf.as_slice(), material.as_deref(), false).await?;
    if (restored.users, restored.meta) != (written.users, written.meta) {
        return Err(BackupError::Io(format!(
            "the target holds {} people and {} metadata entries after the move, not the {} and {} written",
            restored.users, restored.meta, written.users, written.meta
        )));
    }
    Ok(restored)
}
