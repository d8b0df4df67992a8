//! Health-probe calls (`[from-probe]` in the dialplan): `t<tenant>x<number>` dials `number` through
//! the tenant's trunks exactly as an agent's call would (dial rules, trunk order, registration,
//! rewrite), but leaves no call record, event or recording. A failure hangs the probe up with the
//! cause, so the probe's SIP response says what broke.

use callbase_core::dial::Routed;
use callbase_core::TenantId;
use callbase_db::calls::CallDirection;
use uuid::Uuid;

use super::trunk_dial::{dial_out, DialOutcome};
use super::{load, now_ms, Call, CallError, Phase};
use crate::context::{CallRx, CallTx, Ctx};

#[tracing::instrument(skip_all, fields(tenant.id, call.id))]
pub(super) async fn probe(
    ctx: Ctx,
    probe_ch: &str,
    exten: &str,
    created_ms: Option<i64>,
    tx: CallTx,
    mut rx: CallRx,
) -> Result<(), CallError> {
    let (tenant, number) = probe_target(exten).ok_or_else(|| CallError::NotProbeTarget(exten.to_string()))?;
    let id = Uuid::new_v4();
    let span = tracing::Span::current();
    span.record("tenant.id", tracing::field::display(tenant));
    span.record("call.id", tracing::field::display(id));
    let since = || created_ms.map(|c| now_ms() - c);
    tracing::debug!(since_created_ms = ?since(), "probe call in Stasis");
    let t = load(&ctx, tenant).await?;
    tracing::debug!(since_created_ms = ?since(), "probe call: tenancy loaded");
    let mut call = Call {
        quiet: true,
        setup_start_ms: created_ms,
        ..Call::new(&ctx, id, tenant, CallDirection::Outbound, number.to_string(), probe_ch, &tx)
    };
    if !t.enabled {
        call.reject(probe_ch, "rejected").await;
        return Ok(());
    }
    // The probe dials like an agent: the tenant's dial rules decide (premium ranges and directions
    // the tenant does not allow are refused here too, whatever number was saved).
    let dial = match t.rules.route(number, |_| false) {
        Ok(Routed::External { dial, .. }) => dial,
        other => {
            let why = other.err().map_or_else(|| "not an outside number".to_string(), |r| r.to_string());
            tracing::warn!(reason = %why, "probe number refused by the dial rules");
            call.reject(probe_ch, "unallocated").await;
            return Ok(());
        }
    };
    let bridge = call.new_bridge().await?;
    tracing::debug!(since_created_ms = ?since(), "probe call: bridge created");
    call.add(&bridge, probe_ch).await;
    tracing::debug!(since_created_ms = ?since(), "probe call: bridged");
    match dial_out(&mut call, &t, &dial, probe_ch, &bridge, &mut rx).await {
        DialOutcome::Answered(leg) => {
            call.post(&format!("channels/{probe_ch}/answer"), &[]).await;
            call.legs.agent = Some(probe_ch.to_string());
            call.legs.other = Some(leg.clone());
            call.set_phase(Phase::Talking);
            while let Some(msg) = rx.recv().await {
                if msg.ends(probe_ch) || msg.ends(&leg) {
                    break;
                }
            }
            call.hangup(&leg).await;
            call.hangup(probe_ch).await;
        }
        DialOutcome::Failed { reason, .. } => {
            tracing::warn!(%reason, "probe call through the trunk failed");
            call.reject(probe_ch, "congestion").await;
        }
        DialOutcome::CallerLeft => {}
    }
    call.delete(&format!("bridges/{bridge}")).await;
    Ok(())
}

/// `t<tenant>x<number>` → (tenant, number).
pub fn probe_target(exten: &str) -> Option<(TenantId, &str)> {
    let (t, n) = exten.strip_prefix('t')?.split_once('x')?;
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || n.is_empty() {
        return None;
    }
    Some((TenantId(t.parse().ok()?), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_targets_are_parsed_strictly() {
        assert_eq!(probe_target("t12x9999"), Some((TenantId(12), "9999")));
        assert_eq!(probe_target("t12x+74951234567"), Some((TenantId(12), "+74951234567")));
        assert_eq!(probe_target("tx9999"), None);
        assert_eq!(probe_target("t12x"), None);
        assert_eq!(probe_target("t1ax9"), None);
        assert_eq!(probe_target("echo"), None);
    }
}
