//! Names and paths derived from the model, shared by the KumoMTA and Kubernetes emitters so
//! the policy and the manifests always agree (the seed chart repeated them by hand).

use crate::model::Deployment;

/// Where the policy ConfigMap is mounted; KumoMTA's `package.path` covers it.
pub const POLICY_DIR: &str = "/opt/kumomta/etc/policy";
/// Where DKIM keys are: the helper's default layout is `<DKIM_DIR>/<domain>/<selector>.key`;
/// kumoc mounts each key Secret whole at `<DKIM_DIR>/<secret>/` instead
/// ([`dkim_key_file`]), so a new key in a Secret needs no change to the pod template.
pub const DKIM_DIR: &str = "/opt/kumomta/etc/dkim";
/// One file per API user, whose content is the password.
pub const HTTP_USERS_DIR: &str = "/opt/kumomta/etc/http_listener_keys";
/// Other secrets: `<SECRETS_DIR>/<secret>/<key>`.
pub const SECRETS_DIR: &str = "/opt/kumomta/etc/secrets";
/// `/var/spool/kumomta` followed by a literal: every path on the spool volume is spelled
/// from the one directory.
macro_rules! spool_path {
    ($rest:literal) => {
        concat!("/var/spool/kumomta", $rest)
    };
}

/// The spool volume: a per-pod PersistentVolumeClaim for the MTA and TSA, an emptyDir for the
/// sink.
pub const SPOOL_DIR: &str = spool_path!("");
/// Delivery logs (an emptyDir).
pub const LOG_DIR: &str = "/var/log/kumomta";
/// Temporary files (an emptyDir); `TMPDIR` points here.
pub const TMP_DIR: &str = "/tmp";
/// tsa-daemon's database; `tsa_init.lua` sets it explicitly (it is also tsa-daemon's default).
pub const TSA_DB: &str = spool_path!("/tsa.db");
/// Where kumod and tsa-daemon keep their node id; `KUMO_NODE_ID_PATH` points here.
pub const NODE_ID: &str = spool_path!("/.nodeid");
/// kumod's accounting database (its default path, which kumoc does not change).
pub const ACCOUNTING_DB: &str = spool_path!("/accounting.db");
pub const BOUNCE_CLASSIFIER: &str = "/opt/kumomta/share/bounce_classifier/iana.toml";

pub fn policy_file(name: &str) -> String {
    format!("{POLICY_DIR}/{name}")
}

/// The DKIM helper's default key file for a domain (when `filename` is not given): what an
/// imported policy may rely on. kumoc always writes `filename` ([`dkim_key_file`]).
pub fn dkim_key_path(domain: &str, selector: &str) -> String {
    format!("{DKIM_DIR}/{domain}/{selector}.key")
}

/// Where KumoMTA's DKIM helper reads a domain's key in Vault, when `dkim_defaults` has
/// `vault_mount`: the domain's `vault_path` (the helper's `filename`), else
/// `<vault_path_prefix>/<domain>/<selector>.key` (`assets/policy-extras/dkim_sign.lua`;
/// the `.key` suffix is the helper's, in Vault too). `None` when keys come from Secrets.
pub fn dkim_vault_path(
    d: &Deployment,
    k: &crate::model::Dkim,
    domain: &str,
    selector: &str,
) -> Option<String> {
    d.dkim_defaults.get("vault_mount")?;
    if let Some(p) = k.settings.get("vault_path").and_then(|s| s.value.text()) {
        return Some(p.to_string());
    }
    let prefix = d
        .dkim_defaults
        .value_or_default(&crate::schema::DKIM_DEFAULTS, "vault_path_prefix")
        .and_then(|v| v.text().map(str::to_string))
        .unwrap_or_default();
    Some(format!("{prefix}/{domain}/{selector}.key"))
}

/// Where kumoc mounts key `key` of the DKIM key Secret `secret`: each such Secret is one
/// volume, mounted whole at `<DKIM_DIR>/<secret>` (a Secret volume without `items` and
/// without `subPath`, so the kubelet adds new keys to running pods).
pub fn dkim_key_file(secret: &str, key: &str) -> String {
    // Joined by hand: one per domain, and `format!` cost ten times as much.
    let mut path = String::with_capacity(DKIM_DIR.len() + secret.len() + key.len() + 2);
    path.push_str(DKIM_DIR);
    path.push('/');
    path.push_str(secret);
    path.push('/');
    path.push_str(key);
    path
}

/// Shard `i` of `count` of a helper's data file `<stem>.toml` (see `kumomta::shard`).
pub fn shard_file(stem: &str, i: usize, count: usize) -> String {
    format!("{stem}-{i}-of-{count}.toml")
}

pub fn secret_path(secret: &str, key: &str) -> String {
    format!("{SECRETS_DIR}/{secret}/{key}")
}

/// Kubernetes object names, all prefixed by the deployment name.
pub struct Names {
    pub mta: String,
    pub mta_headless: String,
    pub tsa: String,
    pub tsa_headless: String,
    pub sink: String,
    pub namespace: String,
    /// The SMTP LoadBalancer Service and the HTTP API's Ingress.
    pub mta_smtp_lb: String,
    pub mta_api_ingress: String,
}

impl Names {
    pub fn new(d: &Deployment) -> Self {
        let n = &d.name.value;
        Self {
            mta: n.clone(),
            mta_headless: format!("{n}-headless"),
            tsa: format!("{n}-tsa"),
            tsa_headless: format!("{n}-tsa-headless"),
            sink: format!("{n}-sink"),
            namespace: d.namespace.value.clone(),
            mta_smtp_lb: format!("{n}-smtp"),
            mta_api_ingress: format!("{n}-api"),
        }
    }

    fn svc(&self, name: &str) -> String {
        format!("{name}.{}.svc.cluster.local", self.namespace)
    }

    /// Every TSA replica by its stable per-pod name (StatefulSet pod `<sts>-<i>` under the
    /// headless Service): MTAs publish to each one.
    pub fn tsa_publish_urls(&self, d: &Deployment) -> Vec<String> {
        let Some(tsa) = &d.cluster.tsa else {
            return Vec::new();
        };
        (0..tsa.replicas.value)
            .map(|i| {
                format!(
                    "http://{}-{i}.{}:{}",
                    self.tsa,
                    self.svc(&self.tsa_headless),
                    tsa.port
                )
            })
            .collect()
    }

    /// The TSA ClusterIP Service: MTAs subscribe to it (any replica will do).
    pub fn tsa_subscribe_url(&self, d: &Deployment) -> Option<String> {
        d.cluster
            .tsa
            .as_ref()
            .map(|tsa| format!("http://{}:{}", self.svc(&self.tsa), tsa.port))
    }

    /// The MTA's (and TSA's) policy ConfigMap.
    pub fn mta_policy(&self) -> String {
        format!("{}-policy", self.mta)
    }

    /// The ConfigMap of one shard of the policy data (`file`: `dkim_data-3-of-8.toml`):
    /// its own object, so each stays under the API's size limits.
    pub fn policy_shard(&self, file: &str) -> String {
        let stem = file.strip_suffix(".toml").unwrap_or(file);
        format!("{}-policy-{}", self.mta, stem.replace('_', "-"))
    }

    /// The sink's policy ConfigMap.
    pub fn sink_policy(&self) -> String {
        format!("{}-sink-policy", self.mta)
    }

    /// The sink's Service name, used as the routing domain for all mail when the sink is on.
    pub fn sink_host(&self) -> String {
        self.svc(&self.sink)
    }
}

/// A workload kumoc emits: a Kubernetes workload and the KumoMTA process its pods run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    /// The MTA StatefulSet: `kumod` with `init.lua`.
    Mta,
    /// The TSA StatefulSet: `tsa-daemon` with `tsa_init.lua`.
    Tsa,
    /// The sink Deployment: `kumod` with `sink.lua`.
    Sink,
}

/// A place a workload's process writes at run time. The pod must give it a writable volume
/// (its root filesystem is read-only), and when the process would write elsewhere by
/// default, the environment variable `env` is set to `path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    /// The file, or the directory the process writes in (and creates entries under).
    pub path: &'static str,
    /// The variable that points the process at `path`; the pod sets it to `path`.
    pub env: Option<&'static str>,
    /// What is written there, and why it must be there.
    pub what: &'static str,
    /// Where KumoMTA (or the library it uses) writes it: a file of `KumoCorp/kumomta` unless
    /// another project is named.
    pub source: &'static str,
}

const NODE_ID_WRITE: Write = Write {
    path: NODE_ID,
    env: Some("KUMO_NODE_ID_PATH"),
    what: "the node id, a UUID written at the first start and read at every start. The default, /opt/kumomta/etc/.nodeid, is on the read-only root: the write fails with EROFS, which is not \"permission denied\", so the process panics at start-up. On the spool volume the id survives restarts",
    source: "crates/kumo-server-common/src/nodeid.rs (NodeId::new; tsa-daemon reads it too where start.rs reports machine info)",
};

const TMP_WRITE: Write = Write {
    path: TMP_DIR,
    env: Some("TMPDIR"),
    what: "temporary files: SQLite's (the accounting and TSA databases: SQLITE_TMPDIR, TMPDIR, then /var/tmp, /usr/tmp, /tmp), Rust's std::env::temp_dir() (TMPDIR, else /tmp), Lua's os.tmpname() and io.tmpfile() (always /tmp)",
    source: "SQLite src/os_unix.c (unixTempFileDir); Lua 5.4 src/loslib.c (LUA_TMPNAMTEMPLATE); Rust std::env::temp_dir",
};

const MTA_WRITES: &[Write] = &[
    NODE_ID_WRITE,
    Write {
        path: spool_path!("/data"),
        env: None,
        what: "the data spool (message bodies): a RocksDB directory with its LOCK, LOG and LOG.old.* files, created by kumo.define_spool in init.lua",
        source: "crates/spool/src/rocks.rs (RocksSpool::new), crates/kumod/src/spool.rs",
    },
    Write {
        path: spool_path!("/meta"),
        env: None,
        what: "the meta spool (envelopes and metadata): a RocksDB directory like the data spool",
        source: "crates/spool/src/rocks.rs (RocksSpool::new), crates/kumod/src/spool.rs",
    },
    Write {
        path: ACCOUNTING_DB,
        env: None,
        what: "the accounting database (SQLite, with its -journal beside it): messages received and delivered per month, flushed every 5 minutes",
        source: "crates/kumod/src/accounting.rs (DB_PATH)",
    },
    Write {
        path: LOG_DIR,
        env: None,
        what: "delivery logs: zstd-compressed segments, created by kumo.configure_local_logs in init.lua",
        source: "crates/kumod/src/logging/files.rs",
    },
    TMP_WRITE,
];

const TSA_WRITES: &[Write] = &[
    NODE_ID_WRITE,
    Write {
        path: TSA_DB,
        env: None,
        what: "TSA state (SQLite, with its -journal beside it): event history, configuration overrides, suspensions and bounces, set by tsa.configure_tsa_db_path in tsa_init.lua",
        source: "crates/tsa-daemon/src/http_server.rs (DB_PATH), crates/tsa-daemon/src/database.rs",
    },
    TMP_WRITE,
];

const SINK_WRITES: &[Write] = &[
    NODE_ID_WRITE,
    Write {
        path: spool_path!("/data"),
        env: None,
        what: "the data spool: a LocalDisk directory (a lock file with the pid, new/ for files being written, data/ with one file per message), created by kumo.define_spool in sink.lua",
        source: "crates/spool/src/local_disk.rs (LocalDiskSpool::new, store)",
    },
    Write {
        path: spool_path!("/meta"),
        env: None,
        what: "the meta spool: a LocalDisk directory like the data spool",
        source: "crates/spool/src/local_disk.rs",
    },
    Write {
        path: ACCOUNTING_DB,
        env: None,
        what: "the accounting database, as for the MTA",
        source: "crates/kumod/src/accounting.rs (DB_PATH)",
    },
    Write {
        path: LOG_DIR,
        env: None,
        what: "logs, created by kumo.configure_local_logs in sink.lua",
        source: "crates/kumod/src/logging/files.rs",
    },
    TMP_WRITE,
];

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Mta, Workload::Tsa, Workload::Sink];

    /// The `app.kubernetes.io/component` label of its objects.
    pub fn component(self) -> &'static str {
        match self {
            Workload::Mta => "mta",
            Workload::Tsa => "tsa",
            Workload::Sink => "sink",
        }
    }

    /// The policy file its process loads (`--policy`).
    pub fn policy(self) -> &'static str {
        match self {
            Workload::Mta => "init.lua",
            Workload::Tsa => "tsa_init.lua",
            Workload::Sink => "sink.lua",
        }
    }

    /// Every path its process writes (read from KumoMTA's source; see ARCHITECTURE.md,
    /// "Where the pods write"). Nothing else is written: the root filesystem is read-only.
    pub fn writes(self) -> &'static [Write] {
        match self {
            Workload::Mta => MTA_WRITES,
            Workload::Tsa => TSA_WRITES,
            Workload::Sink => SINK_WRITES,
        }
    }

    /// The environment its container needs so the process writes where [`Self::writes`]
    /// says: `(name, value)`, sorted by name.
    pub fn env(self) -> Vec<(&'static str, &'static str)> {
        let mut env: Vec<(&str, &str)> = self
            .writes()
            .iter()
            .filter_map(|w| w.env.map(|e| (e, w.path)))
            .collect();
        env.sort_unstable();
        env.dedup();
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path is absolute, normalized, and either on a volume directory kumoc mounts
    /// or that directory itself.
    #[test]
    fn writes_are_under_the_pod_volumes() {
        for w in Workload::ALL {
            for write in w.writes() {
                let p = write.path;
                assert!(
                    p.starts_with('/')
                        && p.split('/')
                            .skip(1)
                            .all(|seg| !seg.is_empty() && seg != "." && seg != ".."),
                    "{p}"
                );
                assert!(
                    [SPOOL_DIR, LOG_DIR, TMP_DIR]
                        .iter()
                        .any(|d| p == *d || p.starts_with(&format!("{d}/"))),
                    "{w:?}: {p}"
                );
            }
        }
        assert_eq!(
            Workload::Mta.env(),
            [("KUMO_NODE_ID_PATH", NODE_ID), ("TMPDIR", TMP_DIR)]
        );
    }
}
