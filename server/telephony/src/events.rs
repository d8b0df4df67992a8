//! The tenant's event channel (`keys::events`): the news the `/events` sockets pass on, each socket
//! choosing by audience and masking (`callbase_api::hub`). Several events go in one round trip.

use callbase_core::events::Event;
use callbase_core::{keys, TenantId};
use redis::aio::ConnectionManager;

/// Publishes `events` on the tenant's channel, in order. A failure is logged, not returned: the
/// news is lost but what it reports (a call, a state) has already happened and is in the database.
pub async fn publish(redis: &ConnectionManager, tenant: TenantId, events: &[Event], what: &str) {
    let channel = keys::events(tenant);
    let mut pipe = redis::pipe();
    for e in events {
        pipe.cmd("PUBLISH").arg(&channel).arg(e.to_json()).ignore();
    }
    if let Err(e) = pipe.query_async::<()>(&mut redis.clone()).await {
        tracing::warn!(error = %e, "cannot publish {what}");
    }
}
