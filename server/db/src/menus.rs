//! IVR menus (issue #19, migration 0038): a greeting, digits leading to destinations, a timeout
//! and retries, and a fallback destination.

use callbase_core::TenantId;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::Tx;

/// How many menus a tenant may have.
pub const MAX_MENUS: i64 = 50;

/// Where a menu digit (or a menu's fallback) sends the caller. `kind`: `ring_all`, `queue`
/// (`queue_id`), `user` (`user_id`), `number` (`number`), `menu` (`menu_id`), `voicemail`, or —
/// for a fallback only — `hangup`. A reference that was deleted is `None`: the call rings everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Destination {
    pub kind: String,
    #[serde(default)]
    pub queue_id: Option<i64>,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub menu_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Menu {
    pub id: i64,
    pub name: String,
    pub greeting_key: Option<String>,
    pub timeout_secs: i16,
    pub retries: i16,
    pub fallback: Destination,
    /// (digit, destination), by digit.
    pub options: Vec<(String, Destination)>,
}

/// What an administrator sets (the greeting is uploaded on its own).
#[derive(Debug, Clone)]
pub struct MenuFields {
    pub name: String,
    pub timeout_secs: i16,
    pub retries: i16,
    pub fallback: Destination,
    pub options: Vec<(String, Destination)>,
}

#[derive(FromRow)]
struct MenuRow {
    id: i64,
    name: String,
    greeting_key: Option<String>,
    timeout_secs: i16,
    retries: i16,
    fallback_kind: String,
    fallback_queue: Option<i64>,
    fallback_user: Option<i64>,
    fallback_number: Option<String>,
    fallback_menu: Option<i64>,
}

#[derive(FromRow)]
struct OptionRow {
    menu_id: i64,
    digit: String,
    kind: String,
    queue_id: Option<i64>,
    user_id: Option<i64>,
    number: Option<String>,
    target_menu: Option<i64>,
}

const COLUMNS: &str =
    "id, name, greeting_key, timeout_secs, retries, fallback_kind, fallback_queue, fallback_user,
    fallback_number, fallback_menu";

fn assemble(rows: Vec<MenuRow>, options: Vec<OptionRow>) -> Vec<Menu> {
    rows.into_iter()
        .map(|m| Menu {
            options: options
                .iter()
                .filter(|o| o.menu_id == m.id)
                .map(|o| {
                    let d = Destination {
                        kind: o.kind.clone(),
                        queue_id: o.queue_id,
                        user_id: o.user_id,
                        number: o.number.clone(),
                        menu_id: o.target_menu,
                    };
                    (o.digit.clone(), d)
                })
                .collect(),
            id: m.id,
            name: m.name,
            greeting_key: m.greeting_key,
            timeout_secs: m.timeout_secs,
            retries: m.retries,
            fallback: Destination {
                kind: m.fallback_kind,
                queue_id: m.fallback_queue,
                user_id: m.fallback_user,
                number: m.fallback_number,
                menu_id: m.fallback_menu,
            },
        })
        .collect()
}

async fn options(tx: &mut Tx, tenant: TenantId, menu: Option<i64>) -> sqlx::Result<Vec<OptionRow>> {
    sqlx::query_as(
        "SELECT menu_id, digit, kind, queue_id, user_id, number, target_menu FROM menu_options
         WHERE tenant_id = $1 AND ($2::bigint IS NULL OR menu_id = $2) ORDER BY menu_id, digit",
    )
    .bind(tenant)
    .bind(menu)
    .fetch_all(&mut **tx)
    .await
}

pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<Menu>> {
    let rows: Vec<MenuRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM menus WHERE tenant_id = $1 ORDER BY name"))
            .bind(tenant)
            .fetch_all(&mut **tx)
            .await?;
    let opts = options(tx, tenant, None).await?;
    Ok(assemble(rows, opts))
}

pub async fn get(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<Menu>> {
    let rows: Vec<MenuRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM menus WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant)
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    let opts = options(tx, tenant, Some(id)).await?;
    Ok(assemble(rows, opts).pop())
}

pub async fn count(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM menus WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&mut **tx)
        .await
}

/// Every menu's fallback menu (for the loop check): (menu, fallback menu).
pub async fn fallback_menus(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<(i64, Option<i64>)>> {
    sqlx::query_as(
        "SELECT id, CASE WHEN fallback_kind = 'menu' THEN fallback_menu END FROM menus WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Creates a menu; `None` when the tenant has one of that name.
pub async fn create(tx: &mut Tx, tenant: TenantId, f: &MenuFields) -> sqlx::Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO menus (tenant_id, name, timeout_secs, retries, fallback_kind, fallback_queue, fallback_user,
             fallback_number, fallback_menu)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
    )
    .bind(tenant)
    .bind(&f.name)
    .bind(f.timeout_secs)
    .bind(f.retries)
    .bind(&f.fallback.kind)
    .bind(f.fallback.queue_id)
    .bind(f.fallback.user_id)
    .bind(&f.fallback.number)
    .bind(f.fallback.menu_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        set_options(tx, tenant, id, &f.options).await?;
    }
    Ok(id)
}

/// Changes a menu. `Ok(false)`: another menu has the name.
pub async fn update(tx: &mut Tx, tenant: TenantId, id: i64, f: &MenuFields) -> sqlx::Result<bool> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM menus WHERE tenant_id = $1 AND name = $2 AND id <> $3)",
    )
    .bind(tenant)
    .bind(&f.name)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if taken {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE menus SET name = $3, timeout_secs = $4, retries = $5, fallback_kind = $6, fallback_queue = $7,
             fallback_user = $8, fallback_number = $9, fallback_menu = $10
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(&f.name)
    .bind(f.timeout_secs)
    .bind(f.retries)
    .bind(&f.fallback.kind)
    .bind(f.fallback.queue_id)
    .bind(f.fallback.user_id)
    .bind(&f.fallback.number)
    .bind(f.fallback.menu_id)
    .execute(&mut **tx)
    .await?;
    set_options(tx, tenant, id, &f.options).await?;
    Ok(true)
}

async fn set_options(
    tx: &mut Tx,
    tenant: TenantId,
    menu: i64,
    options: &[(String, Destination)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM menu_options WHERE tenant_id = $1 AND menu_id = $2")
        .bind(tenant)
        .bind(menu)
        .execute(&mut **tx)
        .await?;
    for (digit, d) in options {
        sqlx::query(
            "INSERT INTO menu_options (tenant_id, menu_id, digit, kind, queue_id, user_id, number, target_menu)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(menu)
        .bind(digit)
        .bind(&d.kind)
        .bind(d.queue_id)
        .bind(d.user_id)
        .bind(&d.number)
        .bind(d.menu_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Deletes a menu; false when the tenant has no such menu. Digits and trunks that led to it ring
/// everyone until an administrator chooses again.
pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM menus WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Sets the menu's greeting object; `None` when there is no such menu, else the previous one.
pub async fn set_greeting(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    key: Option<&str>,
) -> sqlx::Result<Option<Option<String>>> {
    let old: Option<Option<String>> =
        sqlx::query_scalar("SELECT greeting_key FROM menus WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    if old.is_some() {
        sqlx::query("UPDATE menus SET greeting_key = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(old)
}

impl Destination {
    /// A destination of `kind` with no reference (set the one its kind needs).
    pub fn to(kind: &str) -> Destination {
        Destination { kind: kind.into(), queue_id: None, user_id: None, number: None, menu_id: None }
    }

    /// Reads the API's compact form: `ring_all`, `voicemail`, `hangup`, `queue:<id>`, `user:<id>`,
    /// `menu:<id>` or `number:<number>`.
    pub fn parse(s: &str) -> Option<Destination> {
        let id = |v: &str| v.parse::<i64>().ok().filter(|i| *i > 0);
        match s.trim().split_once(':') {
            None => {
                matches!(s.trim(), "ring_all" | "voicemail" | "hangup").then(|| Destination::to(s.trim()))
            }
            Some(("queue", v)) => Some(Destination { queue_id: Some(id(v)?), ..Destination::to("queue") }),
            Some(("user", v)) => Some(Destination { user_id: Some(id(v)?), ..Destination::to("user") }),
            Some(("menu", v)) => Some(Destination { menu_id: Some(id(v)?), ..Destination::to("menu") }),
            Some(("number", v)) if !v.trim().is_empty() => {
                Some(Destination { number: Some(v.trim().to_string()), ..Destination::to("number") })
            }
            _ => None,
        }
    }

    /// The compact form (a deleted reference reads `queue:`, `user:` or `menu:` with no id).
    pub fn render(&self) -> String {
        let opt = |v: Option<i64>| v.map(|i| i.to_string()).unwrap_or_default();
        match self.kind.as_str() {
            "queue" => format!("queue:{}", opt(self.queue_id)),
            "user" => format!("user:{}", opt(self.user_id)),
            "menu" => format!("menu:{}", opt(self.menu_id)),
            "number" => format!("number:{}", self.number.clone().unwrap_or_default()),
            k => k.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_read_and_write_their_compact_form() {
        for s in ["ring_all", "voicemail", "hangup", "queue:12", "user:5", "menu:3", "number:+74951234567"] {
            assert_eq!(Destination::parse(s).unwrap().render(), s);
        }
        for bad in
            ["", "queue", "queue:", "queue:x", "queue:-1", "menu:0", "number:", "somewhere", "user:1:2"]
        {
            assert!(Destination::parse(bad).is_none(), "{bad}");
        }
        let gone = Destination { queue_id: None, ..Destination::parse("queue:1").unwrap() };
        assert_eq!(gone.render(), "queue:");
    }
}
