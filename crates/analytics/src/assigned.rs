//! The dashboard's assignment figures, computed in this process over rows read by index: the
//! mandatory modules each member has overdue, and the completion heatmap of groups × modules.
//!
//! Both are about every (member, module) pair the members' groups assign, about 210,000 for a
//! manager of 1,000 members in groups assigned 200 modules. Joined and aggregated in SQL, those
//! pairs made two statements of 400–600 ms each (a hash aggregate spilling to disk). Read here
//! instead are what the pairs are made of, each a short index range: the members' groups (with
//! when they joined), those groups' published assignments (group × module), the completions of
//! the current cycle and the renewed cycles. The pairs are then walked once in memory, with the
//! due-date rule of [`guild_learning::assigned::group_due_at`] (the one `assignments_sql!`
//! applies in SQL).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use guild_learning::assigned::{earliest, group_due_at};
use uuid::Uuid;

use crate::dashboard::{Heatmap, HeatmapCell, HeatmapGroup, HeatmapModule};

/// A member's group, and when they joined it.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct MemberGroup {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) group_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub(crate) joined_at: DateTime<Utc>,
}

/// A group's name or a module's title, by id.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Labeled {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: Uuid,
    #[diesel(sql_type = Text)]
    pub(crate) label: String,
}

/// A published module assigned to a group.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct GroupModule {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) group_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) module_id: Uuid,
    #[diesel(sql_type = Bool)]
    pub(crate) is_mandatory: bool,
    #[diesel(sql_type = Timestamptz)]
    pub(crate) assigned_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub(crate) deadline_days: Option<i32>,
}

/// A module a member completed in their current cycle.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Completed {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) module_id: Uuid,
}

/// When a member's current cycle of a module started.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Cycle {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) module_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub(crate) started_at: DateTime<Utc>,
}

/// What the figures are computed from.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) member_groups: Vec<MemberGroup>,
    pub(crate) groups: Vec<Labeled>,
    pub(crate) group_modules: Vec<GroupModule>,
    pub(crate) modules: Vec<Labeled>,
    pub(crate) completed: Vec<Completed>,
    pub(crate) cycles: Vec<Cycle>,
}

/// A mandatory module a member has overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overdue {
    pub(crate) user_id: Uuid,
    pub(crate) module_id: Uuid,
    pub(crate) title: String,
    pub(crate) due_at: DateTime<Utc>,
}

/// The figures.
#[derive(Debug, Default)]
pub(crate) struct Assigned {
    /// By member (in the order of `members`), then due date and title.
    pub(crate) overdue: Vec<Overdue>,
    pub(crate) heatmap: Heatmap,
}

/// One assignment of a group, with its module as an index into the modules.
struct Assignment {
    module: usize,
    mandatory: bool,
    assigned_at: DateTime<Utc>,
    deadline_days: Option<i32>,
}

/// A module's state for the member being walked; `seen` and `done` hold the walk's step.
#[derive(Clone, Default)]
struct Slot {
    seen: usize,
    done: usize,
    mandatory: bool,
    due: Option<DateTime<Utc>>,
}

/// The overdue mandatory modules of `members` (published, past the earliest due date of their
/// groups, not completed this cycle) and the heatmap's cells (for every group of theirs, or only
/// `group`): per group and module, the members of the group among `members` (`assigned`), those
/// who completed it this cycle (`completed`), and those past this group's due date without
/// completing it (`overdue`), at `now`.
pub(crate) fn compute(
    members: &[Uuid],
    rows: Rows,
    group: Option<Uuid>,
    now: DateTime<Utc>,
) -> Assigned {
    let Rows {
        member_groups,
        groups,
        group_modules,
        modules,
        completed,
        cycles,
    } = rows;
    let module_ix: HashMap<Uuid, usize> =
        modules.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
    let mut by_group: HashMap<Uuid, Vec<Assignment>> = HashMap::new();
    for gm in group_modules {
        // A module not published has no row in `modules`: its assignments count nowhere.
        if let Some(&module) = module_ix.get(&gm.module_id) {
            by_group.entry(gm.group_id).or_default().push(Assignment {
                module,
                mandatory: gm.is_mandatory,
                assigned_at: gm.assigned_at,
                deadline_days: gm.deadline_days,
            });
        }
    }
    let mut groups_of: HashMap<Uuid, Vec<(Uuid, DateTime<Utc>)>> = HashMap::new();
    for mg in member_groups {
        groups_of
            .entry(mg.user_id)
            .or_default()
            .push((mg.group_id, mg.joined_at));
    }
    let mut done_of: HashMap<Uuid, Vec<usize>> = HashMap::new();
    for c in completed {
        if let Some(&module) = module_ix.get(&c.module_id) {
            done_of.entry(c.user_id).or_default().push(module);
        }
    }
    let mut cycles_of: HashMap<Uuid, Vec<(usize, DateTime<Utc>)>> = HashMap::new();
    for c in cycles {
        if let Some(&module) = module_ix.get(&c.module_id) {
            cycles_of
                .entry(c.user_id)
                .or_default()
                .push((module, c.started_at));
        }
    }
    // The heatmap's counts, aligned with each group's assignments.
    let mut cells: HashMap<Uuid, Vec<[i64; 3]>> = by_group
        .iter()
        .filter(|(g, _)| group.is_none_or(|only| only == **g))
        .map(|(g, list)| (*g, vec![[0; 3]; list.len()]))
        .collect();

    let mut slots = vec![Slot::default(); modules.len()];
    let mut touched: Vec<usize> = Vec::new();
    let mut overdue = Vec::new();
    let no_cycles = Vec::new();
    for (step, user) in members.iter().enumerate() {
        let step = step + 1;
        if let Some(done) = done_of.get(user) {
            for &m in done {
                slots[m].done = step;
            }
        }
        let cycles = cycles_of.get(user).unwrap_or(&no_cycles);
        touched.clear();
        for (g, joined) in groups_of.get(user).map(Vec::as_slice).unwrap_or_default() {
            let Some(list) = by_group.get(g) else {
                continue;
            };
            let mut counts = cells.get_mut(g);
            for (k, a) in list.iter().enumerate() {
                let cycle = cycles
                    .iter()
                    .find(|(m, _)| *m == a.module)
                    .map(|(_, at)| *at);
                let due = group_due_at(*joined, a.assigned_at, cycle, a.deadline_days);
                let slot = &mut slots[a.module];
                if slot.seen != step {
                    slot.seen = step;
                    slot.mandatory = false;
                    slot.due = None;
                    touched.push(a.module);
                }
                slot.mandatory |= a.mandatory;
                slot.due = earliest(slot.due, due);
                if let Some(counts) = counts.as_deref_mut() {
                    let cell = &mut counts[k];
                    cell[0] += 1;
                    if slot.done == step {
                        cell[1] += 1;
                    } else if due.is_some_and(|d| d < now) {
                        cell[2] += 1;
                    }
                }
            }
        }
        let first = overdue.len();
        for &m in &touched {
            let slot = &slots[m];
            if let Some(due_at) = slot
                .due
                .filter(|d| slot.mandatory && slot.done != step && *d < now)
            {
                overdue.push(Overdue {
                    user_id: *user,
                    module_id: modules[m].id,
                    title: modules[m].label.clone(),
                    due_at,
                });
            }
        }
        overdue[first..]
            .sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.title.cmp(&b.title)));
    }

    Assigned {
        overdue,
        heatmap: heatmap(groups, &modules, &by_group, &cells),
    }
}

/// The heatmap from the counts: groups by name, modules by title, cells by group then module;
/// only the pairs with a member.
fn heatmap(
    groups: Vec<Labeled>,
    modules: &[Labeled],
    by_group: &HashMap<Uuid, Vec<Assignment>>,
    cells: &HashMap<Uuid, Vec<[i64; 3]>>,
) -> Heatmap {
    let mut map = Heatmap::default();
    let mut groups = groups;
    groups.sort_by(|a, b| a.label.cmp(&b.label).then(a.id.cmp(&b.id)));
    let mut used = vec![false; modules.len()];
    for g in groups {
        let (Some(list), Some(counts)) = (by_group.get(&g.id), cells.get(&g.id)) else {
            continue;
        };
        let mut row: Vec<(usize, [i64; 3])> = list
            .iter()
            .zip(counts)
            .filter(|(_, c)| c[0] > 0)
            .map(|(a, c)| (a.module, *c))
            .collect();
        if row.is_empty() {
            continue;
        }
        row.sort_by(|a, b| {
            modules[a.0]
                .label
                .cmp(&modules[b.0].label)
                .then(modules[a.0].id.cmp(&modules[b.0].id))
        });
        for (m, [assigned, completed, overdue]) in row {
            used[m] = true;
            map.cells.push(HeatmapCell {
                group_id: g.id,
                module_id: modules[m].id,
                assigned,
                completed,
                overdue,
            });
        }
        map.groups.push(HeatmapGroup {
            group_id: g.id,
            name: g.label,
        });
    }
    map.modules = modules
        .iter()
        .zip(used)
        .filter(|(_, used)| *used)
        .map(|(m, _)| HeatmapModule {
            module_id: m.id,
            title: m.label.clone(),
        })
        .collect();
    map.modules
        .sort_by(|a, b| a.title.cmp(&b.title).then(a.module_id.cmp(&b.module_id)));
    map
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Groups 10 (Alpha: members 1, 2) and 20 (Beta: member 2); modules 100 (A, mandatory in
    /// Alpha, 10 days), 200 (B, optional in Alpha with 5 days, mandatory in Beta with 30) and
    /// 300 (not published, assigned to Alpha). Worked by hand at day 20 (all joined on day 1,
    /// assigned on day 1): member 1 is past A's day 11 and B's day 6 in Alpha; member 2 completed
    /// A, and B is due on day 6 through Alpha (the earliest) and mandatory through Beta, so it is
    /// overdue for them; their renewed cycle of B (day 18) moves Alpha's B to day 23 and Beta's
    /// to day 48, so B is not overdue for them after all.
    fn rows(with_cycle: bool) -> Rows {
        let day =
            |d: i64| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(d - 1);
        let member = |u, g| MemberGroup {
            user_id: id(u),
            group_id: id(g),
            joined_at: day(1),
        };
        let assign = |g, m, mandatory, days| GroupModule {
            group_id: id(g),
            module_id: id(m),
            is_mandatory: mandatory,
            assigned_at: day(1),
            deadline_days: Some(days),
        };
        let label = |i, l: &str| Labeled {
            id: id(i),
            label: l.to_owned(),
        };
        Rows {
            member_groups: vec![member(1, 10), member(2, 10), member(2, 20)],
            groups: vec![label(20, "Beta"), label(10, "Alpha")],
            group_modules: vec![
                assign(10, 100, true, 10),
                assign(10, 200, false, 5),
                assign(20, 200, true, 30),
                assign(10, 300, true, 1),
            ],
            modules: vec![label(200, "B"), label(100, "A")],
            completed: vec![Completed {
                user_id: id(2),
                module_id: id(100),
            }],
            cycles: if with_cycle {
                vec![Cycle {
                    user_id: id(2),
                    module_id: id(200),
                    started_at: day(18),
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn at_day(d: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(d - 1)
    }

    fn cells(a: &Assigned) -> Vec<(u128, u128, [i64; 3])> {
        a.heatmap
            .cells
            .iter()
            .map(|c| {
                (
                    c.group_id.as_u128(),
                    c.module_id.as_u128(),
                    [c.assigned, c.completed, c.overdue],
                )
            })
            .collect()
    }

    #[test]
    fn overdue_modules_and_heatmap_cells_match_the_hand_worked_fixture() {
        let a = compute(&[id(1), id(2)], rows(false), None, at_day(20));
        let overdue: Vec<(u128, u128, &str)> = a
            .overdue
            .iter()
            .map(|o| (o.user_id.as_u128(), o.module_id.as_u128(), o.title.as_str()))
            .collect();
        // Member 1: only A is mandatory for them (B is optional in Alpha); member 2: B, mandatory
        // through Beta, due on Alpha's earlier day 6.
        assert_eq!(overdue, [(1, 100, "A"), (2, 200, "B")]);
        assert_eq!(a.overdue[1].due_at, at_day(6));
        // Alpha first (by name), its modules by title; the unpublished module nowhere.
        assert_eq!(
            cells(&a),
            [
                (10, 100, [2, 1, 1]),
                (10, 200, [2, 0, 2]),
                (20, 200, [1, 0, 0]),
            ]
        );
        let names: Vec<&str> = a.heatmap.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["Alpha", "Beta"]);
        let titles: Vec<&str> = a.heatmap.modules.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(titles, ["A", "B"]);
    }

    #[test]
    fn a_renewed_cycle_moves_the_due_dates_and_a_group_filter_keeps_its_cells_only() {
        let a = compute(&[id(1), id(2)], rows(true), Some(id(10)), at_day(20));
        let overdue: Vec<(u128, u128)> = a
            .overdue
            .iter()
            .map(|o| (o.user_id.as_u128(), o.module_id.as_u128()))
            .collect();
        // The filter narrows the heatmap, not a member's overdue modules (all their groups).
        assert_eq!(overdue, [(1, 100)]);
        assert_eq!(
            cells(&a),
            [(10, 100, [2, 1, 1]), (10, 200, [2, 0, 1])],
            "member 2's renewed B is due on day 23 in Alpha"
        );
        assert_eq!(a.heatmap.groups.len(), 1);
    }
}
