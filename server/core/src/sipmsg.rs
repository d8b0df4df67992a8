//! A strict reader of the SIP messages a browser sends over `/sip`, for the relay's identity check.
//!
//! Written by hand on purpose: the Rust SIP crates (rsip, sipmsg) are lenient general-purpose
//! parsers that accept what pjsip might read differently, and unmaintained since 2021–2022. A
//! security gate must refuse anything ambiguous instead: bare CR or LF, folded header lines,
//! repeated `From`/`To`/`Call-ID`/`CSeq`/`Content-Length`, a body whose length differs from
//! `Content-Length` (a second message smuggled after the first), URIs outside `<>` next to a
//! display name. JsSIP never sends any of these. Only what the check needs is read: the method, the
//! `From` URI's user, whether `To` has a tag, and the `Call-ID`.

/// What the relay needs to know of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Empty or CRLFs only (an RFC 5626 keep-alive).
    KeepAlive,
    Response,
    Request(Request),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The user part of the `From` URI, exactly as written (no unescaping: our endpoint names need
    /// none, so an escaped name never equals one).
    pub from_user: String,
    /// `To` carries a `tag` parameter: the request claims to be inside a dialog.
    pub to_tag: bool,
    pub call_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SipParseError(pub &'static str);

fn err<T>(why: &'static str) -> Result<T, SipParseError> {
    Err(SipParseError(why))
}

/// RFC 3261 `token` characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// Compact header forms (RFC 3261 §7.3.3 and the extensions' registrations) to their long names.
fn long_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let long = match lower.as_str() {
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "v" => "via",
        "l" => "content-length",
        "c" => "content-type",
        "e" => "content-encoding",
        "k" => "supported",
        "s" => "subject",
        "o" => "event",
        "r" => "refer-to",
        "b" => "referred-by",
        "u" => "allow-events",
        "x" => "session-expires",
        "y" => "identity",
        "a" => "accept-contact",
        "j" => "reject-contact",
        "d" => "request-disposition",
        _ => return lower,
    };
    long.to_string()
}

/// Headers that may appear once only.
const SINGLE: [&str; 6] = ["from", "to", "call-id", "cseq", "content-length", "max-forwards"];

/// Parses one message, strictly.
pub fn parse(msg: &str) -> Result<Message, SipParseError> {
    if msg.bytes().all(|b| b == b'\r' || b == b'\n') {
        return Ok(Message::KeepAlive);
    }
    let Some((head, body)) = msg.split_once("\r\n\r\n") else {
        return err("SIP message without an end of headers");
    };
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut headers: Vec<(String, &str)> = Vec::new();
    for line in head.split("\r\n") {
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return err("SIP message with a bare CR, LF or a control character in its headers");
        }
    }
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return err("folded SIP header lines are not accepted");
        }
        let Some((name, value)) = line.split_once(':') else { return err("SIP header line without ':'") };
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.chars().all(is_token_char) {
            return err("SIP header name is not a token");
        }
        let name = long_name(name);
        if SINGLE.contains(&name.as_str()) && headers.iter().any(|(n, _)| *n == name) {
            return err("a SIP header that must appear once appears twice");
        }
        headers.push((name, value.trim_matches([' ', '\t'])));
    }
    let get = |n: &str| headers.iter().find(|(h, _)| h == n).map(|(_, v)| *v);
    match get("content-length") {
        Some(l) => {
            if l.is_empty() || l.len() > 7 || !l.bytes().all(|b| b.is_ascii_digit()) {
                return err("Content-Length is not a number");
            }
            if l.parse::<usize>().ok() != Some(body.len()) {
                return err("Content-Length differs from the body's length");
            }
        }
        None if !body.is_empty() => return err("SIP message with a body and no Content-Length"),
        None => {}
    }
    if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
        let code = rest.split(' ').next().unwrap_or_default();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return err("SIP response with a bad status code");
        }
        return Ok(Message::Response);
    }
    let parts: Vec<&str> = first.split(' ').collect();
    let [method, uri, version] = parts.as_slice() else {
        return err("SIP request line is not 'METHOD URI SIP/2.0'");
    };
    if method.is_empty() || !method.chars().all(is_token_char) || uri.is_empty() || *version != "SIP/2.0" {
        return err("SIP request line is not 'METHOD URI SIP/2.0'");
    }
    let from = get("from").ok_or(SipParseError("SIP request without From"))?;
    let to = get("to").ok_or(SipParseError("SIP request without To"))?;
    let call_id = get("call-id")
        .filter(|c| !c.is_empty() && !c.contains([' ', '\t']))
        .ok_or(SipParseError("SIP request without a Call-ID"))?;
    if get("cseq").is_none() {
        return err("SIP request without CSeq");
    }
    let (from_uri, _) = name_addr(from)?;
    let (_, to_params) = name_addr(to)?;
    let to_tag = to_params
        .split(';')
        .any(|p| p.split('=').next().is_some_and(|n| n.trim().eq_ignore_ascii_case("tag")));
    Ok(Message::Request(Request {
        method: method.to_string(),
        from_user: sip_user(from_uri)?.to_string(),
        to_tag,
        call_id: call_id.to_string(),
    }))
}

/// `From`/`To` value → (URI, header parameters after it).
fn name_addr(v: &str) -> Result<(&str, &str), SipParseError> {
    let v = v.trim();
    let rest = if let Some(q) = v.strip_prefix('"') {
        // quoted-string display name: ends at the first unescaped quote
        let mut escaped = false;
        let mut end = None;
        for (i, c) in q.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or(SipParseError("unterminated display name"))?;
        let after = q[end + 1..].trim_start();
        if !after.starts_with('<') {
            return err("a quoted display name must be followed by <URI>");
        }
        after
    } else if let Some(i) = v.find('<') {
        let display = &v[..i];
        if !display.chars().all(|c| is_token_char(c) || c == ' ' || c == '\t') {
            return err("display name is neither a quoted string nor tokens");
        }
        &v[i..]
    } else {
        // addr-spec: the URI ends at the first ';' (what follows are header parameters).
        if v.contains(['"', '>', ',', '?']) {
            return err("malformed SIP address");
        }
        return Ok(v.split_once(';').unwrap_or((v, "")));
    };
    let inner = rest.strip_prefix('<').ok_or(SipParseError("malformed SIP address"))?;
    let (uri, params) = inner.split_once('>').ok_or(SipParseError("'<' without '>' in a SIP address"))?;
    if uri.contains('<') || params.contains(['<', '>', '"']) {
        return err("malformed SIP address");
    }
    let params = params.trim();
    if !params.is_empty() && !params.starts_with(';') {
        return err("text after a SIP address that is not a parameter");
    }
    Ok((uri, params))
}

/// The user part of a `sip:`/`sips:` URI (empty when it has none).
fn sip_user(uri: &str) -> Result<&str, SipParseError> {
    let lower = uri.get(..5).map(str::to_ascii_lowercase).unwrap_or_default();
    let rest = if lower.starts_with("sip:") {
        &uri[4..]
    } else if lower == "sips:" {
        &uri[5..]
    } else {
        return err("From is not a sip: or sips: URI");
    };
    if rest.contains([' ', '\t', '<', '>', '"']) {
        return err("malformed SIP URI");
    }
    let Some((userinfo, host)) = rest.split_once('@') else { return Ok("") };
    if host.is_empty() || host.starts_with([';', '?']) {
        return err("SIP URI without a host");
    }
    Ok(userinfo.split(':').next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(head: &str) -> String {
        format!("{head}\r\nCall-ID: abc\r\nCSeq: 1 X\r\nContent-Length: 0\r\n\r\n")
    }

    fn request(msg: &str) -> Request {
        match parse(msg) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn jssip_messages_read_as_written() {
        let r = request(&req("REGISTER sip:callbase SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bK1\r\nFrom: <sip:t1-w5@callbase>;tag=a\r\nTo: <sip:t1-w5@callbase>"));
        assert_eq!(
            (r.method.as_str(), r.from_user.as_str(), r.to_tag, r.call_id.as_str()),
            ("REGISTER", "t1-w5", false, "abc")
        );
        let r = request(&req("INVITE sip:101@callbase SIP/2.0\r\nf: \"Anna \\\"A\\\" <x>\" <sip:t1-w5@callbase>;tag=b\r\nt: <sip:101@callbase>"));
        assert_eq!(r.from_user, "t1-w5");
        let r = request(&req(
            "BYE sip:x@h SIP/2.0\r\nFrom: sip:t1-w5@callbase;tag=b\r\nTO: Bob <sip:1@h>;TAG=as1",
        ));
        assert!(r.to_tag);
        assert_eq!(r.from_user, "t1-w5");
        let body = "v=0\r\n";
        let m = format!("INVITE sip:1@h SIP/2.0\r\nFrom: <sips:t1-w5@h>;tag=1\r\nTo: <sip:1@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        assert_eq!(request(&m).from_user, "t1-w5");
        assert_eq!(parse("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), Ok(Message::Response));
        assert_eq!(parse("\r\n\r\n"), Ok(Message::KeepAlive));
        assert_eq!(parse(""), Ok(Message::KeepAlive));
    }

    #[test]
    fn the_attack_reviews_bypasses_are_read_for_what_they_are() {
        // The URI inside <> counts, not a 'sip:' in the display name.
        let r = request(&req("REGISTER sip:callbase SIP/2.0\r\nFrom: \"sip:t1-w5@callbase\" <sip:t3-trk1@callbase>;tag=1\r\nTo: <sip:t3-trk1@callbase>"));
        assert_eq!(r.from_user, "t3-trk1");
        // A password in the userinfo is not part of the user.
        assert_eq!(
            request(&req("REGISTER sip:c SIP/2.0\r\nFrom: <sip:t3-trk1:pw@c>;tag=1\r\nTo: <sip:x@c>"))
                .from_user,
            "t3-trk1"
        );
    }

    #[test]
    fn ambiguous_messages_are_refused() {
        for bad in [
            // two From headers, long and compact
            req("REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>;tag=1\r\nf: <sip:t3-trk1@c>;tag=2\r\nTo: <sip:t3-trk1@c>"),
            req("REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>;tag=1\r\nTo: <sip:a@c>\r\nTo: <sip:b@c>"),
            // folded header
            req("REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>\r\n ;tag=1\r\nTo: <sip:a@c>"),
            // bare LF inside the head
            req("REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>;tag=1\nFrom: <sip:t3-trk1@c>\r\nTo: <sip:a@c>"),
            // unquoted display name with a URI-looking token
            req("REGISTER sip:c SIP/2.0\r\nFrom: sip:t1-w5@c <sip:t3-trk1@c>;tag=1\r\nTo: <sip:a@c>"),
            req("REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c> <sip:t3-trk1@c>;tag=1\r\nTo: <sip:a@c>"),
            req("REGISTER sip:c SIP/2.0\r\nFrom: \"unterminated <sip:t1-w5@c>\r\nTo: <sip:a@c>"),
            req("REGISTER sip:c SIP/2.0\r\nFrom: <tel:+123>;tag=1\r\nTo: <sip:a@c>"),
            req("REGISTER  sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>;tag=1\r\nTo: <sip:a@c>"),
            req("REGISTER sip:c SIP/2.0\r\nTo: <sip:a@c>"),
            // a second message after the first (Content-Length shorter than what follows)
            format!("{}REGISTER sip:c SIP/2.0\r\nFrom: <sip:t3-trk1@c>;tag=1\r\nTo: <sip:t3-trk1@c>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
                req("OPTIONS sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>;tag=1\r\nTo: <sip:a@c>")),
            "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\nREGISTER sip:c SIP/2.0\r\n\r\n".to_string(),
            "REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>\r\n".to_string(),
            "REGISTER sip:c SIP/2.0\r\nFrom: <sip:t1-w5@c>;tag=1\r\nTo: <sip:a@c>\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\n\r\nbody".to_string(),
        ] {
            assert!(parse(&bad).is_err(), "accepted: {bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn a_forged_from_user_never_reads_as_the_endpoint(display in "[ -~]{0,20}", user in "[a-z0-9_-]{1,12}") {
            proptest::prop_assume!(user != "t1-w5");
            let m = req(&format!("REGISTER sip:c SIP/2.0\r\nFrom: {display}<sip:{user}@c>;tag=1\r\nTo: <sip:{user}@c>"));
            if let Ok(Message::Request(r)) = parse(&m) {
                proptest::prop_assert_eq!(r.from_user, user);
            }
        }
    }
}
