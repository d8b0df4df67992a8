//! CRM tables, fields and records (migrations/0009_crm.sql). Records are written in batches (one
//! statement per table touched, whatever the batch size): the API writes batches of one, an
//! import thousands, the benchmark a million.

use callbase_core::crm::{FieldDef, FieldKind, FilterOp, MaskMode};
use callbase_core::TenantId;
use serde_json::Value;
use sqlx::{FromRow, Postgres, QueryBuilder};
use time::OffsetDateTime;

use crate::Tx;

#[derive(Debug, Clone, FromRow)]
pub struct TableRow {
    pub id: i64,
    pub name: String,
    pub call_table: bool,
    pub card_field_ids: Vec<i64>,
    /// Counted up to [`COUNT_CAP`] by [`list_tables`]; 0 from [`table`].
    pub record_count: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct FieldRow {
    pub id: i64,
    pub table_id: i64,
    pub name: String,
    pub kind: String,
    pub options: Vec<String>,
    pub is_title: bool,
    pub position: i32,
}

impl FieldRow {
    pub fn def(&self) -> FieldDef {
        FieldDef {
            id: self.id,
            name: self.name.clone(),
            kind: FieldKind::parse(&self.kind).unwrap_or(FieldKind::Text),
            options: self.options.clone(),
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct RecordRow {
    pub id: i64,
    pub table_id: i64,
    pub data: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A record's values, checked and normalised (see `callbase_core::crm::clean_value`).
#[derive(Debug, Clone, Default)]
pub struct RecordWrite {
    /// `{field id: value}`.
    pub data: serde_json::Map<String, Value>,
    /// Sort key of every field of the table (None: no value).
    pub keys: Vec<(i64, Option<String>)>,
    /// E.164 form of every phone value that could be normalised.
    pub phones: Vec<(i64, String)>,
    pub search: String,
}

/// Records are counted up to this many (a million-row table is "10 000+").
pub const COUNT_CAP: i64 = 10_001;

const TABLE_COLS: &str = "t.id, t.name, t.call_table, t.card_field_ids";

/// The tenant's tables, each with its record count (counted up to [`COUNT_CAP`]).
pub async fn list_tables(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<TableRow>> {
    sqlx::query_as(&format!(
        "SELECT {TABLE_COLS}, (SELECT count(*) FROM (SELECT 1 FROM crm_records r WHERE r.table_id = t.id LIMIT {COUNT_CAP}) x) AS record_count \
         FROM crm_tables t WHERE t.tenant_id = $1 ORDER BY t.position, t.id"
    ))
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// One table (without counting its records).
pub async fn table(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<TableRow>> {
    sqlx::query_as(&format!("SELECT {TABLE_COLS}, 0::bigint AS record_count FROM crm_tables t WHERE t.tenant_id = $1 AND t.id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn insert_table(tx: &mut Tx, tenant: TenantId, name: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO crm_tables (tenant_id, name, position) \
         VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM crm_tables WHERE tenant_id = $1)) RETURNING id",
    )
    .bind(tenant)
    .bind(name)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update_table(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    name: &str,
    call_table: bool,
    card: &[i64],
) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE crm_tables SET name = $3, call_table = $4, card_field_ids = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(name)
        .bind(call_table)
        .bind(card)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_table(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM crm_tables WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

const FIELD_COLS: &str = "id, table_id, name, kind, options, is_title, position";

pub async fn fields(tx: &mut Tx, tenant: TenantId, table: i64) -> sqlx::Result<Vec<FieldRow>> {
    sqlx::query_as(&format!(
        "SELECT {FIELD_COLS} FROM crm_fields WHERE tenant_id = $1 AND table_id = $2 ORDER BY position, id"
    ))
    .bind(tenant)
    .bind(table)
    .fetch_all(&mut **tx)
    .await
}

/// Every field of the tenant's call tables.
pub async fn call_table_fields(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<FieldRow>> {
    sqlx::query_as(&format!(
        "SELECT {FIELD_COLS} FROM crm_fields WHERE tenant_id = $1 AND table_id IN \
         (SELECT id FROM crm_tables WHERE tenant_id = $1 AND call_table) ORDER BY table_id, position, id"
    ))
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

pub async fn insert_field(
    tx: &mut Tx,
    tenant: TenantId,
    table: i64,
    name: &str,
    kind: FieldKind,
    options: &[String],
) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO crm_fields (tenant_id, table_id, name, kind, options, is_title, position) \
         VALUES ($1, $2, $3, $4, $5, NOT EXISTS (SELECT 1 FROM crm_fields WHERE table_id = $2 AND is_title), \
                 (SELECT coalesce(max(position), 0) + 1 FROM crm_fields WHERE table_id = $2)) RETURNING id",
    )
    .bind(tenant)
    .bind(table)
    .bind(name)
    .bind(kind.as_str())
    .bind(options)
    .fetch_one(&mut **tx)
    .await?;
    // Every record has a (possibly empty) value row per field: sorting joins on it.
    sqlx::query("INSERT INTO crm_values (record_id, field_id, tenant_id, k) SELECT id, $2, $1, NULL FROM crm_records WHERE table_id = $3")
        .bind(tenant)
        .bind(id)
        .bind(table)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

pub async fn update_field(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    name: &str,
    options: &[String],
    position: i32,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE crm_fields SET name = $3, options = $4, position = $5 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(name)
    .bind(options)
    .bind(position)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes a field and its values from every record of the table.
pub async fn delete_field(tx: &mut Tx, tenant: TenantId, table: i64, id: i64) -> sqlx::Result<bool> {
    let key = id.to_string();
    sqlx::query(
        "UPDATE crm_records SET data = data - $3 WHERE tenant_id = $1 AND table_id = $2 AND data ? $3",
    )
    .bind(tenant)
    .bind(table)
    .bind(&key)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE crm_tables SET card_field_ids = array_remove(card_field_ids, $2) WHERE id = $1")
        .bind(table)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let r = sqlx::query("DELETE FROM crm_fields WHERE tenant_id = $1 AND table_id = $2 AND id = $3")
        .bind(tenant)
        .bind(table)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Inserts records; returns their ids in order.
pub async fn insert_records(
    tx: &mut Tx,
    tenant: TenantId,
    table: i64,
    rows: &[RecordWrite],
    by: Option<i64>,
) -> sqlx::Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT nextval('crm_records_id_seq') FROM generate_series(1, $1)")
            .bind(rows.len() as i64)
            .fetch_all(&mut **tx)
            .await?;
    let data: Vec<Value> = rows.iter().map(|r| Value::Object(r.data.clone())).collect();
    let search: Vec<&str> = rows.iter().map(|r| r.search.as_str()).collect();
    sqlx::query(
        "INSERT INTO crm_records (id, tenant_id, table_id, data, search, created_by) \
         SELECT i, $1, $2, d, s, $6 FROM UNNEST($3::bigint[], $4::jsonb[], $5::text[]) AS x(i, d, s)",
    )
    .bind(tenant)
    .bind(table)
    .bind(&ids)
    .bind(&data)
    .bind(&search)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    write_derived(tx, tenant, table, &ids, rows).await?;
    Ok(ids)
}

async fn write_derived(
    tx: &mut Tx,
    tenant: TenantId,
    table: i64,
    ids: &[i64],
    rows: &[RecordWrite],
) -> sqlx::Result<()> {
    let (mut vr, mut vf, mut vk) = (Vec::new(), Vec::new(), Vec::new());
    let (mut pr, mut pf, mut pe) = (Vec::new(), Vec::new(), Vec::new());
    for (id, r) in ids.iter().zip(rows) {
        for (f, k) in &r.keys {
            vr.push(*id);
            vf.push(*f);
            vk.push(k.clone());
        }
        for (f, e) in &r.phones {
            pr.push(*id);
            pf.push(*f);
            pe.push(e.clone());
        }
    }
    sqlx::query(
        "INSERT INTO crm_values (record_id, field_id, tenant_id, k) SELECT r, f, $1, k FROM UNNEST($2::bigint[], $3::bigint[], $4::text[]) AS x(r, f, k)",
    )
    .bind(tenant)
    .bind(&vr)
    .bind(&vf)
    .bind(&vk)
    .execute(&mut **tx)
    .await?;
    if !pr.is_empty() {
        sqlx::query(
            "INSERT INTO crm_phones (record_id, field_id, tenant_id, table_id, e164) \
             SELECT r, f, $1, $2, e FROM UNNEST($3::bigint[], $4::bigint[], $5::text[]) AS x(r, f, e)",
        )
        .bind(tenant)
        .bind(table)
        .bind(&pr)
        .bind(&pf)
        .bind(&pe)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Replaces a record's values; false if there is no such record in the table.
pub async fn update_record(
    tx: &mut Tx,
    tenant: TenantId,
    table: i64,
    id: i64,
    w: &RecordWrite,
) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE crm_records SET data = $4, search = $5, updated_at = now() WHERE tenant_id = $1 AND table_id = $2 AND id = $3")
        .bind(tenant)
        .bind(table)
        .bind(id)
        .bind(Value::Object(w.data.clone()))
        .bind(&w.search)
        .execute(&mut **tx)
        .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM crm_values WHERE record_id = $1").bind(id).execute(&mut **tx).await?;
    sqlx::query("DELETE FROM crm_phones WHERE record_id = $1").bind(id).execute(&mut **tx).await?;
    write_derived(tx, tenant, table, &[id], std::slice::from_ref(w)).await?;
    Ok(true)
}

pub async fn delete_records(tx: &mut Tx, tenant: TenantId, table: i64, ids: &[i64]) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM crm_records WHERE tenant_id = $1 AND table_id = $2 AND id = ANY($3)")
        .bind(tenant)
        .bind(table)
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected())
}

pub async fn record(tx: &mut Tx, tenant: TenantId, id: i64) -> sqlx::Result<Option<RecordRow>> {
    sqlx::query_as(
        "SELECT id, table_id, data, created_at, updated_at FROM crm_records WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// One filter of a list, its operand already turned into a sort key (or a lower-cased needle).
#[derive(Debug, Clone)]
pub struct Filter {
    pub field: i64,
    pub kind: FieldKind,
    pub op: FilterOp,
    pub operand: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub table: i64,
    /// Sort by this field's sort key (else newest first).
    pub sort: Option<i64>,
    pub desc: bool,
    pub filters: Vec<Filter>,
    /// Quick search (lower-cased).
    pub q: Option<String>,
    /// For viewers who see numbers masked: the quick search must match one of these fields' own
    /// values (the record's search text also holds its phone numbers, digits included).
    pub search_fields: Option<SearchFields>,
    /// The quick search's matches when already looked up ([`search_ids`]).
    pub hits: Option<Vec<i64>>,
    pub limit: i64,
    pub offset: i64,
}

/// The fields a masked viewer's quick search looks at (field ids as the keys of `data`).
#[derive(Debug, Clone, Default)]
pub struct SearchFields {
    /// Text, long text, e-mail and select fields: matched by their value.
    pub text: Vec<String>,
    /// User references: matched by the user's name.
    pub users: Vec<String>,
}

fn like_pattern(needle: &str) -> String {
    let mut p = String::from("%");
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Appends the list's conditions. `rid` is the record id expression; `r` (the record row) is
/// only used by "contains" and a masked viewer's quick search (see [`needs_record`]).
fn push_conditions(b: &mut QueryBuilder<'_, Postgres>, q: &ListQuery, rid: &str) {
    if let (Some(text), Some(sf)) = (&q.q, &q.search_fields) {
        let pattern = like_pattern(text);
        b.push(" AND (EXISTS (SELECT 1 FROM jsonb_each_text(r.data) e WHERE e.key = ANY(")
            .push_bind(sf.text.clone());
        b.push(") AND lower(e.value) LIKE ").push_bind(pattern.clone()).push(")");
        b.push(" OR EXISTS (SELECT 1 FROM jsonb_each_text(r.data) e JOIN users u ON u.id::text = e.value WHERE e.key = ANY(").push_bind(sf.users.clone());
        b.push(") AND lower(u.name) LIKE ").push_bind(pattern).push("))");
    }
    for f in &q.filters {
        match f.op {
            FilterOp::Contains => {
                let needle = f.operand.clone().unwrap_or_default();
                // The trigram index on `search` narrows; the field's own text decides.
                b.push(" AND r.search LIKE ").push_bind(like_pattern(&needle));
                b.push(" AND (lower(r.data->>")
                    .push_bind(f.field.to_string())
                    .push(") LIKE ")
                    .push_bind(like_pattern(&needle));
                if f.kind == FieldKind::Phone {
                    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
                    if !digits.is_empty() {
                        b.push(" OR EXISTS (SELECT 1 FROM crm_phones p WHERE p.record_id = r.id AND p.field_id = ")
                            .push_bind(f.field)
                            .push(" AND p.e164 LIKE ")
                            .push_bind(like_pattern(&digits))
                            .push(")");
                    }
                }
                b.push(")");
            }
            FilterOp::Empty | FilterOp::NotEmpty => {
                b.push(format!(
                    " AND EXISTS (SELECT 1 FROM crm_values v WHERE v.record_id = {rid} AND v.field_id = "
                ))
                .push_bind(f.field);
                b.push(if f.op == FilterOp::Empty { " AND v.k IS NULL)" } else { " AND v.k IS NOT NULL)" });
            }
            FilterOp::Equals | FilterOp::Greater | FilterOp::Less => {
                let cmp = match f.op {
                    FilterOp::Equals => " = ",
                    FilterOp::Greater => " > ",
                    _ => " < ",
                };
                b.push(format!(
                    " AND EXISTS (SELECT 1 FROM crm_values v WHERE v.record_id = {rid} AND v.field_id = "
                ))
                .push_bind(f.field);
                b.push(" AND v.k").push(cmp).push_bind(f.operand.clone().unwrap_or_default()).push(")");
            }
        }
    }
}

/// The quick search's matches, found first through the trigram index (`hits`): left to itself
/// the planner walked the whole table in id or sort order testing every row (170 ms at a million).
fn push_hits(b: &mut QueryBuilder<'_, Postgres>, tenant: TenantId, q: &ListQuery) {
    if let Some(ids) = &q.hits {
        b.push("WITH hits AS MATERIALIZED (SELECT unnest(")
            .push_bind(ids.clone())
            .push("::bigint[]) AS id) ");
    } else if let Some(text) = &q.q {
        b.push("WITH hits AS MATERIALIZED (SELECT id FROM crm_records WHERE tenant_id = ").push_bind(tenant);
        b.push(" AND table_id = ").push_bind(q.table);
        b.push(" AND search LIKE ").push_bind(like_pattern(text)).push(") ");
    }
}

/// Whether the conditions read the record row itself ("contains"), not only the indexes.
fn needs_record(q: &ListQuery) -> bool {
    q.filters.iter().any(|f| f.op == FilterOp::Contains) || (q.q.is_some() && q.search_fields.is_some())
}

/// One page of records. The page's ids are found first from the indexes alone where possible
/// (walking the sort index in order, probing filters with index-only scans, stopping after the
/// page); only the page's records are read.
pub async fn list_records(tx: &mut Tx, tenant: TenantId, q: &ListQuery) -> sqlx::Result<Vec<RecordRow>> {
    custom_plans(tx).await?;
    let mut b: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    push_hits(&mut b, tenant, q);
    b.push("SELECT r.id, r.table_id, r.data, r.created_at, r.updated_at FROM (");
    let hits = |b: &mut QueryBuilder<'_, Postgres>, id: &str| {
        if q.q.is_some() || q.hits.is_some() {
            b.push(format!(" JOIN hits h ON h.id = {id}"));
        }
    };
    let dir = if q.desc { " DESC" } else { "" };
    match q.sort {
        Some(f) => {
            let join = if needs_record(q) { " JOIN crm_records r ON r.id = s.record_id" } else { "" };
            b.push(format!("SELECT s.record_id AS id, s.k FROM crm_values s{join}"));
            hits(&mut b, "s.record_id");
            b.push(" WHERE s.field_id = ").push_bind(f);
            b.push(" AND s.tenant_id = ").push_bind(tenant);
            push_conditions(&mut b, q, "s.record_id");
            b.push(format!(" ORDER BY s.k{dir}, s.record_id{dir}"));
        }
        None => {
            // Newest first (`desc` turns it to oldest first).
            let dir = if q.desc { "" } else { " DESC" };
            b.push("SELECT r.id, NULL::text AS k FROM crm_records r");
            hits(&mut b, "r.id");
            b.push(" WHERE r.tenant_id = ").push_bind(tenant);
            b.push(" AND r.table_id = ").push_bind(q.table);
            push_conditions(&mut b, q, "r.id");
            b.push(format!(" ORDER BY r.id{dir}"));
        }
    }
    b.push(" LIMIT ").push_bind(q.limit).push(" OFFSET ").push_bind(q.offset);
    b.push(") p JOIN crm_records r ON r.id = p.id AND r.table_id = ").push_bind(q.table);
    match q.sort {
        Some(_) => b.push(format!(" ORDER BY p.k{dir}, p.id{dir}")),
        None => b.push(if q.desc { " ORDER BY r.id" } else { " ORDER BY r.id DESC" }),
    };
    b.build_query_as().fetch_all(&mut **tx).await
}

/// The most quick-search matches taken by id ([`search_ids`]); beyond, the search runs under RLS.
pub const HITS_MAX: i64 = 20_000;

/// The quick search's matches through the trigram index, on the lookup pool (no RLS: the tenant
/// and table are named here, and the ids are read back under RLS by [`list_records`]). `None`
/// when there is no lookup pool or more than [`HITS_MAX`] records match.
pub async fn search_ids(
    db: &crate::Db,
    tenant: TenantId,
    table: i64,
    text: &str,
) -> sqlx::Result<Option<Vec<i64>>> {
    let Some(pool) = db.lookup() else { return Ok(None) };
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM crm_records WHERE tenant_id = $1 AND table_id = $2 AND search LIKE $3 LIMIT $4",
    )
    .bind(tenant)
    .bind(table)
    .bind(like_pattern(text))
    .bind(HITS_MAX + 1)
    .fetch_all(pool)
    .await?;
    Ok((ids.len() as i64 <= HITS_MAX).then_some(ids))
}

/// Plans made for each list query's own values. A prepared statement's generic plan cannot tell
/// a filter matching a quarter of a million rows from one matching ten, and chose to collect and
/// sort every match: 570 ms instead of 10 ms at a million clients (docs/benchmarks.md).
async fn custom_plans(tx: &mut Tx) -> sqlx::Result<()> {
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut **tx).await?;
    Ok(())
}

/// How many records the list has, counting at most `cap` (a million-row table is "10 000+").
pub async fn count_records(tx: &mut Tx, tenant: TenantId, q: &ListQuery, cap: i64) -> sqlx::Result<i64> {
    custom_plans(tx).await?;
    let mut b: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    push_hits(&mut b, tenant, q);
    b.push("SELECT count(*) FROM (SELECT 1 FROM crm_records r");
    if q.q.is_some() || q.hits.is_some() {
        b.push(" JOIN hits h ON h.id = r.id");
    }
    b.push(" WHERE r.tenant_id = ").push_bind(tenant).push(" AND r.table_id = ").push_bind(q.table);
    push_conditions(&mut b, q, "r.id");
    b.push(" LIMIT ").push_bind(cap).push(") x");
    b.build_query_scalar().fetch_one(&mut **tx).await
}

/// A record matched to a phone number.
#[derive(Debug, Clone, FromRow)]
pub struct PhoneMatch {
    pub record_id: i64,
    pub table_id: i64,
    pub field_id: i64,
    pub e164: String,
}

/// Records of the call tables holding `e164`; with `similar_digits` > 0 and no exact match,
/// those whose number differs only in the last `similar_digits` digits.
pub async fn match_phone(
    tx: &mut Tx,
    tenant: TenantId,
    e164: &str,
    similar_digits: usize,
    limit: i64,
) -> sqlx::Result<(Vec<PhoneMatch>, bool)> {
    let exact: Vec<PhoneMatch> = sqlx::query_as(
        "SELECT p.record_id, p.table_id, p.field_id, p.e164 FROM crm_phones p JOIN crm_tables t ON t.id = p.table_id AND t.call_table \
         WHERE p.tenant_id = $1 AND p.e164 = $2 ORDER BY p.record_id LIMIT $3",
    )
    .bind(tenant)
    .bind(e164)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    if !exact.is_empty() || similar_digits == 0 || e164.len() <= similar_digits + 6 {
        return Ok((exact, false));
    }
    let prefix = &e164[..e164.len() - similar_digits];
    let similar: Vec<PhoneMatch> = sqlx::query_as(
        "SELECT p.record_id, p.table_id, p.field_id, p.e164 FROM crm_phones p JOIN crm_tables t ON t.id = p.table_id AND t.call_table \
         WHERE p.tenant_id = $1 AND p.e164 LIKE $2 AND length(p.e164) = $3 ORDER BY p.record_id LIMIT $4",
    )
    .bind(tenant)
    .bind(format!("{}%", prefix.replace(['%', '_'], "")))
    .bind(e164.len() as i32)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok((similar, true))
}

/// The E.164 number of a record's phone field (click-to-call by reference).
pub async fn phone_of(
    tx: &mut Tx,
    tenant: TenantId,
    record: i64,
    field: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT e164 FROM crm_phones WHERE tenant_id = $1 AND record_id = $2 AND field_id = $3",
    )
    .bind(tenant)
    .bind(record)
    .bind(field)
    .fetch_optional(&mut **tx)
    .await
}

/// The tenant's number masking as the telephony side needs it: the mode, how many characters are
/// hidden, and which of `users` are members of a masked group. None when nobody of `users` is.
pub async fn masked_among(
    tx: &mut Tx,
    tenant: TenantId,
    users: &[i64],
) -> sqlx::Result<Option<(MaskMode, usize, Vec<i64>)>> {
    let row: Option<(String, i32, Vec<i64>)> = sqlx::query_as(
        "SELECT t.mask_mode, t.mask_chars, ARRAY(SELECT DISTINCT m.user_id FROM memberships m \
           WHERE m.tenant_id = t.tenant_id AND m.group_id = ANY(t.mask_group_ids) AND m.user_id = ANY($2)) \
         FROM telephony t WHERE t.tenant_id = $1",
    )
    .bind(tenant)
    .bind(users)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.filter(|(_, _, masked)| !masked.is_empty()).map(|(mode, chars, masked)| {
        (if mode == "hidden" { MaskMode::Hidden } else { MaskMode::Prefix }, chars.max(1) as usize, masked)
    }))
}

/// A call's client as a caller ID: the record's title and the phone field holding `e164` (for
/// the `crm<record>x<field>` reference).
pub async fn client_caller_id(
    tx: &mut Tx,
    tenant: TenantId,
    record: i64,
    e164: &str,
) -> sqlx::Result<Option<(Option<String>, i64)>> {
    sqlx::query_as(
        "SELECT r.data->>(SELECT f.id::text FROM crm_fields f WHERE f.table_id = r.table_id AND f.is_title LIMIT 1), p.field_id \
         FROM crm_phones p JOIN crm_records r ON r.id = p.record_id \
         WHERE p.tenant_id = $1 AND p.record_id = $2 AND p.e164 = $3 ORDER BY p.field_id LIMIT 1",
    )
    .bind(tenant)
    .bind(record)
    .bind(e164)
    .fetch_optional(&mut **tx)
    .await
}

/// Hours an uploaded import file waits for its run (or for a run again after a failure).
pub const IMPORT_TTL_HOURS: i32 = 24;

/// Deletes the tenant's import files left unrun for [`IMPORT_TTL_HOURS`] (the last run's
/// heartbeat, else the upload, is older). Imported ones keep their report (their file is gone).
pub async fn expire_imports_of(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM crm_imports WHERE tenant_id = $1 AND file IS NOT NULL AND heartbeat_at < now() - make_interval(hours => $2)")
        .bind(tenant)
        .bind(IMPORT_TTL_HOURS)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected())
}

/// [`expire_imports_of`] for every tenant (the periodic sweep; `pool` is the worker pool).
pub async fn expire_imports(pool: &sqlx::PgPool) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM crm_imports WHERE file IS NOT NULL AND heartbeat_at < now() - make_interval(hours => $1)")
        .bind(IMPORT_TTL_HOURS)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}
