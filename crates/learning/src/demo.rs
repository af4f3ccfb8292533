//! The demo tenant's published modules, for the manager dashboard, the analytics and the
//! compliance report to have something to show after `make run`: four modules with sections,
//! assigned to the demo's groups five weeks before the seed, so their deadlines have passed for
//! whoever has not finished them.
//!
//! "Evacuation and fire safety" comes first by title: the assessment demo puts its quiz on the
//! first module. "Monthly forklift inspection" is valid one month, so a completion three weeks
//! old carries a certificate about to expire.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{module_groups, modules as m};
use guild_kernel::{Actor, GroupId};
use uuid::Uuid;

use crate::LearningError;
use crate::modules::{self, ModuleInput, ModuleStatus};
use crate::sections::{self, SectionInput, SectionKind};
use crate::versions::ChangeNote;

/// How long before the seed the demo's modules were assigned.
pub const ASSIGNED_DAYS_AGO: i64 = 35;

/// A demo module: its id, title and sections in order.
#[derive(Debug, Clone)]
pub struct DemoModule {
    /// The module.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its sections, in order.
    pub sections: Vec<Uuid>,
}

/// Title, description, validity in months, sections (title, HTML), and the assignments:
/// (group index, deadline in days, mandatory).
type Plan = (
    &'static str,
    &'static str,
    Option<i32>,
    &'static [(&'static str, &'static str)],
    &'static [(usize, i32, bool)],
);

const PLAN: [Plan; 4] = [
    (
        "Evacuation and fire safety",
        "What to do when the alarm sounds, which extinguisher to take and where we meet.",
        Some(12),
        &[
            (
                "The alarm",
                "<p>When the alarm sounds, stop work and leave by the nearest exit.</p>",
            ),
            (
                "Extinguishers",
                "<p>CO2 for electrical fires, foam for liquids, water for paper and wood.</p>",
            ),
            (
                "The assembly point",
                "<p>We meet in the car park; the fire warden counts everyone.</p>",
            ),
        ],
        &[(0, 21, true), (1, 21, true), (2, 21, true)],
    ),
    (
        "GDPR and data protection",
        "Personal data at work: what it is, how long we keep it and what to do after a breach.",
        None,
        &[
            (
                "Personal data",
                "<p>Anything that identifies a person, alone or with other data.</p>",
            ),
            (
                "Keeping and deleting",
                "<p>Keep data only as long as its purpose needs it.</p>",
            ),
            (
                "A breach",
                "<p>Tell the data protection officer within the hour.</p>",
            ),
        ],
        &[(0, 28, true), (1, 28, true)],
    ),
    (
        "Handling customer complaints",
        "Listening, apologising and fixing: a complaint handled well keeps a customer.",
        None,
        &[
            (
                "Listening first",
                "<p>Let the customer finish; repeat what you heard.</p>",
            ),
            (
                "Making it right",
                "<p>Offer what you can do today and follow up.</p>",
            ),
        ],
        &[(1, 30, false), (2, 30, false)],
    ),
    (
        "Monthly forklift inspection",
        "The checks before the first lift of the month.",
        Some(1),
        &[
            (
                "The checklist",
                "<p>Forks, chains, tyres, brakes, horn and lights.</p>",
            ),
            (
                "Reporting a fault",
                "<p>Tag the truck out of service and tell the shift lead.</p>",
            ),
        ],
        &[(2, 14, true)],
    ),
];

/// Creates, publishes and assigns the demo modules as `admin` (a MANAGE_ALL_MODULES holder),
/// `groups` being the demo's groups by name (Engineering, Sales, Support); the assignments are
/// dated [`ASSIGNED_DAYS_AGO`] days before `now`. Nothing when the tenant has a module of that
/// title already. Run it in the tenant's transaction.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    admin: &Actor,
    groups: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<DemoModule>, LearningError> {
    let tenant = admin.tenant_id.into_uuid();
    let any: i64 = m::table
        .filter(m::tenant_id.eq(tenant))
        .filter(m::title.eq(PLAN[0].0))
        .count()
        .get_result(conn)
        .await?;
    if any > 0 {
        return Ok(Vec::new());
    }
    let created_at = now - Duration::days(ASSIGNED_DAYS_AGO + 2);
    let mut out = Vec::new();
    for (title, description, validity, parts, assignments) in PLAN {
        let module = modules::create(
            conn,
            admin,
            &ModuleInput {
                title: Some(title.to_owned()),
                description: Some(description.to_owned()),
                validity_months: Some(validity),
                estimated_minutes: Some(Some(15)),
                tags: Some(vec!["demo".to_owned()]),
                ..ModuleInput::default()
            },
        )
        .await?;
        let id = module.row.id;
        let mut section_ids = Vec::new();
        for (section, html) in parts {
            let created = sections::create(
                conn,
                admin,
                id,
                &SectionInput {
                    title: Some((*section).to_owned()),
                    kind: Some(SectionKind::Text),
                    content_html: Some((*html).to_owned()),
                    video: None,
                },
                created_at,
            )
            .await?;
            section_ids.push(created.id);
        }
        let revision = modules::get(conn, admin, id).await?.row.revision;
        modules::set_status(
            conn,
            admin,
            id,
            revision,
            ModuleStatus::Published,
            &ChangeNote::default(),
            created_at,
        )
        .await?;
        for (group, deadline, mandatory) in assignments {
            let Some(group) = groups.get(*group) else {
                continue;
            };
            modules::assign(
                conn,
                admin,
                id,
                GroupId(*group),
                Some(*deadline),
                *mandatory,
            )
            .await?;
        }
        out.push(DemoModule {
            id,
            title: title.to_owned(),
            sections: section_ids,
        });
    }
    // As if assigned weeks ago: the deadlines count from then.
    let ids: Vec<Uuid> = out.iter().map(|d| d.id).collect();
    diesel::update(
        module_groups::table
            .filter(module_groups::tenant_id.eq(tenant))
            .filter(module_groups::module_id.eq_any(&ids)),
    )
    .set(module_groups::assigned_at.eq(now - Duration::days(ASSIGNED_DAYS_AGO)))
    .execute(conn)
    .await?;
    diesel::update(
        m::table
            .filter(m::tenant_id.eq(tenant))
            .filter(m::id.eq_any(&ids)),
    )
    .set((
        m::created_at.eq(created_at),
        m::published_at.eq(Some(created_at)),
    ))
    .execute(conn)
    .await?;
    Ok(out)
}

/// The demo modules [`seed_demo`] made, in its order, each with its sections in order; none
/// when they are missing.
pub async fn demo_modules(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
) -> Result<Vec<DemoModule>, LearningError> {
    use guild_db::schema::sections as s;
    let titles: Vec<&str> = PLAN.iter().map(|p| p.0).collect();
    let found: Vec<(Uuid, String)> = m::table
        .filter(m::tenant_id.eq(tenant.into_uuid()))
        .filter(m::title.eq_any(&titles))
        .order(m::id.asc())
        .select((m::id, m::title))
        .load(conn)
        .await?;
    let mut out = Vec::new();
    for title in titles {
        let Some((id, _)) = found.iter().find(|(_, t)| t == title) else {
            return Ok(Vec::new());
        };
        let sections: Vec<Uuid> = s::table
            .filter(s::tenant_id.eq(tenant.into_uuid()))
            .filter(s::module_id.eq(id))
            .order((s::sort_order.asc(), s::id.asc()))
            .select(s::id)
            .load(conn)
            .await?;
        out.push(DemoModule {
            id: *id,
            title: title.to_owned(),
            sections,
        });
    }
    Ok(out)
}
