//! The echo test for agents (issue #22, item 5: preflight): an agent's phone dials [`ECHO_TEST`]
//! (`*43`, the traditional echo-test code) and hears itself back from the node's own `Echo()`.
//! The browser phone's "Test call" measures round trip, loss, jitter and whether its audio came
//! back over it.
//!
//! The channel leaves Stasis for the dialplan's `[from-probe]` `echo` extension (Answer, Echo,
//! Hangup — the health probe's echo): no trunk, no cost, no call record and no `call` event (so no
//! call card and nothing in the call history; what the phone measured is kept as the agent's
//! preflight result instead). The call is cut after [`LIMIT_SECS`] (Asterisk's absolute timeout,
//! and this server's hang-up), so a forgotten test does not hold the channel.

use std::time::Duration;

use callbase_core::{TenantId, UserId};

use crate::context::Ctx;

/// What an agent dials for the echo test.
pub const ECHO_TEST: &str = "*43";

/// The longest an echo test runs, in seconds.
pub const LIMIT_SECS: u32 = 30;

/// The dialplan place that answers with `Echo()`.
const CONTEXT: &str = "from-probe";
const EXTEN: &str = "echo";

/// Whether `exten` is the echo test.
pub(super) fn is_echo_test(exten: &str) -> bool {
    exten == ECHO_TEST
}

/// Sends the agent's channel to the echo, limited to [`LIMIT_SECS`]; hangs it up when Asterisk
/// refuses.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub(super) async fn run(ctx: &Ctx, tenant: TenantId, user: UserId, agent: &str) {
    // Asterisk's own limit (func_timeout), which outlives this server; a node without the module
    // refuses it quietly, and the hang-up below still ends the test.
    let limit = LIMIT_SECS.to_string();
    let var = format!("channels/{agent}/variable");
    let timeout = ctx
        .ari
        .call(reqwest::Method::POST, &var, &[("variable", "TIMEOUT(absolute)"), ("value", &limit)], None)
        .await;
    if !matches!(timeout, Ok(Some(_))) {
        tracing::debug!(answer = ?timeout, "no absolute timeout on the echo test");
    }
    let to_echo = ctx
        .ari
        .call(
            reqwest::Method::POST,
            &format!("channels/{agent}/continue"),
            &[("context", CONTEXT), ("extension", EXTEN), ("priority", "1")],
            None,
        )
        .await;
    if !matches!(to_echo, Ok(Some(_))) {
        tracing::warn!(answer = ?to_echo, "cannot send the agent's channel to the echo");
        let _ = ctx.ari.hangup(agent).await;
        return;
    }
    tracing::info!("agent's echo test started");
    // Out of Stasis the channel's end is not reported to us: its hang-up after the limit is
    // simply tried (404 once the phone hung up, as it does after its ten seconds).
    let (ari, agent) = (ctx.ari.clone(), agent.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(LIMIT_SECS.into())).await;
        if ari.hangup(&agent).await.is_ok() {
            tracing::info!(channel = %agent, "echo test ended at its limit");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_echo_code_is_the_echo_test() {
        assert!(is_echo_test("*43"));
        for other in ["*4", "*431", "43", "*11", "+7*43", ""] {
            assert!(!is_echo_test(other), "{other}");
        }
    }
}
