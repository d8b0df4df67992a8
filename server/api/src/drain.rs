//! The graceful drain of a replica (SIGTERM in a rolling deploy, docs/operations.md).
//!
//! Three phases, each visible to whoever asks: `Serving`; `Draining` — `/readyz` answers 503 at
//! once (a load balancer stops sending new work) and new `/events` and `/sip` sockets are refused
//! with 503 while HTTP requests are still served; `Closing` — every open socket of this replica is
//! closed with [`GOING_AWAY`], so browsers reconnect through another replica. `callbase serve`
//! moves through them (`server/app/src/startup.rs::serve`) and waits, bounded, for the sockets to
//! have sent their close frames.
//!
//! Upgraded WebSockets are not connections axum's graceful shutdown waits for (the HTTP
//! connection ends at the upgrade), hence the tracker here: without it they were cut when the
//! process exited, and browsers saw 1006 with no reason.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Serving,
    Draining,
    Closing,
}

/// The close code and reason of a socket whose replica is going away: 1012 "service restart"
/// (RFC 6455 registry). Clients reconnect at once (the load balancer sends them to another
/// replica); `/events` clients reload what they show, as for any 1012.
pub const GOING_AWAY: (u16, &str) = (1012, "server_restart");

/// This replica's drain state and its open sockets. Cheap to clone.
#[derive(Clone)]
pub struct Drain {
    phase: Arc<watch::Sender<Phase>>,
    sockets: TaskTracker,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    pub fn new() -> Self {
        Drain { phase: Arc::new(watch::Sender::new(Phase::Serving)), sockets: TaskTracker::new() }
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// True from the start of the drain: not ready, no new sockets.
    pub fn draining(&self) -> bool {
        self.phase() != Phase::Serving
    }

    /// Starts the drain: `/readyz` turns 503 and new sockets are refused from now on.
    pub fn start(&self) {
        self.phase.send_if_modified(|p| {
            let first = *p == Phase::Serving;
            if first {
                *p = Phase::Draining;
            }
            first
        });
    }

    /// Closes every open socket of this replica with [`GOING_AWAY`].
    pub fn close_sockets(&self) {
        self.phase.send_replace(Phase::Closing);
        self.sockets.close();
    }

    /// Resolves once every socket task has ended (after [`Drain::close_sockets`]).
    pub async fn sockets_closed(&self) {
        self.sockets.wait().await
    }

    /// How many sockets are open on this replica.
    pub fn open_sockets(&self) -> usize {
        self.sockets.len()
    }

    /// Resolves when open sockets must close.
    pub fn closing(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.phase.subscribe();
        async move {
            // An error means the state was dropped: the process is ending anyway.
            let _ = rx.wait_for(|p| *p == Phase::Closing).await;
        }
    }

    /// Runs a socket's task under the drain's watch (the process waits for it before exiting).
    pub fn track<F: Future>(&self, f: F) -> impl Future<Output = F::Output> {
        self.sockets.track_future(f)
    }

    /// The answer to a socket opened on a draining replica: 503, so the client (and a load
    /// balancer retrying it) goes to another replica.
    pub fn refuse_new_socket(&self) -> Result<(), ApiError> {
        if self.draining() {
            return Err(ApiError::Unavailable {
                code: "server_draining",
                message: "this server is restarting; connect again".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sockets_close_only_in_the_closing_phase_and_are_waited_for() {
        let d = Drain::new();
        assert!(d.refuse_new_socket().is_ok());
        let closing = d.closing();
        let task = tokio::spawn(d.track(closing));
        d.start();
        assert!(d.draining() && d.refuse_new_socket().is_err());
        tokio::task::yield_now().await;
        assert!(!task.is_finished(), "draining alone closes no socket");
        assert_eq!(d.open_sockets(), 1);
        d.close_sockets();
        tokio::time::timeout(std::time::Duration::from_secs(1), d.sockets_closed()).await.unwrap();
        assert!(task.is_finished());
        d.start();
        assert_eq!(d.phase(), Phase::Closing, "a late start does not reopen anything");
    }
}
