//! Caller matching: the one place that finds the call tables' records holding a number. The call
//! card, `GET /api/crm/lookup` and the Stasis worker (an inbound call's client, for the call record
//! and the masked agents' caller ID) all ask [`lookup`].
//!
//! A number matches exactly (its E.164 form, by the tenant's dial rules); with [`Reach::Similar`]
//! and the tenant's "similar numbers" setting on (1–4 digits), a number that matches nothing
//! exactly matches the numbers of the same length differing only in those last digits.

use callbase_core::dial::DialRules;
use callbase_core::{RecordId, TenantId};
use callbase_db::{Db, Tx};

use crate::error::CrmResult;
use crate::repo::{self, phones::PhoneMatch};

/// How far matching goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only records holding the number itself (the Stasis worker: a call is linked to a client
    /// only when it is certainly theirs).
    Exact,
    /// Exactly, else by similar number when the tenant turned that on (what a person sees).
    Similar,
}

/// Most matches returned.
pub const MATCHES_MAX: i64 = 20;

/// The records matching a number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The number in E.164; `None` when the dial rules cannot normalise it (then nothing matches).
    pub e164: Option<String>,
    /// At most [`MATCHES_MAX`], one per record, by record id.
    pub matches: Vec<PhoneMatch>,
    /// The matches are "similar number" matches.
    pub similar: bool,
}

impl Found {
    /// The one record holding the number exactly (none when several or none do).
    pub fn unique_record(&self) -> Option<RecordId> {
        match self.matches.as_slice() {
            [m] if !self.similar => Some(m.record_id),
            _ => None,
        }
    }
}

/// The records of `tenant`'s call tables holding `number` (any form its dial rules know), in a
/// transaction of its own.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, reach = ?reach))]
pub async fn lookup(db: &Db, tenant: TenantId, number: &str, reach: Reach) -> CrmResult<Found> {
    let mut tx = db.tenant_tx(tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let found = lookup_in(&mut tx, tenant, &rules, number, reach).await?;
    tx.commit().await?;
    Ok(found)
}

/// [`lookup`] inside the caller's tenant transaction, with the tenant's dial rules at hand.
pub async fn lookup_in(
    tx: &mut Tx,
    tenant: TenantId,
    rules: &DialRules,
    number: &str,
    reach: Reach,
) -> CrmResult<Found> {
    let Some(e164) = rules.to_e164(number) else {
        return Ok(Found::default());
    };
    let exact = repo::phones::exact(tx, tenant, &e164, MATCHES_MAX).await?;
    let digits = match reach {
        Reach::Similar if exact.is_empty() => repo::settings::get(tx, tenant).await?.similar_match_digits,
        _ => 0,
    };
    let Some(pattern) = similar_pattern(&e164, digits) else {
        return Ok(Found { e164: Some(e164), matches: exact, similar: false });
    };
    let similar = repo::phones::similar(tx, tenant, &pattern, e164.len(), MATCHES_MAX).await?;
    Ok(Found { e164: Some(e164), matches: similar, similar: true })
}

/// The `LIKE` pattern of the numbers "similar" to `e164`: the same but for the last `digits`
/// digits. None when similar matching is off (0 digits) or the number is too short for it to
/// mean anything (it would keep fewer than 7 characters).
pub fn similar_pattern(e164: &str, digits: i32) -> Option<String> {
    let digits = usize::try_from(digits).ok().filter(|d| *d > 0)?;
    if e164.len() <= digits + 6 || !e164.is_ascii() {
        return None;
    }
    let prefix = &e164[..e164.len() - digits];
    Some(format!("{}%", prefix.replace(['%', '_', '\\'], "")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_core::{FieldId, TableId};

    fn m(record: i64) -> PhoneMatch {
        PhoneMatch {
            record_id: RecordId(record),
            table_id: TableId(1),
            field_id: FieldId(2),
            e164: "+79161234567".into(),
        }
    }

    #[test]
    fn similar_numbers_keep_all_but_the_last_digits() {
        assert_eq!(similar_pattern("+79161234567", 2).as_deref(), Some("+791612345%"));
        assert_eq!(similar_pattern("+79161234567", 4).as_deref(), Some("+7916123%"));
        assert_eq!(similar_pattern("+79161234567", 0), None, "off");
        assert_eq!(similar_pattern("+79161234567", -1), None);
        assert_eq!(similar_pattern("+7495123", 2), None, "too short to mean anything");
        assert_eq!(
            similar_pattern("+7_9%1612345", 2).as_deref(),
            Some("+7916123%"),
            "no wildcards of its own"
        );
    }

    #[test]
    fn a_client_is_unique_only_when_one_record_holds_the_number_itself() {
        let one = Found { e164: Some("+79161234567".into()), matches: vec![m(5)], similar: false };
        assert_eq!(one.unique_record(), Some(RecordId(5)));
        let two = Found { matches: vec![m(5), m(6)], ..one.clone() };
        assert_eq!(two.unique_record(), None);
        let similar = Found { similar: true, ..one.clone() };
        assert_eq!(similar.unique_record(), None, "a similar number is not the client's");
        assert_eq!(Found::default().unique_record(), None);
    }
}
