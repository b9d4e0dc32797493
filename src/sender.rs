//! The sender: drains the outbox to one platform (or the terminal), one lane per recipient.
//!
//! Each recipient's entries go in commit order; recipients proceed side by side, so one slow
//! or rate-limited chat never delays anyone else. A message the platform takes is marked sent
//! (the entry leaves the outbox; the removal is flushed with the next turn's flush, or by the
//! sender within a fifth of a second); a failure that may pass (a 5xx,
//! a network error, a 429 the transport could not wait out) keeps the entry and tries again
//! after a back-off (1 s doubling to a minute), while the lane's later entries wait behind it
//! to keep their order. A recipient the platform refuses for good is marked unreachable. The
//! only way a message can reach a person twice is a crash between the platform taking it and
//! the mark being flushed (a fraction of a second); the README says so.
//!
//! Each platform supplies a [`Deliver`]: it renders the messages, keeps the platform's limits
//! and says what went wrong in the terms above.
//!
//! Over a store several processes share, one elected process sends for each platform (`serve`
//! runs the sender only while it holds the platform's role), so the platform's limits, which
//! are per bot, are kept in one place; it picks up what the other processes' turns owe from the
//! store, told by a notification or by looking every few seconds (see
//! [`crate::session::Session::start_sending`]).

use crate::engine::Message;
use crate::outbox::{self, OutboxEntry};
use crate::session::{DueRun, Lane, Session};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The platform says the recipient cannot be reached (blocked the bot, DMs closed, the bot
    /// removed from the group): not retried.
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// Anything that may pass (network, 5xx, rate limits): tried again later.
    #[error("delivery failed: {0}")]
    Failed(String),
}

/// A boxed future, so [`Deliver`] stays object-safe without extra crates.
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Sends messages to recipients on one platform (or in the terminal).
pub trait Deliver: Send + Sync {
    /// Whether this sink can reach the recipient (its key names the platform).
    fn accepts(&self, to: &str) -> bool;
    /// Sends the messages, in order. A part the platform refuses for good (a 400) is logged
    /// without its text and skipped, not reported as a failure.
    fn deliver<'a>(&'a self, to: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a>;
}

/// How one lane's turn at the platform ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Entries delivered whole.
    pub delivered: usize,
    /// Entries dropped because the recipient cannot be reached.
    pub unreachable: usize,
    /// Attempts that failed and will be tried again.
    pub failed: usize,
}

/// Runs until `shutdown` resolves: loads what the store's outbox holds, then delivers every
/// entry `sink` accepts as it is committed. On shutdown the lanes are given a moment to finish
/// the message in hand; whatever is unsent stays in the outbox for the next start.
pub async fn run(
    session: Arc<Session>,
    sink: Arc<dyn Deliver>,
    shutdown: impl Future<Output = ()>,
) {
    let ticket = {
        let sink = sink.clone();
        session.start_sending(Arc::new(move |to: &str| sink.accepts(to)))
    };
    if let Err(e) = session.reload_outbox().await {
        crate::health::log_store_error("reading the outbox", &e);
    }
    // Over a store other processes share, their replies reach this sender through the store:
    // told by a notification, or found by looking every few seconds.
    let shared = session.store().shared();
    let mut look = tokio::time::interval(LOOK_AGAIN);
    // Notifications coalesce into at most one read of the outbox per `READ_GAP`.
    let mut last_read = tokio::time::Instant::now();
    let mut read_due: Option<tokio::time::Instant> = None;
    let mut changed = session.watch_outbox();
    let mut lanes = tokio::task::JoinSet::new();
    let mut marks = tokio::time::interval(MARKS);
    tokio::pin!(shutdown);
    loop {
        changed.borrow_and_update();
        for lane in session.claim_lanes(&|to| sink.accepts(to)) {
            lanes.spawn(drive(session.clone(), sink.clone(), lane));
        }
        tokio::select! {
            _ = &mut shutdown => break,
            r = changed.changed() => if r.is_err() { break },
            Some(_) = lanes.join_next() => {}
            // Delivered messages recorded durably; lanes released after a back-off picked up.
            _ = marks.tick() => {
                if let Err(e) = session.flush_marks().await {
                    crate::health::log_store_error("recording delivered messages", &e);
                }
            }
            _ = session.store().outbox_changed_elsewhere(), if shared && read_due.is_none() => {
                read_due = Some(last_read + READ_GAP);
            }
            _ = tokio::time::sleep_until(read_due.unwrap_or_else(tokio::time::Instant::now)), if read_due.is_some() => {
                read_due = None;
                last_read = tokio::time::Instant::now();
                reload(&session).await;
            }
            _ = look.tick(), if shared => {
                last_read = tokio::time::Instant::now();
                reload(&session).await;
            }
        }
    }
    // Replies of the turns that finished as the process stopped get a moment too; whatever is
    // still unsent then waits in the outbox for the next start.
    for lane in session.claim_lanes(&|to| sink.accepts(to)) {
        lanes.spawn(drive(session.clone(), sink.clone(), lane));
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while lanes.join_next().await.is_some() {}
    })
    .await;
    lanes.shutdown().await;
    if let Err(e) = session.flush_marks().await {
        crate::health::log_store_error("recording delivered messages", &e);
    }
    session.stop_sending(ticket);
}

/// Reads the shared store's outbox again.
async fn reload(session: &Session) {
    if let Err(e) = session.reload_outbox().await {
        crate::health::log_store_error("reading the outbox", &e);
    }
}

/// The least time between two reads of a shared outbox prompted by notifications: a stream
/// of them makes at most this many reads a second, each taking everything written meanwhile.
const READ_GAP: Duration = Duration::from_millis(20);

/// How often a sender over a shared store looks at the outbox without being told to (the
/// notifications are lost while the listening connection is down).
const LOOK_AGAIN: Duration = Duration::from_secs(3);

/// How often the removals of delivered messages are flushed when no turn flushes them.
const MARKS: Duration = Duration::from_millis(200);

/// Works through one lane: its entries in order, each message once.
async fn drive(session: Arc<Session>, sink: Arc<dyn Deliver>, lane: Lane) -> Sent {
    // Aborted at shutdown, the lane is given back, so a sender started again in the same
    // process (an adapter restarted over the same session) picks it up.
    // (Not after a normal end: `lane_front` released it then, and it may be another task's now.)
    struct Hold<'a>(&'a Session, &'a Lane, bool);
    impl Drop for Hold<'_> {
        fn drop(&mut self) {
            if !self.2 {
                self.0.release_lane(self.1);
            }
        }
    }
    let mut hold = Hold(&session, &lane, false);
    let mut sent = Sent::default();
    while let Some(mut e) = session.lane_front(&lane) {
        match attempt(&session, sink.as_ref(), &mut e).await {
            Outcome::Delivered => sent.delivered += 1,
            Outcome::Unreachable => sent.unreachable += 1,
            Outcome::Later => {
                sent.failed += 1;
                // Wait here, holding the lane, so the recipient's later messages keep behind.
                tokio::time::sleep(outbox::backoff(e.attempts)).await;
            }
        }
    }
    hold.2 = true;
    sent
}

enum Outcome {
    Delivered,
    Unreachable,
    Later,
}

/// One try at an entry: its messages from the first unsent one.
async fn attempt(session: &Session, sink: &dyn Deliver, e: &mut OutboxEntry) -> Outcome {
    while e.sent < e.messages.len() {
        let m = e.messages[e.sent].clone();
        match sink.deliver(&e.to, vec![m]).await {
            Ok(()) => {
                e.sent += 1;
                if e.sent < e.messages.len()
                    && let Err(err) = session.outbox_progress(e).await
                {
                    crate::health::log_store_error("recording a message as sent", &err);
                }
            }
            Err(DeliveryError::Unreachable(_)) => {
                if let Err(err) = session.undeliverable(e).await {
                    crate::health::log_store_error("marking a recipient unreachable", &err);
                }
                finish(session, e).await;
                return Outcome::Unreachable;
            }
            Err(DeliveryError::Failed(why)) => {
                e.attempts += 1;
                tracing::warn!(
                    platform = e.platform(),
                    attempts = e.attempts,
                    "a message could not be delivered ({why}); it stays in the outbox and is tried again"
                );
                if let Err(err) = session.outbox_progress(e).await {
                    crate::health::log_store_error("recording a failed delivery", &err);
                }
                return Outcome::Later;
            }
        }
    }
    finish(session, e).await;
    Outcome::Delivered
}

async fn finish(session: &Session, e: &OutboxEntry) {
    if let Err(err) = session.outbox_done(e).await {
        crate::health::log_store_error("marking a message delivered", &err);
    }
}

/// Delivers what the outbox holds for `sink` once, in this task, without waiting out
/// back-offs: a failure is counted and stays in the outbox. For the terminal, transcripts and
/// tests; a running bot has [`run`].
pub async fn deliver_once(session: &Session, sink: &dyn Deliver) -> Sent {
    let mut sent = Sent::default();
    if session.store().shared()
        && let Err(e) = session.reload_outbox_for(&|to| sink.accepts(to)).await
    {
        crate::health::log_store_error("reading the outbox", &e);
    }
    for lane in session.claim_lanes(&|to| sink.accepts(to)) {
        while let Some(mut e) = session.lane_front(&lane) {
            match attempt(session, sink, &mut e).await {
                Outcome::Delivered => sent.delivered += 1,
                Outcome::Unreachable => sent.unreachable += 1,
                Outcome::Later => {
                    sent.failed += 1;
                    session.release_lane(&lane);
                    break;
                }
            }
        }
    }
    if let Err(e) = session.flush_marks().await {
        crate::health::log_store_error("recording delivered messages", &e);
    }
    sent
}

/// Handles everything due at `now` that `sink` can deliver, then delivers it once, in this
/// task (the terminal, transcripts and tests; a running bot has the scheduler and [`run`]).
pub async fn run_due(
    session: &Session,
    now: jiff::Timestamp,
    sink: &dyn Deliver,
) -> Result<DueRun, crate::store::StoreError> {
    let mut run = session.enqueue_due(now, &|to| sink.accepts(to)).await?;
    let sent = deliver_once(session, sink).await;
    run.delivered += sent.delivered;
    run.unreachable += sent.unreachable;
    run.failed += sent.failed;
    run.queued = run.queued.saturating_sub(sent.delivered + sent.unreachable);
    Ok(run)
}
