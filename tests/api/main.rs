//! The API suite: a real server on port 0 against the test stack's PostgreSQL, Redis, S3 and
//! Asterisk; a fresh tenant per test.

mod auth;
mod calls;
mod crm;
mod dial_rules;
mod fraud;
mod groups;
mod health;
mod inbound;
mod probe;
mod recordings;
mod telephony;
mod tenancy;
mod trunks;
mod users;
