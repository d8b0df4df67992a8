//! Id newtypes. Transparent for serde and sqlx so they travel as plain integers.

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A tenant (one customer organisation, one account slug).
    TenantId
);
id_type!(
    /// A user of a tenant.
    UserId
);
id_type!(
    /// An access group of a tenant.
    GroupId
);
id_type!(
    /// A CRM table of a tenant.
    TableId
);
id_type!(
    /// A field (column) of a CRM table.
    FieldId
);
id_type!(
    /// A record (row) of a CRM table.
    RecordId
);
