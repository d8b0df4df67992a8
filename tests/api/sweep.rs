//! The two-tenant sweep, generated from `/api/openapi.json`: every path and method of the API is
//! called by tenant A's administrator with tenant B's ids in its path, query and body, and must
//! answer without leaking or touching anything of B's.
//!
//! Tenant B gets one object of every kind the API has (user, telephony user, group, trunk, CRM
//! table, field, user field, record, call with a stored recording, unrun import); tenant A gets the
//! same, so that mixed requests can be made too (A's own table in the path, B's field in the body:
//! the cases where a handler checks the parent and trusts the child). For every operation:
//!
//! - every id slot (path parameter, id-like query parameter, id-like body property) is filled from
//!   the tables below; an operation with a slot the tables do not know fails the test with a
//!   message naming the table to extend, so a new route cannot be forgotten;
//! - it is called once with B's id in every slot, and, when it has more than one slot, once per
//!   slot with B's id in that slot only and A's in the others;
//! - the answer is never 5xx and never 401 (the sweep must really run as A); with a B id in the path
//!   it is 404 (unless [`EXPECTED`] says otherwise, with the reason); otherwise it is 404, a 4xx the
//!   operation documents, or a 2xx that holds none of B's data (marker strings, or B's id echoed
//!   back in the property it was sent in);
//!
//! and afterwards B's own view of every readable route is what it was before.

use std::collections::{BTreeMap, HashMap};

use callbase_recordings::ObjectStore;
use callbase_tests::calls::trunk_body;
use callbase_tests::{settings, unique, worker_pool, Browser, Resp, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// What an id points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    /// A user (not an administrator), who is also a telephony user.
    User,
    /// A telephony user, by user id.
    TelUser,
    Group,
    Trunk,
    CrmTable,
    /// A phone field of the CRM table.
    CrmField,
    /// A user-reference field (`Manager`) of the CRM table.
    CrmUserField,
    CrmRecord,
    Call,
    CrmImport,
    /// The account slug (sign-up, login and the "type the account name" confirmation take it).
    Account,
    /// The CRM record's (and the call's) phone number.
    Phone,
    /// An entry of the security audit log (a page cursor).
    AuditEntry,
    /// A country code on the tenant's list of countries calls may reach.
    Country,
    /// A speed dial entry (of the group).
    SpeedDial,
    /// An entry of the blocklist.
    BlockedNumber,
    /// A queue (issue #19).
    Queue,
    /// An IVR menu (issue #19).
    Menu,
    /// An API key (issue #21).
    ApiKey,
    /// A webhook endpoint (issue #21)…
    Webhook,
    /// …and a message queued for it.
    WebhookMessage,
}
use Kind::*;

/// How an id is written into its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// The id itself.
    Plain,
    /// `[id]`.
    Array,
    /// `{"<id>": "sweep"}` (CRM values keyed by field id).
    MapKey,
    /// `{"<the user field of the path's tenant>": id}`: a user reference stored in a record.
    UserFieldValue,
    /// `[{"field": id, "op": "equals", "value": "1"}]` as JSON text (the CRM list's `filters`).
    FilterJson,
}

/// Path parameters: (the path segment before `{param}`, the parameter's name) → kind. An
/// operation with a path parameter missing here fails the sweep.
const PATH_IDS: &[(&str, &str, Kind)] = &[
    ("calls", "call_id", Call),
    ("calls", "id", Call),
    ("countries", "code", Country),
    ("fields", "field_id", CrmField),
    ("groups", "id", Group),
    ("imports", "id", CrmImport),
    ("records", "id", CrmRecord),
    ("speed-dials", "id", SpeedDial),
    ("blocklist", "id", BlockedNumber),
    ("queues", "id", Queue),
    ("menus", "id", Menu),
    ("first-steps", "id", Trunk),
    ("tables", "id", CrmTable),
    ("trunks", "id", Trunk),
    ("users", "id", User),
    ("users", "user_id", TelUser),
    ("keys", "id", ApiKey),
    ("webhooks", "id", Webhook),
    ("deliveries", "message_id", WebhookMessage),
    ("recordings", "id", Call),
];

/// Query parameters that carry an id or another tenant's data: (path, or `*` for every path,
/// parameter) → kind and shape. An id-like parameter (`id`, `ids`, `*_id`, `*_ids`) missing here
/// fails the sweep; the others are listed because their meaning is an id although their name is not.
const QUERY_IDS: &[(&str, &str, Kind, Shape)] = &[
    ("*", "call_id", Call, Shape::Plain),
    ("*", "user_id", User, Shape::Plain),
    ("*", "group_id", Group, Shape::Plain),
    ("*", "queue_id", Queue, Shape::Plain),
    ("/api/security/audit", "before_id", AuditEntry, Shape::Plain),
    ("/api/calls", "number", Phone, Shape::Plain),
    ("/api/calls/export.csv", "number", Phone, Shape::Plain),
    ("/api/calls", "record_id", CrmRecord, Shape::Plain),
    ("/api/calls/export.csv", "record_id", CrmRecord, Shape::Plain),
    ("/api/crm/lookup", "number", Phone, Shape::Plain),
    ("/api/crm/tables/{id}/records", "sort", CrmField, Shape::Plain),
    ("/api/crm/tables/{id}/records", "filters", CrmField, Shape::FilterJson),
    ("/api/crm/tables/{id}/export.csv", "sort", CrmField, Shape::Plain),
    ("/api/crm/tables/{id}/export.csv", "filters", CrmField, Shape::FilterJson),
];

/// Request body properties that carry an id: (schema, property) → kind and shape. An id-like
/// property (`id`, `ids`, `*_id`, `*_ids`, or a `…Id` schema) missing here fails the sweep, as does
/// one nested below the top level.
const BODY_IDS: &[(&str, &str, Kind, Shape)] = &[
    ("AttachToRecord", "record_id", CrmRecord, Shape::Plain),
    ("CallbackBody", "field_id", CrmField, Shape::Plain),
    ("CallbackBody", "record_id", CrmRecord, Shape::Plain),
    ("CallbackBody", "speed_dial_id", SpeedDial, Shape::Plain),
    ("PlaceCall", "field_id", CrmField, Shape::Plain),
    ("PlaceCall", "record_id", CrmRecord, Shape::Plain),
    ("PlaceCall", "user_id", TelUser, Shape::Plain),
    ("ClientFromCall", "table_id", CrmTable, Shape::Plain),
    ("ClientFromCall", "values", CrmField, Shape::MapKey),
    ("CreateTelUser", "user_id", User, Shape::Plain),
    ("CreateUser", "group_ids", Group, Shape::Array),
    ("CrmSettings", "mask_group_ids", Group, Shape::Array),
    ("DisableBody", "confirm_account", Account, Shape::Plain),
    ("FirstStepBody", "menu_id", Menu, Shape::Plain),
    ("FirstStepBody", "queue_id", Queue, Shape::Plain),
    ("FirstStepBody", "user_id", TelUser, Shape::Plain),
    ("LoginBody", "account", Account, Shape::Plain),
    ("PatchTable", "card_field_ids", CrmField, Shape::Array),
    ("PatchUser", "group_ids", Group, Shape::Array),
    ("Provisioning", "group_ids", Group, Shape::Array),
    ("RecordBody", "values", CrmField, Shape::MapKey),
    ("RecordBody", "values", User, Shape::UserFieldValue),
    ("RecordingSettings", "record_group_ids", Group, Shape::Array),
    ("RunImport", "mapping", CrmField, Shape::Array),
    ("SignupBody", "account", Account, Shape::Plain),
    ("SpeedDialBody", "group_id", Group, Shape::Plain),
    ("TrunkOrder", "ids", Trunk, Shape::Array),
    ("ZipRequest", "ids", Call, Shape::Array),
];

/// Values for required body properties that the schema alone does not make valid (so the request
/// reaches the lookup instead of stopping at validation).
const BODY_VALUES: &[(&str, &str, &str)] = &[
    ("CreateField", "kind", r#""text""#),
    ("CreateTelUser", "extension", r#""777""#),
    ("CreateUser", "email", r#""sweep@example.com""#),
    ("CreateUser", "login", r#""sweeper""#),
    ("CreateUser", "password", r#""Sweep-pass-12345""#),
    ("CrmSettings", "manager_first_secs", "10"),
    ("CrmSettings", "mask_chars", "4"),
    ("LoginBody", "login", r#""boss""#),
    ("Routing", "ring_timeout_secs", "15"),
    ("SignupBody", "email", r#""sweep@example.com""#),
    ("SignupBody", "login", r#""boss""#),
    ("SignupBody", "password", r#""Sweep-pass-12345""#),
    ("TransferBody", "target", r#""102""#),
    // A documentation address (RFC 5737): valid, public, and nobody's.
    ("TrunkBody", "domain", r#""192.0.2.10""#),
    ("TrunkBody", "mode", r#""simple""#),
    ("TrunkBody", "username", r#""sweep""#),
];

/// Operations that are not swept, with the reason.
const NOT_SWEPT: &[(&str, &str, &str)] = &[(
    "POST",
    "/api/auth/logout",
    "ends the sweeping administrator's own session and takes no id; logout is covered by auth.rs",
)];

/// Operations whose answer with B's id in the path is not 404, with the reason.
const EXPECTED: &[(&str, &str, u16, &str)] = &[
    (
        "DELETE",
        "/api/security/countries/{code}",
        200,
        "a country code is not a tenant's object: taking B's allowed country off A's own list is A's business and changes nothing of B's (the snapshot proves it)",
    ),
    (
        "GET",
        "/api/v1/recordings/{id}",
        403,
        "a webhook's signed recording link: no key, its tenant, endpoint and signature are in the query, and without a valid signature it is refused before any call is read (webhooks.rs follows a real link, api_keys.rs a forged one)",
    ),
];

/// Routes B reads before and after the sweep whose answers change by being read.
const NOT_SNAPSHOTTED: &[(&str, &str)] = &[
    ("/api/calls/{id}/recording", "every listen is audited, so the audit list changes"),
    ("/api/v1/calls/{id}/recording", "every download is audited, so the audit list changes"),
    ("/api/telephony/hours/now", "the tenant's local time, which moves on by itself"),
];

/// One tenant's objects.
struct Objects {
    ids: HashMap<Kind, Value>,
}

impl Objects {
    fn get(&self, k: Kind) -> &Value {
        &self.ids[&k]
    }
}

/// The id in a path or query string.
fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

/// Creates one object of every kind in a telephony tenant; every name carries `marker`.
async fn populate(admin: &Browser, tenant: &callbase_tests::Tenant, marker: &str, phone: &str) -> Objects {
    let mut ids = HashMap::new();
    let ok =
        |r: &Resp, what: &str| assert!(r.status.is_success(), "creating {what}: {} {}", r.status, r.text);

    let g = admin.post("/api/groups", json!({"name": format!("{marker} group")})).await;
    ok(&g, "group");
    ids.insert(Group, g.body["id"].clone());
    let sd = admin
        .post("/api/telephony/speed-dials", json!({"group_id": g.body["id"], "name": format!("{marker} speed dial"), "number": "+74951112233"}))
        .await;
    ok(&sd, "speed dial");
    ids.insert(SpeedDial, sd.body["id"].clone());
    let bl = admin
        .post("/api/telephony/blocklist", json!({"number": phone, "note": format!("{marker} blocked")}))
        .await;
    ok(&bl, "blocked number");
    ids.insert(BlockedNumber, bl.body["id"].clone());
    let hours = admin
        .put(
            "/api/telephony/hours",
            json!({"enabled": true, "time_zone": "Asia/Kolkata", "weekly": [{"day": 1, "from": "09:00", "to": "18:00"}],
                   "holidays": [{"date": "2026-12-31", "name": format!("{marker} holiday")}]}),
        )
        .await;
    ok(&hours, "business hours");
    let u = admin
        .post(
            "/api/users",
            json!({"login": format!("{marker}u"), "name": format!("{marker} user"), "email": format!("{marker}@example.com"),
                   "password": "Agent-pass-12345", "group_ids": [g.body["id"]]}),
        )
        .await;
    ok(&u, "user");
    ids.insert(User, u.body["id"].clone());
    let tu =
        admin.post("/api/telephony/users", json!({"user_id": u.body["id"], "browser_calls": false})).await;
    ok(&tu, "telephony user");
    ids.insert(TelUser, u.body["id"].clone());
    let q = admin
        .post(
            "/api/telephony/queues",
            json!({"name": format!("{marker} queue"), "strategy": "ring_all", "members": [{"user": u.body["id"]}, {"group": g.body["id"]}]}),
        )
        .await;
    ok(&q, "queue");
    ids.insert(Queue, q.body["id"].clone());
    let m = admin
        .post(
            "/api/telephony/menus",
            json!({"name": format!("{marker} menu"), "options": [{"digit": "1", "to": format!("queue:{}", q.body["id"])}]}),
        )
        .await;
    ok(&m, "menu");
    ids.insert(Menu, m.body["id"].clone());
    let k = admin
        .post("/api/integrations/keys", json!({"name": format!("{marker} key"), "scopes": ["calls:read"]}))
        .await;
    ok(&k, "API key");
    ids.insert(ApiKey, k.body["key"]["id"].clone());
    let w = admin
        .post(
            "/api/integrations/webhooks",
            json!({"url": format!("https://hooks.example.com/{marker}"), "events": ["call.ended"]}),
        )
        .await;
    ok(&w, "webhook");
    ids.insert(Webhook, w.body["webhook"]["id"].clone());
    // Off before its test message is queued: the webhook tests' workers (which take every tenant's
    // due messages) must not try to send it while the sweep runs.
    let off = admin
        .patch(&format!("/api/integrations/webhooks/{}", w.body["webhook"]["id"]), json!({"enabled": false}))
        .await;
    ok(&off, "webhook disabled");
    let msg =
        admin.post(&format!("/api/integrations/webhooks/{}/test", w.body["webhook"]["id"]), json!({})).await;
    ok(&msg, "webhook message");
    ids.insert(WebhookMessage, msg.body["message_id"].clone());

    let mut tb = trunk_body(&format!("{marker}trunk"), "bogus-password-1");
    tb["label"] = json!(format!("{marker} trunk"));
    let t = admin.post("/api/trunks", tb).await;
    ok(&t, "trunk");
    ids.insert(Trunk, t.body["id"].clone());
    let fs = admin
        .put(
            &format!("/api/telephony/first-steps/{}", t.body["id"]),
            json!({"step": "queue", "queue_id": q.body["id"]}),
        )
        .await;
    ok(&fs, "trunk's first step");

    let tables = admin.get("/api/crm/tables").await.body;
    let clients = tables
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Clients")
        .expect("a new tenant has Clients")
        .clone();
    let field = |name: &str| {
        clients["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()["id"].clone()
    };
    let table = clients["id"].clone();
    ok(
        &admin.patch(&format!("/api/crm/tables/{table}"), json!({"name": format!("{marker} table")})).await,
        "table name",
    );
    ids.insert(CrmTable, table.clone());
    ids.insert(CrmField, field("Phone"));
    ids.insert(CrmUserField, field("Manager"));
    let extra = admin
        .post(
            &format!("/api/crm/tables/{table}/fields"),
            json!({"name": format!("{marker} field"), "kind": "text"}),
        )
        .await;
    ok(&extra, "field");
    let values = json!({text(&field("Name")): format!("{marker} client"), text(&field("Phone")): phone,
                        text(&field("Manager")): u.body["id"], text(&extra.body["id"]): marker});
    let r = admin.post(&format!("/api/crm/tables/{table}/records"), json!({"values": values})).await;
    ok(&r, "record");
    ids.insert(CrmRecord, r.body["id"].clone());

    let csrf = admin.csrf().await;
    let csv = format!("Name;Phone\n{marker} imported;{phone}\n");
    let imp = admin
        .send(
            admin
                .request(Method::POST, &format!("/api/crm/tables/{table}/imports"))
                .header("x-csrf-token", csrf)
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    ok(&imp, "import");
    ids.insert(CrmImport, imp.body["id"].clone());

    ok(&admin.post("/api/security/countries", json!({"country_code": "44"})).await, "allowed country");
    ids.insert(Country, json!("44"));

    // Creating all this was audited: the newest entry pages back into B's log.
    let log = admin.get("/api/security/audit?limit=1").await;
    ok(&log, "audit log");
    ids.insert(AuditEntry, log.body[0]["id"].clone());

    // A finished call of the user's with a stored recording (as the Stasis worker and the uploader
    // leave it), linked to the record.
    let call = Uuid::new_v4();
    let key = callbase_telephony::recording::new_key(callbase_core::TenantId(tenant.id));
    ObjectStore::new(&settings(&[]).s3)
        .put(&key, format!("{marker} audio").into_bytes(), "audio/mpeg")
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, user_id, number, started_at, answered_at, ended_at, result, recording_state, \
         recording_key, recording_bytes, recording_ms, note, crm_record_id) VALUES ($1, $2, 'inbound', $3, $4, now() - interval '1 minute', \
         now() - interval '50 seconds', now(), 'answered', 'stored', $5, $6, 10000, $7, $8)",
    )
    .bind(call)
    .bind(tenant.id)
    .bind(u.body["id"].as_i64())
    .bind(phone)
    .bind(&key)
    .bind(format!("{marker} audio").len() as i64)
    .bind(format!("{marker} note"))
    .bind(r.body["id"].as_i64())
    .execute(&worker_pool().await)
    .await
    .unwrap();
    ids.insert(Call, json!(call.to_string()));
    ids.insert(Account, json!(tenant.account));
    ids.insert(Phone, json!(phone));
    Objects { ids }
}

/// Where a slot is.
#[derive(Clone, Debug)]
enum Place {
    Path(String),
    Query(String),
    Body(String),
}

#[derive(Clone, Debug)]
struct Slot {
    place: Place,
    kind: Kind,
    shape: Shape,
}

fn id_like(name: &str) -> bool {
    name == "id" || name == "ids" || name.ends_with("_id") || name.ends_with("_ids")
}

/// Follows `$ref` (one level at a time, as often as needed).
fn resolve<'a>(doc: &'a Value, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        s = &doc["components"]["schemas"][name];
    }
    s
}

fn ref_name(s: &Value) -> Option<&str> {
    s.get("$ref").and_then(Value::as_str).map(|r| r.rsplit('/').next().unwrap())
}

/// The first non-null alternative of a schema (`type: [x, "null"]`, `oneOf`).
fn non_null<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    let s = resolve(doc, s);
    if let Some(alts) = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Value::as_array) {
        if let Some(a) = alts.iter().find(|a| a.get("type") != Some(&json!("null"))) {
            return non_null(doc, a);
        }
    }
    s
}

/// A value for a required property `prop` of the object schema `owner`: from [`BODY_VALUES`], or
/// the simplest value of its type.
fn default_value(doc: &Value, owner: &str, prop: &str, s: &Value) -> Value {
    if let Some((_, _, v)) = BODY_VALUES.iter().find(|(n, p, _)| *n == owner && *p == prop) {
        return serde_json::from_str(v).unwrap();
    }
    let name = ref_name(s).unwrap_or("").to_string();
    let s = non_null(doc, s);
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        return e[0].clone();
    }
    let ty = match &s["type"] {
        Value::Array(ts) => ts.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
        t => t.clone(),
    };
    match ty.as_str() {
        Some("string") => json!("sweep"),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        _ => object_value(doc, &name, s),
    }
}

/// An object of schema `name` with its required properties.
fn object_value(doc: &Value, name: &str, s: &Value) -> Value {
    let s = resolve(doc, s);
    let mut o = Map::new();
    for p in s["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        o.insert(p.to_string(), default_value(doc, name, p, &s["properties"][p]));
    }
    Value::Object(o)
}

/// Id-like properties anywhere below `s` (for the "nested id carrier" check).
fn nested_id_props(doc: &Value, s: &Value, path: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 6 {
        return;
    }
    let s = non_null(doc, s);
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (p, ps) in props {
            let is_id = id_like(p) || ref_name(ps).is_some_and(|n| n.ends_with("Id"));
            if is_id {
                out.push(format!("{path}.{p}"));
            }
            nested_id_props(doc, ps, &format!("{path}.{p}"), out, depth + 1);
        }
    }
    if let Some(items) = s.get("items") {
        nested_id_props(doc, items, &format!("{path}[]"), out, depth + 1);
    }
}

/// One operation of the document, with its slots (or the reasons it cannot be swept).
struct Op {
    method: Method,
    path: String,
    slots: Vec<Slot>,
    /// The JSON request body schema's name, or the non-JSON content type.
    body: Option<(String, Value)>,
    documented: Vec<u16>,
}

/// Reads the document's operations; developer errors (unknown slots) go to `problems`.
fn operations(doc: &Value, problems: &mut Vec<String>, used: &mut Vec<String>) -> Vec<Op> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            let Ok(method) = m.to_uppercase().parse::<Method>() else { continue };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let name = format!("{method} {path}");
            let mut slots = Vec::new();
            let segments: Vec<&str> = path.split('/').collect();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let pname = p["name"].as_str().unwrap();
                match p["in"].as_str() {
                    Some("path") => {
                        let at = segments
                            .iter()
                            .position(|s| *s == format!("{{{pname}}}"))
                            .expect("path parameter in the path");
                        let before = if at > 0 { segments[at - 1] } else { "" };
                        match PATH_IDS.iter().find(|(seg, n, _)| *seg == before && *n == pname) {
                            Some((_, _, k)) => {
                                used.push(format!("path {before}/{pname}"));
                                slots.push(Slot { place: Place::Path(pname.into()), kind: *k, shape: Shape::Plain })
                            }
                            None => problems.push(format!(
                                "{name}: path parameter `{pname}` (after `/{before}/`) is unknown to the sweep: add (\"{before}\", \"{pname}\", <kind>) to PATH_IDS in tests/api/sweep.rs (and create such an object in `populate` if it is a new kind)"
                            )),
                        }
                    }
                    Some("query") => {
                        let known: Vec<_> = QUERY_IDS
                            .iter()
                            .filter(|(p, n, _, _)| (*p == "*" || *p == path) && *n == pname)
                            .collect();
                        if let Some((qp, _, k, shape)) = known.first() {
                            used.push(format!("query {qp} {pname}"));
                            slots.push(Slot { place: Place::Query(pname.into()), kind: *k, shape: *shape });
                        } else if id_like(pname) {
                            problems.push(format!(
                                "{name}: query parameter `{pname}` looks like an id but is unknown to the sweep: add it to QUERY_IDS in tests/api/sweep.rs"
                            ));
                        }
                    }
                    _ => {}
                }
            }
            let mut body = None;
            if let Some(content) = op["requestBody"]["content"].as_object() {
                let (ctype, media) = content.iter().next().unwrap();
                if ctype == "application/json" {
                    let schema = &media["schema"];
                    let sname = ref_name(schema).unwrap_or("").to_string();
                    let s = resolve(doc, schema);
                    for (prop, ps) in s["properties"].as_object().into_iter().flatten() {
                        let known: Vec<_> =
                            BODY_IDS.iter().filter(|(n, p, _, _)| *n == sname && p == prop).collect();
                        for (_, _, k, shape) in &known {
                            used.push(format!("body {sname}.{prop} {k:?}"));
                            slots.push(Slot { place: Place::Body(prop.clone()), kind: *k, shape: *shape });
                        }
                        let is_id = id_like(prop) || ref_name(ps).is_some_and(|n| n.ends_with("Id"));
                        if known.is_empty() && is_id {
                            problems.push(format!(
                                "{name}: body property `{sname}.{prop}` looks like an id but is unknown to the sweep: add it to BODY_IDS in tests/api/sweep.rs"
                            ));
                        }
                        let mut nested = Vec::new();
                        nested_id_props(doc, ps, &format!("{sname}.{prop}"), &mut nested, 0);
                        for n in nested {
                            problems.push(format!("{name}: `{n}` is an id below the top level of the body: teach the sweep to fill it"));
                        }
                    }
                    body = Some((sname, schema.clone()));
                } else {
                    body = Some((ctype.clone(), Value::Null));
                }
            }
            let documented =
                op["responses"].as_object().unwrap().keys().filter_map(|k| k.parse().ok()).collect();
            ops.push(Op { method, path: path.clone(), slots, body, documented });
        }
    }
    ops
}

/// A request: path, query, body, content type.
struct Request {
    path: String,
    body: Option<(String, Vec<u8>)>,
    /// The B ids sent, by the property they were sent in (for the echo check).
    sent: Vec<(String, Value)>,
}

/// Renders `op` with each slot's id taken from `owners[i]` (A or B).
fn render(doc: &Value, op: &Op, owners: &[&Objects], a: &Objects, b: &Objects) -> Request {
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let mut sent = Vec::new();
    // The tenant whose object the path names (for the user field a record's values use).
    let path_owner = op
        .slots
        .iter()
        .zip(owners)
        .find(|(s, _)| matches!(s.place, Place::Path(_)))
        .map(|(_, o)| *o)
        .unwrap_or(a);
    let mut body_props: Vec<(String, Value)> = Vec::new();
    for (slot, owner) in op.slots.iter().zip(owners) {
        let id = owner.get(slot.kind).clone();
        let is_b = std::ptr::eq(*owner, b);
        match &slot.place {
            Place::Path(p) => path = path.replace(&format!("{{{p}}}"), &text(&id)),
            Place::Query(q) => {
                let v = match slot.shape {
                    Shape::FilterJson => json!([{"field": id, "op": "equals", "value": "1"}]).to_string(),
                    _ => text(&id),
                };
                query.push(format!("{q}={}", enc(&v)));
            }
            Place::Body(p) => {
                let v = match slot.shape {
                    Shape::Plain => id.clone(),
                    Shape::Array => json!([id]),
                    Shape::MapKey => json!({text(&id): "sweep"}),
                    Shape::UserFieldValue => json!({text(path_owner.get(CrmUserField)): id}),
                    Shape::FilterJson => unreachable!("filters are query parameters"),
                };
                if is_b {
                    sent.push((p.clone(), id.clone()));
                }
                body_props.push((p.clone(), v));
            }
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let body = op.body.as_ref().map(|(name, schema)| {
        if schema.is_null() {
            // Not JSON: a small body of that type.
            let bytes = match name.as_str() {
                "text/csv" => b"Name\nsweep\n".to_vec(),
                _ => b"not really audio".to_vec(),
            };
            return (name.clone(), bytes);
        }
        let mut v = object_value(doc, name, schema);
        let s = resolve(doc, schema);
        let o = v.as_object_mut().unwrap();
        for (prop, _) in s["properties"].as_object().into_iter().flatten() {
            if !o.contains_key(prop) {
                if let Some((_, _, val)) = BODY_VALUES.iter().find(|(n, p, _)| n == name && p == prop) {
                    o.insert(prop.clone(), serde_json::from_str(val).unwrap());
                }
            }
        }
        for (p, val) in body_props {
            match (o.get_mut(&p), &val) {
                // Two slots in one map (`values`): merge.
                (Some(Value::Object(m)), Value::Object(add)) => m.extend(add.clone()),
                _ => {
                    o.insert(p, val);
                }
            }
        }
        ("application/json".to_string(), serde_json::to_vec(&v).unwrap())
    });
    Request { path, body, sent }
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

async fn call(br: &Browser, method: &Method, req: &Request, api_key: &str) -> Resp {
    let mut rb = br.request(method.clone(), &req.path);
    if req.path.starts_with("/api/v1/") {
        rb = rb.bearer_auth(api_key);
    } else if method != Method::GET {
        rb = rb.header("x-csrf-token", br.csrf().await);
    }
    if let Some((ctype, bytes)) = &req.body {
        rb = rb.header("content-type", ctype).body(bytes.clone());
    }
    br.send(rb).await
}

/// Whether `id` occurs in `v` as a value or an object key.
fn holds(v: &Value, id: &Value) -> bool {
    let t = text(id);
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| *k == t || holds(x, id)),
        Value::Array(xs) => xs.iter().any(|x| holds(x, id)),
        Value::Number(_) | Value::String(_) => text(v) == t,
        _ => false,
    }
}

/// The values of every `key` property anywhere in `v`.
fn find_key<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    out.push(x);
                }
                find_key(x, key, out);
            }
        }
        Value::Array(xs) => xs.iter().for_each(|x| find_key(x, key, out)),
        _ => {}
    }
}

/// B's view of every route it can read (the answers, with what changes by itself taken out).
async fn snapshot(
    doc: &Value,
    ops: &[Op],
    br: &Browser,
    b: &Objects,
    api_key: &str,
) -> BTreeMap<String, (u16, String)> {
    let mut out = BTreeMap::new();
    for op in ops.iter().filter(|o| o.method == Method::GET) {
        if NOT_SNAPSHOTTED.iter().any(|(p, _)| *p == op.path) {
            continue;
        }
        let owners: Vec<&Objects> = op.slots.iter().map(|_| b).collect();
        let req = render(doc, op, &owners, b, b);
        let r = call(br, &op.method, &req, api_key).await;
        let mut body = r.body.clone();
        if op.path == "/api/trunks" {
            // Registration state moves on its own (the bogus credentials are refused by the carrier).
            for t in body.as_array_mut().into_iter().flatten() {
                t.as_object_mut().unwrap().remove("status");
            }
        }
        if op.path == "/api/integrations/keys" {
            // Reading B's view with B's key is a use of it.
            for k in body.as_array_mut().into_iter().flatten() {
                let k = k.as_object_mut().unwrap();
                k.remove("last_used_at");
                k.remove("last_used_ip");
            }
        }
        if op.path == "/api/telephony/board" {
            // The snapshot's own time.
            body.as_object_mut().map(|o| o.remove("now"));
        }
        let shown = if body.is_null() { r.text.clone() } else { body.to_string() };
        out.insert(req.path.clone(), (r.status.as_u16(), shown));
    }
    out
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_refuses_another_tenants_ids_and_leaks_nothing() {
    let app = TestApp::spawn().await;
    let (a_admin, ta) = app.telephony_tenant().await;
    let (b_admin, tb) = app.telephony_tenant().await;
    let a_marker = unique("sweepa");
    let b_marker = unique("sweepb");
    let a_phone = format!("+7495{:07}", rand::random::<u32>() % 10_000_000);
    let b_phone = format!("+7499{:07}", rand::random::<u32>() % 10_000_000);
    let a = populate(&a_admin, &ta, &a_marker, &a_phone).await;
    let b = populate(&b_admin, &tb, &b_marker, &b_phone).await;
    // The public API (`/api/v1`) takes A's API key with every scope instead of the session.
    let scopes = ["calls:read", "calls:place", "crm:write", "users:read", "admin"];
    let a_key = a_admin.post("/api/integrations/keys", json!({"name": "sweep", "scopes": scopes})).await;
    assert_eq!(a_key.status, StatusCode::CREATED, "{}", a_key.text);
    let a_key = a_key.body["secret"].as_str().unwrap().to_string();
    let b_key = b_admin.post("/api/integrations/keys", json!({"name": "sweep", "scopes": scopes})).await;
    let b_key = b_key.body["secret"].as_str().unwrap().to_string();
    // What must never appear in an answer to A: B's names, account and number (its last digits,
    // in whatever format).
    let b_leaks = [b_marker.clone(), tb.account.clone(), b_phone[5..].to_string()];

    let doc = a_admin.get("/api/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.body;
    let mut problems = Vec::new();
    let mut used = Vec::new();
    let ops = operations(&doc, &mut problems, &mut used);
    // The tables must not name what the document no longer has (a stale entry hides nothing, but
    // says something untrue about the API).
    for (method, path, _) in
        NOT_SWEPT.iter().map(|(m, p, r)| (m, p, r)).chain(EXPECTED.iter().map(|(m, p, _, r)| (m, p, r)))
    {
        if !ops.iter().any(|o| o.method.as_str() == *method && o.path == *path) {
            problems.push(format!(
                "{method} {path} is listed in tests/api/sweep.rs but is not in the OpenAPI document"
            ));
        }
    }
    for (seg, name, _) in PATH_IDS {
        if !used.iter().any(|u| *u == format!("path {seg}/{name}")) {
            problems.push(format!("PATH_IDS entry ({seg}, {name}) matches no path parameter"));
        }
    }
    for (p, name, _, _) in QUERY_IDS {
        if !used.iter().any(|u| *u == format!("query {p} {name}")) {
            problems.push(format!("QUERY_IDS entry ({p}, {name}) matches no query parameter"));
        }
    }
    for (s, p, k, _) in BODY_IDS {
        if !used.iter().any(|u| *u == format!("body {s}.{p} {k:?}")) {
            problems.push(format!("BODY_IDS entry ({s}, {p}) matches no request body property"));
        }
    }
    assert!(
        problems.is_empty(),
        "the sweep does not know how to fill every operation:\n{}",
        problems.join("\n")
    );
    assert!(ops.len() > 50, "the document lists {} operations", ops.len());

    let before = snapshot(&doc, &ops, &b_admin, &b, &b_key).await;

    let mut failures = Vec::new();
    let mut requests = 0;
    for op in &ops {
        let name = format!("{} {}", op.method, op.path);
        if NOT_SWEPT.iter().any(|(m, p, _)| *m == op.method.as_str() && *p == op.path) {
            continue;
        }
        // Every slot B's; then, with two or more slots, each slot alone B's.
        let mut variants: Vec<Vec<&Objects>> = vec![op.slots.iter().map(|_| &b).collect()];
        if op.slots.len() >= 2 {
            for i in 0..op.slots.len() {
                variants.push((0..op.slots.len()).map(|j| if i == j { &b } else { &a }).collect());
            }
        }
        for owners in variants {
            let req = render(&doc, op, &owners, &a, &b);
            let r = call(&a_admin, &op.method, &req, &a_key).await;
            requests += 1;
            eprintln!(
                "{} {} {} {}",
                r.status.as_u16(),
                op.method,
                req.path,
                r.body["code"].as_str().unwrap_or("")
            );
            let status = r.status.as_u16();
            let b_in_path = op
                .slots
                .iter()
                .zip(&owners)
                .any(|(s, o)| matches!(s.place, Place::Path(_)) && std::ptr::eq(*o, &b));
            let b_slots: Vec<String> = op
                .slots
                .iter()
                .zip(&owners)
                .filter(|(_, o)| std::ptr::eq(**o, &b))
                .map(|(s, _)| format!("{:?}", s.place))
                .collect();
            let what = format!(
                "{name} as {} with B's ids in {b_slots:?}: {status} {}",
                req.path,
                r.text.chars().take(300).collect::<String>()
            );
            let expected = EXPECTED.iter().find(|(m, p, _, _)| *m == op.method.as_str() && *p == op.path);
            if r.status.is_server_error() {
                failures.push(format!("5xx: {what}"));
            } else if status == 401 && op.path != "/api/auth/login" {
                failures.push(format!("401 (the sweep lost A's session?): {what}"));
            } else if b_in_path && status != 404 && expected.is_none_or(|e| e.2 != status) {
                failures.push(format!("another tenant's id in the path must answer 404: {what}"));
            } else if r.status.is_client_error() && status != 404 && !op.documented.contains(&status) {
                failures.push(format!("undocumented {status}: {what}"));
            } else if r.status.is_success() {
                // What the request itself carried may be echoed (a lookup shows the number it
                // looked up); B's data around it may not.
                let mut shown = r.text.clone();
                for (slot, o) in op.slots.iter().zip(&owners) {
                    if std::ptr::eq(*o, &b) && matches!(slot.kind, Phone | Account) {
                        shown = shown.replace(&text(b.get(slot.kind)), "<sent>");
                    }
                }
                if let Some(l) = b_leaks.iter().find(|l| shown.contains(l.as_str())) {
                    failures.push(format!("B's data ({l}) in a 2xx: {what}"));
                }
                for (prop, id) in &req.sent {
                    let mut found = Vec::new();
                    find_key(&r.body, prop, &mut found);
                    if found.iter().any(|v| holds(v, id)) {
                        failures.push(format!("B's id {id} accepted into `{prop}`: {what}"));
                    }
                }
            }
        }
    }

    let me = a_admin.get("/api/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "A's session survived the sweep");
    let after = snapshot(&doc, &ops, &b_admin, &b, &b_key).await;
    for (path, was) in &before {
        let now = &after[path];
        if was != now {
            failures
                .push(format!("B's {path} changed during the sweep:\n  before {was:?}\n  after  {now:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed the sweep:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "sweep: {} operations, {requests} requests, {} not swept: {NOT_SWEPT:?}",
        ops.len(),
        NOT_SWEPT.len()
    );
}
