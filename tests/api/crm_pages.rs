//! CRM list pages by keyset cursor (`after` → `next`): every record once, in order, across empty
//! values and equal keys, both directions, with filters (collected-and-sorted or walked) and the
//! quick search; cursors of another sort refused. Against the real server and PostgreSQL.

use callbase_tests::{Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::crm::{add, clients};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Follows `next` from the first page of `query` to the last; the records in the order received.
async fn walk_records(b: &Browser, table: i64, query: &str, per_page: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for page in 1.. {
        let cursor = after.as_deref().map(|a| format!("&after={}", enc(a))).unwrap_or_default();
        let r = b
            .get(&format!("/api/crm/tables/{table}/records?{query}&per_page={per_page}&page={page}{cursor}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query} page {page}: {}", r.text);
        assert_eq!(r.body["page"], page, "the page number is echoed");
        let records = r.body["records"].as_array().unwrap();
        out.extend(records.iter().cloned());
        match r.body["next"].as_str() {
            Some(n) => {
                assert_eq!(records.len(), per_page, "{query}: only a full page has a next");
                after = Some(n.to_string());
            }
            None => break,
        }
        assert!(page < 500, "{query}: the pages end");
    }
    out
}

/// [`walk_records`]: their ids.
async fn walk(b: &Browser, table: i64, query: &str, per_page: usize) -> Vec<i64> {
    walk_records(b, table, query, per_page).await.iter().map(|x| x["id"].as_i64().unwrap()).collect()
}

/// [`walk_records`]: their values of the field `note`.
async fn walk_notes(b: &Browser, table: i64, note: &str, query: &str, per_page: usize) -> Vec<String> {
    walk_records(b, table, query, per_page)
        .await
        .iter()
        .map(|x| x["values"][note].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A client made by the test: id, its note's sort key (lower-cased), whether it is "lost".
type Row = (i64, Option<String>, bool);

#[tokio::test]
async fn keyset_pages_list_every_record_once_in_order_whatever_the_sort_filter_or_search() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;
    // 90 clients: every fifth has no note (empty values sort last, or first descending), notes
    // repeat (ties go by id); "lost" ones are a sparse filter whose matches all sort late.
    let mut rows: Vec<Row> = Vec::new();
    for i in 0..90 {
        let note = (i % 5 != 0).then(|| format!("N{:02}", (i * 7) % 23));
        let lost = i % 10 == 0 || i % 10 == 3;
        let mut v =
            json!({f("Name"): format!("Client {i}"), f("Status"): if lost { "lost" } else { "client" }});
        if let Some(n) = &note {
            v[f("Note")] = json!(n);
        }
        let rec = add(&b, t, v).await;
        rows.push((rec["id"].as_i64().unwrap(), note.map(|n| n.to_lowercase()), lost));
    }
    // Ascending: keyed rows by (key, id), then the empty ones by id; descending is its reverse.
    let order = |keep: &dyn Fn(&Row) -> bool| {
        let mut v: Vec<_> = rows.iter().filter(|r| keep(r)).cloned().collect();
        v.sort_by(|a, b| (a.1.is_none(), &a.1, a.0).cmp(&(b.1.is_none(), &b.1, b.0)));
        v.into_iter().map(|r| r.0).collect::<Vec<i64>>()
    };
    let rev = |mut v: Vec<i64>| {
        v.reverse();
        v
    };
    let note = f("Note");
    let all = order(&|_| true);
    assert_eq!(walk(&b, t, &format!("sort={note}"), 7).await, all, "ascending, walked");
    assert_eq!(
        walk(&b, t, &format!("sort={note}&desc=true"), 7).await,
        rev(all.clone()),
        "descending, walked"
    );

    // A filter with few matches: they are collected and sorted (the same pages).
    let lost = order(&|r| r.2);
    let status: i64 = f("Status").parse().unwrap();
    let filters = enc(&json!([{"field": status, "op": "equals", "value": "lost"}]).to_string());
    assert_eq!(walk(&b, t, &format!("sort={note}&filters={filters}"), 4).await, lost, "filtered");
    assert_eq!(walk(&b, t, &format!("sort={note}&desc=true&filters={filters}"), 4).await, rev(lost.clone()));
    let r = b.get(&format!("/api/crm/tables/{t}/records?sort={note}&filters={filters}")).await;
    assert_eq!(r.body["total"], lost.len(), "{}", r.text);
    // A "contains" filter is walked (and probed per row), not collected.
    let name: i64 = f("Name").parse().unwrap();
    let has_1 = enc(&json!([{"field": name, "op": "contains", "value": "1"}]).to_string());
    let with_1 =
        order(&|r| rows.iter().position(|x| x.0 == r.0).is_some_and(|i| i.to_string().contains('1')));
    assert_eq!(walk(&b, t, &format!("sort={note}&filters={has_1}"), 3).await, with_1, "contains");

    // Newest first (no sort) and oldest first.
    let mut newest: Vec<i64> = rows.iter().map(|r| r.0).collect();
    newest.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(walk(&b, t, "", 8).await, newest, "newest first");
    assert_eq!(walk(&b, t, "desc=true", 8).await, rev(newest.clone()), "oldest first");
    // The quick search: "client 1" is Client 1, 10–19.
    let found = order(&|r| {
        let i = rows.iter().position(|x| x.0 == r.0).unwrap();
        i == 1 || (10..20).contains(&i)
    });
    assert_eq!(walk(&b, t, &format!("sort={note}&q=client%201"), 4).await, found, "searched");

    // Offset pages still work and agree.
    let r = b.get(&format!("/api/crm/tables/{t}/records?sort={note}&per_page=7&page=3")).await;
    let ids: Vec<i64> =
        r.body["records"].as_array().unwrap().iter().map(|x| x["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, all[14..21]);

    // A cursor belongs to its sort; anything else is refused with a reason.
    let first = b.get(&format!("/api/crm/tables/{t}/records?sort={note}&per_page=5")).await;
    let next = first.body["next"].as_str().expect("a full page has a next").to_string();
    for q in
        [format!("sort={name}&after={}", enc(&next)), format!("sort={note}&desc=true&after={}", enc(&next))]
    {
        let r = b.get(&format!("/api/crm/tables/{t}/records?{q}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_cursor", "{}", r.text);
    }
    let r = b.get(&format!("/api/crm/tables/{t}/records?after=not-a-cursor")).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, Value::from("invalid_cursor"))
    );
    // Another tenant's list with this tenant's cursor: refused (it names our field), nothing of ours.
    let (other, _) = app.new_tenant().await;
    let (t2, f2) = clients(&other).await;
    let r =
        other.get(&format!("/api/crm/tables/{t2}/records?sort={}&after={}", f2("Note"), enc(&next))).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, Value::from("invalid_cursor"))
    );
    // Without the sort, a cursor is only a record id: their list starts below it and holds none of ours.
    let newest_first = b.get(&format!("/api/crm/tables/{t}/records?per_page=5")).await;
    let cursor = newest_first.body["next"].as_str().unwrap().to_string();
    let r = other.get(&format!("/api/crm/tables/{t2}/records?after={}", enc(&cursor))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["records"], json!([]), "{}", r.text);
}

#[tokio::test]
async fn a_filter_whose_many_matches_all_sort_last_pages_whole_past_a_walk_that_finds_none() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;
    // 6 000 "lost" clients (more than collected at once) imported first (the oldest) with notes
    // that sort last, then 11 000 others (more than a page walks before it looks for a driver):
    // a walk of either order (by note, or newest first) meets none of them for its first 10 000 rows.
    let (lost, others) = (6_000, 11_000);
    let mut csv = String::from("Name;Status;Note\n");
    for i in 0..lost {
        csv.push_str(&format!("Lost {i};lost;z{i:05}\n"));
    }
    for i in 0..others {
        csv.push_str(&format!("Client {i};client;a{i:05}\n"));
    }
    let r = crate::crm::upload(&b, t, csv.into_bytes(), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let ids = |n: &str| f(n).parse::<i64>().unwrap();
    let mapping = json!([ids("Name"), ids("Status"), ids("Note")]);
    let run = b.post(&format!("/api/crm/imports/{id}/run"), json!({"mapping": mapping})).await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{}", run.text);
    let s = crate::crm::wait_import(&b, &id).await;
    assert_eq!(s["inserted"], lost + others, "{s}");
    // What autovacuum does within a minute of a bulk load: without statistics of the new rows the
    // planner's guesses for this tenant's lists are anyone's (a walk took 15 s here once).
    let owner = sqlx::PgPool::connect(&callbase_tests::env("CALLBASE__DATABASE__ADMIN_URL")).await.unwrap();
    sqlx::query("ANALYZE crm_records, crm_values").execute(&owner).await.unwrap();

    let note = f("Note");
    let filters = enc(&json!([{"field": ids("Status"), "op": "equals", "value": "lost"}]).to_string());
    let by_note = walk_notes(&b, t, &note, &format!("sort={note}&filters={filters}"), 200).await;
    let want: Vec<String> = (0..lost).map(|i| format!("z{i:05}")).collect();
    assert_eq!(by_note.len(), lost, "every lost client once");
    assert_eq!(by_note, want, "in note order");
    let newest = walk_notes(&b, t, &note, &format!("filters={filters}"), 200).await;
    assert_eq!(newest, want.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    let r = b.get(&format!("/api/crm/tables/{t}/records?sort={note}&filters={filters}")).await;
    assert_eq!(
        (r.body["total"].clone(), r.body["total_capped"].clone()),
        (json!(1000), json!(true)),
        "{}",
        r.text
    );
    // The dense filter is walked: the same pages as without the cursor machinery's shortcuts.
    let clients_f = enc(&json!([{"field": ids("Status"), "op": "equals", "value": "client"}]).to_string());
    let first = walk_notes(&b, t, &note, &format!("sort={note}&desc=true&filters={clients_f}"), 200).await;
    assert_eq!(first.len(), others);
    assert_eq!(first[0], format!("a{:05}", others - 1));
}

/// Issue #23: the quick search looks up typed words first — each a word of the record, the last one
/// perhaps the start of one, digits perhaps the inside of a number — and the text as typed; only
/// when no record has them does it look inside words. Another tenant's records never match.
#[tokio::test]
async fn the_quick_search_finds_words_and_digits_inside_numbers_and_inside_words_only_when_nothing_else() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;
    for (name, phone) in [
        ("Viktor Petrov", "+7 916 123-45-67"),
        ("Anna Viktorova", "+7 495 765-43-21"),
        ("Sviktorov Ivan", "+7 812 000-11-22"),
        ("Boris Ktorin", "+7 383 555-00-99"),
    ] {
        add(&b, t, json!({f("Name"): name, f("Phone"): phone})).await;
    }
    let (other, _) = app.new_tenant().await;
    let (ot, of) = clients(&other).await;
    add(&other, ot, json!({of("Name"): "Viktor Petrov", of("Phone"): "+7 916 123-45-67"})).await;

    let found = |q: &'static str| {
        let (b, f) = (&b, &f);
        async move {
            let r = b.get(&format!("/api/crm/tables/{t}/records?q={}", enc(q))).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            let mut names: Vec<String> = r.body["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["values"][f("Name")].as_str().unwrap().to_string())
                .collect();
            names.sort();
            assert_eq!(r.body["total"], names.len(), "{q}: the count is the list's");
            names
        }
    };
    // A word, or the start of one: not the record that has it inside a word.
    assert_eq!(found("viktor").await, ["Anna Viktorova", "Viktor Petrov"]);
    assert_eq!(found("Viktor Pet").await, ["Viktor Petrov"]);
    // The text as typed: the words in another order are not the name.
    assert_eq!(found("petrov viktor").await, Vec::<String>::new());
    // Digits from the middle of a number, as the number is stored (E.164) or as it was typed.
    assert_eq!(found("9161234").await, ["Viktor Petrov"]);
    assert_eq!(found("234567").await, ["Viktor Petrov"]);
    assert_eq!(found("765-43").await, ["Anna Viktorova"]);
    // No word starts so: inside words, as before.
    assert_eq!(found("ktorov").await, ["Anna Viktorova", "Sviktorov Ivan"]);
    // Short words are left to the text as typed.
    assert_eq!(found("an").await, ["Anna Viktorova", "Sviktorov Ivan"]);
}
