//! File names of downloaded recordings: `<id>_<phone>_<YYYY-MM-DD>.mp3`.

use time::OffsetDateTime;

/// The download name of a recording. `phone` is what the user may see (masked for masked users);
/// characters that are not safe in a file name on every OS become `_`.
pub fn recording_file_name(call_id: &str, phone: &str, started: OffsetDateTime) -> String {
    let phone: String = phone
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '-') { c } else { '_' })
        .collect();
    let phone = if phone.is_empty() { "unknown".to_string() } else { phone };
    let d = started.date();
    format!("{call_id}_{phone}_{:04}-{:02}-{:02}.mp3", d.year(), u8::from(d.month()), d.day())
}

/// `Content-Disposition: attachment` for `name` (RFC 6266: an ASCII fallback and the exact name
/// as RFC 5987 `filename*`).
pub fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' { c } else { '_' })
        .collect();
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{enc}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn names_carry_id_phone_and_day() {
        let n = recording_file_name("0b7e", "+74951234567", datetime!(2026-11-24 23:59 UTC));
        assert_eq!(n, "0b7e_+74951234567_2026-11-24.mp3");
        assert_eq!(
            recording_file_name("x", "****4567", datetime!(2026-01-02 0:00 UTC)),
            "x_****4567_2026-01-02.mp3"
        );
        assert_eq!(
            recording_file_name("x", "a/b\\c\"d", datetime!(2026-01-02 0:00 UTC)),
            "x_a_b_c_d_2026-01-02.mp3"
        );
        assert_eq!(recording_file_name("x", "", datetime!(2026-01-02 0:00 UTC)), "x_unknown_2026-01-02.mp3");
    }

    #[test]
    fn content_disposition_is_rfc6266_safe() {
        assert_eq!(
            attachment("a_+7_2026.mp3"),
            "attachment; filename=\"a_+7_2026.mp3\"; filename*=UTF-8''a_+7_2026.mp3"
        );
        let h = attachment("звонок \"1\".mp3");
        assert!(h.is_ascii());
        assert!(h.starts_with("attachment; filename=\"______"), "{h}");
        assert!(h.contains("%D0%B7"), "{h}");
    }
}
