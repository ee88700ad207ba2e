-- The audit trail is read a page at a time, newest first, and counted (issue 18): each
-- filter of the trail has an index in the trail's order (block, then log index), so a
-- page is read without sorting the trail. The plain trail walks `events_in_order`, which
-- holds every column the wallet's selection and the filters read, never a row's blobs.
-- `events_by_actor` and `events_by_block` are superseded by the wider indexes below.
DROP INDEX events_by_actor;
DROP INDEX events_by_block;
CREATE INDEX events_by_actor ON events (contract, actor, block_number, log_index);
CREATE INDEX events_by_kind ON events (contract, kind, block_number, log_index);
CREATE INDEX events_in_order ON events
    (contract, block_number, log_index, kind, actor, owner, subject, block_time);
