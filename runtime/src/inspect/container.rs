//! Container metadata from a checkpoint archive's members outside `checkpoint/`: which engine
//! wrote it (Podman, CRI-O, containerd; the kubelet's checkpoints are written by its CRI
//! runtime, so they have CRI-O's or containerd's layout), the container's name, id, image,
//! runtime and times (`config.dump`), its OCI runtime spec (`spec.dump`: command, hostname,
//! annotations with the pod, namespace and container names), its network (`network.status`),
//! and which other members are there (`rootfs-diff.tar`, `deleted.files`, `volumes/*.tar`,
//! `devshm-checkpoint.tar`, `stats-dump`, logs).
//!
//! Layouts, as the engines write them:
//! - **Podman** (`podman container checkpoint --export`): `config.dump` is libpod's container
//!   config (`id`, `name`, `rootfsImageID`, `rootfsImageName`, `runtime`, `createdTime`, ...),
//!   `spec.dump` the OCI spec with `io.container.manager: libpod`; `network.status` holds
//!   netavark's result (network → interfaces → subnets, MAC).
//! - **CRI-O** (and the kubelet's `/checkpoint` API through it): `config.dump` is
//!   checkpointctl's `ContainerConfig` (`id`, `name`, `rootfsImage`, `rootfsImageRef`,
//!   `rootfsImageName`, `runtime`, `createdTime`, `checkpointedTime`, `restoredTime`,
//!   `restored`); `spec.dump` carries `io.container.manager: cri-o` and the Kubernetes names in
//!   `io.kubernetes.cri-o.Labels` (a JSON string) and `io.kubernetes.pod.*` annotations.
//! - **containerd**: the same `config.dump`; the Kubernetes names in
//!   `io.kubernetes.cri.container-name`, `io.kubernetes.cri.sandbox-name`,
//!   `io.kubernetes.cri.sandbox-namespace`.
//!
//! A directory named `checkpoint` whose parent holds `config.dump` or `spec.dump` (an
//! extracted archive) is read the same way, from the parent.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use criu_image_proto::support::json::JsonWriter;
use criu_image_proto::support::json_in::{self, Value};

use super::{Problem, Section, Table, human_bytes, json_opt_str, json_problems, text_problems};
use crate::checkpoint::{Checkpoint, Format};

/// Largest metadata file read from an extracted archive's directory.
const MAX_METADATA: u64 = 64 << 20;

/// Member names of the archive layout (checkpointctl's `metadata` package spells the same).
const CONFIG_DUMP: &str = "config.dump";
const SPEC_DUMP: &str = "spec.dump";
const NETWORK_STATUS: &str = "network.status";
const ROOTFS_DIFF: &str = "rootfs-diff.tar";
const DELETED_FILES: &str = "deleted.files";

/// The container engine that wrote the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Podman (libpod).
    Podman,
    /// CRI-O (also what the kubelet's checkpoint API produces on CRI-O nodes).
    CriO,
    /// containerd's CRI plugin.
    Containerd,
}

impl Engine {
    /// The lower-case name: `podman`, `cri-o`, `containerd`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Podman => "podman",
            Engine::CriO => "cri-o",
            Engine::Containerd => "containerd",
        }
    }
}

/// Kubernetes names of a container checkpointed through the kubelet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kubernetes {
    /// Pod name.
    pub pod: Option<String>,
    /// Pod namespace.
    pub namespace: Option<String>,
    /// Container name in the pod spec.
    pub container: Option<String>,
    /// Pod UID.
    pub pod_uid: Option<String>,
    /// The runtime's sandbox (pod) id.
    pub sandbox_id: Option<String>,
}

/// An interface of the container's network, from `network.status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// The engine's network name (`podman`), when the format names it.
    pub network: Option<String>,
    /// Interface name in the container.
    pub name: String,
    /// MAC address.
    pub mac: Option<String>,
    /// Addresses with prefix, each with its gateway.
    pub addresses: Vec<(String, Option<String>)>,
}

/// An archive member outside `checkpoint/` (or a file next to an extracted `checkpoint/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its path in the archive.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A checkpoint image's OCI metadata (`podman container checkpoint --create-image`, saved with
/// `podman save --format oci-archive`; or an image built for the kubelet with
/// `checkpointctl build`/buildah): the reference name from `index.json` and the host facts the
/// engine recorded as manifest annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointImage {
    /// `org.opencontainers.image.ref.name` (`localhost/ckpt-sleeper:latest`).
    pub ref_name: Option<String>,
    /// The original container's name (`io.podman.annotations.checkpoint.name`, or
    /// `io.kubernetes.cri-o.annotations.checkpoint.name`).
    pub container_name: Option<String>,
    /// The CRIU version that dumped it, as `4.2.1` (recorded as CRIU's number, 40201).
    pub criu_version: Option<String>,
    /// The engine's version (`podman 4.3.1`).
    pub engine_version: Option<String>,
    /// The OCI runtime's version (its first line).
    pub runtime_version: Option<String>,
    /// The kernel release of the checkpointing host.
    pub kernel: Option<String>,
    /// Its architecture (`amd64`).
    pub arch: Option<String>,
    /// Its distribution (`debian 12`).
    pub distribution: Option<String>,
    /// The cgroup version (`v1`, `v2`).
    pub cgroups: Option<String>,
    /// Every manifest annotation, in file order.
    pub annotations: Vec<(String, String)>,
}

/// CRIU's version number (`major * 10000 + minor * 100 + sublevel`, as `criu --version` and the
/// engines' annotations give it) as `4.2.1`; anything else as it is.
pub(crate) fn criu_version_name(v: &str) -> String {
    match v.parse::<u32>() {
        Ok(n) if n >= 10000 => match n % 100 {
            0 => format!("{}.{}", n / 10000, n / 100 % 100),
            s => format!("{}.{}.{s}", n / 10000, n / 100 % 100),
        },
        _ => v.to_string(),
    }
}

impl CheckpointImage {
    /// Reads the OCI members an OCI-archive checkpoint keeps (`index.json` and the manifest
    /// blob); `None` for any other checkpoint.
    pub fn load(ckpt: &Checkpoint) -> Option<CheckpointImage> {
        if ckpt.format() != Format::OciImage {
            return None;
        }
        let mut img = CheckpointImage::default();
        if let Some(index) = ckpt.extra_file("index.json").and_then(|b| json_in::parse(b).ok())
            && let Some(Value::Array(m)) = index.get("manifests")
            && let Some(Value::Object(ann)) = m.first().and_then(|m| m.get("annotations"))
        {
            img.ref_name = ann.iter().find(|(k, _)| k == "org.opencontainers.image.ref.name").and_then(|(_, v)| text(Some(v)));
        }
        let manifest = ckpt.extra_names().find(|n| n.starts_with("blobs/")).and_then(|n| ckpt.extra_file(n)).and_then(|b| json_in::parse(b).ok());
        if let Some(Value::Object(ann)) = manifest.as_ref().and_then(|m| m.get("annotations")) {
            img.annotations = ann.iter().filter_map(|(k, v)| Some((k.clone(), text(Some(v))?))).collect();
        }
        let a = |k: &str| img.annotations.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        const P: &str = "io.podman.annotations.checkpoint.";
        let p = |k: &str| a(&format!("{P}{k}"));
        img.container_name = p("name").or_else(|| a("io.kubernetes.cri-o.annotations.checkpoint.name"));
        img.criu_version = p("criu.version").map(|v| criu_version_name(&v));
        img.engine_version = p("podman.version").map(|v| format!("podman {v}"));
        img.runtime_version = p("runtime.version").and_then(|v| v.lines().next().map(str::to_string));
        img.kernel = p("host.kernel");
        img.arch = p("host.arch");
        img.distribution = match (p("distribution.name"), p("distribution.version")) {
            (Some(n), Some(v)) => Some(format!("{n} {v}")),
            (n, v) => n.or(v),
        };
        img.cgroups = p("cgroups.version");
        Some(img)
    }
}

/// The container section.
#[derive(Clone, Debug, Default)]
pub struct Container {
    /// Where the metadata came from: `None` for a plain CRIU dump with none.
    pub source: Option<PathBuf>,
    /// The engine, when recognisable.
    pub engine: Option<Engine>,
    /// The engine's container name.
    pub name: Option<String>,
    /// The container id.
    pub id: Option<String>,
    /// Image name (`docker.io/library/nginx:latest`).
    pub image_name: Option<String>,
    /// Image id.
    pub image_id: Option<String>,
    /// Image reference (digest), when recorded apart from the id.
    pub image_ref: Option<String>,
    /// OCI runtime (`runc`, `crun`).
    pub runtime: Option<String>,
    /// When the container was created (RFC 3339, as recorded).
    pub created: Option<String>,
    /// When it was checkpointed, when recorded.
    pub checkpointed: Option<String>,
    /// When it was last restored, when recorded.
    pub restored_at: Option<String>,
    /// Whether it had been restored before this checkpoint.
    pub restored: Option<bool>,
    /// `spec.process.args`.
    pub command: Option<Vec<String>>,
    /// `spec.process.cwd`.
    pub cwd: Option<String>,
    /// `spec.hostname`.
    pub hostname: Option<String>,
    /// Kubernetes names, when the container belongs to a pod.
    pub kubernetes: Option<Kubernetes>,
    /// The pod's IP as CRI-O recorded it.
    pub ip: Option<String>,
    /// Network interfaces from `network.status`.
    pub network: Vec<Interface>,
    /// `rootfs-diff.tar`'s size: files changed in the container's root file system.
    pub rootfs_diff: Option<u64>,
    /// `deleted.files`: paths deleted from the image's root file system.
    pub deleted_files: Option<Vec<String>>,
    /// `volumes/NAME.tar`: named volumes' contents, by name, with sizes.
    pub volumes: Vec<Member>,
    /// Every member outside `checkpoint/`.
    pub members: Vec<Member>,
    /// The checkpoint images: how many files and bytes.
    pub image_files: usize,
    /// Their total size in bytes.
    pub image_bytes: u64,
    /// `spec.dump`'s annotations, in file order.
    pub annotations: Vec<(String, String)>,
    /// When the checkpoint came as an OCI checkpoint image: what its manifest says.
    pub checkpoint_image: Option<CheckpointImage>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

/// Where the metadata files are: archive members, or files beside an extracted `checkpoint/`.
enum Meta<'a> {
    Archive(&'a Checkpoint),
    Dir(PathBuf),
}

impl Meta<'_> {
    fn read(&self, name: &str, problems: &mut Vec<Problem>) -> Option<Vec<u8>> {
        match self {
            Meta::Archive(c) => c.extra_file(name).map(<[u8]>::to_vec),
            Meta::Dir(d) => {
                let p = d.join(name);
                let md = std::fs::metadata(&p).ok()?;
                if !md.is_file() {
                    return None;
                }
                if md.len() > MAX_METADATA {
                    problems.push(Problem {
                        file: p.display().to_string(),
                        message: format!("{} bytes; metadata files over {MAX_METADATA} bytes are not read", md.len()),
                    });
                    return None;
                }
                match std::fs::read(&p) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        problems.push(Problem { file: p.display().to_string(), message: e.to_string() });
                        None
                    }
                }
            }
        }
    }

    fn members(&self) -> Vec<Member> {
        match self {
            Meta::Archive(c) => c
                .extra_names()
                .map(|n| Member { name: n.to_string(), size: c.extra_file(n).map_or(0, |b| b.len() as u64) })
                .collect(),
            Meta::Dir(d) => {
                let mut out = Vec::new();
                let mut walk = vec![(d.clone(), String::new())];
                while let Some((dir, prefix)) = walk.pop() {
                    let Ok(rd) = std::fs::read_dir(&dir) else { continue };
                    for e in rd.flatten() {
                        let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
                        let path = format!("{prefix}{name}");
                        match e.file_type() {
                            // The images are the checkpoint's; one level of subdirectories
                            // (`volumes/`, `artifacts/`) is what the layouts have.
                            Ok(t) if t.is_dir() && path != "checkpoint" && prefix.is_empty() => {
                                walk.push((e.path(), format!("{path}/")));
                            }
                            Ok(t) if t.is_file() => {
                                out.push(Member { name: path, size: e.metadata().map_or(0, |m| m.len()) });
                            }
                            _ => {}
                        }
                    }
                }
                out.sort_by(|a, b| a.name.cmp(&b.name));
                out
            }
        }
    }

    fn path(&self) -> PathBuf {
        match self {
            Meta::Archive(c) => c.path.clone(),
            Meta::Dir(d) => d.clone(),
        }
    }
}

/// The parent of an extracted archive's `checkpoint/` directory, if `dir` is one.
fn extracted_parent(dir: &Path) -> Option<PathBuf> {
    if dir.file_name()? != "checkpoint" {
        return None;
    }
    let parent = dir.parent()?;
    [CONFIG_DUMP, SPEC_DUMP].iter().any(|n| parent.join(n).is_file()).then(|| parent.to_path_buf())
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(String::from_utf8_lossy(s).into_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A non-empty string member; Go's zero time (`0001-01-01T00:00:00Z`) counts as empty.
fn field(v: &Value, key: &str) -> Option<String> {
    text(v.get(key)).filter(|s| !s.is_empty() && !s.starts_with("0001-01-01T00:00:00"))
}

fn parse_json(name: &str, bytes: &[u8], problems: &mut Vec<Problem>) -> Option<Value> {
    match json_in::parse(bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(Problem { file: name.into(), message: format!("not valid JSON: {e}") });
            None
        }
    }
}

impl Container {
    /// Reads the archive's metadata members (or the files beside an extracted `checkpoint/`).
    /// A plain CRIU dump has none: `source` is then `None` and every field is empty.
    pub fn load(ckpt: &Checkpoint) -> Container {
        let mut c = Container::default();
        for n in ckpt.names() {
            c.image_files += 1;
            c.image_bytes += ckpt.file_len(n).unwrap_or(0);
        }
        let meta = match ckpt.format() {
            Format::Directory => match extracted_parent(&ckpt.path) {
                Some(p) => Meta::Dir(p),
                None => return c,
            },
            _ => Meta::Archive(ckpt),
        };
        c.members = meta.members();
        if c.members.is_empty() {
            return c;
        }
        c.source = Some(meta.path());
        let mut problems = Vec::new();
        let config = meta.read(CONFIG_DUMP, &mut problems).and_then(|b| parse_json(CONFIG_DUMP, &b, &mut problems));
        let spec = meta.read(SPEC_DUMP, &mut problems).and_then(|b| parse_json(SPEC_DUMP, &b, &mut problems));
        if let Some(Value::Object(members)) = spec.as_ref().and_then(|s| s.get("annotations")) {
            for (k, v) in members {
                if let Some(v) = text(Some(v)) {
                    c.annotations.push((k.clone(), v));
                }
            }
        }
        let ann = |k: &str| c.annotations.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        let engine = match ann("io.container.manager").as_deref() {
            Some("libpod") => Some(Engine::Podman),
            Some("cri-o") => Some(Engine::CriO),
            _ if config.as_ref().is_some_and(|c| ["lockID", "CreateCommand", "RawImageName", "rootfsImageID"].iter().any(|k| c.get(k).is_some())) => {
                Some(Engine::Podman)
            }
            _ if ann("io.kubernetes.cri.container-name").is_some() => Some(Engine::Containerd),
            _ if ann("io.kubernetes.cri-o.ContainerID").is_some() || ann("io.kubernetes.cri-o.Labels").is_some() => Some(Engine::CriO),
            _ => None,
        };
        if let Some(cfg) = &config {
            c.id = field(cfg, "id");
            c.name = field(cfg, "name");
            c.image_name = field(cfg, "rootfsImageName");
            c.image_id = field(cfg, "rootfsImageID").or_else(|| field(cfg, "rootfsImage"));
            c.image_ref = field(cfg, "rootfsImageRef").filter(|r| Some(r) != c.image_id.as_ref());
            c.runtime = field(cfg, "runtime");
            c.created = field(cfg, "createdTime");
            c.checkpointed = field(cfg, "checkpointedTime");
            c.restored_at = field(cfg, "restoredTime");
            c.restored = match cfg.get("restored") {
                Some(Value::Bool(b)) => Some(*b),
                _ => None,
            };
        }
        let mut k8s = Kubernetes::default();
        match engine {
            Some(Engine::CriO) => {
                c.id = c.id.take().or_else(|| ann("io.kubernetes.cri-o.ContainerID"));
                c.image_name = c.image_name.take().or_else(|| ann("io.kubernetes.cri-o.ImageName"));
                c.image_ref = c.image_ref.take().or_else(|| ann("io.kubernetes.cri-o.ImageRef"));
                c.created = c.created.take().or_else(|| ann("io.kubernetes.cri-o.Created"));
                c.name = c.name.take().or_else(|| ann("io.kubernetes.cri-o.Name"));
                c.ip = ann("io.kubernetes.cri-o.IP.0");
                if let Some(labels) = ann("io.kubernetes.cri-o.Labels") {
                    match json_in::parse(labels.as_bytes()) {
                        Ok(l) => {
                            k8s.pod = field(&l, "io.kubernetes.pod.name");
                            k8s.namespace = field(&l, "io.kubernetes.pod.namespace");
                            k8s.container = field(&l, "io.kubernetes.container.name");
                            k8s.pod_uid = field(&l, "io.kubernetes.pod.uid");
                        }
                        Err(e) => problems.push(Problem {
                            file: SPEC_DUMP.into(),
                            message: format!("annotation io.kubernetes.cri-o.Labels is not valid JSON: {e}"),
                        }),
                    }
                }
                k8s.sandbox_id = ann("io.kubernetes.cri-o.SandboxID");
            }
            Some(Engine::Containerd) => {
                k8s.container = ann("io.kubernetes.cri.container-name");
                k8s.pod = ann("io.kubernetes.cri.sandbox-name");
                k8s.namespace = ann("io.kubernetes.cri.sandbox-namespace");
                k8s.pod_uid = ann("io.kubernetes.cri.sandbox-uid");
                k8s.sandbox_id = ann("io.kubernetes.cri.sandbox-id");
                c.image_name = c.image_name.take().or_else(|| ann("io.kubernetes.cri.image-name"));
            }
            _ => {}
        }
        // Kubernetes' own annotations, which every CRI runtime copies into the spec.
        k8s.pod = k8s.pod.or_else(|| ann("io.kubernetes.pod.name"));
        k8s.namespace = k8s.namespace.or_else(|| ann("io.kubernetes.pod.namespace"));
        k8s.container = k8s.container.or_else(|| ann("io.kubernetes.container.name"));
        k8s.pod_uid = k8s.pod_uid.or_else(|| ann("io.kubernetes.pod.uid"));
        if k8s != Kubernetes::default() {
            c.kubernetes = Some(k8s);
        }
        if let Some(s) = &spec {
            let process = s.get("process");
            if let Some(Value::Array(args)) = process.and_then(|p| p.get("args")) {
                c.command = Some(args.iter().filter_map(|a| text(Some(a))).collect());
            }
            c.cwd = process.and_then(|p| field(p, "cwd"));
            c.hostname = field(s, "hostname");
        }
        if let Some(b) = meta.read(NETWORK_STATUS, &mut problems)
            && let Some(v) = parse_json(NETWORK_STATUS, &b, &mut problems)
        {
            c.network = interfaces(&v);
        }
        c.rootfs_diff = c.members.iter().find(|m| m.name == ROOTFS_DIFF).map(|m| m.size);
        if let Some(b) = meta.read(DELETED_FILES, &mut problems)
            && let Some(v) = parse_json(DELETED_FILES, &b, &mut problems)
        {
            match v {
                Value::Array(items) => c.deleted_files = Some(items.iter().filter_map(|i| text(Some(i))).collect()),
                Value::Null => c.deleted_files = Some(Vec::new()),
                other => problems.push(Problem {
                    file: DELETED_FILES.into(),
                    message: format!("holds {} where a list of paths belongs", other.type_name()),
                }),
            }
        }
        c.volumes = c
            .members
            .iter()
            .filter_map(|m| {
                let n = m.name.strip_prefix("volumes/")?.strip_suffix(".tar")?;
                Some(Member { name: n.to_string(), size: m.size })
            })
            .collect();
        if config.is_none() && spec.is_none() && problems.is_empty() {
            problems.push(Problem {
                file: c.source.as_ref().map_or_else(String::new, |p| p.display().to_string()),
                message: "has files outside checkpoint/ but no config.dump or spec.dump: not a container engine's layout".into(),
            });
        }
        c.checkpoint_image = CheckpointImage::load(ckpt);
        if let Some(img) = &c.checkpoint_image {
            c.name = c.name.take().or_else(|| img.container_name.clone());
        }
        c.engine = engine;
        c.problems = problems;
        c
    }
}

/// `network.status`: netavark's `{network: {interfaces: {name: {subnets, mac_address}}}}` or
/// CNI's list of results (`[{interfaces: [{name, mac}], ips: [{address, gateway, interface}]}]`).
fn interfaces(v: &Value) -> Vec<Interface> {
    let mut out = Vec::new();
    match v {
        Value::Object(networks) => {
            for (net, n) in networks {
                let Some(Value::Object(ifs)) = n.get("interfaces") else { continue };
                for (name, i) in ifs {
                    let mut addresses = Vec::new();
                    if let Some(Value::Array(subnets)) = i.get("subnets") {
                        for s in subnets {
                            if let Some(a) = field(s, "ipnet") {
                                addresses.push((a, field(s, "gateway")));
                            }
                        }
                    }
                    out.push(Interface { network: Some(net.clone()), name: name.clone(), mac: field(i, "mac_address"), addresses });
                }
            }
        }
        Value::Array(results) => {
            for r in results {
                let ifs: Vec<&Value> = match r.get("interfaces") {
                    Some(Value::Array(a)) => a.iter().collect(),
                    _ => Vec::new(),
                };
                let first = out.len();
                for i in &ifs {
                    out.push(Interface { network: None, name: field(i, "name").unwrap_or_default(), mac: field(i, "mac"), addresses: Vec::new() });
                }
                if let Some(Value::Array(ips)) = r.get("ips") {
                    for ip in ips {
                        let Some(a) = field(ip, "address") else { continue };
                        let idx = match ip.get("interface") {
                            Some(Value::Number(n)) => n.parse::<usize>().ok(),
                            _ => None,
                        };
                        let slot = first + idx.unwrap_or(0);
                        if slot >= out.len() {
                            out.push(Interface { network: None, name: String::new(), mac: None, addresses: Vec::new() });
                        }
                        let slot = slot.min(out.len() - 1);
                        out[slot].addresses.push((a, field(ip, "gateway")));
                    }
                }
            }
        }
        _ => {}
    }
    out
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

impl Section for Container {
    fn name(&self) -> &'static str {
        "container"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// ```text
    /// container sleeper-gzip (podman)
    ///   id            68160217b54be40abb3a2b88f6f3a27c084b1015653d0b9176cc941be6896ca2
    ///   image         localhost/bb:latest
    ///   image id      8a04df848d6d99655aa60631606113a25766e6cd8314bb21ad6d866264d54188
    ///   runtime       runc
    ///   created       2026-12-01T08:13:51.779841444Z
    ///   ...
    /// ```
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        let Some(src) = &self.source else {
            b.extend_from_slice(
                format!(
                    "container: none (a plain CRIU dump, no config.dump); {} images, {}\n",
                    self.image_files,
                    human_bytes(self.image_bytes)
                )
                .as_bytes(),
            );
            text_problems(&self.problems, &mut b);
            return out.write_all(&b);
        };
        let engine = self.engine.map_or("unknown engine", Engine::name);
        b.extend_from_slice(format!("container {} ({engine}, {})\n", or_dash(&self.name), src.display()).as_bytes());
        let mut t = Table::headless(&[false, false]);
        let mut kv = |k: &str, v: String| t.row(vec![k.to_string(), v]);
        kv("id", or_dash(&self.id));
        kv("image", or_dash(&self.image_name));
        if let Some(i) = &self.image_id {
            kv("image id", i.clone());
        }
        if let Some(r) = &self.image_ref {
            kv("image ref", r.clone());
        }
        kv("runtime", or_dash(&self.runtime));
        kv("created", or_dash(&self.created));
        kv("checkpointed", or_dash(&self.checkpointed));
        if self.restored == Some(true) || self.restored_at.is_some() {
            kv("restored", or_dash(&self.restored_at));
        }
        if let Some(cmd) = &self.command {
            kv("command", cmd.join(" "));
        }
        if let Some(h) = &self.hostname {
            kv("hostname", h.clone());
        }
        if let Some(k) = &self.kubernetes {
            kv("pod", format!("{}/{}", or_dash(&k.namespace), or_dash(&k.pod)));
            kv("k8s container", or_dash(&k.container));
        }
        if let Some(ip) = &self.ip {
            kv("ip", ip.clone());
        }
        for i in &self.network {
            let addrs = i
                .addresses
                .iter()
                .map(|(a, g)| match g {
                    Some(g) => format!("{a} gw {g}"),
                    None => a.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let mac = i.mac.as_ref().map(|m| format!(" mac {m}")).unwrap_or_default();
            let net = i.network.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
            kv("network", format!("{} {addrs}{mac}{net}", i.name));
        }
        kv("images", format!("{} files, {}", self.image_files, human_bytes(self.image_bytes)));
        kv("rootfs diff", self.rootfs_diff.map_or_else(|| "-".into(), human_bytes));
        if let Some(d) = &self.deleted_files {
            kv("deleted files", d.len().to_string());
        }
        for v in &self.volumes {
            kv("volume", format!("{} ({})", v.name, human_bytes(v.size)));
        }
        let others: Vec<String> = self
            .members
            .iter()
            .filter(|m| ![CONFIG_DUMP, SPEC_DUMP, ROOTFS_DIFF].contains(&m.name.as_str()) && !m.name.starts_with("volumes/"))
            // An OCI checkpoint image's index and manifest are shown as `oci image`.
            .filter(|m| self.checkpoint_image.is_none() || !(m.name == "index.json" || m.name.starts_with("blobs/")))
            .map(|m| format!("{} ({})", m.name, human_bytes(m.size)))
            .collect();
        kv("other files", if others.is_empty() { "-".into() } else { others.join(", ") });
        if let Some(img) = &self.checkpoint_image {
            kv("oci image", or_dash(&img.ref_name));
            let host = [img.kernel.clone(), img.arch.clone(), img.distribution.clone(), img.cgroups.as_ref().map(|c| format!("cgroup {c}"))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            if !host.is_empty() {
                kv("host", host.join(", "));
            }
            let made = [img.criu_version.as_ref().map(|v| format!("CRIU {v}")), img.engine_version.clone(), img.runtime_version.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            if !made.is_empty() {
                kv("made by", made.join(", "));
            }
        }
        t.render("  ", &mut b);
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```json
    /// {"source": "/path/ckpt.tar.gz" | null, "engine": "podman" | "cri-o" | "containerd" | null,
    ///  "name": "...", "id": "...", "image": {"name": "...", "id": "...", "ref": null},
    ///  "runtime": "runc", "created": "2026-…Z", "checkpointed": null, "restored_at": null,
    ///  "restored": false | null, "command": ["sleep", "1000"] | null, "cwd": "/",
    ///  "hostname": "...",
    ///  "kubernetes": {"pod": "...", "namespace": "...", "container": "...", "pod_uid": "...",
    ///                 "sandbox_id": "..."} | null,
    ///  "ip": null,
    ///  "network": [{"network": "podman", "interface": "eth0", "mac": "22:a5:…",
    ///               "addresses": [{"address": "10.88.0.79/16", "gateway": "10.88.0.1"}]}],
    ///  "rootfs_diff_size": 3584 | null, "deleted_files": ["/etc/x"] | null,
    ///  "volumes": [{"name": "ckvol", "size": 2560}],
    ///  "files": [{"name": "config.dump", "size": 23195}, ...],
    ///  "images": {"files": 30, "size": 90112},
    ///  "annotations": {"io.container.manager": "libpod", ...},
    ///  "checkpoint_image": {"ref_name": "localhost/ckpt:latest", "container_name": "...",
    ///                       "criu_version": "4.2.1", "engine_version": "podman 4.3.1",
    ///                       "runtime_version": "runc version 1.1.5", "kernel": "6.18.4",
    ///                       "arch": "amd64", "distribution": "debian 12", "cgroups": "v1",
    ///                       "annotations": {...}} | null  (an OCI checkpoint image only),
    ///  "problems": [...]}
    /// ```
    /// Times are the strings the engine wrote; `null` where it wrote none (or Go's zero time).
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("source");
        json_opt_str(w, self.source.as_ref().map(|p| p.display().to_string()).as_deref());
        w.key("engine");
        json_opt_str(w, self.engine.map(Engine::name));
        for (k, v) in [("name", &self.name), ("id", &self.id)] {
            w.key(k);
            json_opt_str(w, v.as_deref());
        }
        w.key("image");
        w.begin_object();
        for (k, v) in [("name", &self.image_name), ("id", &self.image_id), ("ref", &self.image_ref)] {
            w.key(k);
            json_opt_str(w, v.as_deref());
        }
        w.end_object();
        for (k, v) in [
            ("runtime", &self.runtime),
            ("created", &self.created),
            ("checkpointed", &self.checkpointed),
            ("restored_at", &self.restored_at),
        ] {
            w.key(k);
            json_opt_str(w, v.as_deref());
        }
        w.key("restored");
        match self.restored {
            Some(r) => w.bool(r),
            None => w.raw_value("null"),
        }
        w.key("command");
        match &self.command {
            Some(c) => {
                w.begin_array();
                for a in c {
                    w.str(a);
                }
                w.end_array();
            }
            None => w.raw_value("null"),
        }
        w.key("cwd");
        json_opt_str(w, self.cwd.as_deref());
        w.key("hostname");
        json_opt_str(w, self.hostname.as_deref());
        w.key("kubernetes");
        match &self.kubernetes {
            Some(k) => {
                w.begin_object();
                for (key, v) in [
                    ("pod", &k.pod),
                    ("namespace", &k.namespace),
                    ("container", &k.container),
                    ("pod_uid", &k.pod_uid),
                    ("sandbox_id", &k.sandbox_id),
                ] {
                    w.key(key);
                    json_opt_str(w, v.as_deref());
                }
                w.end_object();
            }
            None => w.raw_value("null"),
        }
        w.key("ip");
        json_opt_str(w, self.ip.as_deref());
        w.key("network");
        w.begin_array();
        for i in &self.network {
            w.begin_object();
            w.key("network");
            json_opt_str(w, i.network.as_deref());
            w.key("interface");
            w.str(&i.name);
            w.key("mac");
            json_opt_str(w, i.mac.as_deref());
            w.key("addresses");
            w.begin_array();
            for (a, g) in &i.addresses {
                w.begin_object();
                w.key("address");
                w.str(a);
                w.key("gateway");
                json_opt_str(w, g.as_deref());
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key("rootfs_diff_size");
        super::json_opt_u64(w, self.rootfs_diff);
        w.key("deleted_files");
        match &self.deleted_files {
            Some(d) => {
                w.begin_array();
                for p in d {
                    w.str(p);
                }
                w.end_array();
            }
            None => w.raw_value("null"),
        }
        for (key, list) in [("volumes", &self.volumes), ("files", &self.members)] {
            w.key(key);
            w.begin_array();
            for m in list {
                w.begin_object();
                w.key("name");
                w.str(&m.name);
                w.key("size");
                w.u64(m.size);
                w.end_object();
            }
            w.end_array();
        }
        w.key("images");
        w.begin_object();
        w.key("files");
        w.u64(self.image_files as u64);
        w.key("size");
        w.u64(self.image_bytes);
        w.end_object();
        w.key("annotations");
        w.begin_object();
        for (k, v) in &self.annotations {
            w.key(k);
            w.str(v);
        }
        w.end_object();
        w.key("checkpoint_image");
        match &self.checkpoint_image {
            Some(img) => {
                w.begin_object();
                for (k, v) in [
                    ("ref_name", &img.ref_name),
                    ("container_name", &img.container_name),
                    ("criu_version", &img.criu_version),
                    ("engine_version", &img.engine_version),
                    ("runtime_version", &img.runtime_version),
                    ("kernel", &img.kernel),
                    ("arch", &img.arch),
                    ("distribution", &img.distribution),
                    ("cgroups", &img.cgroups),
                ] {
                    w.key(k);
                    json_opt_str(w, v.as_deref());
                }
                w.key("annotations");
                w.begin_object();
                for (k, v) in &img.annotations {
                    w.key(k);
                    w.str(v);
                }
                w.end_object();
                w.end_object();
            }
            None => w.raw_value("null"),
        }
        json_problems(w, &self.problems);
        w.end_object();
    }
}
