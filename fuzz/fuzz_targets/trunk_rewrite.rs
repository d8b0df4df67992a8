//! The trunk rewrite rule `N/M`: parsing any rule and applying an accepted one to any number never
//! panics.
#![no_main]
use callbase_core::sip::TrunkRewrite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (rule, number) = text.split_once('\n').unwrap_or((text, "74951234567"));
    if let Ok(r) = TrunkRewrite::parse(rule) {
        let _ = r.apply(number);
    }
});
