//! The interactions endpoint: Discord posts slash commands, button presses and modal submits
//! to `POST /discord/interactions` ([`PATH`]) once the application's Interactions Endpoint URL
//! is set in the developer portal (it then sends them there, and no longer over the gateway).
//! Every process may serve it behind the proxy that terminates TLS; the gateway (needed for
//! DMs) runs in one process at a time.
//!
//! Each request is checked before anything in it is read: the Ed25519 signature Discord makes
//! with the application's key over `X-Signature-Timestamp` followed by the body
//! (`X-Signature-Ed25519`) must verify against the application's public key ([`PublicKey`],
//! the `discord_public_key` setting), else the answer is 401 and nothing is parsed, stored or
//! sent (a refused request's body is read and dropped first, so the client reads the refusal,
//! not a broken pipe); bodies over [`MAX_BODY`] are refused with 413. A PING is answered
//! `{"type":1}`. Anything else goes to the same handlers as the gateway's interactions
//! ([`crate::discord::Adapter`]): the person's ticket and a modal's text are taken at once, as
//! the gateway's collector takes them, and the handler's first response (a deferral, a modal …)
//! is this request's answer ([`super::ack`]). Discord waits three seconds for it: a handler
//! that has not given one after [`FIRST_RESPONSE_WITHIN`] is answered for, with a deferral
//! (ephemeral in servers, so nothing shows in a channel that was meant to be private). Once the
//! answer is written the turn goes on, and its follow-ups go through the sender as they do for
//! the gateway's interactions.

use super::Adapter;
use super::ack::{self, Written};
use crate::http_server::{self, Limits};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Bytes, Frame};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use serenity::all::{
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseMessage,
    Interaction,
};
use serenity::interactions_endpoint::Verifier;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The path Discord posts interactions to (the Interactions Endpoint URL ends with it).
pub const PATH: &str = "/discord/interactions";

/// The largest body taken. An interaction is a few kilobytes (a modal's text is at most 4,000
/// characters); anything much larger is not Discord's.
pub const MAX_BODY: usize = 256 * 1024;

/// How long a handler has to give its first response before the endpoint defers for it
/// (Discord's limit is three seconds from its request).
pub const FIRST_RESPONSE_WITHIN: Duration = Duration::from_millis(2500);

/// How long a client may take to send its request (headers, then body).
const READ_WITHIN: Duration = Duration::from_secs(10);

/// The application's public key (from the developer portal's General Information page), which
/// every request's signature must verify against.
#[derive(Clone)]
pub struct PublicKey(Verifier);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey")
    }
}

impl PublicKey {
    /// Reads the key from its 64 hex digits, or says what is wrong with it.
    pub fn parse(hex: &str) -> Result<PublicKey, String> {
        let hex = hex.trim();
        let bytes = hex32(hex).ok_or_else(|| {
            "the Discord public key should be 64 hex digits (the application's Public Key in the developer portal, General Information)".to_string()
        })?;
        Verifier::try_new(bytes).map(PublicKey).map_err(|_| {
            "the Discord public key is not a valid Ed25519 key: copy the application's Public Key from the developer portal again".to_string()
        })
    }

    /// Whether `signature` (hex) signs `timestamp` followed by `body`.
    pub fn verifies(&self, signature: &str, timestamp: &str, body: &[u8]) -> bool {
        self.0.verify(signature, timestamp, body).is_ok()
    }
}

/// 32 bytes from 64 hex digits.
fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A response body that, once taken whole, tells the handler its first response is written.
struct Reply {
    data: Option<Bytes>,
    written: Option<Written>,
}

impl Reply {
    fn new(data: impl Into<Bytes>, written: Option<Written>) -> Reply {
        Reply {
            data: Some(data.into()),
            written,
        }
    }
}

impl Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        // Taken whole: written to the connection. Dropped unread: the request is gone, and the
        // handler is told so by the signal's drop.
        if self.data.is_none()
            && let Some(w) = self.written.take()
        {
            w.done();
        }
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>, written: Option<Written>) -> Response<Reply> {
    let mut r = Response::new(Reply::new(body, written));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Reads and drops what a refused request sends (at most the body limit, for a moment, and
/// nothing parsed or kept) before the refusal, so a client still writing reads the refusal
/// rather than a connection closed under it (a broken pipe).
async fn refuse(
    req: Request<hyper::body::Incoming>,
    status: StatusCode,
    what: &str,
) -> Response<Reply> {
    let body = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), body.collect()).await;
    error(status, what)
}

fn error(status: StatusCode, what: &str) -> Response<Reply> {
    reply(
        status,
        serde_json::json!({ "error": what }).to_string(),
        None,
    )
}

/// The first response as the HTTP body: serenity's JSON, with the adapter's empty allowed
/// mentions on a message or deferral that names none (as serenity adds them to a callback).
fn body_of(response: &CreateInteractionResponse) -> Vec<u8> {
    let mut v = serde_json::to_value(response).unwrap_or(Value::Null);
    if matches!(v["type"].as_u64(), Some(4 | 5 | 7))
        && let Some(data) = v.get_mut("data").and_then(Value::as_object_mut)
        && data.get("allowed_mentions").is_none_or(Value::is_null)
    {
        data.insert(
            "allowed_mentions".into(),
            serde_json::json!({"parse": [], "users": [], "roles": [], "replied_user": false}),
        );
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// What the endpoint answers for a handler too slow to: a deferral, ephemeral in servers (the
/// handler may have meant to answer privately, and a deferral's visibility cannot change
/// later); for autocomplete, which cannot be deferred, no suggestions.
fn fallback(kind: u64, in_server: bool) -> CreateInteractionResponse {
    if kind == 4 {
        return CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new());
    }
    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(in_server))
}

/// One request to the endpoint.
async fn respond(
    adapter: &Adapter,
    key: &PublicKey,
    req: Request<hyper::body::Incoming>,
) -> Response<Reply> {
    if req.uri().path() != PATH {
        return refuse(
            req,
            StatusCode::NOT_FOUND,
            "not found; Discord posts to /discord/interactions",
        )
        .await;
    }
    if req.method() != Method::POST {
        return refuse(req, StatusCode::METHOD_NOT_ALLOWED, "only POST").await;
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    };
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return refuse(req, StatusCode::UNAUTHORIZED, "invalid request signature").await;
    };
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    }
    let read = Limited::new(req.into_body(), MAX_BODY).collect();
    let bytes = match tokio::time::timeout(READ_WITHIN, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "too large");
        }
        _ => return error(StatusCode::BAD_REQUEST, "the body could not be read"),
    };
    if !key.verifies(&signature, &timestamp, &bytes) {
        // Debug only: Discord itself sends a forged request when the URL is saved, and anyone
        // on the internet can post; every request refused this way is a 401 in the proxy's log.
        tracing::debug!("an interaction with a bad signature was refused (401)");
        return error(StatusCode::UNAUTHORIZED, "invalid request signature");
    }
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return error(StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let kind = value["type"].as_u64().unwrap_or(0);
    if kind == 1 {
        return reply(StatusCode::OK, r#"{"type":1}"#, None);
    }
    // Errors are logged by kind only: serde's messages may quote what a person typed.
    let in_server = value["guild_id"].is_string();
    let app = value["application_id"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok());
    let interaction: Interaction = match serde_json::from_value(value) {
        Ok(i) => i,
        Err(_) => {
            tracing::warn!(kind, "an interaction could not be read");
            return error(StatusCode::BAD_REQUEST, "not an interaction this bot reads");
        }
    };
    let handler = adapter.handler.clone();
    // The follow-ups go under this application (a process without the gateway learns it here).
    if let Some(app) = app.filter(|a| *a != 0)
        && handler.http.application_id().is_none()
    {
        handler.http.set_application_id(app.into());
    }
    super::intake(&handler.tickets, &handler.session, &interaction);
    let (ack, first) = ack::over_http();
    tokio::spawn(async move { handler.interaction(interaction, ack).await });
    let answer = first
        .wait(FIRST_RESPONSE_WITHIN, || fallback(kind, in_server))
        .await;
    if answer.fell_back {
        tracing::warn!(
            kind,
            "an interaction was deferred by the endpoint (its handler was slow)"
        );
    }
    match answer.response {
        Some(r) => reply(StatusCode::OK, body_of(&r), Some(answer.written)),
        None => {
            tracing::warn!(kind, "an interaction's handler gave no first response");
            error(StatusCode::INTERNAL_SERVER_ERROR, "no response")
        }
    }
}

/// Serves the endpoint on `listener` until `shutdown` resolves (hyper's HTTP/1 server, one task
/// per connection); plain HTTP, for the proxy in front that terminates TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    adapter: Adapter,
    key: PublicKey,
    shutdown: impl Future<Output = ()>,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "Discord interactions endpoint: POST {PATH}");
    }
    let limits = Limits {
        connection_for: None,
        headers_within: Some(READ_WITHIN),
    };
    let service = move |req| {
        let (adapter, key) = (adapter.clone(), key.clone());
        async move { respond(&adapter, &key, req).await }
    };
    http_server::serve(
        listener,
        "the interactions endpoint",
        limits,
        service,
        shutdown,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_is_64_hex_digits_of_a_valid_key() {
        // Discord's example key (serenity's documentation).
        let good = "67c6bd767ca099e79efac9fcce4d2022a63bf7dea780e7f3d813f694c1597089";
        assert!(PublicKey::parse(good).is_ok());
        assert!(PublicKey::parse(&good.to_uppercase()).is_ok());
        for bad in [
            "",
            "67c6bd",
            &good[1..],
            &format!("{good}00"),
            &good.replace('6', "g"),
        ] {
            let e = PublicKey::parse(bad).unwrap_err();
            assert!(e.contains("64 hex digits"), "{e}");
        }
        assert!(!PublicKey::parse(good).unwrap().verifies("00", "1", b"{}"));
    }

    #[test]
    fn a_deferral_as_a_body_names_no_mentions() {
        let d = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        let v: Value = serde_json::from_slice(&body_of(&d)).unwrap();
        assert_eq!(v["type"], 5);
        assert_eq!(v["data"]["flags"], 64);
        assert_eq!(
            v["data"]["allowed_mentions"]["parse"],
            serde_json::json!([])
        );
        let v: Value =
            serde_json::from_slice(&body_of(&CreateInteractionResponse::Acknowledge)).unwrap();
        assert_eq!(v["type"], 6);
    }

    #[test]
    fn the_endpoints_own_answer_is_private_in_servers_and_fits_autocomplete() {
        let v = serde_json::to_value(fallback(2, true)).unwrap();
        assert_eq!(
            (v["type"].as_u64(), v["data"]["flags"].as_u64()),
            (Some(5), Some(64))
        );
        let v = serde_json::to_value(fallback(3, false)).unwrap();
        assert_eq!(
            (v["type"].as_u64(), v["data"]["flags"].as_u64()),
            (Some(5), Some(0))
        );
        let v = serde_json::to_value(fallback(4, true)).unwrap();
        assert_eq!(v["type"], 8);
    }
}
