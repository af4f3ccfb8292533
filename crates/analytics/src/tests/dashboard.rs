//! The manager dashboard on the hand-worked [`World`]: every figure below is derived in the
//! fixture's description.

use guild_kernel::{ErrorCode, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use super::{World, at, day, now};
use crate::dashboard::{
    DashboardFilter, HeatmapCell, ManagerDashboard, RiskKind, RiskReason, WeekCompletions,
    engagement_score, manager_dashboard,
};
use crate::settings::{self, Settings};

fn period() -> DashboardFilter {
    DashboardFilter {
        from: Some(day(2026, 11, 30)),
        to: Some(now()),
        ..DashboardFilter::default()
    }
}

async fn board(db: &TestDb, w: &World, user: Uuid, filter: &DashboardFilter) -> ManagerDashboard {
    let actor = w.actor(db, user).await;
    let conn = db.conn().await;
    manager_dashboard(&conn, &actor, filter, now())
        .await
        .expect("the dashboard")
}

fn reason(kind: RiskKind) -> RiskReason {
    RiskReason {
        kind,
        module_id: None,
        quiz_id: None,
        title: None,
        at: None,
        count: None,
    }
}

#[test]
fn the_engagement_score_is_a_tenth_of_the_xp_five_per_active_day_and_ten_per_completion() {
    assert_eq!(engagement_score(140, 3, 1), 14 + 15 + 10);
    assert_eq!(engagement_score(75, 2, 0), 7 + 10);
    assert_eq!(engagement_score(9, 0, 0), 0);
    assert_eq!(
        engagement_score(-50, 1, 0),
        5,
        "a negative balance counts as none"
    );
}

#[tokio::test]
async fn a_manager_sees_their_subtree_at_risk_with_every_reason_and_its_engagement_and_heatmap() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let d = board(&db, &w, w.boss, &period()).await;

    assert_eq!(
        d.member_count, 3,
        "ann, bob and carl (below ann); not pete's dave"
    );
    assert_eq!(d.settings, Settings::default());

    // At risk: bob (three reasons), then ann and carl (one each) by name.
    let order: Vec<Uuid> = d.at_risk.iter().map(|m| m.user_id).collect();
    assert_eq!(order, [w.bob, w.ann, w.carl]);
    assert_eq!(d.at_risk_count, 3);
    assert_eq!(
        d.at_risk[0].reasons,
        [
            RiskReason {
                module_id: Some(w.safety),
                title: Some("Safety".into()),
                at: Some(day(2026, 11, 11)),
                ..reason(RiskKind::OverdueMandatory)
            },
            RiskReason {
                module_id: Some(w.safety),
                quiz_id: Some(w.quiz),
                title: Some("Safety quiz".into()),
                count: Some(3),
                ..reason(RiskKind::RepeatedFailedAttempts)
            },
            RiskReason {
                at: Some(at("2026-11-02T09:20:00Z")),
                count: Some(38),
                ..reason(RiskKind::Inactive)
            },
        ],
        "the draft module is not overdue; bob's last activity is his last attempt"
    );
    assert_eq!(
        d.at_risk[1].reasons,
        [RiskReason {
            module_id: Some(w.privacy),
            title: Some("Privacy".into()),
            at: Some(at("2026-12-25T10:00:00Z")),
            ..reason(RiskKind::CertificateExpiring)
        }]
    );
    assert_eq!(
        d.at_risk[2].reasons,
        [RiskReason {
            module_id: Some(w.privacy),
            title: Some("Privacy".into()),
            at: Some(at("2026-12-01T10:00:00Z")),
            ..reason(RiskKind::CertificateExpired)
        }],
        "two failed attempts stay under the threshold of three"
    );

    // Engagement, least engaged first: bob 0; carl ⌊75/10⌋ + 5×2 = 17; ann ⌊140/10⌋ + 5×3 + 10 = 39.
    let engagement: Vec<(Uuid, i64, i64, i64, i64)> = d
        .engagement
        .iter()
        .map(|e| (e.user_id, e.xp, e.active_days, e.completions, e.score))
        .collect();
    assert_eq!(
        engagement,
        [
            (w.bob, 0, 0, 0, 0),
            (w.carl, 75, 2, 0, 17),
            (w.ann, 140, 3, 1, 39),
        ]
    );
    assert_eq!(
        d.engagement[2].last_active_at,
        Some(at("2026-12-10T00:20:00Z"))
    );

    let top: Vec<(Uuid, i64)> = d.top_performers.iter().map(|p| (p.user_id, p.xp)).collect();
    assert_eq!(top, [(w.ann, 140), (w.carl, 75)]);

    let cell = |group_id, module_id, assigned, completed, overdue| HeatmapCell {
        group_id,
        module_id,
        assigned,
        completed,
        overdue,
    };
    assert_eq!(
        d.heatmap.cells,
        [
            cell(w.sales, w.privacy, 2, 1, 0),
            cell(w.sales, w.safety, 2, 1, 1),
            cell(w.support, w.privacy, 1, 0, 0),
        ]
    );
    let groups: Vec<&str> = d.heatmap.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["Sales", "Support"]);
    let modules: Vec<&str> = d.heatmap.modules.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(modules, ["Privacy", "Safety"], "no draft module");

    assert_eq!(
        d.completions_per_week,
        [
            WeekCompletions {
                week_start: day(2026, 11, 30),
                completions: 0
            },
            WeekCompletions {
                week_start: day(2026, 12, 7),
                completions: 1
            },
        ],
        "ann's Safety on 8 Dec; dave's is not in the subtree"
    );
}

#[tokio::test]
async fn the_tenants_thresholds_decide_who_is_inactive_and_who_failed_too_often() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let mut conn = db.conn().await;
    let strict = Settings {
        inactive_days: 1,
        failed_attempts: 2,
    };
    let scoped = w.actor(&db, w.boss).await;
    let err = settings::update(&mut conn, &scoped, strict, now())
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        403,
        "a manager scoped to their team does not set them"
    );
    let bad = Settings {
        inactive_days: 0,
        failed_attempts: 101,
    };
    let hr = guild_testkit::actor(w.tenant, w.boss, TenantRole::Hr);
    let err = settings::update(&mut conn, &hr, bad, now())
        .await
        .unwrap_err();
    let fields: Vec<String> = err.field_errors().into_iter().map(|f| f.field).collect();
    assert_eq!(fields, ["inactive_days", "failed_attempts"]);
    settings::update(&mut conn, &hr, strict, now())
        .await
        .expect("HR sets them");
    assert_eq!(settings::get(&conn, &scoped).await.ok(), Some(strict));

    let d = board(&db, &w, w.boss, &period()).await;
    assert_eq!(d.settings, strict);
    let kinds = |user: Uuid| -> Vec<(RiskKind, Option<i64>)> {
        d.at_risk
            .iter()
            .find(|m| m.user_id == user)
            .map(|m| m.reasons.iter().map(|r| (r.kind, r.count)).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        kinds(w.carl),
        [
            (RiskKind::CertificateExpired, None),
            (RiskKind::RepeatedFailedAttempts, Some(2)),
            (RiskKind::Inactive, Some(1)),
        ]
    );
    assert_eq!(
        kinds(w.ann),
        [
            (RiskKind::CertificateExpiring, None),
            (RiskKind::Inactive, Some(1)),
        ],
        "ann's last activity was 32 hours ago; her passed quiz is no failure"
    );
    let order: Vec<Uuid> = d.at_risk.iter().map(|m| m.user_id).collect();
    assert_eq!(order, [w.bob, w.carl, w.ann]);
}

#[tokio::test]
async fn each_manager_sees_only_their_own_team_and_a_group_grant_its_group() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let d = board(&db, &w, w.pete, &period()).await;
    assert_eq!(d.member_count, 1);
    let engaged: Vec<Uuid> = d.engagement.iter().map(|e| e.user_id).collect();
    assert_eq!(engaged, [w.dave]);
    assert_eq!(d.top_performers.len(), 1);
    assert_eq!(d.top_performers[0].xp, 100);
    let safety = d
        .heatmap
        .cells
        .iter()
        .find(|c| c.module_id == w.safety)
        .cloned();
    assert_eq!(
        safety.map(|c| (c.assigned, c.completed, c.overdue)),
        Some((1, 1, 0)),
        "only dave counts in Sales for pete"
    );

    let d = board(&db, &w, w.lead, &period()).await;
    let engaged: Vec<Uuid> = d.engagement.iter().map(|e| e.user_id).collect();
    assert_eq!(engaged, [w.carl], "the Support group's member only");

    // The boss narrowed to Support: carl alone, one heatmap cell.
    let support = DashboardFilter {
        group_id: Some(w.support),
        ..period()
    };
    let d = board(&db, &w, w.boss, &support).await;
    assert_eq!(d.member_count, 1);
    assert_eq!(d.heatmap.cells.len(), 1);
    assert_eq!(d.heatmap.cells[0].group_id, w.support);
}

#[tokio::test]
async fn without_the_permission_or_with_a_bad_period_or_group_the_dashboard_refuses() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let conn = db.conn().await;
    let ann = w.actor(&db, w.ann).await;
    let err = manager_dashboard(&conn, &ann, &period(), now())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (403, "forbidden"));

    let boss = w.actor(&db, w.boss).await;
    let backwards = DashboardFilter {
        from: Some(now()),
        to: Some(day(2026, 11, 30)),
        ..DashboardFilter::default()
    };
    let too_long = DashboardFilter {
        from: Some(day(2025, 11, 30)),
        to: Some(now()),
        ..DashboardFilter::default()
    };
    let too_many = DashboardFilter {
        limit: Some(1001),
        ..DashboardFilter::default()
    };
    for filter in [backwards, too_long, too_many] {
        let err = manager_dashboard(&conn, &boss, &filter, now())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 422, "{filter:?}");
    }
    let elsewhere = DashboardFilter {
        group_id: Some(Uuid::now_v7()),
        ..DashboardFilter::default()
    };
    let err = manager_dashboard(&conn, &boss, &elsewhere, now())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "group_not_found"));

    // The default period: the 30 days before now.
    let d = manager_dashboard(&conn, &boss, &DashboardFilter::default(), now())
        .await
        .expect("the dashboard");
    assert_eq!(d.to, now());
    assert_eq!(d.from, at("2026-11-11T09:00:00Z"));
    assert_eq!(
        d.engagement
            .iter()
            .find(|e| e.user_id == w.ann)
            .map(|e| e.xp),
        Some(190),
        "ann's 50 on 20 Nov count in the last 30 days"
    );
}
