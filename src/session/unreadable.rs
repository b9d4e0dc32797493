//! Records that cannot be read (damaged, or written by a newer lensbot): one such record must
//! harm no one else. Sweeps over many records (due reminders, challenge posts and prompts,
//! `/mydata`, `/forgetme`) skip it and carry on, with one warning per key per process naming
//! the key (never the content); the person whose record it is gets a plain answer saying why
//! nothing they send is saved, instead of a "try again" that would never come true. A failing
//! store (I/O, a lock) is not skipped: it still stops the sweep.

use super::{Event, Reply, Session};
use crate::engine::{Input, Message};
use crate::store::{Store, StoreError, Write};
use jiff::Timestamp;

impl Session {
    /// True when `e` is about one record that cannot be read: the warning naming its key is
    /// logged (once per key per process) and the caller skips that record. False for a store
    /// failure, which the caller passes on.
    pub(super) fn skip_unreadable(&self, e: &StoreError, sweep: &str) -> bool {
        let Some(key) = e.unreadable_key() else {
            return false;
        };
        let first = self
            .unreadable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string());
        if first {
            // The key and the kind only: the reason could one day quote what is stored.
            let kind = match e {
                StoreError::TooNew { .. } => "written by a newer lensbot",
                _ => "damaged",
            };
            tracing::warn!(
                key,
                kind,
                sweep,
                "a stored record cannot be read; it is skipped until it is restored from a backup or lensbot is upgraded"
            );
        }
        true
    }

    /// `Ok(None)` (the record skipped, see [`Session::skip_unreadable`]) when `r` failed on one
    /// unreadable record; a store failure stays an error.
    pub(super) fn or_skip<T>(
        &self,
        r: Result<T, StoreError>,
        sweep: &str,
    ) -> Result<Option<T>, StoreError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.skip_unreadable(&e, sweep) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The keys of the records this process has found unreadable and skipped so far, sorted
    /// (for tests, and for an operator's status report).
    pub fn unreadable_seen(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .unreadable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    /// A turn failed on a record that cannot be read. A person's own record: they hear why
    /// nothing they send is saved (too new: the operator must upgrade; damaged: the operator
    /// can restore it). Another record (a group's challenge): they hear that nothing was
    /// changed. Either way through the outbox like any reply, the event marked applied (a
    /// retry could not succeed) and the record itself left exactly as it is. A due reminder
    /// is not answered: the error goes back to the due sweep, which skips the entry and keeps
    /// it for when the record can be read. Any other error is returned as it is.
    pub(super) async fn answer_unreadable(
        &self,
        ev: &Event,
        e: StoreError,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let Some(key) = e.unreadable_key() else {
            return Err(e);
        };
        let own = key == ev.user;
        self.skip_unreadable(&e, "a turn");
        if matches!(ev.input, Input::Due { .. }) {
            return Err(e);
        }
        let at = "unreadable record".to_string();
        if self.applied(ev, None).await? {
            let mut w = Write::default();
            w.inbox_done.extend(ev.inbox.clone());
            self.write(w).await?;
            return Ok(Reply {
                messages: Vec::new(),
                duplicate: true,
                at,
            });
        }
        let phrase = match &e {
            StoreError::TooNew { .. } if own => "record_too_new",
            _ if own => "record_damaged",
            _ => "record_unreadable_other",
        };
        let messages = vec![Message::private().para(self.catalog.t(phrase))];
        let mut w = Write::default();
        self.settle(ev, &messages, &mut w, now).await?;
        self.write(w).await?;
        Ok(Reply {
            messages,
            duplicate: false,
            at,
        })
    }
}

/// Every record in `store` that cannot be read (people's and groups' challenge records), each
/// as the error reading it gave (its key from [`StoreError::unreadable_key`]). A store failure
/// is an error. For `lensbot doctor` and the like: it reads every record once.
pub async fn unreadable_records(store: &dyn Store) -> Result<Vec<StoreError>, StoreError> {
    let mut out = Vec::new();
    for key in store.users().await? {
        match store.get_user(&key).await {
            Ok(_) => {}
            Err(e) if e.unreadable_key().is_some() => out.push(e),
            Err(e) => return Err(e),
        }
    }
    for key in store.meta_keys().await? {
        let Some(group) = key.strip_prefix(crate::challenge::META_PREFIX) else {
            continue;
        };
        let Some(bytes) = store.get_meta(&key).await? else {
            continue;
        };
        match crate::challenge::decode(group, &bytes) {
            Ok(_) => {}
            Err(e) if e.unreadable_key().is_some() => out.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
