//! How an interaction's first response reaches Discord, kept apart from which response it is.
//!
//! The handlers in [`crate::discord`] choose the first response (a deferral, a modal …) and hand
//! it to an [`Acknowledge`]; where it goes depends on how the interaction came:
//!
//! - **over the gateway**, it is posted to the interaction's callback
//!   (`POST /interactions/{id}/{token}/callback`), and the handler goes on once Discord has
//!   taken it;
//! - **over HTTP** (the interactions endpoint, [`crate::discord::endpoint`]), Discord waits for
//!   it as the body of its own request: the handler's response is handed to the endpoint
//!   ([`FirstResponse`]), which writes it, and the handler goes on once it is written. Should
//!   the handler take too long, the endpoint answers a deferral of its own first
//!   ([`FirstResponse::wait`]); the handler's late response is then dropped (logged) and its
//!   turn still goes on, since a deferred interaction takes follow-ups all the same.
//!
//! This module knows nothing of the adapter: it moves a `CreateInteractionResponse`.

use serenity::all::{CreateInteractionResponse, Http, InteractionId};
use serenity::builder::Builder as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How long a handler over HTTP waits for its response to be written before it gives up (the
/// endpoint answers within three seconds, so this is a connection gone quiet).
const WRITTEN_WITHIN: Duration = Duration::from_secs(5);

/// Why a first response did not reach Discord: the handler then stops (no turn), as the
/// interaction was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// Discord's callback refused it, or could not be reached.
    #[error("the interaction callback failed: {0}")]
    Callback(String),
    /// Over HTTP, the request ended before its answer was written (Discord gave up on it).
    #[error("the interaction's HTTP request ended before it was answered")]
    Gone,
}

/// Where a handler's first response goes.
pub enum Acknowledge {
    /// An interaction from the gateway: its callback, by id and token.
    Gateway {
        /// The REST client.
        http: Arc<Http>,
        /// The interaction's id.
        id: InteractionId,
        /// The interaction's token.
        token: String,
    },
    /// An interaction from the endpoint: the HTTP request waiting for its body.
    Endpoint(Arc<Slot>),
}

impl Acknowledge {
    /// Sends the first response; returns once Discord has it (gateway) or it is written as
    /// the HTTP answer (endpoint), so the turn's follow-ups come after it.
    pub async fn send(&self, response: CreateInteractionResponse) -> Result<(), AckError> {
        match self {
            Acknowledge::Gateway { http, id, token } => response
                .execute(&**http, (*id, token))
                .await
                .map_err(|e| AckError::Callback(e.to_string())),
            Acknowledge::Endpoint(slot) => slot.answer(response).await,
        }
    }
}

/// What became of an HTTP interaction's first response.
enum State {
    /// The endpoint is waiting for it.
    Waiting(oneshot::Sender<CreateInteractionResponse>),
    /// The handler gave it.
    Given,
    /// The endpoint answered a deferral of its own first.
    FellBack,
}

/// The meeting point of a handler and the endpoint's request for one interaction.
pub struct Slot {
    state: Mutex<State>,
    /// True once the answer (the handler's or the endpoint's own) has been written; closed
    /// without it when the request ended first.
    written: watch::Receiver<bool>,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn answer(&self, response: CreateInteractionResponse) -> Result<(), AckError> {
        let was = {
            let mut state = self.lock();
            match *state {
                // Keep what the endpoint did: its deferral takes follow-ups.
                State::FellBack => State::FellBack,
                _ => std::mem::replace(&mut *state, State::Given),
            }
        };
        let given = match was {
            State::Waiting(tx) => tx.send(response).is_ok(),
            State::FellBack => {
                tracing::warn!(
                    "an interaction's first response came too late; the endpoint had deferred it"
                );
                true
            }
            State::Given => {
                tracing::warn!("an interaction was given a second first response; ignored");
                true
            }
        };
        if !given {
            return Err(AckError::Gone);
        }
        let mut written = self.written.clone();
        match tokio::time::timeout(WRITTEN_WITHIN, written.wait_for(|w| *w)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(AckError::Gone),
        }
    }
}

/// The endpoint's side of one HTTP interaction: it waits for the handler's first response.
pub struct FirstResponse {
    slot: Arc<Slot>,
    rx: oneshot::Receiver<CreateInteractionResponse>,
    written: watch::Sender<bool>,
}

/// The two sides of an HTTP interaction's first response: the handler's [`Acknowledge`] and
/// the endpoint's [`FirstResponse`].
pub fn over_http() -> (Acknowledge, FirstResponse) {
    let (tx, rx) = oneshot::channel();
    let (written, written_rx) = watch::channel(false);
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Waiting(tx)),
        written: written_rx,
    });
    (
        Acknowledge::Endpoint(slot.clone()),
        FirstResponse { slot, rx, written },
    )
}

/// What the endpoint answers, and the signal to give once it is written.
pub struct Answer {
    /// The first response (the handler's, or the endpoint's own deferral); `None` when the
    /// handler ended without one.
    pub response: Option<CreateInteractionResponse>,
    /// True when the endpoint answered with its own deferral (the handler was too slow).
    pub fell_back: bool,
    /// Set it (with [`Written::done`]) once the answer is written, so the handler goes on.
    pub written: Written,
}

/// Tells the handler its first response has been written; dropped unsent, it tells the
/// handler the request is gone.
pub struct Written(watch::Sender<bool>);

impl Written {
    /// The answer is written.
    pub fn done(self) {
        let _ = self.0.send(true);
    }
}

impl FirstResponse {
    /// Waits up to `within` for the handler's first response; after that, answers `fallback`
    /// itself (the handler's response, should it come later, is dropped).
    pub async fn wait(
        mut self,
        within: Duration,
        fallback: impl FnOnce() -> CreateInteractionResponse,
    ) -> Answer {
        let written = Written(self.written);
        match tokio::time::timeout(within, &mut self.rx).await {
            Ok(r) => Answer {
                response: r.ok(),
                fell_back: false,
                written,
            },
            Err(_) => {
                let fell_back = {
                    let mut state = self.slot.lock();
                    if matches!(*state, State::Waiting(_)) {
                        *state = State::FellBack;
                        true
                    } else {
                        false
                    }
                };
                let response = if fell_back {
                    Some(fallback())
                } else {
                    // Given just as the wait ended: it is in the channel.
                    self.rx.await.ok()
                };
                Answer {
                    response,
                    fell_back,
                    written,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defer() -> CreateInteractionResponse {
        CreateInteractionResponse::Defer(Default::default())
    }

    #[tokio::test]
    async fn a_prompt_response_is_the_answer_and_the_handler_goes_on_once_written() {
        let (ack, first) = over_http();
        let handler = tokio::spawn(async move { ack.send(CreateInteractionResponse::Pong).await });
        let answer = first
            .wait(Duration::from_secs(2), || unreachable!("no fallback"))
            .await;
        assert!(!answer.fell_back);
        assert!(matches!(
            answer.response,
            Some(CreateInteractionResponse::Pong)
        ));
        assert!(!handler.is_finished());
        answer.written.done();
        assert!(handler.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_slow_handler_meets_the_endpoints_deferral_and_still_goes_on() {
        let (ack, first) = over_http();
        let answer = first.wait(Duration::from_millis(20), defer).await;
        assert!(answer.fell_back);
        answer.written.done();
        assert!(ack.send(CreateInteractionResponse::Pong).await.is_ok());
    }

    #[tokio::test]
    async fn a_request_that_ended_stops_the_handler() {
        let (ack, first) = over_http();
        drop(first);
        assert!(matches!(
            ack.send(CreateInteractionResponse::Pong).await,
            Err(AckError::Gone)
        ));
        let (ack, first) = over_http();
        let waiting = tokio::spawn(async move { ack.send(CreateInteractionResponse::Pong).await });
        let answer = first.wait(Duration::from_secs(2), defer).await;
        drop(answer);
        assert!(matches!(waiting.await.unwrap(), Err(AckError::Gone)));
    }
}
