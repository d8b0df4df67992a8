//! The synthetic agent: a headless WebRTC client (webrtc-rs) that registers to the platform
//! Asterisk over SIP-over-WebSocket, calls an echo number and measures the path an agent's browser
//! uses — registration, INVITE→200 OK, ICE, DTLS-SRTP and the echoed audio (round trip, loss,
//! jitter). The server's health probe runs one call a minute; `callbase loadgen` runs many.
//!
//! webrtc-rs 0.21.1 needs seven workarounds to talk to Asterisk 22 and measure what a browser
//! would get; each lives in [`sdp`], in the peer connection's builder or in the audio tap, behind a
//! unit test (docs/probe.md).

pub mod agent;
pub mod audio;
#[cfg(test)]
mod loopback;
mod peer;
pub mod sdp;
pub mod sip;
mod tap;

pub use agent::{call, register, Agent, CallOptions, Codec, Report, Target};
