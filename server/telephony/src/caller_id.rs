//! The caller ID a ringing agent's phone is shown. Members of the tenant's masked groups
//! (docs/crm.md, "Masking numbers for groups") never get the caller's number: their phones show
//! the matched client's name (or the masked number) and, as the number, the client's reference
//! `crm<record>x<field>` — calling it back dials the client through the Stasis worker — or the
//! masked form (`anonymous` when the tenant hides numbers entirely).
//!
//! ARI's `channels/create` takes no caller ID: `channels/{id}/dial?caller=…` copies the caller
//! channel's caller ID into the new leg's connected line, which becomes the INVITE's `From`. So
//! the caller channel's `CALLERID(all)` is set to the masked form while the masked users' legs are
//! dialled, and put back afterwards. After the answer nothing more reaches the phone: agents'
//! endpoints send no `P-Asserted-Identity`/`Remote-Party-ID` (Asterisk's defaults), and the From
//! of a dialog never changes.

use callbase_core::crm::{mask, MaskMode};
use callbase_core::{RecordId, TenantId, UserId};
use callbase_crm::ClientRef;

use crate::context::Ctx;

/// A caller ID as a phone shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownCaller {
    pub name: String,
    pub number: String,
}

impl ShownCaller {
    /// As `CALLERID(all)` takes it.
    pub fn to_all(&self) -> String {
        format!("\"{}\" <{}>", self.name, self.number)
    }
}

/// A client matched to the call: its title and the reference of the phone field holding the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client<'a> {
    pub title: Option<&'a str>,
    pub reference: ClientRef,
}

/// What a masked user's phone shows for a call from `number`: the client's name (else the masked
/// number) and the client's reference (else the masked number, else `anonymous`). Nothing of the
/// number beyond what the masking mode shows.
pub fn masked_caller(number: &str, client: Option<&Client<'_>>, mode: MaskMode, chars: usize) -> ShownCaller {
    let masked = mask(number, mode, chars);
    let title = client.and_then(|c| c.title).map(display_name).filter(|t| !t.is_empty());
    let name = title.unwrap_or_else(|| masked.clone());
    let number = match client {
        Some(c) => c.reference.to_string(),
        None if !masked.is_empty() => masked,
        None => "anonymous".to_string(),
    };
    ShownCaller { name, number }
}

/// A record's title as a SIP display name: no quotes, angle brackets, backslashes or control
/// characters (they would end the quoted name or the `CALLERID(all)` value), at most 40 characters.
fn display_name(title: &str) -> String {
    let cleaned: String =
        title.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '\\')).take(40).collect();
    cleaned.trim().to_string()
}

/// Which of `users` see numbers masked, and what their phones show for this call.
pub struct MaskedLegs {
    pub users: Vec<UserId>,
    pub shown: ShownCaller,
}

/// The masked users among `users` for a call from `number` (its client `record`, when matched).
/// Fails closed: when the settings cannot be read, every user is treated as masked and shown
/// `anonymous`.
pub async fn masked_legs(
    ctx: &Ctx,
    tenant: TenantId,
    number: &str,
    record: Option<i64>,
    users: &[UserId],
) -> Option<MaskedLegs> {
    let res: sqlx::Result<Option<MaskedLegs>> = async {
        use callbase_crm::repo;
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let Some((mode, chars, masked)) = repo::settings::masked_among(&mut tx, tenant, users).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let client = match record.map(RecordId) {
            Some(r) => repo::phones::client_caller_id(&mut tx, tenant, r, number)
                .await?
                .map(|(title, field)| (title, ClientRef::new(r, field))),
            None => None,
        };
        tx.commit().await?;
        let client = client
            .as_ref()
            .map(|(title, reference)| Client { title: title.as_deref(), reference: *reference });
        Ok(Some(MaskedLegs { users: masked, shown: masked_caller(number, client.as_ref(), mode, chars) }))
    }
    .await;
    match res {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, tenant.id = %tenant, "cannot read the number masking: ringing phones get no caller number");
            Some(MaskedLegs {
                users: users.to_vec(),
                shown: ShownCaller { name: String::new(), number: "anonymous".into() },
            })
        }
    }
}

/// Sets the caller channel's caller ID to `shown`; returns the one to put back.
pub async fn show(ctx: &Ctx, caller: &str, shown: &ShownCaller) -> Result<String, String> {
    let path = format!("channels/{caller}/variable");
    let original =
        match ctx.ari.call(reqwest::Method::GET, &path, &[("variable", "CALLERID(all)")], None).await {
            Ok(Some(v)) => v["value"].as_str().unwrap_or_default().to_string(),
            Ok(None) => return Err("the caller's channel is gone".into()),
            Err(e) => return Err(e.to_string()),
        };
    let all = shown.to_all();
    match ctx
        .ari
        .call(reqwest::Method::POST, &path, &[("variable", "CALLERID(all)"), ("value", all.as_str())], None)
        .await
    {
        Ok(Some(_)) => Ok(original),
        Ok(None) => Err("the caller's channel is gone".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Puts the caller channel's caller ID back (forwarding and transfers show the real caller).
pub async fn restore(ctx: &Ctx, caller: &str, original: &str) {
    let path = format!("channels/{caller}/variable");
    if let Err(e) = ctx
        .ari
        .call(reqwest::Method::POST, &path, &[("variable", "CALLERID(all)"), ("value", original)], None)
        .await
    {
        tracing::debug!(error = %e, "cannot restore the caller ID");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "+79161234567";

    fn client(title: Option<&str>, record: i64, field: i64) -> Client<'_> {
        Client { title, reference: ClientRef::new(RecordId(record), callbase_core::FieldId(field)) }
    }

    #[test]
    fn a_matched_client_is_shown_by_name_and_reference() {
        let c = client(Some("Anna \"VIP\" <Petrova>"), 12, 34);
        let s = masked_caller(N, Some(&c), MaskMode::Prefix, 8);
        assert_eq!(s, ShownCaller { name: "Anna VIP Petrova".into(), number: "crm12x34".into() });
        assert_eq!(s.to_all(), "\"Anna VIP Petrova\" <crm12x34>");
    }

    #[test]
    fn an_unknown_caller_is_shown_masked_or_anonymous() {
        assert_eq!(
            masked_caller(N, None, MaskMode::Prefix, 8),
            ShownCaller { name: "********4567".into(), number: "********4567".into() }
        );
        assert_eq!(
            masked_caller(N, None, MaskMode::Hidden, 8),
            ShownCaller { name: String::new(), number: "anonymous".into() }
        );
    }

    #[test]
    fn a_client_without_a_title_is_shown_by_the_masked_number() {
        let c = client(Some("  \u{7}  "), 1, 2);
        assert_eq!(
            masked_caller(N, Some(&c), MaskMode::Prefix, 8),
            ShownCaller { name: "********4567".into(), number: "crm1x2".into() }
        );
        let c = client(None, 1, 2);
        assert_eq!(
            masked_caller(N, Some(&c), MaskMode::Hidden, 8),
            ShownCaller { name: String::new(), number: "crm1x2".into() }
        );
    }

    #[test]
    fn no_choice_contains_the_number() {
        // (A prefix of fewer than 4 characters hides no more than `+7` and the area code's start.)
        for mode in [MaskMode::Prefix, MaskMode::Hidden] {
            for chars in 4..=15 {
                let c = client(Some("Client"), 5, 6);
                for s in [masked_caller(N, None, mode, chars), masked_caller(N, Some(&c), mode, chars)] {
                    let all = s.to_all();
                    assert!(!all.contains("9161234567") && !all.contains(N), "{mode:?} {chars}: {all}");
                }
            }
        }
    }

    #[test]
    fn long_titles_are_cut() {
        let long = "x".repeat(100);
        let c = client(Some(&long), 1, 2);
        assert_eq!(masked_caller(N, Some(&c), MaskMode::Prefix, 6).name.len(), 40);
    }
}
