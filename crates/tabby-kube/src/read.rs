//! Configuration, discovery and paginated lists against the API server.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::params::ListParams;
use kube::{Client, Config};
use serde_json::Value;
use tabby_api::{Group, Kind};
use tabby_diag::{Diagnostic, Diagnostics};

use crate::body::{self, FetchError};
use crate::{
    code, crd, ClusterObject, ClusterRead, ClusterSource, ReadError, ReadOptions,
    MAX_DISCOVERY_BYTES,
};

/// Calico's aggregated API server.
pub(crate) const CALICO_V3: &str = "projectcalico.org/v3";
/// Calico's CRDs (Kubernetes datastore mode).
pub(crate) const CALICO_CRD: &str = "crd.projectcalico.org/v1";

/// Calico kinds tabby does not list from a cluster: in Kubernetes datastore mode
/// Calico derives them from Pods (WorkloadEndpoint) and from Namespaces and
/// ServiceAccounts (Profile), which tabby reads directly.
const DERIVED: &[Kind] = &[Kind::WorkloadEndpoint, Kind::Profile];

/// A configuration and the names it goes by.
pub(crate) struct Resolved {
    pub(crate) config: Config,
    pub(crate) context: String,
}

pub(crate) fn resolve(source: &ClusterSource, opts: &ReadOptions) -> Result<Resolved, ReadError> {
    let kube_opts = KubeConfigOptions {
        context: source.context.clone(),
        ..KubeConfigOptions::default()
    };
    let kubeconfig = match &source.kubeconfig {
        Some(path) => Some(Kubeconfig::read_from(path).map_err(|e| {
            ReadError::Config(format!(
                "cannot read kubeconfig `{}`: {}",
                path.display(),
                lower_first(&e.to_string())
            ))
        })?),
        None => match Kubeconfig::read() {
            Ok(k) => Some(k),
            // No kubeconfig at all: a pod's service account, unless a context was named.
            Err(e) if source.context.is_some() => {
                return Err(ReadError::Config(format!(
                    "cannot read a kubeconfig ($KUBECONFIG or ~/.kube/config): {}",
                    lower_first(&e.to_string())
                )))
            }
            Err(_) => None,
        },
    };
    let (mut config, context) = match kubeconfig {
        Some(kc) => {
            let context = source
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .unwrap_or_default();
            if !kc.contexts.iter().any(|c| c.name == context) {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                let help = if known.is_empty() {
                    "the kubeconfig defines no context".to_owned()
                } else {
                    format!("contexts in the kubeconfig: `{}`", known.join("`, `"))
                };
                return Err(ReadError::Config(if context.is_empty() {
                    format!("the kubeconfig names no current context; pass --context ({help})")
                } else {
                    format!("no context `{context}` in the kubeconfig ({help})")
                }));
            }
            let config =
                block_on_small(Config::from_custom_kubeconfig(kc, &kube_opts))?.map_err(|e| {
                    ReadError::Config(format!(
                        "cannot use kubeconfig context `{context}`: {}",
                        lower_first(&e.to_string())
                    ))
                })?;
            (config, context)
        }
        None => {
            let config = Config::incluster().map_err(|e| {
                ReadError::Config(format!(
                    "no kubeconfig ($KUBECONFIG or ~/.kube/config) and not running in a pod: {}",
                    lower_first(&e.to_string())
                ))
            })?;
            (config, "in-cluster".to_owned())
        }
    };
    config.connect_timeout = Some(opts.request_timeout);
    config.read_timeout = Some(opts.request_timeout);
    config.write_timeout = Some(opts.request_timeout);
    config.reset_reader_on_write = true;
    // kube retries 429/503/504 with backoff; an aggregated API server that is down
    // (Calico's, typically) answers 503 for good, so tabby decides itself: a 503 in
    // discovery means "not served", elsewhere it is an error.
    config.default_retry = false;
    Ok(Resolved { config, context })
}

/// Runs a short future that needs no I/O driver (kubeconfig loading may run an exec plugin).
fn block_on_small<F: std::future::Future>(fut: F) -> Result<F::Output, ReadError> {
    let rt = runtime()?;
    Ok(rt.block_on(fut))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ReadError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReadError::Config(format!("cannot start the network runtime: {e}")))
}

pub(crate) fn read_cluster(
    source: &ClusterSource,
    opts: &ReadOptions,
) -> Result<ClusterRead, ReadError> {
    let resolved = resolve(source, opts)?;
    let server = resolved.config.cluster_url.to_string();
    let rt = runtime()?;
    let server2 = server.clone();
    rt.block_on(async move {
        let client = Client::try_from(resolved.config).map_err(|e| {
            ReadError::Config(format!(
                "cannot set up a client for `{server2}`: {}",
                lower_first(&e.to_string())
            ))
        })?;
        let reader = Reader {
            client,
            server: server2.clone(),
            opts,
            diagnostics: Diagnostics::new(),
            count: 0,
        };
        match tokio::time::timeout(opts.timeout, reader.read_all()).await {
            Ok(r) => r.map(|(objects, resource_versions, diagnostics)| ClusterRead {
                context: resolved.context,
                server: server2,
                objects,
                resource_versions,
                diagnostics,
            }),
            Err(_) => Err(ReadError::Timeout {
                server: server2,
                seconds: opts.timeout.as_secs(),
            }),
        }
    })
    .map(|mut r| {
        r.server = server;
        r
    })
}

/// One resource type to list.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) kind: Kind,
    /// `v1`, `apps/v1`, `crd.projectcalico.org/v1`...
    pub(crate) api_version: &'static str,
    pub(crate) plural: &'static str,
}

impl Target {
    pub(crate) fn path(&self) -> String {
        if self.api_version.contains('/') {
            format!("/apis/{}/{}", self.api_version, self.plural)
        } else {
            format!("/api/{}/{}", self.api_version, self.plural)
        }
    }

    fn is_crd(&self) -> bool {
        self.api_version == CALICO_CRD
    }
}

/// How one list ended.
enum Listed {
    /// The items and the list's `metadata.resourceVersion` (first page).
    Items(Vec<Value>, String),
    Skipped(u16, String),
}

pub(crate) struct Reader<'a> {
    pub(crate) client: Client,
    pub(crate) server: String,
    pub(crate) opts: &'a ReadOptions,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) count: usize,
}

impl Reader<'_> {
    async fn read_all(
        mut self,
    ) -> Result<(Vec<ClusterObject>, BTreeMap<String, String>, Diagnostics), ReadError> {
        let served = self.discover().await?;
        let targets = self.plan(&served);
        let mut objects = Vec::new();
        let mut versions = BTreeMap::new();
        for target in targets {
            match self.list(&target).await? {
                Listed::Items(items, rv) => {
                    versions.insert(target.path(), rv);
                    for item in items {
                        if let Some(obj) = self.normalise(&target, item) {
                            objects.push(obj);
                        }
                    }
                }
                Listed::Skipped(403, reason) => self.diagnostics.push(
                    Diagnostic::warning(
                        code::FORBIDDEN,
                        format!(
                            "skipped `{}`: the credentials may not list it ({})",
                            target.path(),
                            reason
                        ),
                    )
                    .with_help("grant `list` on it (docs/clusters.md has a ClusterRole)"),
                ),
                Listed::Skipped(status, reason) => self.diagnostics.push(Diagnostic::note(
                    code::NOT_FOUND,
                    format!(
                        "skipped `{}`: the cluster answered {status} ({reason})",
                        target.path()
                    ),
                )),
            }
        }
        objects.sort_by(|a, b| (a.snapshot_place(), a.name()).cmp(&(b.snapshot_place(), b.name())));
        Ok((objects, versions, self.diagnostics))
    }

    /// Resource names (plurals) served per group version, for the versions tabby reads.
    async fn discover(&mut self) -> Result<BTreeMap<String, BTreeSet<String>>, ReadError> {
        let mut served = BTreeMap::new();
        let core = self
            .discovery("/api/v1")
            .await
            .map_err(|e| self.fetch_error("/api/v1", e))?;
        served.insert("v1".to_owned(), plurals(&core));

        let wanted: BTreeSet<&str> = Kind::ALL
            .iter()
            .flat_map(|k| k.api_versions().iter().copied())
            .filter(|v| v.contains('/'))
            .collect();
        let groups: APIGroupList = self
            .discovery("/apis")
            .await
            .map_err(|e| self.fetch_error("/apis", e))?;
        for group in &groups.groups {
            for version in &group.versions {
                let gv = version.group_version.as_str();
                if !wanted.contains(gv) {
                    continue;
                }
                let path = format!("/apis/{gv}");
                match self.discovery(&path).await {
                    Ok(list) => {
                        served.insert(gv.to_owned(), plurals(&list));
                    }
                    // An aggregated API whose server is down answers 503; a group being
                    // removed may answer 404. Treat both as "not served" and say so.
                    Err(FetchError::Kube(kube::Error::Api(s)))
                        if matches!(s.code, 403 | 404 | 503) =>
                    {
                        self.diagnostics.push(Diagnostic::warning(
                            code::GROUP_UNAVAILABLE,
                            format!(
                                "cannot discover `{gv}`: the cluster answered {} ({})",
                                s.code,
                                status_reason(&s)
                            ),
                        ));
                    }
                    Err(e) => return Err(self.fetch_error(&path, e)),
                }
            }
        }
        Ok(served)
    }

    /// Which resource types to list, and from which API for Calico's kinds.
    fn plan(&mut self, served: &BTreeMap<String, BTreeSet<String>>) -> Vec<Target> {
        let serves = |gv: &str, plural: &str| served.get(gv).is_some_and(|s| s.contains(plural));
        let mut targets = Vec::new();
        let (mut via_v3, mut via_crd) = (0usize, 0usize);
        for &kind in Kind::ALL {
            if DERIVED.contains(&kind) {
                continue;
            }
            let plural = kind.plural();
            let api_version = if kind.group() == Group::Calico {
                if serves(CALICO_V3, plural) {
                    via_v3 += 1;
                    Some(CALICO_V3)
                } else if serves(CALICO_CRD, plural) {
                    via_crd += 1;
                    Some(CALICO_CRD)
                } else {
                    None
                }
            } else {
                kind.api_versions()
                    .iter()
                    .copied()
                    .find(|v| serves(v, plural))
            };
            if let Some(api_version) = api_version {
                targets.push(Target {
                    kind,
                    api_version,
                    plural,
                });
            }
        }
        let calico = match (via_v3, via_crd) {
            (0, 0) => "Calico's resources are not served (no projectcalico.org/v3 API server, no crd.projectcalico.org CRDs)".to_owned(),
            (_, 0) => format!("read {via_v3} Calico resource types through Calico's API server (projectcalico.org/v3)"),
            (0, _) => format!("read {via_crd} Calico resource types from their CRDs (crd.projectcalico.org/v1), converted to projectcalico.org/v3"),
            _ => format!("read {via_v3} Calico resource types through Calico's API server and {via_crd} from their CRDs"),
        };
        self.diagnostics
            .push(Diagnostic::note(code::CALICO_SOURCE, calico));
        targets
    }

    /// Lists every object of one type, page by page. An expired continue token
    /// (410 Gone) restarts the list from the beginning, at most `max_restarts` times.
    /// A page longer than `max_page_bytes` is asked for again with half as many
    /// objects (and so are the following pages), down to one object.
    async fn list(&mut self, target: &Target) -> Result<Listed, ReadError> {
        let path = target.path();
        let request = kube::core::Request::new(&path);
        let mut restarts = 0u32;
        let mut page_size = self.opts.page_size.max(1);
        'restart: loop {
            let mut items: Vec<Value> = Vec::new();
            let mut token: Option<String> = None;
            let mut version = String::new();
            loop {
                let mut lp = ListParams::default().limit(page_size);
                if let Some(t) = &token {
                    lp = lp.continue_token(t);
                }
                let req = request
                    .list(&lp)
                    .map_err(|e| self.request_error(&path, &kube::Error::BuildRequest(e)))?;
                let max = self.opts.max_page_bytes;
                let page: Value = match body::fetch_json(&self.client, req, max).await {
                    Ok(v) => v,
                    Err(FetchError::TooLong) if page_size > 1 => {
                        page_size = (page_size / 2).max(1);
                        continue;
                    }
                    Err(FetchError::TooLong) => {
                        return Err(ReadError::TooLong {
                            server: self.server.clone(),
                            path,
                            what: "one object of the list".to_owned(),
                            limit: max,
                        })
                    }
                    Err(FetchError::Kube(kube::Error::Api(s)))
                        if s.code == 410 && restarts < self.opts.max_restarts =>
                    {
                        restarts += 1;
                        self.count = self.count.saturating_sub(items.len());
                        self.diagnostics.push(Diagnostic::note(
                            code::LIST_RESTARTED,
                            format!(
                                "restarted the list of `{path}`: its continue token expired ({})",
                                status_reason(&s)
                            ),
                        ));
                        continue 'restart;
                    }
                    Err(FetchError::Kube(kube::Error::Api(s))) if (403..=405).contains(&s.code) => {
                        self.count = self.count.saturating_sub(items.len());
                        return Ok(Listed::Skipped(s.code, status_reason(&s)));
                    }
                    Err(e) => return Err(self.fetch_error(&path, e)),
                };
                let page_items = match page.get("items") {
                    Some(Value::Array(a)) => a.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(_) => {
                        return Err(ReadError::Request {
                            server: self.server.clone(),
                            path,
                            reason: "the answer's `items` is not a list".to_owned(),
                        })
                    }
                };
                self.count = self.count.saturating_add(page_items.len());
                if self.count > self.opts.max_objects {
                    return Err(ReadError::TooMany(self.opts.max_objects));
                }
                items.extend(page_items);
                if version.is_empty() {
                    page.pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .clone_into(&mut version);
                }
                token = page
                    .pointer("/metadata/continue")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                if token.is_none() {
                    return Ok(Listed::Items(items, version));
                }
            }
        }
    }

    /// Fills in `apiVersion`/`kind` (built-in lists omit them on items), drops
    /// `managedFields`, and converts CRD-stored Calico objects.
    pub(crate) fn normalise(&mut self, target: &Target, mut item: Value) -> Option<ClusterObject> {
        let Value::Object(map) = &mut item else {
            return None;
        };
        map.insert(
            "apiVersion".to_owned(),
            Value::String(target.api_version.to_owned()),
        );
        map.insert(
            "kind".to_owned(),
            Value::String(target.kind.name().to_owned()),
        );
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.remove("managedFields");
        }
        if target.is_crd() {
            if let Err(problem) = crd::to_v3(target.kind, &mut item) {
                self.diagnostics.push(
                    Diagnostic::warning(code::BAD_CRD_OBJECT, problem).with_help(
                        "Calico skips such an object too; fix or remove its `projectcalico.org/metadata` annotation",
                    ),
                );
                return None;
            }
        }
        Some(ClusterObject {
            kind: target.kind,
            value: item,
        })
    }

    /// A discovery document, read with a bound.
    async fn discovery<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, FetchError> {
        let request = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| FetchError::Kube(kube::Error::HttpError(e)))?;
        body::fetch_json(&self.client, request, MAX_DISCOVERY_BYTES).await
    }

    /// The error of a request (a too long answer being a discovery document:
    /// lists and watches handle theirs).
    fn fetch_error(&self, path: &str, e: FetchError) -> ReadError {
        match e {
            FetchError::TooLong => ReadError::TooLong {
                server: self.server.clone(),
                path: path.to_owned(),
                what: "the discovery document".to_owned(),
                limit: MAX_DISCOVERY_BYTES,
            },
            FetchError::Kube(e) => self.request_error(path, &e),
        }
    }

    pub(crate) fn request_error(&self, path: &str, e: &kube::Error) -> ReadError {
        let reason = match e {
            kube::Error::Api(s) => match s.code {
                401 => "401 Unauthorized: the credentials were not accepted".to_owned(),
                code => format!("the cluster answered {code} ({})", status_reason(s)),
            },
            other => error_chain(other),
        };
        ReadError::Request {
            server: self.server.clone(),
            path: path.to_owned(),
            reason,
        }
    }
}

fn plurals(list: &APIResourceList) -> BTreeSet<String> {
    list.resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .filter(|r| r.verbs.iter().any(|v| v == "list"))
        .map(|r| r.name.clone())
        .collect()
}

pub(crate) fn status_reason(s: &kube::core::Status) -> String {
    let text = if s.message.is_empty() {
        s.reason.clone()
    } else {
        s.message.clone()
    };
    // Bound what a hostile server can make us print.
    text.chars().take(300).collect()
}

/// An error and its causes, `a: b: c`, lower-case first letter.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if parts.last().is_none_or(|p| !p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    lower_first(&parts.join(": "))
}

pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
