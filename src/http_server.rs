//! The accept loop shared by the process's small HTTP servers (the health endpoint, Telegram's
//! webhook, Discord's interactions endpoint): connections taken from a listener until shutdown,
//! each served by hyper's HTTP/1 server in a task of its own, every request answered by the
//! server's own function. What differs between them (how long a connection or its headers may
//! take) is a [`Limits`]; what a request gets is theirs alone.

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a connection may take: each server sets what fits its clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// The connection is dropped this long after it was accepted, whatever it is doing, so a
    /// client that never finishes its request does not keep a task for ever (`None`: no limit).
    pub connection_for: Option<Duration>,
    /// A request's headers must arrive within this, on every request of the connection
    /// (hyper's header read timeout; `None`: hyper's defaults, without a timer).
    pub headers_within: Option<Duration>,
}

/// Accepts connections on `listener` until `shutdown` resolves, serving each in a task of its
/// own with `respond` answering every request; returns once `shutdown` has resolved
/// (connections still open are left to finish). `what` names the server in the warning logged
/// when a connection cannot be accepted (after which it waits 100 ms, so a lack of file
/// descriptors is not a busy loop).
pub async fn serve<S, F, B>(
    listener: tokio::net::TcpListener,
    what: &'static str,
    limits: Limits,
    respond: S,
    shutdown: impl Future<Output = ()>,
) where
    S: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let respond = Arc::new(respond);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("{what} could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let respond = respond.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = respond(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            if let Some(within) = limits.headers_within {
                builder.timer(TokioTimer::new()).header_read_timeout(within);
            }
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            match limits.connection_for {
                Some(d) => {
                    let _ = tokio::time::timeout(d, conn).await;
                }
                None => {
                    let _ = conn.await;
                }
            }
        });
    }
}
