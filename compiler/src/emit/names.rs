//! Names and paths derived from the model, shared by the KumoMTA and Kubernetes emitters so
//! the policy and the manifests always agree (the seed chart repeated them by hand).

use crate::model::Deployment;

/// Where the policy ConfigMap is mounted; KumoMTA's `package.path` covers it.
pub const POLICY_DIR: &str = "/opt/kumomta/etc/policy";
/// The DKIM helper's default key location: `<DKIM_DIR>/<domain>/<selector>.key`.
pub const DKIM_DIR: &str = "/opt/kumomta/etc/dkim";
/// One file per API user, whose content is the password.
pub const HTTP_USERS_DIR: &str = "/opt/kumomta/etc/http_listener_keys";
/// Other secrets: `<SECRETS_DIR>/<secret>/<key>`.
pub const SECRETS_DIR: &str = "/opt/kumomta/etc/secrets";
pub const SPOOL_DIR: &str = "/var/spool/kumomta";
pub const LOG_DIR: &str = "/var/log/kumomta";
pub const TSA_DB: &str = "/var/spool/kumomta/tsa.db";
pub const BOUNCE_CLASSIFIER: &str = "/opt/kumomta/share/bounce_classifier/iana.toml";

pub fn policy_file(name: &str) -> String {
    format!("{POLICY_DIR}/{name}")
}

pub fn dkim_key_path(domain: &str, selector: &str) -> String {
    format!("{DKIM_DIR}/{domain}/{selector}.key")
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

    /// The sink's Service name, used as the routing domain for all mail when the sink is on.
    pub fn sink_host(&self) -> String {
        self.svc(&self.sink)
    }
}
