//! IVR menus (issue #19, item 3), inside our Stasis call control: the caller is answered and hears
//! the menu's greeting; a digit (DTMF, `ChannelDtmfReceived`) stops it and chooses where the call
//! goes. No digit within the timeout plays the greeting again; a digit the menu does not know says
//! so first ("invalid") — after the retries the caller goes to the menu's fallback. The menu only
//! chooses: inbound.rs takes the call where the choice leads (a queue, a user, a number, another
//! menu, voicemail, everyone).

use std::time::Duration;

use callbase_db::menus::{Destination, Menu};
use tokio::time::Instant;
use uuid::Uuid;

use super::{Call, Phase};
use crate::ari::events::Event;
use crate::context::{CallMsg, CallRx};

/// What the caller chose.
pub(super) enum Chosen {
    To(Destination),
    /// The caller hung up in the menu.
    Left,
}

/// Runs `menu` for the caller (answered here) and returns where the call goes.
pub(super) async fn run(call: &mut Call, caller: &str, rx: &mut CallRx, menu: &Menu) -> Chosen {
    call.set_phase(Phase::Menu);
    call.checkpoint();
    call.post(&format!("channels/{caller}/answer"), &[]).await;
    let greeting = match (&menu.greeting_key, &call.ctx.media_base) {
        (Some(key), Some(base)) => {
            Some(format!("sound:{}/media/greetings/{key}", base.trim_end_matches('/')))
        }
        _ => None,
    };
    let timeout = Duration::from_secs(menu.timeout_secs.max(1) as u64);
    for attempt in 0..=menu.retries {
        let digit = match collect(call, caller, greeting.as_deref(), timeout, rx).await {
            Collected::Left => return Chosen::Left,
            Collected::Nothing => continue,
            Collected::Digit(d) => d,
        };
        if let Some((_, to)) = menu.options.iter().find(|(d, _)| *d == digit) {
            tracing::info!(menu = menu.id, %digit, to = %to.render(), "menu choice");
            return Chosen::To(to.clone());
        }
        tracing::info!(menu = menu.id, %digit, attempt, "a digit the menu does not know");
        // "That is not valid", then the greeting again.
        if let Collected::Left = collect(call, caller, Some("sound:invalid"), Duration::ZERO, rx).await {
            return Chosen::Left;
        }
    }
    tracing::info!(menu = menu.id, to = %menu.fallback.render(), "no choice in the menu: its fallback");
    Chosen::To(menu.fallback.clone())
}

pub(super) enum Collected {
    Digit(String),
    Nothing,
    Left,
}

/// Plays `media` (when any) and waits `timeout` after it for a digit; a digit during the playback
/// stops it.
pub(super) async fn collect(
    call: &Call,
    caller: &str,
    media: Option<&str>,
    timeout: Duration,
    rx: &mut CallRx,
) -> Collected {
    let pb = format!("pb-{}", Uuid::new_v4().simple());
    let mut playing = false;
    if let Some(media) = media {
        let q = [("media", media), ("playbackId", pb.as_str())];
        playing = call
            .ctx
            .ari
            .call(reqwest::Method::POST, &format!("channels/{caller}/play"), &q, None)
            .await
            .is_ok();
    }
    // While the greeting plays, a long cap (a greeting is at most a few minutes); then the timeout.
    let mut deadline = Instant::now() + if playing { Duration::from_secs(600) } else { timeout };
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) if msg.ends(caller) => return Collected::Left,
            Ok(Some(CallMsg::Ari(Event::ChannelDtmfReceived { digit, .. }))) => {
                if playing {
                    call.delete(&format!("playbacks/{pb}")).await;
                }
                return Collected::Digit(digit);
            }
            Ok(Some(CallMsg::Ari(Event::PlaybackFinished { playback }))) if playback.id == pb => {
                playing = false;
                deadline = Instant::now() + timeout;
            }
            Ok(Some(_)) => {}
            Ok(None) => return Collected::Left,
            Err(_) => return Collected::Nothing,
        }
    }
}
