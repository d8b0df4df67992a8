//! The list query: a page of a table's records, sorted by any field, filtered and searched. The one
//! query assembled at run time (`QueryBuilder`: which joins and conditions it has depends on the
//! filters a user picked); every value in it is a bind parameter.

use callbase_core::crm::{FieldKind, FilterOp};
use callbase_core::{FieldId, RecordId, TableId, TenantId};
use callbase_db::{Db, Tx};
use sqlx::{Postgres, QueryBuilder};

use super::records::RecordRow;

/// One filter of a list, its operand already turned into a sort key (or a lower-cased needle).
#[derive(Debug, Clone)]
pub struct Filter {
    pub field: FieldId,
    pub kind: FieldKind,
    pub op: FilterOp,
    pub operand: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub table: TableId,
    /// Sort by this field's sort key (else newest first).
    pub sort: Option<FieldId>,
    pub desc: bool,
    pub filters: Vec<Filter>,
    /// Quick search (lower-cased).
    pub q: Option<String>,
    /// For viewers who see numbers masked: the quick search must match one of these fields' own
    /// values (the record's search text also holds its phone numbers, digits included).
    pub search_fields: Option<SearchFields>,
    /// The quick search's matches when already looked up ([`search_ids`]).
    pub hits: Option<Vec<RecordId>>,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging of the newest-first order (the public API's cursor): records older than this.
    pub before: Option<RecordId>,
}

/// The fields a masked viewer's quick search looks at (field ids as the keys of `data`).
#[derive(Debug, Clone, Default)]
pub struct SearchFields {
    /// Text, long text, e-mail and select fields: matched by their value.
    pub text: Vec<String>,
    /// User references: matched by the user's name.
    pub users: Vec<String>,
}

pub(crate) fn like_pattern(needle: &str) -> String {
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
                    .push_bind(f.field.0.to_string())
                    .push(") LIKE ")
                    .push_bind(like_pattern(&needle));
                if f.kind == FieldKind::Phone {
                    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
                    if !digits.is_empty() {
                        b.push(" OR EXISTS (SELECT 1 FROM crm_phones p WHERE p.record_id = r.id AND p.field_id = ")
                            .push_bind(f.field.0)
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
                .push_bind(f.field.0);
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
                .push_bind(f.field.0);
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
            .push_bind(ids.iter().map(|i| i.0).collect::<Vec<i64>>())
            .push("::bigint[]) AS id) ");
    } else if let Some(text) = &q.q {
        b.push("WITH hits AS MATERIALIZED (SELECT id FROM crm_records WHERE tenant_id = ").push_bind(tenant);
        b.push(" AND table_id = ").push_bind(q.table.0);
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
pub async fn page(tx: &mut Tx, tenant: TenantId, q: &ListQuery) -> sqlx::Result<Vec<RecordRow>> {
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
            b.push(" WHERE s.field_id = ").push_bind(f.0);
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
            b.push(" AND r.table_id = ").push_bind(q.table.0);
            push_conditions(&mut b, q, "r.id");
            if let Some(before) = q.before {
                b.push(" AND r.id < ").push_bind(before.0);
            }
            b.push(format!(" ORDER BY r.id{dir}"));
        }
    }
    b.push(" LIMIT ").push_bind(q.limit).push(" OFFSET ").push_bind(q.offset);
    b.push(") p JOIN crm_records r ON r.id = p.id AND r.table_id = ").push_bind(q.table.0);
    match q.sort {
        Some(_) => b.push(format!(" ORDER BY p.k{dir}, p.id{dir}")),
        None => b.push(if q.desc { " ORDER BY r.id" } else { " ORDER BY r.id DESC" }),
    };
    let rows: Vec<PageRow> = b.build_query_as().fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(RecordRow::from).collect())
}

#[derive(sqlx::FromRow)]
struct PageRow {
    id: i64,
    table_id: i64,
    data: serde_json::Value,
    created_at: time::OffsetDateTime,
    updated_at: time::OffsetDateTime,
}

impl From<PageRow> for RecordRow {
    fn from(r: PageRow) -> Self {
        RecordRow {
            id: RecordId(r.id),
            table_id: TableId(r.table_id),
            data: r.data,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The most quick-search matches taken by id ([`search_ids`]); beyond, the search runs under RLS.
pub const HITS_MAX: i64 = 20_000;

/// The quick search's matches through the trigram index, on the lookup pool (no RLS: the tenant
/// and table are named here, and the ids are read back under RLS by [`page`]). `None`
/// when there is no lookup pool or more than [`HITS_MAX`] records match.
pub async fn search_ids(
    db: &Db,
    tenant: TenantId,
    table: TableId,
    text: &str,
) -> sqlx::Result<Option<Vec<RecordId>>> {
    let Some(pool) = db.lookup() else { return Ok(None) };
    let ids: Vec<i64> = sqlx::query_scalar!(
        "SELECT id FROM crm_records WHERE tenant_id = $1 AND table_id = $2 AND search LIKE $3 LIMIT $4",
        tenant.0,
        table.0,
        like_pattern(text),
        HITS_MAX + 1,
    )
    .fetch_all(pool)
    .await?;
    Ok((ids.len() as i64 <= HITS_MAX).then(|| ids.into_iter().map(RecordId).collect()))
}

/// Plans made for each list query's own values. A prepared statement's generic plan cannot tell
/// a filter matching a quarter of a million rows from one matching ten, and chose to collect and
/// sort every match: 570 ms instead of 10 ms at a million clients (docs/benchmarks.md).
async fn custom_plans(tx: &mut Tx) -> sqlx::Result<()> {
    sqlx::query!("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut **tx).await?;
    Ok(())
}

/// How many records the list has, counting at most `cap` (a million-row table is "10 000+").
pub async fn count(tx: &mut Tx, tenant: TenantId, q: &ListQuery, cap: i64) -> sqlx::Result<i64> {
    custom_plans(tx).await?;
    let mut b: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    push_hits(&mut b, tenant, q);
    b.push("SELECT count(*) FROM (SELECT 1 FROM crm_records r");
    if q.q.is_some() || q.hits.is_some() {
        b.push(" JOIN hits h ON h.id = r.id");
    }
    b.push(" WHERE r.tenant_id = ").push_bind(tenant).push(" AND r.table_id = ").push_bind(q.table.0);
    push_conditions(&mut b, q, "r.id");
    b.push(" LIMIT ").push_bind(cap).push(") x");
    b.build_query_scalar().fetch_one(&mut **tx).await
}
