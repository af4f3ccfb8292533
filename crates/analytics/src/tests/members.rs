//! A member's progress, read by themselves and by those whose grants reach them.

use guild_kernel::{ErrorCode, UserId};
use guild_testkit::TestDb;
use uuid::Uuid;

use super::{World, day, now};
use crate::AnalyticsError;
use crate::members::{CertificateState, LearnerModuleStatus, MemberProgress, progress};

async fn read(
    db: &TestDb,
    w: &World,
    reader: Uuid,
    member: Uuid,
) -> Result<MemberProgress, AnalyticsError> {
    let actor = w.actor(db, reader).await;
    let conn = db.conn().await;
    progress(&conn, &actor, UserId(member), now()).await
}

#[tokio::test]
async fn a_manager_reads_a_reports_modules_attempts_certificates_and_xp() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    let ann = read(&db, &w, w.boss, w.ann)
        .await
        .expect("the boss reads ann");
    assert_eq!(ann.name, "Ann");
    let modules: Vec<(Uuid, LearnerModuleStatus, bool)> = ann
        .modules
        .iter()
        .map(|m| (m.module_id, m.status, m.mandatory))
        .collect();
    assert_eq!(modules.len(), 2, "the draft module is not listed");
    assert!(modules.contains(&(w.safety, LearnerModuleStatus::Completed, true)));
    assert!(modules.contains(&(w.privacy, LearnerModuleStatus::Completed, false)));
    assert_eq!(ann.completed_count, 2);
    assert_eq!(ann.attempts.len(), 1);
    assert_eq!(
        (
            ann.attempts[0].attempts,
            ann.attempts[0].passed,
            ann.attempts[0].best_score_percent
        ),
        (1, true, Some(90.0))
    );
    let certificates: Vec<(Option<Uuid>, CertificateState)> = ann
        .certificates
        .iter()
        .map(|c| (c.module_id, c.state))
        .collect();
    assert_eq!(
        certificates,
        [
            (Some(w.safety), CertificateState::Valid),
            (Some(w.privacy), CertificateState::Expiring),
        ]
    );
    assert_eq!(
        (ann.xp.lifetime_xp, ann.xp.total_xp, ann.xp.rank.as_deref()),
        (190, 145, Some("VAJENEC"))
    );

    let bob = read(&db, &w, w.boss, w.bob)
        .await
        .expect("the boss reads bob");
    let safety = bob.modules.iter().find(|m| m.module_id == w.safety);
    assert_eq!(
        safety.map(|m| (m.status, m.due_at)),
        Some((LearnerModuleStatus::Overdue, Some(day(2026, 11, 11))))
    );
    assert_eq!(bob.overdue_count, 1);
    assert_eq!((bob.attempts[0].attempts, bob.attempts[0].failed), (3, 3));
    assert_eq!(bob.attempts[0].quiz_id, w.quiz);
    assert_eq!(bob.xp.rank, None, "no XP yet");

    // Carl is below ann, so in the boss's subtree too.
    let carl = read(&db, &w, w.boss, w.carl).await.expect("nested subtree");
    assert_eq!(carl.certificates[0].state, CertificateState::Expired);
}

#[tokio::test]
async fn outside_the_readers_scope_a_member_is_not_found_and_without_a_grant_it_is_forbidden() {
    let db = TestDb::new().await;
    let w = World::new(&db).await;
    for (reader, member) in [
        (w.boss, w.dave),
        (w.pete, w.bob),
        (w.lead, w.ann),
        (w.boss, Uuid::now_v7()),
    ] {
        let err = read(&db, &w, reader, member).await.unwrap_err();
        assert_eq!((err.status(), err.code()), (404, "member_not_found"));
    }
    assert!(
        read(&db, &w, w.lead, w.carl).await.is_ok(),
        "Support's member"
    );
    assert!(read(&db, &w, w.bob, w.bob).await.is_ok(), "one's own");
    let err = read(&db, &w, w.bob, w.ann).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (403, "forbidden"));

    // Another tenant's member is not found even by an owner.
    let other = World::new(&db).await;
    let owner = guild_testkit::actor(w.tenant, w.boss, guild_kernel::TenantRole::Owner);
    let conn = db.conn().await;
    let err = progress(&conn, &owner, UserId(other.ann), now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "member_not_found");
}
