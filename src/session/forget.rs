//! Forgetting a person, the one path `/forgetme`, the terminal and `lensbot forget` share:
//! their challenge memberships (and so every count) go, every due entry of theirs, their
//! record; a tombstone without personal data is written in the same atomic write; and once
//! that is durable their key is destroyed in the live key file and beside every backup
//! ([`crate::store::vault`]), so no copy anywhere (sled's log, a backup, a queued message)
//! can be read again.
//!
//! The tombstone (`gone:KEY` → when) stops what was in flight from bringing the person back:
//! a button pressed on an old message, or a reminder or challenge prompt already queued, is
//! answered without creating a record. Anything the person types afresh starts a new record
//! with a new key, and the tombstone goes. At open, a tombstone whose person still has a key
//! and no record is a forget a crash interrupted: the key is destroyed then.

use super::{Event, Session, link};
use crate::engine::{Input, Message};
use crate::store::{DueEntry, Store, StoreError, Write};
use jiff::Timestamp;

/// The metadata prefix of tombstones.
pub const TOMBSTONE: &str = "gone:";

/// A tombstone's value once the key is destroyed.
const FINISHED: &str = "keys destroyed";

/// A tombstone's metadata key.
pub fn tombstone_key(user: &str) -> String {
    format!("{TOMBSTONE}{user}")
}

/// What forgetting found and did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// There was a record.
    pub record: bool,
    /// Challenges they were taken out of.
    pub challenges: usize,
    /// Due entries removed.
    pub due: usize,
    /// Backup key files rewritten without their key.
    pub backups: usize,
}

impl Session {
    /// Forgets a person everywhere (see the module's documentation). With an event, the
    /// event is settled in the same write and `messages` owed to it; those messages are not
    /// sealed with the person's key, which is about to go (they must say nothing personal).
    pub(super) async fn forget_person(
        &self,
        user: &str,
        ev: Option<(&Event, &[Message])>,
        now: Timestamp,
    ) -> Result<Forgotten, StoreError> {
        let mut done = Forgotten::default();
        let mut keys = vec![user.to_string()];
        done.record = match self.store.get_user(user).await {
            Ok(s) => {
                // A linked person is forgotten on every platform: their other accounts'
                // stubs, challenge places and keys go too (see `engine::link`).
                keys.extend(s.iter().flat_map(|s| s.accounts.iter().cloned()));
                s.is_some()
            }
            // A record that cannot be read is deleted all the same.
            Err(e) if e.unreadable_key().is_some() => true,
            Err(e) => return Err(e),
        };
        for k in &keys {
            done.challenges += self.leave_every_challenge(k).await?;
        }
        let mut w = Write::default();
        let due: Vec<DueEntry> = self
            .store
            .due_until(Timestamp::MAX)
            .await?
            .into_iter()
            .filter(|e| keys.contains(&e.user))
            .collect();
        done.due = due.len();
        w.due_delete.extend(due);
        for k in &keys {
            w.delete_users.push(k.clone());
            w.meta.push((tombstone_key(k), Some(b"pending".to_vec())));
            w.meta
                .extend(link::forget_codes(self.store.as_ref(), k).await?);
        }
        if let Some((ev, messages)) = ev {
            self.settle(ev, messages, &mut w, now).await?;
            for e in &mut w.outbox {
                e.person = None;
            }
        }
        self.write(w).await?;
        done.backups = self.destroy_keys(&keys).await?;
        tracing::info!(
            user,
            accounts = keys.len(),
            challenges = done.challenges,
            due = done.due,
            backups = done.backups,
            "forgot a person"
        );
        Ok(done)
    }

    /// Destroys these people's keys, here and beside every backup, once their records are
    /// gone and a tombstone marks them (`pending`): then marks the tombstones finished, so a
    /// start after a crash does not destroy them again (by then a returning person may have
    /// a new key for a message still queued). Returns how many backup key files were
    /// rewritten. Nothing to do without a vault.
    pub(super) async fn destroy_keys(&self, keys: &[String]) -> Result<usize, StoreError> {
        if self.store.vault().is_none() || keys.is_empty() {
            return Ok(0);
        }
        let mut backups = 0;
        for k in keys {
            backups += self.store.forget_keys(k).await?;
        }
        let mut w = Write::default();
        for k in keys {
            w.meta
                .push((tombstone_key(k), Some(FINISHED.as_bytes().to_vec())));
        }
        self.write(w).await?;
        Ok(backups)
    }

    /// `lensbot forget`: forgets a person outside any conversation, under their lock.
    /// An account linked to another record forgets that whole person.
    pub async fn forget(&self, user: &str) -> Result<Forgotten, StoreError> {
        let user = &self.person_of(user).await?;
        let lock = self.lock_for(user);
        let result = async {
            let _guard = lock.lock().await;
            let _held = self.store.hold_turn(user).await?;
            self.forget_person(user, None, self.now()).await
        }
        .await;
        self.release(user, lock);
        result
    }

    /// Whether a person was forgotten and has not come back since.
    pub(super) async fn tombstoned(&self, user: &str) -> Result<bool, StoreError> {
        Ok(self.store.get_meta(&tombstone_key(user)).await?.is_some())
    }
}

/// Finishes forgets a crash interrupted: a tombstone whose person has a key but no record, and
/// is not marked finished, means the record went and the key did not. Returns how many keys
/// were destroyed. Run at open by every process that serves ([`crate::doctor::open_served`]).
pub async fn finish_forgetting(store: &dyn Store) -> Result<usize, StoreError> {
    let Some(vault) = store.vault() else {
        return Ok(0);
    };
    let mut n = 0;
    for k in store.meta_keys().await? {
        if let Some(user) = k.strip_prefix(TOMBSTONE)
            && vault.has_key(user)
            && store.get_meta(&k).await?.as_deref() != Some(FINISHED.as_bytes())
            && matches!(store.get_user(user).await, Ok(None))
        {
            store.forget_keys(user).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Whether an input is the person writing afresh (text or a command), which may start a new
/// record after they were forgotten; a button on an old message or a due reminder may not.
pub(super) fn starts_afresh(input: &Input) -> bool {
    matches!(input, Input::Text(_))
}
