-- Supervisors (issue #18): an access group may grant the "supervisor" permission. Its members see
-- the live presence board (every telephony user's state and current call, masked by their own
-- rules) and receive its events, like administrators and sub-administrators do.
ALTER TABLE access_groups ADD COLUMN supervisor boolean NOT NULL DEFAULT false;
