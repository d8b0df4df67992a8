//! The responsible manager: with the tenant's "ring the manager first" setting on, an inbound call
//! from a client rings the user in the client's first user-reference field alone for a while. The
//! client is found by [`lookup`](crate::lookup()) (the number itself, the first record by id whose
//! manager is set).

use callbase_core::crm::FieldKind;
use callbase_core::{TableId, TenantId, UserId};
use callbase_db::Db;
use serde_json::Value;

use crate::error::CrmResult;
use crate::lookup::{lookup_in, Reach};
use crate::repo::{self, FieldRow};

/// The manager of the client calling from `number`, and for how many seconds they ring alone;
/// `None` when the setting is off or no matched client has a manager.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn responsible(db: &Db, tenant: TenantId, number: &str) -> CrmResult<Option<(UserId, u64)>> {
    let mut tx = db.tenant_tx(tenant).await?;
    let settings = repo::settings::get(&mut tx, tenant).await?;
    if !settings.manager_first {
        tx.commit().await?;
        return Ok(None);
    }
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let found = lookup_in(&mut tx, tenant, &rules, number, Reach::Exact).await?;
    let mut fields: Vec<(TableId, Vec<FieldRow>)> = Vec::new();
    let mut manager = None;
    for m in found.matches {
        if !fields.iter().any(|(t, _)| *t == m.table_id) {
            fields.push((m.table_id, repo::fields::of_table(&mut tx, tenant, m.table_id).await?));
        }
        let Some((_, of_table)) = fields.iter().find(|(t, _)| *t == m.table_id) else { continue };
        let Some(r) = repo::records::get(&mut tx, tenant, m.record_id).await? else { continue };
        if let Some(u) = manager_of(of_table, &r.data) {
            manager = Some((u, settings.manager_first_secs.max(1) as u64));
            break;
        }
    }
    tx.commit().await?;
    Ok(manager)
}

/// The user in the table's first user-reference field (by position) of a record's `data`.
fn manager_of(fields: &[FieldRow], data: &Value) -> Option<UserId> {
    let f = fields.iter().filter(|f| f.kind() == FieldKind::User).min_by_key(|f| (f.position, f.id))?;
    data.get(f.key()).and_then(Value::as_i64).map(UserId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_core::FieldId;
    use serde_json::json;

    fn field(id: i64, kind: &str, position: i32) -> FieldRow {
        FieldRow {
            id: FieldId(id),
            table_id: TableId(1),
            name: format!("f{id}"),
            kind: kind.into(),
            options: vec![],
            is_title: false,
            position,
        }
    }

    #[test]
    fn the_manager_is_the_first_user_field_by_position() {
        let fields = [field(1, "text", 1), field(7, "user", 3), field(5, "user", 2)];
        assert_eq!(manager_of(&fields, &json!({"1": "Anna", "5": 42, "7": 43})), Some(UserId(42)));
        assert_eq!(manager_of(&fields, &json!({"7": 43})), None, "the first user field is empty");
        assert_eq!(manager_of(&fields, &json!({"5": "42"})), None, "not a user reference");
        assert_eq!(manager_of(&fields[..1], &json!({"1": "Anna"})), None, "no user field");
    }
}
