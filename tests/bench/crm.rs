//! `callbase-bench crm`: one tenant with 1 000 000 clients in "Clients" (`BENCH_CRM_CLIENTS`),
//! written through the same checks and batch writer as the API and the CSV import; then, through
//! the HTTP API of the release server (session, tenant transaction, JSON included) and at the
//! database alone: phone lookup, filtered and sorted pages walked by cursor as the CRM page does
//! (to page 20 and to page 200), the same page 200 by offset, a filter anti-correlated with the
//! sort order, and the quick search — p50/p95 over about 300 requests each with varied inputs,
//! three rounds.

use std::collections::HashMap;
use std::time::Instant;

use callbase_core::{TableId, TenantId};
use callbase_crm::repo;
use callbase_crm::write::build_write;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::{pct, Server};

const BATCH: usize = 5_000;
const SAMPLES: usize = 300;
const ROUNDS: usize = 3;

/// The table sizes measured, in order (`BENCH_CRM_CLIENTS`, comma-separated: the table grows
/// from one to the next): 1 000 000 by default.
fn sizes() -> Vec<usize> {
    let v = std::env::var("BENCH_CRM_CLIENTS").unwrap_or_default();
    let s: Vec<usize> = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    if s.is_empty() {
        vec![1_000_000]
    } else {
        s
    }
}

const FIRST: [&str; 20] = [
    "Anna", "Boris", "Clara", "Dmitry", "Elena", "Fedor", "Galina", "Igor", "Irina", "Kirill", "Larisa",
    "Maxim", "Natalia", "Oleg", "Polina", "Roman", "Svetlana", "Timur", "Ulyana", "Viktor",
];
const LAST: [&str; 50] = [
    "Ivanov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Vasiliev",
    "Petrov",
    "Sokolov",
    "Mikhailov",
    "Novikov",
    "Fedorov",
    "Morozov",
    "Volkov",
    "Alekseev",
    "Lebedev",
    "Semenov",
    "Egorov",
    "Pavlov",
    "Kozlov",
    "Stepanov",
    "Nikolaev",
    "Orlov",
    "Andreev",
    "Makarov",
    "Nikitin",
    "Zakharov",
    "Zaitsev",
    "Soloviev",
    "Borisov",
    "Yakovlev",
    "Grigoriev",
    "Romanov",
    "Vorobiev",
    "Sergeev",
    "Kuzmin",
    "Frolov",
    "Alexandrov",
    "Dmitriev",
    "Korolev",
    "Gusev",
    "Kiselev",
    "Ilyin",
    "Maksimov",
    "Polyakov",
    "Sorokin",
    "Vinogradov",
    "Kovalev",
    "Belov",
    "Medvedev",
    "Antonov",
    "Tarasov",
];
const STATUS: [&str; 4] = ["new", "in progress", "client", "lost"];

/// The status of client `i`: "new", "in progress" and "client" spread evenly and uncorrelated
/// with anything; "lost" for one client in twenty named Viktor (0.25 %) — the last first name in name
/// order, so "status = lost, sorted by name" has every match at the end of the order.
fn status(i: usize) -> &'static str {
    if FIRST[mix(i, 1) % FIRST.len()] == "Viktor" && mix(i, 5).is_multiple_of(20) {
        "lost"
    } else {
        STATUS[mix(i, 3) % 3]
    }
}

fn phone(i: usize) -> String {
    // Unique mobile numbers, written the way people type them.
    let n = 9_000_000_000u64 + (i as u64 * 7_919) % 1_000_000_000;
    let s = n.to_string();
    match i % 3 {
        0 => format!("+7 {} {}-{}-{}", &s[0..3], &s[3..6], &s[6..8], &s[8..10]),
        1 => format!("8 ({}) {}{}{}", &s[0..3], &s[3..6], &s[6..8], &s[8..10]),
        _ => format!("7{s}"),
    }
}

fn e164(i: usize) -> String {
    format!("+7{}", 9_000_000_000u64 + (i as u64 * 7_919) % 1_000_000_000)
}

/// A well-mixed function of `i`, so that names, statuses and managers are not correlated.
fn mix(i: usize, salt: u64) -> usize {
    let mut x = (i as u64) ^ salt;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 32)) as usize
}

fn name(i: usize) -> String {
    format!("{} {} {}", FIRST[mix(i, 1) % FIRST.len()], LAST[mix(i, 2) % LAST.len()], i)
}

/// Adds clients `from..to`.
async fn seed(
    tenant: TenantId,
    table: TableId,
    users: &[(i64, String)],
    from: usize,
    to: usize,
) -> anyhow::Result<()> {
    let app_pool = callbase_tests::app_pool().await;
    let db = callbase_db::Db::new(app_pool);
    let mut tx = db.tenant_tx(tenant).await?;
    let fields = repo::fields::of_table(&mut tx, tenant, table).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    tx.commit().await?;
    let id = |n: &str| fields.iter().find(|f| f.name == n).unwrap().key();
    let (f_name, f_phone, f_mail, f_status, f_manager) =
        (id("Name"), id("Phone"), id("E-mail"), id("Status"), id("Manager"));
    let names: HashMap<i64, String> = users.iter().cloned().collect();
    let started = Instant::now();
    let batches: Vec<usize> = (from / BATCH..to / BATCH).collect();
    // Two writers (the machine has two cores).
    let mut handles = Vec::new();
    for part in 0..2 {
        let (db, fields, rules, names) = (db.clone(), fields.clone(), rules.clone(), names.clone());
        let (f_name, f_phone, f_mail, f_status, f_manager) =
            (f_name.clone(), f_phone.clone(), f_mail.clone(), f_status.clone(), f_manager.clone());
        let mine: Vec<usize> = batches.iter().copied().filter(|b| b % 2 == part).collect();
        let user_ids: Vec<i64> = users.iter().map(|u| u.0).collect();
        handles.push(tokio::spawn(async move {
            for b in mine {
                let mut writes = Vec::with_capacity(BATCH);
                for i in b * BATCH..(b + 1) * BATCH {
                    let mut v = serde_json::Map::new();
                    v.insert(f_name.clone(), Value::String(name(i)));
                    v.insert(f_phone.clone(), Value::String(phone(i)));
                    v.insert(f_mail.clone(), Value::String(format!("client{i}@example.com")));
                    v.insert(f_status.clone(), Value::String(status(i).into()));
                    v.insert(f_manager.clone(), Value::from(user_ids[mix(i, 4) % user_ids.len()]));
                    writes.push(
                        build_write(&fields, &rules, &v, &|id| names.get(&id).cloned())
                            .expect("valid client"),
                    );
                }
                let mut tx = db.tenant_tx(tenant).await.expect("tx");
                repo::records::insert(&mut tx, tenant, table, &writes, None).await.expect("insert");
                tx.commit().await.expect("commit");
            }
        }));
    }
    for h in handles {
        h.await?;
    }
    eprintln!("seeded clients {from}..{to} in {:.0} s", started.elapsed().as_secs_f64());
    // What autovacuum does after a bulk load (statistics, and the visibility map that lets list
    // queries answer from the indexes alone); the owner role may vacuum.
    let owner = sqlx::PgPool::connect(&callbase_tests::env("CALLBASE__DATABASE__ADMIN_URL")).await?;
    sqlx::query("VACUUM ANALYZE crm_records, crm_values, crm_phones").execute(&owner).await?;
    Ok(())
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs
}

fn ms(xs: Vec<f64>) -> (f64, f64) {
    let xs = sorted(xs);
    (pct(&xs, 0.5), pct(&xs, 0.95))
}

type Gen = Box<dyn FnMut(&mut rand::rngs::StdRng) -> String>;
type Rounds = Vec<(f64, f64)>;

/// One kind of request: one request each time (so many times), or a list walked page after page
/// by cursor (the CRM page's pager) from page 1 to the given page, again until about [`SAMPLES`]
/// requests.
enum Case {
    One(Gen, usize),
    Walk(String, usize),
}

/// Walks `base` by cursor from page 1 to `pages` (one warm-up walk of up to 20 pages first), until
/// about [`SAMPLES`] requests; the time of each. Every page is full.
async fn walk(admin: &callbase_tests::Browser, base: &str, pages: usize) -> Vec<f64> {
    let mut xs = Vec::with_capacity(SAMPLES);
    let mut warm = true;
    while xs.len() < SAMPLES {
        let mut after: Option<String> = None;
        for page in 1..=(if warm { pages.min(20) } else { pages }) {
            let cursor = after.as_deref().map(|a| format!("&after={}", enc(a))).unwrap_or_default();
            let path = format!("{base}&page={page}{cursor}");
            let t0 = Instant::now();
            let r = admin.get(&path).await;
            let took = t0.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(r.status, reqwest::StatusCode::OK, "{path}: {}", r.text);
            assert_eq!(r.body["records"].as_array().map_or(0, |a| a.len()), 50, "{path}: a full page");
            after = Some(r.body["next"].as_str().expect("a full page has a next").to_string());
            if !warm {
                xs.push(took);
            }
        }
        warm = false;
    }
    xs
}

pub async fn run(server: Server) -> anyhow::Result<()> {
    let app = callbase_tests::TestApp::attach(&server.base).await;
    let (admin, t) = app.new_tenant().await;
    let tenant = TenantId(t.id);
    // A few managers.
    let mut users = vec![(t.admin_id, "Boss".to_string())];
    for m in ["maria", "pavel", "sergey"] {
        let r = admin
            .post("/api/users", json!({"login": m, "name": format!("Manager {m}"), "email": format!("{m}@example.com"), "password": "Agent-pass-12345"}))
            .await;
        users.push((r.body["id"].as_i64().unwrap(), format!("Manager {m}")));
    }
    let tables = admin.get("/api/crm/tables").await.body;
    let table = tables[0]["id"].as_i64().unwrap();
    let fid = |n: &str| {
        tables[0]["fields"].as_array().unwrap().iter().find(|f| f["name"] == n).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (f_name, f_status, f_phone) = (fid("Name"), fid("Status"), fid("Phone"));
    let mut seeded = 0;
    for n in sizes() {
        eprintln!("seeding clients {seeded}..{n}…");
        seed(tenant, TableId(table), &users, seeded, n).await?;
        seeded = n;
        measure(&admin, tenant, table, (f_name, f_status, f_phone), n).await?;
    }
    drop(server);
    Ok(())
}

/// The request kinds at a table of `n` clients, [`ROUNDS`] rounds: a markdown table.
async fn measure(
    admin: &callbase_tests::Browser,
    tenant: TenantId,
    table: i64,
    (f_name, f_status, f_phone): (i64, i64, i64),
    n: usize,
) -> anyhow::Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let filter = |v: &str| enc(&json!([{"field": f_status, "op": "equals", "value": v}]).to_string());
    let (client, lost) = (filter("client"), filter("lost"));
    let list = |q: String| format!("/api/crm/tables/{table}/records?{q}");
    // (what, goal, kind): a kind is one request each time, or a walk of pages by cursor.
    let cases: Vec<(&str, &str, Case)> = vec![
        (
            "phone lookup (GET /api/crm/lookup, number as typed)",
            "≤ 5 ms",
            Case::One(
                Box::new(move |r: &mut rand::rngs::StdRng| {
                    format!("/api/crm/lookup?number={}", enc(&phone(r.gen_range(0..n))))
                }),
                SAMPLES,
            ),
        ),
        (
            "filtered page by cursor (status = client, sorted by name, pages 1–20)",
            "≤ 20 ms",
            Case::Walk(list(format!("sort={f_name}&filters={client}")), 20),
        ),
        (
            "sorted page by cursor (by phone, descending, pages 1–20)",
            "≤ 20 ms",
            Case::Walk(list(format!("sort={f_phone}&desc=true")), 20),
        ),
        (
            "filtered page by cursor, deep (status = client, sorted by name, pages 1–200)",
            "≤ 20 ms",
            Case::Walk(list(format!("sort={f_name}&filters={client}")), 200),
        ),
        (
            "filtered page 200 by offset (status = client, sorted by name; the old pager)",
            "—",
            Case::One(
                Box::new(move |_r: &mut rand::rngs::StdRng| {
                    format!("/api/crm/tables/{table}/records?sort={f_name}&filters={client}&page=200")
                }),
                30,
            ),
        ),
        (
            "anti-correlated filter by cursor (status = lost: 0.25 %, all at the end of name order; pages 1–20)",
            "≤ 20 ms",
            Case::Walk(list(format!("sort={f_name}&filters={lost}")), 20),
        ),
        (
            "quick search (a client's name and number, or 7 digits of a phone)",
            "≤ 20 ms",
            Case::One(
                Box::new(move |r: &mut rand::rngs::StdRng| {
                    let i = r.gen_range(0..n);
                    let q = if r.gen_bool(0.5) { name(i).to_lowercase() } else { e164(i)[5..12].to_string() };
                    format!("/api/crm/tables/{table}/records?q={}", enc(&q))
                }),
                SAMPLES,
            ),
        ),
    ];
    // Each kind's (p50, p95) per round.
    let mut results: Vec<(String, String, Rounds)> = Vec::new();
    for (what, goal, _) in &cases {
        results.push((what.to_string(), goal.to_string(), Vec::new()));
    }
    let mut cases = cases;
    for round in 0..ROUNDS {
        for (c, (what, _, case)) in cases.iter_mut().enumerate() {
            let xs = match case {
                Case::One(gen, samples) => {
                    // Warm-up, then the measured requests (one at a time).
                    for _ in 0..(*samples / 10).max(3) {
                        let r = admin.get(&gen(&mut rng)).await;
                        assert_eq!(r.status, reqwest::StatusCode::OK, "{what}: {}", r.text);
                    }
                    let mut xs = Vec::with_capacity(*samples);
                    for _ in 0..*samples {
                        let path = gen(&mut rng);
                        let t0 = Instant::now();
                        let r = admin.get(&path).await;
                        xs.push(t0.elapsed().as_secs_f64() * 1000.0);
                        assert_eq!(r.status, reqwest::StatusCode::OK, "{what}: {}", r.text);
                        let found = r.body["matches"]
                            .as_array()
                            .or(r.body["records"].as_array())
                            .map_or(0, |a| a.len());
                        assert!(found > 0, "{what}: {path} found something");
                    }
                    xs
                }
                Case::Walk(base, pages) => walk(admin, base, *pages).await,
            };
            let (p50, p95) = ms(xs);
            eprintln!("round {}: {what}: p50 {p50:.1} ms, p95 {p95:.1} ms", round + 1);
            results[c].2.push((p50, p95));
        }
    }
    println!("\n## CRM at {n} clients (one tenant, release server, 2 cores; {ROUNDS} rounds)\n");
    println!("| request | p50 (median of rounds) | p95 min / median / max | goal |");
    println!("|---|---|---|---|");
    for (what, goal, rounds) in &results {
        let (p50s, p95s): (Vec<f64>, Vec<f64>) = rounds.iter().copied().unzip();
        let (p50s, p95s) = (sorted(p50s), sorted(p95s));
        let mid = |v: &[f64]| v[v.len() / 2];
        println!(
            "| {what} | {:.1} ms | {:.1} / **{:.1}** / {:.1} ms | {goal} |",
            mid(&p50s),
            p95s[0],
            mid(&p95s),
            p95s[p95s.len() - 1]
        );
    }

    // The lookup at the database alone (what the call card and caller matching wait for).
    let db = callbase_db::Db::new(callbase_tests::app_pool().await);
    let mut tx = db.tenant_tx(tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    tx.commit().await?;
    let mut xs = Vec::new();
    for k in 0..SAMPLES + 20 {
        let e = e164(rng.gen_range(0..n));
        let t0 = Instant::now();
        let mut tx = db.tenant_tx(tenant).await?;
        let m = callbase_crm::lookup::lookup_in(&mut tx, tenant, &rules, &e, callbase_crm::Reach::Exact)
            .await?
            .matches;
        tx.commit().await?;
        if k >= 20 {
            xs.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        assert_eq!(m.len(), 1, "{e}");
    }
    let (p50, p95) = ms(xs);
    println!("| phone lookup at the database (tenant transaction + indexed E.164 match) | {p50:.2} ms | **{p95:.2} ms** | ≤ 5 ms |");
    Ok(())
}
