//! The platforms' roles: a platform's gateway (or poller), its scheduler and its sender run in
//! one process at a time among those sharing a store, elected through the store ([`Store::elect`]; a
//! PostgreSQL advisory lock), and taken over by another within seconds when that process dies
//! or loses its connection. Over sled one process owns the store and holds every role at once.

use crate::store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How long a process that is not elected waits before trying again: a dead holder's role is
/// taken over within this (and the server noticing the connection gone, which is at once when
/// the process died).
pub const TRY_AGAIN: Duration = Duration::from_secs(2);

/// What `work` is given: resolves when it should stop (the process stops, or the role was
/// lost).
pub type Until = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs `work` whenever this process holds `role`, until `stop` turns true: elected, it runs
/// `work` until the role is lost (then tries again) or the process stops; not elected, it
/// tries again every [`TRY_AGAIN`]. An error from `work` (a token refused, say) ends this.
pub async fn while_elected<F, Fut>(
    store: Arc<dyn Store>,
    role: &'static str,
    stop: tokio::sync::watch::Receiver<bool>,
    work: F,
) -> Result<(), String>
where
    F: Fn(Until) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let mut waiting_said = false;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let pause = match store.elect(role).await {
            Ok(Some(held)) => {
                if store.shared() {
                    tracing::info!(role, "this process now runs {role}");
                }
                waiting_said = false;
                let (lost, done) = (held.lost(), stopped(stop.clone()));
                let until: Until = Box::pin(async move {
                    tokio::select! {
                        _ = lost => {}
                        _ = done => {}
                    }
                });
                work(until).await?;
                if !held.is_lost() {
                    return Ok(());
                }
                tracing::warn!(
                    role,
                    "lost {role} (its database connection failed); another process takes over"
                );
                drop(held);
                TRY_AGAIN
            }
            Ok(None) => {
                if !waiting_said {
                    tracing::info!(role, "another process runs {role}; this one stands by");
                    waiting_said = true;
                }
                TRY_AGAIN
            }
            Err(e) => {
                tracing::warn!(role, "could not take part in the election for {role}: {e}");
                TRY_AGAIN
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped(stop.clone()) => return Ok(()),
        }
    }
}
