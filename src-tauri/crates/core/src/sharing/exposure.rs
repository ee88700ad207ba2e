//! The exposure report of a revocation: which versions the revoked person's key opened,
//! and when, from the ledger's own events, and the openings they logged.
//!
//! Honest by construction: it reports what the person *could* have fetched (every version
//! whose capsule included them while the grant stood), not only what they logged, and
//! says that what they fetched then they may keep. Events are ordered by their place on
//! the chain (block, then log), not by block time: a grant and a new version mined in the
//! same second are still in order.
//!
//! This module computes the facts ([`Exposure`]); the summary sentence is written once,
//! from them, by `words::render_exposure`.

use medwallet_api::{ExposedVersion, ExposureReport};
use medwallet_ledger::{Address, LedgerEvent, LoggedEvent, B256};

/// A point in a record's trail: its place on the chain, and its block time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    /// Order on the chain (block number, then log index).
    pub seq: (u64, u64),
    /// Unix seconds.
    pub at: u64,
}

impl Point {
    /// A point after everything on the chain (a revocation not on it yet).
    fn after_all(at: u64) -> Point {
        Point {
            seq: (u64::MAX, u64::MAX),
            at,
        }
    }

    fn of(e: &LoggedEvent) -> Point {
        Point {
            seq: (e.meta.block_number, e.meta.log_index),
            at: e.meta.block_time,
        }
    }
}

/// The facts of one record's trail that matter to one grantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fact {
    /// A version was registered.
    Version { version: u32, at: Point },
    /// The grantee was granted access.
    Granted { at: Point },
    /// The grantee's access was revoked.
    Revoked { at: Point },
    /// The grantee logged an opening.
    Accessed { at: Point },
}

/// The facts about one grant in a record's events, in chain order: a person (`clause`
/// zero) or a clause under the authority `grantee` (a role at a clinic).
pub(crate) fn facts(events: &[LoggedEvent], grantee: Address, clause: B256) -> Vec<Fact> {
    events
        .iter()
        .filter_map(|e| {
            let at = Point::of(e);
            match &e.event {
                LedgerEvent::RecordRegistered { version, .. }
                | LedgerEvent::RecordUpdated { version, .. } => Some(Fact::Version {
                    version: *version,
                    at,
                }),
                LedgerEvent::RecordUploaded { .. } => Some(Fact::Version { version: 1, at }),
                LedgerEvent::AccessGranted {
                    grantee: g,
                    clause_hash,
                    ..
                } if *g == grantee && *clause_hash == clause => Some(Fact::Granted { at }),
                LedgerEvent::AccessRevoked {
                    grantee: g,
                    clause_hash,
                    ..
                } if *g == grantee && *clause_hash == clause => Some(Fact::Revoked { at }),
                LedgerEvent::RecordAccessed {
                    accessor,
                    authority,
                    clause_hash,
                    ..
                } if (clause.is_zero() && *accessor == grantee && authority.is_zero())
                    // A check-in code's grant: the clinic that redeemed it opened it.
                    || (clause.is_zero() && clause_hash.is_zero() && *authority == grantee)
                    || (!clause.is_zero() && *authority == grantee && *clause_hash == clause) =>
                {
                    Some(Fact::Accessed { at })
                }
                _ => None,
            }
        })
        .collect()
}

/// The facts about a member removed from one of the owner's groups: the group's grant
/// of the record (`owner` granting to itself, the group's `clause` hash) until the version
/// made for the removal (`new_version`) replaced the one they could read; the openings
/// the member logged through the group. `joined` and `removed` (this device's clock)
/// only name the times when the chain has none closer.
pub(crate) fn member_facts(
    events: &[LoggedEvent],
    owner: Address,
    clause: B256,
    member: Address,
    joined: u64,
    removed: u64,
    new_version: u32,
) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut granted: Option<Point> = None;
    let mut replaced = None;
    for e in events {
        let at = Point::of(e);
        match &e.event {
            LedgerEvent::RecordRegistered { version, .. }
            | LedgerEvent::RecordUpdated { version, .. } => {
                if *version == new_version {
                    replaced = Some(at);
                }
                out.push(Fact::Version {
                    version: *version,
                    at,
                });
            }
            LedgerEvent::AccessGranted {
                grantee,
                clause_hash,
                ..
            } if *grantee == owner && *clause_hash == clause && granted.is_none() => {
                granted = Some(at);
            }
            LedgerEvent::RecordAccessed {
                accessor,
                authority,
                clause_hash,
                ..
            } if *accessor == member && *authority == owner && *clause_hash == clause => {
                out.push(Fact::Accessed { at });
            }
            _ => {}
        }
    }
    if let Some(granted) = granted {
        let end = replaced.unwrap_or(Point::after_all(removed));
        // A member who joined after the group's grant held it from joining on.
        let start = Point {
            at: granted.at.max(joined.min(end.at)),
            ..granted
        };
        out.push(Fact::Granted { at: start });
        out.push(Fact::Revoked { at: end });
    }
    out
}

/// Whom a revocation took access from, as the report names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Party {
    /// A person.
    Person {
        /// Their address.
        address: String,
    },
    /// The staff of a clinic holding a role.
    Role {
        /// The clinic's address.
        clinic: String,
        /// The role's clause.
        clause: String,
    },
    /// The same after the clinic revoked one of their keys: the record is re-encrypted
    /// for the clinic's new parameters (a rotation).
    RotatedRole {
        /// The clinic's address.
        clinic: String,
        /// The role's clause.
        clause: String,
    },
    /// A member removed from one of the owner's groups.
    Member {
        /// Their address.
        address: String,
        /// The group.
        group: String,
    },
}

/// Another grant of the record that still reaches the revoked party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// A grant to them in person.
    InPerson,
    /// One of the owner's groups they are in.
    Group(String),
}

/// A version the party could fetch, and when (Unix seconds, block times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub version: u32,
    pub from: u64,
    pub until: u64,
}

/// What a revocation's exposure report says, as facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exposure {
    /// Whom access was taken from.
    pub party: Party,
    /// The versions they could fetch, with their windows, oldest first.
    pub windows: Vec<Window>,
    /// The openings they logged in the grant's window (Unix seconds).
    pub accesses: Vec<u64>,
    /// The version made without them.
    pub new_version: u32,
    /// Other grants of the record that still reach them (this revocation does not close
    /// those).
    pub still_reached: Vec<Route>,
    /// Whether this wallet's own node no longer holds the older version's objects
    /// (unpinned, garbage-collected, and each object's root block checked gone).
    pub removed_here: bool,
}

/// The exposure of the revocation that made `new_version`: the last grant window, from
/// the first grant after the revocation before it to this revocation. `on_chain`: this
/// revocation is the last `Revoked` fact (else it was not on the ledger, as for a grant
/// never mined, and the window runs to `now`). Other routes are the caller's to add.
pub(crate) fn report(
    facts: &[Fact],
    party: Party,
    new_version: u32,
    now: u64,
    on_chain: bool,
) -> Exposure {
    let revocations: Vec<Point> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Revoked { at } => Some(*at),
            _ => None,
        })
        .collect();
    let (end, previous_end) = match (on_chain, revocations.as_slice()) {
        (true, [.., before, last]) => (*last, Some(*before)),
        (true, [last]) => (*last, None),
        (false, [.., last]) => (Point::after_all(now), Some(*last)),
        (_, []) => (Point::after_all(now), None),
    };
    let start = facts.iter().find_map(|f| match f {
        Fact::Granted { at } if previous_end.is_none_or(|p| at.seq > p.seq) => Some(*at),
        _ => None,
    });
    let mut versions: Vec<(u32, Point)> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Version { version, at } => Some((*version, *at)),
            _ => None,
        })
        .collect();
    versions.sort_by_key(|(_, at)| at.seq);
    let mut windows: Vec<Window> = Vec::new();
    if let Some(start) = start {
        for (i, (version, at)) in versions.iter().enumerate() {
            if *version >= new_version {
                continue;
            }
            let next = versions
                .get(i + 1)
                .map_or(Point::after_all(now), |(_, p)| *p);
            // Current from its registration until the next one; readable by the grantee
            // if that overlaps the grant.
            if next.seq > start.seq && at.seq < end.seq {
                let from = if at.seq > start.seq { at.at } else { start.at };
                let until = if next.seq < end.seq { next.at } else { end.at };
                windows.push(Window {
                    version: *version,
                    from,
                    until: until.max(from),
                });
            }
        }
    }
    let accesses: Vec<u64> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Accessed { at } if start.is_some_and(|s| at.seq > s.seq) && at.seq < end.seq => {
                Some(at.at)
            }
            _ => None,
        })
        .collect();
    Exposure {
        party,
        windows,
        accesses,
        new_version,
        still_reached: Vec::new(),
        removed_here: false,
    }
}

/// The exposure report of a revocation: the facts, and the summary in words (times in
/// UTC as people read them; the versions' windows and the openings in RFC 3339).
pub(crate) fn render(e: &Exposure) -> ExposureReport {
    ExposureReport {
        summary: summary(e),
        versions: e
            .windows
            .iter()
            .map(|w| ExposedVersion {
                version: w.version,
                from: time(w.from),
                until: time(w.until),
            })
            .collect(),
        accesses: e.accesses.iter().map(|&t| time(t)).collect(),
        new_version: e.new_version,
    }
}

fn summary(e: &Exposure) -> String {
    let who = match &e.party {
        Party::Person { address } => address.clone(),
        Party::Role { clinic, clause } => format!("Staff of clinic {clinic} holding \"{clause}\""),
        Party::RotatedRole { clinic, clause } => format!(
            "Staff of clinic {clinic} holding \"{clause}\", including the one whose key the clinic revoked,"
        ),
        Party::Member { address, group } => format!("{address} (removed from {group})"),
    };
    let mut out = String::new();
    if e.windows.is_empty() {
        out.push_str(&format!(
            "{who} never held a readable version of this record: the grant was not on the ledger before it was revoked."
        ));
    } else {
        let parts: Vec<String> = e
            .windows
            .iter()
            .map(|w| {
                format!(
                    "version {} between {} and {}",
                    w.version,
                    human(w.from),
                    human(w.until)
                )
            })
            .collect();
        out.push_str(&format!(
            "{who} could have fetched {}.",
            parts.join(", and ")
        ));
    }
    match e.accesses.as_slice() {
        [] => out.push_str(" They logged no opening."),
        [one] => out.push_str(&format!(" They logged 1 opening, at {}.", human(*one))),
        [first, .., last] => out.push_str(&format!(
            " They logged {} openings, from {} to {}.",
            e.accesses.len(),
            human(*first),
            human(*last)
        )),
    }
    if !e.windows.is_empty() {
        out.push_str(" What they fetched then, they may have kept.");
    }
    let new_version = e.new_version;
    out.push_str(&format!(
        " Version {new_version} is encrypted under a new key"
    ));
    if matches!(e.party, Party::RotatedRole { .. }) {
        out.push_str(" and the clinic's new parameters: staff holding the clinic's new keys open it; the revoked key does not.");
    } else if e.still_reached.is_empty() {
        out.push_str(" without them: they cannot open it.");
    } else {
        // Honest about what this revocation does not close.
        let routes: Vec<String> = e
            .still_reached
            .iter()
            .map(|r| match r {
                Route::InPerson => "a grant to them in person".to_owned(),
                Route::Group(group) => format!("the group {group}"),
            })
            .collect();
        out.push_str(&format!(
            "; this grant no longer opens it, but they can still open it through {}: revoke that too to close it.",
            routes.join(" and ")
        ));
    }
    if !e.windows.is_empty() {
        // What a revocation cannot take back: the old bytes and the key that opens them.
        if e.removed_here {
            out.push_str(" Their key still opens the older versions' bytes wherever those remain: your node no longer holds the version just replaced (unpinned and garbage-collected, each object checked gone from it), your replicas unpin it at their next pass, and a node that fetched them (theirs, or a peer's) may keep them.");
        } else {
            out.push_str(" Their key still opens the older versions' bytes wherever those remain: your node was asked to unpin them (it keeps serving them until it collects garbage), your replicas unpin them at their next pass, and a node that fetched them (theirs, or a peer's) may keep them.");
        }
    }
    out
}

fn human(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}

fn time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use medwallet_api::ExposureReport;

    const WHO: &str = "0x00000000000000000000000000000000000000D0";

    /// A point at block `n` (one event per block), at time `t`.
    fn p(n: u64, t: u64) -> Point {
        Point { seq: (n, 0), at: t }
    }

    fn person() -> Party {
        Party::Person {
            address: WHO.to_owned(),
        }
    }

    /// The report of a person's revocation, as the Shared page shows it.
    fn rendered(facts: &[Fact], new_version: u32, now: u64, on_chain: bool) -> ExposureReport {
        render(&report(facts, person(), new_version, now, on_chain))
    }

    fn time(unix: u64) -> String {
        crate::ledger::rfc3339(i64::try_from(unix).unwrap())
    }

    #[test]
    fn the_versions_current_while_the_grant_stood_are_named() {
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 100),
            },
            Fact::Granted { at: p(2, 200) },
            Fact::Accessed { at: p(3, 250) },
            Fact::Version {
                version: 2,
                at: p(4, 300),
            },
            Fact::Accessed { at: p(5, 350) },
            Fact::Version {
                version: 3,
                at: p(6, 400),
            },
            Fact::Revoked { at: p(7, 410) },
        ];
        let r = rendered(&facts, 3, 1000, true);
        assert_eq!(
            r.versions
                .iter()
                .map(|v| (v.version, v.from.clone(), v.until.clone()))
                .collect::<Vec<_>>(),
            vec![(1, time(200), time(300)), (2, time(300), time(400))]
        );
        assert_eq!(r.accesses, vec![time(250), time(350)]);
        assert!(
            r.summary.contains("could have fetched version 1 between"),
            "{}",
            r.summary
        );
        assert!(r.summary.contains("2 openings"), "{}", r.summary);
        assert!(r.summary.contains("Version 3 is encrypted under a new key"));
    }

    #[test]
    fn events_in_one_second_keep_their_order_on_the_chain() {
        // Granted, then the revocation's new version, all within second 500.
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 490),
            },
            Fact::Granted { at: p(2, 500) },
            Fact::Accessed { at: p(3, 500) },
            Fact::Version {
                version: 2,
                at: p(4, 500),
            },
            Fact::Revoked { at: p(5, 500) },
        ];
        let r = rendered(&facts, 2, 1000, true);
        assert_eq!(r.versions.len(), 1, "{r:?}");
        assert_eq!((r.versions[0].version, r.accesses.len()), (1, 1));
        // And a version replaced in the second of the grant, before it, is not exposed.
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 500),
            },
            Fact::Version {
                version: 2,
                at: p(2, 500),
            },
            Fact::Granted { at: p(3, 500) },
            Fact::Version {
                version: 3,
                at: p(4, 500),
            },
            Fact::Revoked { at: p(5, 500) },
        ];
        let r = rendered(&facts, 3, 1000, true);
        assert_eq!(
            r.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn a_version_replaced_before_the_grant_is_not_exposed() {
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 100),
            },
            Fact::Version {
                version: 2,
                at: p(2, 150),
            },
            Fact::Granted { at: p(3, 200) },
            Fact::Version {
                version: 3,
                at: p(4, 300),
            },
            Fact::Revoked { at: p(5, 310) },
        ];
        let r = rendered(&facts, 3, 1000, true);
        assert_eq!(r.versions.len(), 1);
        assert_eq!(r.versions[0].version, 2);
        assert!(r.summary.contains("no opening"));
    }

    #[test]
    fn a_second_grant_window_is_reported_alone() {
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 100),
            },
            Fact::Granted { at: p(2, 110) },
            Fact::Accessed { at: p(3, 120) },
            Fact::Version {
                version: 2,
                at: p(4, 130),
            },
            Fact::Revoked { at: p(5, 131) },
            Fact::Granted { at: p(6, 200) },
            Fact::Version {
                version: 3,
                at: p(7, 300),
            },
            Fact::Revoked { at: p(8, 301) },
        ];
        let r = rendered(&facts, 3, 1000, true);
        assert_eq!(r.versions.len(), 1, "{r:?}");
        assert_eq!(
            (r.versions[0].version, r.versions[0].from.clone()),
            (2, time(200))
        );
        assert!(r.accesses.is_empty());
    }

    #[test]
    fn a_revocation_not_on_the_ledger_reports_the_window_since_the_last_one() {
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 100),
            },
            Fact::Granted { at: p(2, 110) },
            Fact::Version {
                version: 2,
                at: p(3, 119),
            },
            Fact::Revoked { at: p(4, 120) },
            Fact::Granted { at: p(5, 200) },
        ];
        let r = rendered(&facts, 3, 300, false);
        assert_eq!(r.versions.len(), 1, "{r:?}");
        assert_eq!(
            (
                r.versions[0].version,
                r.versions[0].from.clone(),
                r.versions[0].until.clone()
            ),
            (2, time(200), time(300))
        );
    }

    #[test]
    fn a_grant_that_never_reached_the_ledger_exposed_nothing() {
        let facts = [Fact::Version {
            version: 1,
            at: p(1, 100),
        }];
        let r = rendered(&facts, 2, 1000, true);
        assert!(r.versions.is_empty());
        assert!(r.summary.contains("never held a readable version"));
    }

    #[test]
    fn the_facts_name_the_windows_and_the_summary_is_written_from_them() {
        let facts = [
            Fact::Version {
                version: 1,
                at: p(1, 100),
            },
            Fact::Granted { at: p(2, 200) },
            Fact::Accessed { at: p(3, 250) },
            Fact::Version {
                version: 2,
                at: p(4, 300),
            },
            Fact::Revoked { at: p(5, 310) },
        ];
        let plain = report(&facts, person(), 2, 1000, true);
        assert_eq!(
            plain,
            Exposure {
                party: person(),
                windows: vec![Window {
                    version: 1,
                    from: 200,
                    until: 300
                }],
                accesses: vec![250],
                new_version: 2,
                still_reached: Vec::new(),
                removed_here: false,
            }
        );
        let summary = |e: &Exposure| render(e).summary;
        assert!(summary(&plain).contains(
            " Version 2 is encrypted under a new key without them: they cannot open it."
        ));
        assert!(
            summary(&plain)
                .ends_with(" a node that fetched them (theirs, or a peer's) may keep them."),
            "{}",
            summary(&plain)
        );
        let collected = Exposure {
            removed_here: true,
            ..plain.clone()
        };
        assert!(
            summary(&collected).contains("your node no longer holds the version just replaced"),
            "{}",
            summary(&collected)
        );
        let reached = Exposure {
            still_reached: vec![Route::InPerson, Route::Group("careteam".into())],
            ..plain.clone()
        };
        assert!(summary(&reached).contains(
            " Version 2 is encrypted under a new key; this grant no longer opens it, but they can still open it through a grant to them in person and the group careteam: revoke that too to close it."
        ), "{}", summary(&reached));
        let rotated = report(
            &facts,
            Party::RotatedRole {
                clinic: WHO.into(),
                clause: "role:doctor".into(),
            },
            2,
            1000,
            true,
        );
        let text = summary(&rotated);
        assert!(text.starts_with(&format!("Staff of clinic {WHO} holding \"role:doctor\", including the one whose key the clinic revoked, could have fetched version 1 between")), "{text}");
        assert!(text.contains(" Version 2 is encrypted under a new key and the clinic's new parameters: staff holding the clinic's new keys open it; the revoked key does not."), "{text}");
        assert!(
            text.contains(" Their key still opens the older versions' bytes"),
            "{text}"
        );
        let member = report(
            &facts,
            Party::Member {
                address: WHO.into(),
                group: "family".into(),
            },
            2,
            1000,
            true,
        );
        assert!(summary(&member)
            .starts_with(&format!("{WHO} (removed from family) could have fetched")));
    }
}
