//! `send_offsets_to_transaction`: a group's offsets committed with a transaction, never with an
//! aborted one, with and without records.

use ferrokafka::{GroupMetadata, Producer};
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::kafka::CommittedOffset;
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::txn::{end, offset, view_of};

use super::{Case, WAIT, assert_visible, bounded, committed, wait_committed};

/// Sends `offsets` of `group` to the open transaction of `p`, which must succeed.
async fn send_offsets(p: &Producer, offsets: &[(&str, i32, i64, Option<&str>)], group: &str) {
    let offsets = offsets
        .iter()
        .map(|&(t, part, o, metadata)| offset(t, part, o, metadata))
        .collect();
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(offsets, GroupMetadata::new(group)),
    )
    .await
    .unwrap_or_else(|e| panic!("send_offsets_to_transaction ({group}): {e:?}"));
}

/// A null metadata string is stored as "" by Kafka; accept either spelling for it.
fn normalized(got: &[CommittedOffset]) -> Vec<CommittedOffset> {
    got.iter()
        .cloned()
        .map(|mut c| {
            if c.metadata.is_none() {
                c.metadata = Some(String::new());
            }
            c
        })
        .collect()
}

/// `send_offsets_to_transaction`: the group's offsets appear only once the transaction commits,
/// never for an aborted one; the metadata string is kept.
pub(super) async fn offsets_commit_with_the_transaction(case: Case) {
    let consumed = case.topic("consumed", 2);
    let produced = case.topic("produced", 1);
    let (aborted_group, group) = (case.name("group-aborted"), case.name("group"));
    let p = case.ready(&case.name("txn"), &[("linger.ms", "5")]).await;

    p.begin_transaction().expect("begin aborted");
    let lost = send(&p, record(&produced, 0, "aborted", "a")).await;
    send_offsets(&p, &[(&consumed, 0, 1000, None)], &aborted_group).await;
    await_all(vec![lost], WAIT).await;
    end(&p, false, WAIT).await;
    assert_eq!(committed(&case, &aborted_group), Vec::new(), "aborted");

    // Offsets alone, aborted: the coordinator knows the transaction (v2: from TxnOffsetCommit
    // v5 alone), so the abort must reach it, or the next transaction would wait on this one.
    p.begin_transaction().expect("begin offsets-only abort");
    send_offsets(&p, &[(&consumed, 1, 2000, None)], &aborted_group).await;
    end(&p, false, WAIT).await;
    assert_eq!(committed(&case, &aborted_group), Vec::new(), "aborted");

    p.begin_transaction().expect("begin");
    let out = send(&p, record(&produced, 0, "result", "r")).await;
    let offsets = [
        (consumed.as_str(), 0, 42, Some("m0")),
        (&consumed, 1, 7, None),
    ];
    send_offsets(&p, &offsets, &group).await;
    await_all(vec![out], WAIT).await;
    assert_eq!(
        committed(&case, &group),
        Vec::new(),
        "pending transactional offsets are not committed yet"
    );
    end(&p, true, WAIT).await;
    let want = vec![
        CommittedOffset {
            topic: consumed.clone(),
            partition: 0,
            offset: 42,
            metadata: Some("m0".into()),
        },
        CommittedOffset {
            topic: consumed.clone(),
            partition: 1,
            offset: 7,
            metadata: Some(String::new()),
        },
    ];
    let got = wait_committed(&case, &group, |got| normalized(got) == want);
    assert_eq!(normalized(&got), want, "{got:?}");
    assert_eq!(committed(&case, &aborted_group), Vec::new(), "aborted");

    // Offsets alone, no record: the transaction still reaches the coordinator (v2: through
    // TxnOffsetCommit v5 alone), so the commit is real and the group moves.
    p.begin_transaction().expect("begin offsets only");
    send_offsets(&p, &[(&consumed, 0, 43, Some("m1"))], &group).await;
    end(&p, true, WAIT).await;
    let moved = |got: &[CommittedOffset]| got.first().is_some_and(|c| c.offset == 43);
    let got = wait_committed(&case, &group, moved);
    assert_eq!(
        got.iter()
            .map(|c| (c.partition, c.offset, c.metadata.clone()))
            .collect::<Vec<_>>(),
        vec![(0, 43, Some("m1".into())), (1, 7, got[1].metadata.clone())],
        "{got:?}"
    );
    let want = view_of(&[(0, &[("result", "r")])]);
    assert_visible(&case, &produced, Isolation::ReadCommitted, &want);
    p.close(WAIT).await;
}
