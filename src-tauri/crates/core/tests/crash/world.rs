//! The world the crash stories run in: the parties' wallets, each in its own data folder
//! under one directory, the nodes they share, and the stories themselves (the scenes),
//! the same code whether a child process runs a scene to be killed in it or the parent
//! runs it to completion to reach the next scene.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medwallet_api::{Category, RecordMetadata, ShareRequest};
use medwallet_core::{AuditService, CoreError, LedgerTarget, Owner, RebuildService, RecordService};
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_ledger::{LedgerNode, PrivateKeySigner};
use medwallet_vault::{Role, Seed, ShareCode, WalletKeys};
use url::Url;

/// A scene: one step of the story, run in a child process that a crash point kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scene {
    /// The patient adds two records.
    Add,
    /// The patient shares with a person, a role at a clinic and a group.
    Share,
    /// The patient revokes the person's grant (the record is re-encrypted).
    Revoke,
    /// The patient removes a member from the group (its records re-encrypted).
    RemoveMember,
    /// The clinic revokes a staff key (a new epoch), the patient's pass re-keys for it.
    StaffRevoke,
    /// The patient shows a check-in code, the desk redeems it, the patient allows.
    CheckIn,
    /// The patient's laptop is lost: the same keys in an empty folder, rebuilt.
    Restore,
}

pub const SCENES: [Scene; 7] = [
    Scene::Add,
    Scene::Share,
    Scene::Revoke,
    Scene::RemoveMember,
    Scene::StaffRevoke,
    Scene::CheckIn,
    Scene::Restore,
];

impl Scene {
    /// How many kills the scene gets when the others get `per_scene`: a third for the
    /// restore, since each of its kills is followed by a whole rebuild from the ledger
    /// (about 25 s, against 3 s for another scene's kill).
    pub fn kills(self, per_scene: usize) -> usize {
        match self {
            Scene::Restore => per_scene.div_ceil(3),
            _ => per_scene,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scene::Add => "add",
            Scene::Share => "share",
            Scene::Revoke => "revoke",
            Scene::RemoveMember => "remove-member",
            Scene::StaffRevoke => "staff-revoke",
            Scene::CheckIn => "check-in",
            Scene::Restore => "restore",
        }
    }

    pub fn named(name: &str) -> Option<Scene> {
        SCENES.into_iter().find(|s| s.name() == name)
    }
}

/// The group the patient shares with.
pub const GROUP: &str = "careteam";
/// The clause of the role grant at the clinic.
pub const ROLE: &str = "role:doctor";

/// Who takes part: each a wallet from a fixed seed, in its own data folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Party {
    Patient,
    Doctor,
    Clinic,
    /// Staff 1 (revoked in [`Scene::StaffRevoke`]) and 2 (kept).
    Staff1,
    Staff2,
    /// Group members 1 (removed in [`Scene::RemoveMember`]) and 2 (kept).
    Member1,
    Member2,
    /// The patient's keys on a new computer ([`Scene::Restore`]).
    Restored,
}

pub const PARTIES: [Party; 8] = [
    Party::Patient,
    Party::Doctor,
    Party::Clinic,
    Party::Staff1,
    Party::Staff2,
    Party::Member1,
    Party::Member2,
    Party::Restored,
];

impl Party {
    fn folder(self) -> &'static str {
        match self {
            Party::Patient => "patient",
            Party::Doctor => "doctor",
            Party::Clinic => "clinic",
            Party::Staff1 => "staff-1",
            Party::Staff2 => "staff-2",
            Party::Member1 => "member-1",
            Party::Member2 => "member-2",
            Party::Restored => "restored",
        }
    }

    pub fn keys(self) -> WalletKeys {
        let (seed, role) = self.seed();
        WalletKeys::derive(&Seed::from_bytes([seed; 32]), role).unwrap()
    }

    fn seed(self) -> (u8, Role) {
        match self {
            Party::Patient | Party::Restored => (41, Role::Patient),
            Party::Doctor => (42, Role::Doctor),
            Party::Clinic => (43, Role::Clinic),
            Party::Staff1 => (44, Role::Doctor),
            Party::Staff2 => (45, Role::Doctor),
            Party::Member1 => (46, Role::Doctor),
            Party::Member2 => (47, Role::Doctor),
        }
    }

    pub fn owner(self) -> Owner {
        let (seed, _) = self.seed();
        // The restored wallet has the patient's keys under a wallet id of its own, as a
        // restore from the words on another computer.
        let id = match self {
            Party::Restored => format!("{seed:030x}ff"),
            _ => format!("{seed:032x}"),
        };
        Owner::new(&id, self.folder(), &self.keys())
    }
}

/// The nodes, as a child process is told them.
#[derive(Clone, Debug)]
pub struct Nodes {
    pub ipfs: Url,
    pub ledger: LedgerTarget,
}

/// The nodes every party shares: one js-ipfs and one anvil with the contract.
pub struct Running {
    _ipfs: Ipfs,
    pub anvil: Anvil,
    pub nodes: Nodes,
    pub ipfs_repo: PathBuf,
}

/// Starts the nodes in `root` and deploys the contract.
pub async fn start(root: &Path) -> Running {
    let tools = NodeTools::locate().unwrap();
    let ipfs_repo = root.join("ipfs");
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(ipfs_repo.clone())).unwrap();
    let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(root.join("anvil"))).unwrap();
    let url = Url::parse(&anvil.url()).unwrap();
    let contract = LedgerNode::new(&url)
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();
    let nodes = Nodes {
        ipfs: Url::parse(&ipfs.api_url()).unwrap(),
        ledger: LedgerTarget {
            url,
            contract: Some(contract),
            chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
        },
    };
    Running {
        _ipfs: ipfs,
        anvil,
        nodes,
        ipfs_repo,
    }
}

/// The parties' data folders under `dir`, on `nodes`.
pub struct World {
    pub dir: PathBuf,
    /// The nodes themselves: what the harness reads and keeps.
    pub nodes: Nodes,
    /// How each party reaches them (through a proxy of its own, for the fault harness).
    routes: Vec<(Party, Nodes)>,
    services: Vec<(Party, RecordService)>,
}

impl World {
    /// Every party reaches `nodes` directly.
    pub fn new(dir: &Path, nodes: Nodes) -> Self {
        let direct = nodes.clone();
        Self::routed(dir, nodes, move |_| direct.clone())
    }

    /// Each party reaches the nodes as `route` says (its own proxies).
    pub fn routed(dir: &Path, nodes: Nodes, route: impl Fn(Party) -> Nodes) -> Self {
        let services = PARTIES
            .iter()
            .map(|p| (*p, RecordService::new(&dir.join(p.folder()))))
            .collect();
        Self {
            dir: dir.to_owned(),
            nodes,
            routes: PARTIES.iter().map(|p| (*p, route(*p))).collect(),
            services,
        }
    }

    /// The IPFS node and the ledger as `party` reaches them.
    pub fn at(&self, party: Party) -> (&Url, &LedgerTarget) {
        let nodes = &self.routes.iter().find(|(p, _)| *p == party).unwrap().1;
        (&nodes.ipfs, &nodes.ledger)
    }

    pub fn svc(&self, party: Party) -> &RecordService {
        &self.services.iter().find(|(p, _)| *p == party).unwrap().1
    }

    pub fn folder(&self, party: Party) -> PathBuf {
        self.dir.join(party.folder())
    }

    /// Closes every database (before the folders are replaced).
    pub async fn close(&self) {
        for (_, svc) in &self.services {
            svc.close().await;
        }
    }

    /// The story's log of steps done (each appended once done), read by the parent
    /// after a kill: what the story had finished before it died.
    pub fn progress_path(&self) -> PathBuf {
        self.dir.join("progress.log")
    }

    /// Whether `step` is in the story's log (a scene played again skips it).
    fn did(&self, step: &str) -> bool {
        self.steps_done().iter().any(|s| s == step)
    }

    fn done(&self, step: &str) {
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.progress_path())
            .unwrap();
        log.write_all(format!("{step}\n").as_bytes()).unwrap();
    }

    pub fn steps_done(&self) -> Vec<String> {
        std::fs::read_to_string(self.progress_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The files the parties add come from outside the world (the user's Documents).
    fn source(&self, name: &str, body: &str) -> String {
        let dir = self.dir.with_extension("sources");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    }

    /// The patient adds the text record `n` (its body holds the marker the plaintext
    /// scan looks for); its id.
    pub async fn add(&self, n: usize) -> Result<String, Failed> {
        let name = format!("note-{n}.txt");
        let path = self.source(&name, &body(n));
        let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
        let (ipfs, ledger) = self.at(Party::Patient);
        let r = self
            .svc(Party::Patient)
            .add(
                &Party::Patient.owner(),
                ipfs,
                ledger,
                &name,
                &path,
                &RecordMetadata {
                    title: title(n),
                    category: Category::Note,
                    date: "2026-03-01".to_owned(),
                    author: "Dr. Seacole".to_owned(),
                },
                quiet,
            )
            .await
            .map_err(failed("add"))?;
        self.done(&format!("added {} {n}", r.id));
        Ok(r.id)
    }

    /// Every party but the patient publishes its keys (its first look at its inbox), and
    /// the clinic hires both staff: what the story assumes before it starts.
    pub async fn cast(&self) {
        for party in [
            Party::Doctor,
            Party::Clinic,
            Party::Staff1,
            Party::Staff2,
            Party::Member1,
            Party::Member2,
        ] {
            let (ipfs, ledger) = self.at(party);
            self.svc(party)
                .list_shared(&party.owner(), ipfs, ledger)
                .await
                .unwrap();
        }
        let (ipfs, ledger) = self.at(Party::Clinic);
        for staff in [Party::Staff1, Party::Staff2] {
            self.svc(Party::Clinic)
                .issue_staff_key(
                    &Party::Clinic.owner(),
                    ipfs,
                    ledger,
                    &staff.owner().address,
                    &[ROLE.to_owned()],
                )
                .await
                .unwrap();
        }
        // The patient's first record, there before any scene.
        self.add(0).await.unwrap();
    }

    /// Whether the restore went as far as the vault keeping the restored wallet. The app
    /// (`App::restore_wallet`) asks for the rebuild first and then saves the wallet, so a
    /// wallet is there only once its rebuild was asked for ("asked"); before that, the
    /// restore failed and the user does it again (a folder left is another wallet id's).
    pub fn restored(&self) -> bool {
        self.steps_done().iter().any(|s| s == "asked")
    }

    /// The records the patient added, by their number in the story.
    pub fn record(&self, n: usize) -> Option<String> {
        self.steps_done().iter().find_map(|s| {
            let mut words = s.split(' ');
            (words.next() == Some("added") && words.clone().nth(1) == Some(&n.to_string()))
                .then(|| words.next().unwrap().to_owned())
        })
    }

    /// Runs `scene` to its end (in a child process, until a crash point kills it), or
    /// until a step fails (a node the fault harness breaks). Played again, it skips the
    /// steps its log says are done and tries the failed one again, as the user would
    /// (and where the window already shows a step done, does not repeat it).
    pub async fn play(&self, scene: Scene) -> Result<(), Failed> {
        let patient = Party::Patient.owner();
        let p = self.svc(Party::Patient);
        let (ipfs, ledger) = self.at(Party::Patient);
        match scene {
            Scene::Add => {
                for n in [1, 2] {
                    if self.record(n).is_none() {
                        self.add(n).await?;
                    }
                }
            }
            Scene::Share => {
                let (r0, r1, r2) = (self.rec(0), self.rec(1), self.rec(2));
                let doctor = Party::Doctor.owner().address;
                let clinic = Party::Clinic.owner().address;
                let shares = [
                    ("shared person", request(&[&r0], &doctor, None, None)),
                    ("shared role", request(&[&r1], &clinic, Some(ROLE), None)),
                ];
                for (step, share) in shares {
                    if !self.did(step) {
                        p.share(&patient, ipfs, ledger, &share)
                            .await
                            .map_err(failed(step))?;
                        self.done(step);
                    }
                }
                for (step, member) in [
                    ("member 1 added", Party::Member1),
                    ("member 2 added", Party::Member2),
                ] {
                    if !self.did(step) {
                        p.add_group_member(&patient, ipfs, ledger, GROUP, &member.owner().address)
                            .await
                            .map_err(failed(step))?;
                        self.done(step);
                    }
                }
                if !self.did("shared group") {
                    p.share(
                        &patient,
                        ipfs,
                        ledger,
                        &request(&[&r0, &r2], "", None, Some(GROUP)),
                    )
                    .await
                    .map_err(failed("shared group"))?;
                    self.done("shared group");
                }
            }
            Scene::Revoke => {
                if !self.did("revoked person") {
                    p.revoke(
                        &patient,
                        ipfs,
                        ledger,
                        &self.rec(0),
                        &Party::Doctor.owner().address,
                        None,
                    )
                    .await
                    .map_err(failed("revoked person"))?;
                    self.done("revoked person");
                }
            }
            Scene::RemoveMember => {
                if !self.did("removed member") {
                    p.remove_group_member(
                        &patient,
                        ipfs,
                        ledger,
                        GROUP,
                        &Party::Member1.owner().address,
                    )
                    .await
                    .map_err(failed("removed member"))?;
                    self.done("removed member");
                }
            }
            Scene::StaffRevoke => {
                if !self.did("revoked staff") {
                    let (c_ipfs, c_ledger) = self.at(Party::Clinic);
                    self.svc(Party::Clinic)
                        .revoke_staff_key(
                            &Party::Clinic.owner(),
                            c_ipfs,
                            c_ledger,
                            &Party::Staff1.owner().address,
                        )
                        .await
                        .map_err(failed("revoked staff"))?;
                    self.done("revoked staff");
                }
                // The patient's pass notices the clinic's new epoch and re-keys for it.
                p.sync_sharing(&patient, ipfs, ledger, true).await;
                self.done("patient re-keyed");
            }
            Scene::CheckIn => self.check_in().await?,
            Scene::Restore => {
                let restored = Party::Restored.owner();
                let device = self.svc(Party::Restored);
                let (r_ipfs, r_ledger) = self.at(Party::Restored);
                let rebuild = RebuildService::new();
                if !self.did("asked") {
                    rebuild
                        .ask(device, &restored.wallet_id)
                        .await
                        .map_err(failed("asked"))?;
                    self.done("asked");
                }
                let status = rebuild
                    .run(
                        device,
                        &AuditService::new(&self.folder(Party::Restored)),
                        &restored,
                        r_ipfs,
                        r_ledger,
                    )
                    .await
                    .map_err(failed("rebuilt"))?;
                // A node that failed leaves the rebuild asked for, with its reason.
                if status.state != medwallet_api::RebuildState::Done {
                    return Err(Failed {
                        step: "rebuilt".into(),
                        detail: format!("the rebuild is {:?}: {:?}", status.state, status.problem),
                        error: None,
                    });
                }
                self.done("rebuilt");
            }
        }
        Ok(())
    }

    /// The check-in scene: the patient shows a code, the desk redeems it (with the same
    /// code when tried again: it is on the desk's screen), the patient allows.
    async fn check_in(&self) -> Result<(), Failed> {
        let patient = Party::Patient.owner();
        let p = self.svc(Party::Patient);
        let (ipfs, ledger) = self.at(Party::Patient);
        let offered = self
            .steps_done()
            .iter()
            .find_map(|s| s.strip_prefix("offered ").map(str::to_owned));
        let code = match offered {
            Some(code) => code,
            None => {
                let offered = p
                    // As long as a check-in can last: a run takes longer than a short
                    // one, and its grant expiring midway is not what a kill tests.
                    .offer_check_in(
                        &patient,
                        ipfs,
                        ledger,
                        &[self.rec(1)],
                        medwallet_core::MAX_CHECK_IN_MINUTES,
                    )
                    .await
                    .map_err(failed("offered"))?;
                let code = ShareCode::create_with(
                    &Party::Patient.keys(),
                    "patient",
                    offered.chain_id,
                    u64::try_from(chrono::Utc::now().timestamp()).unwrap(),
                    Some(&offered.check_in),
                )
                .unwrap();
                self.done(&format!("offered {code}"));
                code
            }
        };
        if !self.did("redeemed") {
            let (c_ipfs, c_ledger) = self.at(Party::Clinic);
            let (desk, clinic) = (self.svc(Party::Clinic), Party::Clinic.owner());
            // A redemption that went through (its answer lost) shows the patient in the
            // desk's list: the desk does not read the code again. (No check-in kept yet:
            // the list asks no node.)
            let listed = desk
                .list_check_ins(&clinic, c_ipfs, c_ledger)
                .await
                .map_err(failed("redeemed"))?;
            if listed.is_empty() {
                desk.check_in(&clinic, c_ipfs, c_ledger, &code)
                    .await
                    .map_err(failed("redeemed"))?;
            }
            self.done("redeemed");
        }
        if !self.did("allowed") {
            p.sync_sharing(&patient, ipfs, ledger, true).await;
            let asks = p
                .check_in_asks(&patient, ledger)
                .await
                .map_err(failed("allowed"))?;
            // An answer that went through shows "allowed": the patient does not answer
            // again.
            if !asks.iter().any(|a| a.state == "allowed") {
                let ask = asks
                    .iter()
                    .find(|a| a.state == "asked")
                    .ok_or_else(|| Failed {
                        step: "allowed".into(),
                        detail: format!(
                            "the patient's window shows no check-in to answer: {:?}",
                            asks.iter().map(|a| &a.state).collect::<Vec<_>>()
                        ),
                        error: None,
                    })?;
                p.answer_check_in(
                    &patient,
                    ipfs,
                    ledger,
                    &ask.check_in_id,
                    &ask.clinic.address,
                    true,
                )
                .await
                .map_err(failed("allowed"))?;
            }
            self.done("allowed");
        }
        Ok(())
    }

    fn rec(&self, n: usize) -> String {
        self.record(n)
            .unwrap_or_else(|| panic!("record {n} was not added before this scene"))
    }
}

/// A step of a scene that did not finish: which, and why (the use case's error, when
/// it answered one).
#[derive(Debug)]
pub struct Failed {
    pub step: String,
    /// Read by the fault harness (its kind and words); the crash harness prints `detail`.
    #[allow(dead_code)]
    pub error: Option<CoreError>,
    pub detail: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.detail)
    }
}

/// The use case's error as the failure of `step`.
fn failed(step: &str) -> impl FnOnce(CoreError) -> Failed + '_ {
    move |e| Failed {
        step: step.to_owned(),
        detail: format!("{e:?}"),
        error: Some(e),
    }
}

/// A share of `records` with a person, a clause at a clinic, or a group.
fn request(
    records: &[&str],
    grantee: &str,
    clause: Option<&str>,
    group: Option<&str>,
) -> ShareRequest {
    ShareRequest {
        record_ids: records.iter().map(|r| (*r).to_owned()).collect(),
        grantee: grantee.to_owned(),
        clause: clause.map(str::to_owned),
        group: group.map(str::to_owned),
        expires_in_days: Some(30),
        seen_fingerprint: None,
    }
}

/// Record `n`'s title.
pub fn title(n: usize) -> String {
    format!("Visit note {n}")
}

/// The marker in every record's plaintext: found in no file of the world, no temp file
/// and no IPFS block.
pub const MARKER: &str = "PLAINTEXT-MARKER-7f3a";

/// Record `n`'s plaintext.
pub fn body(n: usize) -> String {
    format!("{MARKER} visit {n}: blood pressure 120/80, follow up in two weeks.\n")
}
