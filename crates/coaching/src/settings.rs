//! The tenant's coaching settings: the scale focus areas are scored on (1 to 5 by default).
//!
//! Owns `coaching_settings`. Every member reads them; ADMIN and above change them (never an API
//! key: keys do not change tenant settings). A new scale applies to scores written afterwards;
//! scores already written keep their value.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Double, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, TenantId, TenantRole};

use crate::CoachingError;

/// The default lowest score.
pub const DEFAULT_MIN: f64 = 1.0;
/// The default highest score.
pub const DEFAULT_MAX: f64 = 5.0;

/// The scale focus areas are scored on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// The lowest score.
    pub min: f64,
    /// The highest score.
    pub max: f64,
}

impl Default for Scale {
    fn default() -> Self {
        Self {
            min: DEFAULT_MIN,
            max: DEFAULT_MAX,
        }
    }
}

/// Whether `v` has at most two decimals.
pub(crate) fn two_decimals(v: f64) -> bool {
    v.is_finite() && ((v * 100.0).round() - v * 100.0).abs() < 1e-6
}

impl Scale {
    /// Whether `score` is on the scale, with at most two decimals.
    pub fn holds(&self, score: f64) -> bool {
        two_decimals(score) && score >= self.min && score <= self.max
    }
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Double)]
    scale_min: f64,
    #[diesel(sql_type = Double)]
    scale_max: f64,
}

/// The tenant's scale.
pub async fn scale(conn: &mut AsyncPgConnection, tenant: TenantId) -> Result<Scale, CoachingError> {
    let row: Option<Row> = guild_db::sql(
        "SELECT scale_min::float8 AS scale_min, scale_max::float8 AS scale_max \
           FROM coaching_settings WHERE tenant_id = $1",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|e| match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    })?;
    Ok(row.map_or_else(Scale::default, |r| Scale {
        min: r.scale_min,
        max: r.scale_max,
    }))
}

/// Sets the tenant's scale (ADMIN and above, not an API key): `min` below `max`, both from 0 to
/// 100 with at most two decimals. Audited.
pub async fn set_scale(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    scale: Scale,
    now: DateTime<Utc>,
) -> Result<Scale, CoachingError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(CoachingError::Forbidden);
    }
    let mut errors = Vec::new();
    for (field, v) in [("scale_min", scale.min), ("scale_max", scale.max)] {
        if !(two_decimals(v) && (0.0..=100.0).contains(&v)) {
            errors.push(guild_kernel::FieldError::new(
                field,
                "range",
                "must be from 0 to 100 with at most two decimals",
            ));
        }
    }
    if errors.is_empty() && scale.min >= scale.max {
        errors.push(guild_kernel::FieldError::new(
            "scale_max",
            "order",
            "must be above scale_min",
        ));
    }
    if !errors.is_empty() {
        return Err(CoachingError::Invalid(errors));
    }
    guild_db::sql(
        "INSERT INTO coaching_settings (tenant_id, scale_min, scale_max, updated_by, updated_at) \
         VALUES ($1, $2::numeric(5, 2), $3::numeric(5, 2), $4, $5) \
         ON CONFLICT (tenant_id) DO UPDATE SET scale_min = EXCLUDED.scale_min, \
           scale_max = EXCLUDED.scale_max, updated_by = EXCLUDED.updated_by, \
           updated_at = EXCLUDED.updated_at",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<Double, _>(scale.min)
    .bind::<Double, _>(scale.max)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await?;
    guild_db::audit::record(
        conn,
        actor,
        "coaching.settings_updated",
        "tenant",
        Some(actor.tenant_id.to_string()),
        serde_json::json!({ "scale_min": scale.min, "scale_max": scale.max }),
    )
    .await?;
    self::scale(conn, actor.tenant_id).await
}
