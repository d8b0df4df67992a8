//! `callbase-bench reports`: one tenant with 10 000 000 ended calls over a year (50 agents, three
//! trunks, five queues, office-hours heavy), plus two other tenants with 500 000 calls each; then,
//! through the HTTP API of the release server, p50/p95 of a month's agent report, the month's
//! heatmap, the year's heatmap, a month's queue report and today's dashboard. Also: what the
//! aggregate trigger costs a call as it ends (100 000 calls inserted with and without it).
//!
//! The 10 M rows are written with one `INSERT … SELECT generate_series` per tenant with the
//! aggregate triggers off, then the aggregates are built in one `INSERT … SELECT … GROUP BY` — the
//! same rows the triggers write call by call (the API tests check the triggers; the figures here
//! are checked against `calls` for one month below).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::{pct, Server};

const CALLS: i64 = 10_000_000;
const OTHER_CALLS: i64 = 500_000;
const AGENTS: usize = 50;
const SAMPLES: usize = 200;

/// Ended calls for `tenant` over 2026, started mostly in office hours (08:00–20:00 UTC).
async fn seed_calls(
    pool: &sqlx::PgPool,
    tenant: i64,
    n: i64,
    users: &[i64],
    queues: &[i64],
) -> anyhow::Result<()> {
    // In chunks, so one statement's memory stays small and progress shows.
    let chunk = 1_000_000i64;
    let mut done = 0;
    while done < n {
        let k = chunk.min(n - done);
        let t0 = Instant::now();
        sqlx::query(
            "INSERT INTO calls (id, tenant_id, direction, user_id, number, trunk_slot, started_at, answered_at, ended_at,
                                result, hold_secs, wrapup_secs, queue_id, queued_at, queue_wait_ms, queue_outcome,
                                rang_out, phase)
             SELECT gen_random_uuid(), $1, dir, CASE WHEN ans THEN u END,
                    '+7916' || lpad((i % 10000000)::text, 7, '0'), (i % 3 + 1)::smallint,
                    s, CASE WHEN ans THEN s + interval '8 seconds' END,
                    s + interval '8 seconds' + CASE WHEN ans THEN make_interval(secs => talk) ELSE interval '0' END,
                    CASE WHEN ans THEN 'answered' WHEN dir = 'outbound' THEN 'busy' ELSE 'missed' END,
                    CASE WHEN ans AND i % 5 = 0 THEN 15 ELSE 0 END,
                    CASE WHEN ans THEN 5 + i % 40 END,
                    q, CASE WHEN q IS NOT NULL THEN s END,
                    CASE WHEN q IS NOT NULL THEN (i % 60) * 1000 END,
                    CASE WHEN q IS NULL THEN NULL WHEN ans THEN 'answered' ELSE 'abandoned' END,
                    CASE WHEN NOT ans AND dir = 'inbound' THEN ARRAY[u] ELSE '{}' END,
                    'ended'
             FROM (
                SELECT i,
                       CASE WHEN i % 10 < 6 THEN 'inbound' ELSE 'outbound' END AS dir,
                       (i * 7919) % 100 < 82 AS ans,
                       ($3::bigint[])[1 + (i * 31) % array_length($3, 1)] AS u,
                       CASE WHEN i % 10 < 3 THEN ($4::bigint[])[1 + i % array_length($4, 1)] END AS q,
                       10 + (i * 13) % 590 AS talk,
                       timestamptz '2026-01-01 00:00Z' + make_interval(days => ((i * 104729) % 365)::int)
                           + CASE WHEN i % 20 = 0 THEN make_interval(secs => (i * 7) % 86400)
                                  ELSE interval '8 hours' + make_interval(secs => (i * 7) % 43200) END AS s
                FROM generate_series($2::bigint, $2::bigint + $5::bigint - 1) i
             ) x",
        )
        .bind(tenant)
        .bind(done)
        .bind(users)
        .bind(queues)
        .bind(k)
        .execute(pool)
        .await?;
        done += k;
        eprintln!("  tenant {tenant}: {done}/{n} calls ({:.0} s for this chunk)", t0.elapsed().as_secs_f64());
    }
    Ok(())
}

/// A tenant with telephony on, `agents` telephony users and `queues` queues; returns its admin,
/// id, users and queues.
async fn tenant(
    app: &callbase_tests::TestApp,
    agents: usize,
    queues: usize,
) -> (callbase_tests::Browser, i64, Vec<i64>, Vec<i64>) {
    let (admin, t) = app.telephony_tenant().await;
    let mut users = vec![t.admin_id];
    for i in 1..agents {
        let login = format!("agent{i}");
        let r = admin
            .post("/api/users", json!({"login": login, "name": format!("Agent {i:02}"), "email": format!("{login}@example.com"), "password": "Agent-pass-12345"}))
            .await;
        let id = r.body["id"].as_i64().expect("user created");
        let r = admin.post("/api/telephony/users", json!({"user_id": id})).await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
        users.push(id);
    }
    let mut qs = vec![];
    for i in 0..queues {
        let members: Vec<_> = users.iter().skip(i * 10).take(10).map(|u| json!({"user": u})).collect();
        let r = admin
            .post(
                "/api/telephony/queues",
                json!({"name": format!("Queue {i}"), "strategy": "ring_all", "ring_secs": 15, "max_wait_secs": 300,
                       "max_callers": 50, "announce_position": false, "service_level_secs": 20, "overflow": "missed",
                       "members": members}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
        qs.push(r.body["id"].as_i64().unwrap());
    }
    (admin, t.id, users, qs)
}

pub async fn run(server: Server) -> anyhow::Result<()> {
    let app = callbase_tests::TestApp::attach(&server.base).await;
    let worker = callbase_tests::worker_pool().await;
    let owner = sqlx::PgPool::connect(&callbase_tests::env("CALLBASE__DATABASE__ADMIN_URL")).await?;
    let (admin, tid, users, queues) = tenant(&app, AGENTS, 5).await;
    let (_, o1, o1_users, o1_queues) = tenant(&app, 5, 1).await;
    let (_, o2, o2_users, o2_queues) = tenant(&app, 5, 1).await;

    // What the trigger costs an ended call: 100 000 calls of another tenant with it, 100 000 without.
    let t0 = Instant::now();
    seed_calls(&worker, o1, 100_000, &o1_users, &o1_queues).await?;
    let with = t0.elapsed().as_secs_f64();
    sqlx::query("ALTER TABLE calls DISABLE TRIGGER calls_stats_insert_delete").execute(&owner).await?;
    let t0 = Instant::now();
    seed_calls(&worker, o2, 100_000, &o2_users, &o2_queues).await?;
    let without = t0.elapsed().as_secs_f64();

    eprintln!("seeding {CALLS} calls (aggregate trigger off, aggregates built after)…");
    let started = Instant::now();
    seed_calls(&worker, tid, CALLS, &users, &queues).await?;
    seed_calls(&worker, o1, OTHER_CALLS - 100_000, &o1_users, &o1_queues).await?;
    seed_calls(&worker, o2, OTHER_CALLS - 100_000, &o2_users, &o2_queues).await?;
    // The aggregates of the calls seeded without the trigger (o1's first 100 000 have theirs).
    sqlx::query("DELETE FROM call_stats WHERE tenant_id = $1").bind(o1).execute(&worker).await?;
    let t0 = Instant::now();
    sqlx::query(
        "INSERT INTO call_stats (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, calls, answered, missed,
                                 failed, voicemails, talk_ms, hold_ms, wrapup_ms, wrapups, queued, queue_answered,
                                 answer_wait_ms, in_sl, abandoned, overflowed, callbacks)
         SELECT tenant_id, call_stats_bucket(started_at), coalesce(user_id, 0), coalesce(trunk_slot, 0),
                coalesce(queue_id, 0), direction, count(*), count(*) FILTER (WHERE answered_at IS NOT NULL),
                count(*) FILTER (WHERE answered_at IS NULL AND result = 'missed'),
                count(*) FILTER (WHERE answered_at IS NULL AND result IN ('busy', 'failed', 'refused')),
                count(*) FILTER (WHERE voicemail),
                coalesce(sum((extract(epoch FROM ended_at - answered_at) * 1000)::bigint), 0),
                sum(hold_secs::bigint * 1000), coalesce(sum(wrapup_secs::bigint * 1000), 0), count(wrapup_secs),
                count(queued_at), count(*) FILTER (WHERE queue_outcome = 'answered'),
                coalesce(sum(queue_wait_ms) FILTER (WHERE queue_outcome = 'answered'), 0),
                count(*) FILTER (WHERE queue_in_sl), count(*) FILTER (WHERE queue_outcome = 'abandoned'),
                count(*) FILTER (WHERE queue_outcome = 'overflow'), count(*) FILTER (WHERE queue_outcome = 'callback')
         FROM calls WHERE tenant_id = ANY($1) AND ended_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6",
    )
    .bind(vec![tid, o1, o2])
    .execute(&worker)
    .await?;
    // The agents a call rang out.
    sqlx::query(
        "INSERT INTO call_stats AS s (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, rang_out)
         SELECT tenant_id, call_stats_bucket(started_at), u, coalesce(trunk_slot, 0), coalesce(queue_id, 0), direction, count(*)
         FROM calls, unnest(rang_out) u WHERE tenant_id = ANY($1) GROUP BY 1, 2, 3, 4, 5, 6
         ON CONFLICT (tenant_id, bucket, user_id, trunk_slot, queue_id, direction) DO UPDATE SET rang_out = EXCLUDED.rang_out",
    )
    .bind(vec![tid, o1, o2])
    .execute(&worker)
    .await?;
    let build = t0.elapsed().as_secs_f64();
    sqlx::query("ALTER TABLE calls ENABLE TRIGGER calls_stats_insert_delete").execute(&owner).await?;
    sqlx::query("VACUUM ANALYZE calls, call_stats").execute(&owner).await?;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM call_stats WHERE tenant_id = $1")
        .bind(tid)
        .fetch_one(&worker)
        .await?;
    eprintln!(
        "seeded in {:.0} s; aggregates built in {build:.0} s: {rows} rows for the 10 M calls",
        started.elapsed().as_secs_f64()
    );

    // The aggregates agree with the calls: one month, counted both ways.
    let month = admin.get("/api/reports/agents?period=custom&from=2026-06-01&to=2026-06-30").await;
    assert_eq!(month.status, reqwest::StatusCode::OK, "{}", month.text);
    let (n, talk): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum((extract(epoch FROM ended_at - answered_at) * 1000)::bigint), 0)::bigint FROM calls
         WHERE tenant_id = $1 AND started_at >= '2026-06-01Z' AND started_at < '2026-07-01Z'",
    )
    .bind(tid)
    .fetch_one(&worker)
    .await?;
    assert_eq!(
        (month.body["totals"]["calls"].as_i64(), month.body["totals"]["talk_ms"].as_i64()),
        (Some(n), Some(talk))
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let month_of = |r: &mut rand::rngs::StdRng| {
        let m = r.gen_range(1..=12u8);
        let last = time::Month::try_from(m).unwrap().length(2026);
        format!("period=custom&from=2026-{m:02}-01&to=2026-{m:02}-{last:02}")
    };
    type Gen = Box<dyn FnMut(&mut rand::rngs::StdRng) -> String>;
    let cases: Vec<(&str, &str, Gen)> = vec![
        (
            "a month's agent report (50 agents, states, previous month)",
            "≤ 300 ms",
            Box::new(move |r| format!("/api/reports/agents?{}", month_of(r))),
        ),
        (
            "a month's weekday × hour heatmap",
            "≤ 300 ms",
            Box::new(move |r| format!("/api/reports/heatmap?{}", month_of(r))),
        ),
        (
            "the year's heatmap",
            "—",
            Box::new(|_| "/api/reports/heatmap?period=custom&from=2026-01-01&to=2026-12-31".into()),
        ),
        ("a month's queue report", "—", Box::new(move |r| format!("/api/reports/queues?{}", month_of(r)))),
        (
            "a month's calls per day (timeline)",
            "—",
            Box::new(move |r| format!("/api/reports/timeline?{}", month_of(r))),
        ),
        ("today's dashboard (team)", "—", Box::new(|_| "/api/reports/dashboard".into())),
    ];
    println!("\n## Reports at {CALLS} calls over a year (one tenant of three, release server, 2 cores)\n");
    println!("| request | p50 | p95 | goal |");
    println!("|---|---|---|---|");
    for (what, goal, mut gen) in cases {
        for _ in 0..10 {
            let r = admin.get(&gen(&mut rng)).await;
            assert_eq!(r.status, reqwest::StatusCode::OK, "{what}: {}", r.text);
        }
        let mut xs = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let path = gen(&mut rng);
            let t0 = Instant::now();
            let r = admin.get(&path).await;
            xs.push(t0.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, reqwest::StatusCode::OK, "{what}: {}", r.text);
        }
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("| {what} | {:.1} ms | **{:.1} ms** | {goal} |", pct(&xs, 0.5), pct(&xs, 0.95));
    }
    println!(
        "\nThe aggregate trigger: 100 000 ended calls inserted in {with:.1} s with it, {without:.1} s without \
         ({:.0} µs per call). Aggregate rows for the 10 M calls: {rows}.",
        (with - without) * 1e6 / 100_000.0
    );
    drop(server);
    Ok(())
}
