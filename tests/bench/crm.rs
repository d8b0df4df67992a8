//! `callbase-bench crm`: one tenant with 1 000 000 clients in "Clients", written through the same
//! checks and batch writer as the API and the CSV import; then, through the HTTP API of the
//! release server (session, tenant transaction, JSON included) and at the database alone:
//! phone lookup, a filtered page, a sorted page and the quick search, p50/p95 over 300 requests
//! each with varied inputs.

use std::collections::HashMap;
use std::time::Instant;

use callbase_core::{TableId, TenantId};
use callbase_crm::repo;
use callbase_crm::write::build_write;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::{pct, Server};

const CLIENTS: usize = 1_000_000;
const BATCH: usize = 5_000;
const SAMPLES: usize = 300;

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

async fn seed(tenant: TenantId, table: TableId, users: &[(i64, String)]) -> anyhow::Result<()> {
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
    let batches: Vec<usize> = (0..CLIENTS / BATCH).collect();
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
                    v.insert(f_status.clone(), Value::String(STATUS[mix(i, 3) % 4].into()));
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
    eprintln!("seeded {CLIENTS} clients in {:.0} s", started.elapsed().as_secs_f64());
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

fn ms(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (pct(&xs, 0.5), pct(&xs, 0.95))
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
    eprintln!("seeding {CLIENTS} clients…");
    seed(tenant, TableId(table), &users).await?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    type Gen = Box<dyn FnMut(&mut rand::rngs::StdRng) -> String>;
    let filters_client = enc(&json!([{"field": f_status, "op": "equals", "value": "client"}]).to_string());
    let cases: Vec<(&str, &str, Gen)> = vec![
        (
            "phone lookup (GET /api/crm/lookup, number as typed)",
            "≤ 5 ms",
            Box::new(|r: &mut rand::rngs::StdRng| {
                format!("/api/crm/lookup?number={}", enc(&phone(r.gen_range(0..CLIENTS))))
            }),
        ),
        (
            "filtered page (status = client, sorted by name, pages 1–20)",
            "≤ 20 ms",
            Box::new(move |r: &mut rand::rngs::StdRng| {
                format!(
                    "/api/crm/tables/{table}/records?sort={f_name}&filters={filters_client}&page={}",
                    r.gen_range(1..=20)
                )
            }),
        ),
        (
            "sorted page (by phone, descending, pages 1–20)",
            "≤ 20 ms",
            Box::new(move |r: &mut rand::rngs::StdRng| {
                format!(
                    "/api/crm/tables/{table}/records?sort={f_phone}&desc=true&page={}",
                    r.gen_range(1..=20)
                )
            }),
        ),
        (
            "quick search (a client's name and number, or 7 digits of a phone)",
            "≤ 20 ms",
            Box::new(move |r: &mut rand::rngs::StdRng| {
                let i = r.gen_range(0..CLIENTS);
                let q = if r.gen_bool(0.5) { name(i).to_lowercase() } else { e164(i)[5..12].to_string() };
                format!("/api/crm/tables/{table}/records?q={}", enc(&q))
            }),
        ),
    ];
    println!("\n## CRM at {CLIENTS} clients (one tenant, release server, 2 cores)\n");
    println!("| request | p50 | p95 | goal |");
    println!("|---|---|---|---|");
    for (what, goal, mut gen) in cases {
        // Warm-up, then the measured requests (one at a time).
        for _ in 0..20 {
            let r = admin.get(&gen(&mut rng)).await;
            assert_eq!(r.status, reqwest::StatusCode::OK, "{what}: {}", r.text);
        }
        let mut xs = Vec::with_capacity(SAMPLES);
        let mut found = 0usize;
        for _ in 0..SAMPLES {
            let path = gen(&mut rng);
            let t0 = Instant::now();
            let r = admin.get(&path).await;
            xs.push(t0.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, reqwest::StatusCode::OK, "{what}: {}", r.text);
            let n = r.body["matches"].as_array().or(r.body["records"].as_array()).map_or(0, |a| a.len());
            found += usize::from(n > 0);
        }
        assert_eq!(found, SAMPLES, "{what}: every request found something");
        let (p50, p95) = ms(xs);
        println!("| {what} | {p50:.1} ms | **{p95:.1} ms** | {goal} |");
    }

    // The lookup at the database alone (what the call card and caller matching wait for).
    let db = callbase_db::Db::new(callbase_tests::app_pool().await);
    let mut tx = db.tenant_tx(tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    tx.commit().await?;
    let mut xs = Vec::new();
    for k in 0..SAMPLES + 20 {
        let e = e164(rng.gen_range(0..CLIENTS));
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
    drop(server);
    Ok(())
}
