-- Calls survive their controller (issue 16): what a new owner of a node's Stasis app needs to
-- continue a live call is kept with the call record as it changes (server/telephony/src/adopt.rs).
--   node           the Asterisk node (asterisk.node) whose Stasis app runs the call
--   phase          where the call is: setup, ringing, talking, … (server/telephony/src/call/mod.rs)
--   first_channel  the channel the call arrived on (the agent's or the carrier's)
--   agent_channel  once connected: the agent's channel (changes with a transfer)
--   other_channel  once connected: the other party's channel
--   bridge_id      the call's mixing bridge
--   held_since     on hold since (NULL when not held); hold_secs keeps the finished holds
--   audience       users who see the call's events
ALTER TABLE calls
    ADD COLUMN node text,
    ADD COLUMN phase text CHECK (phase IN ('setup', 'greeting', 'ringing', 'dialing', 'talking',
                                           'transferring', 'forwarded', 'ended')),
    ADD COLUMN first_channel text,
    ADD COLUMN agent_channel text,
    ADD COLUMN other_channel text,
    ADD COLUMN bridge_id text,
    ADD COLUMN held_since timestamptz,
    ADD COLUMN audience bigint[] NOT NULL DEFAULT '{}';

-- Records left open by a server that stopped before this migration ran on the default node.
UPDATE calls SET node = 'main' WHERE ended_at IS NULL;

CREATE INDEX calls_open_on_node ON calls (node) WHERE ended_at IS NULL;
