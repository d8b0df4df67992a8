//! CRM tables, fields, records, filters, import/export, caller matching and number masking,
//! against the real server and PostgreSQL.

use std::time::Duration;

use callbase_tests::{worker_pool, Browser, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::users::{create_user, group_id};

/// The "Clients" table and its field ids by name.
pub(crate) async fn clients(b: &Browser) -> (i64, impl Fn(&str) -> String) {
    let r = b.get("/api/crm/tables").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Clients")
        .expect("a new tenant has Clients")
        .clone();
    let fields: Vec<(String, i64)> = t["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["id"].as_i64().unwrap()))
        .collect();
    let f = move |name: &str| {
        fields.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("field {name}")).1.to_string()
    };
    (t["id"].as_i64().unwrap(), f)
}

pub(crate) async fn add(b: &Browser, table: i64, values: Value) -> Value {
    let r = b.post(&format!("/api/crm/tables/{table}/records"), json!({"values": values})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_new_tenant_has_clients_and_records_keep_typed_normalised_values() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;
    let tables = b.get("/api/crm/tables").await.body;
    let kinds: Vec<(&str, &str)> = tables[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].as_str().unwrap(), x["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Name", "text"),
            ("Phone", "phone"),
            ("Phone 2", "phone"),
            ("E-mail", "email"),
            ("Status", "select"),
            ("Manager", "user"),
            ("Note", "long_text")
        ]
    );
    assert_eq!(tables[0]["call_table"], true);

    let me = b.get("/api/auth/me").await.body["user"]["id"].as_i64().unwrap();
    let r = add(
        &b,
        t,
        json!({f("Name"): "Anna Petrova", f("Phone"): "8 (916) 123-45-67", f("Phone 2"): "call the reception",
        f("E-mail"): "anna@example.com", f("Status"): "Client", f("Manager"): me}),
    )
    .await;
    assert_eq!(r["values"][f("Phone")], "8 (916) 123-45-67", "the text as typed is kept");
    assert_eq!(r["phones"][f("Phone")]["e164"], "+79161234567");
    assert_eq!(r["phones"][f("Phone 2")]["valid"], false, "not normalisable: kept and flagged");
    assert_eq!(r["values"][f("Status")], "client", "the select's own spelling");
    assert_eq!(r["title"], "Anna Petrova");
    let stored: String = sqlx::query_scalar("SELECT e164 FROM crm_phones WHERE record_id = $1")
        .bind(r["id"].as_i64().unwrap())
        .fetch_one(&worker_pool().await)
        .await
        .unwrap();
    assert_eq!(stored, "+79161234567");

    // Wrong types: 422 naming the field, nothing written.
    for (values, needle) in [
        (json!({f("Status"): "vip"}), "Status"),
        (json!({f("E-mail"): "not-an-address"}), "E-mail"),
        (json!({f("Manager"): 999_999_999}), "Manager"),
        (json!({"123456789": "x"}), "123456789"),
        (json!({f("Name"): ["a"]}), "Name"),
    ] {
        let r = b.post(&format!("/api/crm/tables/{t}/records"), json!({"values": values})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{values}: {}", r.text);
        assert!(r.body["message"].as_str().unwrap().contains(needle), "{}", r.text);
    }
    let page = b.get(&format!("/api/crm/tables/{t}/records")).await.body;
    assert_eq!(page["total"], 1);

    // Edit, clear, delete.
    let id = r["id"].as_i64().unwrap();
    let e = b
        .patch(&format!("/api/crm/records/{id}"), json!({"values": {f("Status"): "lost", f("E-mail"): null}}))
        .await;
    assert_eq!(e.status, StatusCode::OK, "{}", e.text);
    assert_eq!(e.body["values"][f("Status")], "lost");
    assert!(e.body["values"].get(f("E-mail")).is_none());
    assert_eq!(e.body["values"][f("Name")], "Anna Petrova", "other fields keep their values");
    assert_eq!(b.delete(&format!("/api/crm/records/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.get(&format!("/api/crm/records/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_add_tables_and_typed_fields_and_agents_cannot() {
    let app = TestApp::spawn().await;
    let (b, t) = app.new_tenant().await;
    let r = b.post("/api/crm/tables", json!({"name": "Deals"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let deals = r.body["id"].as_i64().unwrap();
    assert_eq!(b.post("/api/crm/tables", json!({"name": "Deals"})).await.status, StatusCode::CONFLICT);
    let bad =
        b.post(&format!("/api/crm/tables/{deals}/fields"), json!({"name": "Size", "kind": "bignum"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["code"], "unknown_field_type");
    assert!(bad.body["message"].as_str().unwrap().contains("Size"), "{}", bad.text);
    let no_opts =
        b.post(&format!("/api/crm/tables/{deals}/fields"), json!({"name": "Stage", "kind": "select"})).await;
    assert_eq!(no_opts.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (name, kind) in [("Amount", "number"), ("Close date", "date"), ("Contact phone", "phone")] {
        let r = b.post(&format!("/api/crm/tables/{deals}/fields"), json!({"name": name, "kind": kind})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let stage = b
        .post(
            &format!("/api/crm/tables/{deals}/fields"),
            json!({"name": "Stage", "kind": "select", "options": ["lead", "won"]}),
        )
        .await;
    assert_eq!(stage.status, StatusCode::CREATED);
    let fields =
        b.get("/api/crm/tables").await.body.as_array().unwrap().iter().find(|x| x["id"] == deals).unwrap()
            ["fields"]
            .clone();
    let id = |n: &str| {
        fields.as_array().unwrap().iter().find(|f| f["name"] == n).unwrap()["id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let r = add(&b, deals, json!({id("Name"): "Big deal", id("Amount"): "1 500,50", id("Close date"): "05.03.2027", id("Stage"): "won"})).await;
    assert_eq!(r["values"][id("Amount")], 1500.5);
    assert_eq!(r["values"][id("Close date")], "2027-03-05");
    // A field added later: the existing record sorts and filters with it empty.
    let prio = b
        .post(&format!("/api/crm/tables/{deals}/fields"), json!({"name": "Priority", "kind": "number"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let empty = b
        .get(&format!(
            "/api/crm/tables/{deals}/records?sort={prio}&filters={}",
            enc(&json!([{"field": prio, "op": "empty"}]).to_string())
        ))
        .await;
    assert_eq!(empty.body["total"], 1, "{}", empty.text);
    assert_eq!(empty.body["records"].as_array().unwrap().len(), 1);
    // Deleting a field removes its values.
    assert_eq!(
        b.delete(&format!("/api/crm/tables/{deals}/fields/{}", id("Stage"))).await.status,
        StatusCode::NO_CONTENT
    );
    let rec = b.get(&format!("/api/crm/records/{}", r["id"])).await.body;
    assert!(rec["values"].get(id("Stage")).is_none());
    assert_eq!(
        b.delete(&format!("/api/crm/tables/{deals}/fields/{}", id("Name"))).await.status,
        StatusCode::CONFLICT,
        "the title stays"
    );

    // An agent works with records but does not shape tables.
    let agent_group = group_id(&b, "Agent").await;
    create_user(&b, "ivan", &[agent_group]).await;
    let agent = app.browser();
    assert_eq!(agent.login(&t.account, "ivan", "Agent-pass-12345").await.status, StatusCode::OK);
    assert_eq!(agent.post("/api/crm/tables", json!({"name": "Mine"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        agent
            .post(&format!("/api/crm/tables/{deals}/fields"), json!({"name": "X", "kind": "text"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(agent.delete(&format!("/api/crm/tables/{deals}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        agent
            .post(&format!("/api/crm/tables/{deals}/records"), json!({"values": {id("Name"): "Agent's"}}))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn lists_sort_by_any_column_filter_search_and_page() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;
    let names = ["Boris", "anna", "Clara", "Dmitry", "Elena"];
    let statuses = ["new", "client", "client", "lost", "in progress"];
    for (i, n) in names.iter().enumerate() {
        add(&b, t, json!({f("Name"): n, f("Phone"): format!("+7 916 000-00-0{i}"), f("Status"): statuses[i], f("Note"): format!("=cmd|{i}")})).await;
    }
    let list = |q: String| {
        let b = &b;
        async move {
            let r = b.get(&format!("/api/crm/tables/{t}/records?{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            let titles: Vec<String> = r.body["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["title"].as_str().unwrap().to_string())
                .collect();
            (titles, r.body["total"].as_i64().unwrap())
        }
    };
    let name = f("Name");
    assert_eq!(
        list(format!("sort={name}")).await.0,
        ["anna", "Boris", "Clara", "Dmitry", "Elena"],
        "case-insensitive"
    );
    assert_eq!(list(format!("sort={name}&desc=true")).await.0, ["Elena", "Dmitry", "Clara", "Boris", "anna"]);
    assert_eq!(
        list(format!("sort={}", f("Status"))).await.0,
        ["Boris", "Elena", "anna", "Clara", "Dmitry"],
        "option order"
    );
    assert_eq!(list(String::new()).await.0[0], "Elena", "newest first by default");
    let filt = |v: Value| enc(&v.to_string());
    let (r, total) = list(format!(
        "sort={name}&filters={}",
        filt(json!([{"field": f("Status").parse::<i64>().unwrap(), "op": "equals", "value": "client"}]))
    ))
    .await;
    assert_eq!((r, total), (vec!["anna".to_string(), "Clara".to_string()], 2));
    let (r, _) = list(format!(
        "filters={}",
        filt(json!([{"field": name.parse::<i64>().unwrap(), "op": "contains", "value": "LEN"}]))
    ))
    .await;
    assert_eq!(r, ["Elena"]);
    let (r, _) = list(format!(
        "sort={name}&filters={}",
        filt(json!([{"field": name.parse::<i64>().unwrap(), "op": "greater", "value": "c"}]))
    ))
    .await;
    assert_eq!(r, ["Clara", "Dmitry", "Elena"]);
    let (r, _) = list(format!(
        "filters={}",
        filt(json!([{"field": f("Phone").parse::<i64>().unwrap(), "op": "contains", "value": "0000003"}]))
    ))
    .await;
    assert_eq!(r, ["Dmitry"], "phone digits match the normalised number");
    let (r, _) = list(format!(
        "filters={}",
        filt(
            json!([{"field": f("Phone").parse::<i64>().unwrap(), "op": "equals", "value": "8 916 000 00 01"}])
        )
    ))
    .await;
    assert_eq!(r, ["anna"], "equals compares E.164");
    assert_eq!(list("q=clar".into()).await.0, ["Clara"]);
    assert_eq!(list("q=79160000004".into()).await.0, ["Elena"], "quick search finds numbers");
    let (p2, total) = list(format!("sort={name}&per_page=2&page=2")).await;
    assert_eq!((p2, total), (vec!["Clara".to_string(), "Dmitry".to_string()], 5));
    // Bad filters are refused with a reason.
    let bad = b
        .get(&format!(
            "/api/crm/tables/{t}/records?filters={}",
            filt(json!([{"field": f("Status").parse::<i64>().unwrap(), "op": "contains", "value": "x"}]))
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(
        b.get(&format!("/api/crm/tables/{t}/records?filters=nope")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        b.get(&format!("/api/crm/tables/{t}/records?sort=1")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Export: the filtered view, formulas neutralised.
    let csv = b
        .get(&format!(
            "/api/crm/tables/{t}/export.csv?sort={name}&filters={}",
            filt(json!([{"field": f("Status").parse::<i64>().unwrap(), "op": "equals", "value": "client"}]))
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(lines[0].starts_with("Name,Phone,Phone 2,E-mail,Status,Manager,Note"));
    assert!(lines[1].starts_with("anna,+79160000001,"), "numbers in E.164: {}", lines[1]);
    assert!(lines[1].contains("'=cmd|1"), "formula neutralised: {}", lines[1]);
}

fn import_csv(rows: usize, bad_every: Option<usize>) -> String {
    let mut s = String::from("Full name;Phone;Status;Ignored\n");
    for i in 0..rows {
        let status = if bad_every.is_some_and(|n| i % n == n - 1) { "vip" } else { "new" };
        s.push_str(&format!(
            "Client {i};8 916 {:03} {:02} {:02};{status};x\n",
            i / 10000,
            (i / 100) % 100,
            i % 100
        ));
    }
    s
}

pub(crate) async fn upload(b: &Browser, t: i64, body: Vec<u8>, q: &str) -> callbase_tests::Resp {
    let csrf = b.csrf().await;
    b.send(
        b.request(Method::POST, &format!("/api/crm/tables/{t}/imports{q}"))
            .header("x-csrf-token", csrf)
            .header("content-type", "text/csv")
            .body(body),
    )
    .await
}

pub(crate) async fn wait_import(b: &Browser, id: &str) -> Value {
    let start = tokio::time::Instant::now();
    loop {
        let s = b.get(&format!("/api/crm/imports/{id}")).await.body;
        if s["state"] == "done" || s["state"] == "failed" {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "import finished: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_50_000_row_import_maps_columns_and_lands_whole_and_bad_rows_are_listed_not_dropped() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;

    // Bad input first: nothing written.
    let r = upload(&b, t, b"\xc8\xec\xff;\xcf\xee\xeb\n".to_vec(), "").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_utf8")),
        "{}",
        r.text
    );
    let r = upload(&b, t, b"Name;Phone\nAnna;123\n".to_vec(), "?delimiter=,").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_delimiter")),
        "{}",
        r.text
    );
    assert!(r.text.contains("';'"), "{}", r.text);

    // A file with bad rows: the run stops, lists them, writes nothing.
    let r = upload(&b, t, import_csv(1000, Some(250)).into_bytes(), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["columns"], json!(["Full name", "Phone", "Status", "Ignored"]));
    assert_eq!(r.body["rows"], 1000);
    assert_eq!(
        r.body["suggested"],
        json!([null, f("Phone").parse::<i64>().unwrap(), f("Status").parse::<i64>().unwrap(), null])
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    let mapping = json!([
        f("Name").parse::<i64>().unwrap(),
        f("Phone").parse::<i64>().unwrap(),
        f("Status").parse::<i64>().unwrap(),
        null
    ]);
    let run = b.post(&format!("/api/crm/imports/{id}/run"), json!({"mapping": mapping})).await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{}", run.text);
    let s = wait_import(&b, &id).await;
    assert_eq!(s["state"], "failed", "{s}");
    assert_eq!(s["skipped"], 4);
    let errors = s["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 4);
    assert_eq!(errors[0]["line"], 251, "line numbers count the header");
    assert_eq!(errors[0]["field"], "Status");
    assert_eq!(b.get(&format!("/api/crm/tables/{t}/records")).await.body["total"], 0, "nothing written");
    // Asked to skip them: the 996 good rows land, the 4 stay listed.
    let run = b
        .post(&format!("/api/crm/imports/{id}/run"), json!({"mapping": mapping, "skip_invalid": true}))
        .await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{}", run.text);
    let s = wait_import(&b, &id).await;
    assert_eq!(
        (s["state"].as_str(), s["inserted"].as_i64(), s["skipped"].as_i64()),
        (Some("done"), Some(996), Some(4)),
        "{s}"
    );
    assert_eq!(s["errors"].as_array().unwrap().len(), 4);
    assert_eq!(
        b.post(&format!("/api/crm/imports/{id}/run"), json!({"mapping": mapping})).await.status,
        StatusCode::CONFLICT,
        "once"
    );

    // 50 000 rows.
    let started = std::time::Instant::now();
    let r = upload(&b, t, import_csv(50_000, None).into_bytes(), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let run = b.post(&format!("/api/crm/imports/{id}/run"), json!({"mapping": mapping})).await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{}", run.text);
    let s = wait_import(&b, &id).await;
    println!("50 000-row import: {:?}", started.elapsed());
    assert_eq!(
        (s["state"].as_str(), s["inserted"].as_i64(), s["done_rows"].as_i64()),
        (Some("done"), Some(50_000), Some(50_000)),
        "{s}"
    );
    let page = b.get(&format!("/api/crm/tables/{t}/records?q={}", enc("client 49999"))).await.body;
    assert_eq!(page["records"][0]["phones"][f("Phone")]["e164"], "+79160049999", "{page}");
    let pool = worker_pool().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_records WHERE table_id = $1")
        .bind(t)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 50_996);
    let phones: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_phones WHERE table_id = $1")
        .bind(t)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(phones, 50_996, "every imported phone normalised and indexed");
}

#[tokio::test]
async fn callers_are_matched_exactly_then_by_similar_number_when_the_tenant_wants() {
    let app = TestApp::spawn().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&b).await;
    add(&b, t, json!({f("Name"): "Anna", f("Phone"): "+7 916 123-45-67", f("Status"): "client"})).await;
    add(&b, t, json!({f("Name"): "Anna's office", f("Phone 2"): "8 916 123 45 67"})).await;
    add(&b, t, json!({f("Name"): "Boris", f("Phone"): "+7 916 765-43-21"})).await;

    let l = b.get("/api/crm/lookup?number=89161234567").await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.text);
    let titles: Vec<&str> =
        l.body["matches"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Anna", "Anna's office"], "several matches → a list");
    let card: Vec<&str> = l.body["matches"][0]["card"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(card, ["Phone", "Name", "Status", "E-mail", "Manager"], "the default card");
    assert_eq!(
        b.get("/api/crm/lookup?number=89161234500").await.body["matches"].as_array().unwrap().len(),
        0,
        "similar matching is off by default"
    );
    let s = b.get("/api/crm/settings").await.body;
    let mut s2 = s.clone();
    s2["similar_match_digits"] = json!(2);
    assert_eq!(b.put("/api/crm/settings", s2).await.status, StatusCode::OK);
    let l = b.get("/api/crm/lookup?number=89161234500").await.body;
    assert_eq!(l["similar"], true);
    assert_eq!(l["matches"].as_array().unwrap().len(), 2, "{l}");
    // A table that is not a call table is not searched.
    assert_eq!(
        b.patch(&format!("/api/crm/tables/{t}"), json!({"call_table": false})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.get("/api/crm/lookup?number=89161234567").await.body["matches"].as_array().unwrap().len(),
        0
    );
}

/// Every place a number could leak, asked by a member of a masked group.
#[tokio::test]
async fn no_endpoint_returns_the_raw_number_to_a_masked_user() {
    let app = TestApp::spawn().await;
    let (admin, tn) = app.telephony_tenant().await;
    let (t, f) = clients(&admin).await;
    let rec = add(
        &admin,
        t,
        json!({f("Name"): "Secret client", f("Phone"): "8 (916) 123-45-67", f("Phone 2"): "+1 650 555 0100"}),
    )
    .await;
    let rid = rec["id"].as_i64().unwrap();
    // An agent who is a telephony user, in a masked group.
    let masked_group =
        admin.post("/api/groups", json!({"name": "Outsourced"})).await.body["id"].as_i64().unwrap();
    let agent_group = group_id(&admin, "Agent").await;
    let u = create_user(&admin, "olga", &[agent_group, masked_group]).await;
    let uid = u["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": uid})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_group_ids"] = json!([masked_group]);
    s["mask_mode"] = json!("prefix");
    s["mask_chars"] = json!(8);
    let r = admin.put("/api/crm/settings", s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A call of hers with that number (as the Stasis worker writes it), recording stored.
    let call = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, user_id, number, started_at, answered_at, ended_at, result, recording_state, recording_key, recording_bytes) \
         VALUES ($1, $2, 'inbound', $3, '+79161234567', now() - interval '1 minute', now() - interval '50 seconds', now(), 'answered', 'stored', 'recordings/x/y.mp3', 10)",
    )
    .bind(call)
    .bind(tn.id)
    .bind(uid)
    .execute(&worker_pool().await)
    .await
    .unwrap();

    let olga = app.browser();
    assert_eq!(olga.login(&tn.account, "olga", "Agent-pass-12345").await.status, StatusCode::OK);
    let leaks = ["9161234567", "916) 123", "916 123", "123-45-67", "6505550100", "650 555"];
    let mut checked = 0;
    for (what, r, want) in [
        ("records", olga.get(&format!("/api/crm/tables/{t}/records")).await, StatusCode::OK),
        ("record", olga.get(&format!("/api/crm/records/{rid}")).await, StatusCode::OK),
        ("export", olga.get(&format!("/api/crm/tables/{t}/export.csv")).await, StatusCode::OK),
        ("lookup", olga.get("/api/crm/lookup?number=89161234567").await, StatusCode::FORBIDDEN),
        (
            "digit search",
            olga.get(&format!("/api/crm/tables/{t}/records?q=916")).await,
            StatusCode::FORBIDDEN,
        ),
        ("calls", olga.get("/api/calls").await, StatusCode::OK),
        ("call", olga.get(&format!("/api/calls/{call}")).await, StatusCode::OK),
        ("calls export", olga.get("/api/calls/export.csv").await, StatusCode::OK),
        ("calls by number", olga.get("/api/calls?number=916").await, StatusCode::FORBIDDEN),
        ("card", olga.get(&format!("/api/calls/{call}/card")).await, StatusCode::OK),
    ] {
        assert_eq!(r.status, want, "{what}: {}", r.text);
        for l in leaks {
            assert!(!r.text.contains(l), "{what} leaks {l}: {}", r.text);
        }
        checked += 1;
    }
    assert_eq!(checked, 10);
    // What she sees instead.
    let recs = olga.get(&format!("/api/crm/tables/{t}/records")).await.body;
    assert_eq!(recs["records"][0]["values"][f("Phone")], "********4567");
    let card = olga.get(&format!("/api/calls/{call}/card")).await.body;
    assert_eq!(card["matches"][0]["title"], "Secret client", "the card still finds the client");
    assert_eq!(card["number"], "********4567");
    let c = olga.get(&format!("/api/calls/{call}")).await.body;
    assert!(c["recording"]["file_name"].as_str().unwrap().contains("********4567"), "{c}");
    // She cannot overwrite a number she cannot see; she can create a client from the call.
    let p = olga.patch(&format!("/api/crm/records/{rid}"), json!({"values": {f("Phone"): "1"}})).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let created = olga
        .post(
            &format!("/api/calls/{call}/client"),
            json!({"table_id": t, "values": {f("Name"): "From the call"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert!(!created.text.contains("9161234567"), "{}", created.text);
    let stored: String = sqlx::query_scalar("SELECT e164 FROM crm_phones WHERE record_id = $1")
        .bind(created.body["id"].as_i64().unwrap())
        .fetch_one(&worker_pool().await)
        .await
        .unwrap();
    assert_eq!(stored, "+79161234567", "the server filled the real number in");
    // Hidden mode: nothing of the number.
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_mode"] = json!("hidden");
    admin.put("/api/crm/settings", s).await;
    let r = olga.get(&format!("/api/crm/records/{rid}")).await.body;
    assert_eq!(r["values"][f("Phone")], "");
    assert_eq!(r["phones"][f("Phone")]["valid"], true, "the handset still shows");
    // The admin (not masked) sees the number.
    assert!(admin.get(&format!("/api/crm/records/{rid}")).await.text.contains("8 (916) 123-45-67"));
}

#[tokio::test]
async fn another_tenants_tables_records_and_imports_are_not_found() {
    let app = TestApp::spawn().await;
    let (a, _) = app.new_tenant().await;
    let (b, _) = app.new_tenant().await;
    let (t, f) = clients(&a).await;
    let rec = add(&a, t, json!({f("Name"): "A's client", f("Phone"): "+79161112233"})).await;
    let rid = rec["id"].as_i64().unwrap();
    let imp = upload(&a, t, b"Name\nX\n".to_vec(), "").await.body["id"].as_str().unwrap().to_string();
    for (what, r) in [
        ("records", b.get(&format!("/api/crm/tables/{t}/records")).await),
        ("add", b.post(&format!("/api/crm/tables/{t}/records"), json!({"values": {}})).await),
        ("get", b.get(&format!("/api/crm/records/{rid}")).await),
        ("patch", b.patch(&format!("/api/crm/records/{rid}"), json!({"values": {}})).await),
        ("delete", b.delete(&format!("/api/crm/records/{rid}")).await),
        ("export", b.get(&format!("/api/crm/tables/{t}/export.csv")).await),
        ("table", b.patch(&format!("/api/crm/tables/{t}"), json!({"name": "mine"})).await),
        ("field", b.post(&format!("/api/crm/tables/{t}/fields"), json!({"name": "X", "kind": "text"})).await),
        ("import", b.get(&format!("/api/crm/imports/{imp}")).await),
        ("run", b.post(&format!("/api/crm/imports/{imp}/run"), json!({"mapping": [null]})).await),
        ("upload", upload(&b, t, b"Name\nX\n".to_vec(), "").await),
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}: {}", r.text);
    }
    let l = b.get("/api/crm/lookup?number=%2B79161112233").await;
    assert_eq!(l.body["matches"].as_array().unwrap().len(), 0, "{}", l.text);
    assert_eq!(a.get(&format!("/api/crm/records/{rid}")).await.body["title"], "A's client", "untouched");
}

/// With the setting on, a call from a client rings the client's manager alone first, then
/// everyone (the Stasis worker against the real Asterisks; desk phones that ring and never answer).
#[tokio::test]
async fn a_call_from_a_client_rings_their_manager_first_then_everyone() {
    use callbase_tests::calls::agent_with_trunk;
    use callbase_tests::sip::RingingPhone;
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, _t, login, password) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    // Maria: a desk-phone telephony user, the client's manager.
    let maria = create_user(&admin, "maria", &[]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": maria, "browser_calls": false})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let (m_login, m_password) = (
        tu.body["sip_login"].as_str().unwrap().to_string(),
        tu.body["sip_password"].as_str().unwrap().to_string(),
    );
    let (t, f) = clients(&admin).await;
    add(&admin, t, json!({f("Name"): "Maria's client", f("Phone"): "+7 916 123-45-67", f("Manager"): maria}))
        .await;
    let mut s = admin.get("/api/crm/settings").await.body;
    s["manager_first"] = json!(true);
    s["manager_first_secs"] = json!(5);
    assert_eq!(admin.put("/api/crm/settings", s).await.status, StatusCode::OK);
    assert_eq!(
        admin
            .put("/api/telephony/routing", json!({"ring_timeout_secs": 10, "forward_number": null}))
            .await
            .status,
        StatusCode::OK
    );
    let boss_phone = RingingPhone::start(platform, &login, &password).await;
    let maria_phone = RingingPhone::start(platform, &m_login, &m_password).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    let ami = callbase_tests::carrier_ami().await;
    callbase_tests::calls::carrier_calls(&user, &user, "9998", "79161234567").await;
    let start = tokio::time::Instant::now();
    while boss_phone.invites.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "everyone rings in the end (maria: {:?})",
            maria_phone.invites.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = *maria_phone.invites.lock().unwrap().first().expect("the manager rang");
    let b = *boss_phone.invites.lock().unwrap().first().unwrap();
    let gap = b.duration_since(m);
    println!("manager rang alone for {gap:?}");
    assert!(
        gap >= Duration::from_millis(4500) && gap < Duration::from_secs(8),
        "the manager rings alone for 5 s first: {gap:?}"
    );
    // Only this trunk's calls: a broader pattern hangs up other suites' calls to the carrier.
    let _ = ami.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await;
}

/// A call links to the client created from its card; closing the card of an ended call records
/// the wrap-up time once.
#[tokio::test]
async fn calls_link_to_their_client_and_record_wrap_up_once() {
    let app = TestApp::spawn().await;
    let (admin, tn) = app.telephony_tenant().await;
    let (t, f) = clients(&admin).await;
    let call = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, user_id, number, started_at, answered_at, ended_at, result) \
         VALUES ($1, $2, 'inbound', $3, '+79161230000', now() - interval '2 minutes', now() - interval '110 seconds', now() - interval '30 seconds', 'answered')",
    )
    .bind(call)
    .bind(tn.id)
    .bind(tn.admin_id)
    .execute(&worker_pool().await)
    .await
    .unwrap();
    let before = admin.get(&format!("/api/calls/{call}")).await.body;
    assert_eq!((before["client"].clone(), before["wrapup_secs"].clone()), (Value::Null, Value::Null));
    let c = admin
        .post(
            &format!("/api/calls/{call}/client"),
            json!({"table_id": t, "values": {f("Name"): "New caller"}}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let r = admin.patch(&format!("/api/calls/{call}"), json!({"wrapup_done": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["client"]["title"], "New caller");
    assert_eq!(r.body["client"]["record_id"], c.body["id"]);
    let w = r.body["wrapup_secs"].as_i64().expect("wrap-up recorded");
    assert!((29..=40).contains(&w), "wrap-up from the end of the call: {w}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = admin.patch(&format!("/api/calls/{call}"), json!({"wrapup_done": true})).await.body;
    assert_eq!(again["wrapup_secs"].as_i64(), Some(w), "recorded once");
    // The card links the client too.
    assert_eq!(admin.get(&format!("/api/calls/{call}/card")).await.body["linked_record_id"], c.body["id"]);
}

/// A masked agent (in a telephony tenant, numbers masked for her group) and the admin's browser.
pub(crate) async fn masked_agent(
    app: &TestApp,
    mode: &str,
) -> (Browser, callbase_tests::Tenant, Browser, i64) {
    let (admin, tn) = app.telephony_tenant().await;
    let masked_group =
        admin.post("/api/groups", json!({"name": "Outsourced"})).await.body["id"].as_i64().unwrap();
    let agent_group = group_id(&admin, "Agent").await;
    let uid = create_user(&admin, "olga", &[agent_group, masked_group]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": uid})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_group_ids"] = json!([masked_group]);
    s["mask_mode"] = json!(mode);
    s["mask_chars"] = json!(8);
    assert_eq!(admin.put("/api/crm/settings", s).await.status, StatusCode::OK);
    let olga = app.browser();
    assert_eq!(olga.login(&tn.account, "olga", "Agent-pass-12345").await.status, StatusCode::OK);
    (admin, tn, olga, uid)
}

/// The attack from issue 14: a masked user adds records with numbers of her choosing and sorts
/// by the phone column to see on which side of each the hidden number falls (a binary search
/// recovers it in about 35 requests), or searches its digits two at a time. Every step is refused
/// or finds nothing; she still adds leads with the phone she types and sees it masked.
#[tokio::test]
async fn a_masked_user_cannot_sort_or_search_a_hidden_number_out() {
    let app = TestApp::spawn().await;
    let (admin, tn, olga, uid) = masked_agent(&app, "prefix").await;
    let (t, f) = clients(&admin).await;
    let secret = add(&admin, t, json!({f("Name"): "Secret client", f("Phone"): "+7 916 123-45-67"})).await
        ["id"]
        .as_i64()
        .unwrap();

    // She may type a new lead's phone; it comes back masked like any other.
    let lead = add(&olga, t, json!({f("Name"): "Probe", f("Phone"): "+7 916 500-00-00"})).await;
    assert_eq!(lead["values"][f("Phone")], "********0000", "{lead}");
    assert!(!lead.to_string().contains("9165000000"), "{lead}");

    // The binary search: is the hidden number before or after her probe? Sorting by a phone
    // field is refused, either way and in the export.
    let phone = f("Phone");
    for q in [format!("sort={phone}"), format!("sort={phone}&desc=true"), format!("sort={}", f("Phone 2"))] {
        let r = olga.get(&format!("/api/crm/tables/{t}/records?{q}")).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("masked_numbers")),
            "{q}: {}",
            r.text
        );
        let r = olga.get(&format!("/api/crm/tables/{t}/export.csv?{q}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "export {q}: {}", r.text);
    }
    for op in ["greater", "less", "equals", "contains"] {
        let filters =
            enc(&json!([{"field": phone.parse::<i64>().unwrap(), "op": op, "value": "+79165000000"}])
                .to_string());
        let r = olga.get(&format!("/api/crm/tables/{t}/records?filters={filters}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{op}: {}", r.text);
    }
    // Digits, two at a time (three are refused outright): they match what she can see, never a phone.
    for q in ["91", "16", "23", "45", "67", "+7", "-4", "("] {
        let r = olga.get(&format!("/api/crm/tables/{t}/records?q={}", enc(q))).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        let ids: Vec<i64> =
            r.body["records"].as_array().unwrap().iter().map(|x| x["id"].as_i64().unwrap()).collect();
        assert!(!ids.contains(&secret), "searching {q:?} finds the client by its hidden number: {}", r.text);
        assert_eq!(r.body["total"], 0, "{q}: {}", r.text);
    }
    let r = olga.get(&format!("/api/crm/tables/{t}/records?q=916")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // What she can see she still sorts and searches by.
    let r = olga.get(&format!("/api/crm/tables/{t}/records?q=secret&sort={}", f("Name"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["records"][0]["id"], secret, "{}", r.text);
    // Nor can she overwrite a number she cannot read, her own lead's included.
    for id in [secret, lead["id"].as_i64().unwrap()] {
        let p = olga
            .patch(&format!("/api/crm/records/{id}"), json!({"values": {f("Phone"): "+79160000000"}}))
            .await;
        assert_eq!(
            (p.status, p.body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("masked_numbers")),
            "{}",
            p.text
        );
    }
    // The admin (not masked) sorts by number as before.
    let r = admin.get(&format!("/api/crm/tables/{t}/records?sort={phone}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["records"][0]["id"], secret);

    // Call records: sorting by number is the same oracle.
    for n in ["+79161234567", "+79165000000"] {
        sqlx::query(
            "INSERT INTO calls (id, tenant_id, direction, user_id, number, started_at, ended_at, result) \
             VALUES ($1, $2, 'outbound', $3, $4, now() - interval '1 minute', now(), 'answered')",
        )
        .bind(Uuid::new_v4())
        .bind(tn.id)
        .bind(uid)
        .bind(n)
        .execute(&worker_pool().await)
        .await
        .unwrap();
    }
    for path in
        ["/api/calls?sort=number", "/api/calls?sort=number&order=asc", "/api/calls/export.csv?sort=number"]
    {
        let r = olga.get(path).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("masked_numbers")),
            "{path}: {}",
            r.text
        );
    }
    let r = olga.get("/api/calls?sort=duration").await;
    assert_eq!((r.status, r.body["total"].as_i64()), (StatusCode::OK, Some(2)), "{}", r.text);
    assert_eq!(admin.get("/api/calls?sort=number").await.status, StatusCode::OK);
}

/// The `From` header of a SIP message.
fn from_header(msg: &str) -> String {
    msg.lines().find(|l| l.to_ascii_lowercase().starts_with("from:")).unwrap_or_default().to_string()
}

/// A call from the carrier with `caller_id`; returns the first INVITE each phone got.
async fn ring_from(caller_id: &str, phones: &[&callbase_tests::sip::RingingPhone]) -> Vec<String> {
    let user = callbase_tests::env("CALLBASE_CARRIER_TRUNK_USER");
    let ami = callbase_tests::carrier_ami().await;
    let before: Vec<usize> = phones.iter().map(|p| p.invite_texts.lock().unwrap().len()).collect();
    callbase_tests::calls::carrier_calls(&user, &user, "9998", caller_id).await;
    let start = tokio::time::Instant::now();
    while phones.iter().zip(&before).any(|(p, n)| p.invite_texts.lock().unwrap().len() <= *n) {
        let got: Vec<usize> =
            phones.iter().zip(&before).map(|(p, n)| p.invite_texts.lock().unwrap().len() - n).collect();
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "every phone rings (new INVITEs per phone: {got:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Only this trunk's calls: a broader pattern hangs up other suites' calls to the carrier.
    let _ = ami.action("Hangup", &[("Channel", &format!("/^PJSIP\\/{user}-/"))]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    phones.iter().zip(&before).map(|(p, n)| p.invite_texts.lock().unwrap()[*n].clone()).collect()
}

/// An inbound call rings a masked agent's desk phone with the client's name and reference as the
/// caller, never the number (the unmasked admin's phone gets the number); an unknown caller
/// shows masked. Real Asterisks, real SIP.
#[tokio::test]
async fn a_call_to_a_masked_agent_rings_their_phone_with_the_clients_name_not_the_number() {
    use callbase_tests::calls::agent_with_trunk;
    use callbase_tests::sip::RingingPhone;
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, _t, login, password) = agent_with_trunk(&app).await;
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    // Olga: a desk-phone telephony user in a masked group.
    let masked_group =
        admin.post("/api/groups", json!({"name": "Outsourced"})).await.body["id"].as_i64().unwrap();
    let olga = create_user(&admin, "olga", &[masked_group]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": olga, "browser_calls": false})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let (o_login, o_password) = (
        tu.body["sip_login"].as_str().unwrap().to_string(),
        tu.body["sip_password"].as_str().unwrap().to_string(),
    );
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_group_ids"] = json!([masked_group]);
    s["mask_mode"] = json!("prefix");
    s["mask_chars"] = json!(8);
    assert_eq!(admin.put("/api/crm/settings", s).await.status, StatusCode::OK);
    let (t, f) = clients(&admin).await;
    let rec = add(&admin, t, json!({f("Name"): "Anna Petrova", f("Phone"): "+7 916 123-45-67"})).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        admin
            .put("/api/telephony/routing", json!({"ring_timeout_secs": 10, "forward_number": null}))
            .await
            .status,
        StatusCode::OK
    );
    let boss_phone = RingingPhone::start(platform, &login, &password).await;
    let olga_phone = RingingPhone::start(platform, &o_login, &o_password).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A client calls.
    let invites = ring_from("79161234567", &[&boss_phone, &olga_phone]).await;
    let (boss, olga_invite) = (&invites[0], &invites[1]);
    assert!(
        from_header(boss).contains("9161234567"),
        "the unmasked admin sees the number: {}",
        from_header(boss)
    );
    let from = from_header(olga_invite);
    println!("the admin's phone: {}\nthe masked agent's phone: {from}", from_header(boss));
    assert!(from.contains("\"Anna Petrova\""), "the client's name: {from}");
    assert!(
        from.contains(&format!("crm{rec}x{}", f("Phone"))),
        "the client's reference, to call back: {from}"
    );
    assert!(
        !olga_invite.contains("9161234567") && !olga_invite.contains("123-45-67"),
        "no form of the number anywhere in the INVITE:\n{olga_invite}"
    );

    // An unknown caller: the masked form.
    let invites = ring_from("79165550000", &[&boss_phone, &olga_phone]).await;
    let from = from_header(&invites[1]);
    assert!(from.contains("********0000"), "masked like everywhere else: {from}");
    assert!(
        !invites[1].contains("9165550000"),
        "no form of the number anywhere in the INVITE:\n{}",
        invites[1]
    );
    assert!(from_header(&invites[0]).contains("9165550000"), "{}", from_header(&invites[0]));
}

/// Imports write up to 200 000 records at once: administrators only. A file nobody ran within a
/// day is deleted, when it is next asked for or by the sweep every server runs (at start, then
/// hourly).
#[tokio::test]
async fn imports_are_for_administrators_and_unrun_files_expire_after_a_day() {
    let app = TestApp::spawn().await;
    let (admin, tn) = app.new_tenant().await;
    let (t, f) = clients(&admin).await;
    let agent_group = group_id(&admin, "Agent").await;
    create_user(&admin, "ivan", &[agent_group]).await;
    let agent = app.browser();
    assert_eq!(agent.login(&tn.account, "ivan", "Agent-pass-12345").await.status, StatusCode::OK);

    let r = upload(&agent, t, b"Name;Phone\nX;+79160000001\n".to_vec(), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an agent uploads: {}", r.text);
    let fresh = upload(&admin, t, b"Name\nFresh\n".to_vec(), "").await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    let fresh = fresh.body["id"].as_str().unwrap().to_string();
    let mapping = json!({"mapping": [f("Name").parse::<i64>().unwrap()]});
    assert_eq!(agent.get(&format!("/api/crm/imports/{fresh}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        agent.post(&format!("/api/crm/imports/{fresh}/run"), mapping.clone()).await.status,
        StatusCode::FORBIDDEN
    );

    // Uploaded 25 hours ago and never run.
    let pool = worker_pool().await;
    let backdate = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query("UPDATE crm_imports SET created_at = now() - interval '25 hours', heartbeat_at = now() - interval '25 hours' WHERE id = $1")
                .bind(Uuid::parse_str(&id).unwrap())
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    let exists = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM crm_imports WHERE id = $1")
                .bind(Uuid::parse_str(&id).unwrap())
                .fetch_one(&pool)
                .await
                .unwrap()
                == 1
        }
    };
    let old = upload(&admin, t, b"Name\nOld\n".to_vec(), "").await.body["id"].as_str().unwrap().to_string();
    backdate(old.clone()).await;
    let r = admin.get(&format!("/api/crm/imports/{old}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an expired file is gone: {}", r.text);
    assert!(!exists(old.clone()).await, "and deleted");
    assert_eq!(
        admin.post(&format!("/api/crm/imports/{old}/run"), mapping.clone()).await.status,
        StatusCode::NOT_FOUND
    );

    // The sweep: a server starting deletes the files left unrun, and only those.
    let swept =
        upload(&admin, t, b"Name\nSwept\n".to_vec(), "").await.body["id"].as_str().unwrap().to_string();
    backdate(swept.clone()).await;
    let _other = TestApp::spawn().await;
    let start = tokio::time::Instant::now();
    while exists(swept.clone()).await {
        assert!(start.elapsed() < Duration::from_secs(15), "the sweep deletes the unrun file");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(exists(fresh.clone()).await, "a fresh upload stays");
    let run = admin.post(&format!("/api/crm/imports/{fresh}/run"), mapping).await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{}", run.text);
    assert_eq!(wait_import(&admin, &fresh).await["inserted"], 1);
}

/// CRM rows reference `(tenant_id, id)` pairs (migration 0014): even written past the API and
/// row-level security, a row of one tenant cannot point at another tenant's table, field, record
/// or user.
#[tokio::test]
async fn crm_rows_cannot_point_into_another_tenants_rows() {
    let app = TestApp::spawn().await;
    let (a, ta) = app.new_tenant().await;
    let (b, tb) = app.new_tenant().await;
    let (table_a, fa) = clients(&a).await;
    let (table_b, fb) = clients(&b).await;
    let rec_a = add(&a, table_a, json!({fa("Name"): "A's client", fa("Phone"): "+79161112233"})).await["id"]
        .as_i64()
        .unwrap();
    let rec_b = add(&b, table_b, json!({fb("Name"): "B's client"})).await["id"].as_i64().unwrap();
    let (field_a, field_b2) = (fa("Phone 2").parse::<i64>().unwrap(), fb("Phone 2").parse::<i64>().unwrap());
    let call_b = Uuid::new_v4();
    let pool = worker_pool().await;
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, number) VALUES ($1, $2, 'inbound', '+79161112233')",
    )
    .bind(call_b)
    .bind(tb.id)
    .execute(&pool)
    .await
    .unwrap();

    let attempts: Vec<(&str, sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>)> = vec![
        ("a field of B in A's table", sqlx::query("INSERT INTO crm_fields (tenant_id, table_id, name, kind) VALUES ($1, $2, 'x', 'text')").bind(tb.id).bind(table_a)),
        ("a record of B in A's table", sqlx::query("INSERT INTO crm_records (tenant_id, table_id) VALUES ($1, $2)").bind(tb.id).bind(table_a)),
        ("a record of B by A's admin", sqlx::query("UPDATE crm_records SET created_by = $2 WHERE id = $1").bind(rec_b).bind(ta.admin_id)),
        (
            "B's sort key for A's record",
            sqlx::query("INSERT INTO crm_values (record_id, field_id, tenant_id, k) VALUES ($1, $2, $3, 'x')").bind(rec_a).bind(field_b2).bind(tb.id),
        ),
        (
            "B's phone on A's record",
            sqlx::query("INSERT INTO crm_phones (record_id, field_id, tenant_id, table_id, e164) VALUES ($1, $2, $3, $4, '+79160000000')")
                .bind(rec_a)
                .bind(field_a)
                .bind(tb.id)
                .bind(table_b),
        ),
        (
            "an import of B into A's table",
            sqlx::query("INSERT INTO crm_imports (id, tenant_id, table_id, delimiter, columns, row_count) VALUES ($1, $2, $3, ',', '{}', 0)")
                .bind(Uuid::new_v4())
                .bind(tb.id)
                .bind(table_a),
        ),
        ("B's call linked to A's client", sqlx::query("UPDATE calls SET crm_record_id = $2 WHERE id = $1").bind(call_b).bind(rec_a)),
    ];
    for (what, q) in attempts {
        let e = q.execute(&pool).await.expect_err(what);
        assert_eq!(e.as_database_error().and_then(|d| d.code()).as_deref(), Some("23503"), "{what}: {e}");
    }
    // Within a tenant the keys behave as before: deleting a record clears its calls' link only.
    sqlx::query("UPDATE calls SET crm_record_id = $2 WHERE id = $1")
        .bind(call_b)
        .bind(rec_b)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(b.delete(&format!("/api/crm/records/{rec_b}")).await.status, StatusCode::NO_CONTENT);
    let link: Option<i64> = sqlx::query_scalar("SELECT crm_record_id FROM calls WHERE id = $1")
        .bind(call_b)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(link, None);
    assert_eq!(a.get(&format!("/api/crm/records/{rec_a}")).await.body["title"], "A's client", "untouched");
}

/// The client's call history on its record (issue #18): `/api/calls?record_id=` lists the calls
/// linked to the record, newest first, as the viewer may see them (a masked agent gets her own
/// calls with the number masked); another tenant's record id finds nothing.
#[tokio::test]
async fn a_records_call_history_lists_its_linked_calls_as_the_viewer_may_see_them() {
    let app = TestApp::spawn().await;
    let (admin, tn, olga, uid) = masked_agent(&app, "prefix").await;
    let (t, f) = clients(&admin).await;
    let client = add(&admin, t, json!({f("Name"): "Anna", f("Phone"): "+7 916 123-45-67"})).await["id"]
        .as_i64()
        .unwrap();
    let other = add(&admin, t, json!({f("Name"): "Boris", f("Phone"): "+7 916 765-43-21"})).await["id"]
        .as_i64()
        .unwrap();
    let pool = worker_pool().await;
    // Two calls with Anna (Olga's, then the admin's, a minute later), one with Boris.
    let mut ids = vec![];
    for (user, record, ago) in [(uid, client, 120), (tn.admin_id, client, 60), (uid, other, 30)] {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO calls (id, tenant_id, direction, user_id, number, started_at, ended_at, result, crm_record_id) \
             VALUES ($1, $2, 'outbound', $3, '+79161234567', now() - make_interval(secs => $4), now(), 'answered', $5)",
        )
        .bind(id)
        .bind(tn.id)
        .bind(user)
        .bind(ago as f64)
        .bind(record)
        .execute(&pool)
        .await
        .unwrap();
        ids.push(id.to_string());
    }
    let page = admin.get(&format!("/api/calls?record_id={client}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let got: Vec<&str> =
        page.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[0].as_str()], "Anna's calls, newest first");
    assert_eq!(page.body["total"], 2);
    // Olga sees her own call with Anna, its number masked.
    let mine = olga.get(&format!("/api/calls?record_id={client}")).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", mine.text);
    assert_eq!(items[0]["id"], ids[0].as_str());
    assert!(!mine.text.contains("9161234567"), "masked: {}", mine.text);
    // Another tenant asking for Anna's record id finds nothing.
    let (stranger, _) = app.telephony_tenant().await;
    let none = stranger.get(&format!("/api/calls?record_id={client}")).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text);
    assert_eq!(none.body["total"], 0, "{}", none.text);
}

/// A number dialled as a number (the dialpad, or the CRM's handset for users who see numbers) is
/// linked to the client whose record holds it, like an inbound call from it: the client's history
/// lists it. A number two records hold is linked to neither.
#[tokio::test]
async fn a_call_to_a_clients_number_dialled_by_hand_is_in_the_clients_history() {
    use callbase_tests::calls::{agent_with_trunk, sipp_call};
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, _t, login, password) = agent_with_trunk(&app).await;
    let (t, f) = clients(&admin).await;
    let client = add(&admin, t, json!({f("Name"): "Anna", f("Phone"): "+7 916 123-45-67"})).await["id"]
        .as_i64()
        .unwrap();
    for _ in 0..2 {
        add(&admin, t, json!({f("Name"): "Twin", f("Phone"): "+7 495 765-43-21"})).await;
    }
    let (ok, log) = sipp_call(&login, &password, "+79161234567", 200).await;
    assert!(ok, "{log}");
    let (ok, log) = sipp_call(&login, &password, "+74957654321", 200).await;
    assert!(ok, "{log}");
    let page = admin.get(&format!("/api/calls?record_id={client}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["total"], 1, "the call to Anna's number is hers: {}", page.text);
    assert_eq!(page.body["items"][0]["direction"], "outbound");
    let all = admin.get("/api/calls?direction=outbound").await.body;
    let twin =
        all["items"].as_array().unwrap().iter().find(|c| c["number"] == "+74957654321").cloned().unwrap();
    assert!(twin["client"].is_null(), "a number two records hold belongs to neither: {twin}");
}
