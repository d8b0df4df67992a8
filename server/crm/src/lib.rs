//! The CRM of callbase: tables with typed fields, records and their lists, CSV import and export,
//! caller matching, the call card, and number masking for groups. No HTTP here (`callbase-api`
//! extracts, calls one function of this crate, and turns its answer or [`CrmError`] into HTTP).
//!
//! - [`view`]: who is looking ([`view::Viewer`]: masking, dial rules, user names), loaded once per
//!   request from plain values;
//! - [`shape`]: tables, fields and records as a viewer may see them;
//! - [`write`](mod@write): checking values into a record write (the API, the import, the demo seed);
//! - [`list`]: list queries (sort, filters, search, page); [`export`]: the list as CSV;
//! - [`lookup`](mod@lookup): caller matching, the one matcher ([`lookup()`]); [`manager`]: the
//!   responsible manager of a calling client;
//! - [`card`]: the call card and its actions; [`import`]: CSV import; [`settings`]: CRM settings;
//! - [`tables`], [`records`]: the tables, fields and records services;
//! - [`reference`](mod@reference): the `crm<record>x<field>` reference of a client's number;
//! - [`repo`]: the SQL.

pub mod card;
pub mod error;
pub mod export;
pub mod import;
pub mod list;
pub mod lookup;
pub mod manager;
pub mod records;
pub mod reference;
pub mod repo;
pub mod settings;
pub mod shape;
pub mod tables;
pub mod view;
pub mod write;

pub use error::{CrmError, CrmResult};
pub use lookup::{lookup, Found, Reach};
pub use reference::ClientRef;
pub use view::{Viewer, Who};
