//! The scheduler: one task that sleeps until the next reminder or challenge step is due (or a
//! turn adds an earlier one) and turns what is due into outbox entries through the session
//! (and, at start and daily, runs the retention sweep: [`Session::sweep_retention`]);
//! the [`crate::sender`] delivers them, retrying what fails.
//!
//! Due times live in the store's index (the scheduler's own inbox: durable, and each due turn
//! recorded in the ledger so it applies once), so after a restart overdue reminders are found
//! at once: delivered late (saying so), or skipped with a note when more than a day late.

use crate::session::Session;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How often the retention sweep runs (and once at start).
pub const RETENTION_SWEEP: Duration = Duration::from_secs(24 * 3600);

/// The longest the scheduler sleeps before looking again, whatever the index says.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The longest sleep over a store other processes share: an entry claimed by a process that
/// then died is free again when its lease runs out, and nobody says so, so the scheduler looks
/// this often (one small query) to deliver it soon after.
pub const SHARED_MAX_SLEEP: Duration = Duration::from_secs(10);

/// The earliest due time after `now` within the longest sleep. Entries due at or before `now`
/// were all looked at by the sweep just run; those still in the index (a record that cannot be
/// read, a platform this process does not serve, a sweep that failed) are looked at again
/// within [`MAX_SLEEP`], and must not hold back the entries due after them.
async fn next_after(session: &Session, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let horizon = now
        .checked_add(jiff::SignedDuration::try_from(MAX_SLEEP).ok()?)
        .ok()?;
    let due = session.store().due_until(horizon).await.ok()?;
    due.into_iter().map(|e| e.at).find(|at| *at > now)
}

/// Runs until `shutdown` resolves, for the recipients `accepts` (the platforms this process
/// serves).
pub async fn run(
    session: Arc<Session>,
    accepts: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut pruned = std::time::Instant::now();
    let mut swept: Option<std::time::Instant> = None;
    // The sweep reads every record (a minute or more for a million people): in a task of its
    // own, so reminders due meanwhile are not held up; one at a time.
    let mut sweeping: Option<tokio::task::JoinHandle<()>> = None;
    let longest = if session.store().shared() {
        SHARED_MAX_SLEEP
    } else {
        MAX_SLEEP
    };
    // Taken before the first look, so a reminder added during it wakes the next sleep.
    let mut changes = session.reminder_changes();
    loop {
        let now = session.now();
        if let Err(e) = session.enqueue_due(now, accepts.as_ref()).await {
            crate::health::log_store_error("handling due reminders", &e);
        }
        // Retention: at start, then daily (engine::retention).
        if swept.is_none_or(|t| t.elapsed() > RETENTION_SWEEP)
            && sweeping.as_ref().is_none_or(|t| t.is_finished())
        {
            swept = Some(std::time::Instant::now());
            let (session, accepts) = (session.clone(), accepts.clone());
            sweeping = Some(tokio::spawn(async move {
                if let Err(e) = session.sweep_retention(now, accepts.as_ref()).await {
                    crate::health::log_store_error("the retention sweep", &e);
                }
            }));
        }
        if pruned.elapsed() > Duration::from_secs(3600) {
            pruned = std::time::Instant::now();
            // Platforms replay only recent events; the ledger keeps a week.
            let week = jiff::SignedDuration::from_hours(24 * 7);
            if let Ok(cut) = now.checked_sub(week)
                && let Err(e) = session.store().prune_events(cut).await
            {
                session.health().store_error("pruning the event ledger", &e);
                tracing::warn!("pruning the event ledger failed: {e}");
            }
            if let Err(e) = session.prune_link_codes(now).await {
                crate::health::log_store_error("dropping link codes that ran out", &e);
            }
        }
        let sleep = match next_after(&session, now).await {
            Some(t) => Duration::try_from(t.duration_since(session.now()))
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), longest),
            None => longest,
        };
        tokio::select! {
            _ = &mut shutdown => {
                if let Some(t) = sweeping {
                    t.abort();
                }
                return;
            }
            _ = tokio::time::sleep(sleep) => {}
            _ = session.reminders_changed(&mut changes) => {}
        }
    }
}
