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
    /// The quick search's matches when already looked up ([`search_ids`]), or a driving filter's
    /// ([`drive`]).
    pub hits: Option<Vec<RecordId>>,
    /// `hits` are a driving filter's matches: the page always sorts them (they are sparse along the
    /// order, or few).
    pub driven: bool,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: the page starts after this row of the list's order (its cost does not grow
    /// with the depth, unlike `offset`).
    pub after: Option<After>,
}

/// A row of a list's order that a page starts after (a keyset cursor): the row's sort key (`None`
/// for the newest-first order and for an empty value) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub k: Option<String>,
    pub id: RecordId,
}

/// One page of a list and where the next one starts (`None` when the page is not full).
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<RecordRow>,
    pub next: Option<After>,
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

/// The quick search's matches (or a filter's, [`drive`]), found first (`hits`): left to itself
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

/// A filter with at most this many matches drives the page at once ([`drive`]): collecting and
/// sorting them costs less than a walk would on average. Also the most quick-search matches
/// sorted that way.
pub const DRIVER_MAX: i64 = 5_000;
/// The most rows of the sort order a page walks before it looks for a filter to drive it
/// ([`page_driven`]): enough to fill a page through a filter matching one row in 200.
pub const WALK_MAX: i64 = 10_000;
/// After a walk that did not fill the page, a filter with at most this many matches drives it.
pub const COLLECT_MAX: i64 = 60_000;

/// Whether the page is made by sorting its known matches (`hits`: a driving filter's, or up to
/// [`DRIVER_MAX`] of a text search's) rather than by walking the order and testing each row.
fn sorts_hits(q: &ListQuery) -> bool {
    q.driven || q.hits.as_ref().is_some_and(|h| h.len() as i64 <= DRIVER_MAX)
}

/// Whether a filter can drive a page: its matches are a range of the sort index.
fn drivable(q: &ListQuery) -> bool {
    q.hits.is_none() && q.q.is_none() && q.filters.iter().any(|f| f.op != FilterOp::Contains)
}

/// One page of a list, the way that costs least for its filters. A sorted page walks the sort
/// index `(field, k, record)` in order and tests each row against the filters until the page is
/// full: cheap while matches are dense along the order, but a filter matching a few rows, or one
/// whose matches all sort last (anti-correlated with the order — PostgreSQL's LIMIT costing
/// assumes they are spread evenly, and a million-row walk took 880 ms), walks most of the table.
/// So:
/// 1. a filter with at most [`DRIVER_MAX`] matches drives the page at once ([`drive`]);
/// 2. otherwise the page walks at most [`WALK_MAX`] rows of the order;
/// 3. a walk that did not fill it means the matches are sparse here: a filter with at most
///    [`COLLECT_MAX`] matches drives it; failing that, the walk goes on to the page's end (a
///    filter matching more than that and all sorting last is the case left slow: no index holds
///    two fields' values together).
///
/// A driving filter becomes `q.hits` (so the count uses it too) and leaves `q.filters`.
pub async fn page_driven(tx: &mut Tx, tenant: TenantId, q: &mut ListQuery) -> sqlx::Result<Page> {
    if !drivable(q) {
        return page(tx, tenant, q).await;
    }
    if drive(tx, tenant, q, DRIVER_MAX).await? {
        return page(tx, tenant, q).await;
    }
    let walked = page_within(tx, tenant, q, Some(WALK_MAX)).await?;
    if walked.rows.len() as i64 == q.limit {
        return Ok(walked);
    }
    drive(tx, tenant, q, COLLECT_MAX).await?;
    page(tx, tenant, q).await
}

/// Makes the first filter with at most `max` matches `q.hits` (their ids, read from the sort
/// index: `k = v`, `k > v`, … is a range of it) and takes it out of `q.filters`. Not for a quick
/// search (its matches are `hits` already).
pub async fn drive(tx: &mut Tx, tenant: TenantId, q: &mut ListQuery, max: i64) -> sqlx::Result<bool> {
    if !drivable(q) {
        return Ok(false);
    }
    custom_plans(tx).await?;
    for (i, f) in q.filters.iter().enumerate() {
        let mut b: QueryBuilder<'_, Postgres> =
            QueryBuilder::new("SELECT record_id FROM crm_values WHERE tenant_id = ");
        b.push_bind(tenant).push(" AND field_id = ").push_bind(f.field.0);
        let operand = f.operand.clone().unwrap_or_default();
        match f.op {
            FilterOp::Contains => continue,
            FilterOp::Empty => b.push(" AND k IS NULL"),
            FilterOp::NotEmpty => b.push(" AND k IS NOT NULL"),
            FilterOp::Equals => b.push(" AND k = ").push_bind(operand),
            FilterOp::Greater => b.push(" AND k > ").push_bind(operand),
            FilterOp::Less => b.push(" AND k < ").push_bind(operand),
        };
        b.push(" LIMIT ").push_bind(max + 1);
        let ids: Vec<i64> = b.build_query_scalar().fetch_all(&mut **tx).await?;
        if ids.len() as i64 <= max {
            q.hits = Some(ids.into_iter().map(RecordId).collect());
            q.driven = true;
            q.filters.remove(i);
            return Ok(true);
        }
    }
    Ok(false)
}

/// The part of a sorted list's order a query reads. Empty values sort last in ascending and first
/// in descending order, and have no key to compare: keyset paging reads the keyed rows and the
/// empty ones as two ranges of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range<'a> {
    All,
    /// Keyed rows after `(k, id)`.
    After(&'a str, i64),
    /// Empty values after the record id.
    EmptyAfter(i64),
    Empty,
    Keyed,
}

fn ranges(q: &ListQuery) -> Vec<Range<'_>> {
    if q.sort.is_none() {
        return vec![Range::All];
    }
    match (&q.after, q.desc) {
        (None, _) => vec![Range::All],
        (Some(After { k: Some(k), id }), false) => vec![Range::After(k, id.0), Range::Empty],
        (Some(After { k: Some(k), id }), true) => vec![Range::After(k, id.0)],
        (Some(After { k: None, id }), false) => vec![Range::EmptyAfter(id.0)],
        (Some(After { k: None, id }), true) => vec![Range::EmptyAfter(id.0), Range::Keyed],
    }
}

fn push_range(b: &mut QueryBuilder<'_, Postgres>, range: Range<'_>, desc: bool) {
    let cmp = if desc { " < " } else { " > " };
    match range {
        Range::All => {}
        // A row comparison: the index scan starts at the cursor.
        Range::After(k, id) => {
            b.push(format!(" AND (s.k, s.record_id){cmp}(")).push_bind(k.to_string());
            b.push(", ").push_bind(id).push(")");
        }
        Range::EmptyAfter(id) => {
            b.push(format!(" AND s.k IS NULL AND s.record_id{cmp}")).push_bind(id);
        }
        Range::Empty => {
            b.push(" AND s.k IS NULL");
        }
        Range::Keyed => {
            b.push(" AND s.k IS NOT NULL");
        }
    }
}

/// One page of records and where the next starts. The page's ids are found first from the
/// indexes alone where possible (walking the sort index in order, probing filters with index-only
/// scans, stopping after the page — or sorting the few known matches, [`drive`]); only the page's
/// records are read.
pub async fn page(tx: &mut Tx, tenant: TenantId, q: &ListQuery) -> sqlx::Result<Page> {
    page_within(tx, tenant, q, None).await
}

/// [`page`], walking at most `walk` rows of the sort order (each range) when given.
async fn page_within(tx: &mut Tx, tenant: TenantId, q: &ListQuery, walk: Option<i64>) -> sqlx::Result<Page> {
    custom_plans(tx).await?;
    let mut rows: Vec<PageRow> = Vec::new();
    for range in ranges(q) {
        let want = q.limit - rows.len() as i64;
        if want <= 0 {
            break;
        }
        rows.extend(part(tx, tenant, q, range, want, walk).await?);
    }
    let next = if rows.len() as i64 == q.limit {
        rows.last()
            .map(|r| After { k: if q.sort.is_some() { r.k.clone() } else { None }, id: RecordId(r.id) })
    } else {
        None
    };
    Ok(Page { rows: rows.into_iter().map(RecordRow::from).collect(), next })
}

/// The rows of one range of the list's order.
async fn part(
    tx: &mut Tx,
    tenant: TenantId,
    q: &ListQuery,
    range: Range<'_>,
    limit: i64,
    walk: Option<i64>,
) -> sqlx::Result<Vec<PageRow>> {
    let mut b: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    push_hits(&mut b, tenant, q);
    b.push("SELECT r.id, r.table_id, r.data, r.created_at, r.updated_at, p.k FROM (");
    let searched = q.q.is_some() || q.hits.is_some();
    // Known matches few enough to sort: `OFFSET 0` keeps the planner from walking the sort order
    // with them (it would expect them evenly spread).
    let sorted = sorts_hits(q);
    let join_record = if needs_record(q) { " JOIN crm_records r ON r.id = s.record_id" } else { "" };
    let dir = if q.desc { " DESC" } else { "" };
    match q.sort {
        Some(f) => {
            if sorted {
                b.push(format!(
                    "SELECT x.id, x.k FROM (SELECT s.record_id AS id, s.k FROM hits h \
                     JOIN crm_values s ON s.record_id = h.id{join_record}"
                ));
            } else if let (Some(walk), false) = (walk, searched) {
                // A bounded stretch of the order (from the cursor), then the filters.
                b.push("SELECT s.record_id AS id, s.k FROM (SELECT s.record_id, s.k, s.field_id, s.tenant_id FROM crm_values s WHERE s.field_id = ")
                    .push_bind(f.0);
                b.push(" AND s.tenant_id = ").push_bind(tenant);
                push_range(&mut b, range, q.desc);
                b.push(format!(" ORDER BY s.k{dir}, s.record_id{dir} LIMIT ")).push_bind(walk);
                b.push(format!(") s{join_record}"));
            } else {
                b.push(format!("SELECT s.record_id AS id, s.k FROM crm_values s{join_record}"));
                if searched {
                    b.push(" JOIN hits h ON h.id = s.record_id");
                }
            }
            b.push(" WHERE s.field_id = ").push_bind(f.0);
            b.push(" AND s.tenant_id = ").push_bind(tenant);
            push_conditions(&mut b, q, "s.record_id");
            // A bounded walk starts at the cursor already.
            if walk.is_none() || sorted || searched {
                push_range(&mut b, range, q.desc);
            }
            if sorted {
                b.push(format!(" OFFSET 0) x ORDER BY x.k{dir}, x.id{dir}"));
            } else {
                b.push(format!(" ORDER BY s.k{dir}, s.record_id{dir}"));
            }
        }
        None => {
            // Newest first (`desc` turns it to oldest first).
            let (dir, cmp) = if q.desc { ("", " > ") } else { (" DESC", " < ") };
            if sorted {
                b.push("SELECT x.id, x.k FROM (");
            }
            if let (Some(walk), false) = (walk, sorted) {
                // A bounded stretch of the order, then the filters.
                let cols = if needs_record(q) {
                    "r.id, r.tenant_id, r.table_id, r.data, r.search"
                } else {
                    "r.id, r.tenant_id, r.table_id"
                };
                b.push(format!("SELECT r.id, NULL::text AS k FROM (SELECT {cols} FROM crm_records r WHERE r.tenant_id = "))
                    .push_bind(tenant);
                b.push(" AND r.table_id = ").push_bind(q.table.0);
                if let Some(after) = &q.after {
                    b.push(format!(" AND r.id{cmp}")).push_bind(after.id.0);
                }
                b.push(format!(" ORDER BY r.id{dir} LIMIT ")).push_bind(walk).push(") r");
            } else {
                b.push("SELECT r.id, NULL::text AS k FROM crm_records r");
            }
            if searched {
                b.push(" JOIN hits h ON h.id = r.id");
            }
            b.push(" WHERE r.tenant_id = ").push_bind(tenant);
            b.push(" AND r.table_id = ").push_bind(q.table.0);
            push_conditions(&mut b, q, "r.id");
            // A bounded walk starts at the cursor already.
            if let (Some(after), true) = (&q.after, walk.is_none() || sorted) {
                b.push(format!(" AND r.id{cmp}")).push_bind(after.id.0);
            }
            if sorted {
                b.push(format!(" OFFSET 0) x ORDER BY x.id{dir}"));
            } else {
                b.push(format!(" ORDER BY r.id{dir}"));
            }
        }
    }
    b.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(q.offset);
    b.push(") p JOIN crm_records r ON r.id = p.id AND r.table_id = ").push_bind(q.table.0);
    match q.sort {
        Some(_) => b.push(format!(" ORDER BY p.k{dir}, p.id{dir}")),
        None => b.push(if q.desc { " ORDER BY r.id" } else { " ORDER BY r.id DESC" }),
    };
    b.build_query_as().fetch_all(&mut **tx).await
}

#[derive(sqlx::FromRow)]
struct PageRow {
    id: i64,
    table_id: i64,
    data: serde_json::Value,
    created_at: time::OffsetDateTime,
    updated_at: time::OffsetDateTime,
    /// The sort key (the next page's cursor).
    k: Option<String>,
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

/// The quick search's matches (`words`: typed words first, see below) or a "contains" filter's
/// through the trigram index, on the lookup pool (no RLS: the tenant and table are named here, and
/// the ids are read back under RLS by [`page`]). `None` when there is no lookup pool or more than
/// [`HITS_MAX`] records match.
///
/// The quick search looks up the typed words first (`crm_search_words`, migration 0047): a record
/// must have each typed word (the last one may be the start of one; digits may be the end of a
/// number's) and hold the typed text as it is. Only when no record does, the trigram index finds
/// the typed text inside words. The trigram lookup's cost grows with the table (its common
/// trigrams' posting lists do: 180 ms at ten million clients); a rare typed word's does not.
pub async fn search_ids(
    db: &Db,
    tenant: TenantId,
    table: TableId,
    text: &str,
    words: bool,
) -> sqlx::Result<Option<Vec<RecordId>>> {
    let Some(pool) = db.lookup() else { return Ok(None) };
    if words {
        // `(search || '')`: the text check must not be planned as a trigram lookup beside the
        // words' — that lookup is the cost this one avoids.
        let ids: Vec<i64> = sqlx::query_scalar!(
            "SELECT id FROM crm_records WHERE tenant_id = $1 AND table_id = $2 \
             AND crm_search_words(search) @@ crm_search_query($3) AND (search || '') LIKE $4 LIMIT $5",
            tenant.0,
            table.0,
            text,
            like_pattern(text),
            HITS_MAX + 1,
        )
        .fetch_all(pool)
        .await?;
        if !ids.is_empty() {
            return Ok((ids.len() as i64 <= HITS_MAX).then(|| ids.into_iter().map(RecordId).collect()));
        }
    }
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
    // Known matches and nothing else to test: they are the list (the quick search's and a driving
    // filter's are looked up for this tenant's table).
    if let (Some(hits), true) = (&q.hits, q.filters.is_empty() && q.search_fields.is_none()) {
        return Ok((hits.len() as i64).min(cap));
    }
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
