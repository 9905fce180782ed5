//! A connection's deadline, below TLS and below HTTP: from accept, the client has
//! `server.header_timeout_ms` to complete the TLS handshake and its first request head; after
//! each answer, `server.idle_timeout_ms` to start the next. A connection that reaches its
//! deadline with no request in flight is closed, whatever protocol it speaks or pretends to
//! (a silent socket, a partial HTTP/2 preface, nothing after the handshake, an idle HTTP/2
//! connection). hyper's own header timer starts only once HTTP/1 has been detected, and
//! HTTP/2 has no idle timeout, hence this wrapper. While a request is being answered the
//! deadline is off: body deadlines belong to the handlers.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Shared by a connection's stream and its request handlers.
pub struct Activity {
    base: Instant,
    /// Milliseconds after `base` at which an idle connection is closed.
    deadline_ms: AtomicU64,
    in_flight: AtomicUsize,
    idle: Duration,
}

impl Activity {
    pub fn new(first_request: Duration, idle: Duration) -> Arc<Self> {
        let base = Instant::now();
        Arc::new(Self {
            base,
            deadline_ms: AtomicU64::new(millis(first_request)),
            in_flight: AtomicUsize::new(0),
            idle,
        })
    }

    /// Marks a request in flight until the guard is dropped; then the idle time starts.
    pub fn request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        RequestGuard(self.clone())
    }

    fn deadline(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(self.base + Duration::from_millis(self.deadline_ms.load(Ordering::Acquire)))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let a = &self.0;
        let next = millis(a.base.elapsed() + a.idle);
        a.deadline_ms.store(next, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream that fails with `TimedOut` once its connection is idle past the deadline.
pub struct DeadlineStream<S> {
    inner: S,
    activity: Arc<Activity>,
    sleep: Pin<Box<Sleep>>,
}

impl<S> DeadlineStream<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        let first = activity.deadline().unwrap_or_else(Instant::now);
        Self {
            inner,
            activity,
            sleep: Box::pin(tokio::time::sleep_until(first)),
        }
    }

    /// Called when the inner stream is not ready: errors past the deadline, otherwise leaves
    /// the timer armed so that the connection's task wakes by then. Every answered request
    /// moves the deadline later; the timer is not moved with it (re-arming a tokio timer per
    /// request cost several per cent of the token rate) but re-armed when it fires early,
    /// once per idle period at most.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(deadline) = self.activity.deadline() else {
            return Ok(());
        };
        while self.sleep.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle past its deadline",
                ));
            }
            self.sleep.as_mut().reset(deadline);
        }
        Ok(())
    }
}

use std::future::Future;

impl<S: AsyncRead + Unpin> AsyncRead for DeadlineStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => ready,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeadlineStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => ready,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
