//! SIP-facing inputs of a trunk: host[:port], user/domain tokens, the N/M number rewrite, and the
//! escaping every value needs before it is written to a PJSIP realtime row.
//!
//! Asterisk's realtime layer splits values on `;` and decodes `^XX` (that is how
//! `set_var=A=1;B=2` becomes two variables), so a password `pa;ss` would silently become `ss`.
//! [`realtime_escape`] makes any user-supplied value survive that.

use std::net::{Ipv4Addr, Ipv6Addr};

use regex::{Regex, RegexBuilder};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("host must be a hostname, an IPv4 address or [IPv6], optionally followed by :port (1–65535)")]
    InvalidHost,
    #[error("{field} must not be empty and must not contain spaces, quotes, '<', '>', or line breaks")]
    InvalidToken { field: &'static str },
    #[error("the rewrite rule must look like N/M: a regular expression, '/', and its replacement")]
    RewriteFormat,
    #[error("the rewrite pattern is not a valid regular expression: {0}")]
    RewriteRegex(String),
    #[error("the rewrite rule turns {sample} into an empty number")]
    RewriteEmpties { sample: String },
    #[error("a phone number may contain only digits and an optional leading +")]
    InvalidNumber,
}

impl SipError {
    pub fn code(&self) -> &'static str {
        match self {
            SipError::InvalidHost => "invalid_host",
            SipError::InvalidToken { .. } => "invalid_sip_value",
            SipError::RewriteFormat | SipError::RewriteRegex(_) | SipError::RewriteEmpties { .. } => {
                "invalid_rewrite"
            }
            SipError::InvalidNumber => "invalid_number",
        }
    }
}

/// A SIP server address as carriers hand it out: `sip.example.com`, `192.0.2.10:5070`,
/// `[2001:db8::1]:5060`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipHost {
    host: String,
    port: Option<u16>,
}

impl SipHost {
    pub fn parse(raw: &str) -> Result<Self, SipError> {
        let s = raw.trim();
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (v6, after) = rest.split_once(']').ok_or(SipError::InvalidHost)?;
            v6.parse::<Ipv6Addr>().map_err(|_| SipError::InvalidHost)?;
            let port = match after {
                "" => None,
                p => Some(parse_port(p.strip_prefix(':').ok_or(SipError::InvalidHost)?)?),
            };
            (format!("[{v6}]"), port)
        } else {
            let (h, port) = match s.rsplit_once(':') {
                Some((h, p)) => (h, Some(parse_port(p)?)),
                None => (s, None),
            };
            if !(is_ipv4(h) || is_hostname(h)) {
                return Err(SipError::InvalidHost);
            }
            (h.to_ascii_lowercase(), port)
        };
        Ok(SipHost { host, port })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl std::fmt::Display for SipHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

fn parse_port(p: &str) -> Result<u16, SipError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SipError::InvalidHost);
    }
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(SipError::InvalidHost),
    }
}

fn is_ipv4(h: &str) -> bool {
    h.parse::<Ipv4Addr>().is_ok()
}

/// RFC 1123 hostname: labels of letters, digits and inner hyphens, ≤ 63 each, ≤ 253 in all. A
/// name made only of digits and dots is not a hostname (it would be a malformed IPv4 address).
fn is_hostname(h: &str) -> bool {
    if h.is_empty() || h.len() > 253 || h.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return false;
    }
    h.trim_end_matches('.').split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

/// A user or domain token that goes into a SIP URI or header: no whitespace, control characters,
/// quotes, angle brackets or '@' in a user; at most 128 characters.
pub fn sip_token(field: &'static str, raw: &str) -> Result<String, SipError> {
    let s = raw.trim();
    let bad =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '@' | '\\');
    if s.is_empty() || s.chars().count() > 128 || s.chars().any(bad) {
        return Err(SipError::InvalidToken { field });
    }
    Ok(s.to_string())
}

/// Escapes a value for a PJSIP realtime column: `^` → `^5E` first, then `;` → `^3B`.
pub fn realtime_escape(v: &str) -> String {
    v.replace('^', "^5E").replace(';', "^3B")
}

/// A per-trunk number rewrite `N/M`: N a regular expression, M its replacement (`\1` or `$1` refer
/// to groups). Applied last, after the dial rules, e.g. `^7/8` for a carrier that wants 8 instead of
/// 7.
#[derive(Debug, Clone)]
pub struct TrunkRewrite {
    pattern: Regex,
    replacement: String,
    source: String,
}

impl PartialEq for TrunkRewrite {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl TrunkRewrite {
    /// Compiled-size limit: a rule is a few characters; anything near this is an attack.
    const SIZE_LIMIT: usize = 64 * 1024;
    /// Numbers the rule must not turn into "".
    const SAMPLES: [&'static str; 4] = ["74951234567", "84951234567", "+74951234567", "1234567"];

    pub fn parse(raw: &str) -> Result<Self, SipError> {
        let s = raw.trim();
        let (n, m) = split_unescaped_slash(s).ok_or(SipError::RewriteFormat)?;
        if n.is_empty() || s.len() > 200 {
            return Err(SipError::RewriteFormat);
        }
        let pattern = RegexBuilder::new(n)
            .size_limit(Self::SIZE_LIMIT)
            .dfa_size_limit(Self::SIZE_LIMIT)
            .build()
            .map_err(|e| SipError::RewriteRegex(e.to_string()))?;
        if m.chars().any(|c| !(c.is_ascii_digit() || matches!(c, '+' | '\\' | '$' | '{' | '}' | '#' | '*'))) {
            return Err(SipError::RewriteFormat);
        }
        let rule = TrunkRewrite { pattern, replacement: ere_to_rust_replacement(m), source: s.to_string() };
        for sample in Self::SAMPLES {
            if rule.pattern.is_match(sample) && rule.apply(sample).is_empty() {
                return Err(SipError::RewriteEmpties { sample: sample.to_string() });
            }
        }
        Ok(rule)
    }

    /// Rewrites the first match.
    pub fn apply(&self, number: &str) -> String {
        self.pattern.replace(number, self.replacement.as_str()).into_owned()
    }

    /// The rule as the admin wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Splits `N/M` at the last `/` not preceded by a backslash (a `/` inside N can be written `\/`).
fn split_unescaped_slash(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    (0..bytes.len())
        .rev()
        .find(|&i| bytes[i] == b'/' && (i == 0 || bytes[i - 1] != b'\\'))
        .map(|i| (&s[..i], &s[i + 1..]))
}

/// `\1` (POSIX/sed style) → `${1}` (regex crate style); `$1` passes through as `${1}` too.
fn ere_to_rust_replacement(m: &str) -> String {
    let mut out = String::new();
    let mut chars = m.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let d = chars.next().unwrap();
                out.push_str(&format!("${{{d}}}"));
            }
            '$' | '{' | '}' | '\\' => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hosts_parse_with_and_without_ports() {
        let h = SipHost::parse("sip.uiscom.ru:9060").unwrap();
        assert_eq!((h.host(), h.port()), ("sip.uiscom.ru", Some(9060)));
        assert_eq!(SipHost::parse("192.0.2.10").unwrap().to_string(), "192.0.2.10");
        assert_eq!(SipHost::parse("[2001:db8::1]:5070").unwrap().to_string(), "[2001:db8::1]:5070");
        assert_eq!(SipHost::parse("[::1]").unwrap().port(), None);
        assert_eq!(SipHost::parse("Sip.Example.COM").unwrap().host(), "sip.example.com");
        for bad in [
            "",
            "sip.example.com:0",
            "sip.example.com:65536",
            "sip.example.com:",
            "a b.com",
            "-x.com",
            "x-.com",
            "2001:db8::1",
            "[2001:db8::zz]",
            "[::1]5060",
            "999.1.1.1",
            "host\r\nVia: x",
            "host;transport=tcp",
            "\"host\"",
            "1.2.3",
            "x..com",
        ] {
            assert_eq!(SipHost::parse(bad), Err(SipError::InvalidHost), "{bad:?}");
        }
    }

    #[test]
    fn tokens_refuse_what_breaks_sip() {
        assert_eq!(sip_token("user", " 7495123 ").unwrap(), "7495123");
        for bad in ["", "a b", "a\r\nb", "a\"b", "a<b", "a@b", "a\tb"] {
            assert!(sip_token("user", bad).is_err(), "{bad:?}");
        }
        assert!(sip_token("user", "pa;ss").is_ok(), "';' is legal; it is escaped on write");
    }

    #[test]
    fn realtime_escaping_survives_asterisks_decoding() {
        assert_eq!(realtime_escape("pa;ss^x"), "pa^3Bss^5Ex");
        assert_eq!(realtime_escape("plain"), "plain");
    }

    #[test]
    fn rewrite_rules_apply_and_are_checked() {
        let r = TrunkRewrite::parse("^7/8").unwrap();
        assert_eq!(r.apply("74951234567"), "84951234567");
        assert_eq!(r.apply("84951234567"), "84951234567", "no match: unchanged");
        let g = TrunkRewrite::parse(r"^\+?7(\d{10})$/8\1").unwrap();
        assert_eq!(g.apply("+74951234567"), "84951234567");
        let d = TrunkRewrite::parse(r"^(\d+)$/810$1").unwrap();
        assert_eq!(d.apply("4951234567"), "8104951234567");
        assert!(matches!(TrunkRewrite::parse("^.*$/"), Err(SipError::RewriteEmpties { .. })));
        assert!(matches!(TrunkRewrite::parse("no-slash"), Err(SipError::RewriteFormat)));
        assert!(matches!(TrunkRewrite::parse("^(7/8"), Err(SipError::RewriteRegex(_))));
        assert!(matches!(TrunkRewrite::parse("^7/8;Hangup"), Err(SipError::RewriteFormat)));
        let huge = "^(a{1000}){1000}/1";
        assert!(matches!(
            TrunkRewrite::parse(huge),
            Err(SipError::RewriteFormat) | Err(SipError::RewriteRegex(_))
        ));
    }

    proptest! {
        #[test]
        fn any_valid_port_round_trips(port in 1u16..=65535, v4 in any::<[u8; 4]>()) {
            let ip = std::net::Ipv4Addr::from(v4).to_string();
            let h = SipHost::parse(&format!("{ip}:{port}")).unwrap();
            prop_assert_eq!(h.port(), Some(port));
            prop_assert_eq!(h.host(), ip.as_str());
            let again = SipHost::parse(&h.to_string()).unwrap();
            prop_assert_eq!(again, h);
        }

        #[test]
        fn hostnames_with_ports_round_trip(labels in proptest::collection::vec("[a-z][a-z0-9-]{0,10}[a-z0-9]", 1..4), port in proptest::option::of(1u16..=65535)) {
            let name = labels.join(".");
            let raw = match port { Some(p) => format!("{name}:{p}"), None => name.clone() };
            let h = SipHost::parse(&raw).unwrap();
            prop_assert_eq!(h.host(), name.as_str());
            prop_assert_eq!(h.port(), port);
            prop_assert_eq!(h.to_string(), raw);
        }

        #[test]
        fn ipv6_in_brackets_round_trips(v6 in any::<[u16; 8]>(), port in proptest::option::of(1u16..=65535)) {
            let ip = std::net::Ipv6Addr::from(v6);
            let raw = match port { Some(p) => format!("[{ip}]:{p}"), None => format!("[{ip}]") };
            let h = SipHost::parse(&raw).unwrap();
            prop_assert_eq!(h.port(), port);
            prop_assert_eq!(h.to_string(), raw);
        }

        #[test]
        fn out_of_range_ports_are_refused(port in 65536u32..1_000_000) {
            let raw = format!("sip.example.com:{port}");
            prop_assert_eq!(SipHost::parse(&raw), Err(SipError::InvalidHost));
        }

        #[test]
        fn parser_never_panics_and_accepts_no_sip_breaking_chars(s in "\\PC{0,40}") {
            if let Ok(h) = SipHost::parse(&s) {
                let out = h.to_string();
                prop_assert!(!out.chars().any(|c| c.is_whitespace() || matches!(c, ';' | '"' | '<' | '>' | '@' | ',')));
            }
        }

        #[test]
        fn escaped_values_have_no_raw_separators(s in "\\PC{0,40}") {
            let e = realtime_escape(&s);
            prop_assert!(!e.contains(';'));
            // Decoding ^3B and ^5E (in Asterisk's order: one pass, left to right) gives the original.
            let decoded = e.replace("^3B", ";").replace("^5E", "^");
            prop_assert_eq!(decoded, s);
        }
    }
}
