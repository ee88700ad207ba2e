-- The name the consortium attested for the clinic that made a record for this patient,
-- read when the record was adopted (NULL: unverified then).
ALTER TABLE uploaded_for_me ADD COLUMN author_name TEXT;
