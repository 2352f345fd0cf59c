//! The shape every top-level object shares: type meta, metadata, spec, status.

/// Declares a top-level object struct with `apiVersion`, `kind`, `metadata`, `spec`
/// (decoded from `null` or absence as its default) and an opaque `status`.
///
/// Extra attributes (docs, `#[serde(deny_unknown_fields)]`) are placed after the
/// derive, where serde's helper attributes must go.
macro_rules! top_level {
    ($(#[$attr:meta])* $name:ident, $spec:ty) => {
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        $(#[$attr])*
        pub struct $name {
            /// As written; [`crate::Kind::from_type_meta`] says what it means.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub api_version: String,
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub kind: String,
            #[serde(default, deserialize_with = "crate::meta::null_default")]
            pub metadata: crate::ObjectMeta,
            #[serde(default, deserialize_with = "crate::meta::null_default")]
            pub spec: $spec,
            /// Written by controllers; kept opaque and unchecked.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<serde_json::Value>,
        }
    };
}

pub(crate) use top_level;
