//! The case list's further filters and orders (the web UI's): model
//! family, software text, emerging, SLA state and sort, in the SQL both
//! backends run; and the clocks of a page's cases read in one query.

use cloud_triage::{
    now_ms,
    store::CaseQuery,
    views::{CaseSort, SlaState},
};
use sqlx::Executor;

use crate::{
    on_both_backends,
    support::{envelope, meta, TestDb, VIN},
};

/// Opens a case from `vin` on `model` with software `version`, received at
/// `at_ms`; its number.
async fn open(db: &TestDb, vin: &str, model: &str, version: &str, at_ms: i64) -> i64 {
    let mut env = envelope(vin, &format!("{model} {version} report"));
    env.vehicle.model = model.into();
    env.vehicle.software[0].version = version.into();
    db.store
        .ingest_feedback(&env, &meta(at_ms))
        .await
        .unwrap()
        .case_id
}

async fn ids(db: &TestDb, q: CaseQuery) -> Vec<i64> {
    let page = db.store.list_cases(&q).await.unwrap();
    assert_eq!(page.total, page.items.len() as i64, "{q:?}");
    page.items.iter().map(|c| c.id).collect()
}

async fn filters_on_model_software_emerging_and_sla_state_and_orders(db: &TestDb) {
    let now = now_ms();
    let old = open(db, VIN, "Model 3", "2024.14.3", 1_717_000_000_000).await;
    let y = open(db, "KNAFX4A61F5300001", "model  y", "2024.20.1_beta", now).await;
    let percent = open(db, "KNAFX4A61F5300002", "Model 3", "50%", now).await;
    let mut conn = db.raw_connection().await;
    let sql = format!(
        "UPDATE cases SET emerging_at_ms = {now}, vehicle_count = 9, severity = 'minor' WHERE id = {y}"
    );
    conn.execute(sql.as_str()).await.unwrap();
    let q = |f: fn(&mut CaseQuery)| {
        let mut q = CaseQuery::default();
        f(&mut q);
        q
    };

    assert_eq!(ids(db, q(|q| q.model = Some("MODEL Y".into()))).await, [y]);
    assert_eq!(
        ids(db, q(|q| q.model = Some("model 3".into()))).await,
        [percent, old]
    );
    assert_eq!(
        ids(db, q(|q| q.model = Some("Model".into()))).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(db, q(|q| q.software = Some("2024.".into()))).await,
        [y, old]
    );
    assert_eq!(ids(db, q(|q| q.software = Some("_BETA".into()))).await, [y]);
    assert_eq!(
        ids(db, q(|q| q.software = Some("%".into()))).await,
        [percent]
    );
    assert_eq!(
        ids(db, q(|q| q.software = Some("3\", \"".into()))).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(db, q(|q| q.emerging = Some(true))).await, [y]);
    assert_eq!(
        ids(db, q(|q| q.emerging = Some(false))).await,
        [percent, old]
    );
    assert_eq!(
        ids(db, q(|q| q.sla = Some(SlaState::Breached))).await,
        [old]
    );
    assert_eq!(
        ids(db, q(|q| q.sla = Some(SlaState::Running))).await,
        [percent, y]
    );
    assert_eq!(
        ids(db, q(|q| q.sla = Some(SlaState::Met))).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(db, q(|q| q.sort = Some(CaseSort::Oldest))).await,
        [old, y, percent]
    );
    assert_eq!(
        ids(db, q(|q| q.sort = Some(CaseSort::Vehicles))).await,
        [y, percent, old]
    );
    assert_eq!(
        ids(db, q(|q| q.sort = Some(CaseSort::Severity))).await,
        [y, percent, old]
    );

    let wt = db.store.calendar();
    let clocks = db
        .store
        .sla_clocks_of(&[old, y, 999], &wt, now)
        .await
        .unwrap();
    assert_eq!(clocks.keys().copied().collect::<Vec<_>>(), [old, y]);
    assert_eq!(
        clocks[&old],
        db.store.sla_clocks(old, &wt, now).await.unwrap()
    );
}
on_both_backends!(filters_on_model_software_emerging_and_sla_state_and_orders);
