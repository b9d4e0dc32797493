//! The scheduler: one task that sleeps until the next reminder or challenge step is due (or a
//! turn adds an earlier one) and turns what is due into outbox entries through the session;
//! the [`crate::sender`] delivers them, retrying what fails.
//!
//! Due times live in the store's index (the scheduler's own inbox: durable, and each due turn
//! recorded in the ledger so it applies once), so after a restart overdue reminders are found
//! at once: delivered late (saying so), or skipped with a note when more than a day late.

use crate::session::Session;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The longest the scheduler sleeps before looking again, whatever the index says.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Runs until `shutdown` resolves, for the recipients `accepts` (the platforms this process
/// serves).
pub async fn run(
    session: Arc<Session>,
    accepts: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut pruned = std::time::Instant::now();
    loop {
        let now = session.now();
        let handled = match session.enqueue_due(now, accepts.as_ref()).await {
            Ok(r) => r.queued + r.silent,
            Err(e) => {
                crate::health::log_store_error("handling due reminders", &e);
                0
            }
        };
        if pruned.elapsed() > Duration::from_secs(3600) {
            pruned = std::time::Instant::now();
            // Platforms replay only recent events; the ledger keeps a week.
            let week = jiff::SignedDuration::from_hours(24 * 7);
            if let Ok(cut) = now.checked_sub(week)
                && let Err(e) = session.store().prune_events(cut)
            {
                session.health().store_error("pruning the event ledger", &e);
                tracing::warn!("pruning the event ledger failed: {e}");
            }
        }
        let next = session.store().next_due().ok().flatten();
        let sleep = match next {
            // Something is due now that this process does not serve: look again later.
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
