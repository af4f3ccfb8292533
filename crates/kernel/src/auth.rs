//! Who is acting, and what they may do.
//!
//! The api layer builds an [`Actor`] once per request (through the tenancy crate: membership,
//! role, grants, manager subtree) and every domain function starts with [`authorize`], a pure
//! function, so domains check permissions without depending on the tenancy crate.
//!
//! Effective permissions are the role's defaults ([`TenantRole::default_permissions`], unscoped)
//! plus explicit grants, each optionally scoped to groups, modules or the actor's manager subtree.
//! OWNER and SUPER_ADMIN bypass every check.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

use crate::ids::{TenantId, UserId};

pub use crate::enums::UnknownValue;

crate::string_enum!(
    /// A member's role in one tenant, from most to least powerful.
    TenantRole {
        /// Owns the tenant; bypasses every permission check.
        Owner => "OWNER",
        /// Bypasses every permission check.
        SuperAdmin => "SUPER_ADMIN",
        /// Runs the tenant day to day.
        Admin => "ADMIN",
        /// People and progress.
        Hr => "HR",
        /// Learns.
        Employee => "EMPLOYEE",
        /// Reads only.
        Viewer => "VIEWER",
    }
);

crate::string_enum!(
    /// A user's platform-wide role. A global OWNER may act in any tenant (impersonation).
    GlobalRole {
        /// The platform owner.
        Owner => "OWNER",
        /// Platform staff.
        SuperAdmin => "SUPER_ADMIN",
        /// Platform staff.
        Admin => "ADMIN",
        /// Everyone else.
        Employee => "EMPLOYEE",
    }
);

crate::string_enum!(
    /// Where a membership is: invited and not yet joined, active, deactivated by an admin, or
    /// removed from the tenant (kept for its history).
    MembershipStatus {
        /// Invited; not yet accepted.
        Invited => "INVITED",
        /// A member.
        Active => "ACTIVE",
        /// Refused until reactivated.
        Deactivated => "DEACTIVATED",
        /// Removed; their history stays.
        Removed => "REMOVED",
    }
);

crate::string_enum!(
    /// The fine-grained capabilities a grant can give.
    Permission {
        /// Edit any module.
        ManageAllModules => "MANAGE_ALL_MODULES",
        /// Edit modules one created or mentors.
        ManageOwnModules => "MANAGE_OWN_MODULES",
        /// See everyone's progress.
        ViewAllProgress => "VIEW_ALL_PROGRESS",
        /// See the progress of members of the scoped groups.
        ViewGroupProgress => "VIEW_GROUP_PROGRESS",
        /// Invite, edit, deactivate and remove members.
        ManageUsers => "MANAGE_USERS",
        /// Create and edit groups and their members.
        ManageGroups => "MANAGE_GROUPS",
        /// Edit quizzes.
        ManageQuizzes => "MANAGE_QUIZZES",
        /// Override a member's progress.
        OverrideProgress => "OVERRIDE_PROGRESS",
        /// See analytics.
        ViewAnalytics => "VIEW_ANALYTICS",
        /// Read the audit log.
        ViewAuditLog => "VIEW_AUDIT_LOG",
        /// Export reports.
        ExportReports => "EXPORT_REPORTS",
        /// Run the reward shop.
        ManageRewards => "MANAGE_REWARDS",
        /// See the manager dashboard.
        ViewManagerDashboard => "VIEW_MANAGER_DASHBOARD",
        /// Review knowledge suggestions.
        ManageSuggestions => "MANAGE_SUGGESTIONS",
        /// Manage the tenant's webhook endpoints, their secrets and deliveries.
        ManageWebhooks => "MANAGE_WEBHOOKS",
        /// Provision members and groups over SCIM 2.0 (`/scim/v2`). Only an API key holding it
        /// alone is accepted there, and no `/v1` route checks it: it grants nothing else.
        ProvisionScim => "PROVISION_SCIM",
    }
);

impl TenantRole {
    /// OWNER and SUPER_ADMIN skip permission checks.
    pub fn bypasses_checks(self) -> bool {
        matches!(self, Self::Owner | Self::SuperAdmin)
    }

    /// What the role may do without any explicit grant (see `docs/PERMISSIONS.md`).
    pub fn default_permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Self::Owner | Self::SuperAdmin => Permission::ALL,
            Self::Admin => &[
                ManageAllModules,
                ManageOwnModules,
                ViewAllProgress,
                ViewGroupProgress,
                ManageUsers,
                ManageGroups,
                ManageQuizzes,
                OverrideProgress,
                ViewAnalytics,
                ViewAuditLog,
                ExportReports,
                ManageRewards,
                ViewManagerDashboard,
                ManageSuggestions,
                ManageWebhooks,
                ProvisionScim,
            ],
            Self::Hr => &[
                ViewAllProgress,
                ViewGroupProgress,
                ManageUsers,
                ManageGroups,
                ViewAnalytics,
                ExportReports,
                ViewManagerDashboard,
            ],
            Self::Employee | Self::Viewer => &[],
        }
    }

    /// Rank for "may this role manage that role": lower is more powerful.
    pub fn rank(self) -> u8 {
        match self {
            Self::Owner => 0,
            Self::SuperAdmin => 1,
            Self::Admin => 2,
            Self::Hr => 3,
            Self::Employee => 4,
            Self::Viewer => 5,
        }
    }
}

/// Where a grant applies. Every list that is `None` does not restrict; a grant with all three
/// unset applies tenant-wide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantScope {
    /// Only resources of these groups (members of, modules assigned to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<Uuid>>,
    /// Only these modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_ids: Option<Vec<Uuid>>,
    /// Only the members below the actor in the manager tree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manager_subtree: bool,
}

impl GrantScope {
    /// A scope that restricts nothing.
    pub fn is_unrestricted(&self) -> bool {
        self.group_ids.is_none() && self.module_ids.is_none() && !self.manager_subtree
    }
}

/// One permission with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The capability.
    pub permission: Permission,
    /// Where it applies.
    pub scope: GrantScope,
}

/// What the action touches, for scoped grants.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The tenant as a whole: needs an unscoped grant.
    Tenant,
    /// A resource belonging to these groups.
    Groups(&'a [Uuid]),
    /// A module.
    Module(Uuid),
    /// A member, with the groups they belong to.
    User {
        /// The member.
        id: UserId,
        /// Their groups.
        groups: &'a [Uuid],
    },
}

/// The authenticated caller of one request, in one tenant.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user acting (for an API key: the admin who created it).
    pub user_id: UserId,
    /// The tenant acted in.
    pub tenant_id: TenantId,
    /// The user's role in that tenant (a global OWNER impersonating acts as OWNER).
    pub role: TenantRole,
    /// The user's platform role.
    pub global_role: GlobalRole,
    /// Explicit grants, on top of the role's defaults.
    pub grants: Vec<Grant>,
    /// The members below this user in the manager tree (loaded when a grant needs it).
    pub subtree: Vec<UserId>,
    /// Set when a global OWNER acts in a tenant they are not a member of.
    pub impersonating: bool,
    /// Set when the request authenticated with an API key: only these permissions apply, and
    /// nothing a member does for themselves unless the key acts as a member.
    pub api_key: Option<ApiKeyLimits>,
    /// The request's id, recorded with every audit row the request writes.
    pub request_id: Option<String>,
}

/// The permissions an API key was limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyLimits {
    /// The key's id.
    pub key_id: Uuid,
    /// What the key may do (never more than its creator may).
    pub permissions: BTreeSet<Permission>,
    /// The key may also do what its creator does as a member (learn, spend XP, grade as a
    /// mentor, read and change their own things). Without it the key does only what
    /// `permissions` allow.
    pub act_as_member: bool,
}

impl Actor {
    /// Whether the actor may do what a member does for themselves: what no [`Permission`]
    /// grants, only a personal relation (their own progress, XP, preferences; the modules they
    /// mentor). True for a person signed in, and for an API key created with `act_as_member`;
    /// false for every other key, which does only what its permissions allow.
    pub fn acts_as_member(&self) -> bool {
        self.api_key.as_ref().is_none_or(|key| key.act_as_member)
    }
}

/// The actor may not do this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("missing permission {0}")]
pub struct Denied(pub Permission);

impl crate::ErrorCode for Denied {
    fn code(&self) -> &'static str {
        "forbidden"
    }
    fn status(&self) -> u16 {
        403
    }
}

/// Decides whether `actor` may use `permission` on `target`.
pub fn authorize(actor: &Actor, permission: Permission, target: Target<'_>) -> Result<(), Denied> {
    if let Some(key) = &actor.api_key
        && !key.permissions.contains(&permission)
    {
        return Err(Denied(permission));
    }
    if actor.role.bypasses_checks() || actor.role.default_permissions().contains(&permission) {
        return Ok(());
    }
    let allowed = actor
        .grants
        .iter()
        .filter(|g| g.permission == permission)
        .any(|g| scope_covers(actor, &g.scope, target));
    if allowed {
        Ok(())
    } else {
        Err(Denied(permission))
    }
}

fn scope_covers(actor: &Actor, scope: &GrantScope, target: Target<'_>) -> bool {
    if scope.is_unrestricted() {
        return true;
    }
    let in_groups = |groups: &[Uuid]| {
        scope
            .group_ids
            .as_ref()
            .is_some_and(|allowed| groups.iter().any(|g| allowed.contains(g)))
    };
    match target {
        Target::Tenant => false,
        Target::Groups(groups) => in_groups(groups),
        Target::Module(module) => scope
            .module_ids
            .as_ref()
            .is_some_and(|allowed| allowed.contains(&module)),
        Target::User { id, groups } => {
            in_groups(groups) || (scope.manager_subtree && actor.subtree.contains(&id))
        }
    }
}

/// The permissions that show others' progress, each as far as its scope reaches: the compliance
/// matrix, a member's progress.
pub const PROGRESS_VIEWERS: &[Permission] = &[
    Permission::ViewAllProgress,
    Permission::ViewGroupProgress,
    Permission::ViewManagerDashboard,
];

/// The permissions that show other members (the member list and a member's detail): managing
/// them, or seeing their progress.
pub const MEMBER_VIEWERS: &[Permission] = &[
    Permission::ManageUsers,
    Permission::ViewAllProgress,
    Permission::ViewGroupProgress,
    Permission::ViewManagerDashboard,
];

/// Whose members an actor reaches through a set of permissions: the union of the scopes of every
/// grant of them they hold (role defaults are tenant-wide). The list and report counterpart of
/// [`authorize`] on a [`Target::User`]: a member is in the scope exactly when `authorize` would
/// admit one of the permissions on them, so a list never shows a member whose detail is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberScope {
    /// Every member of the tenant.
    All,
    /// Members of these groups, and these members (the actor's manager subtree).
    Some {
        /// Groups whose members are in scope.
        group_ids: Vec<Uuid>,
        /// Members in scope by id (below the actor in the manager tree).
        user_ids: Vec<Uuid>,
    },
}

impl MemberScope {
    /// Whether the member `user`, belonging to `groups`, is in the scope.
    pub fn covers(&self, user: UserId, groups: &[Uuid]) -> bool {
        match self {
            Self::All => true,
            Self::Some {
                group_ids,
                user_ids,
            } => {
                user_ids.contains(&user.into_uuid()) || groups.iter().any(|g| group_ids.contains(g))
            }
        }
    }

    /// The scope as SQL binds: (limited, group ids, user ids). `limited` false means everyone;
    /// see `guild_db::scope` for the predicate these bind into.
    pub fn binds(&self) -> (bool, Vec<Uuid>, Vec<Uuid>) {
        match self {
            Self::All => (false, Vec::new(), Vec::new()),
            Self::Some {
                group_ids,
                user_ids,
            } => (true, group_ids.clone(), user_ids.clone()),
        }
    }
}

/// The members `actor` reaches through any of `permissions` (see [`MemberScope`]): OWNER and
/// SUPER_ADMIN, a role default or an unscoped grant reach everyone; a grant scoped to groups
/// reaches their members; one scoped to the manager subtree, the members below the actor. A grant
/// scoped to modules only reaches no member. An API key counts only the permissions it holds.
/// [`Denied`] (for the first permission) when none of them reaches anyone.
pub fn member_scope(actor: &Actor, permissions: &[Permission]) -> Result<MemberScope, Denied> {
    let held = |p: &Permission| {
        actor
            .api_key
            .as_ref()
            .is_none_or(|key| key.permissions.contains(p))
    };
    let denied = Denied(
        permissions
            .first()
            .copied()
            .unwrap_or(Permission::ViewAllProgress),
    );
    let permissions: Vec<Permission> = permissions.iter().copied().filter(held).collect();
    if permissions.is_empty() {
        return Err(denied);
    }
    if actor.role.bypasses_checks()
        || permissions
            .iter()
            .any(|p| actor.role.default_permissions().contains(p))
    {
        return Ok(MemberScope::All);
    }
    let mut group_ids = Vec::new();
    let mut user_ids = Vec::new();
    let mut reaches = false;
    for grant in actor
        .grants
        .iter()
        .filter(|g| permissions.contains(&g.permission))
    {
        if grant.scope.is_unrestricted() {
            return Ok(MemberScope::All);
        }
        if let Some(groups) = &grant.scope.group_ids {
            group_ids.extend(groups.iter().copied());
            reaches = true;
        }
        if grant.scope.manager_subtree {
            user_ids.extend(actor.subtree.iter().map(|u| u.into_uuid()));
            reaches = true;
        }
    }
    if !reaches {
        return Err(denied);
    }
    group_ids.sort();
    group_ids.dedup();
    user_ids.sort();
    user_ids.dedup();
    Ok(MemberScope::Some {
        group_ids,
        user_ids,
    })
}

/// Every permission the actor holds, with the scopes it holds it in (unscoped first).
pub fn effective_grants(actor: &Actor) -> Vec<Grant> {
    let mut out: Vec<Grant> = actor
        .role
        .default_permissions()
        .iter()
        .map(|p| Grant {
            permission: *p,
            scope: GrantScope::default(),
        })
        .collect();
    for grant in &actor.grants {
        let covered = out
            .iter()
            .any(|g| g.permission == grant.permission && g.scope.is_unrestricted());
        if !covered && !out.contains(grant) {
            out.push(grant.clone());
        }
    }
    if let Some(key) = &actor.api_key {
        out.retain(|g| key.permissions.contains(&g.permission));
    }
    out.sort_by_key(|g| (g.permission, !g.scope.is_unrestricted()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: TenantRole, grants: Vec<Grant>) -> Actor {
        Actor {
            user_id: UserId::new(),
            tenant_id: TenantId::new(),
            role,
            global_role: GlobalRole::Employee,
            grants,
            subtree: Vec::new(),
            impersonating: false,
            api_key: None,
            request_id: None,
        }
    }

    fn scoped(permission: Permission, scope: GrantScope) -> Grant {
        Grant { permission, scope }
    }

    #[test]
    fn owners_and_super_admins_bypass_checks() {
        for role in [TenantRole::Owner, TenantRole::SuperAdmin] {
            for p in Permission::ALL {
                assert!(authorize(&actor(role, vec![]), *p, Target::Tenant).is_ok());
            }
        }
    }

    #[test]
    fn role_defaults_apply_tenant_wide_and_nothing_more() {
        let hr = actor(TenantRole::Hr, vec![]);
        assert!(authorize(&hr, Permission::ManageUsers, Target::Tenant).is_ok());
        assert_eq!(
            authorize(&hr, Permission::ManageRewards, Target::Tenant),
            Err(Denied(Permission::ManageRewards))
        );
        let employee = actor(TenantRole::Employee, vec![]);
        for p in Permission::ALL {
            assert!(authorize(&employee, *p, Target::Tenant).is_err(), "{p}");
        }
    }

    #[test]
    fn a_group_scoped_grant_covers_only_its_groups() {
        let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
        let lead = actor(
            TenantRole::Employee,
            vec![scoped(
                Permission::ViewGroupProgress,
                GrantScope {
                    group_ids: Some(vec![mine]),
                    ..GrantScope::default()
                },
            )],
        );
        let p = Permission::ViewGroupProgress;
        assert!(authorize(&lead, p, Target::Groups(&[other, mine])).is_ok());
        assert!(authorize(&lead, p, Target::Groups(&[other])).is_err());
        assert!(authorize(&lead, p, Target::Tenant).is_err());
        let member = UserId::new();
        assert!(
            authorize(
                &lead,
                p,
                Target::User {
                    id: member,
                    groups: &[mine]
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &lead,
                p,
                Target::User {
                    id: member,
                    groups: &[]
                }
            )
            .is_err()
        );
    }

    #[test]
    fn module_and_subtree_scopes() {
        let module = Uuid::now_v7();
        let report = UserId::new();
        let mut manager = actor(
            TenantRole::Employee,
            vec![
                scoped(
                    Permission::ManageQuizzes,
                    GrantScope {
                        module_ids: Some(vec![module]),
                        ..GrantScope::default()
                    },
                ),
                scoped(
                    Permission::ViewManagerDashboard,
                    GrantScope {
                        manager_subtree: true,
                        ..GrantScope::default()
                    },
                ),
            ],
        );
        manager.subtree = vec![report];
        assert!(authorize(&manager, Permission::ManageQuizzes, Target::Module(module)).is_ok());
        assert!(
            authorize(
                &manager,
                Permission::ManageQuizzes,
                Target::Module(Uuid::now_v7())
            )
            .is_err()
        );
        let dash = Permission::ViewManagerDashboard;
        assert!(
            authorize(
                &manager,
                dash,
                Target::User {
                    id: report,
                    groups: &[]
                }
            )
            .is_ok()
        );
        let stranger = UserId::new();
        assert!(
            authorize(
                &manager,
                dash,
                Target::User {
                    id: stranger,
                    groups: &[]
                }
            )
            .is_err()
        );
    }

    #[test]
    fn a_member_scope_is_the_union_of_the_grants_and_agrees_with_authorize() {
        let (group, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (report, stranger) = (UserId::new(), UserId::new());
        let mut lead = actor(
            TenantRole::Employee,
            vec![
                scoped(
                    Permission::ViewGroupProgress,
                    GrantScope {
                        group_ids: Some(vec![group]),
                        ..GrantScope::default()
                    },
                ),
                scoped(
                    Permission::ViewManagerDashboard,
                    GrantScope {
                        manager_subtree: true,
                        ..GrantScope::default()
                    },
                ),
                scoped(
                    Permission::ManageQuizzes,
                    GrantScope {
                        module_ids: Some(vec![other]),
                        ..GrantScope::default()
                    },
                ),
            ],
        );
        lead.subtree = vec![report];
        let people = [
            Permission::ViewGroupProgress,
            Permission::ViewManagerDashboard,
        ];
        let scope = member_scope(&lead, &people);
        assert_eq!(
            scope,
            Ok(MemberScope::Some {
                group_ids: vec![group],
                user_ids: vec![report.into_uuid()],
            })
        );
        let scope = scope.unwrap_or(MemberScope::All);
        for (user, groups) in [
            (report, vec![]),
            (stranger, vec![group]),
            (stranger, vec![other]),
            (stranger, vec![]),
        ] {
            let by_authorize = people.iter().any(|p| {
                authorize(
                    &lead,
                    *p,
                    Target::User {
                        id: user,
                        groups: &groups,
                    },
                )
                .is_ok()
            });
            assert_eq!(scope.covers(user, &groups), by_authorize, "{groups:?}");
        }
        // Only the dashboard's subtree grant counts for the dashboard alone.
        assert_eq!(
            member_scope(&lead, &[Permission::ViewManagerDashboard]),
            Ok(MemberScope::Some {
                group_ids: vec![],
                user_ids: vec![report.into_uuid()],
            })
        );
        // A module-scoped grant reaches no member.
        assert!(member_scope(&lead, &[Permission::ManageQuizzes]).is_err());
        assert!(member_scope(&lead, &[Permission::ManageUsers]).is_err());
        assert_eq!(
            member_scope(&actor(TenantRole::Hr, vec![]), &people),
            Ok(MemberScope::All)
        );
        let mut key = actor(TenantRole::Owner, vec![]);
        key.api_key = Some(ApiKeyLimits {
            key_id: Uuid::now_v7(),
            permissions: [Permission::ViewAuditLog].into_iter().collect(),
            act_as_member: false,
        });
        assert!(member_scope(&key, &people).is_err());
    }

    #[test]
    fn an_api_key_never_exceeds_its_permissions() {
        let mut admin = actor(TenantRole::Owner, vec![]);
        admin.api_key = Some(ApiKeyLimits {
            key_id: Uuid::now_v7(),
            permissions: [Permission::ViewAnalytics].into_iter().collect(),
            act_as_member: false,
        });
        assert!(!admin.acts_as_member());
        assert!(authorize(&admin, Permission::ViewAnalytics, Target::Tenant).is_ok());
        assert!(authorize(&admin, Permission::ManageUsers, Target::Tenant).is_err());
        let grants = effective_grants(&admin);
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].permission, Permission::ViewAnalytics);
    }

    #[test]
    fn only_people_and_keys_made_to_act_as_members_act_as_members() {
        let mut member = actor(TenantRole::Employee, vec![]);
        assert!(member.acts_as_member());
        member.api_key = Some(ApiKeyLimits {
            key_id: Uuid::now_v7(),
            permissions: BTreeSet::new(),
            act_as_member: true,
        });
        assert!(member.acts_as_member());
        if let Some(key) = &mut member.api_key {
            key.act_as_member = false;
        }
        assert!(!member.acts_as_member());
    }

    #[test]
    fn enums_round_trip_through_their_wire_names() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(*p));
            assert_eq!(
                serde_json::to_value(p).ok(),
                Some(serde_json::json!(p.as_str()))
            );
        }
        assert_eq!(Permission::ALL.len(), 16);
        assert_eq!(
            "SUPER_ADMIN".parse::<TenantRole>(),
            Ok(TenantRole::SuperAdmin)
        );
        assert!("ROOT".parse::<TenantRole>().is_err());
    }
}
