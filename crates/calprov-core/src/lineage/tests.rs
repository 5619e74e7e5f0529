use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::json;

use super::graph::{BadPart, FindingKind, Start, Use, User, Window, impact};
use super::inputs::gaintable_inputs;
use super::plan::{Step, order, python_script};
use super::selection::{IdSet, Selection, map_spws, parse_antenna, parse_spw};

fn map(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn gaintable_companions_follow_casa_broadcasting() {
    let inputs = gaintable_inputs(
        &map(
            json!({"gaintable": ["/c/k", "b"], "gainfield": "CAL", "interp": ["nearest"],
                    "spwmap": [[0, 0, 1, 1]]}),
        ),
        Some(std::path::Path::new("/work")),
    );
    assert_eq!(inputs.len(), 2);
    assert_eq!(
        inputs[1].path.as_deref(),
        Some("/work/b"),
        "relative to the cwd"
    );
    for input in &inputs {
        assert_eq!(input.gainfield.as_deref(), Some("CAL"));
        assert_eq!(input.interp.as_deref(), Some("nearest"));
        assert_eq!(input.spwmap.as_deref(), Some(&[0, 0, 1, 1][..]));
        assert!(input.problem.is_none());
    }
    let padded = gaintable_inputs(
        &map(
            json!({"gaintable": ["/a", "/b", "/c"], "interp": ["nearest", "linear"],
                    "spwmap": [[], [0, 0]]}),
        ),
        None,
    );
    assert_eq!(
        padded[2].interp.as_deref(),
        Some(""),
        "a shorter list is padded"
    );
    assert_eq!(padded[0].spwmap, None);
    assert_eq!(padded[1].spwmap.as_deref(), Some(&[0, 0][..]));
    assert_eq!(padded[2].spwmap, None);
    let scalar = gaintable_inputs(&map(json!({"gaintable": "/k"})), None);
    assert_eq!(scalar.len(), 1);
}

#[test]
fn malformed_inputs_are_recorded_with_their_problem() {
    let not_a_list = gaintable_inputs(&map(json!({"gaintable": 3})), None);
    assert_eq!(not_a_list.len(), 1);
    assert!(
        not_a_list[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("not a string or a list")
    );
    let bad_map = gaintable_inputs(&map(json!({"gaintable": ["/k"], "spwmap": [["x"]]})), None);
    assert_eq!(bad_map[0].path.as_deref(), Some("/k"), "the path is kept");
    assert!(bad_map[0].problem.as_deref().unwrap().contains("spwmap"));
}

#[test]
fn selections_parse_or_say_why_not() {
    let ids = |v: &[i64]| IdSet::Ids(v.iter().copied().collect());
    assert_eq!(parse_spw(None), IdSet::All);
    assert_eq!(parse_spw(Some("*")), IdSet::All);
    assert_eq!(parse_spw(Some("0:10~20, 2~3")), ids(&[0, 2, 3]));
    assert_eq!(parse_antenna(Some("1&2, 5~6")), ids(&[1, 2, 5, 6]));
    assert_eq!(parse_antenna(Some("3&&")), ids(&[3]));
    assert!(matches!(parse_antenna(Some("OV03")), IdSet::Unknown(_)));
    assert!(matches!(parse_antenna(Some("!3")), IdSet::Unknown(_)));
    let bad: BTreeSet<i64> = [1].into_iter().collect();
    assert_eq!(
        map_spws(&bad, Some(&[0, 0, 1, 1])),
        [2, 3].into_iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(map_spws(&bad, None), bad);
}

fn solve_use(used: i64, user: i64, selection: Selection) -> Use<'static> {
    let selection = Some(Box::new(selection));
    Use {
        used,
        user: User::Solve(user),
        name: format!("/c/t{user}").into(),
        spwmap: None,
        selection,
        at: user as f64,
    }
}

#[test]
fn antenna_and_spw_selections_limit_what_is_reached() {
    // 1 -> 2 (antennas 0~3) -> MS A (spw 1 through spwmap [0, 0]: from table spw 0)
    // 1 -> 3 (antennas 5~6)
    let uses = [
        solve_use(
            1,
            2,
            Selection {
                antenna: Some("0~3".into()),
                ..Selection::default()
            },
        ),
        solve_use(
            1,
            3,
            Selection {
                antenna: Some("5~6".into()),
                ..Selection::default()
            },
        ),
        Use {
            used: 2,
            user: User::Application(9),
            name: "/ms/9".into(),
            spwmap: Some(vec![0, 0]),
            selection: Some(Box::new(Selection {
                spw: Some("1".into()),
                ..Selection::default()
            })),
            at: 10.0,
        },
    ];
    let walk = |bad: BadPart| {
        impact(
            &[Start {
                caltable: "/c/t1".into(),
                solve: Some(1),
                source_ms: None,
            }],
            &bad,
            Window::default(),
            true,
            |frontier: &[i64], visit: &mut dyn FnMut(Use<'_>)| -> Result<(), ()> {
                uses.iter()
                    .filter(|u| frontier.contains(&u.used))
                    .for_each(|u| visit(u.clone()));
                Ok(())
            },
        )
        .unwrap()
    };
    let all = walk(BadPart::default());
    assert_eq!(all.caltables, vec!["/c/t2", "/c/t3"]);
    assert_eq!(all.ms, vec!["/ms/9"]);
    let applied = all
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::AppliedTo)
        .unwrap();
    assert_eq!(applied.path, vec!["/c/t1", "/c/t2", "/ms/9"]);
    let antenna_5 = walk(BadPart {
        antennas: Some([5].into_iter().collect()),
        spws: None,
    });
    assert_eq!(antenna_5.caltables, vec!["/c/t3"]);
    assert!(antenna_5.ms.is_empty());
    let spw_1 = walk(BadPart {
        antennas: None,
        spws: Some([1].into_iter().collect()),
    });
    assert!(
        spw_1.ms.is_empty(),
        "spw 1 of the table feeds no selected target spw"
    );
    let spw_0 = walk(BadPart {
        antennas: None,
        spws: Some([0].into_iter().collect()),
    });
    assert_eq!(spw_0.ms, vec!["/ms/9"]);
}

#[test]
fn the_script_parses_as_python_literals() {
    let steps = vec![Step {
        key: "solve:1".into(),
        writes: "/c/k".into(),
        task: Some("gaincal".into()),
        command: Some("gaincal(vis='/d/x.ms')".into()),
        cwd: Some("/work/it's".into()),
        at: 1.0,
        needs: vec![],
    }];
    let script = python_script(&steps);
    assert!(script.contains("from casatasks import gaincal"));
    assert!(script.contains("os.chdir('/work/it\\'s')"));
}

/// A random DAG over `n` solves: each solve may use any earlier one; applications use any.
/// Solves, solve -> solve edges, solve -> MS applications.
type Dag = (usize, Vec<(usize, usize)>, Vec<(usize, usize)>);

fn dag() -> impl Strategy<Value = Dag> {
    (2usize..40).prop_flat_map(|n| {
        let edges = proptest::collection::vec((0..n, 0..n), 0..n * 2)
            .prop_map(|pairs| pairs.into_iter().filter(|(a, b)| a < b).collect::<Vec<_>>());
        let apps = proptest::collection::vec((0..n, 0..10usize), 0..n);
        (Just(n), edges, apps)
    })
}

proptest! {
    #[test]
    fn impact_equals_reachability((n, edges, apps) in dag(), start in 0usize..40) {
        let start = start % n;
        let mut uses: Vec<Use<'static>> = edges
            .iter()
            .map(|(a, b)| solve_use(*a as i64, *b as i64, Selection::default()))
            .collect();
        uses.extend(apps.iter().map(|(solve, ms)| Use {
            used: *solve as i64,
            user: User::Application(*ms as i64),
            name: format!("/ms/{ms}").into(),
            spwmap: None,
            selection: None,
            at: 0.0,
        }));
        let result = impact(
            &[Start { caltable: format!("/c/t{start}"), solve: Some(start as i64), source_ms: None }],
            &BadPart::default(),
            Window::default(),
            false,
            |frontier: &[i64], visit: &mut dyn FnMut(Use<'_>)| -> Result<(), ()> {
                uses.iter().filter(|u| frontier.contains(&u.used)).for_each(|u| visit(u.clone()));
                Ok(())
            },
        )
        .unwrap();
        // Reference: plain reachability over the edges.
        let mut reached = BTreeSet::from([start]);
        let mut changed = true;
        while changed {
            changed = false;
            for (a, b) in &edges {
                if reached.contains(a) && reached.insert(*b) {
                    changed = true;
                }
            }
        }
        let expected_tables: Vec<String> = reached
            .iter()
            .filter(|s| **s != start)
            .map(|s| format!("/c/t{s}"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let expected_ms: Vec<String> = apps
            .iter()
            .filter(|(solve, _)| reached.contains(solve))
            .map(|(_, ms)| format!("/ms/{ms}"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        prop_assert_eq!(result.caltables, expected_tables);
        prop_assert_eq!(result.ms, expected_ms);
    }

    #[test]
    fn the_plan_is_a_topological_order(
        n in 1usize..40,
        raw in proptest::collection::vec((0usize..40, 0usize..40), 0..80),
        times in proptest::collection::vec(0u32..1000, 40),
    ) {
        let edges: Vec<(usize, usize)> =
            raw.into_iter().map(|(a, b)| (a % n, b % n)).filter(|(a, b)| a < b).collect();
        let mut needs: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (a, b) in &edges {
            needs.entry(*b).or_default().push(format!("solve:{a}"));
        }
        let steps: Vec<Step> = (0..n)
            .map(|i| Step {
                key: format!("solve:{i}"),
                writes: format!("/c/t{i}"),
                task: Some("gaincal".into()),
                command: None,
                cwd: None,
                at: f64::from(times[i]),
                needs: needs.get(&i).cloned().unwrap_or_default(),
            })
            .collect();
        let ordered = order(steps);
        prop_assert_eq!(ordered.len(), n);
        let position: BTreeMap<String, usize> =
            ordered.iter().enumerate().map(|(i, s)| (s.key.clone(), i)).collect();
        for (a, b) in &edges {
            let (before, after) = (format!("solve:{a}"), format!("solve:{b}"));
            prop_assert!(position[&before] < position[&after], "{} after {}", before, after);
        }
    }
}

#[test]
fn downstream_reaches_every_later_solve_and_application_once() {
    use super::reach::downstream;
    // 1 -> 2 -> 3, 1 -> 3, 2 applied by application 10, 3 by 11; 4 unrelated.
    let edges: Vec<(i64, User)> = vec![
        (1, User::Solve(2)),
        (1, User::Solve(3)),
        (2, User::Solve(3)),
        (2, User::Application(10)),
        (3, User::Application(11)),
        (4, User::Application(12)),
    ];
    let mut frontiers = Vec::new();
    let reach = downstream([1], |frontier, visit| {
        frontiers.push(frontier.to_vec());
        for (used, user) in &edges {
            if frontier.contains(used) {
                visit(Use {
                    used: *used,
                    user: *user,
                    name: "x".into(),
                    spwmap: None,
                    selection: None,
                    at: 0.0,
                });
            }
        }
        Ok::<_, ()>(())
    })
    .unwrap();
    assert_eq!(reach.solves, BTreeSet::from([1, 2, 3]));
    assert_eq!(reach.applications, BTreeSet::from([10, 11]));
    assert_eq!(
        frontiers,
        vec![vec![1], vec![2, 3]],
        "each solve visited once"
    );
}

#[test]
fn solves_in_collects_every_node_of_a_lineage_tree() {
    use super::graph::{InputInfo, LineageInput, LineageNode, SolveInfo};
    use super::inputs::Role;
    use super::reach::solves_in;
    let node = |id: i64, inputs: Vec<LineageInput>| LineageNode {
        solve: SolveInfo {
            id,
            caltable: format!("/c/{id}"),
            solved_at: 0.0,
            origin: "tracked".into(),
            task: None,
            casa_version: None,
            version: 1,
        },
        inputs,
        repeated: false,
    };
    let input = |child: Option<LineageNode>| LineageInput {
        input: InputInfo {
            role: Role::Gaintable,
            index: 0,
            path: None,
            pinned: child.as_ref().map(|c| c.solve.id),
            problem: None,
        },
        solved_by: child.map(Box::new),
        cycle: false,
    };
    let tree = node(
        5,
        vec![
            input(Some(node(3, vec![input(Some(node(1, vec![])))]))),
            input(Some(node(4, vec![]))),
            input(None),
        ],
    );
    let mut ids = BTreeSet::new();
    solves_in(&tree, &mut ids);
    assert_eq!(ids, BTreeSet::from([1, 3, 4, 5]));
}
