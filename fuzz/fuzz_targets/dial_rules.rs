//! The dial-rule engine on any dialled string: never panics, and a number it routes is digits with
//! an optional leading '+'.
#![no_main]
use callbase_core::dial::DialRules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let rules = DialRules::default();
    if let Some(e164) = rules.to_e164(text) {
        assert!(e164.trim_start_matches('+').bytes().all(|b| b.is_ascii_digit()), "{e164}");
    }
    let _ = rules.route(text, |n| n == "101");
});
