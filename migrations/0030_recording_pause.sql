-- Pausing a call's recording on demand (issue #18, item 6): when the tenant allows it, the agent on a
-- recorded call pauses the recording while the caller gives sensitive data (a card number) and
-- resumes it; the stored file has silence where the pause was (ARI mutes the live recording, which
-- then records silence), so its length stays the call's.
ALTER TABLE telephony ADD COLUMN recording_pause_allowed boolean NOT NULL DEFAULT false;

-- Whether a running call's recording is paused now (the board's snapshot says so).
ALTER TABLE calls ADD COLUMN recording_paused boolean NOT NULL DEFAULT false;
