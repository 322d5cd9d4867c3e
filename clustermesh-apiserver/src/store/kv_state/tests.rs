use bytes::Bytes;

use super::*;

fn state() -> KvState {
    KvState::new(KvStateConfig::default())
}

fn put(key: &str, value: &str, lease: Option<LeaseId>) -> Command {
    Command::Put {
        key: key.into(),
        value: Bytes::from(value.to_owned()),
        lease,
    }
}

fn ok(state: &mut KvState, cmd: Command) -> (CommandResponse, Vec<Event>) {
    let (result, events) = state.apply(cmd);
    let events = events.iter().flat_map(|batch| batch.iter().cloned());
    (result.expect("command applies"), events.collect())
}

fn grant(state: &mut KvState, ttl_ms: u64) -> LeaseId {
    match ok(state, Command::GrantLease { ttl_ms }).0 {
        CommandResponse::LeaseGranted { id, .. } => id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn same_commands_give_same_state() {
    let cmds = vec![
        put("a", "1", None),
        put("b", "2", None),
        Command::Delete { key: "a".into() },
        Command::GrantLease { ttl_ms: 1000 },
        put("c", "3", Some(LeaseId(1))),
        Command::ExpireLeases {
            ids: vec![LeaseId(1)],
        },
    ];
    let (mut one, mut two) = (state(), state());
    for cmd in cmds {
        let a = one.apply(cmd.clone());
        let b = two.apply(cmd);
        assert_eq!(a, b);
    }
    assert_eq!(one.list(""), two.list(""));
    assert_eq!(
        one.revision(),
        5,
        "four writes and one expiry that deleted a key"
    );
}

#[test]
fn failed_command_changes_nothing() {
    let mut s = state();
    ok(&mut s, put("a", "1", None));
    let batch = Command::Batch(vec![
        WriteOp::Put {
            key: "b".into(),
            value: Bytes::from_static(b"2"),
            lease: None,
        },
        WriteOp::Put {
            key: "c".into(),
            value: Bytes::from_static(b"3"),
            lease: Some(LeaseId(42)),
        },
    ]);
    let (result, events) = s.apply(batch);
    assert_eq!(result, Err(StoreError::LeaseNotFound(42)));
    assert!(events.is_empty());
    assert_eq!(s.revision(), 1);
    assert_eq!(s.get("b"), None);
}

#[test]
fn no_op_writes_do_not_advance_or_replay_events() {
    let mut s = state();
    let (_, first) = ok(&mut s, put("a", "1", None));
    assert_eq!(first.len(), 1);
    let (resp, events) = ok(&mut s, Command::Delete { key: "zz".into() });
    assert_eq!(
        resp,
        CommandResponse::Deleted(DeleteOutcome {
            deleted: 0,
            revision: 1
        })
    );
    assert!(
        events.is_empty(),
        "a no-op must not re-emit the last revision's events"
    );
    let (_, events) = ok(&mut s, Command::GrantLease { ttl_ms: 5 });
    assert!(events.is_empty());
    assert_eq!(s.revision(), 1);
}

#[test]
fn lease_follows_the_key_when_it_is_rebound() {
    let mut s = state();
    let (l1, l2) = (grant(&mut s, 1000), grant(&mut s, 1000));
    ok(&mut s, put("k", "1", Some(l1)));
    ok(&mut s, put("k", "2", Some(l2)));
    // Expiring the old lease must not take the key that moved away from it.
    let (_, events) = ok(&mut s, Command::ExpireLeases { ids: vec![l1] });
    assert!(events.is_empty());
    assert_eq!(s.get("k").and_then(|kv| kv.lease), Some(l2));
    let (_, events) = ok(&mut s, Command::RevokeLease { id: l2 });
    assert_eq!(
        events,
        vec![Event::Delete {
            key: "k".into(),
            revision: 3
        }]
    );
    assert!(!s.has_lease(l2));
}

#[test]
fn history_is_trimmed_to_whole_revisions() {
    let mut s = KvState::new(KvStateConfig { history_limit: 5 });
    ok(&mut s, put("a", "1", None));
    let batch = (0..4)
        .map(|i| WriteOp::Put {
            key: format!("b{i}"),
            value: Bytes::from_static(b"x"),
            lease: None,
        })
        .collect();
    ok(&mut s, Command::Batch(batch));
    ok(&mut s, put("c", "1", None));
    // Six events exceed the limit of five: revision 1 goes, revision 2 stays whole.
    assert_eq!(s.compact_revision(), 1);
    let events = s
        .history_after("", 1)
        .expect("history after the compaction point");
    assert_eq!(events.len(), 5);
    assert!(matches!(
        s.history_after("", 0),
        Err(StoreError::Compacted {
            requested: 0,
            compacted: 1
        })
    ));
}

#[test]
fn snapshot_roundtrip_keeps_keys_leases_and_revision() {
    let mut s = state();
    let lease = grant(&mut s, 1500);
    ok(&mut s, put("a", "1", Some(lease)));
    ok(&mut s, put("b", "2", None));
    let restored = KvState::from_snapshot(KvStateConfig::default(), s.to_snapshot());
    assert_eq!(restored.list(""), s.list(""));
    assert_eq!(restored.leases().collect::<Vec<_>>(), vec![(lease, 1500)]);
    assert_eq!(
        restored.compact_revision(),
        s.revision(),
        "history starts at the snapshot"
    );

    // Lease bookkeeping survives: expiring the lease still deletes its key.
    let mut restored = restored;
    let (_, events) = ok(&mut restored, Command::ExpireLeases { ids: vec![lease] });
    assert_eq!(events.len(), 1);
    assert_eq!(restored.get("a"), None);
    // And lease ids are never reused after a restore.
    assert_ne!(grant(&mut restored, 10), lease);
}

#[test]
fn compaction_rejects_the_future_and_ignores_the_past() {
    let mut s = state();
    ok(&mut s, put("a", "1", None));
    ok(&mut s, put("a", "2", None));
    assert!(matches!(
        s.apply(Command::Compact { revision: 3 }).0,
        Err(StoreError::InvalidArgument(_))
    ));
    ok(&mut s, Command::Compact { revision: 2 });
    ok(&mut s, Command::Compact { revision: 1 });
    assert_eq!(s.compact_revision(), 2);
}

#[test]
fn a_group_applies_each_write_at_its_own_revision_and_alone() {
    let mut s = state();
    let group = Command::Group(vec![
        put("a", "1", None),
        put("b", "2", Some(LeaseId(77))),
        Command::Delete { key: "a".into() },
        Command::Group(vec![]),
    ]);
    let (resp, events) = ok(&mut s, group);
    let CommandResponse::Group(results) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(results[0], Ok(CommandResponse::Revision(1)));
    assert_eq!(
        results[1],
        Err(StoreError::LeaseNotFound(77)),
        "fails alone"
    );
    assert_eq!(
        results[2],
        Ok(CommandResponse::Deleted(DeleteOutcome {
            deleted: 1,
            revision: 2
        }))
    );
    assert!(
        matches!(results[3], Err(StoreError::InvalidArgument(_))),
        "groups do not nest"
    );
    let revisions: Vec<Revision> = events.iter().map(Event::revision).collect();
    assert_eq!(revisions, [1, 2]);
}

#[test]
fn a_large_batch_applies_whole_and_reports_its_events_in_batch_order() {
    let mut s = state();
    ok(&mut s, put("k050", "old", None));
    let mut ops: Vec<WriteOp> = (0..100)
        .rev()
        .filter(|i| *i != 50)
        .map(|i| WriteOp::Put {
            key: format!("k{i:03}"),
            value: Bytes::from(format!("v{i}")),
            lease: None,
        })
        .collect();
    ops.insert(7, WriteOp::Delete { key: "k050".into() });
    ops.push(WriteOp::Delete {
        key: "absent".into(),
    });
    let expected: Vec<String> = (ops.iter())
        .filter(|op| op.key() != "absent")
        .map(ToString::to_string)
        .collect();
    let (_, events) = ok(&mut s, Command::Batch(ops));
    let seen: Vec<String> = (events.iter())
        .map(|e| match e {
            Event::Put(kv) => format!("put {}", kv.key),
            Event::Delete { key, .. } => format!("delete {key}"),
        })
        .collect();
    assert_eq!(seen, expected);
    assert!(events.iter().all(|e| e.revision() == 2));
    assert_eq!(s.len(), 99);
    assert_eq!(s.get("k050"), None);
    assert_eq!(s.get("k099").map(|kv| kv.value), Some(Bytes::from("v99")));
}
