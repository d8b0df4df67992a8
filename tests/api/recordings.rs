//! Call records and recordings against the real platform Asterisk, carrier and S3 server: an
//! answered call is recorded and arrives in S3 as mp3; playback (ranges), download names, the audit,
//! records.zip checked file by file, tenant isolation, bad input, and retention with an injected
//! clock.

use std::io::Read;
use std::time::Duration;

use callbase_recordings::ObjectStore;
use callbase_tests::{settings, worker_pool, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use callbase_tests::calls::{agent_with_trunk, sipp_call_talking};

use crate::calls::wait_result;

pub(crate) fn store() -> ObjectStore {
    ObjectStore::new(&settings(&[]).s3)
}

pub(crate) async fn get_bytes(
    b: &Browser,
    path: &str,
    range: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rb = b.request(reqwest::Method::GET, path);
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    let r = rb.send().await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    (s, h, r.bytes().await.unwrap().to_vec())
}

pub(crate) async fn wait_stored(b: &Browser, id: &str, within: Duration) -> Value {
    let start = tokio::time::Instant::now();
    loop {
        let r = b.get(&format!("/api/calls/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["recording"]["state"] == "stored" {
            return r.body;
        }
        assert!(start.elapsed() < within, "recording not stored within {within:?}: {}", r.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_call_is_recorded_to_s3_as_mp3_of_its_length_and_plays_with_ranges_and_an_audit() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let ((ok, log), bridge) =
        tokio::join!(sipp_call_talking(&login, &password, "1234567", 200, 4000), bridge_while_recorded(t.id));
    assert!(ok, "the call was answered:\n{log}");
    let hung_up = tokio::time::Instant::now();
    wait_result(t.id).await;
    // The recording listens on a channel: the call's bridge stays a two-party simple bridge (a
    // recorder in it made it softmix, at a CPU cost larger than the call's, docs/benchmarks.md).
    assert_eq!(bridge["technology"], "simple_bridge", "{bridge}");
    assert_eq!(bridge["channels"].as_array().map(Vec::len), Some(2), "{bridge}");

    let list = admin.get("/api/calls?direction=outbound").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body["total"], 1);
    let call = list.body["items"][0].clone();
    let id = call["id"].as_str().unwrap().to_string();
    assert_eq!(call["result"], "answered");
    assert_eq!(call["user_id"], t.admin_id);
    let rec = wait_stored(&admin, &id, Duration::from_secs(10)).await;
    println!("recording stored {:?} after hang-up", hung_up.elapsed());
    let talk = rec["talk_secs"].as_i64().unwrap();
    assert!((3..=6).contains(&talk), "talk time {talk} s: {rec}");

    // Download: the name, the type, and an mp3 whose length is the call's.
    let (s, h, mp3) = get_bytes(&admin, &format!("/api/calls/{id}/recording?download=1"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "audio/mpeg");
    let day = OffsetDateTime::parse(
        rec["started_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .date();
    let name = format!("{id}_+74951234567_{day}.mp3");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with(&format!("attachment; filename=\"{name}\"")), "{cd}");
    assert_eq!(rec["recording"]["file_name"], name.as_str());
    assert_eq!(mp3.len() as i64, rec["recording"]["bytes"].as_i64().unwrap());
    let (pcm, rate) = callbase_recordings::audio::decode_to_mono(&mp3).expect("the download decodes as mp3");
    assert_eq!(rate, 16000);
    let secs = pcm.len() as f64 / f64::from(rate);
    let answered = OffsetDateTime::parse(
        rec["answered_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ended = OffsetDateTime::parse(
        rec["ended_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let call_secs = (ended - answered).as_seconds_f64();
    assert!((secs - call_secs).abs() < 1.0, "recording {secs:.2} s vs answered call {call_secs:.2} s");

    // Playback: a range answers 206 with exactly those bytes (seeking works).
    let (s, h, part) = get_bytes(&admin, &format!("/api/calls/{id}/recording"), Some("bytes=100-199")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, mp3[100..200]);
    assert_eq!(h["content-range"], format!("bytes 100-199/{}", mp3.len()).as_str());
    assert_eq!(h["accept-ranges"], "bytes");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("inline;"));
    let (s, _, whole) = get_bytes(&admin, &format!("/api/calls/{id}/recording"), Some("bytes=0-")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(whole, mp3);

    // Asterisk's copy and the spool file are gone once S3 has the object.
    let pool = worker_pool().await;
    let name_in_ast: String = sqlx::query_scalar("SELECT recording_name FROM calls WHERE id = $1")
        .bind(Uuid::parse_str(&id).unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    let ari = callbase_telephony::ari::Ari::new(&settings(&[]).asterisk);
    assert!(
        ari.get_bytes(&format!("recordings/stored/{name_in_ast}/file")).await.unwrap().is_none(),
        "Asterisk's copy deleted"
    );

    // The audit: a download, one listen (the range from 0), not the seek.
    let audit = admin.get(&format!("/api/calls/audit?call_id={id}")).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> =
        audit.body.as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["listen", "download"], "{}", audit.body);
    assert_eq!(audit.body[0]["user_id"], t.admin_id);
    assert!(audit.body[0]["ip"].as_str().is_some_and(|ip| ip.starts_with("10.")));

    // Another tenant sees none of it.
    let (other, _) = app.telephony_tenant().await;
    for path in [
        format!("/api/calls/{id}"),
        format!("/api/calls/{id}/recording"),
        format!("/api/calls/{id}/recording?download=1"),
    ] {
        assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(other.get("/api/calls").await.body["total"], 0);
    assert_eq!(other.get(&format!("/api/calls/audit?call_id={id}")).await.body, json!([]));
    assert_eq!(
        other.post("/api/calls/recordings.zip", json!({"ids": [id]})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.patch(&format!("/api/calls/{id}"), json!({"note": "x"})).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The bridge of `tenant`'s call as Asterisk has it once the call is being recorded.
async fn bridge_while_recorded(tenant: i64) -> Value {
    let pool = worker_pool().await;
    let ari = callbase_telephony::ari::Ari::new(&settings(&[]).asterisk);
    for _ in 0..60 {
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT bridge_id, recording_state FROM calls WHERE tenant_id = $1 AND ended_at IS NULL",
        )
        .bind(tenant)
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some((Some(bridge), Some(_))) = row {
            // Let the recording settle in (the old recorder joined the bridge as it started).
            tokio::time::sleep(Duration::from_millis(500)).await;
            let path = format!("bridges/{bridge}");
            return ari.call(reqwest::Method::GET, &path, &[], None).await.unwrap().unwrap_or(Value::Null);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Value::Null
}

/// Inserts a finished call with a stored recording of `bytes` (uploaded to S3) for `tenant`.
pub(crate) async fn stored_call(
    tenant: i64,
    number: &str,
    started: OffsetDateTime,
    bytes: &[u8],
    held: bool,
) -> (Uuid, String) {
    let id = Uuid::new_v4();
    let key = callbase_telephony::recording::new_key(callbase_core_tenant(tenant));
    store().put(&key, bytes.to_vec(), "audio/mpeg").await.unwrap();
    sqlx::query(
        "INSERT INTO calls (id, tenant_id, direction, number, started_at, answered_at, ended_at, result, recording_state, recording_key, \
         recording_bytes, recording_ms, legal_hold) VALUES ($1, $2, 'inbound', $3, $4, $4, $4 + interval '30 seconds', 'answered', 'stored', $5, $6, 30000, $7)",
    )
    .bind(id)
    .bind(tenant)
    .bind(number)
    .bind(started)
    .bind(&key)
    .bind(bytes.len() as i64)
    .bind(held)
    .execute(&worker_pool().await)
    .await
    .unwrap();
    (id, key)
}

fn callbase_core_tenant(id: i64) -> callbase_core::TenantId {
    callbase_core::TenantId(id)
}

#[tokio::test]
async fn records_zip_holds_exactly_the_selected_recordings_with_their_names_sizes_and_checksums() {
    let app = TestApp::spawn().await;
    let (a, ta) = app.telephony_tenant().await;
    let (b, tb) = app.telephony_tenant().await;
    let now = OffsetDateTime::now_utc();
    let mut mine = Vec::new();
    for i in 0..5u8 {
        let data: Vec<u8> =
            (0..(20_000 + i as usize * 7_777)).map(|x| (x as u8).wrapping_mul(i + 3)).collect();
        let (id, _) = stored_call(
            ta.id,
            &format!("+7495000000{i}"),
            now - time::Duration::minutes(i as i64),
            &data,
            false,
        )
        .await;
        mine.push((id, data));
    }
    let (theirs, _) = stored_call(tb.id, "+74950000009", now, b"other tenant's audio", false).await;

    let ids: Vec<String> = mine.iter().map(|(id, _)| id.to_string()).collect();
    let csrf = a.csrf().await;
    let r = a
        .request(reqwest::Method::POST, "/api/calls/recordings.zip")
        .header("x-csrf-token", csrf)
        .json(&json!({"ids": ids}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"records.zip\"");
    let declared: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let body = r.bytes().await.unwrap().to_vec();
    assert_eq!(body.len(), declared, "Content-Length is the archive's exact size");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).expect("a valid zip");
    assert_eq!(zip.len(), 5);
    for (id, data) in &mine {
        let rec = a.get(&format!("/api/calls/{id}")).await.body;
        let name = rec["recording"]["file_name"].as_str().unwrap().to_string();
        assert!(name.starts_with(&format!("{id}_+7495000000")) && name.ends_with(".mp3"), "{name}");
        let mut f = zip.by_name(&name).unwrap_or_else(|_| panic!("{name} in the zip"));
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), data.len(), "{name}");
        assert_eq!(Sha256::digest(&got), Sha256::digest(data), "{name}");
    }
    let audit = a.get("/api/calls/audit").await.body;
    assert_eq!(audit.as_array().unwrap().iter().filter(|e| e["action"] == "zip").count(), 5);

    // Another tenant's id anywhere in the selection: 404, and no archive.
    let mut with_theirs = ids.clone();
    with_theirs.push(theirs.to_string());
    let r = a.post("/api/calls/recordings.zip", json!({"ids": with_theirs})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // Tenant B's archive of its own call holds only its file.
    let r = b
        .request(reqwest::Method::POST, "/api/calls/recordings.zip")
        .header("x-csrf-token", b.csrf().await)
        .json(&json!({"ids": [theirs]}))
        .send()
        .await
        .unwrap();
    let body = r.bytes().await.unwrap().to_vec();
    let mut zb = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    assert_eq!(zb.len(), 1);
    assert!(zb.by_index(0).unwrap().name().starts_with(&theirs.to_string()));

    // Bad input.
    let r = a.post("/api/calls/recordings.zip", json!({"ids": []})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_selection"))
    );
    let many: Vec<String> = (0..1001).map(|_| Uuid::new_v4().to_string()).collect();
    let r = a.post("/api/calls/recordings.zip", json!({"ids": many})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_many_files")));
    assert!(r.body["message"].as_str().unwrap().contains("1000"));
    let pool = worker_pool().await;
    let pending = Uuid::new_v4();
    sqlx::query("INSERT INTO calls (id, tenant_id, direction, number, result, recording_state) VALUES ($1, $2, 'inbound', '+1', 'answered', 'pending')")
        .bind(pending)
        .bind(ta.id)
        .execute(&pool)
        .await
        .unwrap();
    let r = a.post("/api/calls/recordings.zip", json!({"ids": [mine[0].0, pending]})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_recording")));
    let (s, _, _) = get_bytes(&a, &format!("/api/calls/{pending}/recording"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "a recording on its way says so");

    // The list: filters, sorting, CSV export with the same filter.
    let l = a.get("/api/calls?sort=number&order=asc&per_page=2").await;
    assert_eq!(l.body["total"], 6);
    assert_eq!(l.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(l.body["items"][0]["number"], "+1");
    let l = a.get("/api/calls?number=0000003").await;
    assert_eq!(l.body["total"], 1);
    assert_eq!(a.get("/api/calls?sort=password").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.get("/api/calls?from=yesterday").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let csv = a.get("/api/calls/export.csv?number=0000003").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.text.trim_end().lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(lines[1].contains("\"+74950000003\""));

    // Note, dictionaries and legal hold.
    let id = mine[0].0;
    let p = a.patch(&format!("/api/calls/{id}"), json!({"note": "=cmd|' /C calc'!A0", "call_type": "Sales", "call_result": "Resolved", "legal_hold": true})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!((p.body["call_type"].as_str(), p.body["legal_hold"].as_bool()), (Some("Sales"), Some(true)));
    let bad = a.patch(&format!("/api/calls/{id}"), json!({"call_type": "Nonsense"})).await;
    assert_eq!(bad.body["code"], "invalid_dictionary_value");
    let csv = a.get(&format!("/api/calls/export.csv?number={}", "0000000")).await;
    assert!(csv.text.contains("\"'=cmd|' /C calc'!A0\""), "formulas are neutralised: {}", csv.text);
}

#[tokio::test]
async fn users_see_their_own_calls_and_the_missed_queue_and_non_telephony_users_none() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let now = OffsetDateTime::now_utc();
    let (admins_call, _) = stored_call(t.id, "+74951112233", now, b"x", false).await;
    let pool = worker_pool().await;
    sqlx::query("UPDATE calls SET user_id = $2 WHERE id = $1")
        .bind(admins_call)
        .bind(t.admin_id)
        .execute(&pool)
        .await
        .unwrap();
    let (missed, _) = stored_call(t.id, "+74951112234", now, b"y", false).await;
    sqlx::query("UPDATE calls SET answered_at = NULL, result = 'missed' WHERE id = $1")
        .bind(missed)
        .execute(&pool)
        .await
        .unwrap();

    // A plain user, then a telephony user.
    let u = admin.post("/api/users", json!({"login": "agent", "name": "Agent", "email": "a@example.com", "password": "Strong-pass-XYZ-9173"})).await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
    let agent = app.browser();
    assert_eq!(agent.login(&t.account, "agent", "Strong-pass-XYZ-9173").await.status, StatusCode::OK);
    let r = agent.get("/api/calls").await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_telephony_user")));
    let tu = admin.post("/api/telephony/users", json!({"user_id": u.body["id"]})).await;
    assert!(tu.status.is_success(), "{}", tu.text);
    let r = agent.get("/api/calls").await;
    let ids: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [missed.to_string()], "the agent sees the missed queue, not the admin's call");
    assert_eq!(agent.get(&format!("/api/calls/{admins_call}/recording")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(agent.get("/api/calls?missed=true").await.body["total"], 1);
    assert_eq!(agent.get("/api/calls/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        agent.patch(&format!("/api/calls/{missed}"), json!({"legal_hold": true})).await.status,
        StatusCode::FORBIDDEN
    );

    // The setting widens it.
    let mut s = admin.get("/api/telephony/recording").await.body;
    s["calls_visible_to_all"] = json!(true);
    let put = admin.put("/api/telephony/recording", s.clone()).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(agent.get("/api/calls").await.body["total"], 2);
    assert_eq!(agent.put("/api/telephony/recording", s.clone()).await.status, StatusCode::FORBIDDEN);
    s["retention_days"] = json!(0);
    assert_eq!(admin.put("/api/telephony/recording", s).await.body["code"], "invalid_retention");
}

#[tokio::test]
async fn retention_deletes_exactly_the_expired_recordings_that_are_not_on_legal_hold() {
    let app = TestApp::spawn().await;
    let (admin, t) = app.telephony_tenant().await;
    let (admin2, t2) = app.telephony_tenant().await;
    // Tenant 2 keeps 10 days and deletes the call rows too.
    let mut s = admin2.get("/api/telephony/recording").await.body;
    s["retention_days"] = json!(10);
    s["retention_delete_calls"] = json!(true);
    assert_eq!(admin2.put("/api/telephony/recording", s).await.status, StatusCode::OK);

    // The clock the pass runs at: a fixed instant, calls placed relative to it.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let day = time::Duration::days(1);
    let (old, old_key) = stored_call(t.id, "+1", now - 31 * day, b"old", false).await;
    let (held, held_key) = stored_call(t.id, "+2", now - 40 * day, b"held", true).await;
    let (young, young_key) = stored_call(t.id, "+3", now - 29 * day, b"young", false).await;
    let (old2, old2_key) = stored_call(t2.id, "+4", now - 11 * day, b"old2", false).await;
    let (young2, young2_key) = stored_call(t2.id, "+5", now - 9 * day, b"young2", false).await;

    let pool = worker_pool().await;
    let s3 = store();
    // Two days earlier the 31-day-old call was 29 days old and the 11-day-old one 9: nothing goes
    // (the 40-day-old one is on legal hold).
    callbase_recordings::retention::retention_pass(&pool, &s3, now - 2 * day).await.unwrap();
    for k in [&old_key, &held_key, &young_key, &old2_key, &young2_key] {
        assert!(s3.head(k).await.unwrap().is_some(), "{k} kept two days ago");
    }
    callbase_recordings::retention::retention_pass(&pool, &s3, now).await.unwrap();
    assert!(s3.head(&old_key).await.unwrap().is_none(), "expired recording deleted from S3");
    assert!(s3.head(&old2_key).await.unwrap().is_none());
    for k in [&held_key, &young_key, &young2_key] {
        assert!(s3.head(k).await.unwrap().is_some(), "{k} kept");
    }
    let state = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>("SELECT recording_state FROM calls WHERE id = $1")
                .bind(id)
                .fetch_optional(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(state(old).await, Some(Some("deleted".into())), "tenant 1 keeps the call row");
    assert_eq!(state(held).await, Some(Some("stored".into())));
    assert_eq!(state(young).await, Some(Some("stored".into())));
    assert_eq!(state(old2).await, None, "tenant 2 deletes the row too");
    assert_eq!(state(young2).await, Some(Some("stored".into())));
    let (s, _, _) = get_bytes(&admin, &format!("/api/calls/{old}/recording"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(admin.get(&format!("/api/calls/{old}")).await.body["recording"]["state"], "deleted");
}

/// Recording off for the account, on for one access group (issue #18, item 6: the per-group forced
/// recording): a member's call is recorded and reaches S3; a colleague's call is not recorded.
#[tokio::test]
async fn with_recording_off_the_members_of_an_always_recorded_group_are_still_recorded() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ])
    .await;
    let (admin, t, boss_login, boss_password) = agent_with_trunk(&app).await;
    let (_maria, maria_id, maria_login, maria_password) =
        crate::agent_states::desk_agent(&app, &admin, &t.account, "maria").await;
    let recorded =
        admin.post("/api/groups", json!({"name": "Always recorded"})).await.body["id"].as_i64().unwrap();
    let r = admin
        .patch(
            &format!("/api/users/{}", t.admin_id),
            json!({"group_ids": [
                crate::users::group_id(&admin, "Administrator").await, recorded
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut s = admin.get("/api/telephony/recording").await.body;
    s["record_calls"] = json!(false);
    s["record_group_ids"] = json!([recorded]);
    let r = admin.put("/api/telephony/recording", s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    for (n, (login, password)) in
        [(&boss_login, &boss_password), (&maria_login, &maria_password)].into_iter().enumerate()
    {
        let (ok, log) = sipp_call_talking(login, password, "1234567", 200, 3000).await;
        assert!(ok, "the call was answered:\n{log}");
        crate::calls::wait_ended(t.id, n as i64 + 1).await;
    }
    let list = admin.get("/api/calls?direction=outbound").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    let of = |user: i64| {
        items.iter().find(|c| c["user_id"] == user).cloned().unwrap_or_else(|| panic!("{items:?}"))
    };
    let boss_call = of(t.admin_id);
    let rec = wait_stored(&admin, boss_call["id"].as_str().unwrap(), Duration::from_secs(10)).await;
    assert!(rec["recording"]["bytes"].as_i64().unwrap() > 0, "the group member's call is recorded: {rec}");
    let maria_call = of(maria_id);
    assert_eq!(maria_call["result"], "answered");
    assert!(maria_call["recording"].is_null(), "a colleague outside the group is not recorded: {maria_call}");
}

/// The power of `freq` in `pcm` from `from` to `to` seconds (Goertzel).
pub(crate) fn tone_power(pcm: &[i16], rate: u32, freq: f64, from: f64, to: f64) -> f64 {
    let (a, b) = ((from * f64::from(rate)) as usize, ((to * f64::from(rate)) as usize).min(pcm.len()));
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in &pcm[a..b] {
        let s0 = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / (b - a).max(1) as f64
}

/// Issue #18: where the tenant allows it, the agent pauses the recording of their call (a card
/// number is read out) and resumes it; the stored file keeps the call's length with silence where
/// the pause was. The carrier plays 440 Hz throughout. Refused where the tenant does not allow it,
/// and for anyone but the call's agent.
#[tokio::test]
async fn a_paused_recording_has_silence_where_the_pause_was() {
    let app = TestApp::spawn_with(&[
        ("CALLBASE__WORKERS__STASIS", "true"),
        ("CALLBASE__WORKERS__REGISTRATION_MONITOR", "true"),
        ("CALLBASE__WORKERS__RECORDINGS", "true"),
        ("CALLBASE__RECORDINGS__POLL_MS", "200"),
    ])
    .await;
    let (admin, t, login, password) = agent_with_trunk(&app).await;
    let maria = app.browser();
    crate::users::create_user(&admin, "maria", &[]).await;
    assert_eq!(maria.login(&t.account, "maria", "Agent-pass-12345").await.status, StatusCode::OK);
    let platform: std::net::SocketAddr = callbase_tests::env("CALLBASE_PLATFORM_SIP").parse().unwrap();
    let _phone =
        callbase_tests::sip::RingingPhone::answering(platform, &login, &password, Duration::from_secs(9))
            .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    crate::agent_states::carrier_call().await;
    let id = crate::adoption::answered_call(t.id, Duration::from_secs(15)).await;
    let started = tokio::time::Instant::now();
    let path = format!("/api/calls/{id}/recording/paused");

    let r = admin.put(&path, json!({"paused": true})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("pause_not_allowed")),
        "{}",
        r.text
    );
    let mut s = admin.get("/api/telephony/recording").await.body;
    assert_eq!(s["recording_pause_allowed"], false, "off unless the tenant allows it");
    s["recording_pause_allowed"] = json!(true);
    let r = admin.put("/api/telephony/recording", s).await;
    assert_eq!((r.status, &r.body["recording_pause_allowed"]), (StatusCode::OK, &json!(true)), "{}", r.text);
    let r = maria.put(&path, json!({"paused": true})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not her call: {}", r.text);

    tokio::time::sleep_until(started + Duration::from_millis(2500)).await;
    let r = admin.put(&path, json!({"paused": true})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let paused_at = started.elapsed().as_secs_f64();
    tokio::time::sleep_until(started + Duration::from_millis(5500)).await;
    let r = admin.put(&path, json!({"paused": false})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let resumed_at = started.elapsed().as_secs_f64();

    let rec = wait_stored(&admin, &id.to_string(), Duration::from_secs(30)).await;
    let (_, _, mp3) = get_bytes(&admin, &format!("/api/calls/{id}/recording?download=1"), None).await;
    let (pcm, rate) = callbase_recordings::audio::decode_to_mono(&mp3).expect("the recording decodes");
    let secs = pcm.len() as f64 / f64::from(rate);
    assert!(secs > 8.0, "the file keeps the call's length ({secs:.1} s): {rec}");
    let before = tone_power(&pcm, rate, 440.0, 0.5, paused_at - 0.5);
    let during = tone_power(&pcm, rate, 440.0, paused_at + 0.7, resumed_at - 0.3);
    let after = tone_power(&pcm, rate, 440.0, resumed_at + 0.7, secs - 0.5);
    println!("440 Hz power: before {before:.3e}, paused {during:.3e}, after {after:.3e}");
    assert!(during < before / 100.0, "silence while paused: before {before:.3e}, paused {during:.3e}");
    assert!(after > before / 10.0, "the tone again once resumed: before {before:.3e}, after {after:.3e}");
}
