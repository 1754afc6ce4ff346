//! The HTTP server's connections: what a stranger's slow or many connections may hold.
//!
//! [`serve_router`](crate::serve_router) accepts: at most
//! `max_connections` open (more wait in the listen queue), at most
//! `max_connections_per_address` from one address (more are closed at once), each watched by
//! [`watchdog`] for the header and idle timeouts. [`Streams`] caps the live-status streams
//! and tells them the server is stopping.
//!
//! The timeouts are kept here rather than with hyper's `header_read_timeout`: hyper's timer
//! also runs while a kept-alive connection waits for its next request, so it cannot give a
//! slow header block 10 s and a quiet browser 60 s.

use std::collections::HashMap;
use std::hash::Hash;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::HttpConfig;

/// The key an address counts under: IPv6 by its /64 (one household or host usually has a
/// whole /64), an IPv4-mapped IPv6 address as the IPv4 address.
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
        IpAddr::V4(_) => ip,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while counting leaves the counts as they were: go on with them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts per key, with a cap; a [`Slot`] holds one and gives it back when dropped.
#[derive(Debug)]
pub(crate) struct Counts<K: Hash + Eq + Clone> {
    cap: usize,
    counts: Mutex<HashMap<K, usize>>,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    pub(crate) fn new(cap: usize) -> Arc<Counts<K>> {
        Arc::new(Counts {
            cap,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// One more for `key`, or `None` when it already holds `cap`.
    pub(crate) fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut counts = lock(&self.counts);
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.clone(),
            key,
        })
    }
}

/// One counted connection or stream.
#[derive(Debug)]
pub(crate) struct Slot<K: Hash + Eq + Clone> {
    counts: Arc<Counts<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts.counts);
        if let Some(n) = counts.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                // Keys go with their last holder: the map stays as large as what is open.
                counts.remove(&self.key);
            }
        }
    }
}

/// The live-status streams' caps and the server's stop signal. [`serve_router`] puts one
/// into every request's extensions; the router alone (tests without a socket) has none.
///
/// [`serve_router`]: crate::serve_router
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    pub(crate) per_session: Arc<Counts<String>>,
    pub(crate) per_address: Arc<Counts<IpAddr>>,
    pub(crate) stopping: watch::Receiver<bool>,
}

impl Streams {
    pub(crate) fn new(http: &HttpConfig, stopping: watch::Receiver<bool>) -> Streams {
        Streams {
            per_session: Counts::new(http.sse_per_session),
            per_address: Counts::new(http.sse_per_address),
            stopping,
        }
    }

    /// Resolves when the server starts to stop (or is gone).
    pub(crate) async fn stopped(mut self) {
        let _ = self.stopping.wait_for(|s| *s).await;
    }
}

/// What a connection is doing, for its timeouts.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request: the first since the connection was accepted, or the next
    /// since the last response ended.
    Idle { since: Instant, first: bool },
    /// Bytes of a request's header block have come since `since`.
    Head { since: Instant },
    /// Requests being answered (their responses still being sent): no timeout here; the
    /// handlers have `request_timeout_secs`, and the live-status streams end with their
    /// session.
    Busy(usize),
}

/// A connection's activity, shared by its socket, its requests and its [`watchdog`].
#[derive(Debug)]
pub(crate) struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            phase: Mutex::new(Phase::Idle {
                since: Instant::now(),
                first: true,
            }),
            changed: Notify::new(),
        })
    }

    fn read(&self) {
        let mut phase = lock(&self.phase);
        if let Phase::Idle { since, first } = *phase {
            // The first request's header block is timed from the accept: a client that
            // waits before its first byte gains nothing.
            *phase = Phase::Head {
                since: if first { since } else { Instant::now() },
            };
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// A request's header block was read; the connection is busy until the returned
    /// guard (held by the response body) is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        let mut phase = lock(&self.phase);
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Idle { .. } | Phase::Head { .. } => Phase::Busy(1),
        };
        drop(phase);
        self.changed.notify_one();
        Busy(self.clone())
    }

    fn deadline(&self, header: Duration, idle: Duration) -> Option<Instant> {
        match *lock(&self.phase) {
            Phase::Idle { since, first: true } | Phase::Head { since } => Some(since + header),
            Phase::Idle { since, first: false } => Some(since + idle),
            Phase::Busy(_) => None,
        }
    }
}

/// A request in progress on a connection (see [`Activity::begin`]).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut phase = lock(&self.0.phase);
        *phase = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle {
                since: Instant::now(),
                first: false,
            },
        };
        drop(phase);
        self.0.changed.notify_one();
    }
}

/// Resolves when the connection has overstayed: a header block not complete within
/// `header` (from the accept for the first request, from its first byte for the next), or
/// no request for `idle` after the last response.
pub(crate) async fn watchdog(activity: Arc<Activity>, header: Duration, idle: Duration) {
    loop {
        match activity.deadline(header, idle) {
            None => activity.changed.notified().await,
            Some(at) if at <= Instant::now() => return,
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = activity.changed.notified() => {}
                }
            }
        }
    }
}

/// The socket, telling its connection's [`Activity`] when bytes come in.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    pub(crate) io: S,
    pub(crate) activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A response body that keeps its request's [`Busy`] until it is sent (or dropped).
pub(crate) struct Tracked {
    pub(crate) body: Body,
    pub(crate) _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection's timeouts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) header: Duration,
    pub(crate) idle: Duration,
}

/// Serves one connection until it ends, overstays ([`watchdog`]) or, once the server
/// stops, has answered what it was answering. `_held` (its place among `max_connections` and
/// its address's) goes with it.
pub(crate) async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    streams: Streams,
    timeouts: Timeouts,
    _held: (OwnedSemaphorePermit, Slot<IpAddr>),
) {
    let mut stopping = streams.stopping.clone();
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        io: stream,
        activity: activity.clone(),
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let busy = requests.begin();
        // What `into_make_service_with_connect_info` gave: the rate limits read it.
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(streams.clone());
        let router = router.clone();
        async move {
            let response = match router.oneshot(req.map(Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(response.map(|body| Tracked { body, _busy: busy }))
        }
    });
    // No hyper timer: the timeouts are the watchdog's (see the module's documentation).
    let served = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    let mut served = std::pin::pin!(served);
    let mut watchdog = std::pin::pin!(watchdog(activity, timeouts.header, timeouts.idle));
    let mut stop_seen = false;
    loop {
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = &mut watchdog => {
                tracing::debug!(address = %peer.ip(), "closing a connection that overstayed its timeout");
                return;
            }
            _ = stopping.changed(), if !stop_seen => {
                // Keep-alive off: an idle connection closes now, a busy one after its answer.
                stop_seen = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The client's address for the stream caps: the last entry of the trusted proxy's header
/// when one is configured (`limits.client_address_header`, as the rate limits read it), else
/// the connection's.
pub(crate) fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, header: Option<&str>) -> Option<IpAddr> {
    let from_header = header.and_then(|name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
    });
    from_header.or(peer.map(|p| p.ip())).map(address_key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn addresses_count_by_ipv4_or_ipv6_64() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn slots_are_capped_and_given_back() {
        let counts = Counts::new(2);
        let a = counts.take("s").unwrap();
        let _b = counts.take("s").unwrap();
        assert!(counts.take("s").is_none());
        assert!(counts.take("t").is_some());
        drop(a);
        assert!(counts.take("s").is_some());
        assert!(lock(&counts.counts).get("t").is_none());
    }

    #[tokio::test]
    async fn a_slow_header_block_and_an_idle_connection_time_out() {
        let ms = Duration::from_millis;
        let (header, idle) = (ms(200), ms(600));
        let a = Activity::new();
        let start = Instant::now();
        a.read();
        watchdog(a.clone(), header, idle).await;
        assert!(start.elapsed() >= header && start.elapsed() < ms(400));
        // While busy nothing times out; between requests the idle time counts, and the next
        // header block has its own.
        let busy = a.begin();
        let w = tokio::spawn(watchdog(a.clone(), header, idle));
        tokio::time::sleep(ms(800)).await;
        assert!(!w.is_finished());
        drop(busy);
        let t = Instant::now();
        tokio::time::sleep(ms(300)).await;
        assert!(!w.is_finished());
        a.read();
        w.await.unwrap();
        assert!(t.elapsed() >= ms(500) && t.elapsed() < ms(700), "{:?}", t.elapsed());
    }
}
