-- The patient's answer to a desk's check-in is kept before it is sent (issue 19: a kill
-- between the answer's transaction and the grants it queues left the desk allowed and
-- nothing granted). NULL: not answered; 1: allow; 0: decline. An offer still 'asked'
-- with an answer decided is the background pass's to send: the answer on the ledger,
-- then, in one transaction, its grants queued and the state set.
ALTER TABLE check_in_offers ADD COLUMN decided INTEGER CHECK (decided IN (0, 1));
