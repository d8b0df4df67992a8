//! A webhook message: the Standard Webhooks body `{"type", "timestamp", "data"}`, numbers masked
//! for endpoints that mask, a fresh short-lived download link on `recording.ready`, and the
//! `webhook-id` / `webhook-timestamp` / `webhook-signature` headers (the `standardwebhooks` crate
//! signs; with a rotated secret still valid, both signatures go, space-separated, as the scheme
//! says).

use callbase_core::crm::Masking;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The body of a message.
pub fn body(event_type: &str, at: OffsetDateTime, data: &Value) -> String {
    json!({
        "type": event_type,
        "timestamp": at.format(&Rfc3339).unwrap_or_default(),
        "data": data,
    })
    .to_string()
}

/// Masks the caller's number of a call event (`number`; `did` is the tenant's own number).
pub fn mask_call(data: &mut Value, m: Masking) {
    if let Some(n) = data.get("number").and_then(Value::as_str).map(str::to_string) {
        data["number"] = Value::String(m.apply(&n));
    }
}

/// Masks the phone fields (`phone_fields`, by id) of a CRM record event's `data`.
pub fn mask_record(data: &mut Value, phone_fields: &[i64], m: Masking) {
    let Some(fields) = data.get_mut("data").and_then(Value::as_object_mut) else { return };
    for id in phone_fields {
        if let Some(v) = fields.get_mut(&id.to_string()) {
            match v {
                Value::String(s) => *s = m.apply(s),
                Value::Array(items) => {
                    for i in items.iter_mut() {
                        if let Value::String(s) = i {
                            *s = m.apply(s);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The `webhook-signature` header: `v1,<base64>` per valid secret.
pub fn signature(secrets: &[&str], message_id: &str, ts: i64, body: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for s in secrets {
        let wh = standardwebhooks::Webhook::new(s).map_err(|e| format!("bad signing secret: {e}"))?;
        out.push(wh.sign(message_id, ts, body.as_bytes()).map_err(|e| e.to_string())?);
    }
    Ok(out.join(" "))
}

/// A new endpoint secret: `whsec_` and 32 random bytes (OS CSPRNG) in standard base64, the form
/// Standard Webhooks libraries read.
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(b))
}

type HmacSha256 = Hmac<Sha256>;

/// The signature of a recording link: HMAC-SHA256 with the endpoint's secret over the call id
/// and the expiry, so only the endpoint's receiver can have made (been given) it, and rotating or
/// deleting the endpoint ends every link.
pub fn link_signature(secret: &str, call_id: &str, expires: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{call_id}.{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a link's signature in constant time.
pub fn link_valid(secret: &str, call_id: &str, expires: i64, sig: &str) -> bool {
    let Ok(sig) = hex::decode(sig) else { return false };
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{call_id}.{expires}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// The download link of a call's recording for one endpoint, valid until `expires` (unix s).
pub fn recording_link(
    base: &str,
    tenant: i64,
    endpoint: i64,
    secret: &str,
    call_id: &str,
    expires: i64,
) -> String {
    let sig = link_signature(secret, call_id, expires);
    format!(
        "{}/api/v1/recordings/{call_id}?tenant={tenant}&endpoint={endpoint}&expires={expires}&signature={sig}",
        base.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_core::crm::MaskMode;

    #[test]
    fn signatures_verify_with_the_standard_webhooks_library() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        let body =
            body("call.ended", OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(), &json!({"a": 1}));
        let ts = OffsetDateTime::now_utc().unix_timestamp();
        let old = new_secret();
        let sig = signature(&[&secret, &old], "msg_1", ts, &body).unwrap();
        assert_eq!(sig.split(' ').count(), 2);
        let mut h = http::HeaderMap::new();
        h.insert("webhook-id", "msg_1".parse().unwrap());
        h.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        h.insert("webhook-signature", sig.parse().unwrap());
        for s in [&secret, &old] {
            standardwebhooks::Webhook::new(s).unwrap().verify(body.as_bytes(), &h).expect("verifies");
        }
        assert!(standardwebhooks::Webhook::new(&new_secret()).unwrap().verify(body.as_bytes(), &h).is_err());
    }

    #[test]
    fn masking_hides_the_callers_number_and_crm_phones() {
        let m = Masking { mode: MaskMode::Prefix, chars: 6 };
        let mut call = json!({"number": "+79161234567", "did": "+74950000000"});
        mask_call(&mut call, m);
        assert_eq!(call["number"], "******234567");
        assert_eq!(call["did"], "+74950000000");
        let mut rec = json!({"data": {"7": "+79161234567", "8": "Ivan", "9": ["+79160000001"]}});
        mask_record(&mut rec, &[7, 9], m);
        assert_eq!(rec["data"]["7"], "******234567");
        assert_eq!(rec["data"]["8"], "Ivan");
        assert_eq!(rec["data"]["9"][0], "******000001");
    }

    #[test]
    fn recording_links_are_bound_to_call_expiry_and_secret() {
        let l = link_signature("whsec_a", "c1", 100);
        assert!(link_valid("whsec_a", "c1", 100, &l));
        assert!(!link_valid("whsec_a", "c2", 100, &l));
        assert!(!link_valid("whsec_a", "c1", 101, &l));
        assert!(!link_valid("whsec_b", "c1", 100, &l));
        assert!(!link_valid("whsec_a", "c1", 100, "zz"));
    }
}
