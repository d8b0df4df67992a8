//! The API suite: a real server on port 0 against the test stack's PostgreSQL, Redis, S3 and
//! Asterisk; a fresh tenant per test.

mod adoption;
mod agent_states;
mod attacks;
mod audit;
mod auth;
mod board;
mod calls;
mod carriers;
mod crm;
mod dependencies;
mod dial_rules;
mod drain;
mod edge;
mod fencing;
mod fraud;
mod groups;
mod headers;
mod health;
mod inbound;
mod inputs;
mod leases;
mod nodes;
mod probe;
mod recordings;
mod roles;
mod sentinel;
mod sip_edge;
mod sockets;
mod speed_dials;
mod sweep;
mod telephony;
mod tenancy;
mod trunks;
mod two_factor;
mod users;
