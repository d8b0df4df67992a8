//! Tables and fields: everyone signed in reads them, administrators shape them (the API checks
//! the role; these take the tenant).

use callbase_core::crm::FieldKind;
use callbase_core::{FieldId, TableId, TenantId};
use callbase_db::Db;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{on_constraint, CrmError, CrmResult};
use crate::repo;
use crate::shape::{table_or_404, Field, Table};
use crate::write::{parse_kind, parse_name, parse_options, CARD_FIELDS_MAX, FIELDS_MAX, TABLES_MAX};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTable {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchTable {
    pub name: Option<String>,
    pub call_table: Option<bool>,
    #[schema(value_type = Option<Vec<i64>>)]
    pub card_field_ids: Option<Vec<FieldId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateField {
    pub name: String,
    /// text, long_text, number, date, select, phone, email, user.
    pub kind: String,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchField {
    pub name: Option<String>,
    /// Select fields: the choices (values no longer offered stay on the records that have them).
    pub options: Option<Vec<String>>,
    pub position: Option<i32>,
}

const TABLE_NAME_KEY: &str = "crm_tables_tenant_name_key";
const FIELD_NAME_KEY: &str = "crm_fields_table_name_key";

fn table_name_taken(name: &str) -> String {
    format!("a table named '{name}' exists already")
}

fn field_name_taken(name: &str) -> String {
    format!("the table has a field named '{name}' already")
}

/// The tenant's tables with their fields, each with its record count.
pub async fn list(db: &Db, tenant: TenantId) -> CrmResult<Vec<Table>> {
    let mut tx = db.tenant_tx(tenant).await?;
    let mut out = Vec::new();
    for t in repo::tables::list(&mut tx, tenant).await? {
        let fields = repo::fields::of_table(&mut tx, tenant, t.id).await?;
        out.push(Table::new(t, &fields));
    }
    tx.commit().await?;
    Ok(out)
}

/// A new table starts with a "Name" text field (its title).
pub async fn create(db: &Db, tenant: TenantId, b: CreateTable) -> CrmResult<Table> {
    let name = parse_name(&b.name, "table")?;
    let mut tx = db.tenant_tx(tenant).await?;
    if repo::tables::count(&mut tx, tenant).await? >= TABLES_MAX {
        return Err(CrmError::invalid("too_many_tables", format!("at most {TABLES_MAX} tables")));
    }
    let id = repo::tables::insert(&mut tx, tenant, &name)
        .await
        .map_err(|e| on_constraint(e, TABLE_NAME_KEY, "table_name_taken", || table_name_taken(&name)))?;
    repo::fields::insert(&mut tx, tenant, id, "Name", FieldKind::Text, &[]).await?;
    let t = table_or_404(&mut tx, tenant, id).await?;
    let fields = repo::fields::of_table(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok(Table::new(t, &fields))
}

pub async fn patch(db: &Db, tenant: TenantId, id: TableId, b: PatchTable) -> CrmResult<Table> {
    let mut tx = db.tenant_tx(tenant).await?;
    let t = table_or_404(&mut tx, tenant, id).await?;
    let name = match &b.name {
        Some(n) => parse_name(n, "table")?,
        None => t.name.clone(),
    };
    let card = match b.card_field_ids {
        Some(ids) => {
            let fields = repo::fields::of_table(&mut tx, tenant, id).await?;
            if let Some(bad) = ids.iter().find(|i| !fields.iter().any(|f| f.id == **i)) {
                return Err(CrmError::invalid(
                    "unknown_field",
                    format!("field {bad} is not a field of this table"),
                ));
            }
            if ids.len() > CARD_FIELDS_MAX {
                return Err(CrmError::invalid(
                    "too_many_card_fields",
                    format!("a call card shows at most {CARD_FIELDS_MAX} fields"),
                ));
            }
            ids
        }
        None => t.card_field_ids.clone(),
    };
    let call_table = b.call_table.unwrap_or(t.call_table);
    repo::tables::update(&mut tx, tenant, id, &name, call_table, &card)
        .await
        .map_err(|e| on_constraint(e, TABLE_NAME_KEY, "table_name_taken", || table_name_taken(&name)))?;
    let t = table_or_404(&mut tx, tenant, id).await?;
    let fields = repo::fields::of_table(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok(Table::new(t, &fields))
}

pub async fn delete(db: &Db, tenant: TenantId, id: TableId) -> CrmResult<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    if !repo::tables::delete(&mut tx, tenant, id).await? {
        return Err(CrmError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

pub async fn create_field(db: &Db, tenant: TenantId, table: TableId, b: CreateField) -> CrmResult<Field> {
    let name = parse_name(&b.name, "field")?;
    let kind = parse_kind(&b.kind, &name)?;
    let options = parse_options(kind, &b.options)?;
    let mut tx = db.tenant_tx(tenant).await?;
    table_or_404(&mut tx, tenant, table).await?;
    if repo::fields::of_table(&mut tx, tenant, table).await?.len() >= FIELDS_MAX {
        return Err(CrmError::invalid("too_many_fields", format!("a table has at most {FIELDS_MAX} fields")));
    }
    let id = repo::fields::insert(&mut tx, tenant, table, &name, kind, &options)
        .await
        .map_err(|e| on_constraint(e, FIELD_NAME_KEY, "field_name_taken", || field_name_taken(&name)))?;
    let f = field_of(&mut tx, tenant, table, id).await?;
    tx.commit().await?;
    Ok(f)
}

async fn field_of(
    tx: &mut callbase_db::Tx,
    tenant: TenantId,
    table: TableId,
    id: FieldId,
) -> CrmResult<Field> {
    let fields = repo::fields::of_table(tx, tenant, table).await?;
    fields.iter().find(|f| f.id == id).map(Field::from).ok_or(CrmError::NotFound)
}

pub async fn patch_field(
    db: &Db,
    tenant: TenantId,
    table: TableId,
    id: FieldId,
    b: PatchField,
) -> CrmResult<Field> {
    let mut tx = db.tenant_tx(tenant).await?;
    let f = repo::fields::of_table(&mut tx, tenant, table)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(CrmError::NotFound)?;
    let name = match &b.name {
        Some(n) => parse_name(n, "field")?,
        None => f.name.clone(),
    };
    let options = match &b.options {
        Some(o) => parse_options(f.kind(), o)?,
        None => f.options.clone(),
    };
    repo::fields::update(&mut tx, tenant, id, &name, &options, b.position.unwrap_or(f.position))
        .await
        .map_err(|e| on_constraint(e, FIELD_NAME_KEY, "field_name_taken", || field_name_taken(&name)))?;
    let f = field_of(&mut tx, tenant, table, id).await?;
    tx.commit().await?;
    Ok(f)
}

/// Deletes a field and its values; the title field stays (409 `title_field`).
pub async fn delete_field(db: &Db, tenant: TenantId, table: TableId, id: FieldId) -> CrmResult<()> {
    let mut tx = db.tenant_tx(tenant).await?;
    let fields = repo::fields::of_table(&mut tx, tenant, table).await?;
    let f = fields.iter().find(|f| f.id == id).ok_or(CrmError::NotFound)?;
    if f.is_title {
        return Err(CrmError::conflict("title_field", "the title field cannot be deleted"));
    }
    repo::fields::delete(&mut tx, tenant, table, id).await?;
    tx.commit().await?;
    Ok(())
}
