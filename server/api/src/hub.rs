//! The `/events` fan-out of one replica: ONE Redis subscription (a pattern over every tenant's
//! channel, [`keys::EVENTS_PATTERN`]) delivers each message to the local sockets of its tenant
//! through an in-process broadcast channel, instead of one Redis pub/sub connection per socket.
//!
//! Redis pub/sub keeps nothing for a subscriber that was away: when the subscription is lost (a
//! Redis restart or failover) or a socket falls behind its channel, the events in between are
//! gone. Those sockets are told to resync ([`Hub::resyncs`]): `/events` closes them with 1012
//! ("service restart"), the browser reconnects and reloads what it shows over HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callbase_core::events::Event;
use callbase_core::{keys, TenantId};
use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};

/// How many events a socket may fall behind before it must resync.
const BACKLOG: usize = 256;

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    tenants: Mutex<HashMap<TenantId, broadcast::Sender<Arc<Event>>>>,
    /// Counts subscription losses: a change tells every socket to resync.
    resync: watch::Sender<u64>,
}

/// A socket's feed: its tenant's events, and the resync signal.
pub struct Feed {
    pub events: broadcast::Receiver<Arc<Event>>,
    pub resync: watch::Receiver<u64>,
}

impl Hub {
    /// Starts the replica's subscription (it reconnects on its own for the life of the process).
    pub fn start(client: redis::Client) -> Hub {
        let hub = Hub { inner: Arc::new(Inner { tenants: Mutex::default(), resync: watch::channel(0).0 }) };
        let me = hub.clone();
        tokio::spawn(async move { me.pump(client).await });
        hub
    }

    /// The feed of `tenant`'s events for one socket.
    pub fn subscribe(&self, tenant: TenantId) -> Feed {
        let mut tenants = self.inner.tenants.lock().expect("hub");
        // Tenants whose last socket closed give their channel back here, when someone subscribes.
        tenants.retain(|_, tx| tx.receiver_count() > 0);
        let events = tenants.entry(tenant).or_insert_with(|| broadcast::channel(BACKLOG).0).subscribe();
        Feed { events, resync: self.inner.resync.subscribe() }
    }

    /// Sockets listening on this replica (for metrics and the benchmark).
    pub fn sockets(&self) -> usize {
        self.inner.tenants.lock().expect("hub").values().map(|tx| tx.receiver_count()).sum()
    }

    /// Parses a message once for all of its tenant's sockets here.
    fn deliver(&self, channel: &str, payload: &str) {
        let Some(tenant) = keys::events_tenant(channel) else { return };
        let Some(tx) = self.inner.tenants.lock().expect("hub").get(&tenant).cloned() else {
            return; // nobody of this tenant is connected here
        };
        match Event::from_json(payload) {
            Ok(ev) => {
                let _ = tx.send(Arc::new(ev));
            }
            // Fails closed: an event this replica cannot read reaches nobody.
            Err(e) => {
                tracing::warn!(error = %e, tenant.id = %tenant, "unreadable event on the tenant channel")
            }
        }
    }

    async fn pump(self, client: redis::Client) {
        let mut backoff = Duration::from_millis(200);
        let mut first = true;
        loop {
            let res: redis::RedisResult<()> = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.psubscribe(keys::EVENTS_PATTERN).await?;
                if !first {
                    // Whatever was published while we were away is lost: everyone resyncs.
                    self.inner.resync.send_modify(|n| *n += 1);
                    tracing::info!("events subscription restored: sockets resync");
                }
                first = false;
                backoff = Duration::from_millis(200);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    if let Ok(payload) = msg.get_payload::<String>() {
                        self.deliver(msg.get_channel_name(), &payload);
                    }
                }
                Ok(())
            }
            .await;
            match res {
                Ok(()) => tracing::warn!("events subscription ended; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "events subscription lost; reconnecting"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Hub {
        Hub { inner: Arc::new(Inner { tenants: Mutex::default(), resync: watch::channel(0).0 }) }
    }

    #[tokio::test]
    async fn a_message_reaches_the_sockets_of_its_tenant_only() {
        let h = hub();
        let mut a1 = h.subscribe(TenantId(1));
        let mut a2 = h.subscribe(TenantId(1));
        let mut b = h.subscribe(TenantId(2));
        h.deliver(&keys::events(TenantId(1)), r#"{"type":"crm_settings"}"#);
        assert_eq!(*a1.events.recv().await.unwrap(), Event::CrmSettings);
        assert_eq!(*a2.events.recv().await.unwrap(), Event::CrmSettings);
        assert!(b.events.try_recv().is_err(), "another tenant's socket gets nothing");
        h.deliver("cb:events:tenant:nonsense", r#"{"type":"crm_settings"}"#);
        h.deliver(&keys::events(TenantId(1)), r#"{"type":"from_the_future"}"#);
        assert!(a1.events.try_recv().is_err(), "bad channels and unreadable events reach nobody");
        assert_eq!(h.sockets(), 3);
    }

    #[tokio::test]
    async fn closed_sockets_give_their_tenant_channel_back() {
        let h = hub();
        drop(h.subscribe(TenantId(1)));
        let _b = h.subscribe(TenantId(2));
        assert_eq!(h.inner.tenants.lock().unwrap().len(), 1);
        assert_eq!(h.sockets(), 1);
    }
}
