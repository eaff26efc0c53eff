//! The HTTP server's accept loop: what `axum::serve` does, plus the limits a daemon on a
//! shared host needs so that idle or stalled clients cannot exhaust it.
//!
//! - **Connection cap.** At most [`Limits::max_connections`] connections are served at
//!   once; one more is answered at once with a JSON 503 and closed, so a flood of idle
//!   sockets gets a clear refusal instead of starving `/healthz` and the operator's calls
//!   of file descriptors.
//! - **Header read timeout.** A connection must send a complete request head within
//!   [`Limits::header_read_timeout`] of connecting or of its previous response (hyper
//!   applies it to idle keep-alive connections too), so silent and half-open sockets are
//!   closed and their slot freed.
//! - **Body read timeout.** Enforced where bodies are read (`extract.rs`): 408.
//! - **Write stall timeout.** A connection whose writes make no progress for
//!   [`Limits::write_stall_timeout`] (a client that stopped reading, a peer gone without a
//!   FIN) is closed. Event streams write a keep-alive every 15 s, so a live stream never
//!   stalls.
//!
//! Every request carries the peer address as [`axum::extract::ConnectInfo`] (the failed
//! token backoff is per IP).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more are refused with a 503.
    pub max_connections: usize,
    /// Time to send a complete request head (after connecting or after a response).
    pub header_read_timeout: Duration,
    /// Time a write may make no progress before the connection is closed.
    pub write_stall_timeout: Duration,
}

impl Limits {
    /// The daemon's limits for a process allowed `open_files` file descriptors: a quarter
    /// of them stay for stores, media files, outgoing connections and the log.
    pub fn for_open_files(open_files: u64) -> Limits {
        let usable = open_files.saturating_sub(open_files / 4).max(16);
        Limits {
            max_connections: usize::try_from(usable.min(MAX_CONNECTIONS)).unwrap_or(16),
            header_read_timeout: HEADER_READ_TIMEOUT,
            write_stall_timeout: WRITE_STALL_TIMEOUT,
        }
    }
}

/// Upper bound of the connection cap, however high the file limit.
const MAX_CONNECTIONS: u64 = 16_384;
/// See [`Limits::header_read_timeout`].
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`Limits::write_stall_timeout`].
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a refusal at the cap is logged (with the count since the last line).
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The answer to a connection over the cap. Written raw: no request was read.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json\r\n\
Retry-After: 1\r\n\
Connection: close\r\n\
Content-Length: 125\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"the gateway is serving its maximum number of connections; retry shortly\"}}";

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open connections
/// to finish their requests (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    let mut refused = 0u64;
    let mut last_warned = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not fatal.
                    // Pausing keeps a descriptor shortage from spinning the loop.
                    tracing::warn!(target: "wagw::http", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            // At most one line per interval: a flood must not flood the log too.
            if last_warned.is_none_or(|t: Instant| t.elapsed() >= REFUSAL_LOG_INTERVAL) {
                tracing::warn!(target: "wagw::http", %peer, max = limits.max_connections,
                    refused, "connections refused: at the connection cap");
                last_warned = Some(Instant::now());
                refused = 0;
            }
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(StallGuard::new(stream, limits.write_stall_timeout));
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut app = app.clone();
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            async move { app.call(req).await }
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target: "wagw::http", %peer, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over the cap, without waiting long for a client that reads slowly.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(OVER_CAPACITY).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// A stream whose writes fail with `TimedOut` once they have made no progress for the
/// stall timeout; reads pass through.
struct StallGuard<S> {
    inner: S,
    stall: Duration,
    /// Armed while a write is pending; reset by every write that makes progress.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> StallGuard<S> {
    fn new(inner: S, stall: Duration) -> StallGuard<S> {
        StallGuard {
            inner,
            stall,
            deadline: None,
        }
    }

    /// After a pending write: has the stall timeout passed since the last progress?
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let stall = self.stall;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + stall)));
        deadline.as_mut().poll(cx).is_ready()
    }

    fn stall_error() -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client read nothing for the write stall timeout",
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending if self.stalled(cx) => Poll::Ready(Err(Self::stall_error())),
            Poll::Pending => Poll::Pending,
            done => {
                self.deadline = None;
                done
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending if self.stalled(cx) => Poll::Ready(Err(Self::stall_error())),
            Poll::Pending => Poll::Pending,
            done => {
                self.deadline = None;
                done
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending if self.stalled(cx) => Poll::Ready(Err(Self::stall_error())),
            Poll::Pending => Poll::Pending,
            done => {
                self.deadline = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Raises the soft open-file limit to the hard limit (where the system allows) and
/// returns the limit in effect, for [`Limits::for_open_files`].
pub fn raise_open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let lim = getrlimit(Resource::Nofile);
        // None is "unlimited".
        let current = lim.current.unwrap_or(u64::MAX);
        match lim.maximum {
            Some(max) if max > current => {
                let raised = Rlimit {
                    current: Some(max),
                    maximum: Some(max),
                };
                match setrlimit(Resource::Nofile, raised) {
                    Ok(()) => {
                        tracing::debug!(target: "wagw::daemon", from = current, to = max,
                            "raised the open-file limit");
                        max
                    }
                    Err(e) => {
                        tracing::debug!(target: "wagw::daemon", error = %e,
                            "could not raise the open-file limit");
                        current
                    }
                }
            }
            _ => current,
        }
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_refusal_is_the_apis_json_error_with_a_right_length() {
        let text = std::str::from_utf8(OVER_CAPACITY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "too_many_connections");
    }

    #[test]
    fn the_cap_leaves_a_quarter_of_the_descriptors() {
        assert_eq!(Limits::for_open_files(1024).max_connections, 768);
        assert_eq!(Limits::for_open_files(8).max_connections, 16);
        assert_eq!(
            Limits::for_open_files(1 << 20).max_connections,
            MAX_CONNECTIONS as usize
        );
    }

    #[tokio::test]
    async fn a_write_that_makes_no_progress_fails_after_the_stall_timeout() {
        // A duplex pipe whose reader never reads: writes fill its buffer, then stall.
        let (a, _b) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(a, Duration::from_millis(50));
        let started = std::time::Instant::now();
        let err = guarded.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
