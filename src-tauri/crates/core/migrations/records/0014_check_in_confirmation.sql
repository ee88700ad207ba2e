-- The block that carried a check-in's redemption: with the check-in and the clinic, it
-- makes the confirmation code the patient compares with the desk's screen.
ALTER TABLE check_in_offers ADD COLUMN redeemed_block TEXT;
