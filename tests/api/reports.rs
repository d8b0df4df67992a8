//! Reports (issue #20): each figure checked against calls made for the purpose — known talk, hold
//! and wrap-up times, answered and missed, per agent, queue, trunk and hour — across a period
//! boundary, in a time zone with a :30 offset and across a daylight-saving change; figures that
//! stay right when calls are edited after they end or deleted; two tenants; a masked viewer; and a
//! real call through the carrier that shows up in the report and its drill-down.

use std::time::Duration;

use callbase_tests::calls::agent_with_trunk;
use callbase_tests::sip::RingingPhone;
use callbase_tests::{worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::agent_states::{carrier_call, desk_agent, hang_up_carrier, set_state};
use crate::users::{create_user, group_id};

/// One ended call to insert as the call control writes it.
struct Call {
    direction: &'static str,
    user: Option<i64>,
    /// RFC 3339.
    start: &'static str,
    /// Seconds from start to answer (none: not answered).
    answer_after: Option<i64>,
    /// Seconds talked (answered), or rung (not answered).
    secs: i64,
    hold: i32,
    wrapup: Option<i32>,
    result: &'static str,
    trunk: Option<i16>,
    /// Queue id, ms waited, how it left.
    queue: Option<(i64, i32, &'static str)>,
    rang_out: Vec<i64>,
    number: &'static str,
}

impl Default for Call {
    fn default() -> Self {
        Call {
            direction: "inbound",
            user: None,
            start: "",
            answer_after: None,
            secs: 0,
            hold: 0,
            wrapup: None,
            result: "missed",
            trunk: Some(1),
            queue: None,
            rang_out: vec![],
            number: "+919876543210",
        }
    }
}

async fn insert(db: &PgPool, tenant: i64, c: Call) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, user_id, number, trunk_slot, started_at, answered_at, ended_at,
                            result, hold_secs, wrapup_secs, queue_id, queued_at, queue_wait_ms, queue_outcome,
                            rang_out, phase)
         SELECT $1, $2, $3, $4, $5, $6, s, s + make_interval(secs => $8::int),
                s + make_interval(secs => coalesce($8::int, 0) + $9::int),
                $10, $11, $12, $13, CASE WHEN $13::bigint IS NOT NULL THEN s END, $14, $15, $16, 'ended'
         FROM (SELECT $7::timestamptz AS s) x",
    )
    .bind(id)
    .bind(tenant)
    .bind(c.direction)
    .bind(c.user)
    .bind(c.number)
    .bind(c.trunk)
    .bind(c.start)
    .bind(c.answer_after.map(|a| a as i32))
    .bind(c.secs as i32)
    .bind(c.result)
    .bind(c.hold)
    .bind(c.wrapup)
    .bind(c.queue.map(|q| q.0))
    .bind(c.queue.map(|q| q.1))
    .bind(c.queue.map(|q| q.2))
    .bind(&c.rang_out)
    .execute(db)
    .await
    .expect("the call is stored");
    id
}

async fn report(b: &Browser, path: &str) -> Value {
    let r = b.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.body
}

fn agent(rep: &Value, user: i64) -> &Value {
    rep["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == user)
        .unwrap_or_else(|| panic!("{user} in {rep}"))
}

async fn set_zone(admin: &Browser, zone: &str) {
    let r =
        admin.put("/api/telephony/hours", json!({"enabled": false, "time_zone": zone, "weekly": []})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn telephony_user(admin: &Browser, login: &str) -> i64 {
    let id = create_user(admin, login, &[group_id(admin, "Agent").await]).await["id"].as_i64().unwrap();
    let r = admin.post("/api/telephony/users", json!({"user_id": id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id
}

/// Asia/Kolkata is UTC+5:30: a report grouped by UTC hours would put 09:10 local in hour 8 and a
/// call at 00:10 local in the day before.
#[tokio::test]
async fn each_figure_matches_the_calls_made_for_it_in_a_half_hour_time_zone() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    set_zone(&admin, "Asia/Kolkata").await;
    let anna = telephony_user(&admin, "anna").await;
    let boris = telephony_user(&admin, "boris").await;
    let r = admin
        .post(
            "/api/telephony/queues",
            json!({"name": "Sales", "strategy": "ring_all", "ring_secs": 8, "max_wait_secs": 120, "max_callers": 10,
                   "announce_position": false, "service_level_secs": 20, "overflow": "missed",
                   "members": [{"user": anna}, {"user": boris}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sales = r.body["id"].as_i64().unwrap();
    let db = worker_pool().await;
    let tn = t.id;

    // 2026-03-10 (a Tuesday) in Kolkata is 2026-03-09T18:30Z .. 2026-03-10T18:30Z.
    // Anna answers an inbound call at 09:10 local: 120 s talk, 20 s hold, 30 s wrap-up, trunk 1.
    insert(
        &db,
        tn,
        Call {
            user: Some(anna),
            start: "2026-03-10T03:40:00Z",
            answer_after: Some(10),
            secs: 120,
            hold: 20,
            wrapup: Some(30),
            result: "answered",
            ..Default::default()
        },
    )
    .await;
    // 12:20 local: a caller waits 40 s in Sales, rings Anna and Boris out and hangs up.
    insert(
        &db,
        tn,
        Call {
            start: "2026-03-10T06:50:00Z",
            secs: 40,
            queue: Some((sales, 40_000, "abandoned")),
            rang_out: vec![anna, boris],
            ..Default::default()
        },
    )
    .await;
    // 12:35 local: Boris answers a Sales caller after 5 s (within the 20 s service level): 45 s talk.
    insert(
        &db,
        tn,
        Call {
            user: Some(boris),
            start: "2026-03-10T07:05:00Z",
            answer_after: Some(5),
            secs: 45,
            wrapup: Some(10),
            result: "answered",
            queue: Some((sales, 5_000, "answered")),
            ..Default::default()
        },
    )
    .await;
    // 12:50 local: Boris answers another after 30 s (outside it): 15 s talk.
    insert(
        &db,
        tn,
        Call {
            user: Some(boris),
            start: "2026-03-10T07:20:00Z",
            answer_after: Some(30),
            secs: 15,
            result: "answered",
            queue: Some((sales, 30_000, "answered")),
            ..Default::default()
        },
    )
    .await;
    // 23:40 local: Anna calls out on trunk 2 and talks 60 s.
    insert(
        &db,
        tn,
        Call {
            direction: "outbound",
            user: Some(anna),
            start: "2026-03-10T18:10:00Z",
            answer_after: Some(4),
            secs: 60,
            result: "answered",
            trunk: Some(2),
            ..Default::default()
        },
    )
    .await;
    // 23:50 local: Anna's outbound call is busy on trunk 2.
    insert(
        &db,
        tn,
        Call {
            direction: "outbound",
            user: Some(anna),
            start: "2026-03-10T18:20:00Z",
            secs: 3,
            result: "busy",
            trunk: Some(2),
            ..Default::default()
        },
    )
    .await;
    // 00:10 local on the 11th (still the 10th in UTC): not in the 10th's report.
    insert(
        &db,
        tn,
        Call {
            direction: "outbound",
            user: Some(anna),
            start: "2026-03-10T18:40:00Z",
            answer_after: Some(2),
            secs: 500,
            result: "answered",
            trunk: Some(2),
            ..Default::default()
        },
    )
    .await;
    // 23:55 local on the 9th (the 9th's 18:25Z): the previous period.
    insert(
        &db,
        tn,
        Call {
            direction: "outbound",
            user: Some(boris),
            start: "2026-03-09T18:25:00Z",
            answer_after: Some(1),
            secs: 10,
            result: "answered",
            trunk: Some(3),
            ..Default::default()
        },
    )
    .await;

    let day = "period=custom&from=2026-03-10&to=2026-03-10";
    let rep = report(&admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!(rep["period"]["starts_at"], "2026-03-09T18:30:00Z", "{}", rep["period"]);
    assert_eq!(rep["period"]["ends_at"], "2026-03-10T18:30:00Z");
    assert_eq!(rep["period"]["time_zone"], "Asia/Kolkata");
    let a = &agent(&rep, anna)["figures"];
    assert_eq!(
        (&a["inbound"], &a["inbound_answered"], &a["rang_out"], &a["outbound"], &a["outbound_answered"]),
        (&json!(1), &json!(1), &json!(1), &json!(2), &json!(1)),
        "Anna: {a}"
    );
    assert_eq!(
        (&a["talk_ms"], &a["hold_ms"], &a["wrapup_ms"], &a["wrapups"]),
        (&json!(180_000), &json!(20_000), &json!(30_000), &json!(1))
    );
    let b = &agent(&rep, boris)["figures"];
    assert_eq!(
        (&b["inbound_answered"], &b["rang_out"], &b["talk_ms"], &b["outbound"]),
        (&json!(2), &json!(1), &json!(60_000), &json!(0)),
        "Boris: {b}"
    );
    let tot = &rep["totals"];
    assert_eq!(
        (&tot["calls"], &tot["inbound"], &tot["missed"], &tot["outbound"], &tot["failed"]),
        (&json!(6), &json!(4), &json!(1), &json!(2), &json!(1)),
        "{tot}"
    );
    assert_eq!(tot["talk_ms"], 240_000);
    assert_eq!(
        (&rep["previous"]["calls"], &rep["previous"]["talk_ms"]),
        (&json!(1), &json!(10_000)),
        "{}",
        rep["previous"]
    );
    assert_eq!(rep["period"]["previous_from"], "2026-03-09");

    let q = report(&admin, &format!("/api/reports/queues?{day}")).await;
    let s = &q["queues"].as_array().unwrap().iter().find(|x| x["queue_id"] == sales).unwrap()["figures"];
    assert_eq!(
        (&s["queued"], &s["queue_answered"], &s["abandoned"], &s["in_service_level"], &s["answer_wait_ms"]),
        (&json!(3), &json!(2), &json!(1), &json!(1), &json!(35_000)),
        "Sales: {s}"
    );

    let tr = report(&admin, &format!("/api/reports/trunks?{day}")).await;
    let slot = |n: i64| {
        tr["trunks"].as_array().unwrap().iter().find(|x| x["slot"] == n).map(|x| x["figures"].clone())
    };
    let one = slot(1).unwrap();
    assert_eq!(
        (&one["calls"], &one["inbound"], &one["talk_ms"]),
        (&json!(4), &json!(4), &json!(180_000)),
        "{tr}"
    );
    let two = slot(2).unwrap();
    assert_eq!(
        (&two["calls"], &two["outbound"], &two["failed"], &two["talk_ms"]),
        (&json!(2), &json!(2), &json!(1), &json!(60_000))
    );

    // Per local hour: 09 one call, 12 three, 23 two; 24 points, the previous day's beside them.
    let tl = report(&admin, &format!("/api/reports/timeline?{day}")).await;
    assert_eq!(tl["unit"], "hour");
    let pts = tl["points"].as_array().unwrap();
    assert_eq!(pts.len(), 24);
    let calls_at = |h: usize| pts[h]["figures"]["calls"].as_i64().unwrap();
    assert_eq!(pts[9]["at"], "2026-03-10T09:00");
    assert_eq!((calls_at(8), calls_at(9), calls_at(12), calls_at(23)), (0, 1, 3, 2), "{}", tl["points"]);
    assert_eq!(tl["previous"][23]["figures"]["calls"], 1);

    let hm = report(&admin, &format!("/api/reports/heatmap?{day}")).await;
    let cell = |d: i64, h: i64| {
        hm["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["weekday"] == d && c["hour"] == h)
            .map(|c| c["figures"]["calls"].clone())
    };
    assert_eq!(
        (cell(2, 9), cell(2, 12), cell(2, 23), cell(2, 8)),
        (Some(json!(1)), Some(json!(3)), Some(json!(2)), None),
        "{hm}"
    );

    // Filters: one agent, one trunk, one direction, a group.
    let f = report(&admin, &format!("/api/reports/agents?{day}&user_id={boris}")).await;
    assert_eq!((f["agents"].as_array().unwrap().len(), &f["totals"]["calls"]), (1, &json!(2)));
    let f = report(&admin, &format!("/api/reports/agents?{day}&trunk=2&direction=outbound")).await;
    assert_eq!(f["totals"]["calls"], 2);
    let f = report(&admin, &format!("/api/reports/agents?{day}&queue_id={sales}")).await;
    assert_eq!(f["totals"]["calls"], 3);

    // The drill-down: the calls behind a figure, with the filters the report page links with.
    let (from, to) =
        (rep["period"]["starts_at"].as_str().unwrap(), rep["period"]["ends_at"].as_str().unwrap());
    let calls = |q: String| {
        let admin = &admin;
        async move { report(admin, &format!("/api/calls?from={from}&to={to}&{q}")).await["total"].clone() }
    };
    assert_eq!(calls(format!("rang_out={anna}")).await, 1);
    assert_eq!(calls(format!("queue_id={sales}&in_service_level=true")).await, 1);
    assert_eq!(calls(format!("queue_id={sales}&queue_outcome=abandoned")).await, 1);
    assert_eq!(calls("trunk=2&failed=true".into()).await, 1);
    assert_eq!(calls("weekday=2&hour=12".into()).await, 3);
    assert_eq!(calls(format!("user_id={anna}&answered=true")).await, 2);
    // The heatmap's cell of hour 9 holds the 09:10 local call (03:40Z), not hour 3.
    assert_eq!(calls("weekday=2&hour=9".into()).await, 1);
}

/// A call's figures follow its edits after it ended (the card's wrap-up, a late hold, another
/// agent) and leave with it (retention, telephony turned off).
#[tokio::test]
async fn figures_follow_calls_edited_after_they_end_and_deleted() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let anna = telephony_user(&admin, "anna").await;
    let boris = telephony_user(&admin, "boris").await;
    let db = worker_pool().await;
    let day = "period=custom&from=2026-05-04&to=2026-05-04";
    let id = insert(
        &db,
        t.id,
        Call {
            user: Some(anna),
            start: "2026-05-04T10:00:00Z",
            answer_after: Some(3),
            secs: 100,
            result: "answered",
            ..Default::default()
        },
    )
    .await;
    let other = insert(
        &db,
        t.id,
        Call {
            user: Some(anna),
            start: "2026-05-04T10:05:00Z",
            answer_after: Some(3),
            secs: 50,
            result: "answered",
            ..Default::default()
        },
    )
    .await;
    let rep = report(&admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!(
        (&agent(&rep, anna)["figures"]["talk_ms"], &agent(&rep, anna)["figures"]["wrapups"]),
        (&json!(150_000), &json!(0))
    );

    // The card writes the wrap-up after the call ended; a supervisor's correction moves it to Boris.
    sqlx::query("UPDATE calls SET wrapup_secs = 42, hold_secs = 7 WHERE id = $1")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    let rep = report(&admin, &format!("/api/reports/agents?{day}")).await;
    let a = &agent(&rep, anna)["figures"];
    assert_eq!(
        (&a["wrapup_ms"], &a["wrapups"], &a["hold_ms"]),
        (&json!(42_000), &json!(1), &json!(7_000)),
        "{a}"
    );
    sqlx::query("UPDATE calls SET user_id = $2 WHERE id = $1")
        .bind(id)
        .bind(boris)
        .execute(&db)
        .await
        .unwrap();
    let rep = report(&admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!(agent(&rep, anna)["figures"]["talk_ms"], 50_000);
    assert_eq!(
        (&agent(&rep, boris)["figures"]["talk_ms"], &agent(&rep, boris)["figures"]["wrapup_ms"]),
        (&json!(100_000), &json!(42_000))
    );
    // A change the reports do not read leaves them as they were.
    sqlx::query("UPDATE calls SET note = 'VIP' WHERE id = $1").bind(id).execute(&db).await.unwrap();
    assert_eq!(report(&admin, &format!("/api/reports/agents?{day}")).await["totals"]["calls"], 2);

    // Retention deletes one: it leaves the figures, and its empty aggregate row goes.
    sqlx::query("DELETE FROM calls WHERE id = $1").bind(other).execute(&db).await.unwrap();
    let rep = report(&admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!((&rep["totals"]["calls"], &agent(&rep, anna)["figures"]["calls"]), (&json!(1), &json!(0)));
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM call_stats WHERE tenant_id = $1 AND user_id = $2")
            .bind(t.id)
            .bind(anna)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(rows, 0, "no empty aggregate rows stay behind");

    // Turning telephony off deletes the tenant's calls, and the figures with them.
    assert_eq!(
        admin.post("/api/telephony/disable", json!({"confirm_account": t.account})).await.status,
        StatusCode::OK
    );
    let rep = report(&admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!(rep["totals"]["calls"], 0, "{}", rep["totals"]);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM call_stats WHERE tenant_id = $1")
        .bind(t.id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

/// Europe/Berlin moves its clocks from 02:00 to 03:00 on 2026-03-29: that day has 23 hours, and a
/// call at 00:30 local (23:30Z the day before) belongs to it.
#[tokio::test]
async fn days_and_hours_follow_the_zone_across_a_daylight_saving_change() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    set_zone(&admin, "Europe/Berlin").await;
    let anna = telephony_user(&admin, "anna").await;
    let db = worker_pool().await;
    for start in [
        "2026-03-28T22:30:00Z", // 23:30 CET on the 28th
        "2026-03-28T23:30:00Z", // 00:30 CET on the 29th
        "2026-03-29T01:30:00Z", // 03:30 CEST on the 29th
        "2026-03-29T21:30:00Z", // 23:30 CEST on the 29th
        "2026-03-29T22:15:00Z", // 00:15 CEST on the 30th
    ] {
        insert(
            &db,
            t.id,
            Call {
                direction: "outbound",
                user: Some(anna),
                start,
                answer_after: Some(1),
                secs: 10,
                result: "answered",
                ..Default::default()
            },
        )
        .await;
    }
    let rep = report(&admin, "/api/reports/timeline?period=custom&from=2026-03-29&to=2026-03-29").await;
    assert_eq!(
        (&rep["period"]["starts_at"], &rep["period"]["ends_at"]),
        (&json!("2026-03-28T23:00:00Z"), &json!("2026-03-29T22:00:00Z"))
    );
    let at = |h: &str| {
        rep["points"].as_array().unwrap().iter().find(|p| p["at"] == format!("2026-03-29T{h}")).unwrap()
            ["figures"]["calls"]
            .clone()
    };
    assert_eq!(
        (at("00:00"), at("01:00"), at("03:00"), at("23:00")),
        (json!(1), json!(0), json!(1), json!(1)),
        "{}",
        rep["points"]
    );
    let total: i64 =
        rep["points"].as_array().unwrap().iter().map(|p| p["figures"]["calls"].as_i64().unwrap()).sum();
    assert_eq!(total, 3);
    // The heatmap puts them on Sunday (7) at their local hours.
    let hm = report(&admin, "/api/reports/heatmap?period=custom&from=2026-03-28&to=2026-03-30").await;
    let sunday: Vec<i64> = hm["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["weekday"] == 7)
        .map(|c| c["hour"].as_i64().unwrap())
        .collect();
    assert_eq!(sunday, vec![0, 3, 23], "{hm}");
    // A week across the change: a day per point.
    let week = report(&admin, "/api/reports/timeline?period=custom&from=2026-03-27&to=2026-04-02").await;
    assert_eq!(week["unit"], "day");
    let days: Vec<(String, i64)> = week["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["at"].as_str().unwrap().to_string(), p["figures"]["calls"].as_i64().unwrap()))
        .collect();
    assert_eq!(days.len(), 7);
    assert_eq!((days[1].1, days[2].1, days[3].1), (1, 3, 1), "{days:?}");
}

/// Reports are the tenant's only; an agent sees their own figures and nobody else's; bad input is
/// refused naming the parameter.
#[tokio::test]
async fn reports_are_for_the_tenant_agents_see_their_own_and_bad_input_is_named() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (other_admin, other) = app.telephony_tenant().await;
    let (maria, maria_id, _, _) = desk_agent(&app, &admin, &t.account, "maria").await;
    let db = worker_pool().await;
    insert(
        &db,
        t.id,
        Call {
            user: Some(maria_id),
            start: "2026-06-01T09:00:00Z",
            answer_after: Some(2),
            secs: 30,
            result: "answered",
            ..Default::default()
        },
    )
    .await;
    insert(
        &db,
        t.id,
        Call {
            user: Some(t.admin_id),
            start: "2026-06-01T09:30:00Z",
            answer_after: Some(2),
            secs: 70,
            result: "answered",
            ..Default::default()
        },
    )
    .await;
    insert(
        &db,
        other.id,
        Call {
            user: Some(other.admin_id),
            start: "2026-06-01T10:00:00Z",
            answer_after: Some(2),
            secs: 999,
            result: "answered",
            ..Default::default()
        },
    )
    .await;
    let day = "period=custom&from=2026-06-01&to=2026-06-01";
    let routes = ["agents", "queues", "trunks", "timeline", "heatmap"];

    // Each tenant's admin sees its own calls only, on every route and export.
    let mine = report(&admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!((&mine["totals"]["calls"], &mine["totals"]["talk_ms"]), (&json!(2), &json!(100_000)));
    let theirs = report(&other_admin, &format!("/api/reports/agents?{day}")).await;
    assert_eq!((&theirs["totals"]["calls"], &theirs["totals"]["talk_ms"]), (&json!(1), &json!(999_000)));
    assert!(theirs["agents"].as_array().unwrap().iter().all(|a| a["user_id"] != maria_id));
    for r in routes {
        let body =
            report(&other_admin, &format!("/api/reports/{r}?{day}&user_id={maria_id}")).await.to_string();
        assert!(!body.contains("\"calls\":1,"), "{r}: another tenant's agent's call shows: {body}");
        let csv = other_admin.get(&format!("/api/reports/export?report={r}&{day}")).await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
        assert!(!csv.text.contains("maria"), "{r}: {}", csv.text);
    }
    // Another tenant's group is no filter here.
    let groups = other_admin.get("/api/groups").await.body;
    let foreign_group = groups[0]["id"].as_i64().unwrap();
    let r = admin.get(&format!("/api/reports/agents?{day}&group_id={foreign_group}")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_group")),
        "{}",
        r.text
    );

    // Maria, an agent: her own figures, nobody else's, no queues or trunks.
    let own = report(&maria, &format!("/api/reports/agents?{day}")).await;
    assert_eq!(own["agents"].as_array().unwrap().len(), 1, "{own}");
    assert_eq!((&own["agents"][0]["user_id"], &own["totals"]["talk_ms"]), (&json!(maria_id), &json!(30_000)));
    assert_eq!(
        report(&maria, &format!("/api/reports/heatmap?{day}")).await["cells"][0]["figures"]["calls"],
        1
    );
    for path in [
        format!("/api/reports/agents?{day}&user_id={}", t.admin_id),
        format!("/api/reports/queues?{day}"),
        format!("/api/reports/trunks?{day}"),
        format!("/api/reports/export?report=trunks&{day}"),
    ] {
        let r = maria.get(&path).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_supervisor")),
            "{path}: {}",
            r.text
        );
    }
    let dash = report(&maria, "/api/reports/dashboard").await;
    assert!(dash["team"].is_null(), "an agent's dashboard has no team: {dash}");
    let dash = report(&admin, "/api/reports/dashboard").await;
    assert!(dash["team"]["agents"]["total"].as_i64().unwrap() >= 2, "{dash}");

    // Bad input: 422 naming the parameter.
    for (q, code, field) in [
        ("period=fortnight", "invalid_period", "period"),
        ("period=custom&from=2026-06-02&to=2026-06-01", "invalid_period", "to"),
        ("period=custom&from=2026-02-30&to=2026-03-01", "invalid_period", "from"),
        ("period=custom&from=2020-01-01&to=2026-03-01", "invalid_period", "to"),
        ("direction=sideways", "invalid_direction", "direction"),
        ("trunk=7", "invalid_trunk", "trunk"),
    ] {
        let r = admin.get(&format!("/api/reports/agents?{q}")).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{q}: {}",
            r.text
        );
        assert!(r.body["message"].as_str().unwrap().starts_with(field), "{q}: {}", r.text);
    }
    for (q, code) in [("report=everything", "invalid_report"), ("report=agents&format=pdf", "invalid_format")]
    {
        let r = admin.get(&format!("/api/reports/export?{q}")).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{q}: {}",
            r.text
        );
    }
}

/// Text of an XLSX file's sheets and shared strings.
fn xlsx_text(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx is a zip");
    let mut out = String::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        if f.name().ends_with(".xml") {
            f.read_to_string(&mut out).unwrap();
        }
    }
    out
}

/// A supervisor whose numbers are masked sees no caller's number in any report or export (there
/// are none to see: reports count calls, and the drill-down's list masks them).
#[tokio::test]
async fn a_masked_supervisor_sees_no_number_in_any_report_or_export() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let masked =
        admin.post("/api/groups", json!({"name": "Outsourced leads", "supervisor": true})).await.body["id"]
            .as_i64()
            .unwrap();
    let uid = create_user(&admin, "olga", &[masked]).await["id"].as_i64().unwrap();
    let tu = admin.post("/api/telephony/users", json!({"user_id": uid})).await;
    assert_eq!(tu.status, StatusCode::CREATED, "{}", tu.text);
    let mut s = admin.get("/api/crm/settings").await.body;
    s["mask_group_ids"] = json!([masked]);
    s["mask_mode"] = json!("prefix");
    s["mask_chars"] = json!(8);
    assert_eq!(admin.put("/api/crm/settings", s).await.status, StatusCode::OK);
    let olga = app.browser();
    assert_eq!(olga.login(&t.account, "olga", "Agent-pass-12345").await.status, StatusCode::OK);
    let db = worker_pool().await;
    let day = "period=custom&from=2026-06-01&to=2026-06-01";
    for (n, start) in [("+919876543210", "2026-06-01T09:00:00Z"), ("+14155550123", "2026-06-01T11:00:00Z")] {
        // Missed calls: every telephony user sees them in the call list, as the drill-down opens it.
        insert(
            &db,
            t.id,
            Call { start, secs: 30, rang_out: vec![t.admin_id], number: n, ..Default::default() },
        )
        .await;
    }
    let secrets = ["9876543210", "4155550123", "98765", "55501"];
    for (r, header) in [
        ("agents", "Agent"),
        ("queues", "Queue"),
        ("trunks", "Trunk"),
        ("timeline", "Starts"),
        ("heatmap", "Weekday"),
    ] {
        let body = report(&olga, &format!("/api/reports/{r}?{day}")).await.to_string();
        for s in secrets {
            assert!(!body.contains(s), "{r}: {s} in {body}");
        }
        let csv = olga.get(&format!("/api/reports/export?report={r}&format=csv&{day}")).await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
        let xlsx =
            olga.request(reqwest::Method::GET, &format!("/api/reports/export?report={r}&format=xlsx&{day}"));
        let bytes = xlsx.send().await.unwrap().bytes().await.unwrap();
        let text = xlsx_text(&bytes);
        assert!(text.contains(header), "{r}: the sheet has its headers: {text}");
        for s in secrets {
            assert!(!csv.text.contains(s), "{r} csv: {s}");
            assert!(!text.contains(s), "{r} xlsx: {s}");
        }
    }
    // The report is about these calls: two, both missed, both rang the boss out.
    let rep = report(&olga, &format!("/api/reports/agents?{day}")).await;
    assert_eq!(
        (&rep["totals"]["missed"], &agent(&rep, t.admin_id)["figures"]["rang_out"]),
        (&json!(2), &json!(2))
    );
    // The drill-down's call list shows them masked.
    let list = report(
        &olga,
        &format!(
            "/api/calls?from={}&to={}",
            rep["period"]["starts_at"].as_str().unwrap(),
            rep["period"]["ends_at"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(list["total"], 2, "{list}");
    assert!(!list.to_string().contains("9876543210"), "{list}");
}

/// Real calls through the carrier: one rings an agent out (missed, counted on her), the next is
/// answered by the boss — the report and its drill-down show both.
#[tokio::test]
async fn real_calls_through_the_carrier_reach_the_report() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
    ])
    .await;
    let (admin, t, boss_login, boss_password) = agent_with_trunk(&app).await;
    let (_maria, maria_id, m_login, m_password) = desk_agent(&app, &admin, &t.account, "maria").await;
    let r =
        admin.put("/api/telephony/routing", json!({"ring_timeout_secs": 5, "forward_number": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let boss_phone =
        RingingPhone::answering(platform, &boss_login, &boss_password, Duration::from_secs(2)).await;
    let _maria_phone = RingingPhone::start(platform, &m_login, &m_password).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The boss on a break: only Maria rings, and lets it ring out.
    set_state(&admin, "break", Some("Lunch")).await;
    carrier_call().await;
    let start = tokio::time::Instant::now();
    loop {
        let rep = report(&admin, "/api/reports/agents").await;
        if rep["totals"]["missed"] == 1 {
            assert_eq!(agent(&rep, maria_id)["figures"]["rang_out"], 1, "{rep}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the missed call reaches the report: {rep}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    hang_up_carrier().await;
    let ended = report(&admin, &format!("/api/calls?rang_out={maria_id}")).await;
    assert_eq!(ended["total"], 1, "the drill-down finds the call that rang Maria out: {ended}");

    // The boss available: he answers and talks about 2 s.
    set_state(&admin, "available", None).await;
    carrier_call().await;
    let start = tokio::time::Instant::now();
    loop {
        let rep = report(&admin, "/api/reports/agents").await;
        let boss = &agent(&rep, t.admin_id)["figures"];
        if boss["inbound_answered"] == 1 {
            let talk = boss["talk_ms"].as_i64().unwrap();
            assert!((1_000..10_000).contains(&talk), "about 2 s of talk: {boss}");
            assert_eq!(rep["totals"]["inbound"], 2);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the answered call reaches the report: {rep}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!boss_phone.invites.lock().unwrap().is_empty());
    hang_up_carrier().await;
}
