//! `tabby apply/create/replace/delete/get/label`: the datastore, shaped like
//! calicoctl and kubectl (docs/store.md).
//!
//! Every write is validated exactly as `tabby validate` validates files, together
//! with what the store already holds (so a policy may name a tier stored earlier);
//! nothing invalid is stored. A command's writes are one transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};
use serde_json::Value;
use tabby_api::{decode_resource, Kind, Resource};
use tabby_diag::{did_you_mean, Diagnostic, Diagnostics, Loc};
use tabby_eval::{Engine, EngineOptions};
use tabby_load::{load_paths, load_str, LoadOptions, Loaded, RawObject};
use tabby_store::{
    key_of, Embedded, Etcd, EtcdOptions, EtcdTls, LabelSelector, ListQuery, Listing, ObjectKey, Op,
    Store, StoreError, Stored,
};

use crate::input::report_diagnostics;
use crate::output::print_stdout;
use crate::Exit;

/// The name under which the store's current objects are validated alongside the
/// files (diagnostics there are not the user's to fix in this command).
const STORE_SOURCE: &str = "<store>";

/// Which store to use: the embedded file (default) or etcd.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct StoreArgs {
    /// The embedded store file [default: $XDG_DATA_HOME/tabby/store.redb or ~/.local/share/tabby/store.redb]
    #[arg(long, value_name = "PATH", conflicts_with = "etcd_endpoints")]
    pub store: Option<PathBuf>,

    /// Use etcd instead, at these client URLs (`http://127.0.0.1:2379[,https://...]`), with Calico's key layout
    #[arg(long, value_name = "URLS")]
    pub etcd_endpoints: Option<String>,

    #[command(flatten)]
    pub etcd_tls: EtcdTlsArgs,
}

/// TLS files for `https://` etcd endpoints, as calicoctl's `etcdCACertFile`,
/// `etcdCertFile` and `etcdKeyFile` (and their environment variables).
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct EtcdTlsArgs {
    /// For https etcd endpoints: the CA certificate (PEM) that signed etcd's certificate [env: ETCD_CA_CERT_FILE]
    #[arg(long, value_name = "FILE", requires = "etcd_endpoints")]
    pub etcd_ca_cert_file: Option<PathBuf>,

    /// For etcd's --client-cert-auth: the client certificate (PEM) [env: ETCD_CERT_FILE]
    #[arg(long, value_name = "FILE", requires = "etcd_endpoints")]
    pub etcd_cert_file: Option<PathBuf>,

    /// The private key (PEM) of --etcd-cert-file [env: ETCD_KEY_FILE]
    #[arg(long, value_name = "FILE", requires = "etcd_endpoints")]
    pub etcd_key_file: Option<PathBuf>,
}

impl EtcdTlsArgs {
    /// The TLS files for `endpoints`: the flags, else the environment variables
    /// calicoctl reads. The variables count only when an endpoint is https (a
    /// shell set up for a TLS etcd can still talk to a plain one); flags always
    /// count, so a flag given for an http endpoint is reported as a mistake.
    pub fn resolve(&self, endpoints: &str) -> EtcdTls {
        let https = endpoints
            .split(',')
            .any(|e| e.trim().to_ascii_lowercase().starts_with("https://"));
        let pick = |flag: &Option<PathBuf>, var: &str| {
            flag.clone().or_else(|| {
                https
                    .then(|| std::env::var_os(var))
                    .flatten()
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
        };
        EtcdTls {
            ca_cert_file: pick(&self.etcd_ca_cert_file, "ETCD_CA_CERT_FILE"),
            cert_file: pick(&self.etcd_cert_file, "ETCD_CERT_FILE"),
            key_file: pick(&self.etcd_key_file, "ETCD_KEY_FILE"),
        }
    }

    /// Opens etcd at `endpoints` with these TLS files.
    pub fn open_etcd(&self, endpoints: &str) -> Result<Etcd, StoreError> {
        Etcd::new(
            endpoints,
            EtcdOptions {
                tls: self.resolve(endpoints),
                ..EtcdOptions::default()
            },
        )
    }
}

impl StoreArgs {
    /// Opens the chosen store.
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        if let Some(eps) = &self.etcd_endpoints {
            return Ok(Box::new(self.etcd_tls.open_etcd(eps)?));
        }
        let path = self.store.clone().unwrap_or_else(Embedded::default_path);
        Ok(Box::new(Embedded::open(&path)?))
    }
}

/// The store as a source of objects for the analysis commands (`tabby check
/// --store PATH`, ...), next to files and the live cluster: the flags of
/// [`StoreArgs`], with their help said for reading. Unlike the store commands,
/// nothing is read from a store unless one of these flags is given.
#[derive(Debug, Clone, Default, ClapArgs)]
#[command(
    mut_arg("store", |a| a.help("Read the resources stored in this embedded store (as `tabby apply --store PATH` wrote them), with or without paths")),
    mut_arg("etcd_endpoints", |a| a.help("Read the resources stored in etcd at these client URLs (`http(s)://HOST:PORT[,...]`), with or without paths")),
)]
pub struct StoreSourceArgs {
    #[command(flatten)]
    pub args: StoreArgs,
}

impl StoreSourceArgs {
    /// Whether a store was asked for.
    pub fn is_set(&self) -> bool {
        self.args.store.is_some() || self.args.etcd_endpoints.is_some()
    }

    /// Reads every object of the store, if one was asked for, into the loader's
    /// form: one source per object, named `store:<Kind>/<namespace>/<name>` (as a
    /// live cluster's objects are named `cluster:...`). Errors (no such store file,
    /// etcd unavailable, bad TLS files) end the command with exit status 2.
    pub fn read(&self) -> anyhow::Result<Option<Loaded>> {
        let Some((_, listing)) = self.list()? else {
            return Ok(None);
        };
        let mut out = Loaded::default();
        let opts = LoadOptions::default();
        for item in &listing.items {
            let k = &item.key;
            let name = match k.namespace() {
                Some(ns) => format!("store:{}/{ns}/{}", k.kind().name(), k.name()),
                None => format!("store:{}/{}", k.kind().name(), k.name()),
            };
            let text = serde_json::to_string_pretty(&item.object)?;
            let loaded = load_str(&name, &text, &opts);
            out.objects.extend(loaded.objects);
            out.diagnostics.extend(loaded.diagnostics);
            out.files.extend(loaded.files);
        }
        Ok(Some(out))
    }

    /// The store asked for, if any, opened for reading: an embedded store file
    /// must exist (opening would create it).
    pub fn open(&self) -> anyhow::Result<Option<Box<dyn Store>>> {
        let store: Box<dyn Store> = if let Some(eps) = &self.args.etcd_endpoints {
            Box::new(self.args.etcd_tls.open_etcd(eps)?)
        } else if let Some(path) = &self.args.store {
            if !path.is_file() {
                anyhow::bail!(
                    "no embedded store at `{}`: --store takes a store file written by `tabby apply --store PATH` (for YAML files or directories, give them as paths)",
                    path.display()
                );
            }
            Box::new(Embedded::open(path)?)
        } else {
            return Ok(None);
        };
        Ok(Some(store))
    }

    /// Every object of the store asked for, if any (sorted by kind, namespace and
    /// name, at one revision), with the store; corrupt keys are reported on stderr
    /// and skipped.
    pub fn list(&self) -> anyhow::Result<Option<(Box<dyn Store>, Listing)>> {
        let Some(store) = self.open()? else {
            return Ok(None);
        };
        let listing = store.list(&ListQuery::default())?;
        for s in listing.skipped.iter().filter(|s| s.corrupt) {
            eprintln!("warning: skipped stored key `{}`: {}", s.key, s.reason);
        }
        Ok(Some((store, listing)))
    }
}

/// The store key of a loaded object, if it is a kind tabby stores and names itself.
fn raw_key(raw: &RawObject) -> Option<ObjectKey> {
    let kind = Kind::from_type_meta(&raw.api_version, &raw.kind)?;
    let res = decode_resource(kind, raw.node.to_json()).ok()?;
    key_of(&res).ok()
}

/// `tabby diff --store S NEW`: the old side is the store's objects (plus the shared
/// `--cluster` paths and live cluster), the new side the store with NEW's objects
/// applied over it: same-named objects replaced, new ones added, the rest kept.
pub fn diff_against_store(
    stored: &Loaded,
    shared: &[PathBuf],
    new_set: &std::path::Path,
    live: Option<&Loaded>,
    verbose: bool,
) -> (crate::input::Input, crate::input::Input) {
    let with_live = |objects: Vec<RawObject>| {
        let mut l = live.map_or_else(Loaded::default, |l| Loaded {
            objects: l.objects.clone(),
            diagnostics: l.diagnostics.clone(),
            files: l.files.clone(),
        });
        l.objects.extend(objects);
        l.diagnostics.extend(stored.diagnostics.clone());
        l.files.extend(stored.files.iter().cloned());
        l
    };
    let shared_args = crate::input::InputArgs {
        paths: shared.to_vec(),
        verbose,
    };
    let old =
        crate::input::Input::read_with_live(&shared_args, Some(&with_live(stored.objects.clone())));
    let replaced: BTreeSet<ObjectKey> =
        load_paths(&[new_set.to_path_buf()], &LoadOptions::default())
            .objects
            .iter()
            .filter_map(raw_key)
            .collect();
    let kept: Vec<RawObject> = stored
        .objects
        .iter()
        .filter(|o| raw_key(o).is_none_or(|k| !replaced.contains(&k)))
        .cloned()
        .collect();
    let mut new_paths = shared.to_vec();
    new_paths.push(new_set.to_path_buf());
    let new_args = crate::input::InputArgs {
        paths: new_paths,
        verbose,
    };
    let new = crate::input::Input::read_with_live(&new_args, Some(&with_live(kept)));
    (old, new)
}

/// Create or update resources from files (`kubectl apply` / `calicoctl apply`)
///
/// Every resource is validated as `tabby validate` does, against the store's current
/// contents; if any is invalid nothing is written. All resources are written in one
/// transaction (etcd: at most 128 per transaction). Identical resources are left
/// unchanged.
///
/// With --dry-run nothing is written; tabby shows what would change: the resources,
/// the connections opened and closed, lint findings that appear or disappear and,
/// with --flows, recorded flows that would be denied.
///
/// Examples:
///   tabby apply -f examples/policies/
///   tabby apply -f new-policy.yaml --dry-run --flows flows.jsonl
///   cat policy.yaml | tabby apply -f -
///
/// Exit status: 0 applied (or would apply), 1 invalid or conflict, 2 store or usage error.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct ApplyArgs {
    /// Files or directories (recursively: *.yaml, *.yml, *.json); `-` reads stdin
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Validate and show the impact; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: flow logs whose flows are replayed against the new policies
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    pub flows: Vec<PathBuf>,

    /// Show notes too
    #[arg(short, long)]
    pub verbose: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Create resources from files; fails if any already exists (`calicoctl create`)
///
/// Exit status: 0 created, 1 invalid or already exists, 2 store or usage error.
#[derive(Debug, ClapArgs)]
pub struct CreateArgs {
    /// Files or directories; `-` reads stdin
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Show notes too
    #[arg(short, long)]
    pub verbose: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Replace existing resources from files (`calicoctl replace`)
///
/// A resource with `metadata.resourceVersion` replaces only that revision (a
/// conflict otherwise); without one, whatever is stored. Missing resources are an error.
///
/// Exit status: 0 replaced, 1 invalid, not found or conflict, 2 store or usage error.
#[derive(Debug, ClapArgs)]
pub struct ReplaceArgs {
    /// Files or directories; `-` reads stdin
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Show notes too
    #[arg(short, long)]
    pub verbose: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Delete resources named in files, or by kind and name
///
/// Examples:
///   tabby delete -f policy.yaml
///   tabby delete gnp default-deny
///   tabby delete networkpolicy allow-dns -n production
///
/// Exit status: 0 deleted, 1 not found, 2 store or usage error.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct DeleteArgs {
    /// Kind (`globalnetworkpolicy`, `gnp`, `networkpolicies`, ...) then names
    #[arg(value_name = "KIND NAME", conflicts_with = "files")]
    pub words: Vec<String>,

    /// Delete the resources these files name
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Namespace of namespaced kinds
    #[arg(short, long, default_value = "default")]
    pub namespace: String,

    /// Delete only if the resource is still at this revision
    #[arg(long, value_name = "REVISION")]
    pub resource_version: Option<u64>,

    /// Resources that do not exist are not an error
    #[arg(long)]
    pub ignore_not_found: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `-o` formats of `tabby get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GetFormat {
    #[default]
    Table,
    Wide,
    Yaml,
    Json,
}

/// Show stored resources (`calicoctl get` / `kubectl get`)
///
/// KIND is a kind, its plural or a short name, as calicoctl accepts them:
/// `globalnetworkpolicy`, `globalnetworkpolicies`, `gnp`; `networkpolicy`/`np` are
/// Calico's, `netpol`/`knp` Kubernetes'.
///
/// Examples:
///   tabby get gnp
///   tabby get networkpolicies -A -o wide
///   tabby get np allow-dns -n production -o yaml
///   tabby get pods -l app=web -n production
///
/// Exit status: 0 found, 1 a named resource does not exist, 2 store or usage error.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct GetArgs {
    /// The kind
    pub kind: String,

    /// Names (default: every resource of the kind)
    pub names: Vec<String>,

    /// Namespace of namespaced kinds
    #[arg(short, long, conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,

    /// Every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Only resources whose labels match (`app=web,tier!=db,env in (a,b)`)
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: GetFormat,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Add, change or remove labels of a stored resource
///
/// Examples:
///   tabby label gnp default-deny team=platform
///   tabby label np allow-dns -n production team=dns --overwrite
///   tabby label gnp default-deny team-
///
/// Exit status: 0 labelled, 1 not found, conflict or invalid, 2 store or usage error.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct LabelArgs {
    /// The kind
    pub kind: String,

    /// The name
    pub name: String,

    /// `key=value` to set, `key-` to remove
    #[arg(required = true)]
    pub labels: Vec<String>,

    /// Namespace of namespaced kinds
    #[arg(short, long, default_value = "default")]
    pub namespace: String,

    /// Allow changing a label that already has a value
    #[arg(long)]
    pub overwrite: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

// --- shared helpers -----------------------------------------------------------

/// Prints a store error and maps it to the exit status: "no" answers (not found,
/// exists, conflict) are 1, failures 2.
fn store_failure(e: &StoreError) -> Exit {
    eprintln!("error: {e}");
    if e.is_negative() {
        Exit::Negative
    } else {
        Exit::Error
    }
}

fn open(args: &StoreArgs) -> Result<Box<dyn Store>, Exit> {
    args.open().map_err(|e| store_failure(&e))
}

/// An empty embedded store in the temporary directory, removed when dropped: what
/// reads see when the embedded store they name does not exist yet.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A store opened for reading (`get`, `apply --dry-run`), with how to name it.
struct ReadStore {
    store: Box<dyn Store>,
    /// "embedded store `PATH`", plus a remark when it does not exist yet.
    describe: String,
    /// Keeps the empty stand-in alive (and removes it afterwards).
    _scratch: Option<Scratch>,
}

/// Opens the chosen store for reading: an embedded store file that does not exist
/// yet is not created (a read must not leave a file behind); it reads as empty,
/// and a note on stderr says so.
fn open_for_read(args: &StoreArgs) -> Result<ReadStore, Exit> {
    let path = match (&args.etcd_endpoints, &args.store) {
        (Some(_), _) => None,
        (None, Some(p)) => Some(p.clone()),
        (None, None) => Some(Embedded::default_path()),
    };
    match path {
        Some(path) if !path.exists() => {
            eprintln!(
                "note: no store at `{}` yet (nothing was applied there); reading it as empty",
                path.display()
            );
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let tmp = std::env::temp_dir().join(format!(
                "tabby-empty-store-{}-{nanos}.redb",
                std::process::id()
            ));
            let scratch = Scratch(tmp.clone());
            let store = Embedded::open(&tmp).map_err(|e| store_failure(&e))?;
            Ok(ReadStore {
                store: Box::new(store),
                describe: format!("embedded store `{}` (does not exist yet)", path.display()),
                _scratch: Some(scratch),
            })
        }
        _ => {
            let store = open(args)?;
            Ok(ReadStore {
                describe: store.describe(),
                store,
                _scratch: None,
            })
        }
    }
}

/// Resolves a command-line kind word, with a did-you-mean on failure.
fn parse_kind(word: &str) -> Result<Kind, Exit> {
    if let Some(k) = Kind::from_name(word) {
        return Ok(k);
    }
    let mut names: Vec<String> = Vec::new();
    for k in Kind::ALL {
        names.push(k.name().to_ascii_lowercase());
        names.push(k.plural().to_owned());
        names.extend(k.short_names().iter().map(|s| (*s).to_owned()));
    }
    let lower = word.to_ascii_lowercase();
    let hint = did_you_mean(&lower, names.iter().map(String::as_str))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    eprintln!("error: `{word}` is not a kind tabby stores{hint}");
    eprintln!("  = help: kinds are named as in calicoctl and kubectl: `globalnetworkpolicies`, `gnp`, `networkpolicy`, `netpol`, `tiers`, `pods`, ...");
    Err(Exit::Error)
}

/// Every object in the store (for validation in context and the dry run).
fn list_all(store: &dyn Store) -> Result<Listing, Exit> {
    let l = store
        .list(&ListQuery::default())
        .map_err(|e| store_failure(&e))?;
    for s in l.skipped.iter().filter(|s| s.corrupt) {
        eprintln!("warning: skipped stored key `{}`: {}", s.key, s.reason);
    }
    Ok(l)
}

/// The stored objects, except `exclude`, in the loader's form.
fn store_as_loaded(items: &[Stored], exclude: &BTreeSet<ObjectKey>) -> Loaded {
    let objects: Vec<&Value> = items
        .iter()
        .filter(|s| !exclude.contains(&s.key))
        .map(|s| &s.object)
        .collect();
    let doc = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
    load_str(STORE_SOURCE, &doc.to_string(), &LoadOptions::default())
}

fn from_store(d: &Diagnostic) -> bool {
    d.loc
        .as_ref()
        .is_some_and(|l| l.file().name() == STORE_SOURCE)
}

/// Files read and validated for a write.
struct Prepared {
    /// Each file resource with its key, the last definition winning.
    resources: Vec<(ObjectKey, Resource, Loc)>,
    /// The store's objects as read.
    listing: Listing,
    /// Store objects plus the files' (replacing same keys), for the dry run.
    combined: Vec<RawObject>,
}

/// Loads `files`, turns every object into a storable resource, and validates
/// them together with the store's current contents. Prints diagnostics.
fn prepare(store: &dyn Store, files: &[PathBuf], verbose: bool) -> Result<Prepared, Exit> {
    let loaded = load_paths(files, &LoadOptions::default());
    let unreadable = loaded.diagnostics.iter().any(|d| d.code == "E0001");
    let mut diags = loaded.diagnostics.clone();
    let mut resources: Vec<(ObjectKey, Resource, Loc)> = Vec::new();
    let mut index: BTreeMap<ObjectKey, usize> = BTreeMap::new();
    for raw in &loaded.objects {
        let Some(kind) = Kind::from_type_meta(&raw.api_version, &raw.kind) else {
            diags.push(
                Diagnostic::error(
                    "S0001",
                    format!("`{}` (`{}`) cannot be stored: tabby stores only the kinds it reads", raw.kind, raw.api_version),
                )
                .at(raw.loc())
                .with_help("Calico policy kinds (projectcalico.org/v3), Kubernetes NetworkPolicy, Namespace, Pod, ServiceAccount, Service and workload kinds"),
            );
            continue;
        };
        // Decoding problems are reported by validation below, with their location.
        let Ok(res) = decode_resource(kind, raw.node.to_json()) else {
            continue;
        };
        match key_of(&res) {
            Ok(key) => {
                if let Some(&i) = index.get(&key) {
                    if let Some(slot) = resources.get_mut(i) {
                        *slot = (key, res, raw.loc());
                    }
                } else {
                    index.insert(key.clone(), resources.len());
                    resources.push((key, res, raw.loc()));
                }
            }
            Err(e) => diags.push(Diagnostic::error("S0002", e.to_string()).at(raw.loc())),
        }
    }
    let listing = list_all(store)?;
    let replaced: BTreeSet<ObjectKey> = resources.iter().map(|r| r.0.clone()).collect();
    let stored = store_as_loaded(&listing.items, &replaced);
    let mut combined = stored.objects;
    combined.extend(loaded.objects.iter().cloned());
    let validated = tabby_validate::validate(&combined);
    diags.extend(validated.diagnostics.into_iter().filter(|d| !from_store(d)));
    diags.sort_by_location();
    report_diagnostics(&diags, verbose);
    if unreadable {
        return Err(Exit::Error);
    }
    if diags.has_errors() {
        let n = diags.error_count();
        eprintln!(
            "error: nothing was written: {n} error{} (see above)",
            if n == 1 { "" } else { "s" }
        );
        return Err(Exit::Negative);
    }
    if resources.is_empty() {
        eprintln!(
            "error: no resources found in {}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Err(Exit::Error);
    }
    Ok(Prepared {
        resources,
        listing,
        combined,
    })
}

/// `Kind name` or `Kind ns/name` as the CLI prints it.
fn show_key(k: &ObjectKey) -> String {
    match k.namespace() {
        Some(ns) => format!("{} {ns}/{}", k.kind().name(), k.name()),
        None => format!("{} {}", k.kind().name(), k.name()),
    }
}

/// Commits `ops`, in several transactions only where the backend limits their size.
fn commit(store: &dyn Store, ops: Vec<Op>) -> Result<Vec<tabby_store::Outcome>, StoreError> {
    const ETCD_MAX_TXN_OPS: usize = 128;
    let is_etcd = store.describe().starts_with("etcd");
    if !is_etcd || ops.len() <= ETCD_MAX_TXN_OPS {
        return store.commit(&ops);
    }
    eprintln!(
        "note: etcd accepts at most {ETCD_MAX_TXN_OPS} objects per transaction; writing {} objects in {} transactions",
        ops.len(),
        ops.len().div_ceil(ETCD_MAX_TXN_OPS)
    );
    let mut out = Vec::new();
    for chunk in ops.chunks(ETCD_MAX_TXN_OPS) {
        out.extend(store.commit(chunk)?);
    }
    Ok(out)
}

fn print_outcomes(outcomes: &[tabby_store::Outcome], suffix: &str) -> anyhow::Result<()> {
    let mut text = String::new();
    for o in outcomes {
        let _ = writeln!(text, "{} {}{suffix}", show_key(&o.stored.key), o.action);
    }
    print_stdout(&text)
}

// --- apply / create / replace -----------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteMode {
    Apply,
    Create,
    Replace,
}

fn write_files(
    store_args: &StoreArgs,
    files: &[PathBuf],
    verbose: bool,
    mode: WriteMode,
) -> anyhow::Result<Exit> {
    let store = match open(store_args) {
        Ok(s) => s,
        Err(e) => return Ok(e),
    };
    let prepared = match prepare(&*store, files, verbose) {
        Ok(p) => p,
        Err(e) => return Ok(e),
    };
    let mut ops = Vec::new();
    for (key, res, _) in prepared.resources {
        ops.push(match mode {
            WriteMode::Apply => Op::Apply(res),
            WriteMode::Create => Op::Create(res),
            WriteMode::Replace => {
                let explicit = res
                    .metadata()
                    .resource_version
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .map(str::parse::<u64>);
                let expected = match explicit {
                    Some(Ok(r)) => r,
                    Some(Err(_)) => {
                        eprintln!("error: {}: `metadata.resourceVersion` is not a revision this store gave out", show_key(&key));
                        return Ok(Exit::Negative);
                    }
                    None => match prepared.listing.items.iter().find(|s| s.key == key) {
                        Some(s) => s.revision,
                        None => return Ok(store_failure(&StoreError::NotFound { key })),
                    },
                };
                Op::Update(res, expected)
            }
        });
    }
    match commit(&*store, ops) {
        Ok(outcomes) => {
            print_outcomes(&outcomes, "")?;
            Ok(Exit::Ok)
        }
        Err(e) => Ok(store_failure(&e)),
    }
}

pub fn run_apply(args: &ApplyArgs) -> anyhow::Result<Exit> {
    if args.dry_run {
        return dry_run(args);
    }
    write_files(&args.store, &args.files, args.verbose, WriteMode::Apply)
}

pub fn run_create(args: &CreateArgs) -> anyhow::Result<Exit> {
    write_files(&args.store, &args.files, args.verbose, WriteMode::Create)
}

pub fn run_replace(args: &ReplaceArgs) -> anyhow::Result<Exit> {
    write_files(&args.store, &args.files, args.verbose, WriteMode::Replace)
}

// --- dry run ---------------------------------------------------------------------

fn engine_of(objects: &[RawObject]) -> Engine {
    let v = tabby_validate::validate(objects);
    Engine::new(&v.cluster, EngineOptions::default())
}

fn lint_keys(engine: &Engine) -> BTreeMap<String, String> {
    tabby_lint::lint(engine, &tabby_lint::LintConfig::default())
        .into_iter()
        .map(|f| {
            let on = f
                .resource
                .as_ref()
                .map(|r| format!(" ({} {})", r.kind, r.name))
                .unwrap_or_default();
            let severity = format!("{:?}", f.severity).to_lowercase();
            let line = format!("{} {severity}: {}{on}", f.code, f.message);
            let key = format!("{}|{on}|{}", f.code, f.message);
            (key, line)
        })
        .collect()
}

fn dry_run(args: &ApplyArgs) -> anyhow::Result<Exit> {
    let opened = match open_for_read(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(e),
    };
    let prepared = match prepare(&*opened.store, &args.files, args.verbose) {
        Ok(p) => p,
        Err(e) => return Ok(e),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "dry run against {}: nothing was written",
        opened.describe
    );
    for (key, res, _) in &prepared.resources {
        let current = prepared.listing.items.iter().find(|s| &s.key == key);
        // Planned against the stored object exactly as a commit would be.
        match tabby_store::preview(&Op::Apply(res.clone()), current) {
            Ok(action) => {
                let _ = writeln!(out, "{} {action} (dry run)", show_key(key));
            }
            Err(e) => {
                let _ = writeln!(out, "{} would fail: {e}", show_key(key));
            }
        }
    }
    let old = store_as_loaded(&prepared.listing.items, &BTreeSet::new());
    let (old_engine, new_engine) = (engine_of(&old.objects), engine_of(&prepared.combined));

    let d = tabby_analysis::diff(
        &old_engine,
        &new_engine,
        &tabby_analysis::ReachOptions {
            staged: false,
            only: None,
            threads: 0,
        },
    );
    out.push_str("\nconnections opened and closed:\n");
    if d.is_empty() {
        out.push_str("  none: every pair of endpoints keeps its reachability\n");
    } else {
        out.push_str(&d.to_table());
    }

    let (before, after) = (lint_keys(&old_engine), lint_keys(&new_engine));
    let appear: Vec<&String> = after
        .iter()
        .filter(|(k, _)| !before.contains_key(*k))
        .map(|x| x.1)
        .collect();
    let vanish: Vec<&String> = before
        .iter()
        .filter(|(k, _)| !after.contains_key(*k))
        .map(|x| x.1)
        .collect();
    out.push_str("\nlint findings:\n");
    if appear.is_empty() && vanish.is_empty() {
        out.push_str("  no change\n");
    }
    for l in appear {
        let _ = writeln!(out, "  + {l}");
    }
    for l in vanish {
        let _ = writeln!(out, "  - {l}");
    }

    if !args.flows.is_empty() {
        out.push_str("\nrecorded flows:\n");
        match replay_flows(&args.flows, &old_engine, &new_engine) {
            Ok(text) => out.push_str(&text),
            Err(e) => {
                print_stdout(&out)?;
                eprintln!("error: {e:#}");
                return Ok(Exit::Error);
            }
        }
    }
    print_stdout(&out)?;
    Ok(Exit::Ok)
}

/// Replays flow logs against the new policies with the store's as the baseline;
/// the text lists the flows the change would deny.
fn replay_flows(files: &[PathBuf], old: &Engine, new: &Engine) -> anyhow::Result<String> {
    use tabby_replay::{ReplayOptions, Replayer, Report, RunOptions, Tally};
    let opts = ReplayOptions::default();
    let replayer = Replayer::new(new, Some(old), opts);
    let mut tally = Tally::default();
    let (mut read, mut skipped) = (0u64, 0u64);
    for (i, path) in files.iter().enumerate() {
        let file = std::fs::File::open(path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        let result = tabby_replay::run(
            std::io::BufReader::new(file),
            u32::try_from(i).unwrap_or(u32::MAX),
            &RunOptions::default(),
            || replayer.worker(),
            &mut |_| {},
        )
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
        // Malformed records are skipped, and said so, as `tabby replay` does.
        crate::cmd_flows::print_errors(
            &path.display().to_string(),
            &result.errors,
            result.stats.skipped,
        );
        read += result.stats.records;
        skipped += result.stats.skipped;
        for w in result.sinks {
            tally.merge(w.finish(), opts.examples);
        }
    }
    let r = Report::new(new, &tally);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "  {read} record{} read, {skipped} skipped as malformed{}",
        if read == 1 { "" } else { "s" },
        if skipped > 0 { " (see stderr)" } else { "" },
    );
    let _ = writeln!(
        text,
        "  {} record{} ({} flow{}) allowed now would be denied; {} record{} denied now would be allowed",
        r.newly_denied_records,
        if r.newly_denied_records == 1 { "" } else { "s" },
        r.newly_denied_flows,
        if r.newly_denied_flows == 1 { "" } else { "s" },
        r.newly_allowed_records,
        if r.newly_allowed_records == 1 { "" } else { "s" },
    );
    for g in &r.newly_denied {
        let _ = writeln!(
            text,
            "  would break: {} ({} records, {} flows)",
            g.rule, g.records, g.flows
        );
        for e in &g.examples {
            let f = files
                .get(e.file as usize)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let _ = writeln!(text, "      {f}:{}: {}", e.line, e.flow);
        }
    }
    if !r.unmapped.is_empty() {
        let n: u64 = r.unmapped.iter().map(|g| g.records).sum();
        let _ = writeln!(
            text,
            "  {n} record{} could not be mapped to endpoints",
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(text)
}

// --- delete --------------------------------------------------------------------

pub fn run_delete(args: &DeleteArgs) -> anyhow::Result<Exit> {
    let mut keys: Vec<ObjectKey> = Vec::new();
    if !args.files.is_empty() {
        let loaded = load_paths(&args.files, &LoadOptions::default());
        report_diagnostics(&loaded.diagnostics, false);
        if loaded.diagnostics.has_errors() {
            return Ok(Exit::Error);
        }
        for raw in &loaded.objects {
            let Some(kind) = Kind::from_type_meta(&raw.api_version, &raw.kind) else {
                eprintln!(
                    "error: `{}` (`{}`) is not a kind tabby stores",
                    raw.kind, raw.api_version
                );
                return Ok(Exit::Error);
            };
            let ns = raw.namespace.as_deref().unwrap_or("default");
            match ObjectKey::new(kind, Some(ns), raw.name.as_deref().unwrap_or_default()) {
                Ok(k) if !keys.contains(&k) => keys.push(k),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(Exit::Error);
                }
            }
        }
    } else {
        let Some((kind_word, names)) = args.words.split_first() else {
            eprintln!(
                "error: name what to delete: `tabby delete KIND NAME` or `tabby delete -f FILE`"
            );
            return Ok(Exit::Error);
        };
        let kind = match parse_kind(kind_word) {
            Ok(k) => k,
            Err(e) => return Ok(e),
        };
        if names.is_empty() {
            eprintln!(
                "error: name the {} to delete: `tabby delete {kind_word} NAME`",
                kind.name()
            );
            return Ok(Exit::Error);
        }
        for n in names {
            match ObjectKey::new(kind, Some(&args.namespace), n) {
                Ok(k) => keys.push(k),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(Exit::Error);
                }
            }
        }
    }
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(e),
    };
    let mut ops = Vec::new();
    let mut missing = Vec::new();
    for k in keys {
        match store.get(&k) {
            Ok(Some(_)) => ops.push(Op::Delete(k, args.resource_version)),
            Ok(None) => missing.push(k),
            Err(e) => return Ok(store_failure(&e)),
        }
    }
    if !missing.is_empty() && !args.ignore_not_found {
        for k in &missing {
            eprintln!("error: {k} not found");
        }
        eprintln!("error: nothing was deleted (use --ignore-not-found to delete the others)");
        return Ok(Exit::Negative);
    }
    if ops.is_empty() {
        return Ok(Exit::Ok);
    }
    match commit(&*store, ops) {
        Ok(outcomes) => {
            print_outcomes(&outcomes, "")?;
            Ok(Exit::Ok)
        }
        Err(e) => Ok(store_failure(&e)),
    }
}

// --- get -------------------------------------------------------------------------

pub fn run_get(args: &GetArgs) -> anyhow::Result<Exit> {
    let kind = match parse_kind(&args.kind) {
        Ok(k) => k,
        Err(e) => return Ok(e),
    };
    let selector = match args
        .selector
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let opened = match open_for_read(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(e),
    };
    let store = &opened.store;
    let namespace = if !kind.is_namespaced() || args.all_namespaces {
        None
    } else {
        Some(
            args.namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
        )
    };
    let mut items = Vec::new();
    let mut exit = Exit::Ok;
    if args.names.is_empty() {
        let l = match store.list(&ListQuery {
            kind: Some(kind),
            namespace: namespace.clone(),
            selector,
        }) {
            Ok(l) => l,
            Err(e) => return Ok(store_failure(&e)),
        };
        for s in &l.skipped {
            eprintln!("warning: skipped stored key `{}`: {}", s.key, s.reason);
        }
        items = l.items;
    } else {
        for n in &args.names {
            let key = match ObjectKey::new(kind, namespace.as_deref().or(Some("default")), n) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(Exit::Error);
                }
            };
            match store.get(&key) {
                Ok(Some(s)) => items.push(s),
                Ok(None) => {
                    eprintln!("error: {key} not found");
                    exit = Exit::Negative;
                }
                Err(e) => return Ok(store_failure(&e)),
            }
        }
    }
    let single = args.names.len() == 1;
    let text = match args.output {
        GetFormat::Yaml | GetFormat::Json => {
            let value = if single {
                items.first().map(|s| s.object.clone())
            } else {
                Some(list_document(kind, &items))
            };
            match value {
                None => String::new(),
                Some(v) if args.output == GetFormat::Json => {
                    let mut s = serde_json::to_string_pretty(&v)?;
                    s.push('\n');
                    s
                }
                Some(v) => tabby_load::to_yaml_document(&v),
            }
        }
        GetFormat::Table | GetFormat::Wide => {
            if items.is_empty() {
                // Names not found were reported one by one: no header for no rows.
                if args.names.is_empty() {
                    let scope = match &namespace {
                        Some(ns) => format!(" in namespace `{ns}`"),
                        None => String::new(),
                    };
                    eprintln!("no {} found{scope}", kind.plural());
                }
                String::new()
            } else {
                table(
                    kind,
                    &items,
                    args.all_namespaces,
                    args.output == GetFormat::Wide,
                )
            }
        }
    };
    print_stdout(&text)?;
    Ok(exit)
}

/// Many objects as one document: `<Kind>List` for Calico kinds (as calicoctl
/// prints), `List` for Kubernetes kinds (as kubectl does).
fn list_document(kind: Kind, items: &[Stored]) -> Value {
    let objects: Vec<&Value> = items.iter().map(|s| &s.object).collect();
    if kind.is_calico() {
        serde_json::json!({"apiVersion": kind.api_version(), "kind": format!("{}List", kind.name()), "items": objects})
    } else {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects})
    }
}

fn spec_text(v: &Value, field: &str) -> String {
    match v.get("spec").and_then(|s| s.get(field)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn table(kind: Kind, items: &[Stored], with_ns: bool, wide: bool) -> String {
    let with_ns = with_ns && kind.is_namespaced();
    let mut header: Vec<&str> = Vec::new();
    if with_ns {
        header.push("NAMESPACE");
    }
    header.push("NAME");
    let policy = kind.is_policy() && kind.is_calico();
    if wide {
        if policy {
            header.extend(["TIER", "ORDER", "SELECTOR"]);
        }
        header.extend(["LABELS", "REVISION"]);
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for s in items {
        let mut row = Vec::new();
        if with_ns {
            row.push(s.key.namespace().unwrap_or_default().to_owned());
        }
        row.push(s.key.name().to_owned());
        if wide {
            if policy {
                let tier = spec_text(&s.object, "tier");
                row.push(if tier.is_empty() {
                    "default".into()
                } else {
                    tier
                });
                row.push(spec_text(&s.object, "order"));
                row.push(spec_text(&s.object, "selector"));
            }
            let labels: Vec<String> = s.labels().iter().map(|(k, v)| format!("{k}={v}")).collect();
            row.push(if labels.is_empty() {
                "<none>".into()
            } else {
                labels.join(",")
            });
            row.push(s.revision.to_string());
        }
        rows.push(row);
    }
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}   ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// --- label -------------------------------------------------------------------------

pub fn run_label(args: &LabelArgs) -> anyhow::Result<Exit> {
    let kind = match parse_kind(&args.kind) {
        Ok(k) => k,
        Err(e) => return Ok(e),
    };
    let key = match ObjectKey::new(kind, Some(&args.namespace), &args.name) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(e),
    };
    let current = match store.get(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(store_failure(&StoreError::NotFound { key })),
        Err(e) => return Ok(store_failure(&e)),
    };
    let mut obj = current.object.clone();
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        eprintln!("error: {key} has no metadata");
        return Ok(Exit::Error);
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Some(labels) = labels.as_object_mut() else {
        eprintln!("error: {key} has labels that are not a mapping");
        return Ok(Exit::Error);
    };
    for l in &args.labels {
        if let Some(k) = l.strip_suffix('-').filter(|_| !l.contains('=')) {
            if labels.remove(k).is_none() {
                eprintln!("warning: label `{k}` not found on {key}");
            }
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            eprintln!("error: `{l}` is not `key=value` or `key-`");
            return Ok(Exit::Error);
        };
        if let Some(old) = labels.get(k).and_then(Value::as_str) {
            if old != v && !args.overwrite {
                eprintln!("error: label `{k}` of {key} already has the value `{old}`; use --overwrite to change it");
                return Ok(Exit::Negative);
            }
        }
        labels.insert(k.to_owned(), Value::from(v));
    }
    // Validate the labelled object as a file would be: keys and values must be
    // valid Kubernetes labels.
    let text = serde_json::to_string(&obj)?;
    let loaded = load_str("<labelled>", &text, &LoadOptions::default());
    let validated = tabby_validate::validate(&loaded.objects);
    let mut diags: Diagnostics = loaded.diagnostics.clone();
    diags.extend(validated.diagnostics);
    if diags.has_errors() {
        report_diagnostics(&diags, false);
        eprintln!("error: nothing was written");
        return Ok(Exit::Negative);
    }
    let res = match Resource::from_json(obj) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Negative);
        }
    };
    match store.update(&res, current.revision) {
        Ok(s) => {
            let unchanged = s.revision == current.revision;
            print_stdout(&format!(
                "{} {}\n",
                show_key(&s.key),
                if unchanged { "unchanged" } else { "labeled" }
            ))?;
            Ok(Exit::Ok)
        }
        Err(e) => Ok(store_failure(&e)),
    }
}
