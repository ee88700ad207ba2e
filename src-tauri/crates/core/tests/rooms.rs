//! Core's rooms (its top-level modules) depend on each other in one direction only: no
//! room uses a room that uses it back, directly or through others. A newcomer can then
//! read the rooms from the bottom (`store`, `words`) up to `app` without a loop, and a
//! change to a lower room cannot be forced by a higher one.
//!
//! The test reads core's own source: every `crate::<room>` path outside test modules and
//! comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each room and the rooms its non-test code names.
fn rooms() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut rooms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap();
        let room = first.as_os_str().to_str().unwrap().trim_end_matches(".rs");
        if room == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Test modules may reach anywhere, and comments (doc links) are not uses.
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let uses = rooms.entry(room.to_owned()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|p| p.trim().split("::").next().unwrap())
                    .collect(),
                None => vec![rest
                    .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                    .next()
                    .unwrap()],
            };
            for name in names {
                if !name.is_empty()
                    && name != room
                    && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                {
                    uses.insert(name.to_owned());
                }
            }
        }
    }
    // Only rooms count (not re-exports such as `crate::Answer`).
    let known: BTreeSet<String> = rooms.keys().cloned().collect();
    for uses in rooms.values_mut() {
        uses.retain(|u| known.contains(u));
    }
    rooms
}

#[test]
fn no_room_uses_a_room_that_uses_it_back() {
    let rooms = rooms();
    assert!(rooms.len() >= 10, "core's rooms were not found: {rooms:?}");
    // Depth-first search for a cycle, naming its path.
    fn visit<'a>(
        room: &'a str,
        rooms: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(start) = path.iter().position(|r| *r == room) {
            let mut cycle = path[start..].to_vec();
            cycle.push(room);
            panic!("core's rooms form a cycle: {}", cycle.join(" -> "));
        }
        if !done.insert(room) {
            return;
        }
        path.push(room);
        for used in &rooms[room] {
            visit(used, rooms, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for room in rooms.keys() {
        visit(room, &rooms, &mut Vec::new(), &mut done);
    }
}
