//! The committer's group path, driven directly so the grouping is certain:
//! a plugin that fails on one WABA's messages fails only the job that
//! carries them, once, and leaves no trace; the other jobs of the group are
//! committed.

use std::sync::Arc;

use coexist_engine::event::{decode_normalized, Event};
use coexist_engine::plugin::{fixture_plugin, Pipeline, PluginRuntime};
use coexist_engine::policy::{Policies, PolicySource};
use coexist_engine::rating::Rater;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{Committer, CommitterConfig};
use crate::ledger::{Job, LedgerError, Reply, Submission};
use crate::plugins::PluginHost;
use crate::store::Store;

const TRIGGER: &str = "+15550009999";

const PROFILES: &str = "
[waba.W1]
currency = \"USD\"
timezone = \"UTC\"
primary_country = \"ID\"

[waba.W2]
currency = \"USD\"
timezone = \"UTC\"
primary_country = \"ID\"

[waba.W3]
currency = \"USD\"
timezone = \"UTC\"
primary_country = \"ID\"
";

struct Fixture {
    committer: Committer,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// A committer over a real SQLite file, rating with the bundled plugins and
/// the `trap` fixture, which traps on any batch that holds a message to
/// [`TRIGGER`].
fn committer() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("trap.wasm"), fixture_plugin("trap").expect("fixture")).expect("write");
    let pipeline = format!(
        "[[plugin]]\nmodule = \"bundled:classifier\"\n\n[[plugin]]\nmodule = \"bundled:coexistence\"\n\n\
         [[plugin]]\nmodule = \"trap.wasm\"\n[plugin.settings]\ntrigger = \"{TRIGGER}\"\n"
    );
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).expect("write");
    let policies = Policies::load(PolicySource::Dir(dir.path().to_owned()))
        .and_then(|p| p.with_config_text("test", PROFILES))
        .expect("policies");
    let plugin_runtime = PluginRuntime::new().expect("wasmtime");
    let pipeline =
        Pipeline::load(&plugin_runtime, &policies.pipeline, policies.source.base_dir()).expect("plugins load");
    let plugins = PluginHost::new(plugin_runtime, policies.source.clone(), pipeline.clone());
    let rater = Rater::new(Arc::new(policies), pipeline);
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let store = runtime.block_on(Store::open(&url)).expect("store");
    let committer = Committer::new(store, rater, plugins, runtime.handle().clone(), CommitterConfig::default());
    Fixture { committer, runtime, _dir: dir }
}

fn event(id: &str, waba: &str, user: &str, direction: &str, at: &str) -> Event {
    let mut v = json!({ "id": id, "waba": waba, "business_number": "+6221555000", "user": user,
                        "direction": direction, "type": "text", "timestamp": at });
    if direction == "outbound" {
        v["side"] = json!("api");
    }
    decode_normalized(&v.to_string()).expect("event")
}

type Answer = oneshot::Receiver<Result<Reply, LedgerError>>;

fn job(events: Vec<Event>) -> (Job, Answer) {
    let (reply, answer) = oneshot::channel();
    (Job { submission: Submission::Rate { events, dry_run: false }, reply, cleared: false }, answer)
}

/// Writes `groups`, each as one group, and returns every job's answer.
fn write(committer: &mut Committer, group: Vec<Vec<Event>>) -> Vec<Result<Reply, LedgerError>> {
    let (jobs, answers): (Vec<Job>, Vec<Answer>) = group.into_iter().map(job).unzip();
    committer.write_group(jobs);
    answers.into_iter().enumerate().map(|(i, mut a)| a.try_recv().unwrap_or_else(|e| panic!("job {i}: {e}"))).collect()
}

fn result(reply: &Result<Reply, LedgerError>, i: usize) -> Value {
    let reply = reply.as_ref().unwrap_or_else(|e| panic!("refused: {e}"));
    serde_json::from_str(&reply.results[i]).expect("result JSON")
}

fn outside_window(v: &Value) -> bool {
    v["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .any(|x| x["code"] == "pricing.outside_customer_service_window")
}

fn traps(committer: &Committer) -> u64 {
    let pipeline = committer.rater.pipeline();
    let trap = pipeline.plugins().iter().find(|p| p.name == "fixture-trap").expect("trap plugin");
    trap.stats.snapshot().errors.get("plugin.trap").copied().unwrap_or(0)
}

#[test]
fn a_failing_waba_fails_only_its_job_once_and_the_rest_of_the_group_commits() {
    let Fixture { mut committer, runtime, _dir } = committer();
    let (u, v) = ("+6281234567890", "+6281234567891");
    let answers = write(
        &mut committer,
        vec![
            vec![event("w2-in", "W2", u, "inbound", "2026-03-10T10:00:00Z")],
            vec![
                event("w1-in", "W1", v, "inbound", "2026-03-10T10:05:00Z"),
                event("w1-trigger", "W1", TRIGGER, "outbound", "2026-03-10T10:06:00Z"),
            ],
            vec![event("w2-reply", "W2", u, "outbound", "2026-03-10T10:10:00Z")],
            vec![event("w3-out", "W3", v, "outbound", "2026-03-10T10:11:00Z")],
        ],
    );
    match &answers[1] {
        // A trap fails the WABA's whole batch: the error names its first message.
        Err(LedgerError::Rating { index, code, .. }) => assert_eq!((*index, *code), (0, "plugin.trap")),
        other => panic!("the trigger's job was not refused: {other:?}"),
    }
    assert_eq!(traps(&committer), 1, "the failing plugin ran once, not again to find the job");
    // The other jobs were committed, rated as a group of their own: W2's
    // inbound opened the window its reply used.
    assert!(!outside_window(&result(&answers[2], 0)), "{}", result(&answers[2], 0));
    assert_eq!(result(&answers[2], 0)["category"], "service");
    assert!(outside_window(&result(&answers[3], 0)));
    assert!(committer.index_staged().is_ok(), "the staged rows are indexed");
    let stored = runtime
        .block_on(committer.store.events_by_key(&[
            ("W2", "w2-in"),
            ("W2", "w2-reply"),
            ("W3", "w3-out"),
            ("W1", "w1-in"),
            ("W1", "w1-trigger"),
        ]))
        .expect("read");
    let mut ids: Vec<&str> = stored.iter().map(|(_, e)| e.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["w2-in", "w2-reply", "w3-out"]);

    // W1's failed inbound opened no window; the committed ones stay.
    let answers = write(
        &mut committer,
        vec![
            vec![event("w1-reply", "W1", v, "outbound", "2026-03-10T10:12:00Z")],
            vec![event("w2-in", "W2", u, "inbound", "2026-03-10T10:00:00Z")],
            vec![event("w2-again", "W2", u, "outbound", "2026-03-10T10:13:00Z")],
        ],
    );
    assert!(outside_window(&result(&answers[0], 0)), "the failed job's inbound left a window");
    assert_eq!(answers[1].as_ref().map(|r| r.repeats).ok(), Some(1), "a repeat is answered from the store");
    assert!(!outside_window(&result(&answers[2], 0)));
    assert_eq!(traps(&committer), 1);
}

#[test]
fn two_jobs_on_the_failing_waba_are_told_apart() {
    // The runtime runs the commits: it must outlive them.
    let Fixture { mut committer, _dir, runtime: _runtime } = committer();
    let u = "+6281234567890";
    let answers = write(
        &mut committer,
        vec![
            vec![event("w1-in", "W1", u, "inbound", "2026-03-10T10:00:00Z")],
            vec![event("w1-trigger", "W1", TRIGGER, "outbound", "2026-03-10T10:01:00Z")],
            vec![event("w1-reply", "W1", u, "outbound", "2026-03-10T10:02:00Z")],
            vec![event("w2-out", "W2", u, "outbound", "2026-03-10T10:03:00Z")],
        ],
    );
    assert!(matches!(&answers[1], Err(LedgerError::Rating { code: "plugin.trap", .. })), "{:?}", answers[1]);
    assert!(!outside_window(&result(&answers[2], 0)), "the innocent W1 jobs were committed together");
    assert!(answers[0].is_ok() && answers[3].is_ok());
}

/// With its commit held up, the next group is rated beside it: a repeat of a
/// message in flight gets that message's result, other content for its id
/// is a conflict, and the window it opened is used. Each group is answered
/// only once its own write is durable.
#[test]
fn the_group_after_a_commit_in_flight_sees_what_it_writes() {
    let Fixture { mut committer, runtime, _dir } = committer();
    let u = "+6281234567890";
    // W1's book is open: the group below reads nothing through the writer.
    let answers = write(&mut committer, vec![vec![event("w1-early", "W1", u, "outbound", "2026-03-10T09:00:00Z")]]);
    assert!(answers[0].is_ok(), "{:?}", answers[0]);
    committer.pipelined = true;
    let inbound = event("w1-in", "W1", u, "inbound", "2026-03-10T10:00:00Z");
    let (first, mut first_answer) = job(vec![inbound.clone()]);
    let prepared = committer.try_write(std::slice::from_ref(&first)).unwrap_or_else(|_| panic!("rated"));
    let store = committer.store.clone();
    let held = runtime.block_on(store.direct_writer().expect("a SQLite file").lock());
    committer.launch(vec![first], prepared, std::time::Instant::now());
    assert!(committer.inflight.is_some(), "the first group's commit waits for the writer connection");

    let changed = event("w1-in", "W1", "+6281234567899", "inbound", "2026-03-10T10:00:00Z");
    let (jobs, mut answers): (Vec<Job>, Vec<Answer>) = vec![
        vec![inbound.clone()],
        vec![changed],
        vec![event("w1-reply", "W1", u, "outbound", "2026-03-10T10:05:00Z")],
    ]
    .into_iter()
    .map(job)
    .unzip();
    let prepared = committer.try_write(&jobs).unwrap_or_else(|_| panic!("the second group was rated"));
    assert!(first_answer.try_recv().is_err(), "the first group was answered before its write");
    drop(held);
    committer.launch(jobs, prepared, std::time::Instant::now());
    assert!(committer.settle());

    let first = first_answer.try_recv().expect("answered");
    let replies: Vec<_> = answers.iter_mut().map(|a| a.try_recv().expect("answered")).collect();
    assert_eq!(replies[0].as_ref().map(|r| r.repeats).ok(), Some(1), "{:?}", replies[0]);
    assert_eq!(result(&replies[0], 0), result(&first, 0), "the repeat got the result in flight");
    assert!(matches!(&replies[1], Err(LedgerError::Conflict(c)) if c.len() == 1), "{:?}", replies[1]);
    assert!(!outside_window(&result(&replies[2], 0)), "the reply used the window in flight");
    assert!(committer.index_staged().is_ok(), "the staged rows are indexed");
    let stored = runtime.block_on(committer.store.events_by_key(&[("W1", "w1-in"), ("W1", "w1-reply")])).expect("read");
    assert_eq!(stored.len(), 2);
}

/// On SQLite a group of one message per WABA is staged in unindexed tables.
/// A repeat of a staged message gets its stored result, a late inbound
/// re-rates it, and opening the store again indexes what a run left staged.
#[test]
fn staged_messages_are_repeats_are_re_rated_and_survive_a_reopen() {
    let Fixture { mut committer, runtime, _dir } = committer();
    let u = "+6281234567890";
    let out = || event("w1-out", "W1", u, "outbound", "2026-03-10T10:05:00Z");
    let first =
        write(&mut committer, vec![vec![out()], vec![event("w2-in", "W2", u, "inbound", "2026-03-10T10:00:00Z")]]);
    assert!(outside_window(&result(&first[0], 0)), "no inbound yet: {}", result(&first[0], 0));
    assert_eq!(committer.staging.len(), 2, "both messages are staged");
    let indexed = runtime.block_on(committer.store.events_by_key(&[("W1", "w1-out"), ("W2", "w2-in")])).expect("read");
    assert!(indexed.is_empty(), "staged rows are not in the indexed tables yet");

    let again = write(&mut committer, vec![vec![out()]]);
    assert_eq!(again[0].as_ref().map(|r| r.repeats).ok(), Some(1), "a staged message is a repeat");
    assert_eq!(result(&again[0], 0), result(&first[0], 0));

    // A late inbound opens the window before the staged outbound.
    let late = write(&mut committer, vec![vec![event("w1-in", "W1", u, "inbound", "2026-03-10T10:00:00Z")]]);
    assert!(late[0].is_ok(), "{:?}", late[0]);
    let again = write(&mut committer, vec![vec![out()]]);
    assert!(!outside_window(&result(&again[0], 0)), "the repeat answers the re-rated result");

    // What this run left staged is indexed when the store is opened again.
    let url = format!("sqlite://{}", _dir.path().join("ledger.db").display());
    let reopened = runtime.block_on(Store::open(&url)).expect("reopen");
    let keys = [("W1", "w1-out"), ("W1", "w1-in"), ("W2", "w2-in")];
    let stored = runtime.block_on(reopened.events_by_key(&keys)).expect("read");
    assert_eq!(stored.len(), 3, "every acknowledged message is in the indexed tables");
    let (_, live) = stored.iter().find(|(_, e)| e.id == "w1-out").expect("w1-out");
    let live: Value = serde_json::from_str(&live.result).expect("result JSON");
    assert!(!outside_window(&live), "the stored result is the re-rated one: {live}");
}

fn dry_job(events: Vec<Event>) -> (Job, Answer) {
    let (reply, answer) = oneshot::channel();
    (Job { submission: Submission::Rate { events, dry_run: true }, reply, cleared: false }, answer)
}

/// A group's dry runs are rated together, yet each gets the answer it would
/// get alone: a job does not see another job's messages on the same WABA,
/// an unknown WABA or a trapping plugin fails only its own job, and nothing
/// of it stays in the state the next write is rated against.
#[test]
fn a_groups_dry_runs_answer_as_if_alone_and_leave_no_trace() {
    let Fixture { mut committer, _dir, runtime: _runtime } = committer();
    let u = "+6281234567890";
    let inbound = || event("w1-in", "W1", u, "inbound", "2026-03-10T10:00:00Z");
    let reply = || event("w1-reply", "W1", u, "outbound", "2026-03-10T10:05:00Z");
    let group = vec![
        vec![inbound(), reply()],
        vec![reply()],
        vec![event("w9-out", "W9", u, "outbound", "2026-03-10T10:05:00Z")],
        vec![event("w3-trigger", "W3", TRIGGER, "outbound", "2026-03-10T10:05:00Z")],
        vec![
            event("w3-in", "W3", u, "inbound", "2026-03-10T10:00:00Z"),
            event("w3-reply", "W3", u, "outbound", "2026-03-10T10:01:00Z"),
        ],
        vec![event("w2-out", "W2", u, "outbound", "2026-03-10T10:05:00Z")],
    ];
    let alone: Vec<Result<Reply, LedgerError>> = group
        .iter()
        .map(|events| committer.dry_run(&Submission::Rate { events: events.clone(), dry_run: true }))
        .collect();
    let (jobs, answers): (Vec<Job>, Vec<Answer>) = group.into_iter().map(dry_job).unzip();
    committer.dry_runs(jobs);
    let together: Vec<Result<Reply, LedgerError>> =
        answers.into_iter().map(|mut a| a.try_recv().expect("answered")).collect();

    assert!(!outside_window(&result(&together[0], 1)), "the job's own inbound opened the window");
    assert!(outside_window(&result(&together[1], 0)), "another job's inbound did not");
    assert!(matches!(&together[2], Err(LedgerError::UnknownWaba { index: 0, waba }) if waba == "W9"));
    assert!(matches!(&together[3], Err(LedgerError::Rating { index: 0, code: "plugin.trap", .. })));
    assert!(together[5].is_ok(), "the trap on W3 failed only its own job: {:?}", together[5]);
    assert!(!outside_window(&result(&together[4], 1)), "the next job on W3 was rated from a clean state");
    for (i, (a, t)) in alone.iter().zip(&together).enumerate() {
        match (a, t) {
            (Ok(a), Ok(t)) => assert_eq!(a.results, t.results, "job {i}"),
            (Err(a), Err(t)) => assert_eq!(a.to_string(), t.to_string(), "job {i}"),
            _ => panic!("job {i}: alone {a:?}, together {t:?}"),
        }
    }
    let written = write(
        &mut committer,
        vec![vec![reply()], vec![event("w3-reply", "W3", u, "outbound", "2026-03-10T10:01:00Z")]],
    );
    assert!(outside_window(&result(&written[0], 0)), "no dry run left W1 a window");
    assert!(outside_window(&result(&written[1], 0)), "no dry run left W3 a window");
}

/// Small groups fill a staging pair, turn to the other one, and the full
/// pair moves into the indexed tables a WABA at a time in the commits that
/// follow. A repeat gets its stored result wherever its message is (moved,
/// or still in the moving pair), and in the end every message is indexed.
#[test]
fn staging_pairs_move_a_waba_at_a_time_and_lose_nothing() {
    let Fixture { mut committer, runtime, _dir } = committer();
    let wabas = ["W1", "W2", "W3"];
    let message = |waba: &str, n: usize| {
        let at = chrono::DateTime::from_timestamp(1_773_136_800 + n as i64, 0).expect("time").to_rfc3339();
        event(&format!("{waba}-{n}"), waba, "+6281234567890", "inbound", &at)
    };
    let first = write(&mut committer, wabas.iter().map(|w| vec![message(w, 0)]).collect());
    let mut seen_mid_move = false;
    let groups = 200;
    for n in 1..groups {
        let answers = write(&mut committer, wabas.iter().map(|w| vec![message(w, n)]).collect());
        assert!(answers.iter().all(Result::is_ok), "group {n}: {answers:?}");
        let indexed = runtime.block_on(committer.store.events_by_key(&[("W1", "W1-0"), ("W3", "W3-0")])).expect("read");
        if seen_mid_move || indexed.len() != 1 {
            continue;
        }
        // W1's rows moved, W3's still wait in the moving pair.
        assert_eq!(indexed[0].0, "W1");
        seen_mid_move = true;
        let repeats = write(&mut committer, vec![vec![message("W1", 0)], vec![message("W3", 0)]]);
        for (i, (repeat, original)) in repeats.iter().zip([&first[0], &first[2]]).enumerate() {
            assert_eq!(repeat.as_ref().map(|r| r.repeats).ok(), Some(1), "repeat {i}: {repeat:?}");
            assert_eq!(result(repeat, 0), result(original, 0));
        }
    }
    assert!(seen_mid_move, "{groups} groups of 3 fill a pair and start moving it");
    assert!(committer.index_staged().is_ok(), "the staged rows are indexed");
    assert_eq!(committer.staging.len(), 0);
    for waba in wabas {
        let ids: Vec<String> = (0..groups).map(|n| format!("{waba}-{n}")).collect();
        let keys: Vec<(&str, &str)> = ids.iter().map(|id| (waba, id.as_str())).collect();
        let stored = runtime.block_on(committer.store.events_by_key(&keys)).expect("read");
        assert_eq!(stored.len(), groups, "{waba}: every message is indexed");
        let seqs: Vec<i64> = (0..=groups as i64 + 1).collect();
        let entries = runtime.block_on(committer.store.entries_by_seq(waba, &seqs)).expect("entries");
        assert_eq!(entries.len(), groups, "{waba}: one charge per message");
    }
}

/// What became of the group in hand and of the requests queued behind it.
struct LateArrivals {
    /// The group's answer.
    group: Result<Reply, LedgerError>,
    /// Each queued request's answer; `None` while it still waits.
    queued: Vec<Option<Result<Reply, LedgerError>>>,
    /// How many requests the committer took and put back for its next group.
    put_back: usize,
}

/// The group in hand while a commit is under way, with the jobs `queued`
/// behind it: the commit is held until the committer has taken all queued
/// jobs but the last `left` (what it should leave queued), then the group
/// is launched and settled.
fn late_arrivals(queued: Vec<Vec<Event>>, left: usize) -> LateArrivals {
    let Fixture { mut committer, runtime, _dir } = committer();
    let u = "+6281234567890";
    // Every WABA's book is open: the groups below read nothing through the writer.
    let early = |waba: &str| vec![event(&format!("{waba}-early"), waba, u, "outbound", "2026-03-10T09:00:00Z")];
    let answers = write(&mut committer, vec![early("W1"), early("W2"), early("W3")]);
    assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
    committer.pipelined = true;
    let (tx, rx) = tokio::sync::mpsc::channel::<Job>(16);
    committer.queue = Some(rx);
    let (first, mut first_answer) = job(vec![event("w1-a", "W1", u, "inbound", "2026-03-10T10:00:00Z")]);
    let prepared = committer.try_write(std::slice::from_ref(&first)).unwrap_or_else(|_| panic!("rated"));
    let store = committer.store.clone();
    let held = runtime.block_on(store.direct_writer().expect("a SQLite file").lock());
    committer.launch(vec![first], prepared, std::time::Instant::now());
    assert!(committer.inflight.is_some(), "the first commit waits for the writer connection");

    let (second, mut second_answer) = job(vec![event("w2-a", "W2", u, "inbound", "2026-03-10T10:00:00Z")]);
    let mut answers = Vec::new();
    for events in queued {
        let (j, answer) = job(events);
        tx.try_send(j).unwrap_or_else(|_| panic!("queued"));
        answers.push(answer);
    }
    std::thread::scope(|scope| {
        // Let the first commit land once the committer took what it should
        // (at most 10 s: a committer that takes less fails the asserts).
        scope.spawn(|| {
            for _ in 0..10_000 {
                if tx.capacity() + left == tx.max_capacity() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            drop(held);
        });
        committer.write_jobs(vec![second], true);
    });
    assert!(committer.settle());
    assert!(first_answer.try_recv().is_ok_and(|r| r.is_ok()), "the commit before landed");
    LateArrivals {
        group: second_answer.try_recv().expect("the group was answered"),
        queued: answers.iter_mut().map(|a| a.try_recv().ok()).collect(),
        put_back: committer.deferred.len(),
    }
}

/// A request that arrives while the commit before is under way joins the
/// group in hand when it writes none of its WABAs; the first that does, and
/// everything queued after it, wait for the next group, in order.
#[test]
fn late_arrivals_of_other_wabas_join_the_group_in_hand() {
    let u = "+6281234567890";
    let late = late_arrivals(
        vec![
            vec![event("w3-a", "W3", u, "inbound", "2026-03-10T10:00:00Z")],
            vec![event("w2-b", "W2", u, "outbound", "2026-03-10T10:01:00Z")],
            vec![event("w3-b", "W3", u, "outbound", "2026-03-10T10:01:00Z")],
        ],
        1,
    );
    assert!(late.group.is_ok(), "{:?}", late.group);
    assert!(matches!(&late.queued[0], Some(Ok(_))), "W3's request was written with the group: {:?}", late.queued[0]);
    assert!(late.queued[1].is_none() && late.queued[2].is_none(), "W2's second request and what follows it wait");
    assert_eq!(late.put_back, 1, "the committer holds W2's request for its next group; the last is still queued");
}

/// A late request that cannot be rated is put back for a group of its own
/// (where the usual path answers it); the group in hand is written without it.
#[test]
fn a_late_arrival_that_fails_to_rate_leaves_the_group_in_hand_alone() {
    let late = late_arrivals(vec![vec![event("w3-t", "W3", TRIGGER, "inbound", "2026-03-10T10:00:00Z")]], 0);
    assert!(late.group.is_ok(), "{:?}", late.group);
    assert!(late.queued[0].is_none(), "the failing request was not answered with the group");
    assert_eq!(late.put_back, 1, "it waits for a group of its own");
}

/// A new message's result is stored as what its charge does not hold, and
/// every way of reading the message back gives the bytes the answer carried.
#[test]
fn a_result_is_stored_compact_and_reads_back_the_same() {
    let Fixture { mut committer, runtime, _dir: dir } = committer();
    let u = "+6281234567890";
    let template = |id: &str, user: &str, category: &str, at: &str| {
        let v = json!({ "id": id, "waba": "W1", "business_number": "+6221555000", "user": user,
            "direction": "outbound", "side": "api", "type": "template", "template_category": category,
            "timestamp": at });
        decode_normalized(&v.to_string()).expect("event")
    };
    let events = vec![
        event("in", "W1", u, "inbound", "2026-03-10T10:00:00Z"),
        event("reply", "W1", u, "outbound", "2026-03-10T10:05:00Z"),
        event("cold", "W1", "+6281234567891", "outbound", "2026-03-10T10:06:00Z"),
        template("offer", u, "marketing", "2026-03-10T10:07:00Z"),
        // Outside any window: a utility template inside one is free.
        template("receipt", "+6281234567892", "utility", "2026-03-10T10:08:00Z"),
    ];
    let answers = write(&mut committer, vec![events.clone()]);
    let answered: Vec<String> = answers[0].as_ref().expect("stored").results.iter().map(|r| r.to_string()).collect();
    let ids = ["in", "reply", "cold", "offer", "receipt"];
    let by_id = |rows: Vec<crate::store::StoredEvent>| -> Vec<String> {
        ids.iter().map(|id| rows.iter().find(|r| r.id == *id).expect("read back").result.clone()).collect()
    };
    let json = |i: usize| -> Value { serde_json::from_str(&answered[i]).expect("JSON") };
    assert!(outside_window(&json(2)), "{}", json(2));
    // Indonesia's USD card (policies/ratecards): marketing 0.0411, utility 0.0250.
    assert_eq!((json(3)["cost"].as_str(), json(4)["cost"].as_str()), (Some("0.0411"), Some("0.0250")));
    assert!(committer.index_staged().is_ok(), "the staged rows are indexed");

    let db = rusqlite::Connection::open(dir.path().join("ledger.db")).expect("open");
    let stored: Vec<String> = ids
        .iter()
        .map(|id| db.query_row("SELECT result FROM events WHERE id = ?1", [id], |r| r.get(0)).expect("row"))
        .collect();
    assert_eq!(&stored[..2], ["inbound api", "outbound api"]);
    // What the charge does not hold is kept: the violation, and the cost's
    // trailing zero, which the entry's normalized amount drops.
    assert!(stored[2].starts_with("outbound api {\"violations\":[{\"code\":"), "{}", stored[2]);
    assert!(stored[2].len() < answered[2].len() - 150, "{} against {}", stored[2], answered[2]);
    assert_eq!(&stored[3..], ["outbound api", "outbound api {\"cost\":\"0.0250\"}"]);

    let store = committer.store.clone();
    let by_sqlx = runtime.block_on(store.events_by_id("W1", &ids)).expect("read");
    assert_eq!(by_id(by_sqlx), answered, "read by id");
    let since = runtime.block_on(store.events_since("W1", 0)).expect("read");
    assert_eq!(by_id(since), answered, "read by time");
    let keys: Vec<(&str, &str)> = ids.iter().map(|id| ("W1", *id)).collect();
    let (keyed, _) = runtime.block_on(store.keyed_rows(&keys, crate::store::Via::Writer)).expect("read");
    assert_eq!(by_id(keyed.into_iter().map(|(_, e)| e).collect()), answered, "the committer's lookups");

    // A replay is answered from what is stored, with the same bytes.
    let again = write(&mut committer, vec![events]);
    let again = again[0].as_ref().expect("replayed");
    assert_eq!(again.repeats, 5);
    assert_eq!(again.results.iter().map(|r| r.to_string()).collect::<Vec<_>>(), answered);
}
