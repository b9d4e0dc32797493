//! One turn, safely: per-person ordering, load → step → save → flush → reply.
//!
//! Neither chat library serialises per person (teloxide queues per chat, so a group shares one
//! queue; serenity runs every event as its own task), so the session keeps one async lock per
//! person: two quick messages from one person are handled in the order they arrived, while
//! different people proceed in parallel. Nothing is said that implies "saved" until the store
//! has flushed. A platform event id already applied (a replayed update) changes nothing.

mod challenges;

use crate::content::Catalog;
use crate::engine::{self, Effect, Input, Message, UserState};
use crate::scheduler::{Deliver, DeliveryError};
use crate::store::{DueEntry, Store, StoreError};
use jiff::Timestamp;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// What a turn produced for the shell to send.
#[derive(Debug, Default)]
pub struct Reply {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// True when the event had been applied before and was ignored.
    pub duplicate: bool,
    /// Where the person is after the turn (content ids only), for the log.
    pub at: String,
}

/// Shared by every adapter in a process: the content, the store and the per-person locks.
pub struct Session {
    catalog: Arc<Catalog>,
    store: Arc<dyn Store>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    wake: tokio::sync::Notify,
    /// Every turn holds this for reading; [`Session::drain`] takes it for writing, so it waits
    /// for the turns in flight.
    gate: tokio::sync::RwLock<()>,
    /// A set time instead of the system clock (tests that walk through a challenge's days).
    clock: Option<Mutex<Timestamp>>,
    /// Group commit: turns that finish while a flush is running share the next one.
    commits: Mutex<Commits>,
    /// Signalled when a flush finishes.
    flushed: tokio::sync::Notify,
}

/// Marks the running flush finished when dropped, and wakes the callers waiting on it.
struct FlushRunning<'a>(&'a Session);

impl Drop for FlushRunning<'_> {
    fn drop(&mut self) {
        let mut c = self.0.commits.lock().unwrap_or_else(|p| p.into_inner());
        c.running = false;
        drop(c);
        self.0.flushed.notify_waiters();
    }
}

/// Where group commit stands: writes registered and writes known durable, by count.
#[derive(Default)]
struct Commits {
    /// Writes registered with [`Session::commit`].
    written: u64,
    /// All writes up to this count are durable.
    durable: u64,
    /// A flush is under way.
    running: bool,
}

/// The due-index entries a state implies: one per reminder with a next time.
fn due_entries(state: &UserState) -> BTreeSet<DueEntry> {
    state
        .reminders
        .iter()
        .filter_map(|r| {
            r.next.map(|at| DueEntry {
                at,
                user: state.user.clone(),
                reminder: r.id.clone(),
            })
        })
        .collect()
}

/// What a run of due reminders did, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DueRun {
    /// Reminders delivered.
    pub delivered: usize,
    /// Due entries handled without a message (deferred, skipped, stale).
    pub silent: usize,
    /// People found unreachable.
    pub unreachable: usize,
    /// Deliveries that failed for another reason.
    pub failed: usize,
}

impl Session {
    /// A session over a catalog and a store.
    pub fn new(catalog: Arc<Catalog>, store: Arc<dyn Store>) -> Self {
        Session {
            catalog,
            store,
            locks: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            gate: tokio::sync::RwLock::new(()),
            clock: None,
            commits: Mutex::new(Commits::default()),
            flushed: tokio::sync::Notify::new(),
        }
    }

    /// Makes the caller's writes durable before it says "saved" (group commit): if a flush is
    /// already running, the caller waits for the next one, which one waiting caller starts for
    /// everyone who wrote meanwhile. So a hundred people answering at once cost a few flushes,
    /// not a hundred, and still nobody is answered before their own write is on disk. A failed
    /// flush is an error for the caller that ran it; the others try again themselves.
    pub async fn commit(&self) -> Result<(), StoreError> {
        let lock = || self.commits.lock().unwrap_or_else(|p| p.into_inner());
        let mine = {
            let mut c = lock();
            c.written += 1;
            c.written
        };
        loop {
            let notified = self.flushed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let target = {
                let mut c = lock();
                if c.durable >= mine {
                    return Ok(());
                }
                if c.running {
                    None
                } else {
                    c.running = true;
                    Some(c.written)
                }
            };
            let Some(target) = target else {
                notified.await;
                continue;
            };
            // Whatever happens to this caller (even its future dropped mid-flush), the next
            // caller may flush once this one is done.
            let _running = FlushRunning(self);
            let store = self.store.clone();
            let result = match tokio::task::spawn_blocking(move || store.flush()).await {
                Ok(r) => r,
                Err(e) => Err(StoreError::Io(format!("the flush task failed: {e}"))),
            };
            if result.is_ok() {
                let mut c = lock();
                c.durable = c.durable.max(target);
            }
            result?;
        }
    }

    /// The same session with a clock that only moves when [`Session::set_now`] moves it, so a
    /// test can walk a challenge through its days in seconds.
    pub fn with_manual_clock(mut self, now: Timestamp) -> Self {
        self.clock = Some(Mutex::new(now));
        self
    }

    /// The time: the system's, or the manual clock's.
    pub fn now(&self) -> Timestamp {
        match &self.clock {
            Some(c) => *c.lock().unwrap_or_else(|p| p.into_inner()),
            None => Timestamp::now(),
        }
    }

    /// Moves a manual clock (and wakes the scheduler to look at what is now due).
    pub fn set_now(&self, now: Timestamp) {
        if let Some(c) = &self.clock {
            *c.lock().unwrap_or_else(|p| p.into_inner()) = now;
            self.wake.notify_one();
        }
    }

    /// Waits until every turn in flight has finished (for a clean shutdown).
    pub async fn drain(&self) {
        let _all = self.gate.write().await;
    }

    /// Resolves when a turn has added a reminder, so the scheduler can look again.
    pub async fn reminders_changed(&self) {
        self.wake.notified().await
    }

    /// The content in use.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The store in use.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn lock_for(&self, user: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(user.to_string()).or_default().clone()
    }

    fn release(&self, user: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Only this task and the map hold it: nobody is waiting, so the entry can go.
        if Arc::strong_count(&lock) == 2 {
            map.remove(user);
        }
    }

    /// Handles one input from one person. `event` is the platform's id for the update (if
    /// any), so a repeat is recognised and ignored.
    pub async fn handle(
        &self,
        user: &str,
        input: Input,
        event: Option<&str>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        self.handle_as(user, None, input, event, now).await
    }

    /// Like [`Session::handle`], with the first name the platform gives for the person: used
    /// only if they choose to be named in a group challenge's digests.
    pub async fn handle_as(
        &self,
        user: &str,
        name: Option<&str>,
        input: Input,
        event: Option<&str>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let _in_flight = self.gate.read().await;
        let started = std::time::Instant::now();
        let what = crate::logging::describe_input(&input);
        let lock = self.lock_for(user);
        let reply = {
            let _guard = lock.lock().await;
            match crate::challenge::request(&input) {
                Some(req) => self.member_turn(user, name, req, event, now).await,
                None => self.turn(user, input, event, now).await,
            }
        };
        self.release(user, lock);
        let platform = user.split(':').next().unwrap_or("?");
        let micros = started.elapsed().as_micros() as u64;
        match &reply {
            Ok(r) => {
                tracing::info!(platform, what = %what, at = %r.at, duplicate = r.duplicate, micros, "turn")
            }
            Err(e) => tracing::error!(platform, what = %what, micros, error = %e, "turn failed"),
        }
        reply
    }

    /// The turn itself; callers must hold the person's lock (see [`Session::handle`]).
    async fn turn(
        &self,
        user: &str,
        input: Input,
        event: Option<&str>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let state = self
            .store
            .get_user(user)?
            .unwrap_or_else(|| engine::UserState::new(user));
        let due_input = match &input {
            Input::Due { reminder, due } => Some(DueEntry {
                at: *due,
                user: user.to_string(),
                reminder: reminder.clone(),
            }),
            _ => None,
        };
        if let Some(id) = event
            && state.seen_event(id)
        {
            if let Some(e) = &due_input {
                self.store.delete_due(e)?;
                self.store.flush()?;
            }
            return Ok(Reply {
                messages: Vec::new(),
                duplicate: true,
                at: crate::logging::describe_at(&state.at),
            });
        }
        let mydata = matches!(&input, Input::Text(t) if t.trim_start().starts_with("/mydata"));
        let mut turn = engine::step(&self.catalog, &state, input, now);
        let before = due_entries(&state);
        if turn.effects.contains(&Effect::Forget) {
            self.leave_every_challenge(user).await?;
            for e in &before {
                self.store.delete_due(e)?;
            }
            self.store.delete_user(user)?;
            self.store.flush()?;
            return Ok(Reply {
                messages: turn.messages,
                duplicate: false,
                at: "forgotten".into(),
            });
        }
        if let Some(id) = event {
            turn.state.remember_event(id);
        }
        for effect in &turn.effects {
            if let Effect::CheckIn { group, step } = effect {
                let more = self.check_in(user, group, *step).await?;
                turn.messages.extend(more);
            }
        }
        if mydata {
            turn.messages.extend(self.memberships_message(user, now)?);
        }
        let after = due_entries(&turn.state);
        for e in before.difference(&after) {
            self.store.delete_due(e)?;
        }
        if let Some(e) = &due_input
            && !after.contains(e)
        {
            // A stale entry (the reminder changed or went): clear it so it is not found again.
            self.store.delete_due(e)?;
        }
        let added = after.difference(&before).count() > 0;
        for e in after.difference(&before) {
            self.store.put_due(e)?;
        }
        if turn.state != state || due_input.is_some() {
            self.store.put_user(&turn.state)?;
            self.commit().await?;
        }
        if added {
            self.wake.notify_one();
        }
        Ok(Reply {
            at: crate::logging::describe_at(&turn.state.at),
            messages: turn.messages,
            duplicate: false,
        })
    }

    /// Handles every reminder due at `now` that `sink` can deliver, then delivers what they
    /// say. Each turn is saved (the schedule moved on) before its delivery, so a reminder is
    /// never delivered twice; a person the platform cannot reach is marked so and not retried.
    pub async fn run_due(&self, now: Timestamp, sink: &dyn Deliver) -> Result<DueRun, StoreError> {
        let mut run = DueRun::default();
        for e in self.store.due_until(now)? {
            if !sink.accepts(&e.user) {
                continue;
            }
            if crate::challenge::is_group_key(&e.user) {
                self.challenge_due(&e, now, sink, &mut run).await?;
                continue;
            }
            let event = format!("due:{}:{}", e.reminder, e.at.as_second());
            let input = Input::Due {
                reminder: e.reminder.clone(),
                due: e.at,
            };
            let reply = self.handle(&e.user, input, Some(&event), now).await?;
            if reply.messages.is_empty() {
                run.silent += 1;
                continue;
            }
            match sink.deliver(&e.user, reply.messages).await {
                Ok(()) => run.delivered += 1,
                Err(DeliveryError::Unreachable(_)) => {
                    run.unreachable += 1;
                    self.mark_unreachable(&e.user).await?;
                }
                Err(DeliveryError::Failed(_)) => run.failed += 1,
            }
        }
        Ok(run)
    }

    /// Records that a person cannot be reached (blocked the bot, closed DMs): their reminders
    /// are not retried until they write again.
    pub async fn mark_unreachable(&self, user: &str) -> Result<(), StoreError> {
        let lock = self.lock_for(user);
        let result = {
            let _guard = lock.lock().await;
            match self.store.get_user(user)? {
                Some(mut s) if !s.unreachable => {
                    s.unreachable = true;
                    s.notices
                        .push(self.catalog.t("unreachable_notice").to_string());
                    self.store.put_user(&s)?;
                    self.store.flush()
                }
                _ => Ok(()),
            }
        };
        self.release(user, lock);
        result
    }
}
