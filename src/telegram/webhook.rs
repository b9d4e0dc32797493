//! Telegram's updates over HTTP (a webhook) instead of polling: the small hyper server that
//! takes them, and the deploy-time Bot API calls that register it (`setWebhook`,
//! `deleteWebhook`, `getWebhookInfo`, run by `lensbot telegram set-webhook` and its siblings,
//! never by a serving process).
//!
//! **What a request gets.** Only `POST` to the configured path is heard (404 elsewhere, 405
//! for another method). The `X-Telegram-Bot-Api-Secret-Token` header is compared with the
//! secret in constant time (`subtle`; only the length can show through the timing, not the
//! characters): missing or wrong is a 401 and nothing is parsed or kept (a refused request's
//! body is read and dropped first, so the client reads the refusal, not a broken pipe). A body
//! declared over [`MAX_BODY`] is a 413 at once (a client still writing it may see the
//! connection close instead). While the process is stopping, or once the store has failed, the
//! answer is 503 and Telegram (or the load balancer, trying another process) sends it again.
//! Otherwise the update goes to the [`Intake`] (the adapter's, shared with polling: the
//! ledger of applied events, then the inbox, flushed), and the answer is **200 only after the
//! update is durable in the inbox**; 503 when it could not be kept, so Telegram retries.
//! An update already in the ledger (Telegram retrying after a lost 200) is a 200 with nothing
//! kept again. An update that cannot be read is a 200 too, logged by id, as polling skips it:
//! otherwise Telegram would send it again for ever.
//!
//! TLS ends at the reverse proxy in front (Telegram posts only to HTTPS on ports 443, 80, 88
//! or 8443); this server speaks plain HTTP/1.1. The secret is never logged, and `Config`'s
//! `Debug` redacts it.

use super::api::{self, Api, Polled};
use crate::http_server::{self, Limits};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The header Telegram sends the secret in (`secret_token` of `setWebhook`).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The largest body taken (an update is a few kilobytes; a message's text is at most 4,096
/// characters).
pub const MAX_BODY: usize = 1 << 20;

/// How long a request's body may take to arrive once its headers have.
const BODY_WITHIN: Duration = Duration::from_secs(10);

/// How long one connection is kept (Telegram keeps its connections open and opens new ones as
/// it needs them).
const CONNECTION_FOR: Duration = Duration::from_secs(300);

/// Where to listen and what to accept.
#[derive(Clone)]
pub struct Config {
    /// The address to listen on (behind the reverse proxy that ends TLS).
    pub addr: SocketAddr,
    /// The path Telegram posts to (`/telegram` by default).
    pub path: String,
    /// The secret token registered with `setWebhook`: never logged.
    pub secret: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("path", &self.path)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What became of an update handed to the [`Intake`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Durable in the inbox (or known to the ledger already): Telegram may forget it.
    Kept,
    /// Not kept (the store failed or is failing): Telegram must send it again.
    NotKept,
}

/// Takes one update into the inbox, resolving once it is durable (or has failed). Built by
/// the adapter, which shares it with polling.
pub type Intake = Arc<dyn Fn(Polled) -> Pin<Box<dyn Future<Output = Taken> + Send>> + Send + Sync>;

/// The server's shared state: the settings, the intake, and whether the process is stopping.
struct Endpoint {
    config: Config,
    intake: Intake,
    stopping: AtomicBool,
}

/// Whether the secret a request carried is the configured one, compared in constant time.
fn secret_matches(given: Option<&[u8]>, secret: &str) -> bool {
    match given {
        Some(g) => bool::from(g.ct_eq(secret.as_bytes())),
        None => false,
    }
}

/// Reads and drops what a refused request sends (at most [`MAX_BODY`], for a moment) before
/// the refusal goes out, so a client still writing its body reads the refusal as the answer
/// rather than a connection closed under it (a broken pipe). Nothing read is kept or parsed.
async fn refuse(req: Request<hyper::body::Incoming>, code: u16) -> u16 {
    let body = Limited::new(req.into_body(), MAX_BODY);
    let _ = tokio::time::timeout(Duration::from_secs(2), body.collect()).await;
    code
}

/// Answers one request with a status code (see the module docs for which and why).
async fn answer(endpoint: &Endpoint, req: Request<hyper::body::Incoming>) -> u16 {
    if req.uri().path() != endpoint.config.path {
        return refuse(req, 404).await;
    }
    if req.method() != Method::POST {
        return refuse(req, 405).await;
    }
    let given = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !secret_matches(given, &endpoint.config.secret) {
        tracing::warn!("a webhook request without the right secret was refused");
        return refuse(req, 401).await;
    }
    if endpoint.stopping.load(Ordering::SeqCst) {
        return refuse(req, 503).await;
    }
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return 413;
    }
    let body = Limited::new(req.into_body(), MAX_BODY);
    let bytes = match tokio::time::timeout(BODY_WITHIN, body.collect()).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return 413,
        // The sender broke off or was too slow: whatever it is told, it sends again.
        Ok(Err(_)) | Err(_) => return 400,
    };
    let Some(update) = std::str::from_utf8(&bytes).ok().and_then(api::read_one) else {
        // Not even an id: nothing to keep, and a retry would be the same.
        tracing::warn!("a webhook update without a readable id was skipped");
        return 200;
    };
    match (endpoint.intake)(update).await {
        Taken::Kept => 200,
        Taken::NotKept => 503,
    }
}

/// Serves the webhook on `listener` until `shutdown` resolves (hyper's HTTP/1 server, one task
/// per connection). From then on it accepts no connection, and requests on connections still
/// open are answered 503 (another process, or a later start, takes them).
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    intake: Intake,
    shutdown: impl Future<Output = ()>,
) {
    let endpoint = Arc::new(Endpoint {
        config,
        intake,
        stopping: AtomicBool::new(false),
    });
    let limits = Limits {
        connection_for: Some(CONNECTION_FOR),
        headers_within: None,
    };
    let serving = endpoint.clone();
    let service = move |req: Request<hyper::body::Incoming>| {
        let endpoint = serving.clone();
        async move {
            let code = answer(&endpoint, req).await;
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() =
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if code == 405 {
                resp.headers_mut().insert(
                    hyper::header::ALLOW,
                    hyper::header::HeaderValue::from_static("POST"),
                );
            }
            resp
        }
    };
    http_server::serve(listener, "the Telegram webhook", limits, service, shutdown).await;
    endpoint.stopping.store(true, Ordering::SeqCst);
}

/// `setWebhook`'s body: the URL, the secret, the kinds of update lensbot handles, and the
/// options given.
pub fn set_webhook_body(
    url: &str,
    secret: &str,
    max_connections: Option<u8>,
    drop_pending_updates: bool,
) -> Value {
    let mut body = json!({
        "url": url,
        "secret_token": secret,
        "allowed_updates": api::ALLOWED_UPDATES,
    });
    if let Some(n) = max_connections {
        body["max_connections"] = json!(n);
    }
    if drop_pending_updates {
        body["drop_pending_updates"] = json!(true);
    }
    body
}

/// Registers the webhook with Telegram (`setWebhook`): a deploy step, never done by `serve`.
pub async fn set_webhook(api: &Api, body: &Value) -> Result<(), String> {
    api.call("setWebhook", body, Duration::from_secs(30))
        .await
        .map(|_| ())
        .map_err(|f| in_words(&f))
}

/// Removes the webhook (`deleteWebhook`), so the bot can poll again; pending updates kept
/// unless `drop_pending_updates`.
pub async fn delete_webhook(api: &Api, drop_pending_updates: bool) -> Result<(), String> {
    let body = if drop_pending_updates {
        json!({"drop_pending_updates": true})
    } else {
        json!({})
    };
    api.call("deleteWebhook", &body, Duration::from_secs(30))
        .await
        .map(|_| ())
        .map_err(|f| in_words(&f))
}

/// Asks Telegram how the webhook stands (`getWebhookInfo`): its `WebhookInfo`.
pub async fn webhook_info(api: &Api) -> Result<Value, String> {
    api.call("getWebhookInfo", &json!({}), Duration::from_secs(30))
        .await
        .map_err(|f| in_words(&f))
}

/// A `WebhookInfo` in words, a line each: the URL (or that the bot polls), the updates
/// waiting, the most recent delivery error and when, and the connection limit.
pub fn describe_info(info: &Value) -> String {
    let mut lines = Vec::new();
    match info["url"].as_str().filter(|u| !u.is_empty()) {
        Some(url) => lines.push(format!("Webhook: {url}")),
        None => lines.push(
            "Webhook: none (the bot takes updates by polling, as `lensbot telegram` does)"
                .to_string(),
        ),
    }
    lines.push(format!(
        "Updates waiting to be delivered: {}",
        info["pending_update_count"].as_u64().unwrap_or(0)
    ));
    match info["last_error_message"].as_str() {
        Some(why) => {
            let when = info["last_error_date"]
                .as_i64()
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map(|t| format!(" (at {t})"))
                .unwrap_or_default();
            lines.push(format!("Most recent delivery error: {why}{when}"));
        }
        None => lines.push("Most recent delivery error: none".to_string()),
    }
    if let Some(n) = info["max_connections"].as_u64() {
        lines.push(format!("Connections at most: {n}"));
    }
    if let Some(kinds) = info["allowed_updates"].as_array() {
        let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
        lines.push(format!("Update kinds: {}", kinds.join(", ")));
    }
    lines.join("\n")
}

/// What is wrong when Telegram's `WebhookInfo` disagrees with how this process takes updates
/// (`webhook_on`: through `telegram_webhook`), for `serve --check --online`: a webhook set
/// while polling (Telegram refuses `getUpdates`), or none while the process waits for one.
pub fn mismatch(info: &Value, webhook_on: bool) -> Option<String> {
    let url = info["url"].as_str().unwrap_or("");
    match (webhook_on, url.is_empty()) {
        (true, true) => Some(
            "no webhook is registered, so no update reaches telegram_webhook: run `lensbot telegram set-webhook URL` (deploy/README.md)"
                .to_string(),
        ),
        (false, false) => Some(format!(
            "a webhook is registered ({url}), so Telegram refuses polling: run `lensbot telegram delete-webhook`, or set telegram_webhook to take updates through it"
        )),
        _ => None,
    }
}

/// A failed Bot API call in words a person running the command can act on.
fn in_words(f: &api::Failure) -> String {
    match f {
        api::Failure::Refused(code, why) => format!("Telegram refused it ({code}): {why}"),
        api::Failure::Unreachable(why) => format!("Telegram refused it: {why}"),
        api::Failure::Transient(why) => {
            format!("Telegram could not be asked ({why}); try again")
        }
        api::Failure::RetryAfter(d) => {
            format!("Telegram asked to wait {}s; try again then", d.as_secs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_must_match_exactly() {
        assert!(secret_matches(Some(b"s3cret_-X"), "s3cret_-X"));
        assert!(!secret_matches(Some(b"s3cret_-x"), "s3cret_-X"));
        assert!(!secret_matches(Some(b"s3cret_-X "), "s3cret_-X"));
        assert!(!secret_matches(Some(b""), "s3cret_-X"));
        assert!(!secret_matches(None, "s3cret_-X"));
    }

    #[test]
    fn the_secret_is_never_in_debug() {
        let c = Config {
            addr: "127.0.0.1:8443".parse().unwrap(),
            path: "/telegram".into(),
            secret: "do-not-show-me".into(),
        };
        assert!(!format!("{c:?}").contains("do-not-show-me"));
    }

    #[test]
    fn webhook_info_reads_as_words() {
        let text = describe_info(&json!({"url": "https://bot.example.org/telegram",
            "has_custom_certificate": false, "pending_update_count": 3,
            "last_error_date": 1767600000, "last_error_message": "Wrong response from the webhook: 503 Service Unavailable",
            "max_connections": 40}));
        assert!(
            text.contains("Webhook: https://bot.example.org/telegram"),
            "{text}"
        );
        assert!(text.contains("waiting to be delivered: 3"), "{text}");
        assert!(text.contains("503 Service Unavailable (at 2026-"), "{text}");
        let none = describe_info(
            &json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}),
        );
        assert!(
            none.contains("none (the bot takes updates by polling"),
            "{none}"
        );
        assert!(none.contains("delivery error: none"), "{none}");
    }
}
