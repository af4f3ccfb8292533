//! Rooms: opening one (the tenant's room and a module's room are made on first use, a direct
//! conversation once per pair of members), who may read and moderate it ([`access`]), who hears
//! of its changes ([`audience`]), the member's rooms with their unread counts ([`mine`]) and read
//! markers ([`mark_read`]).
//!
//! A member *joins* a room by opening it: their read marker is made at the room's last message,
//! and from then on its changes reach their stream while they may still read it. A direct
//! conversation reaches both of its members from its first message, opened or not.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{chat_messages as cm, chat_rooms as r, memberships};
use guild_kernel::{Actor, UserId};
use guild_learning::access;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::messages::{self, Change, Message, MessageKind};
use super::{MAX_NEW_DIRECT_PER_DAY, check_member, from_learning, is_admin};
use crate::SocialError;
use guild_learning::audience::SEES_MODULE;

guild_kernel::string_enum!(
    /// What a room is for.
    RoomKind {
        /// Everyone in the tenant.
        Tenant => "TENANT",
        /// Whoever sees a module.
        Module => "MODULE",
        /// Two members.
        Direct => "DIRECT",
    }
);

/// A room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = r)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Room {
    /// The room.
    pub id: Uuid,
    /// What it is for.
    #[diesel(deserialize_as = String)]
    pub kind: RoomKind,
    /// The module of a module's room.
    pub module_id: Option<Uuid>,
    /// A direct conversation's member with the smaller id.
    pub member_a: Option<Uuid>,
    /// A direct conversation's other member.
    pub member_b: Option<Uuid>,
    /// The number of its last message (0 before the first).
    pub last_seq: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A room the actor may read, and whether they moderate it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomAccess {
    /// The room.
    pub room: Room,
    /// The actor deletes anyone's message and reads edit histories here.
    pub moderator: bool,
    /// The actor mentors the room's module.
    pub mentor: bool,
}

/// Which room to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The tenant's room.
    Tenant,
    /// A module's room.
    Module(Uuid),
    /// The direct conversation with a member.
    Direct(Uuid),
}

/// Loads a room the actor may read: 404 `room_not_found` otherwise (another tenant's, a module's
/// room the actor does not see, someone else's conversation).
pub async fn access(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<RoomAccess, SocialError> {
    let room = r::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Room::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(SocialError::NotFound("room_not_found"))?;
    access_to(conn, actor, room).await
}

/// Loads a room of the tenant, whoever asks (for the worker, which then asks who may read it).
pub async fn find(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    id: Uuid,
) -> Result<Option<Room>, SocialError> {
    Ok(r::table
        .find((tenant.into_uuid(), id))
        .select(Room::as_select())
        .first(conn)
        .await
        .optional()?)
}

async fn access_to(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Room,
) -> Result<RoomAccess, SocialError> {
    let me = actor.user_id.into_uuid();
    match (room.kind, room.module_id) {
        (RoomKind::Module, Some(module)) => {
            access::visible(conn, actor, module)
                .await
                .map_err(|e| from_learning(e, "room_not_found"))?;
            let mentor = access::is_mentor(conn, actor, module)
                .await
                .map_err(|e| from_learning(e, "room_not_found"))?;
            Ok(RoomAccess {
                room,
                moderator: mentor || is_admin(actor),
                mentor,
            })
        }
        (RoomKind::Direct, _) => {
            if room.member_a != Some(me) && room.member_b != Some(me) {
                return Err(SocialError::NotFound("room_not_found"));
            }
            Ok(RoomAccess {
                room,
                moderator: false,
                mentor: false,
            })
        }
        _ => Ok(RoomAccess {
            room,
            moderator: is_admin(actor),
            mentor: false,
        }),
    }
}

/// Opens (finds, or makes on first use) a room the actor may read and joins it, answering the
/// JOIN message a first join to the tenant's or a module's room writes (direct conversations
/// get none): 404
/// `module_not_found` for a module the actor does not see, `member_not_found` for someone who is
/// not an active member; 422 for a conversation with oneself or past the daily limit of new
/// direct conversations.
pub async fn open(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
    now: DateTime<Utc>,
) -> Result<(RoomAccess, Option<Change>), SocialError> {
    check_member(actor)?;
    let tenant = actor.tenant_id.into_uuid();
    let me = actor.user_id.into_uuid();
    let found = match target {
        Target::Tenant => {
            guild_db::sql(
                "INSERT INTO chat_rooms (tenant_id, id, kind, created_by, created_at) \
                 VALUES ($1, $2, 'TENANT', $3, $4) \
                 ON CONFLICT (tenant_id) WHERE kind = 'TENANT' DO NOTHING",
            )
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<SqlUuid, _>(me)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
            .await?;
            r::table
                .filter(r::tenant_id.eq(tenant))
                .filter(r::kind.eq(RoomKind::Tenant.as_str()))
                .select(Room::as_select())
                .first(conn)
                .await?
        }
        Target::Module(module) => {
            access::visible(conn, actor, module)
                .await
                .map_err(|e| from_learning(e, "module_not_found"))?;
            guild_db::sql(
                "INSERT INTO chat_rooms (tenant_id, id, kind, module_id, created_by, created_at) \
                 VALUES ($1, $2, 'MODULE', $3, $4, $5) \
                 ON CONFLICT (tenant_id, module_id) WHERE kind = 'MODULE' DO NOTHING",
            )
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<SqlUuid, _>(module)
            .bind::<SqlUuid, _>(me)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
            .await?;
            r::table
                .filter(r::tenant_id.eq(tenant))
                .filter(r::kind.eq(RoomKind::Module.as_str()))
                .filter(r::module_id.eq(module))
                .select(Room::as_select())
                .first(conn)
                .await?
        }
        Target::Direct(other) => open_direct(conn, actor, other, now).await?,
    };
    let mut opened = access_to(conn, actor, found).await?;
    let Some(message) = join(conn, actor, &opened.room, now).await? else {
        return Ok((opened, None));
    };
    opened.room.last_seq = message.seq;
    let audience = audience(conn, actor.tenant_id, &opened.room, None).await?;
    Ok((opened, Some(Change { message, audience })))
}

async fn open_direct(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    other: Uuid,
    now: DateTime<Utc>,
) -> Result<Room, SocialError> {
    let tenant = actor.tenant_id.into_uuid();
    let me = actor.user_id.into_uuid();
    if other == me {
        return Err(SocialError::invalid(
            "member_id",
            "direct_with_self",
            "a direct conversation is with someone else",
        ));
    }
    let active: bool = diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::user_id.eq(other))
            .filter(memberships::status.eq("ACTIVE")),
    ))
    .get_result(conn)
    .await?;
    if !active {
        return Err(SocialError::NotFound("member_not_found"));
    }
    let (a, b) = if me < other { (me, other) } else { (other, me) };
    let existing = r::table
        .filter(r::tenant_id.eq(tenant))
        .filter(r::kind.eq(RoomKind::Direct.as_str()))
        .filter(r::member_a.eq(a))
        .filter(r::member_b.eq(b))
        .select(Room::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(room) = existing {
        return Ok(room);
    }
    // Counted under a per-member lock, so racing opens cannot pass the limit together.
    guild_db::sql::lock_xact(conn, &format!("chat-direct:{tenant}:{me}")).await?;
    let opened: i64 = r::table
        .filter(r::tenant_id.eq(tenant))
        .filter(r::kind.eq(RoomKind::Direct.as_str()))
        .filter(r::created_by.eq(me))
        .filter(r::created_at.gt(now - Duration::days(1)))
        .count()
        .get_result(conn)
        .await?;
    if opened >= MAX_NEW_DIRECT_PER_DAY {
        return Err(SocialError::invalid(
            "member_id",
            "direct_room_limit_reached",
            &format!("at most {MAX_NEW_DIRECT_PER_DAY} new direct conversations in 24 hours"),
        ));
    }
    guild_db::sql(
        "INSERT INTO chat_rooms (tenant_id, id, kind, member_a, member_b, created_by, created_at) \
         VALUES ($1, $2, 'DIRECT', $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, member_a, member_b) WHERE kind = 'DIRECT' DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(a)
    .bind::<SqlUuid, _>(b)
    .bind::<SqlUuid, _>(me)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(r::table
        .filter(r::tenant_id.eq(tenant))
        .filter(r::kind.eq(RoomKind::Direct.as_str()))
        .filter(r::member_a.eq(a))
        .filter(r::member_b.eq(b))
        .select(Room::as_select())
        .first(conn)
        .await?)
}

/// Makes the actor's read marker at the room's last message (a direct conversation's at its
/// start: every message in it was written to them), unless they have one. A first join to the
/// tenant's or a module's room writes a JOIN message with the member's name (their marker moves
/// past it) and answers it.
pub(crate) async fn join(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: &Room,
    now: DateTime<Utc>,
) -> Result<Option<Message>, SocialError> {
    let made = guild_db::sql(
        "INSERT INTO chat_read_markers (tenant_id, room_id, user_id, last_read_seq, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(room.id)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<BigInt, _>(if room.kind == RoomKind::Direct {
        0
    } else {
        room.last_seq
    })
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    if made == 0 || room.kind == RoomKind::Direct {
        return Ok(None);
    }
    let (tenant, me) = (actor.tenant_id.into_uuid(), actor.user_id.into_uuid());
    let name = messages::member_name(conn, me).await?;
    let message = messages::write_guild_message(
        conn,
        tenant,
        room.id,
        MessageKind::Join,
        Some(me),
        &name,
        None,
        now,
    )
    .await?;
    guild_db::sql(
        "UPDATE chat_read_markers SET last_read_seq = greatest(last_read_seq, $4) \
         WHERE tenant_id = $1 AND room_id = $2 AND user_id = $3",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(room.id)
    .bind::<SqlUuid, _>(me)
    .bind::<BigInt, _>(message.seq)
    .execute(conn)
    .await?;
    Ok(Some(message))
}

#[derive(QueryableByName)]
struct Viewer {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Who hears of the room's changes, in id order: its joined members (or, with `among`, those
/// members), active, who may read it now — for a module's room those who may see the module,
/// by learning's own rule for many members in one statement
/// (`guild_learning::audience::SEES_MODULE`); for a direct conversation its two members.
pub async fn audience(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    room: &Room,
    among: Option<&[Uuid]>,
) -> Result<Vec<UserId>, SocialError> {
    let direct: Vec<Uuid> = room.member_a.into_iter().chain(room.member_b).collect();
    let candidates: Option<Vec<Uuid>> = match (room.kind, among) {
        (RoomKind::Direct, Some(among)) => Some(
            direct
                .iter()
                .copied()
                .filter(|u| among.contains(u))
                .collect(),
        ),
        (RoomKind::Direct, None) => Some(direct),
        (_, among) => among.map(<[Uuid]>::to_vec),
    };
    let rows: Vec<Viewer> = guild_db::sql(format!(
        "SELECT m.user_id FROM memberships m \
         LEFT JOIN modules md ON md.tenant_id = m.tenant_id AND md.id = $2 \
         WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' \
           AND (CASE WHEN $4::uuid[] IS NULL \
                  THEN EXISTS (SELECT 1 FROM chat_read_markers k WHERE k.tenant_id = $1 \
                                 AND k.room_id = $3 AND k.user_id = m.user_id) \
                  ELSE m.user_id = ANY($4::uuid[]) END) \
           AND ($2::uuid IS NULL OR (md.id IS NOT NULL AND {SEES_MODULE})) \
         ORDER BY m.user_id"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Nullable<SqlUuid>, _>(room.module_id)
    .bind::<SqlUuid, _>(room.id)
    .bind::<Nullable<Array<SqlUuid>>, _>(candidates)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|v| UserId(v.user_id)).collect())
}

/// One of the member's rooms, with how much of it they have read.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSummary {
    /// The room.
    pub room: Room,
    /// The number of the last message they read (0: none).
    pub last_read_seq: i64,
    /// Messages after it, by others, not deleted, JOINs aside (counted up to [`UNREAD_CAP`]).
    pub unread: i64,
}

/// Unread counts stop at this number.
pub const UNREAD_CAP: i64 = 1000;

#[derive(QueryableByName)]
struct SummaryRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    module_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    member_a: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    member_b: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    last_read_seq: i64,
    #[diesel(sql_type = BigInt)]
    unread: i64,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Bool)]
    creator: bool,
    #[diesel(sql_type = Bool)]
    mentor: bool,
    #[diesel(sql_type = Bool)]
    assigned: bool,
    #[diesel(sql_type = Bool)]
    catalog_open: bool,
}

/// The rooms the actor joined or is a member of (direct conversations), with their unread
/// counts, in one statement: rooms of modules they no longer see are left out. The tenant's
/// room, once it exists, is always listed.
pub async fn mine(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<Vec<RoomSummary>, SocialError> {
    let rows: Vec<SummaryRow> = guild_db::sql(
        "SELECT r.id, r.kind, r.module_id, r.member_a, r.member_b, r.last_seq, r.created_at, \
                coalesce(k.last_read_seq, 0) AS last_read_seq, \
                (SELECT count(*) FROM (SELECT 1 FROM chat_messages c \
                   WHERE c.tenant_id = r.tenant_id AND c.room_id = r.id \
                     AND c.seq > coalesce(k.last_read_seq, 0) AND c.deleted_at IS NULL \
                     AND c.kind <> 'JOIN' \
                     AND c.author_id IS DISTINCT FROM $2 LIMIT $3) u) AS unread, \
                md.status, coalesce(md.created_by = $2, false) AS creator, \
                EXISTS (SELECT 1 FROM module_mentors mm WHERE mm.tenant_id = r.tenant_id \
                          AND mm.module_id = r.module_id AND mm.user_id = $2) AS mentor, \
                EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                          ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                        WHERE mg.tenant_id = r.tenant_id AND mg.module_id = r.module_id \
                          AND ug.user_id = $2) AS assigned, \
                coalesce((SELECT t.catalog_open FROM tenants t WHERE t.id = r.tenant_id), false) \
                  AS catalog_open \
         FROM chat_rooms r \
         LEFT JOIN chat_read_markers k ON k.tenant_id = r.tenant_id AND k.room_id = r.id \
                                      AND k.user_id = $2 \
         LEFT JOIN modules md ON md.tenant_id = r.tenant_id AND md.id = r.module_id \
         WHERE r.tenant_id = $1 \
           AND (r.kind = 'TENANT' OR (r.kind = 'MODULE' AND k.user_id IS NOT NULL) \
             OR (r.kind = 'DIRECT' AND $2 IN (r.member_a, r.member_b))) \
         ORDER BY r.kind DESC, r.id",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<BigInt, _>(UNREAD_CAP)
    .load(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: RoomKind = row
            .kind
            .parse()
            .map_err(|_| SocialError::NotFound("room_not_found"))?;
        if kind == RoomKind::Module {
            let module = row.module_id.unwrap_or_default();
            let published = row.status.as_deref() == Some("PUBLISHED");
            let sees = access::may_manage_all(actor, Some(module))
                || row.creator
                || row.mentor
                || (published && (row.catalog_open || row.assigned));
            if !sees {
                continue;
            }
        }
        out.push(RoomSummary {
            room: Room {
                id: row.id,
                kind,
                module_id: row.module_id,
                member_a: row.member_a,
                member_b: row.member_b,
                last_seq: row.last_seq,
                created_at: row.created_at,
            },
            last_read_seq: row.last_read_seq,
            unread: row.unread,
        });
    }
    Ok(out)
}

/// A member's read marker in a room, after a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The room.
    pub room_id: Uuid,
    /// The number of the last message read.
    pub last_read_seq: i64,
}

/// Moves the actor's read marker to `message` (a message of the room): it never moves back, so
/// a late request from another device leaves a further marker alone. Answers the marker and
/// whether it moved.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    room: Uuid,
    message: Uuid,
    now: DateTime<Utc>,
) -> Result<(Marker, bool), SocialError> {
    check_member(actor)?;
    let room = access(conn, actor, room).await?.room;
    let seq: i64 = cm::table
        .filter(cm::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(cm::room_id.eq(room.id))
        .filter(cm::id.eq(message))
        .select(cm::seq)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| {
            SocialError::invalid("message_id", "not_in_room", "not a message of this room")
        })?;
    #[derive(QueryableByName)]
    struct Moved {
        #[diesel(sql_type = BigInt)]
        last_read_seq: i64,
        #[diesel(sql_type = Bool)]
        moved: bool,
    }
    let moved: Option<Moved> = guild_db::sql(
        "INSERT INTO chat_read_markers AS k (tenant_id, room_id, user_id, last_read_seq, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, user_id, room_id) DO UPDATE \
           SET last_read_seq = EXCLUDED.last_read_seq, updated_at = EXCLUDED.updated_at \
           WHERE k.last_read_seq < EXCLUDED.last_read_seq \
         RETURNING k.last_read_seq, true AS moved",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(room.id)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<BigInt, _>(seq)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
    .optional()?;
    if let Some(moved) = moved {
        return Ok((
            Marker {
                room_id: room.id,
                last_read_seq: moved.last_read_seq,
            },
            moved.moved,
        ));
    }
    let kept: i64 = guild_db::schema::chat_read_markers::table
        .find((
            actor.tenant_id.into_uuid(),
            actor.user_id.into_uuid(),
            room.id,
        ))
        .select(guild_db::schema::chat_read_markers::last_read_seq)
        .first(conn)
        .await?;
    Ok((
        Marker {
            room_id: room.id,
            last_read_seq: kept,
        },
        false,
    ))
}
