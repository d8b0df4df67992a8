//! What the CRM answers look like: tables, fields and records as a viewer may see them. Every
//! phone value goes out through [`Shaper::record`], which masks it for masked viewers.

use std::collections::HashMap;

use callbase_core::crm::FieldKind;
use callbase_core::{FieldId, RecordId, TableId, TenantId};
use callbase_db::Tx;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::CrmResult;
use crate::repo::{self, FieldRow, RecordRow, TableRow};
use crate::view::Viewer;

#[derive(Debug, Serialize, ToSchema)]
pub struct Field {
    #[schema(value_type = i64)]
    pub id: FieldId,
    pub name: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub is_title: bool,
    pub position: i32,
}

impl From<&FieldRow> for Field {
    fn from(f: &FieldRow) -> Self {
        Field {
            id: f.id,
            name: f.name.clone(),
            kind: f.kind(),
            options: f.options.clone(),
            is_title: f.is_title,
            position: f.position,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Table {
    #[schema(value_type = i64)]
    pub id: TableId,
    pub name: String,
    pub call_table: bool,
    /// Fields shown on the call card, in order.
    #[schema(value_type = Vec<i64>)]
    pub card_field_ids: Vec<FieldId>,
    /// In the list of tables: records counted up to 10 001 (more: "10 000+"); 0 elsewhere.
    pub record_count: i64,
    pub fields: Vec<Field>,
}

impl Table {
    pub fn new(t: TableRow, fields: &[FieldRow]) -> Table {
        Table {
            id: t.id,
            name: t.name,
            call_table: t.call_table,
            card_field_ids: t.card_field_ids,
            record_count: t.record_count,
            fields: fields.iter().map(Field::from).collect(),
        }
    }
}

/// A phone value of a record.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneValue {
    /// E.164 (masked for masked users); null when the value could not be normalised.
    pub e164: Option<String>,
    /// False: kept as typed, cannot be dialled as it is.
    pub valid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Record {
    #[schema(value_type = i64)]
    pub id: RecordId,
    #[schema(value_type = i64)]
    pub table_id: TableId,
    /// `{field id: value}` (phone values masked for masked users).
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
    /// Phone fields: `{field id: {e164, valid}}`.
    pub phones: HashMap<String, PhoneValue>,
    /// The title field's value.
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// Shapes one table's records for one viewer: the table's fields, the viewer's dial rules and
/// masking.
pub struct Shaper<'v> {
    pub fields: Vec<FieldRow>,
    pub viewer: &'v Viewer,
}

impl<'v> Shaper<'v> {
    /// The table's fields, for `viewer`.
    pub async fn load(tx: &mut Tx, viewer: &'v Viewer, table: TableId) -> CrmResult<Shaper<'v>> {
        let fields = repo::fields::of_table(tx, viewer.tenant, table).await?;
        Ok(Shaper { fields, viewer })
    }

    pub fn field(&self, id: FieldId) -> Option<&FieldRow> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The table's first phone field.
    pub fn first_phone(&self) -> Option<&FieldRow> {
        self.fields.iter().find(|f| f.kind() == FieldKind::Phone)
    }

    pub fn record(&self, r: &RecordRow) -> Record {
        let rules = &self.viewer.rules;
        let mut values = serde_json::Map::new();
        let mut phones = HashMap::new();
        let mut title = String::new();
        let data = r.data.as_object();
        for f in &self.fields {
            let key = f.key();
            let Some(v) = data.and_then(|d| d.get(&key)) else {
                continue;
            };
            if f.is_title {
                title = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            }
            if f.kind() == FieldKind::Phone {
                let raw = v.as_str().unwrap_or_default();
                let e164 = rules.to_e164(raw);
                let valid = e164.is_some();
                match self.viewer.masking {
                    Some(m) => {
                        values.insert(key.clone(), Value::String(m.apply(e164.as_deref().unwrap_or(raw))));
                        phones.insert(key, PhoneValue { e164: e164.map(|e| m.apply(&e)), valid });
                    }
                    None => {
                        values.insert(key.clone(), v.clone());
                        phones.insert(key, PhoneValue { e164, valid });
                    }
                }
            } else {
                values.insert(key, v.clone());
            }
        }
        Record {
            id: r.id,
            table_id: r.table_id,
            values,
            phones,
            title,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    /// A shaped value as display text: user references as names, numbers as the record shows them
    /// (masked for masked viewers), other values as text.
    pub fn display(&self, f: &FieldRow, rec: &Record) -> String {
        match (f.kind(), rec.values.get(&f.key())) {
            (_, None) => String::new(),
            (FieldKind::User, Some(v)) => {
                v.as_i64().and_then(|i| self.viewer.user_name(i)).unwrap_or_default()
            }
            (_, Some(Value::String(s))) => s.clone(),
            (_, Some(v)) => v.to_string(),
        }
    }
}

/// A table with its fields, or [`CrmError::NotFound`](crate::CrmError::NotFound).
pub(crate) async fn table_or_404(tx: &mut Tx, tenant: TenantId, id: TableId) -> CrmResult<TableRow> {
    repo::tables::get(tx, tenant, id).await?.ok_or(crate::CrmError::NotFound)
}
