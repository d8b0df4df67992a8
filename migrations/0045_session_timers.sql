-- SIP session timers (RFC 4028) chosen, not inherited (issue #22, item 6): agents' endpoints
-- (browser and desk phone) and trunks run timers with Min-SE 90 s and a 30-minute session
-- interval, refreshed at half of it. New and re-provisioned rows get them from
-- server/telephony/src/timers.rs (`asterisk.session_expires_secs`); this sets them on the rows
-- that exist (the values Asterisk used for them by default).

-- The owner bypasses RLS only while it is not forced.
ALTER TABLE ast.ps_endpoints NO FORCE ROW LEVEL SECURITY;
UPDATE ast.ps_endpoints SET timers = 'yes', timers_min_se = 90, timers_sess_expires = 1800
    WHERE context IN ('from-agents', 'from-trunk') AND timers_sess_expires IS NULL;
ALTER TABLE ast.ps_endpoints FORCE ROW LEVEL SECURITY;
