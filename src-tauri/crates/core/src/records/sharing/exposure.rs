//! The exposure report of a revocation: which versions the revoked person's key opened,
//! and when, from the ledger's own events (block times), and the openings they logged.
//!
//! Honest by construction: it reports what the person *could* have fetched (every version
//! whose capsule included them while the grant stood), not only what they logged, and
//! says that what they fetched then they may keep.

use medwallet_api::{ExposedVersion, ExposureReport};
use medwallet_ledger::{Address, LedgerEvent, LoggedEvent, B256};

/// The facts of one record's trail that matter to one grantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fact {
    /// A version was registered at this time.
    Version { version: u32, at: u64 },
    /// The grantee was granted access.
    Granted { at: u64 },
    /// The grantee's access was revoked.
    Revoked { at: u64 },
    /// The grantee logged an opening.
    Accessed { at: u64 },
}

/// The facts about one grant in a record's events, in chain order: a person (`clause`
/// zero) or a clause under the authority `grantee` (a role at a clinic).
pub(crate) fn facts(events: &[LoggedEvent], grantee: Address, clause: B256) -> Vec<Fact> {
    events
        .iter()
        .filter_map(|e| {
            let at = e.meta.block_time;
            match &e.event {
                LedgerEvent::RecordRegistered { version, .. }
                | LedgerEvent::RecordUpdated { version, .. } => Some(Fact::Version {
                    version: *version,
                    at,
                }),
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
/// of the record (`owner` granting to itself, the group's `clause` hash) from when the
/// member joined, to the removal; the openings the member logged through the group.
pub(crate) fn member_facts(
    events: &[LoggedEvent],
    owner: Address,
    clause: B256,
    member: Address,
    joined: u64,
    removed: u64,
) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut granted = None;
    for e in events {
        let at = e.meta.block_time;
        match &e.event {
            LedgerEvent::RecordRegistered { version, .. }
            | LedgerEvent::RecordUpdated { version, .. } => out.push(Fact::Version {
                version: *version,
                at,
            }),
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
        out.push(Fact::Granted {
            at: granted.max(joined),
        });
        out.push(Fact::Revoked { at: removed });
    }
    out
}

/// The report for the revocation that made `new_version`: the last grant window (from the
/// first grant after the previous revocation to the last revocation, or `now` if the
/// revocation is not in the facts yet).
pub(crate) fn report(facts: &[Fact], grantee: &str, new_version: u32, now: u64) -> ExposureReport {
    // The window: the last revocation (or now), and the first grant after the one before.
    let revocations: Vec<u64> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Revoked { at } => Some(*at),
            _ => None,
        })
        .collect();
    let end = revocations.last().copied().unwrap_or(now);
    let previous_end = if revocations.len() >= 2 {
        revocations[revocations.len() - 2]
    } else {
        0
    };
    let start = facts.iter().find_map(|f| match f {
        Fact::Granted { at }
            if *at >= previous_end && (*at > previous_end || previous_end == 0) =>
        {
            Some(*at)
        }
        _ => None,
    });
    let mut versions: Vec<(u32, u64)> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Version { version, at } => Some((*version, *at)),
            _ => None,
        })
        .collect();
    versions.sort();
    let mut exposed: Vec<(u32, u64, u64)> = Vec::new();
    if let Some(start) = start {
        for (i, (version, at)) in versions.iter().enumerate() {
            if *version >= new_version {
                continue;
            }
            let next = versions.get(i + 1).map_or(u64::MAX, |(_, t)| *t);
            let from = start.max(*at);
            let until = end.min(next);
            // A version replaced before the grant, or made after the revocation, was
            // never readable by the grantee's key.
            if next > start && *at <= end && from <= until {
                exposed.push((*version, from, until));
            }
        }
    }
    let accesses: Vec<u64> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Accessed { at } if start.is_some_and(|s| *at >= s) && *at <= end => Some(*at),
            _ => None,
        })
        .collect();
    ExposureReport {
        summary: summary(grantee, &exposed, &accesses, new_version),
        versions: exposed
            .iter()
            .map(|&(version, from, until)| ExposedVersion {
                version,
                from: time(from),
                until: time(until),
            })
            .collect(),
        accesses: accesses.iter().map(|&t| time(t)).collect(),
        new_version,
    }
}

/// The report in words, times in UTC as people read them.
fn summary(
    grantee: &str,
    exposed: &[(u32, u64, u64)],
    accesses: &[u64],
    new_version: u32,
) -> String {
    let mut out = String::new();
    if exposed.is_empty() {
        out.push_str(&format!(
            "{grantee} never held a readable version of this record: the grant was not on the ledger before it was revoked."
        ));
    } else {
        let parts: Vec<String> = exposed
            .iter()
            .map(|&(version, from, until)| {
                format!(
                    "version {version} between {} and {}",
                    human(from),
                    human(until)
                )
            })
            .collect();
        out.push_str(&format!(
            "{grantee} could have fetched {}.",
            parts.join(", and ")
        ));
    }
    match accesses.len() {
        0 => out.push_str(" They logged no opening."),
        1 => out.push_str(&format!(
            " They logged 1 opening, at {}.",
            human(accesses[0])
        )),
        n => out.push_str(&format!(
            " They logged {n} openings, from {} to {}.",
            human(accesses[0]),
            human(accesses[n - 1])
        )),
    }
    if !exposed.is_empty() {
        out.push_str(" What they fetched then, they may have kept.");
    }
    out.push_str(&format!(
        " Version {new_version} is encrypted under a new key without them: they cannot open it."
    ));
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

    const WHO: &str = "0x00000000000000000000000000000000000000D0";

    #[test]
    fn the_versions_current_while_the_grant_stood_are_named() {
        let facts = [
            Fact::Version {
                version: 1,
                at: 100,
            },
            Fact::Granted { at: 200 },
            Fact::Accessed { at: 250 },
            Fact::Version {
                version: 2,
                at: 300,
            },
            Fact::Accessed { at: 350 },
            Fact::Version {
                version: 3,
                at: 400,
            },
            Fact::Revoked { at: 410 },
        ];
        let r = report(&facts, WHO, 3, 1000);
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
    fn a_version_replaced_before_the_grant_is_not_exposed() {
        let facts = [
            Fact::Version {
                version: 1,
                at: 100,
            },
            Fact::Version {
                version: 2,
                at: 150,
            },
            Fact::Granted { at: 200 },
            Fact::Version {
                version: 3,
                at: 300,
            },
            Fact::Revoked { at: 310 },
        ];
        let r = report(&facts, WHO, 3, 1000);
        assert_eq!(r.versions.len(), 1);
        assert_eq!(r.versions[0].version, 2);
        assert!(r.summary.contains("no opening"));
    }

    #[test]
    fn a_second_grant_window_is_reported_alone() {
        let facts = [
            Fact::Version {
                version: 1,
                at: 100,
            },
            Fact::Granted { at: 110 },
            Fact::Accessed { at: 120 },
            Fact::Version {
                version: 2,
                at: 130,
            },
            Fact::Revoked { at: 131 },
            Fact::Granted { at: 200 },
            Fact::Version {
                version: 3,
                at: 300,
            },
            Fact::Revoked { at: 301 },
        ];
        let r = report(&facts, WHO, 3, 1000);
        assert_eq!(r.versions.len(), 1, "{r:?}");
        assert_eq!(
            (r.versions[0].version, r.versions[0].from.clone()),
            (2, time(200))
        );
        assert!(r.accesses.is_empty());
    }

    #[test]
    fn a_grant_that_never_reached_the_ledger_exposed_nothing() {
        let facts = [Fact::Version {
            version: 1,
            at: 100,
        }];
        let r = report(&facts, WHO, 2, 1000);
        assert!(r.versions.is_empty());
        assert!(r.summary.contains("never held a readable version"));
    }
}
