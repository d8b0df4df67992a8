//! The SIP the synthetic agent speaks over a WebSocket (RFC 7118): REGISTER, INVITE, ACK, BYE with
//! MD5 digest (RFC 3261 §22, RFC 2617 qop=auth), and answers to the requests Asterisk sends
//! (OPTIONS, BYE).
//!
//! Written by hand: the agent is a UAC for one dialog at a time, needs five request shapes and
//! reads a status code, five headers and a body. The Rust SIP stacks we looked at (rsip, the
//! rvoip crates) either stopped at 0.x years ago or bring a whole transaction/dialog layer we
//! would have to drive around; a message is a few lines of text here, and each is covered by a
//! test against the real Asterisk (the probe call in the e2e lab).

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use rand::Rng;

/// A parsed SIP message (request or response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `Some(code)` for a response.
    pub status: Option<u16>,
    /// The method of a request (`None` for responses).
    pub method: Option<String>,
    /// Header lines in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Compact header forms (RFC 3261 §7.3.3) this agent may receive.
fn long_name(name: &str) -> &str {
    match name {
        "v" | "V" => "Via",
        "f" | "F" => "From",
        "t" | "T" => "To",
        "i" | "I" => "Call-ID",
        "m" | "M" => "Contact",
        "l" | "L" => "Content-Length",
        "c" | "C" => "Content-Type",
        n => n,
    }
}

impl Message {
    pub fn parse(text: &str) -> Option<Message> {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let first = lines.next()?;
        let (status, method) = if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
            (Some(rest.split_whitespace().next()?.parse().ok()?), None)
        } else {
            let m = first.split_whitespace().next()?;
            if !first.ends_with("SIP/2.0") {
                return None;
            }
            (None, Some(m.to_string()))
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for l in lines {
            if l.starts_with([' ', '\t']) {
                // Folded continuation line.
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(l.trim());
                }
                continue;
            }
            let (n, v) = l.split_once(':')?;
            headers.push((long_name(n.trim()).to_string(), v.trim().to_string()));
        }
        Some(Message { status, method, headers, body: body.to_string() })
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All values of `name`, in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// `(number, method)` of the CSeq header.
    pub fn cseq(&self) -> Option<(u32, String)> {
        let (n, m) = self.header("CSeq")?.split_once(' ')?;
        Some((n.trim().parse().ok()?, m.trim().to_string()))
    }

    /// The `tag` parameter of the To header (the remote tag of a dialog we started).
    pub fn to_tag(&self) -> Option<String> {
        tag_of(self.header("To")?)
    }

    /// A response to this request: Via, From, To (with `to_tag` added if it has none), Call-ID and
    /// CSeq copied, as RFC 3261 §8.2.6.2 says.
    pub fn response(&self, code: u16, reason: &str, to_tag: &str) -> String {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        for v in self.headers_named("Via") {
            let _ = write!(out, "Via: {v}\r\n");
        }
        for name in ["From", "Call-ID", "CSeq"] {
            if let Some(v) = self.header(name) {
                let _ = write!(out, "{name}: {v}\r\n");
            }
        }
        if let Some(to) = self.header("To") {
            if tag_of(to).is_some() {
                let _ = write!(out, "To: {to}\r\n");
            } else {
                let _ = write!(out, "To: {to};tag={to_tag}\r\n");
            }
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        out
    }
}

fn tag_of(header: &str) -> Option<String> {
    // The tag is a header parameter: after the closing '>' when there is a name-addr.
    let params = header.rsplit_once('>').map_or(header, |(_, p)| p);
    params.split(';').find_map(|p| p.trim().strip_prefix("tag=").map(str::to_string))
}

/// A random token for tags, branches and Call-IDs.
pub fn token() -> String {
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

/// A digest challenge (`WWW-Authenticate` / `Proxy-Authenticate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub qop_auth: bool,
    pub algorithm: String,
}

impl Challenge {
    pub fn parse(value: &str) -> Option<Challenge> {
        let rest = value.trim().strip_prefix("Digest")?.trim();
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut qop = None;
        let mut algorithm = "MD5".to_string();
        for (k, v) in params(rest) {
            match k.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(v),
                "nonce" => nonce = Some(v),
                "opaque" => opaque = Some(v),
                "qop" => qop = Some(v),
                "algorithm" => algorithm = v,
                _ => {}
            }
        }
        let qop_auth = qop.is_some_and(|q| q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")));
        Some(Challenge { realm: realm?, nonce: nonce?, opaque, qop_auth, algorithm })
    }

    /// The `Authorization` value answering this challenge for `method uri`.
    pub fn authorization(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
        let ha1 = md5(format!("{user}:{}:{password}", self.realm));
        let ha2 = md5(format!("{method}:{uri}"));
        let mut out = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\"",
            self.realm, self.nonce
        );
        if self.qop_auth {
            let nc = format!("{nc:08x}");
            let response = md5(format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce));
            let _ = write!(out, ", response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\"");
        } else {
            let response = md5(format!("{ha1}:{}:{ha2}", self.nonce));
            let _ = write!(out, ", response=\"{response}\"");
        }
        let _ = write!(out, ", algorithm={}", self.algorithm);
        if let Some(o) = &self.opaque {
            let _ = write!(out, ", opaque=\"{o}\"");
        }
        out
    }
}

/// `k=v` / `k="v"` pairs of a challenge, commas inside quotes kept.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else { break };
        let k = k.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        out.push((k, v));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// What a request needs besides its method.
pub struct Request<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    /// This agent's WebSocket "host" (`<token>.invalid`), for Via and Contact.
    pub via_host: &'a str,
    pub branch: &'a str,
    pub from: &'a str,
    pub from_tag: &'a str,
    pub to: &'a str,
    pub to_tag: Option<&'a str>,
    pub call_id: &'a str,
    pub cseq: u32,
    pub contact: Option<&'a str>,
    pub extra: &'a [(&'a str, String)],
    pub content_type: Option<&'a str>,
    pub body: &'a str,
}

impl Request<'_> {
    pub fn render(&self) -> String {
        let mut out = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        let _ = write!(out, "Via: SIP/2.0/WS {};branch=z9hG4bK{}\r\n", self.via_host, self.branch);
        out.push_str("Max-Forwards: 70\r\n");
        let _ = write!(out, "From: <{}>;tag={}\r\n", self.from, self.from_tag);
        match self.to_tag {
            Some(t) => {
                let _ = write!(out, "To: <{}>;tag={t}\r\n", self.to);
            }
            None => {
                let _ = write!(out, "To: <{}>\r\n", self.to);
            }
        }
        let _ = write!(out, "Call-ID: {}\r\n", self.call_id);
        let cseq_method = if self.method == "ACK" { "ACK" } else { self.method };
        let _ = write!(out, "CSeq: {} {cseq_method}\r\n", self.cseq);
        if let Some(c) = self.contact {
            let _ = write!(out, "Contact: {c}\r\n");
        }
        for (k, v) in self.extra {
            let _ = write!(out, "{k}: {v}\r\n");
        }
        out.push_str("User-Agent: callbase-probe\r\n");
        if let Some(ct) = self.content_type {
            let _ = write!(out, "Content-Type: {ct}\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\n\r\n{}", self.body.len(), self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_rfc_2617_example() {
        // RFC 2617 §3.5 (the HTTP example; SIP uses the same computation).
        let c = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert!(c.qop_auth);
        let a = c.authorization("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b");
        assert!(a.contains(r#"response="6629fae49393a05397450978507c4ef1""#), "{a}");
        assert!(
            a.contains("nc=00000001") && a.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#),
            "{a}"
        );
    }

    #[test]
    fn challenge_without_qop_uses_rfc_2069_response() {
        let c = Challenge::parse(r#"Digest realm="callbase",nonce="abc",algorithm=MD5"#).unwrap();
        assert!(!c.qop_auth);
        let a = c.authorization("u", "p", "REGISTER", "sip:callbase", 1, "x");
        let expect = {
            let md5 = |s: &str| hex::encode(Md5::digest(s.as_bytes()));
            md5(&format!("{}:abc:{}", md5("u:callbase:p"), md5("REGISTER:sip:callbase")))
        };
        assert!(a.contains(&format!("response=\"{expect}\"")) && !a.contains("qop"), "{a}");
    }

    #[test]
    fn asterisk_challenge_parses() {
        // As Asterisk 22 sends it.
        let c = Challenge::parse(
            r#"Digest realm="callbase",nonce="1764300000/0f1e2d3c4b5a69788796a5b4c3d2e1f0",opaque="6a7b8c9d0e1f2a3b",algorithm=MD5,qop="auth""#,
        )
        .unwrap();
        assert_eq!(c.realm, "callbase");
        assert_eq!(c.nonce, "1764300000/0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        assert_eq!(c.opaque.as_deref(), Some("6a7b8c9d0e1f2a3b"));
        assert!(c.qop_auth);
    }

    #[test]
    fn parses_responses_with_compact_headers_and_answers_requests() {
        let r = Message::parse("SIP/2.0 200 OK\r\nv: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\ni: abc\r\nCSeq: 2 INVITE\r\nt: <sip:9999@callbase>;tag=as1\r\nl: 3\r\n\r\nv=0").unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.call_id(), Some("abc"));
        assert_eq!(r.cseq(), Some((2, "INVITE".into())));
        assert_eq!(r.to_tag().as_deref(), Some("as1"));
        assert_eq!(r.body, "v=0");

        let bye = Message::parse(
            "BYE sip:p@x.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1:8088;rport;branch=z9hG4bKa\r\nFrom: <sip:9999@callbase>;tag=as1\r\nTo: <sip:p@callbase>;tag=me\r\nCall-ID: abc\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(bye.method.as_deref(), Some("BYE"));
        let ok = bye.response(200, "OK", "unused");
        assert!(
            ok.starts_with("SIP/2.0 200 OK\r\nVia: SIP/2.0/WS 127.0.0.1:8088;rport;branch=z9hG4bKa\r\n"),
            "{ok}"
        );
        assert!(ok.contains("To: <sip:p@callbase>;tag=me\r\n") && ok.contains("CSeq: 5 BYE\r\n"), "{ok}");
        let opt = Message::parse("OPTIONS sip:p@x.invalid SIP/2.0\r\nTo: <sip:p@callbase>\r\nCall-ID: q\r\nCSeq: 1 OPTIONS\r\n\r\n").unwrap();
        assert!(opt.response(200, "OK", "t1").contains("To: <sip:p@callbase>;tag=t1\r\n"));
        assert_eq!(Message::parse("garbage"), None);
    }

    #[test]
    fn requests_render_with_content_length() {
        let r = Request {
            method: "INVITE",
            uri: "sip:9999@callbase",
            via_host: "abc.invalid",
            branch: "b1",
            from: "sip:p@callbase",
            from_tag: "f1",
            to: "sip:9999@callbase",
            to_tag: None,
            call_id: "c1",
            cseq: 1,
            contact: Some("<sip:p@abc.invalid;transport=ws>"),
            extra: &[],
            content_type: Some("application/sdp"),
            body: "v=0\r\n",
        }
        .render();
        assert!(r.starts_with(
            "INVITE sip:9999@callbase SIP/2.0\r\nVia: SIP/2.0/WS abc.invalid;branch=z9hG4bKb1\r\n"
        ));
        assert!(r.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"), "{r}");
        let m = Message::parse(&r).unwrap();
        assert_eq!(m.method.as_deref(), Some("INVITE"));
        assert_eq!(m.cseq(), Some((1, "INVITE".into())));
    }
}
