//! The CRM's SQL: every query on the `crm_*` tables and on the CRM columns of `telephony`. Static
//! queries are checked against the schema at build time (`query!`/`query_as!`, `.sqlx/`); the list
//! query is assembled from the filters a user picked ([`list`]) and is the one built at run time.
//!
//! Every function takes the tenant's transaction (`Db::tenant_tx`: row-level security) and the
//! tenant first, except the trigram search ([`list::search_ids`]) on the lookup pool and the
//! import sweep ([`imports::expire_all`]) on the worker pool, which name the tenant themselves.

pub mod fields;
pub mod imports;
pub mod list;
pub mod phones;
pub mod records;
pub mod settings;
pub mod tables;

pub use fields::FieldRow;
pub use records::{RecordRow, RecordWrite};
pub use tables::TableRow;
