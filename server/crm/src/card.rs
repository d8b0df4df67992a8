//! The call card: the clients matching a call's number with the fields the table shows on its
//! card, and the card's two actions — a new client from the call, or the call's number added to an
//! existing client — which link the call to the record. Masked viewers get the matches, never the
//! number; the number they act on never leaves the server.

use std::collections::{BTreeSet, HashMap};

use callbase_core::crm::FieldKind;
use callbase_core::{FieldId, RecordId, TableId};
use callbase_db::{Db, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{CrmError, CrmResult};
use crate::lookup::{lookup_in, Found, Reach};
use crate::repo::{self, TableRow};
use crate::shape::{table_or_404, Record, Shaper};
use crate::view::{Viewer, Who};
use crate::write::check_values;

/// Fields a card shows when the table chose none.
const CARD_DEFAULT_FIELDS: usize = 5;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// A phone number in any form the dial rules know.
    pub number: String,
}

/// A record matched to a number, with its call-card fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardMatch {
    #[schema(value_type = i64)]
    pub record_id: RecordId,
    #[schema(value_type = i64)]
    pub table_id: TableId,
    pub table_name: String,
    pub title: String,
    /// The matched phone field (for calling back by reference).
    #[schema(value_type = i64)]
    pub field_id: FieldId,
    pub card: Vec<CardField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardField {
    #[schema(value_type = i64)]
    pub field_id: FieldId,
    pub name: String,
    pub kind: FieldKind,
    /// Display text (user references as names, numbers masked for masked users).
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Lookup {
    /// The number in E.164 (masked for masked users); null when it cannot be normalised.
    pub e164: Option<String>,
    pub matches: Vec<CardMatch>,
    /// The matches are "similar number" matches (all but the last digits).
    pub similar: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallCard {
    /// The call's number (masked for masked users).
    pub number: String,
    /// The client linked to the call (created or attached from the card), if any.
    #[schema(value_type = Option<i64>)]
    pub linked_record_id: Option<RecordId>,
    pub matches: Vec<CardMatch>,
    pub similar: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientFromCall {
    #[schema(value_type = i64)]
    pub table_id: TableId,
    /// Other values (`{field id: value}`); the call's number goes into the first phone field.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachToRecord {
    #[schema(value_type = i64)]
    pub record_id: RecordId,
}

/// The card's view of the matches: each record shaped for the viewer, with its table's card
/// fields.
async fn card_matches(tx: &mut Tx, viewer: &Viewer, found: Found) -> CrmResult<Vec<CardMatch>> {
    let mut tables: Vec<TableRow> = Vec::new();
    for id in found.matches.iter().map(|m| m.table_id).collect::<BTreeSet<_>>() {
        tables.extend(repo::tables::get(tx, viewer.tenant, id).await?);
    }
    let mut shapers: HashMap<TableId, Shaper<'_>> = HashMap::new();
    let mut out = Vec::new();
    for m in found.matches {
        let Some(t) = tables.iter().find(|t| t.id == m.table_id) else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = shapers.entry(t.id) {
            slot.insert(Shaper::load(tx, viewer, t.id).await?);
        }
        let sh = &shapers[&t.id];
        let Some(r) = repo::records::get(tx, viewer.tenant, m.record_id).await? else {
            continue;
        };
        let rec = sh.record(&r);
        let card_ids: Vec<FieldId> = if t.card_field_ids.is_empty() {
            sh.fields.iter().take(CARD_DEFAULT_FIELDS).map(|f| f.id).collect()
        } else {
            t.card_field_ids.clone()
        };
        let card = card_ids
            .iter()
            .filter_map(|id| sh.field(*id))
            .map(|f| CardField {
                field_id: f.id,
                name: f.name.clone(),
                kind: f.kind(),
                value: sh.display(f, &rec),
            })
            .collect();
        out.push(CardMatch {
            record_id: r.id,
            table_id: t.id,
            table_name: t.name.clone(),
            title: rec.title,
            field_id: m.field_id,
            card,
        });
    }
    Ok(out)
}

/// `GET /api/crm/lookup`: the clients holding a number the viewer typed. Refused to masked
/// viewers: probing numbers one by one would reveal them.
pub async fn lookup_number(db: &Db, who: &Who, number: &str) -> CrmResult<Lookup> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    if viewer.is_masked() {
        return Err(CrmError::masked("numbers are hidden from you"));
    }
    let found = lookup_in(&mut tx, who.tenant, &viewer.rules, number, Reach::Similar).await?;
    let e164 = found.e164.clone();
    let similar = found.similar;
    let matches = card_matches(&mut tx, &viewer, found).await?;
    tx.commit().await?;
    Ok(Lookup { e164, matches, similar })
}

/// The card of a call the viewer may see (`number` and `linked` read by the caller, inside `tx`).
pub async fn call_card(
    tx: &mut Tx,
    who: &Who,
    number: &str,
    linked: Option<RecordId>,
) -> CrmResult<CallCard> {
    let viewer = Viewer::load(tx, who).await?;
    let found = lookup_in(tx, who.tenant, &viewer.rules, number, Reach::Similar).await?;
    let similar = found.similar;
    let matches = card_matches(tx, &viewer, found).await?;
    Ok(CallCard { number: viewer.show_number(number), linked_record_id: linked, matches, similar })
}

/// "Create a client" from the call card: a record pre-filled with the call's `number` (filled on
/// the server, so masked users can do it), linked to the call.
pub async fn client_from_call(
    tx: &mut Tx,
    who: &Who,
    call: Uuid,
    number: String,
    b: ClientFromCall,
) -> CrmResult<Record> {
    let viewer = Viewer::load(tx, who).await?;
    table_or_404(tx, who.tenant, b.table_id).await?;
    let sh = Shaper::load(tx, &viewer, b.table_id).await?;
    let phone = sh
        .first_phone()
        .ok_or_else(|| CrmError::invalid("no_phone_field", "this table has no phone field"))?;
    let mut values = b.values;
    values.insert(phone.key(), Value::String(number));
    let w = check_values(&viewer, &sh.fields, &values)?;
    let ids = repo::records::insert(tx, who.tenant, b.table_id, &[w], Some(who.user)).await?;
    callbase_db::calls::links::link_record(tx, who.tenant, call, ids[0]).await?;
    let r = repo::records::get(tx, who.tenant, ids[0]).await?.ok_or(CrmError::NotFound)?;
    Ok(sh.record(&r))
}

/// "Add the number to an existing client": the call's `number` goes into the record's first empty
/// phone field (unless one holds it already); the call is linked to the record.
pub async fn attach(
    tx: &mut Tx,
    who: &Who,
    call: Uuid,
    number: String,
    b: AttachToRecord,
) -> CrmResult<Record> {
    let viewer = Viewer::load(tx, who).await?;
    let r = repo::records::get(tx, who.tenant, b.record_id).await?.ok_or(CrmError::NotFound)?;
    let sh = Shaper::load(tx, &viewer, r.table_id).await?;
    let rules = &viewer.rules;
    let mut values = r.data.as_object().cloned().unwrap_or_default();
    let e164 = rules.to_e164(&number);
    let phones: Vec<_> = sh.fields.iter().filter(|f| f.kind() == FieldKind::Phone).collect();
    let has = phones.iter().any(|f| {
        values
            .get(&f.key())
            .and_then(Value::as_str)
            .is_some_and(|v| e164.is_some() && rules.to_e164(v) == e164)
    });
    if !has {
        let free = phones
            .iter()
            .find(|f| values.get(&f.key()).and_then(Value::as_str).is_none_or(|v| v.trim().is_empty()))
            .ok_or_else(|| {
                CrmError::conflict(
                    "no_free_phone_field",
                    "every phone field of this record holds a number already",
                )
            })?;
        values.insert(free.key(), Value::String(number));
        let w = check_values(&viewer, &sh.fields, &values)?;
        repo::records::update(tx, who.tenant, r.table_id, r.id, &w).await?;
    }
    callbase_db::calls::links::link_record(tx, who.tenant, call, r.id).await?;
    let r = repo::records::get(tx, who.tenant, r.id).await?.ok_or(CrmError::NotFound)?;
    Ok(sh.record(&r))
}
