//! Lists of records: the query a user asks for (sort, filters, quick search, page) checked and
//! turned into a [`ListQuery`], then run through the trigram lookup and the list query.
//!
//! Masked viewers may not order or narrow a list by a number they cannot see: sorting by a phone
//! field beside records whose numbers they chose, or filtering or searching digits, would let them
//! binary-search a hidden number (403 `masked_numbers`). Their quick search looks only at the
//! values they can see.

use callbase_core::crm::{self as core_crm, FieldKind, FilterOp};
use callbase_core::{FieldId, RecordId, TableId};
use callbase_db::Db;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{CrmError, CrmResult};
use crate::repo::list::{After, Filter, ListQuery, SearchFields};
use crate::repo::{self, FieldRow};
use crate::shape::{table_or_404, Record, Shaper};
use crate::view::{Masking, Viewer, Who};

/// Largest page.
pub const PER_PAGE_MAX: i64 = 200;
/// Default page size.
pub const PER_PAGE: i64 = 50;
/// Highest page number (deeper pages: narrow the list instead).
pub const PAGE_MAX: i64 = 100_000;
/// Counting stops here ("more than 10 000"): an unfiltered count walks a small index.
pub const COUNT_CAP: i64 = 10_000;
/// With filters or a search, counting stops sooner ("more than 1 000"): each counted row costs a
/// probe, and the page must stay fast at a million rows.
pub const COUNT_CAP_FILTERED: i64 = 1_000;
/// Most filters in one list.
pub const FILTERS_MAX: usize = 10;
/// Longest quick search, in characters.
pub const SEARCH_MAX: usize = 100;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1-based.
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    /// Field id to sort by (default: newest first).
    pub sort: Option<i64>,
    #[serde(default)]
    pub desc: bool,
    /// Quick search over every value.
    pub q: Option<String>,
    /// JSON array of `{"field": id, "op": "contains|equals|greater|less|empty|not_empty", "value": "…"}`.
    pub filters: Option<String>,
    /// The previous page's `next`: the page starts after its last record (its cost does not grow
    /// with the depth); `page` then only numbers it. Valid for the same `sort` and `desc`.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FilterIn {
    field: i64,
    op: FilterOp,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    pub records: Vec<Record>,
    /// Matching records, counted up to 10 000 (1 000 with filters or a search).
    pub total: i64,
    /// True when there are more than `total`.
    pub total_capped: bool,
    pub page: i64,
    pub per_page: i64,
    /// Pass as `after` for the next page (with the same sort); absent on a page that is not full.
    pub next: Option<String>,
}

/// A keyset cursor as the API passes it: the sort it belongs to and the row a page starts after,
/// as URL-safe base64 of JSON (opaque to clients).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Cursor {
    s: Option<i64>,
    d: bool,
    k: Option<String>,
    i: i64,
}

/// The cursor of the row `after` for a list sorted by `sort` (`desc`).
pub fn cursor_out(sort: Option<FieldId>, desc: bool, after: &After) -> String {
    use base64::Engine as _;
    let c = Cursor { s: sort.map(|f| f.0), d: desc, k: after.k.clone(), i: after.id.0 };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&c).expect("a cursor serialises"))
}

/// Reads a cursor made by [`cursor_out`] for the same sort (422 `invalid_cursor` otherwise).
pub fn cursor_in(raw: &str, sort: Option<FieldId>, desc: bool) -> CrmResult<After> {
    use base64::Engine as _;
    let c: Cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| CrmError::invalid("invalid_cursor", "after: pass a page's `next` as it is"))?;
    if c.s != sort.map(|f| f.0) || c.d != desc {
        return Err(CrmError::invalid("invalid_cursor", "after: this cursor belongs to another sort order"));
    }
    if let Some(k) = &c.k {
        callbase_core::check_text("after", k)?;
    }
    Ok(After { k: c.k, id: RecordId(c.i) })
}

/// Checks a list's parameters against the table's `fields` for a viewer with `masking` and turns
/// them into the list query (no IO).
pub fn parse(
    fields: &[FieldRow],
    masking: Option<Masking>,
    rules: &callbase_core::dial::DialRules,
    table: TableId,
    p: &ListParams,
) -> CrmResult<ListQuery> {
    let per_page = p.per_page.unwrap_or(PER_PAGE).clamp(1, PER_PAGE_MAX);
    let page = p.page.unwrap_or(1).max(1);
    if page > PAGE_MAX {
        return Err(CrmError::invalid("invalid_page", "narrow the list with a filter or search instead"));
    }
    let field = |id: i64| {
        fields.iter().find(|f| f.id == FieldId(id)).ok_or_else(|| {
            CrmError::invalid("unknown_field", format!("field {id} is not a field of this table"))
        })
    };
    if let Some(s) = p.sort {
        let fr = field(s)?;
        // Sorting by a number they cannot see, beside records whose numbers they chose, would let a
        // masked user binary-search it.
        if masking.is_some() && fr.kind() == FieldKind::Phone {
            return Err(CrmError::masked(format!(
                "'{}': numbers are hidden from you, so you cannot sort by them",
                fr.name
            )));
        }
    }
    let mut filters = Vec::new();
    if let Some(raw) = p.filters.as_deref().filter(|s| !s.trim().is_empty()) {
        let list: Vec<FilterIn> = serde_json::from_str(raw)
            .map_err(|e| CrmError::invalid("invalid_filters", format!("filters: {e}")))?;
        if list.len() > FILTERS_MAX {
            return Err(CrmError::invalid("invalid_filters", format!("at most {FILTERS_MAX} filters")));
        }
        for f in list {
            // Inside the JSON of `filters` a NUL arrives escaped (`\u0000`), past the query check.
            callbase_core::check_text("filters", &f.value)?;
            let fr = field(f.field)?;
            let def = fr.def();
            if masking.is_some()
                && def.kind == FieldKind::Phone
                && !matches!(f.op, FilterOp::Empty | FilterOp::NotEmpty)
            {
                return Err(CrmError::masked(format!("'{}': numbers are hidden from you", fr.name)));
            }
            let operand = core_crm::filter_operand(&def, f.op, &f.value, rules)
                .map_err(|e| CrmError::invalid("invalid_filter", format!("{}: {e}", fr.name)))?;
            filters.push(Filter { field: fr.id, kind: def.kind, op: f.op, operand });
        }
    }
    let q = p.q.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    if q.as_ref().is_some_and(|s| s.chars().count() > SEARCH_MAX) {
        return Err(CrmError::invalid(
            "invalid_search",
            format!("search for at most {SEARCH_MAX} characters"),
        ));
    }
    // A masked user searching digits would learn numbers by probing: they search names only.
    if masking.is_some() && q.as_ref().is_some_and(|s| s.chars().filter(char::is_ascii_digit).count() >= 3) {
        return Err(CrmError::masked("numbers are hidden from you: search by name"));
    }
    // Shorter ones (and punctuation) must not match numbers either: their search looks at the
    // values they can see (text, e-mail, select, user names), never at phone values.
    let search_fields = masking.map(|_| SearchFields {
        text: fields
            .iter()
            .filter(|f| {
                matches!(
                    f.kind(),
                    FieldKind::Text | FieldKind::LongText | FieldKind::Email | FieldKind::Select
                )
            })
            .map(FieldRow::key)
            .collect(),
        users: fields.iter().filter(|f| f.kind() == FieldKind::User).map(FieldRow::key).collect(),
    });
    let sort = p.sort.map(FieldId);
    let after = match p.after.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(a) => Some(cursor_in(a, sort, p.desc)?),
        None => None,
    };
    Ok(ListQuery {
        table,
        sort,
        desc: p.desc,
        filters,
        q,
        search_fields,
        hits: None,
        driven: false,
        limit: per_page,
        // With a cursor the page starts there; `page` only numbers it.
        offset: if after.is_some() { 0 } else { (page - 1) * per_page },
        after,
    })
}

/// How far [`page`] counts for this query.
pub fn count_cap(q: &ListQuery) -> i64 {
    if q.filters.is_empty() && q.q.is_none() {
        COUNT_CAP
    } else {
        COUNT_CAP_FILTERED
    }
}

/// Text searches (the quick search, else the first "contains" filter: a record's search text holds
/// every field's text) looked up by words or through the trigram index first, on the lookup pool
/// ([`repo::list::search_ids`]).
pub(crate) async fn with_hits(db: &Db, q: &mut ListQuery, tenant: callbase_core::TenantId) -> CrmResult<()> {
    // The quick search looks up words first; a "contains" filter means inside words.
    let probe = q.q.clone().map(|s| (s, true)).or_else(|| {
        q.filters
            .iter()
            .find(|f| f.op == FilterOp::Contains)
            .and_then(|f| f.operand.clone())
            .map(|s| (s, false))
    });
    if let Some((text, words)) = probe {
        q.hits = repo::list::search_ids(db, tenant, q.table, &text, words).await?;
    }
    Ok(())
}

/// One page of a table's records for `who`.
pub async fn page(db: &Db, who: &Who, table: TableId, p: &ListParams) -> CrmResult<RecordPage> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    table_or_404(&mut tx, who.tenant, table).await?;
    let sh = Shaper::load(&mut tx, &viewer, table).await?;
    let mut q = parse(&sh.fields, viewer.masking, &viewer.rules, table, p)?;
    let cap = count_cap(&q);
    with_hits(db, &mut q, who.tenant).await?;
    let page = repo::list::page_driven(&mut tx, who.tenant, &mut q).await?;
    let total = repo::list::count(&mut tx, who.tenant, &q, cap + 1).await?;
    tx.commit().await?;
    Ok(RecordPage {
        records: page.rows.iter().map(|r| sh.record(r)).collect(),
        total: total.min(cap),
        total_capped: total > cap,
        page: if q.after.is_some() { p.page.unwrap_or(1).max(1) } else { q.offset / q.limit + 1 },
        per_page: q.limit,
        next: page.next.as_ref().map(|a| cursor_out(q.sort, q.desc, a)),
    })
}

/// One page of a table's records newest first, before the record `before` (the public API's
/// cursor: the cost does not grow with the depth); with the id to pass for the next page.
pub async fn page_before(
    db: &Db,
    who: &Who,
    table: TableId,
    p: &ListParams,
    before: Option<RecordId>,
) -> CrmResult<(Vec<Record>, Option<RecordId>)> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    table_or_404(&mut tx, who.tenant, table).await?;
    let sh = Shaper::load(&mut tx, &viewer, table).await?;
    let mut q = parse(&sh.fields, viewer.masking, &viewer.rules, table, p)?;
    q.sort = None;
    q.desc = false;
    q.offset = 0;
    q.after = before.map(|id| After { k: None, id });
    with_hits(db, &mut q, who.tenant).await?;
    let page = repo::list::page_driven(&mut tx, who.tenant, &mut q).await?;
    tx.commit().await?;
    Ok((page.rows.iter().map(|r| sh.record(r)).collect(), page.next.map(|a| a.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_core::crm::MaskMode;
    use callbase_core::dial::DialRules;

    const T: TableId = TableId(1);

    fn fields() -> Vec<FieldRow> {
        [(1, "Name", "text"), (2, "Phone", "phone"), (3, "Manager", "user"), (4, "Born", "date")]
            .into_iter()
            .map(|(id, name, kind)| FieldRow {
                id: FieldId(id),
                table_id: T,
                name: name.into(),
                kind: kind.into(),
                options: vec![],
                is_title: id == 1,
                position: id as i32,
            })
            .collect()
    }

    const MASKED: Option<Masking> = Some(Masking { mode: MaskMode::Prefix, chars: 6 });

    fn parse_as(masking: Option<Masking>, p: ListParams) -> CrmResult<ListQuery> {
        parse(&fields(), masking, &DialRules::default(), T, &p)
    }

    fn code(r: CrmResult<ListQuery>) -> Option<&'static str> {
        r.unwrap_err().code()
    }

    #[test]
    fn pages_are_clamped_and_deep_pages_refused() {
        let q = parse_as(None, ListParams::default()).unwrap();
        assert_eq!((q.limit, q.offset, q.sort, q.q), (PER_PAGE, 0, None, None));
        let q =
            parse_as(None, ListParams { page: Some(3), per_page: Some(1000), ..Default::default() }).unwrap();
        assert_eq!((q.limit, q.offset), (PER_PAGE_MAX, 2 * PER_PAGE_MAX));
        let q =
            parse_as(None, ListParams { page: Some(-5), per_page: Some(0), ..Default::default() }).unwrap();
        assert_eq!((q.limit, q.offset), (1, 0));
        let deep = ListParams { page: Some(PAGE_MAX + 1), ..Default::default() };
        assert_eq!(code(parse_as(None, deep)), Some("invalid_page"));
        let overflow =
            ListParams { page: Some(i64::MAX), per_page: Some(PER_PAGE_MAX), ..Default::default() };
        assert_eq!(code(parse_as(None, overflow)), Some("invalid_page"), "no overflowing OFFSET");
    }

    #[test]
    fn filters_become_sort_keys_of_fields_of_the_table() {
        let p = ListParams {
            sort: Some(4),
            desc: true,
            filters: Some(
                r#"[{"field": 2, "op": "equals", "value": "8 916 123-45-67"}, {"field": 1, "op": "empty"}]"#
                    .into(),
            ),
            q: Some("  Anna ".into()),
            ..Default::default()
        };
        let q = parse_as(None, p).unwrap();
        assert_eq!((q.sort, q.desc), (Some(FieldId(4)), true));
        assert_eq!(q.filters.len(), 2);
        assert_eq!(q.filters[0].operand.as_deref(), Some("+79161234567"), "phones compare in E.164");
        assert_eq!((q.filters[1].op, q.filters[1].operand.as_deref()), (FilterOp::Empty, None));
        assert_eq!(q.q.as_deref(), Some("anna"));
        assert!(q.search_fields.is_none(), "an unmasked search looks at everything");
    }

    #[test]
    fn bad_sorts_filters_and_searches_are_refused_with_their_code() {
        let p = |sort: Option<i64>, filters: &str, q: &str| ListParams {
            sort,
            filters: Some(filters.into()),
            q: Some(q.into()),
            ..Default::default()
        };
        assert_eq!(code(parse_as(None, p(Some(99), "", ""))), Some("unknown_field"));
        assert_eq!(code(parse_as(None, p(None, "not json", ""))), Some("invalid_filters"));
        let eleven = format!("[{}]", [r#"{"field": 1, "op": "empty"}"#; 11].join(","));
        assert_eq!(code(parse_as(None, p(None, &eleven, ""))), Some("invalid_filters"));
        assert_eq!(
            code(parse_as(None, p(None, r#"[{"field": 4, "op": "contains", "value": "x"}]"#, ""))),
            Some("invalid_filter")
        );
        assert_eq!(
            code(parse_as(None, p(None, r#"[{"field": 4, "op": "greater", "value": "soon"}]"#, ""))),
            Some("invalid_filter")
        );
        assert_eq!(
            code(parse_as(None, p(None, r#"[{"field": 1, "op": "equals", "value": "a\u0000"}]"#, ""))),
            Some("control_characters")
        );
        assert_eq!(code(parse_as(None, p(None, "", &"x".repeat(SEARCH_MAX + 1)))), Some("invalid_search"));
        assert!(parse_as(None, p(None, "  ", "   ")).unwrap().q.is_none(), "blank is no search");
    }

    #[test]
    fn masked_viewers_cannot_order_or_narrow_by_a_number() {
        let sort = ListParams { sort: Some(2), ..Default::default() };
        assert_eq!(code(parse_as(MASKED, sort.clone())), Some("masked_numbers"));
        assert!(parse_as(None, sort).is_ok());
        let by_phone = |op: &str| ListParams {
            filters: Some(format!(r#"[{{"field": 2, "op": "{op}", "value": "916"}}]"#)),
            ..Default::default()
        };
        for op in ["contains", "equals", "greater", "less"] {
            assert_eq!(code(parse_as(MASKED, by_phone(op))), Some("masked_numbers"), "{op}");
        }
        assert!(parse_as(MASKED, by_phone("not_empty")).is_ok(), "whether there is a number is no secret");
        let digits = ListParams { q: Some("+7 916".into()), ..Default::default() };
        assert_eq!(code(parse_as(MASKED, digits.clone())), Some("masked_numbers"));
        assert!(parse_as(None, digits).is_ok());
    }

    #[test]
    fn a_masked_viewers_search_looks_only_at_what_they_can_see() {
        let q = parse_as(MASKED, ListParams { q: Some("an".into()), ..Default::default() }).unwrap();
        let sf = q.search_fields.expect("masked search");
        assert_eq!(sf.text, ["1"], "text fields, never the phone");
        assert_eq!(sf.users, ["3"]);
    }

    #[test]
    fn counting_stops_sooner_for_narrowed_lists() {
        let plain = parse_as(None, ListParams::default()).unwrap();
        assert_eq!(count_cap(&plain), COUNT_CAP);
        let searched = parse_as(None, ListParams { q: Some("anna".into()), ..Default::default() }).unwrap();
        assert_eq!(count_cap(&searched), COUNT_CAP_FILTERED);
    }
}
