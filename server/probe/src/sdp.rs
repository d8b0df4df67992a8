//! SDP rewrites that make webrtc-rs 0.21.1 and Asterisk 22 agree (docs/probe.md). Pure functions
//! on the SDP text, each tested on SDP captured from the real pair (`tests/sdp/`).
//!
//! The rewrites are line edits, not a parse and re-serialise: what Asterisk and webrtc-rs do not
//! agree on is two attribute values and one address, and everything else must pass through
//! byte-for-byte.

/// Workarounds 2 and 5, applied to webrtc-rs's offer (after ICE gathering completed) before it goes
/// into the INVITE:
///
/// - **2. `c=`/`m=` from the first host candidate.** webrtc-rs leaves `c=IN IP4 0.0.0.0` and port 9;
///   Asterisk reads 0.0.0.0 as remote hold, answers `recvonly`, and DTLS never starts. Browsers put
///   the default candidate there; so do we, per media section.
/// - **5. `a=setup:active`.** With `actpass` Asterisk becomes the DTLS client and its first
///   ClientHello arrives before webrtc-rs listens; OpenSSL resends only after 1 s. Offering `active`
///   makes webrtc-rs the client (Asterisk answers `passive`) and DTLS completes in ~200 ms.
pub fn fix_offer(sdp: &str) -> String {
    let lines: Vec<&str> = sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).collect();
    // Sections: [session, media 1, media 2, …]; each media section's default candidate.
    let mut starts: Vec<usize> =
        lines.iter().enumerate().filter(|(_, l)| l.starts_with("m=")).map(|(i, _)| i).collect();
    starts.push(lines.len());
    let mut defaults: Vec<Option<(String, u16)>> = Vec::new();
    for w in starts.windows(2) {
        defaults.push(lines[w[0]..w[1]].iter().find_map(|l| host_candidate(l)));
    }
    let first_default = defaults.iter().flatten().next().cloned();
    let mut out = String::with_capacity(sdp.len() + 32);
    let mut section: Option<usize> = None;
    for l in &lines {
        if l.starts_with("m=") {
            section = Some(section.map_or(0, |s| s + 1));
        }
        let default = match section {
            Some(s) => defaults.get(s).cloned().flatten(),
            None => first_default.clone(),
        };
        let line = match (*l, &default) {
            (l, Some((addr, _))) if l.starts_with("c=IN IP4 ") || l.starts_with("c=IN IP6 ") => {
                let family = if addr.contains(':') { "IP6" } else { "IP4" };
                format!("c=IN {family} {addr}")
            }
            (l, Some((_, port))) if l.starts_with("m=") => {
                let mut parts: Vec<&str> = l.splitn(3, ' ').collect();
                let port = port.to_string();
                if parts.len() == 3 {
                    parts[1] = &port;
                }
                parts.join(" ")
            }
            ("a=setup:actpass", _) => "a=setup:active".to_string(),
            (l, _) => l.to_string(),
        };
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

/// Workaround 3, applied to Asterisk's answer before webrtc-rs reads it: **lower-case the
/// fingerprint's hash name.** Asterisk sends `a=fingerprint:SHA-256 …`; rtc 0.21.1 compares the
/// name case-sensitively against `sha-256` and fails DTLS with "bad certificate" (RFC 4572 says
/// hash names are case-insensitive).
pub fn fix_answer(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for l in sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()) {
        match l.strip_prefix("a=fingerprint:").and_then(|v| v.split_once(' ')) {
            Some((hash, value)) => {
                out.push_str("a=fingerprint:");
                out.push_str(&hash.to_ascii_lowercase());
                out.push(' ');
                out.push_str(value);
            }
            None => out.push_str(l),
        }
        out.push_str("\r\n");
    }
    out
}

/// `(address, port)` of an `a=candidate:` line for RTP (component 1) of type host.
fn host_candidate(line: &str) -> Option<(String, u16)> {
    let f: Vec<&str> = line.strip_prefix("a=candidate:")?.split_whitespace().collect();
    // foundation component transport priority address port "typ" type …
    if f.len() < 8 || f[1] != "1" || f[6] != "typ" || f[7] != "host" || !f[2].eq_ignore_ascii_case("udp") {
        return None;
    }
    Some((f[4].to_string(), f[5].parse().ok()?))
}

/// The payload types the answer accepted for `encoding` (e.g. `PCMU/8000`, `telephone-event/8000`).
pub fn payload_type(sdp: &str, encoding: &str) -> Option<u8> {
    sdp.lines().find_map(|l| {
        let (pt, enc) = l.trim_end().strip_prefix("a=rtpmap:")?.split_once(' ')?;
        // `PCMU/8000` and `PCMU/8000/1` (channels) name the same encoding.
        let enc = enc.to_ascii_lowercase();
        let want = encoding.to_ascii_lowercase();
        (enc == want || enc.strip_prefix(&want).is_some_and(|r| r.starts_with('/')))
            .then(|| pt.parse().ok())
            .flatten()
    })
}

/// The direction attribute of the first media section (`sendrecv` when absent, as RFC 4566 says).
pub fn direction(sdp: &str) -> &'static str {
    for l in sdp.lines().map(str::trim_end) {
        match l {
            "a=sendrecv" => return "sendrecv",
            "a=sendonly" => return "sendonly",
            "a=recvonly" => return "recvonly",
            "a=inactive" => return "inactive",
            _ => {}
        }
    }
    "sendrecv"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offer webrtc-rs 0.21.1 made in the e2e lab after ICE gathering, as it was (before the
    /// rewrites).
    const OFFER: &str = include_str!("../tests/sdp/webrtc-rs-offer.sdp");
    /// Asterisk 22's answer to the rewritten offer, as it came in the 200 OK.
    const ANSWER: &str = include_str!("../tests/sdp/asterisk-answer.sdp");

    #[test]
    fn workaround_2_offer_addresses_come_from_the_first_host_candidate() {
        assert!(OFFER.contains("c=IN IP4 0.0.0.0"), "the captured offer shows the problem");
        assert!(OFFER.lines().any(|l| l.starts_with("m=audio 9 ")), "the captured offer shows the problem");
        let (addr, port) = OFFER.lines().find_map(host_candidate).expect("the offer has a host candidate");
        let fixed = fix_offer(OFFER);
        assert!(!fixed.lines().any(|l| l.starts_with("c=") && l.contains("0.0.0.0")), "{fixed}");
        assert!(fixed.contains(&format!("c=IN IP4 {addr}\r\n")), "{fixed}");
        assert!(fixed.contains(&format!("m=audio {port} UDP/TLS/RTP/SAVPF")), "{fixed}");
        // Everything else passes through unchanged: same lines, same order.
        assert_eq!(fixed.lines().count(), OFFER.lines().filter(|l| !l.trim().is_empty()).count());
        for l in OFFER.lines().map(|l| l.trim_end_matches('\r')) {
            if !(l.starts_with("c=") || l.starts_with("m=") || l == "a=setup:actpass" || l.is_empty()) {
                assert!(fixed.contains(&format!("{l}\r\n")), "lost: {l}");
            }
        }
    }

    #[test]
    fn workaround_5_offer_asks_to_be_the_dtls_client() {
        assert!(OFFER.contains("a=setup:actpass"));
        let fixed = fix_offer(OFFER);
        assert!(fixed.contains("a=setup:active\r\n") && !fixed.contains("actpass"), "{fixed}");
        assert!(ANSWER.contains("a=setup:passive"), "Asterisk took the server role in the captured call");
    }

    #[test]
    fn workaround_3_answer_fingerprint_hash_is_lower_case() {
        assert!(ANSWER.contains("a=fingerprint:SHA-256 "), "the captured answer shows the problem");
        let fixed = fix_answer(ANSWER);
        let fp = fixed.lines().find(|l| l.starts_with("a=fingerprint:")).unwrap();
        assert!(fp.starts_with("a=fingerprint:sha-256 "), "{fp}");
        // The fingerprint value itself is untouched (upper-case hex stays).
        let orig = ANSWER.lines().find(|l| l.starts_with("a=fingerprint:")).unwrap().trim_end();
        assert_eq!(fp.split_once(' ').unwrap().1, orig.split_once(' ').unwrap().1);
    }

    #[test]
    fn workaround_4_offer_carries_telephone_event_and_asterisk_accepts_it() {
        assert_eq!(payload_type(OFFER, "PCMU/8000"), Some(0));
        assert_eq!(
            payload_type(OFFER, "telephone-event/8000"),
            Some(101),
            "codec preferences put telephone-event in the offer"
        );
        assert_eq!(payload_type(ANSWER, "telephone-event/8000"), Some(101));
        assert_eq!(payload_type(ANSWER, "PCMU/8000"), Some(0));
        assert_eq!(direction(ANSWER), "sendrecv", "with the rewritten offer Asterisk does not see a hold");
    }

    #[test]
    fn offers_without_candidates_or_with_ipv6_are_handled() {
        let no_cand = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=setup:actpass\r\n";
        assert_eq!(
            fix_offer(no_cand),
            "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=setup:active\r\n"
        );
        let v6 = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2130706431 ::1 5000 typ host\r\n";
        assert!(
            fix_offer(v6).contains("c=IN IP6 ::1\r\nm=audio 5000")
                || fix_offer(v6).contains("m=audio 5000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP6 ::1")
        );
        // RTCP-component and non-host candidates are not defaults.
        assert_eq!(host_candidate("a=candidate:1 2 udp 1 10.0.0.1 5001 typ host"), None);
        assert_eq!(
            host_candidate("a=candidate:1 1 udp 1 10.0.0.1 5001 typ srflx raddr 0.0.0.0 rport 0"),
            None
        );
        assert_eq!(
            host_candidate("a=candidate:1 1 UDP 1 10.0.0.1 5001 typ host"),
            Some(("10.0.0.1".into(), 5001))
        );
    }
}
