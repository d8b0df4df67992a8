//! Records: create, read, change, delete — for everyone signed in, shaped for the viewer.

use callbase_core::crm::FieldKind;
use callbase_core::{RecordId, TableId};
use callbase_db::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{CrmError, CrmResult};
use crate::repo;
use crate::shape::{table_or_404, Record, Shaper};
use crate::view::{Viewer, Who};
use crate::write::check_values;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecordBody {
    /// `{field id: value}`.
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
}

pub async fn create(db: &Db, who: &Who, table: TableId, b: RecordBody) -> CrmResult<Record> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    table_or_404(&mut tx, who.tenant, table).await?;
    let sh = Shaper::load(&mut tx, &viewer, table).await?;
    let w = check_values(&viewer, &sh.fields, &b.values)?;
    let ids = repo::records::insert(&mut tx, who.tenant, table, &[w], Some(who.user)).await?;
    let r = repo::records::get(&mut tx, who.tenant, ids[0]).await?.ok_or(CrmError::NotFound)?;
    tx.commit().await?;
    Ok(sh.record(&r))
}

pub async fn get(db: &Db, who: &Who, id: RecordId) -> CrmResult<Record> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    let r = repo::records::get(&mut tx, who.tenant, id).await?.ok_or(CrmError::NotFound)?;
    let sh = Shaper::load(&mut tx, &viewer, r.table_id).await?;
    tx.commit().await?;
    Ok(sh.record(&r))
}

/// Changes the given fields (others keep their values; null clears one). A masked viewer cannot
/// change a phone field (they never saw it).
pub async fn patch(db: &Db, who: &Who, id: RecordId, b: RecordBody) -> CrmResult<Record> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    let r = repo::records::get(&mut tx, who.tenant, id).await?.ok_or(CrmError::NotFound)?;
    let sh = Shaper::load(&mut tx, &viewer, r.table_id).await?;
    if viewer.is_masked() {
        let phone =
            sh.fields.iter().find(|f| f.kind() == FieldKind::Phone && b.values.contains_key(&f.key()));
        if let Some(f) = phone {
            return Err(CrmError::masked(format!(
                "'{}': numbers are hidden from you, so you cannot change them",
                f.name
            )));
        }
    }
    let mut values = r.data.as_object().cloned().unwrap_or_default();
    values.extend(b.values);
    let w = check_values(&viewer, &sh.fields, &values)?;
    repo::records::update(&mut tx, who.tenant, r.table_id, id, &w).await?;
    let r = repo::records::get(&mut tx, who.tenant, id).await?.ok_or(CrmError::NotFound)?;
    tx.commit().await?;
    Ok(sh.record(&r))
}

pub async fn delete(db: &Db, who: &Who, id: RecordId) -> CrmResult<()> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let r = repo::records::get(&mut tx, who.tenant, id).await?.ok_or(CrmError::NotFound)?;
    repo::records::delete(&mut tx, who.tenant, r.table_id, &[id]).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserName {
    #[schema(value_type = i64)]
    pub id: callbase_core::UserId,
    pub name: String,
}

/// The tenant's enabled users by name, for user-reference fields (names only).
pub async fn user_names(db: &Db, who: &Who) -> CrmResult<Vec<UserName>> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let users = callbase_db::accounts::enabled_user_names(&mut tx, who.tenant).await?;
    tx.commit().await?;
    Ok(users.into_iter().map(|(id, name)| UserName { id, name }).collect())
}
