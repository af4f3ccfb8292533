//! The one SQL form of a [`MemberScope`](guild_kernel::MemberScope): a predicate over a user id
//! column that keeps the members the actor reaches, used by every list and report that is scoped
//! by member (the member list, the compliance matrix, the manager dashboard, a member's
//! progress).
//!
//! The predicate takes three parameters, bound from [`MemberScope::binds`]
//! (guild_kernel::MemberScope::binds): `limited` (false: everyone), the group ids and the user ids
//! (the manager subtree, already resolved in the actor). A member is in scope when the scope is
//! not limited, their id is listed, or they belong to a listed group. Written once here, rendered
//! two ways: with numbered parameters for hand-written SQL ([`predicate`]) and with diesel's own
//! binds for the query builder ([`filter`]). The text is fixed for a given column and parameter
//! numbers, so statements that embed it stay cacheable (`guild_db::sql`).

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::sql_types::{Array, Bool, Uuid as SqlUuid};
use guild_kernel::MemberScope;

/// The predicate's text around its three parameters (`{u}` the user id column, `{t}` the tenant).
const PARTS: [&str; 4] = [
    "(NOT ",
    " OR {u} = ANY(",
    ") OR EXISTS (SELECT 1 FROM user_groups sg WHERE sg.tenant_id = {t} AND sg.user_id = {u} \
     AND sg.group_id = ANY(",
    ")))",
];

fn part(i: usize, user: &str, tenant: &str) -> String {
    PARTS[i].replace("{u}", user).replace("{t}", tenant)
}

/// The predicate for hand-written SQL: `user` is the user id column, `tenant` the tenant's
/// expression (a column or a parameter), and `$first`, `$first + 1`, `$first + 2` receive
/// [`MemberScope::binds`](guild_kernel::MemberScope::binds) in order (bool, uuid[], uuid[]).
pub fn predicate(user: &str, tenant: &str, first: usize) -> String {
    format!(
        "{}${first}::boolean{}${}::uuid[]{}${}::uuid[]{}",
        part(0, user, tenant),
        part(1, user, tenant),
        first + 2,
        part(2, user, tenant),
        first + 1,
        part(3, user, tenant),
    )
}

/// The predicate for the query builder, with the scope's values bound: `user` and `tenant` are
/// columns of the query's tables, written as SQL (`memberships.user_id`).
pub fn filter<QS>(
    scope: &MemberScope,
    user: &str,
    tenant: &str,
) -> Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>> {
    let (limited, groups, users) = scope.binds();
    Box::new(
        sql::<Bool>(&part(0, user, tenant))
            .bind::<Bool, _>(limited)
            .sql(&part(1, user, tenant))
            .bind::<Array<SqlUuid>, _>(users)
            .sql(&part(2, user, tenant))
            .bind::<Array<SqlUuid>, _>(groups)
            .sql(&part(3, user, tenant)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predicate_numbers_its_parameters_in_the_order_of_the_binds() {
        assert_eq!(
            predicate("ms.user_id", "$1", 3),
            "(NOT $3::boolean OR ms.user_id = ANY($5::uuid[]) OR EXISTS (SELECT 1 FROM user_groups sg \
             WHERE sg.tenant_id = $1 AND sg.user_id = ms.user_id AND sg.group_id = ANY($4::uuid[])))"
        );
    }
}
