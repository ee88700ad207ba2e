//! Any connection broken: the crash harness's stories ([`world::Scene`]) run with a
//! fault proxy between each party and each node it uses (its IPFS node, its ledger),
//! which breaks requests on a schedule drawn from a seed: a connection reset mid-request,
//! a stall past the client's deadline, an answer cut short, a 500 or a 429, or the
//! request forwarded and the connection closed before the answer (what it did is done,
//! and the wallet does not know). Then the proxies pass again and the same story must
//! complete, with the crash harness's invariants ([`check`]).
//!
//! For each scene the harness
//!
//! 1. keeps the world as the scene finds it ([`kept::Kept`]);
//! 2. plays the scene with nothing broken, counting the requests each proxy passes by
//!    name (the census), settles and checks the invariants: that world is where the
//!    next scene starts;
//! 3. once the story has been told so, from the last scene back to the first, for each
//!    schedule drawn from the seed and the scene's census: puts the world back, plays
//!    the scene with the proxies breaking what the schedule says (a step may fail: with
//!    a typed error whose words are not those of a bug or of an altered record, never a
//!    panic, and every stalled request must have been given up by the client by its own
//!    deadline); then the proxies pass, the scene is played again from the step that
//!    failed (as the user would try again), every wallet's passes run until idle, and
//!    the invariants are checked.
//!
//! `MEDWALLET_FAULTS_SEED` fixes the seed; `MEDWALLET_FAULTS_ONLY=scene:k` replays the
//! k-th schedule of a scene (drawn from that run's census, which a scene's timing may
//! change a little; `MEDWALLET_FAULTS_RULES`, as a failure prints it, gives the same
//! faults exactly); `MEDWALLET_FAULTS_PER_SCENE` sets how many schedules each
//! scene gets (default [`per_scene`]); `MEDWALLET_FAULTS_LONG_STALLS=1` also stalls
//! requests with long deadlines (a pin waits a minute). The figures go to
//! `$MEDWALLET_FAULTS_FIGURES` if set.
//!
//! The second test drops commands while a proxy stalls them and checks that nothing
//! they had claimed stays claimed: the same add, registration, share and rebuild run.

#[allow(dead_code)]
#[path = "crash/check.rs"]
mod check;
#[allow(dead_code)]
#[path = "crash/kept.rs"]
mod kept;
#[path = "faults/schedule.rs"]
mod schedule;
#[allow(dead_code)]
#[path = "crash/world.rs"]
mod world;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use medwallet_api::UserError;
use medwallet_core::CoreError;
use medwallet_devnodes::{Fault, Rule, StallEnd};
use medwallet_ledger::LedgerError;
use medwallet_records::IpfsError;

use kept::Kept;
use schedule::{Node, Planned, Proxies};
use world::{Failed, Party, Scene, World, SCENES};

/// Schedules per scene by default: 8 for each of the first six scenes, 2 for the
/// restore (its rebuild alone takes some 25 s: each version a revocation replaced, gone
/// from the node, costs the node's 5 s lookup), 50 in all.
fn per_scene(scene: Scene) -> usize {
    match scene {
        Scene::Restore => 2,
        _ => 8,
    }
}

/// A scene under faults ends within this, else a call has no deadline.
const SCENE_DEADLINE: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_connection_broken() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let running = world::start(root).await;
    let nodes = running.nodes.clone();
    let proxies = Proxies::start(&nodes);
    let env = |k: &str| std::env::var(k).ok();
    // A fixed schedule by default, so that `scripts/test` runs the same faults every
    // time (a schedule drawn anew each run would fail now and then); MEDWALLET_FAULTS_SEED draws
    // others.
    let seed = env("MEDWALLET_FAULTS_SEED")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_796_682_388);
    let only = env("MEDWALLET_FAULTS_ONLY").map(|s| {
        let (scene, k) = s.split_once(':').expect("MEDWALLET_FAULTS_ONLY=scene:k");
        (
            Scene::named(scene).expect("a scene's name"),
            k.parse::<usize>().unwrap(),
        )
    });
    let per_scene_asked: Option<usize> =
        env("MEDWALLET_FAULTS_PER_SCENE").and_then(|s| s.parse().ok());
    let long_stalls = env("MEDWALLET_FAULTS_LONG_STALLS").is_some_and(|v| v == "1");
    let rules: Option<Vec<Planned>> = env("MEDWALLET_FAULTS_RULES").map(|specs| {
        specs
            .split(';')
            .map(|spec| {
                Planned::parse(spec).unwrap_or_else(|| {
                    panic!("not a rule: {spec:?} (Party/Node/label/nth/fault[+outage])")
                })
            })
            .collect()
    });
    println!(
        "any_connection_broken: seed {seed} (MEDWALLET_FAULTS_SEED={seed} replays these schedules)"
    );

    let world_dir = root.join("world");
    let routed = || World::routed(&world_dir, nodes.clone(), |p| proxies.route(p));
    let world = routed();
    world.cast().await;
    check::settle(&world).await.unwrap();
    world.close().await;

    let mut report = Report {
        seed,
        ..Report::default()
    };
    let started = Instant::now();
    // The story once with nothing broken: each scene's census, and the world each scene
    // finds, kept. The schedules then run from the last scene back to the first: putting
    // the chain back to a scene's snapshot drops every later one (anvil), which by then
    // is used up.
    let mut clean = Vec::new();
    for scene in SCENES {
        let scene_started = Instant::now();
        let before = Kept::keep(root, scene.name(), &world_dir, &nodes).await;
        proxies.pass();
        let world = routed();
        world
            .play(scene)
            .await
            .unwrap_or_else(|e| panic!("{}: with nothing broken: {e}", scene.name()));
        let census = proxies.census();
        check::settle(&world).await.unwrap();
        check::invariants(&world, scene, &running.ipfs_repo)
            .await
            .unwrap_or_else(|e| panic!("{}: with nothing broken: {e}", scene.name()));
        world.close().await;
        clean.push((scene, before, census, scene_started.elapsed().as_secs_f64()));
    }
    for (scene, before, census, clean_seconds) in clean.into_iter().rev() {
        let scene_started = Instant::now();
        let ks: Vec<usize> = match only {
            Some((s, k)) if s == scene => vec![k],
            Some(_) => Vec::new(),
            None => (1..=per_scene_asked.unwrap_or_else(|| per_scene(scene))).collect(),
        };
        let mut survived = 0;
        for k in &ks {
            let schedule = match &rules {
                Some(rules) => rules.clone(),
                None => schedule::draw(seed, scene, *k, &census, long_stalls),
            };
            before.restore(&world_dir, &nodes).await;
            let world = Arc::new(routed());
            let took = Instant::now();
            let verdict =
                run_schedule(&world, &proxies, scene, &schedule, &running, &mut report).await;
            world.close().await;
            println!(
                "  {}:{k} {} in {:.1} s: {}",
                scene.name(),
                if verdict.is_ok() {
                    "survived"
                } else {
                    "FAILED"
                },
                took.elapsed().as_secs_f64(),
                schedule
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            match verdict {
                Ok(()) => survived += 1,
                Err(broken) => {
                    let told: Vec<String> = schedule.iter().map(ToString::to_string).collect();
                    let specs: Vec<String> = schedule.iter().map(Planned::spec).collect();
                    report.failures.push(format!(
                        "any_connection_broken FAILED: scene {scene}, schedule {k} ({told}): {broken}\n  replay: MEDWALLET_FAULTS_SEED={seed} MEDWALLET_FAULTS_ONLY={scene}:{k} cargo test -p medwallet-core --test faults any_connection_broken\n  (the same faults whatever the census: MEDWALLET_FAULTS_ONLY={scene}:{k} MEDWALLET_FAULTS_RULES='{specs}')",
                        scene = scene.name(),
                        told = told.join("; "),
                        specs = specs.join(";"),
                    ));
                }
            }
        }
        report.scenes.push(SceneFigures {
            name: scene.name(),
            order: scene as usize,
            requests: census.requests(),
            schedules: ks.len(),
            survived,
            seconds: clean_seconds + scene_started.elapsed().as_secs_f64(),
        });
    }
    report.scenes.sort_by_key(|s| s.order);
    report.seconds = started.elapsed().as_secs_f64();
    drop(proxies);
    drop(running);
    println!("{}", report.summary());
    if let Some(path) = env("MEDWALLET_FAULTS_FIGURES") {
        std::fs::write(path, report.summary()).unwrap();
    }
    assert!(
        report.failures.is_empty(),
        "{}\nany_connection_broken: {} of {} fault schedules broke the story (seed {seed})",
        report.failures.join("\n"),
        report.failures.len(),
        report.schedules()
    );
}

/// One schedule: the scene under faults, then again with none, settled and checked.
async fn run_schedule(
    world: &Arc<World>,
    proxies: &Proxies,
    scene: Scene,
    schedule: &[Planned],
    running: &world::Running,
    report: &mut Report,
) -> Result<(), String> {
    proxies.arm(schedule);
    let mut clock = Instant::now();
    let mut laps = Vec::new();
    let mut lap = |what: &'static str| {
        laps.push((what, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let playing = tokio::spawn({
        let world = world.clone();
        async move { world.play(scene).await }
    });
    let played = match tokio::time::timeout(SCENE_DEADLINE, playing).await {
        Err(_) => {
            return Err(format!(
                "the scene did not end within {SCENE_DEADLINE:?} under faults: a call without a deadline?"
            ))
        }
        Ok(Err(join)) => return Err(format!("the scene panicked under faults: {join}")),
        Ok(Ok(played)) => played,
    };
    lap("under faults");
    // A client that gave up as the scene ended may not have closed its connection yet:
    // the proxies see it soon after, or it was never given up.
    proxies.stalls_end(schedule::MARGIN).await;
    let applied = proxies.applied();
    proxies.pass();
    for (party, node, a) in &applied {
        *report
            .faults
            .entry(schedule::fault_name(a.fault))
            .or_default() += 1;
        schedule::stall_verdict(*party, *node, a)?;
    }
    if applied.is_empty() {
        report.unreached += 1;
    }
    if let Err(failed) = played {
        let (kind, words) = told_as_a_fault(failed)?;
        report.errors.entry(kind).or_insert((0, words)).0 += 1;
    }
    // Nothing broken now: the user tries again, the passes run, the promises hold.
    match tokio::time::timeout(SCENE_DEADLINE, world.play(scene)).await {
        Err(_) => return Err("played again with nothing broken, it did not end".into()),
        Ok(Err(e)) => return Err(format!("played again with nothing broken: {e}")),
        Ok(Ok(())) => {}
    }
    lap("again");
    check::settle(world).await?;
    lap("settle");
    let checked = check::invariants(world, scene, &running.ipfs_repo).await;
    lap("invariants");
    let said: Vec<String> = laps.iter().map(|(w, s)| format!("{w} {s:.1} s")).collect();
    println!("    {}", said.join(", "));
    for (what, seconds) in laps {
        *report.phases.entry(what).or_default() += seconds;
    }
    checked
}

/// A step that failed under faults answered a typed error in the words of a node that
/// failed, not of a bug or of a record that was tampered with: its kind (step and
/// error) and the words the user reads.
fn told_as_a_fault(failed: Failed) -> Result<(String, String), String> {
    let Some(e) = failed.error else {
        return Ok((format!("{}: waits", failed.step), failed.detail));
    };
    let kind = format!("{}: {}", failed.step, e.cause().kind());
    let misleading = match e.cause() {
        CoreError::Internal { .. } => Some("a bug"),
        CoreError::Altered { .. } => Some("an altered record"),
        // Words that send the user to Settings: another kind of server, another chain,
        // no contract or another one there.
        CoreError::Ipfs(i) => {
            matches!(**i, IpfsError::NotIpfs { .. }).then_some("not an IPFS node")
        }
        CoreError::Ledger(l) => match **l {
            LedgerError::NotEvm { .. } => Some("not a ledger node"),
            LedgerError::WrongChain { .. } => Some("another chain"),
            LedgerError::NoContract { .. } | LedgerError::ForeignContract { .. } => {
                Some("not medwallet's contract")
            }
            _ => None,
        },
        _ => None,
    };
    if let Some(told) = misleading {
        return Err(format!(
            "{} failed with {e:?}: a broken connection told as {told}",
            failed.step
        ));
    }
    let words = UserError::from(e);
    if words.message.trim().is_empty() {
        return Err(format!("{kind}: no words for the user"));
    }
    Ok((kind, words.message))
}

#[derive(Default)]
struct Report {
    seed: u64,
    scenes: Vec<SceneFigures>,
    /// Faults applied, by kind.
    faults: BTreeMap<&'static str, usize>,
    /// Steps that failed under faults, by step and error kind: how many, and the words
    /// of the first.
    errors: BTreeMap<String, (usize, String)>,
    /// Seconds spent in each phase of the schedules, in all.
    phases: BTreeMap<&'static str, f64>,
    /// Schedules whose faults no request reached (the scene asked less that time).
    unreached: usize,
    failures: Vec<String>,
    seconds: f64,
}

struct SceneFigures {
    name: &'static str,
    /// Its place in the story.
    order: usize,
    requests: u64,
    schedules: usize,
    survived: usize,
    seconds: f64,
}

impl Report {
    fn schedules(&self) -> usize {
        self.scenes.iter().map(|s| s.schedules).sum()
    }

    fn summary(&self) -> String {
        let survived: usize = self.scenes.iter().map(|s| s.survived).sum();
        let mut s = format!(
            "any_connection_broken: seed {}, fault schedules survived {survived}/{} in {:.0} s ({} reached no request)\n",
            self.seed,
            self.schedules(),
            self.seconds,
            self.unreached,
        );
        for f in &self.scenes {
            s.push_str(&format!(
                "  {:<14} {:>4} requests, {:>2}/{:<2} schedules survived, {:>6.1} s\n",
                f.name, f.requests, f.survived, f.schedules, f.seconds
            ));
        }
        s.push_str(&format!("  faults applied: {:?}\n", self.faults));
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(what, secs)| format!("{what} {secs:.0} s"))
            .collect();
        s.push_str(&format!("  time in the schedules: {}\n", phases.join(", ")));
        s.push_str("  steps that failed under faults (then done again):\n");
        for (kind, (n, words)) in &self.errors {
            s.push_str(&format!("    {n:>3} × {kind}: \"{words}\"\n"));
        }
        s
    }
}

/// A command dropped while a proxy stalls its request (the window closed, the command
/// cancelled) leaves nothing claimed: the same add, registration, share and rebuild run
/// again and end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_command_leaves_nothing_running() {
    let root = tempfile::tempdir().unwrap();
    let running = world::start(root.path()).await;
    let proxies = Proxies::start(&running.nodes);
    let world = World::routed(&root.path().join("world"), running.nodes.clone(), |p| {
        proxies.route(p)
    });
    let patient = Party::Patient.owner();
    let svc = world.svc(Party::Patient);
    let (ipfs, ledger) = world.at(Party::Patient);
    let stall = |label: &str| Rule {
        label: label.to_owned(),
        nth: 1,
        fault: Fault::Stall {
            limit: Duration::from_secs(120),
        },
        outage: false,
    };
    // Waits for the proxy to hold the command's request, then drops the command and
    // waits for the proxy to see its connection closed.
    async fn dropped_while_held<T: std::fmt::Debug>(
        proxy: &medwallet_devnodes::FaultProxy,
        command: impl std::future::Future<Output = T>,
    ) {
        tokio::select! {
            answered = command => panic!("the command ended before its request was held: {answered:?}"),
            () = proxy.holding() => {}
        }
        proxy.holding_none().await;
        assert!(
            matches!(proxy.applied()[0].stall, Some(StallEnd::ClientClosed(_))),
            "dropping the command closes its connection: {:?}",
            proxy.applied()
        );
        proxy.pass();
    }

    // An add dropped while it uploads: its record is kept (it was encrypted), and the
    // same add runs again.
    let ipfs_proxy = proxies.get(Party::Patient, Node::Ipfs);
    ipfs_proxy.set_rules(vec![stall("add")]);
    dropped_while_held(ipfs_proxy, world.add(1)).await;
    let again = world.add(1).await;
    assert!(again.is_ok(), "the same add again: {again:?}");
    let sync = svc
        .sync(&patient.wallet_id, Some(&patient), ipfs, ledger, true)
        .await
        .unwrap();
    assert_eq!(
        (sync.waiting, sync.problem.as_deref()),
        (0, None),
        "the dropped add's upload is not held as running"
    );

    // An add dropped while its registration waits for the receipt (the transaction went
    // through): the outbox registers it once.
    let ledger_proxy = proxies.get(Party::Patient, Node::Ledger);
    ledger_proxy.set_rules(vec![stall("eth_getTransactionReceipt")]);
    dropped_while_held(ledger_proxy, world.add(2)).await;
    let sync = svc
        .sync(&patient.wallet_id, Some(&patient), ipfs, ledger, true)
        .await
        .unwrap();
    assert_eq!((sync.waiting, sync.problem.as_deref()), (0, None));
    let listed = svc.list(&patient).await.unwrap();
    assert_eq!(listed.len(), 3, "records 1 (twice) and 2: {listed:?}");
    for r in &listed {
        assert!(
            matches!(r.ledger, medwallet_api::LedgerMark::Registered { .. }),
            "{} is not registered: {:?}",
            r.title,
            r.ledger
        );
    }

    // A share dropped while it sends: the same share runs, and no sharing run is shown
    // as running.
    let doctor = Party::Doctor.owner();
    let (d_ipfs, d_ledger) = world.at(Party::Doctor);
    world
        .svc(Party::Doctor)
        .list_shared(&doctor, d_ipfs, d_ledger)
        .await
        .unwrap();
    let share = medwallet_api::ShareRequest {
        // Record 2's add was dropped: it is in the list, not in the story's log.
        record_ids: vec![listed
            .iter()
            .find(|r| r.title == world::title(2))
            .unwrap()
            .id
            .clone()],
        grantee: doctor.address.clone(),
        clause: None,
        group: None,
        expires_in_days: Some(30),
        seen_fingerprint: None,
    };
    ledger_proxy.set_rules(vec![stall("eth_sendRawTransaction")]);
    dropped_while_held(ledger_proxy, svc.share(&patient, ipfs, ledger, &share)).await;
    assert!(!svc.sharing_progress(&patient.wallet_id).running);
    let shared = svc.share(&patient, ipfs, ledger, &share).await.unwrap();
    assert!(
        shared
            .iter()
            .all(|g| g.state == medwallet_api::GrantState::Active),
        "{shared:?}"
    );

    // A rebuild dropped while it reads the ledger: it is not left running, and runs.
    let restored = Party::Restored.owner();
    let device = world.svc(Party::Restored);
    let (r_ipfs, r_ledger) = world.at(Party::Restored);
    let audit = medwallet_core::AuditService::new(&world.folder(Party::Restored));
    let rebuild = medwallet_core::RebuildService::new();
    rebuild.ask(device, &restored.wallet_id).await.unwrap();
    let r_proxy = proxies.get(Party::Restored, Node::Ledger);
    r_proxy.set_rules(vec![stall(Rule::ANY)]);
    dropped_while_held(
        r_proxy,
        rebuild.run(device, &audit, &restored, r_ipfs, r_ledger),
    )
    .await;
    assert!(
        !rebuild.is_running(&restored.wallet_id),
        "a dropped rebuild is still shown running"
    );
    let status = rebuild
        .run(device, &audit, &restored, r_ipfs, r_ledger)
        .await
        .unwrap();
    assert_eq!(
        status.state,
        medwallet_api::RebuildState::Done,
        "{status:?}"
    );
    world.close().await;
}
