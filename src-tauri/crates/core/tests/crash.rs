//! Crash anywhere: the main stories run in a child process that is killed with SIGKILL
//! at points nobody chose by hand, and after each kill the wallets must have lost
//! nothing and made nothing up.
//!
//! The story is told in scenes ([`world::Scene`]): add, share with a person, a role and a
//! group, revoke, remove a group member, revoke a clinic's staff key, a check-in, a
//! restore. For each scene the harness
//!
//! 1. keeps the world as the scene finds it (the parties' data folders, an anvil snapshot,
//!    the IPFS node's pins as CAR files, since a killed run may unpin and collect them);
//! 2. runs the scene once in a child with `MEDWALLET_CRASH_LOG` to count the crash points
//!    it passes (`medwallet-faults`: each SQLite commit of a wallet's store, each file a
//!    store writes, each IPFS add and pin, each transaction's sending and receipt);
//! 3. for each point of a schedule drawn from a seed, puts the world back, runs the
//!    scene in a child with `MEDWALLET_CRASH_AT=n` (killed at its n-th point), then, as
//!    the restarted app would, opens every wallet again and runs its passes until there
//!    is nothing left to do, and checks the invariants ([`check`]);
//! 4. runs the scene to its end, to reach the next one.
//!
//! On a failure it prints the seed, the scene, the point and where it was, and the
//! command that replays just that kill. Its figures go to `$MEDWALLET_CRASH_FIGURES`
//! if set. `MEDWALLET_CRASH_SEED` fixes the seed; `MEDWALLET_CRASH_ONLY=scene:n`
//! replays one kill; `MEDWALLET_CRASH_PER_SCENE` sets how many kills a scene gets
//! (default 36, a third of it for the restore; every point if it has fewer).
//!
//! The test has its own `main` (`harness = false`): the same binary is the child.
//! It runs only with `MEDWALLET_CRASH_ANYWHERE=1`:
//! `MEDWALLET_CRASH_ANYWHERE=1 cargo test -p medwallet-core --test crash`.

#[path = "crash/check.rs"]
mod check;
#[path = "crash/kept.rs"]
mod kept;
#[path = "crash/world.rs"]
mod world;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use medwallet_core::LedgerTarget;
use url::Url;

use kept::Kept;
use world::{start, Nodes, Running, Scene, World, SCENES};

const CHILD_SCENE: &str = "MEDWALLET_CRASH_SCENE";
const CHILD_WORLD: &str = "MEDWALLET_CRASH_WORLD";
const CHILD_IPFS: &str = "MEDWALLET_CRASH_IPFS";
const CHILD_LEDGER: &str = "MEDWALLET_CRASH_LEDGER";
const CHILD_CONTRACT: &str = "MEDWALLET_CRASH_CONTRACT";

fn main() {
    if let Ok(scene) = std::env::var(CHILD_SCENE) {
        return child(&scene);
    }
    // Called by `cargo test` with libtest's arguments: answer a listing, and run only when
    // no filter is given or the filter names this test.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("crash_anywhere: test");
        return;
    }
    // A quarter of an hour: `scripts/test` runs it as a step of its own (a fixed seed,
    // 32 kills per scene), not inside every `cargo test` of the workspace.
    if std::env::var_os("MEDWALLET_CRASH_ANYWHERE").is_none() {
        println!("crash_anywhere: not run (MEDWALLET_CRASH_ANYWHERE=1 runs it)");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty()
        && !filters
            .iter()
            .any(|f| "crash_anywhere".contains(f.as_str()))
    {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(parent());
    println!("{}", report.summary());
    if let Ok(path) = std::env::var("MEDWALLET_CRASH_FIGURES") {
        std::fs::write(path, report.summary()).unwrap();
    }
    if !report.failures.is_empty() {
        for f in &report.failures {
            eprintln!("{f}");
        }
        eprintln!(
            "crash_anywhere: {} of {} kills broke an invariant (seed {})",
            report.failures.len(),
            report.kills,
            report.seed
        );
        std::process::exit(1);
    }
}

/// The child: plays one scene in the world it is told, on one thread (so a crash
/// point's number names about the same moment from one run to the next).
fn child(scene: &str) {
    let scene = Scene::named(scene).expect("a scene's name");
    let env = |k: &str| std::env::var(k).unwrap();
    let nodes = Nodes {
        ipfs: Url::parse(&env(CHILD_IPFS)).unwrap(),
        ledger: LedgerTarget {
            url: Url::parse(&env(CHILD_LEDGER)).unwrap(),
            contract: Some(env(CHILD_CONTRACT).parse().unwrap()),
            chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
        },
    };
    let world = World::new(Path::new(&env(CHILD_WORLD)), nodes);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(world.play(scene))
        .unwrap_or_else(|e| panic!("{}: {e}", scene.name()));
}

/// What the run found.
struct Report {
    seed: u64,
    kills: usize,
    /// Kills whose point the run did not reach (its count varied): checked all the same.
    unreached: usize,
    /// Per scene: its name, crash points counted, kills, seconds.
    scenes: Vec<(&'static str, u64, usize, f64)>,
    failures: Vec<String>,
}

impl Report {
    fn summary(&self) -> String {
        let mut s = format!(
            "crash_anywhere: seed {}, kill points survived {}/{} ({} not reached: the scene passed fewer points that time)\n",
            self.seed,
            self.kills - self.failures.len(),
            self.kills,
            self.unreached
        );
        for (name, points, kills, secs) in &self.scenes {
            s.push_str(&format!(
                "  {name:<14} {points:>4} crash points, {kills:>3} kills, {secs:>6.1} s\n"
            ));
        }
        s
    }
}

async fn parent() -> Report {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let running = start(root).await;
    let nodes = running.nodes.clone();
    let seed = std::env::var("MEDWALLET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    let only = std::env::var("MEDWALLET_CRASH_ONLY").ok().map(|s| {
        let (scene, n) = s.split_once(':').expect("MEDWALLET_CRASH_ONLY=scene:n");
        (
            Scene::named(scene).expect("a scene's name"),
            n.parse::<u64>().unwrap(),
        )
    });
    let per_scene: usize = std::env::var("MEDWALLET_CRASH_PER_SCENE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(36);
    println!("crash_anywhere: seed {seed} (MEDWALLET_CRASH_SEED={seed} replays this schedule)");

    let world_dir = root.join("world");
    let world = World::new(&world_dir, nodes.clone());
    world.cast().await;
    check::settle(&world).await.unwrap();
    world.close().await;

    let mut report = Report {
        seed,
        kills: 0,
        unreached: 0,
        scenes: Vec::new(),
        failures: Vec::new(),
    };
    for scene in SCENES {
        let started = Instant::now();
        let kept = Kept::keep(root, scene.name(), &world_dir, &running.nodes).await;
        let census = root.join(format!("census-{}.log", scene.name()));
        let status = run_child(&running, &world_dir, scene, None, &census);
        assert!(
            status.success(),
            "{}: the scene failed without a kill: {status}",
            scene.name()
        );
        let points = count_lines(&census);
        assert!(points > 0, "{}: no crash point passed", scene.name());
        let schedule = match only {
            Some((s, n)) if s == scene => vec![n],
            Some(_) => Vec::new(),
            None => schedule(seed, scene, points, scene.kills(per_scene)),
        };
        for n in &schedule {
            kept.restore(&world_dir, &running.nodes).await;
            let log = root.join("kill.log");
            let _ = std::fs::remove_file(&log);
            let status = run_child(&running, &world_dir, scene, Some(*n), &log);
            let killed = std::os::unix::process::ExitStatusExt::signal(&status) == Some(9);
            if !killed {
                assert!(
                    status.success(),
                    "{}: the child failed at no kill: {status}",
                    scene.name()
                );
                report.unreached += 1;
            }
            report.kills += 1;
            let at = last_line(&log);
            let world = World::new(&world_dir, nodes.clone());
            let verdict = match check::settle(&world).await {
                Ok(()) => check::invariants(&world, scene, &running.ipfs_repo).await,
                Err(e) => Err(e),
            };
            world.close().await;
            if let Err(broken) = verdict {
                report.failures.push(format!(
                    "crash_anywhere FAILED: scene {scene}, killed at point {n} ({at}): {broken}\n  replay: MEDWALLET_CRASH_SEED={seed} MEDWALLET_CRASH_ONLY={scene}:{n} cargo test -p medwallet-core --test crash",
                    scene = scene.name()
                ));
                if report.failures.len() >= 5 {
                    return report;
                }
            }
        }
        // On to the next scene: this one played to its end.
        kept.restore(&world_dir, &running.nodes).await;
        let world = World::new(&world_dir, nodes.clone());
        world
            .play(scene)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", scene.name()));
        check::settle(&world).await.unwrap();
        check::invariants(&world, scene, &running.ipfs_repo)
            .await
            .unwrap_or_else(|e| panic!("{}: played to its end: {e}", scene.name()));
        world.close().await;
        report.scenes.push((
            scene.name(),
            points,
            schedule.len(),
            started.elapsed().as_secs_f64(),
        ));
        // Progress, for a run of a dozen minutes.
        println!(
            "crash_anywhere: {} done: {points} crash points, {} kills, {} failed so far, {:.0} s",
            scene.name(),
            schedule.len(),
            report.failures.len(),
            started.elapsed().as_secs_f64()
        );
    }
    drop(running.anvil);
    report
}

/// The kills of `scene`: every point if it has at most `per_scene`, else the first and
/// the last and a sample drawn from `seed` (splitmix64), in order.
fn schedule(seed: u64, scene: Scene, points: u64, per_scene: usize) -> Vec<u64> {
    if points <= per_scene as u64 {
        return (1..=points).collect();
    }
    let mut state = seed ^ (scene as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut chosen = std::collections::BTreeSet::from([1, points]);
    while chosen.len() < per_scene {
        chosen.insert(1 + next() % points);
    }
    chosen.into_iter().collect()
}

/// Runs `scene` in a child process: killed at its `at`-th crash point, or to its end.
fn run_child(
    running: &Running,
    world: &Path,
    scene: Scene,
    at: Option<u64>,
    log: &Path,
) -> std::process::ExitStatus {
    let tmp = world.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .env(CHILD_SCENE, scene.name())
        .env(CHILD_WORLD, world)
        .env(CHILD_IPFS, running.nodes.ipfs.as_str())
        .env(CHILD_LEDGER, running.nodes.ledger.url.as_str())
        .env(
            CHILD_CONTRACT,
            running.nodes.ledger.contract.unwrap().to_string(),
        )
        .env("MEDWALLET_CRASH_LOG", log)
        .env("TMPDIR", &tmp)
        .env_remove("MEDWALLET_CRASH_AT");
    if let Some(n) = at {
        child.env("MEDWALLET_CRASH_AT", n.to_string());
    }
    child.status().unwrap()
}

fn count_lines(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count() as u64
}

fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .last()
        .unwrap_or("no point passed")
        .to_owned()
}
