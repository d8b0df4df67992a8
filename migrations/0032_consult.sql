-- Attended transfer (issue #18, item 4). The agent puts the customer on hold and consults a
-- colleague or a number in a bridge of its own (`c-<call id>`), then returns to the customer or
-- completes the transfer (customer and consulted party joined, the agent leaves).
--
-- While consulting, the call record keeps what a new controller needs after a restart (issue #16:
-- the consulted party's leg is adopted with the call, never hung up as unknown):
--   consult_channel  the consulted party's leg once it answered
--   consult_bridge   the consult bridge
--   consult_user     the consulted colleague (NULL: a number through the trunks)
-- and `agents` lists every telephony user who talked on the call, in order (a transferred call
-- shows both agents).
ALTER TABLE calls DROP CONSTRAINT calls_phase_check;
ALTER TABLE calls
    ADD CONSTRAINT calls_phase_check CHECK (phase IN ('setup', 'greeting', 'ringing', 'dialing', 'talking',
                                                      'consulting', 'transferring', 'forwarded', 'ended')),
    ADD COLUMN consult_channel text,
    ADD COLUMN consult_bridge text,
    ADD COLUMN consult_user bigint,
    ADD COLUMN agents bigint[] NOT NULL DEFAULT '{}';

-- Calls answered before this migration: their one agent.
UPDATE calls SET agents = ARRAY[user_id] WHERE user_id IS NOT NULL AND answered_at IS NOT NULL;
