//! The scheduler: one task that sleeps until the next reminder is due (or a turn adds an
//! earlier one), hands due reminders to the session, and delivers what they say.
//!
//! Due times live in the store's index, so after a restart overdue reminders are found at
//! once: delivered late (saying so), or skipped with a note when more than a day late. Each
//! adapter supplies a [`Deliver`] for the people it can reach.

use crate::engine::Message;
use crate::session::Session;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The platform says the person cannot be reached (blocked the bot, DMs closed).
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// Anything else (network, platform error).
    #[error("delivery failed: {0}")]
    Failed(String),
}

/// A boxed future, so [`Deliver`] stays object-safe without extra crates.
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Sends reminder messages to people on one platform (or in the terminal).
pub trait Deliver: Send + Sync {
    /// Whether this sink can reach the person (their key names its platform).
    fn accepts(&self, user: &str) -> bool;
    /// Sends the messages.
    fn deliver<'a>(&'a self, user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a>;
}

/// The longest the scheduler sleeps before looking again, whatever the index says.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Runs until `shutdown` resolves.
pub async fn run(
    session: Arc<Session>,
    sink: Arc<dyn Deliver>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let now = session.now();
        let handled = match session.run_due(now, sink.as_ref()).await {
            Ok(r) => r.delivered + r.silent + r.unreachable + r.failed,
            Err(_) => 0,
        };
        let next = session.store().next_due().ok().flatten();
        let sleep = match next {
            // Something is due now that this sink cannot deliver: look again later.
            Some(t) if t <= now && handled == 0 => MAX_SLEEP,
            Some(t) => Duration::try_from(t.duration_since(session.now()))
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), MAX_SLEEP),
            None => MAX_SLEEP,
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(sleep) => {}
            _ = session.reminders_changed() => {}
        }
    }
}
