-- Trunk legs nobody controls any more (issue 16): Asterisk hangs up a trunk leg that received no
-- RTP for 60 s (300 s on hold). New trunks get it from server/telephony/src/trunks.rs; this sets it
-- on the trunks that exist.
UPDATE ast.ps_endpoints SET rtp_timeout = 60, rtp_timeout_hold = 300 WHERE id ~ '^t[0-9]+-trk[1-3]$';
