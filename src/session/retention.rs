//! The retention sweep: once at start and then daily, the scheduler asks every person's
//! record whether its retention time has come ([`crate::engine::retention`]); for those whose
//! has, a due turn (`Input::Due` with the id `retention`) runs through the ordinary path, so
//! the warning is an outbox message like any other and the deletion is the one forget path
//! ([`super::forget`]). Each turn is recorded in the ledger as `retention:USER:SECONDS`, so a
//! warning or a deletion applies once.
//!
//! A sweep rather than the due index: records written before retention existed have no entry
//! in the index, and a person who never comes back would never get one. The store is read in
//! one small function ([`Session::retention_due`]).

use super::{Event, Session};
use crate::engine::Input;
use crate::engine::retention::{DUE_ID, next_due};
use crate::store::StoreError;
use jiff::Timestamp;

/// What a retention sweep did, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetentionRun {
    /// Due turns run (warnings given or recorded, people forgotten).
    pub handled: usize,
    /// Records that could not be read, skipped (warned about once, by key).
    pub unreadable: usize,
}

impl Session {
    /// Runs the retention turns due at `now` for the people `accepts` (the platforms this
    /// process serves).
    pub async fn sweep_retention(
        &self,
        now: Timestamp,
        accepts: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> Result<RetentionRun, StoreError> {
        let mut run = RetentionRun::default();
        let (due, unreadable) = self.retention_due(now, accepts).await?;
        run.unreadable = unreadable;
        for (user, at) in due {
            let mut ev = Event::new(
                &user,
                Input::Due {
                    reminder: DUE_ID.into(),
                    due: at,
                },
            );
            ev.id = Some(format!("{DUE_ID}:{user}:{}", at.as_second()));
            ev.to = Some(user.clone());
            let reply = self.handle_event(ev, now).await;
            match self.or_skip(reply, "retention")? {
                Some(_) => run.handled += 1,
                None => run.unreadable += 1,
            }
        }
        if run.handled > 0 {
            tracing::info!(handled = run.handled, "retention sweep");
        }
        Ok(run)
    }

    /// The one store interaction: every person `accepts` takes whose retention turn is due by
    /// `now`, with its due time, and how many of their records could not be read. Only their
    /// records are read: a bot on two platforms has a sweep per platform, each over its own
    /// people.
    async fn retention_due(
        &self,
        now: Timestamp,
        accepts: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> Result<(Vec<(String, Timestamp)>, usize), StoreError> {
        let mut due = Vec::new();
        let mut unreadable = 0;
        for user in self.store.users().await? {
            if crate::challenge::is_group_key(&user) || !accepts(&user) {
                continue;
            }
            match self.or_skip(self.store.get_user(&user).await, "retention")? {
                // An account linked to another record keeps nothing of its own: its
                // person's record has the retention clock (and forgetting takes both).
                Some(Some(st)) if st.linked_to.is_some() => {}
                Some(Some(st)) => {
                    if let Some(at) = next_due(&st).filter(|at| *at <= now) {
                        due.push((user, at));
                    }
                }
                Some(None) => {}
                None => unreadable += 1,
            }
        }
        Ok((due, unreadable))
    }
}
