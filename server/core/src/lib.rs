//! Domain types shared by every callbase crate. No IO lives here.
//!
//! "Parse, don't validate": a value of these types that exists is valid, so code further in never
//! re-checks an account slug or a password rule.

pub mod crm;
pub mod dial;
pub mod events;
pub mod ids;
pub mod inputs;
pub mod keys;
pub mod netaddr;
pub mod role;
pub mod sip;
pub mod sipmsg;

pub use ids::{FieldId, GroupId, RecordId, TableId, TenantId, UserId};
pub use inputs::{check_text, page_offset, AccountSlug, InputError, Login, Password};
pub use role::Role;
