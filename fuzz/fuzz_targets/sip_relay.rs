//! The /sip relay's SIP reader: never panics, and a request it accepts names a From user that
//! cannot carry URI syntax (so it is compared with the endpoint name as written).
#![no_main]
use callbase_core::sipmsg::{parse, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(Message::Request(r)) = parse(text) {
        assert!(!r.from_user.contains(['<', '>', '"', '@', ' ', '\r', '\n']), "{:?}", r.from_user);
        assert!(!r.call_id.is_empty());
    }
});
