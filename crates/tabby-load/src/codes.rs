//! Stable diagnostic codes of the loader (E0001–E0099), documented in
//! `docs/diagnostics-load.md`.

/// A path could not be read (missing, unreadable, neither file nor directory).
pub const UNREADABLE: &str = "E0001";
/// An input is larger than `LoadOptions::max_file_bytes`.
pub const TOO_LARGE: &str = "E0002";
/// A directory holds no `.yaml`, `.yml` or `.json` file (warning).
pub const EMPTY_DIR: &str = "E0003";
/// An input is not valid UTF-8.
pub const INVALID_UTF8: &str = "E0004";
/// YAML syntax error (including an alias to an unknown anchor).
pub const YAML_SYNTAX: &str = "E0005";
/// JSON syntax error.
pub const JSON_SYNTAX: &str = "E0006";
/// Nesting deeper than `LoadOptions::max_depth`.
pub const TOO_DEEP: &str = "E0007";
/// Alias expansion past `LoadOptions::max_nodes` ("billion laughs").
pub const ALIAS_BUDGET: &str = "E0008";
/// The same key twice in one mapping.
pub const DUPLICATE_KEY: &str = "E0009";
/// A number that fits neither a 64-bit integer nor a finite float.
pub const NUMBER_RANGE: &str = "E0010";
/// A document (or list item) that is not a mapping.
pub const NOT_A_MAPPING: &str = "E0011";
/// A document without `apiVersion` or `kind`.
pub const MISSING_TYPE: &str = "E0012";
/// `apiVersion` or `kind` present but not a non-empty string.
pub const BAD_TYPE: &str = "E0013";
/// A `List` whose `items` is not a list.
pub const BAD_LIST: &str = "E0014";
/// Decoding: a field the object type does not have.
pub const UNKNOWN_FIELD: &str = "E0015";
/// Decoding: a required field is missing.
pub const MISSING_FIELD: &str = "E0016";
/// Decoding: a value of the wrong type or an invalid value.
pub const INVALID_VALUE: &str = "E0017";
/// A list or mapping used as a mapping key.
pub const COMPLEX_KEY: &str = "E0019";
/// The YAML parser failed internally on this input (a bug; reported, not a crash).
pub const INTERNAL: &str = "E0018";
