//! The synthetic agent: a headless WebRTC client (webrtc-rs) that registers to the platform
//! Asterisk over SIP-over-WebSocket, calls an echo number and measures the path an agent's browser
//! uses — registration, INVITE→200 OK, ICE, DTLS-SRTP and the echoed audio (round trip, loss,
//! jitter). The server's health probe runs one call a minute; `callbase loadgen` runs many.
//!
//! webrtc-rs 0.21.1 needs five workarounds to talk to Asterisk 22; each lives in [`sdp`] (or in
//! [`agent`] where it is a builder setting) behind a unit test (docs/probe.md).

pub mod agent;
pub mod audio;
mod peer;
pub mod sdp;
pub mod sip;

pub use agent::{call, register, Agent, CallOptions, Codec, Report, Target};
