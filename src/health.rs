//! The process's health, as `lensbot serve` reports it on `GET /healthz` (bound to
//! [`DEFAULT_ADDR`] unless configured otherwise), and the rule that a failing store stops the
//! process.
//!
//! [`Health`] is shared by everything in a process: the store's state (healthy, degraded with a
//! reason, failing with a reason), each platform's connection, and, when the report is made,
//! the outbox's depth and the age of its oldest unsent message. The report is JSON; the answer
//! is 200 while the store is healthy or degraded and 503 once it fails.
//!
//! **A failing store ends the process.** sled keeps the first I/O error it meets (a full disk,
//! say) and fails every later write even after the cause has gone, so the only recovery is a
//! fresh process. The first I/O error ([`Health::store_error`]) marks the store failing, logs
//! one error-level line, and resolves [`Health::failed`]; `serve` then stops the way it stops on
//! SIGTERM and exits with [`EXIT_STORE_FAILED`] so its supervisor starts it again. Nothing
//! acknowledged is lost: what a platform was told was taken is in the inbox, what a person was
//! told was saved is in the store with its reply in the outbox, and the next start finishes both.

use crate::http_server::{self, Limits};
use crate::store::StoreError;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The exit code of a process stopped by a failing store (EX_TEMPFAIL: "try again later"); any
/// supervisor that restarts on failure (systemd's `Restart=on-failure`, Docker's
/// `restart: unless-stopped`) starts it again.
pub const EXIT_STORE_FAILED: i32 = 75;

/// Where the health endpoint listens unless `health` / `LENSBOT_HEALTH` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9631";

/// A platform whose last success is older than this counts as disconnected (Telegram's long
/// polls end every ten seconds when all is well).
pub const STALE: Duration = Duration::from_secs(60);

/// An unsent message older than this makes the process degraded (the sender's back-off is at
/// most a minute, so a healthy outbox never holds one this old).
pub const OUTBOX_STALE: Duration = Duration::from_secs(15 * 60);

/// The store's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreHealth {
    /// Reads and writes work.
    Healthy,
    /// It serves, with a caveat the operator should see (opened with accepted damage, records
    /// that cannot be read): the reason, short and without anyone's words.
    Degraded(String),
    /// A write or flush failed: the process is stopping. The reason, short.
    Failing(String),
}

impl StoreHealth {
    fn word(&self) -> &'static str {
        match self {
            StoreHealth::Healthy => "healthy",
            StoreHealth::Degraded(_) => "degraded",
            StoreHealth::Failing(_) => "failing",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            StoreHealth::Healthy => None,
            StoreHealth::Degraded(r) | StoreHealth::Failing(r) => Some(r),
        }
    }
}

/// One platform's connection as last seen.
#[derive(Debug, Clone, Default)]
struct Link {
    /// Connected now (a gateway that said ready), when the platform reports it so.
    connected: bool,
    /// The last success (a `getUpdates` that answered), when the platform is judged by that.
    last_ok: Option<Instant>,
    /// Judged by `last_ok` rather than `connected`.
    polled: bool,
}

impl Link {
    fn is_connected(&self, now: Instant) -> bool {
        if self.polled {
            self.last_ok
                .is_some_and(|t| now.saturating_duration_since(t) < STALE)
        } else {
            self.connected
        }
    }
}

/// The shared health state of one process (see the module docs).
pub struct Health {
    store: Mutex<StoreHealth>,
    platforms: Mutex<BTreeMap<String, Link>>,
    failed: tokio::sync::watch::Sender<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            store: Mutex::new(StoreHealth::Healthy),
            platforms: Mutex::new(BTreeMap::new()),
            failed: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// Whether a store error is the kind that ends the process (an I/O error: sled keeps it).
pub fn is_fatal(e: &StoreError) -> bool {
    matches!(e, StoreError::Io(_))
}

/// Logs a store error met while doing `what`: at error level, except an I/O error, whose one
/// error line the health state has written already (the process is stopping), at warn.
pub fn log_store_error(what: &str, e: &StoreError) {
    if is_fatal(e) {
        tracing::warn!("{what} failed: {e}");
    } else {
        tracing::error!("{what} failed: {e}");
    }
}

impl Health {
    /// A healthy state with no platforms yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the store's state. `Failing` is final for the process (sled latches its first I/O
    /// error): a later `Healthy` or `Degraded` is ignored. The first `Failing` logs one
    /// error-level line and resolves [`Health::failed`]. The main use from outside the session:
    /// `set_store(StoreHealth::Degraded(reason))` when the store opened with accepted damage
    /// or holds records that cannot be read.
    pub fn set_store(&self, state: StoreHealth) {
        let mut s = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*s, StoreHealth::Failing(_)) {
            return;
        }
        if let StoreHealth::Failing(why) = &state {
            tracing::error!(
                exit_code = EXIT_STORE_FAILED,
                "the store failed ({why}); lensbot is stopping so its supervisor can restart it"
            );
            *s = state;
            drop(s);
            self.failed.send_replace(true);
            return;
        }
        *s = state;
    }

    /// Records a store error met while doing `what` ("writing a turn"): an I/O error marks the
    /// store failing (see [`Health::set_store`]); other errors (one unreadable record) do not.
    /// True when it was an I/O error.
    pub fn store_error(&self, what: &str, e: &StoreError) -> bool {
        let StoreError::Io(why) = e else {
            return false;
        };
        self.set_store(StoreHealth::Failing(format!("{what}: {why}")));
        true
    }

    /// The store's state now.
    pub fn store(&self) -> StoreHealth {
        self.store.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the store has failed (the process is stopping).
    pub fn is_failing(&self) -> bool {
        *self.failed.borrow()
    }

    /// Resolves once the store has failed (at once if it already has).
    pub fn failed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.failed.subscribe();
        async move {
            let _ = rx.wait_for(|f| *f).await;
        }
    }

    fn link(&self, platform: &str, f: impl FnOnce(&mut Link)) {
        let mut p = self.platforms.lock().unwrap_or_else(|p| p.into_inner());
        f(p.entry(platform.to_string()).or_default());
    }

    /// A platform judged by its last success (Telegram: a `getUpdates` answered): connected
    /// while that is less than [`STALE`] old. Call it at each success.
    pub fn platform_ok(&self, platform: &str) {
        self.link(platform, |l| {
            l.polled = true;
            l.last_ok = Some(Instant::now());
        });
    }

    /// A platform that says when it connects and disconnects (Discord's gateway).
    pub fn set_connected(&self, platform: &str, connected: bool) {
        self.link(platform, |l| {
            l.connected = connected;
            if connected {
                l.last_ok = Some(Instant::now());
            }
        });
    }

    /// Adds a platform as not yet connected (so the report shows it before its first success).
    pub fn expect_platform(&self, platform: &str) {
        self.link(platform, |_| {});
    }

    /// The report, with the outbox's depth and the creation time of its oldest unsent message
    /// (from the session's `outbox_depth`).
    pub fn report(&self, outbox: (usize, Option<Timestamp>), now: Timestamp) -> Report {
        let store = self.store();
        let at = Instant::now();
        let platforms: BTreeMap<String, PlatformReport> = self
            .platforms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, l)| {
                (
                    name.clone(),
                    PlatformReport {
                        connected: l.is_connected(at),
                        last_ok_seconds_ago: l
                            .last_ok
                            .map(|t| at.saturating_duration_since(t).as_secs()),
                    },
                )
            })
            .collect();
        let oldest = outbox
            .1
            .map(|t| now.duration_since(t).as_secs().max(0) as u64);
        let mut problems = Vec::new();
        if let Some(r) = store.reason() {
            problems.push(format!("store {}: {r}", store.word()));
        }
        for (name, p) in &platforms {
            if !p.connected {
                problems.push(format!("{name} not connected"));
            }
        }
        if oldest.is_some_and(|s| s >= OUTBOX_STALE.as_secs()) {
            problems.push("an unsent message is over 15 minutes old".to_string());
        }
        let status = match &store {
            StoreHealth::Failing(_) => "failing",
            _ if !problems.is_empty() => "degraded",
            _ => "healthy",
        };
        Report {
            status,
            problems,
            store: StoreReport {
                state: store.word(),
                reason: store.reason().map(str::to_string),
            },
            platforms,
            outbox: OutboxReport {
                depth: outbox.0,
                oldest_unsent_seconds: oldest,
            },
        }
    }
}

/// What `GET /healthz` answers, as JSON.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `healthy`, `degraded` (serving, with problems) or `failing` (stopping).
    pub status: &'static str,
    /// What makes it less than healthy, one short line each.
    pub problems: Vec<String>,
    /// The store's state.
    pub store: StoreReport,
    /// Each platform's connection, by name.
    pub platforms: BTreeMap<String, PlatformReport>,
    /// The messages owed.
    pub outbox: OutboxReport,
}

impl Report {
    /// The HTTP status: 200 while healthy or degraded, 503 when failing.
    pub fn http_status(&self) -> u16 {
        if self.status == "failing" { 503 } else { 200 }
    }
}

/// The store's part of the report.
#[derive(Debug, Serialize)]
pub struct StoreReport {
    /// `healthy`, `degraded` or `failing`.
    pub state: &'static str,
    /// Why, when not healthy.
    pub reason: Option<String>,
}

/// One platform's part of the report.
#[derive(Debug, Serialize)]
pub struct PlatformReport {
    /// Connected now.
    pub connected: bool,
    /// Seconds since its last success (a poll answered, the gateway ready).
    pub last_ok_seconds_ago: Option<u64>,
}

/// The outbox's part of the report.
#[derive(Debug, Serialize)]
pub struct OutboxReport {
    /// Messages waiting to be delivered.
    pub depth: usize,
    /// How long the oldest has waited, in seconds.
    pub oldest_unsent_seconds: Option<u64>,
}

/// Makes the report when asked: the outbox's depth and oldest entry come from the caller (the
/// session), so this module needs nothing of it.
pub type Outbox = Arc<dyn Fn() -> (usize, Option<Timestamp>) + Send + Sync>;

/// The answer to one request: `GET /healthz` (or `HEAD`) gets the report; anything else a 404
/// or 405.
pub fn respond(health: &Health, outbox: &Outbox, method: &Method, path: &str) -> (u16, String) {
    if path != "/healthz" {
        return (
            404,
            "{\"error\":\"not found; try GET /healthz\"}".to_string(),
        );
    }
    if method != Method::GET && method != Method::HEAD {
        return (405, "{\"error\":\"only GET\"}".to_string());
    }
    let report = health.report(outbox(), Timestamp::now());
    let body = serde_json::to_string(&report).unwrap_or_else(|_| "{}".to_string());
    (report.http_status(), body)
}

/// Serves `GET /healthz` on `listener` until `shutdown` resolves (hyper's HTTP/1 server, one
/// task per connection).
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Arc<Health>,
    outbox: Outbox,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Limits {
        // A client that never finishes its request does not keep a task forever.
        connection_for: Some(Duration::from_secs(10)),
        headers_within: None,
    };
    let service = move |req: Request<hyper::body::Incoming>| {
        let (code, body) = respond(&health, &outbox, req.method(), req.uri().path());
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() =
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        std::future::ready(resp)
    };
    http_server::serve(listener, "the health endpoint", limits, service, shutdown).await;
}

/// Parses a `health` setting: `off` (no endpoint) or an address such as `127.0.0.1:9631`.
pub fn parse_addr(value: &str) -> Result<Option<SocketAddr>, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    v.parse::<SocketAddr>().map(Some).map_err(|_| {
        format!("health `{v}` should be an address and port such as {DEFAULT_ADDR}, or off")
    })
}

/// Asks a running lensbot for its health (`lensbot health`): the HTTP status and the body.
pub async fn query(addr: SocketAddr) -> Result<(u16, String), String> {
    let ask = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot reach the health endpoint at {addr}: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("the health endpoint at {addr} did not answer HTTP: {e}"))?;
        tokio::spawn(conn);
        let req = Request::get("/healthz")
            .header(hyper::header::HOST, addr.to_string())
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("the health endpoint at {addr} failed: {e}"))?;
        let code = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("the health endpoint at {addr} failed: {e}"))?
            .to_bytes();
        Ok((code, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .map_err(|_| format!("the health endpoint at {addr} did not answer within 5 seconds"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(n: usize) -> Outbox {
        Arc::new(move || (n, None))
    }

    #[test]
    fn a_failing_store_answers_503_and_stays_failing() {
        let h = Health::new();
        h.platform_ok("telegram");
        let (code, body) = respond(&h, &outbox(2), &Method::GET, "/healthz");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "healthy");
        assert_eq!(v["outbox"]["depth"], 2);
        h.set_store(StoreHealth::Degraded("2 records cannot be read".into()));
        let (code, body) = respond(&h, &outbox(0), &Method::GET, "/healthz");
        assert_eq!(code, 200);
        assert!(body.contains("\"degraded\""), "{body}");
        assert!(h.store_error("writing a turn", &StoreError::Io("disk full".into())));
        assert!(h.is_failing());
        let (code, body) = respond(&h, &outbox(0), &Method::GET, "/healthz");
        assert_eq!(code, 503);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "failing");
        assert_eq!(v["store"]["state"], "failing");
        assert!(v["store"]["reason"].as_str().unwrap().contains("disk full"));
        // Nothing brings a failed store back within the process.
        h.set_store(StoreHealth::Healthy);
        assert_eq!(respond(&h, &outbox(0), &Method::GET, "/healthz").0, 503);
    }

    #[test]
    fn an_unreadable_record_is_not_a_failing_store() {
        let h = Health::new();
        let e = StoreError::Corrupt {
            key: "telegram:1".into(),
            reason: "bad".into(),
        };
        assert!(!h.store_error("reading", &e));
        assert!(!h.is_failing());
    }

    #[test]
    fn a_platform_not_yet_connected_is_degraded_and_other_paths_are_404() {
        let h = Health::new();
        h.expect_platform("discord");
        let (code, body) = respond(&h, &outbox(0), &Method::GET, "/healthz");
        assert_eq!(code, 200);
        assert!(body.contains("discord not connected"), "{body}");
        h.set_connected("discord", true);
        assert!(
            respond(&h, &outbox(0), &Method::GET, "/healthz")
                .1
                .contains("\"healthy\"")
        );
        assert_eq!(respond(&h, &outbox(0), &Method::GET, "/").0, 404);
        assert_eq!(respond(&h, &outbox(0), &Method::POST, "/healthz").0, 405);
    }

    #[test]
    fn addresses_parse_or_say_what_is_expected() {
        assert_eq!(parse_addr("off").unwrap(), None);
        assert_eq!(
            parse_addr("127.0.0.1:9631").unwrap(),
            Some("127.0.0.1:9631".parse().unwrap())
        );
        assert!(parse_addr("localhost").unwrap_err().contains("9631"));
    }
}
