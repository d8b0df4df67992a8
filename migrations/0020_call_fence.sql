-- Fencing of call control (issue 16): the token of the Stasis lease under which the call's
-- controller last wrote the record (server/telephony/src/lease.rs, "Fencing"). A controller's write
-- stamps it in the same transaction and rolls back when the record carries a newer token: a replica
-- that was paused past its lease and replaced cannot overwrite what the new holder wrote.
ALTER TABLE calls ADD COLUMN fence bigint NOT NULL DEFAULT 0;
