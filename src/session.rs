//! One turn, safely: per-person ordering, load → step → one atomic write (state, due index,
//! outgoing messages, the event marked applied) → group-committed flush → the reply.
//!
//! The path every event takes (see the crate map): an adapter parses a platform event into an
//! [`Event`] and hands it to the person's [`crate::queue`]; the queue calls
//! [`Session::handle_event`] one event at a time per person; the turn's messages go into the
//! store's [`crate::outbox`] in the same atomic write as the new state; the [`crate::sender`]
//! delivers them. So a crash can never leave a saved answer unanswered, and a failed send is
//! retried rather than lost. An event id already in the store's ledger (a replayed update, a
//! repeated button press, a due reminder handled before) changes nothing: its reply, if still
//! unsent, is still in the outbox. The per-person async lock stays as a guard for the callers
//! that do not go through a queue (the terminal, the scheduler, tests). Over a store several
//! processes share (PostgreSQL) each turn also holds the person in the store
//! ([`Store::hold_turn`]; a group's record, [`Store::hold_group`]) from load to write, so a
//! person's messages reaching two processes at once are stepped one after the other, and the
//! second loads what the first wrote.

mod challenges;
mod forget;
mod insights;
pub mod link;
mod outgoing;
mod retention;
mod unreadable;

use crate::content::Catalog;
use crate::engine::{self, Effect, Input, Message, UserState};
use crate::outbox::OutboxEntry;
use crate::store::{DueEntry, Store, StoreError, Write};
use jiff::Timestamp;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub use forget::{Forgotten, TOMBSTONE, finish_forgetting, tombstone_key};
pub use outgoing::Lane;
pub use retention::RetentionRun;
pub use unreadable::unreadable_records;

/// One event as an adapter hands it to the session.
#[derive(Debug, Clone)]
pub struct Event {
    /// The person's store key (`telegram:ID`, `discord:ID`, `terminal:NAME`).
    pub user: String,
    /// The first name the platform gives, used only if the person chooses to be named in a
    /// group challenge's digests.
    pub name: Option<String>,
    /// What they did.
    pub input: Input,
    /// The platform's id for the event (`tg:1234`, `dc:m:SNOWFLAKE`), recorded in the ledger
    /// so a second copy applies nothing.
    pub id: Option<String>,
    /// The event's inbox key, removed in the turn's write.
    pub inbox: Option<Vec<u8>>,
    /// Where the reply goes (an outbox delivery key); `None` returns it only (terminal, tests).
    pub to: Option<String>,
    /// In a Discord server free text is typed into a modal: when the engine waits for text
    /// after the turn, a button with this label (token `answer:STEP`) opens it.
    pub answer_button: Option<String>,
    /// Text typed into a box opened at this step: at any other step it is stale and is not
    /// filed under a new prompt.
    pub opened_at: Option<u64>,
    /// A group the platform has confirmed, for this event, that the person belongs to (a
    /// Telegram `getChatMember` answer, a Discord command or button used in that channel). A
    /// challenge request naming a group whose challenge the person is not in is answered only
    /// with this confirmation (a button the bot showed is taken on trust when none is given):
    /// typed text and deep links are written by anyone.
    pub member_of: Option<String>,
    /// The community the event came from (`discord:guild:ID`, `telegram:chat:ID`), set by the
    /// adapters when it was used inside one: the person is then counted in that community's
    /// insights (see [`crate::insights`]).
    pub community: Option<String>,
}

impl Event {
    /// An event with nothing but a person and an input (the terminal, tests).
    pub fn new(user: &str, input: Input) -> Event {
        Event {
            user: user.to_string(),
            name: None,
            input,
            id: None,
            inbox: None,
            to: None,
            answer_button: None,
            opened_at: None,
            member_of: None,
            community: None,
        }
    }
}

/// The custom-id prefix of the button that opens Discord's answer box (`answer:STEP`).
pub const ANSWER: &str = "answer";

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
    /// Counts changes to the due index made here (and moves of a manual clock): every
    /// scheduler in the process (one per platform) sees each, none is missed.
    wake: tokio::sync::watch::Sender<u64>,
    /// Every turn holds this for reading; [`Session::drain`] takes it for writing, so it waits
    /// for the turns in flight.
    gate: tokio::sync::RwLock<()>,
    /// A set time instead of the system clock (tests that walk through a challenge's days).
    clock: Option<Mutex<Timestamp>>,
    /// Group commit: turns that finish while a flush is running share the next one.
    commits: Mutex<Commits>,
    /// Signalled when a flush finishes.
    flushed: tokio::sync::Notify,
    /// The outbox's lanes in memory (one per recipient), mirrored from the store.
    outgoing: Mutex<outgoing::Lanes>,
    /// Held while the outbox is read back into the lanes ([`Session::reload_outbox`]).
    reloading: tokio::sync::Mutex<()>,
    /// Counts additions to the outbox, so each sender wakes for new entries.
    outgoing_changed: tokio::sync::watch::Sender<u64>,
    /// The process's health: a store I/O error met here marks the store failing.
    health: Arc<crate::health::Health>,
    /// Community reports computed lately, and the gate that lets one be computed at a time.
    reports: insights::Reports,
    /// Keys of records found unreadable and skipped, so each is warned about once.
    unreadable: Mutex<HashSet<String>>,
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
    /// Deliveries that failed for another reason (kept in the outbox for a retry).
    pub failed: usize,
    /// Turned into outbox entries, not delivered yet.
    pub queued: usize,
    /// Skipped because a record they need cannot be read (kept in the index for when it
    /// can; the warning names the key).
    pub unreadable: usize,
}

impl Session {
    /// A session over a catalog and a store.
    pub fn new(catalog: Arc<Catalog>, store: Arc<dyn Store>) -> Self {
        Session {
            catalog,
            store,
            locks: Mutex::new(HashMap::new()),
            wake: tokio::sync::watch::Sender::new(0),
            gate: tokio::sync::RwLock::new(()),
            clock: None,
            commits: Mutex::new(Commits::default()),
            flushed: tokio::sync::Notify::new(),
            outgoing: Mutex::new(outgoing::Lanes::default()),
            reloading: tokio::sync::Mutex::new(()),
            outgoing_changed: tokio::sync::watch::Sender::new(0),
            health: Arc::new(crate::health::Health::new()),
            reports: insights::Reports::default(),
            unreadable: Mutex::new(HashSet::new()),
        }
    }

    /// The process's health (shared with the health endpoint; see [`crate::health`]).
    pub fn health(&self) -> &Arc<crate::health::Health> {
        &self.health
    }

    /// Passes a store result through, recording an I/O error in the health state (which
    /// stops `serve`: sled keeps its first I/O error, so only a new process recovers).
    fn noticed<T>(&self, what: &str, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &r {
            self.health.store_error(what, e);
        }
        r
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
            let flush = tokio::spawn(async move { store.flush().await });
            // A flush that never returns (a stuck disk) counts as a failed one.
            let result = match tokio::time::timeout(FLUSH_LIMIT, flush).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => Err(StoreError::Io(format!("the flush task failed: {e}"))),
                Err(_) => Err(StoreError::Io(format!(
                    "a flush did not finish within {} seconds",
                    FLUSH_LIMIT.as_secs()
                ))),
            };
            let result = self.noticed("flushing the store", result);
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
            self.poke_scheduler();
        }
    }

    /// Waits until every turn in flight has finished (for a clean shutdown).
    pub async fn drain(&self) {
        let _all = self.gate.write().await;
    }

    /// Tells every scheduler to look at the due index again.
    fn poke_scheduler(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A scheduler's view of the changes to the due index: hold it across its loop and pass
    /// it to [`Session::reminders_changed`], so a change made while it was busy is not missed.
    pub fn reminder_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.wake.subscribe()
    }

    /// Resolves when a turn has added a reminder since `seen` last looked, or another process
    /// sharing the store may have ([`Store::changed_elsewhere`]), so the scheduler can look
    /// again. (A `Notify` woke only one of a process's schedulers, so the other platform's
    /// slept on to its longest sleep.)
    pub async fn reminders_changed(&self, seen: &mut tokio::sync::watch::Receiver<u64>) {
        tokio::select! {
            _ = seen.changed() => {}
            _ = self.store.changed_elsewhere() => {}
        }
    }

    /// Keeps newly arrived events: appended to the inbox with the source's high-water mark
    /// raised to `high`. Durable after the next [`Session::commit`], which the caller awaits
    /// before acknowledging them; their turns may start meanwhile (a turn's own flush covers
    /// what was appended before it).
    pub async fn receive(
        &self,
        source: &str,
        high: u64,
        entries: &[crate::inbox::InboxEntry],
    ) -> Result<(), StoreError> {
        let r = self.store.inbox_append(source, high, entries).await;
        self.noticed("keeping new events in the inbox", r)
    }

    /// Whether an event id is in the ledger of applied events.
    pub async fn applied_id(&self, event: &str) -> Result<bool, StoreError> {
        self.store.event_seen(event).await
    }

    /// What a source's inbox holds from before (events acknowledged but not handled when the
    /// process last stopped), and the highest sequence number ever kept.
    pub async fn inbox_backlog(
        &self,
        source: &str,
    ) -> Result<(u64, Vec<crate::inbox::InboxEntry>), StoreError> {
        Ok((
            self.store.inbox_high_water(source).await?,
            self.store.inbox(source).await?,
        ))
    }

    /// Makes every write so far durable (at shutdown). A store already failing is not
    /// flushed again (sled would only repeat its error, or wait on a stuck disk).
    pub async fn flush(&self) -> Result<(), StoreError> {
        if let crate::health::StoreHealth::Failing(why) = self.health.store() {
            return Err(StoreError::Io(why));
        }
        let r = self.store.flush().await;
        self.noticed("flushing the store", r)
    }

    /// A setting kept for a community (a server's facilitator role, say), by key.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .get_meta(key)
            .await?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Saves a setting durably (an empty value clears it).
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut w = Write::default();
        let v = (!value.is_empty()).then(|| value.as_bytes().to_vec());
        w.meta.push((key.to_string(), v));
        self.write(w).await
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
    /// any), so a repeat is recognised and ignored. The reply is returned, not queued.
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
        let mut ev = Event::new(user, input);
        ev.name = name.map(str::to_string);
        ev.id = event.map(str::to_string);
        self.handle_event(ev, now).await
    }

    /// Handles one event: the turn, its messages into the outbox when the event says where
    /// they go, all in one atomic write, flushed before this returns.
    pub async fn handle_event(&self, ev: Event, now: Timestamp) -> Result<Reply, StoreError> {
        let _in_flight = self.gate.read().await;
        let started = std::time::Instant::now();
        let what = crate::logging::describe_input(&ev.input);
        let user = ev.user.clone();
        let lock = self.lock_for(&user);
        let reply = {
            let _guard = lock.lock().await;
            // Other processes sharing the store wait for this turn too (PostgreSQL).
            let reply = self.account_turn(&ev, now).await;
            match reply {
                Err(e) if e.unreadable_key().is_some() => self.answer_unreadable(&ev, e, now).await,
                // Another process applied this event first (PostgreSQL): this turn wrote
                // nothing, and the other process owes the reply.
                Err(StoreError::Conflict(_)) => Ok(Reply {
                    messages: Vec::new(),
                    duplicate: true,
                    at: String::new(),
                }),
                r => r,
            }
        };
        self.release(&user, lock);
        let platform = user.split(':').next().unwrap_or("?");
        let micros = started.elapsed().as_micros() as u64;
        match &reply {
            Ok(r) => {
                tracing::info!(platform, what = %what, at = %r.at, duplicate = r.duplicate, micros, "turn")
            }
            // An I/O error is the health state's one error line (the process stops).
            Err(e) if self.health.store_error("saving a turn", e) => {
                tracing::warn!(platform, what = %what, micros, error = %e, "turn failed")
            }
            // Warned about once, by key, when first found.
            Err(e) if e.unreadable_key().is_some() => {
                tracing::debug!(platform, what = %what, micros, "turn skipped: a record cannot be read")
            }
            Err(e) => tracing::error!(platform, what = %what, micros, error = %e, "turn failed"),
        }
        reply
    }

    /// The write every turn ends with: the event marked applied, its inbox entry cleared, and
    /// its messages owed to `ev.to`. Returns the outbox entry it made, if any.
    async fn settle(
        &self,
        ev: &Event,
        messages: &[Message],
        w: &mut Write,
        now: Timestamp,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        if let Some(id) = &ev.id {
            w.events.push((id.clone(), now));
        }
        if let Some(k) = &ev.inbox {
            w.inbox_done.push(k.clone());
        }
        let Some(to) = &ev.to else { return Ok(None) };
        let entry = self
            .owe(to, Some(&ev.user), messages, ev.id.clone(), now)
            .await?;
        if let Some(e) = &entry {
            w.outbox.push(e.clone());
        }
        Ok(entry)
    }

    /// An outbox entry for `messages` (merged as the platforms show them), or `None` when
    /// there is nothing to say.
    async fn owe(
        &self,
        to: &str,
        person: Option<&str>,
        messages: &[Message],
        event: Option<String>,
        now: Timestamp,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        if messages.is_empty() {
            return Ok(None);
        }
        Ok(Some(OutboxEntry {
            id: self.store.next_outbox_id().await?,
            to: to.to_string(),
            person: person.map(str::to_string),
            messages: crate::render::merge(messages),
            sent: 0,
            attempts: 0,
            created: now,
            event,
            group: None,
        }))
    }

    /// Applies a write, makes it durable (group commit), then hands its outbox entries to the
    /// sender. Nothing is sent before the write is on disk.
    async fn write(&self, w: Write) -> Result<(), StoreError> {
        if w.is_empty() {
            return Ok(());
        }
        let applied = self.store.apply(&w).await;
        self.noticed("writing a turn", applied)?;
        self.commit().await?;
        if !w.outbox.is_empty() {
            self.queue_outgoing(w.outbox);
        }
        Ok(())
    }

    /// Owes messages for an event that is not a turn (a public lookup in a group, a note that
    /// only text is understood): the event marked applied, its inbox entry cleared and the
    /// messages owed to `ev.to`, in one write. A repeated event owes nothing again.
    pub async fn post(&self, ev: &Event, messages: Vec<Message>) -> Result<(), StoreError> {
        let _in_flight = self.gate.read().await;
        let now = self.now();
        let mut w = Write::default();
        if self.applied(ev, None).await? {
            w.inbox_done.extend(ev.inbox.clone());
        } else {
            self.settle(ev, &messages, &mut w, now).await?;
        }
        self.write(w).await
    }

    /// Whether an event was applied before (the store's ledger; records written before the
    /// ledger existed also keep a short list of their own).
    async fn applied(&self, ev: &Event, state: Option<&UserState>) -> Result<bool, StoreError> {
        let Some(id) = &ev.id else { return Ok(false) };
        Ok(self.store.event_seen(id).await? || state.is_some_and(|s| s.seen_event(id)))
    }

    /// A repeated event: nothing applied; its inbox entry (and a due entry) cleared.
    async fn duplicate(
        &self,
        ev: &Event,
        state: &UserState,
        due: Option<DueEntry>,
    ) -> Result<Reply, StoreError> {
        let mut w = Write::default();
        if let Some(k) = &ev.inbox {
            w.inbox_done.push(k.clone());
        }
        w.due_delete.extend(due);
        self.write(w).await?;
        Ok(Reply {
            messages: Vec::new(),
            duplicate: true,
            at: crate::logging::describe_at(&state.at),
        })
    }

    /// A turn from one account (the caller holds its lock in this process): linking itself,
    /// or a turn of the person the account belongs to. The account's turn is held across
    /// processes ([`Store::hold_turn`]); an account linked to another record (see
    /// [`crate::engine::link`]) holds that record's turn instead, so a person writing from two
    /// platforms at once is still stepped one message after the other. One database hold at a
    /// time: a turn holding the account while waiting for the record, and an unlink holding
    /// them the other way round, would be a cycle the database breaks by failing one. The
    /// link is read again under the record's hold (an unlink or a forget may have come
    /// between) and the turn starts over when it changed.
    async fn account_turn(&self, ev: &Event, now: Timestamp) -> Result<Reply, StoreError> {
        let account = ev.user.as_str();
        for _ in 0..3 {
            let held = self.store.hold_turn(account).await?;
            if let Some(req) = link::request(&ev.input) {
                return self.link_turn(ev, req, now).await;
            }
            let stored = self.store.get_user(account).await?;
            let Some(person) = stored.as_ref().and_then(|s| s.linked_to.clone()) else {
                let reply = self.person_turn(ev, account, stored, now).await;
                drop(held);
                return reply;
            };
            drop(held);
            let lock = self.lock_for(&person);
            let reply = async {
                let _guard = lock.lock().await;
                let _held = self.store.hold_turn(&person).await?;
                let again = self.store.get_user(account).await?;
                if again.and_then(|s| s.linked_to).as_deref() != Some(person.as_str()) {
                    return Ok(None);
                }
                let stored = self.store.get_user(&person).await?;
                self.person_turn(ev, &person, stored, now).await.map(Some)
            }
            .await;
            self.release(&person, lock);
            if let Some(reply) = reply? {
                return Ok(reply);
            }
        }
        Err(StoreError::Busy(
            "the account was linked or unlinked during this turn, three times; it was not taken"
                .into(),
        ))
    }

    /// A turn of the person whose record is `person` (`stored`, as read under their turn).
    async fn person_turn(
        &self,
        ev: &Event,
        person: &str,
        stored: Option<UserState>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        match crate::challenge::request(&ev.input) {
            Some(req) => self.member_turn(ev, person, stored, req, now).await,
            None => self.turn(ev, person, stored, now).await,
        }
    }

    /// The turn itself; callers must hold the person's turn (see [`Session::account_turn`]).
    /// `ev.user` is the account it came from, `user` the record's key (the same unless the
    /// account is linked to another).
    async fn turn(
        &self,
        ev: &Event,
        user: &str,
        stored: Option<UserState>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let tombstoned = stored.is_none() && self.tombstoned(user).await?;
        let state = stored.unwrap_or_else(|| engine::UserState::new(user));
        let input = ev.input.clone();
        if tombstoned && !forget::starts_afresh(&input) {
            // Forgotten, and this was in flight (an old button, a queued reminder): answered
            // without bringing a record back.
            let gone = vec![Message::private().para(self.catalog.t("forgotten_already"))];
            let mut w = Write::default();
            self.settle(ev, &gone, &mut w, now).await?;
            self.write(w).await?;
            return Ok(Reply {
                at: "forgotten".into(),
                messages: gone,
                duplicate: false,
            });
        }
        let due_input = match &input {
            Input::Due { reminder, due } => Some(DueEntry {
                at: *due,
                user: user.to_string(),
                reminder: reminder.clone(),
            }),
            _ => None,
        };
        if self.applied(ev, Some(&state)).await? {
            return self.duplicate(ev, &state, due_input).await;
        }
        if let Some(step) = ev.opened_at
            && step != state.step
        {
            let stale = vec![Message::private().para(self.catalog.t("modal_stale"))];
            let mut w = Write::default();
            self.settle(ev, &stale, &mut w, now).await?;
            self.write(w).await?;
            return Ok(Reply {
                at: crate::logging::describe_at(&state.at),
                messages: stale,
                duplicate: false,
            });
        }
        // A linked person's reminders go to the account they chose (or wrote from last),
        // whichever platform's scheduler found them due.
        let retargeted;
        let ev = match &input {
            Input::Due { .. } if !state.accounts.is_empty() && ev.to.as_deref() == Some(user) => {
                let mut e = ev.clone();
                e.to = Some(engine::link::reminder_account(&state));
                retargeted = e;
                &retargeted
            }
            _ => ev,
        };
        let account = ev.user.as_str();
        let mydata = matches!(&input, Input::Text(t) if t.trim_start().starts_with("/mydata"));
        let by_person = !matches!(input, Input::Due { .. });
        let mut turn = engine::step(&self.catalog, &state, input, now);
        if by_person
            && !turn.state.accounts.is_empty()
            && turn.state.last_account.as_deref() != Some(account)
        {
            turn.state.last_account = Some(account.to_string());
        }
        // Counts for community insights (keys and numbers only), from what the step changed.
        engine::tally::record_turn(
            &state,
            &mut turn.state,
            due_input.is_none(),
            ev.community.as_deref(),
            &turn.effects,
            now,
        );
        let before = due_entries(&state);
        let mut w = Write::default();
        if turn.effects.contains(&Effect::Forget) {
            self.forget_person(user, Some((ev, &turn.messages)), now)
                .await?;
            return Ok(Reply {
                messages: turn.messages,
                duplicate: false,
                at: "forgotten".into(),
            });
        }
        for effect in &turn.effects {
            if let Effect::CheckIn { group, step } = effect {
                // The challenge's member is the account on the group's platform.
                let member = engine::link::account_for(&state, group, account);
                let more = self.check_in(&member, group, *step).await?;
                turn.messages.extend(more);
            }
        }
        let accounts = engine::link::accounts(&state);
        if mydata {
            turn.messages
                .extend(self.memberships_message(&accounts, now).await?);
        }
        self.add_streak(&accounts, &mut turn.messages).await?;
        self.add_names_line(account, &mut turn.messages).await?;
        if let Some(label) = &ev.answer_button {
            // Labelled for what is typed there (a profession, search words …).
            let label = match engine::answer_box::button_key(&turn.state) {
                "button.type_answer" => label.as_str(),
                key => self.catalog.t(key),
            };
            with_answer_button(&mut turn.messages, &turn.state, label);
        }
        let after = due_entries(&turn.state);
        w.due_delete.extend(before.difference(&after).cloned());
        if let Some(e) = &due_input
            && !after.contains(e)
        {
            // A stale entry (the reminder changed or went): clear it so it is not found again.
            w.due_delete.push(e.clone());
        }
        let added = after.difference(&before).count() > 0;
        w.due_put.extend(after.difference(&before).cloned());
        if turn.state != state || due_input.is_some() {
            w.users.push(turn.state.clone());
            if tombstoned {
                // They came back: a new record, with a new key.
                w.meta.push((forget::tombstone_key(user), None));
            }
        }
        self.settle(ev, &turn.messages, &mut w, now).await?;
        self.write(w).await?;
        if added {
            self.poke_scheduler();
        }
        Ok(Reply {
            at: crate::logging::describe_at(&turn.state.at),
            messages: turn.messages,
            duplicate: false,
        })
    }

    /// Turns every reminder and challenge step due at `now` whose recipient `accepts` into
    /// outbox entries (the scheduler's half of the path; the sender delivers them). Each due
    /// turn is recorded in the ledger as `due:ID:SECONDS`, so it never applies twice.
    pub async fn enqueue_due(
        &self,
        now: Timestamp,
        accepts: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> Result<DueRun, StoreError> {
        let mut run = DueRun::default();
        // Claimed, so that several processes over one database each handle different entries
        // (PostgreSQL); the entries of platforms this process does not serve go back.
        let due = self.store.claim_due(now, DUE_LEASE).await;
        let due = self.noticed("reading the due reminders", due)?;
        let (due, others): (Vec<_>, Vec<_>) = due.into_iter().partition(|e| accepts(&e.user));
        if !others.is_empty() {
            let r = self.store.release_due(&others).await;
            self.noticed("releasing due reminders", r)?;
        }
        for e in due {
            // One record that cannot be read is skipped (its entry kept for when it can);
            // everyone else's entries are still handled. A store failure stops the sweep.
            if crate::challenge::is_group_key(&e.user) {
                let done = self.challenge_due(&e, now, &mut run).await;
                if self.or_skip(done, "due reminders")?.is_none() {
                    run.unreadable += 1;
                }
                continue;
            }
            let mut ev = Event::new(
                &e.user,
                Input::Due {
                    reminder: e.reminder.clone(),
                    due: e.at,
                },
            );
            // The ledger is global: the id names the person as well as the reminder.
            ev.id = Some(format!(
                "due:{}:{}:{}",
                e.user,
                e.reminder,
                e.at.as_second()
            ));
            ev.to = Some(e.user.clone());
            let reply = self.handle_event(ev, now).await;
            let Some(reply) = self.or_skip(reply, "due reminders")? else {
                run.unreadable += 1;
                continue;
            };
            if reply.messages.is_empty() {
                run.silent += 1;
            } else {
                run.queued += 1;
            }
        }
        Ok(run)
    }

    /// Records that a person cannot be reached (blocked the bot, closed DMs): their reminders
    /// are not retried until they write again.
    pub async fn mark_unreachable(&self, user: &str) -> Result<(), StoreError> {
        self.mark_unreachable_as(user, true).await
    }

    /// [`Session::mark_unreachable`], saying so in a notice for their next turn only when
    /// `notice` (a reminder failed); a challenge prompt that failed is the group's digest to
    /// mention ("Tap Today's prompt"), and would be wrongly called a reminder.
    /// A linked account's flag is on its person's record (only that record is written, under
    /// its turn).
    /// For a linked person only the account that failed counts: when it is where their
    /// reminders go, reminders move to their other account (and they are told, wherever they
    /// write next); a failure on another account changes nothing of theirs. Only a person
    /// with no other account is marked unreachable.
    pub async fn mark_unreachable_as(&self, user: &str, notice: bool) -> Result<(), StoreError> {
        let account = user;
        let user = &self.person_of(user).await?;
        let lock = self.lock_for(user);
        let result = async {
            let _guard = lock.lock().await;
            let _held = self.store.hold_turn(user).await?;
            // A record that cannot be read is left as it is (the warning names it); one that
            // was linked to another meanwhile is a pointer, and left as it is too.
            match self
                .or_skip(self.store.get_user(user).await, "marking unreachable")?
                .flatten()
            {
                Some(mut s) if !s.accounts.is_empty() && s.linked_to.is_none() => {
                    if engine::link::reminder_account(&s) != account {
                        return Ok(());
                    }
                    let Some(other) = engine::link::accounts(&s)
                        .into_iter()
                        .find(|a| a != account)
                    else {
                        return Ok(());
                    };
                    if notice {
                        s.notices.push(self.catalog.tf(
                            "link.reminders_moved",
                            &[
                                ("from", engine::link::platform_name(account)),
                                ("to", engine::link::platform_name(&other)),
                            ],
                        ));
                    }
                    s.reminders_to = Some(other);
                    self.store.put_user(&s).await?;
                    self.store.flush().await
                }
                Some(mut s) if !s.unreachable && s.linked_to.is_none() => {
                    s.unreachable = true;
                    if notice {
                        s.notices
                            .push(self.catalog.t("unreachable_notice").to_string());
                    }
                    self.store.put_user(&s).await?;
                    self.store.flush().await
                }
                _ => Ok(()),
            }
        }
        .await;
        self.release(user, lock);
        self.noticed("marking a person unreachable", result)
    }
}

/// Adds the answer-box button (token `answer:STEP`) to the last message when the engine waits
/// for free text: in a Discord server a modal is the private way to type.
fn with_answer_button(messages: &mut [Message], state: &UserState, label: &str) {
    if !engine::expects_text(state) {
        return;
    }
    if let Some(last) = messages.last_mut()
        && last.buttons.len() < MAX_BUTTONS_WITH_ANSWER
    {
        last.buttons.insert(
            0,
            engine::Button {
                label: label.to_string(),
                token: format!("{ANSWER}:{}", state.step),
            },
        );
    }
}

/// How long a due entry this process claimed stays its own: if the process dies, another one
/// takes the entry after this (late rather than lost).
const DUE_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest a flush may take before the store counts as failing (a flush takes
/// milliseconds; one that hangs on a stuck disk must not hang the process).
const FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The answer button is added only below this many buttons: Discord shows 25 on a message.
const MAX_BUTTONS_WITH_ANSWER: usize = 25;
