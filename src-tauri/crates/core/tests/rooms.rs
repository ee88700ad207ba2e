//! Core's rooms (its top-level modules) depend on each other in one direction only: no
//! room uses a room that uses it back, directly or through others. A newcomer can then
//! read the rooms from the bottom (`store`, `words`) up to `app` without a loop, and a
//! change to a lower room cannot be forced by a higher one.
//!
//! The test reads core's own source: every `crate::<room>` path outside test modules and
//! comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The names `lib.rs` re-exports at the crate's root, and the room each comes from
/// (`pub use records::RecordService;` makes `crate::RecordService` a use of `records`).
fn root_names(src: &Path) -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut names = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let room = path.split("::").next().unwrap().trim();
        let items = path.split_once("::").map_or("", |(_, rest)| rest);
        for name in items
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase()))
        {
            names.insert(name.to_owned(), room.to_owned());
        }
    }
    names
}

/// The first segment of each path in a `crate::` use: `records` for `crate::records::X`,
/// `a` and `b` for `crate::{a::{x, y}, b}` (nested braces included).
fn first_segments(rest: &str) -> Vec<&str> {
    let Some(group) = rest.strip_prefix('{') else {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        return vec![&rest[..end]];
    };
    let (mut depth, mut start, mut out) = (0usize, 0usize, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(group[start..i].trim());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(group[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.into_iter()
        .map(|item| item.split("::").next().unwrap().trim())
        .filter(|item| !item.is_empty())
        .collect()
}

/// Each room and the rooms its non-test code names.
fn rooms() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let reexported = root_names(&src);
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
            for name in first_segments(&code[i + "crate::".len()..]) {
                let used = reexported.get(name).map_or(name, String::as_str);
                if used != room {
                    uses.insert(used.to_owned());
                }
            }
        }
    }
    // Only rooms count (not `crate::Answer` and alike, defined in lib.rs itself).
    let known: BTreeSet<String> = rooms.keys().cloned().collect();
    for uses in rooms.values_mut() {
        uses.retain(|u| known.contains(u));
    }
    rooms
}

#[test]
fn nested_and_reexported_uses_are_seen() {
    assert_eq!(first_segments("{a::{x, y}, b}"), ["a", "b"]);
    assert_eq!(first_segments("records::RecordService;"), ["records"]);
    assert_eq!(
        first_segments("{ledger, store::{self, RecordStore}, words}"),
        ["ledger", "store", "words"]
    );
    let names = root_names(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert_eq!(
        names.get("RecordService").map(String::as_str),
        Some("records")
    );
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
