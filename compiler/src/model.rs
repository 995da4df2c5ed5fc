//! The typed deployment model (the IR): what the emitters consume.
//!
//! Built only from a checked, merged, resolved description, so every reference here points
//! at something that exists. Every value keeps the location it was written at ([`Loc`]), in
//! a user file or in the stdlib, so emitted files can say where each value came from.
//!
//! Settings that map one-to-one onto KumoMTA keys (shaping, queue, source, listener
//! fields) are kept as [`Settings`], keyed by KumoMTA's own name; the emitters serialise
//! them with each type's KumoMTA spelling. Values the emitters compute with (ports,
//! replicas, sizes) are typed fields with their defaults applied.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kumoc_lang::units::{Cidr, KumoVersion};

use crate::schema::{BlockSchema, Field};
use crate::source::Loc;
use crate::value::{Action, MatchRule, Spanned, Trigger, Typed};

/// One field as written (after layers merged): its schema, typed value and location.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub field: &'static Field,
    pub value: Typed,
    pub loc: Loc,
}

/// Fields by name, sorted, so output is deterministic. A sorted vector rather than a
/// `BTreeMap`: a block sets a handful of fields, and a B-tree node holds room for eleven, so
/// with tens of thousands of blocks the maps were a third of the model's memory. A setting's
/// name is its field's (`Setting::field`), not kept beside it a second time.
#[derive(Clone, PartialEq, Default)]
pub struct Settings(Vec<Setting>);

impl Setting {
    /// The field's name: the setting's key.
    pub fn name(&self) -> &'static str {
        self.field.name
    }
}

impl Settings {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|s| s.name().cmp(name))
    }
    /// Inlined: nearly every caller (the lints, the emitters) names the field with a
    /// literal, and against a constant the scan's length test and byte compare are a few
    /// instructions each, with no call to compare the strings.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Setting> {
        if self.0.len() <= SMALL {
            // A handful of fields: a scan comparing lengths first (most names differ in
            // length) costs less than a binary search's string comparisons.
            return self.0.iter().find(|s| {
                let k = s.name();
                k.len() == name.len() && k == name
            });
        }
        self.get_sorted(name)
    }
    fn get_sorted(&self, name: &str) -> Option<&Setting> {
        self.find(name).ok().and_then(|i| self.0.get(i))
    }
    #[inline]
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Sets the setting's field, returning the setting it replaces.
    pub fn insert(&mut self, setting: Setting) -> Option<Setting> {
        match self.find(setting.name()) {
            Ok(i) => self.0.get_mut(i).map(|s| std::mem::replace(s, setting)),
            Err(i) => {
                self.0.insert(i, setting);
                None
            }
        }
    }
    /// Field `name` of a block of schema `block`: its value, else its default as the schema
    /// states it (KumoMTA's, for most settings: kumoc writes nothing when it is unset).
    pub fn value_or_default(&self, block: &'static BlockSchema, name: &str) -> Option<Typed> {
        match self.get(name) {
            Some(s) => Some(s.value.clone()),
            None => Typed::of_default(block.field(name)?),
        }
    }
    /// Removes `name`, and the room it took (a model block keeps its settings for the whole
    /// build).
    pub fn remove(&mut self, name: &str) -> Option<Setting> {
        let i = self.find(name).ok()?;
        let removed = self.0.remove(i);
        self.0.shrink_to_fit();
        Some(removed)
    }
    /// Sets the setting's field unless it is set already.
    pub fn insert_missing(&mut self, setting: Setting) {
        if let Err(i) = self.find(setting.name()) {
            self.0.insert(i, setting);
        }
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&&'static str, &Setting)> {
        self.0.iter().map(|s| (&s.field.name, s))
    }
    pub fn keys(&self) -> impl Iterator<Item = &&'static str> {
        self.0.iter().map(|s| &s.field.name)
    }
    pub fn values(&self) -> impl Iterator<Item = &Setting> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// `a < b`, decided by the first bytes when they differ (most field names do), without a
/// call to compare the strings.
fn name_lt(a: &str, b: &str) -> bool {
    match a.as_bytes().first().cmp(&b.as_bytes().first()) {
        std::cmp::Ordering::Equal => a < b,
        o => o.is_lt(),
    }
}

/// Up to this many settings are sorted by insertion.
const SMALL: usize = 16;

impl FromIterator<Setting> for Settings {
    /// Later duplicates replace earlier ones, as in a `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = Setting>>(iter: I) -> Self {
        // Sized for every item the iterator may yield (a block's attributes): one allocation,
        // and nothing to shrink when each of them is kept.
        let iter = iter.into_iter();
        let (low, high) = iter.size_hint();
        let mut v: Vec<Setting> = Vec::with_capacity(high.unwrap_or(low));
        v.extend(iter);
        // Often written in name order: already sorted without a duplicate, there
        // is nothing to sort nor to keep (one comparison per pair).
        if v.windows(2)
            .all(|w| matches!(w, [a, b] if name_lt(a.name(), b.name())))
        {
            v.shrink_to_fit();
            return Settings(v);
        }
        if v.len() <= SMALL {
            // A handful of fields: a stable insertion sort, in place.
            for i in 1..v.len() {
                let mut j = i;
                while j > 0 && name_lt(v[j].name(), v[j - 1].name()) {
                    v.swap(j - 1, j);
                    j -= 1;
                }
            }
        } else {
            v.sort_by_key(|s| s.name());
        }
        // A stable sort keeps equal keys in order; keep the last of each, in place (`dedup_by`
        // keeps the earlier of two: it takes the later one's setting).
        v.dedup_by(|later, kept| {
            let same = later.name() == kept.name();
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        v.shrink_to_fit();
        Settings(v)
    }
}

impl IntoIterator for Settings {
    type Item = Setting;
    type IntoIter = std::vec::IntoIter<Setting>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Settings {
    type Item = (&'a &'static str, &'a Setting);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, Setting>,
        fn(&'a Setting) -> (&'a &'static str, &'a Setting),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|s| (&s.field.name, s))
    }
}

/// Entries of a map block (`additional_connection_limits { "x" = 5 }`), by key.
pub type MapEntries = BTreeMap<String, Spanned<Typed>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    pub fn name(self) -> &'static str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "staging" => Some(Environment::Staging),
            "production" => Some(Environment::Production),
            _ => None,
        }
    }
}

/// A part of the model held by value (`kumoc build`: one allocation per block would cost
/// instructions and, scattered among the freed syntax, resident memory) or shared with the
/// analyses before and after it (a language server's session keeps what resolve lowered of
/// each unchanged block, `resolve::Memo`). Read through `Deref`; shown as the part itself.
#[derive(Clone)]
pub enum Shared<T> {
    Own(T),
    Shared(Arc<T>),
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Shared::Own(t) => t,
            Shared::Shared(t) => t,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        T::fmt(self, f)
    }
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub name: Spanned<String>,
    pub namespace: Spanned<String>,
    pub version: Spanned<KumoVersion>,
    pub image: String,
    pub environment: Spanned<Environment>,
    pub create_namespace: bool,
    /// Each domain, queue and shaping block lowered apart ([`Shared`]: a language server's
    /// session shares an unchanged block's with the next analysis).
    pub domains: Vec<Shared<Domain>>,
    pub dkim_defaults: Settings,
    /// The `vault` block (address, token); empty when there is none.
    pub vault: Settings,
    /// Event webhooks (`webhook "name"`), by name.
    pub webhooks: Vec<Webhook>,
    /// IP warm-up schedules, one per warming source, by source name.
    pub warmups: Vec<Warmup>,
    /// `cluster { smtp_load_balancer { } }` and `cluster { api_ingress { } }`.
    pub smtp_load_balancer: Option<Exposure>,
    pub api_ingress: Option<Exposure>,
    pub sources: Vec<Source>,
    pub pools: Vec<Pool>,
    pub tenancy: Settings,
    pub tenants: Vec<Tenant>,
    pub queues: Vec<Shared<QueueRule>>,
    /// `default` first, then domains in name order.
    pub shaping: Vec<Shared<ShapingBlock>>,
    /// Stdlib presets (possibly changed by the user) and user providers, by name.
    pub providers: Vec<Provider>,
    pub secrets: Vec<Secret>,
    pub smtp_listener: Settings,
    pub http_listener: Settings,
    pub logging: Settings,
    pub cluster: Cluster,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub loc: Loc,
    pub dkim: Option<Dkim>,
}

/// A source's warm-up schedule (its own `warmup` block, or its pool's).
#[derive(Debug, Clone)]
pub struct Warmup {
    pub source: String,
    /// The `warmup` block.
    pub loc: Loc,
    /// The pool whose `warmup` block this is, when the source inherits it.
    pub pool: Option<String>,
    /// `start` as written, and the second its day 0 begins (midnight UTC).
    pub start: Spanned<String>,
    pub start_epoch: i64,
    /// Messages per day, day 0 first.
    pub ramp: Vec<Spanned<i64>>,
}

impl Warmup {
    /// This schedule for `source`, inherited from `pool` or its own.
    pub fn for_source(&self, source: &str, pool: Option<&str>) -> Warmup {
        Warmup {
            source: source.to_string(),
            pool: pool.map(str::to_string),
            ..self.clone()
        }
    }
}

/// How the MTA is reached from outside the cluster: a LoadBalancer for SMTP, an Ingress for
/// the HTTP API.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub loc: Loc,
    pub settings: Settings,
}

/// A `webhook "name"` block: a KumoMTA log hook POSTing records to `url`.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub name: String,
    pub loc: Loc,
    /// url, records, headers, meta, secret_header(_name), retry_interval, ...
    pub settings: Settings,
}

#[derive(Debug, Clone)]
pub struct Dkim {
    pub loc: Loc,
    /// selector, headers, algorithm, canonicalization, ... (not `key`).
    pub settings: Settings,
    /// The Secret and the key inside it holding the private key; `None` when the keys are
    /// read from Vault (`dkim_defaults.vault_mount`; the path is the `vault_path` setting).
    pub key: Option<ResolvedSecretKey>,
}

/// A reference to one key of a declared Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSecretKey {
    pub secret: String,
    pub key: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub loc: Loc,
    pub settings: Settings,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub loc: Loc,
    pub members: Vec<PoolMember>,
}

#[derive(Debug, Clone)]
pub struct PoolMember {
    pub source: String,
    pub weight: u32,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub loc: Loc,
    pub settings: Settings,
    pub campaigns: Vec<Campaign>,
}

#[derive(Debug, Clone)]
pub struct Campaign {
    pub name: String,
    pub loc: Loc,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShapingKey {
    Default,
    Domain(String),
}

impl ShapingKey {
    pub fn as_str(&self) -> &str {
        match self {
            ShapingKey::Default => "default",
            ShapingKey::Domain(d) => d,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueueRule {
    pub key: ShapingKey,
    pub loc: Loc,
    pub settings: Settings,
    pub tenants: Vec<QueueTenant>,
}

#[derive(Debug, Clone)]
pub struct QueueTenant {
    pub name: String,
    pub loc: Loc,
    pub settings: Settings,
    pub campaigns: Vec<Campaign>,
}

/// Egress settings with their per-source overrides, automation rules and map blocks.
#[derive(Debug, Clone, Default)]
pub struct Shaping {
    pub settings: Settings,
    /// `additional_connection_limits` etc., by block keyword.
    pub maps: BTreeMap<&'static str, MapEntries>,
    pub automation: Vec<Rule>,
    pub sources: Vec<ShapingSource>,
}

#[derive(Debug, Clone)]
pub struct ShapingBlock {
    pub key: ShapingKey,
    pub loc: Loc,
    /// The preset it started `from`, if any. Boxed: rare, and 40 bytes in each of the
    /// tens of thousands of blocks unboxed (a test holds the size).
    pub from: Option<Box<Spanned<String>>>,
    pub shaping: Shaping,
}

#[derive(Debug, Clone)]
pub struct ShapingSource {
    pub name: String,
    pub loc: Loc,
    pub settings: Settings,
    pub maps: BTreeMap<&'static str, MapEntries>,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub loc: Loc,
    /// Defined in the stdlib (possibly changed by user blocks of the same name).
    pub preset: bool,
    /// Where user files changed the preset.
    pub overridden_at: Vec<Loc>,
    pub matches: Vec<Spanned<MatchRule>>,
    pub shaping: Shaping,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub loc: Loc,
    pub regex: Vec<Spanned<String>>,
    pub actions: Vec<Spanned<Action>>,
    pub trigger: Trigger,
    pub duration_ms: u64,
    pub match_internal: bool,
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub loc: Loc,
    /// Every key the Secret is declared to hold (from `keys` and `files`).
    pub keys: BTreeSet<String>,
    /// Files to build the Secret from (`kumoc build` with secrets on): key → path.
    pub files: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub pod_cidr: Option<Spanned<Cidr>>,
    pub mta: Mta,
    pub tsa: Option<Tsa>,
    pub sink: Sink,
    pub redis: Option<Redis>,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests_cpu: Option<u64>,
    pub requests_memory: Option<u64>,
    pub limits_cpu: Option<u64>,
    pub limits_memory: Option<u64>,
    pub loc: Option<Loc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub initial_delay_ms: u64,
    pub period_ms: u64,
    pub timeout_ms: u64,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone)]
pub struct Mta {
    pub loc: Option<Loc>,
    pub replicas: Spanned<u32>,
    pub spool_bytes: Spanned<u64>,
    pub storage_class: Option<String>,
    pub termination_grace_ms: u64,
    pub http_port: Spanned<u16>,
    pub metrics_port: Spanned<u16>,
    pub smtp_port: Spanned<u16>,
    pub resources: Resources,
    pub autoscale: Option<Autoscale>,
    pub readiness: Probe,
    pub startup: Probe,
    pub liveness: Probe,
}

#[derive(Debug, Clone)]
pub struct Autoscale {
    pub loc: Loc,
    pub min: u32,
    pub max: u32,
    pub cpu_percent: Option<u8>,
    pub memory_percent: Option<u8>,
    /// What the MTA scales on (`on`): the HPA, or KEDA on queue depth.
    pub on: Spanned<AutoscaleOn>,
    /// With [`AutoscaleOn::QueueDepth`]: messages queued per pod KEDA aims at.
    pub queue_depth: u64,
    /// With [`AutoscaleOn::QueueDepth`]: the Prometheus server KEDA queries.
    pub prometheus: Option<Spanned<String>>,
    pub polling_interval_ms: u64,
}

/// What the MTA autoscales on (`autoscale { on = ... }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoscaleOn {
    /// A HorizontalPodAutoscaler on CPU/memory utilisation.
    #[default]
    Cpu,
    /// A KEDA ScaledObject on the queued messages per pod.
    QueueDepth,
}

#[derive(Debug, Clone)]
pub struct Tsa {
    pub loc: Loc,
    pub replicas: Spanned<u32>,
    pub port: u16,
    pub storage_bytes: u64,
    pub storage_class: Option<String>,
    pub pre_filter: bool,
    pub cache_ttl_ms: u64,
    pub resources: Resources,
}

#[derive(Debug, Clone)]
pub struct Sink {
    pub loc: Option<Loc>,
    pub enabled: Spanned<bool>,
    pub replicas: u32,
    pub port: u16,
    pub resources: Resources,
}

#[derive(Debug, Clone)]
pub struct Redis {
    pub loc: Loc,
    pub settings: Settings,
}

#[derive(Debug, Clone)]
pub struct Metrics {
    pub loc: Option<Loc>,
    pub enabled: bool,
    pub service_monitor: bool,
    pub interval_ms: u64,
    pub scraper_cidrs: Vec<Spanned<Cidr>>,
    /// `metrics { alerts { } }`, when present and enabled.
    pub alerts: Option<Alerts>,
    /// `metrics { dashboard { } }`, when present and enabled.
    pub dashboard: Option<Dashboard>,
}

/// The thresholds of the PrometheusRule (`cluster { metrics { alerts { } } }`), defaults
/// applied.
#[derive(Debug, Clone)]
pub struct Alerts {
    pub loc: Loc,
    pub for_ms: u64,
    pub queue_growth: u64,
    pub queue_growth_window_ms: u64,
    /// As written, else half the longest `max_age` (located at the block).
    pub queue_stuck_ms: Spanned<u64>,
    /// Whether `queue_stuck` was written (else derived).
    pub queue_stuck_written: bool,
    /// The longest `max_age` of the queues (KumoMTA's default when none sets it).
    pub longest_max_age_ms: u64,
    /// Where that `max_age` is written (none: KumoMTA's default).
    pub longest_max_age_at: Option<Loc>,
    pub failure_ratio: Spanned<u8>,
    pub transfail_ratio: Spanned<u8>,
    pub spool_free: Spanned<u8>,
    pub restarts: u32,
}

/// The Grafana dashboard (`cluster { metrics { dashboard { } } }`).
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub loc: Loc,
    pub title: String,
    pub folder: Option<String>,
}

impl Deployment {
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        self.secrets.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_part_is_the_size_of_the_part() {
        // The tag lives in a niche of the part: `kumoc build`'s vectors of parts held by
        // value are no larger than before they could be shared.
        assert_eq!(size_of::<Shared<Domain>>(), size_of::<Domain>());
        assert_eq!(size_of::<Shared<QueueRule>>(), size_of::<QueueRule>());
        assert_eq!(size_of::<Shared<ShapingBlock>>(), size_of::<ShapingBlock>());
        assert_eq!(size_of::<ShapingBlock>(), 144);
    }

    #[test]
    fn settings_keep_the_last_of_each_name_in_name_order() {
        // Three fields, `a` < `b` < `c` by name: a setting's key is its field's name.
        let mut fields: Vec<&'static crate::schema::Field> =
            crate::schema::EGRESS_FIELDS.iter().take(3).collect();
        fields.sort_by_key(|f| f.name);
        let [a, b, c] = [fields[0], fields[1], fields[2]];
        let set = |field: &'static crate::schema::Field, n: i64| {
            let loc = Loc::default();
            let value = Typed::Int(n);
            Setting { field, value, loc }
        };
        let mut s: Settings = [
            set(b, 1),
            set(a, 2),
            set(b, 3),
            set(a, 4),
            set(c, 5),
            set(b, 6),
        ]
        .into_iter()
        .collect();
        let got: Vec<(&str, Option<i64>)> = s.iter().map(|(k, v)| (*k, v.value.as_int())).collect();
        let want = [(a.name, Some(4)), (b.name, Some(6)), (c.name, Some(5))];
        assert_eq!(got, want);
        // Inserting replaces by name; `insert_missing` does not; `remove` takes the one.
        assert_eq!(s.insert(set(c, 7)).and_then(|o| o.value.as_int()), Some(5));
        s.insert_missing(set(a, 8));
        assert_eq!(s.get(a.name).and_then(|v| v.value.as_int()), Some(4));
        assert_eq!(s.remove(b.name).and_then(|o| o.value.as_int()), Some(6));
        let got: Vec<(&str, Option<i64>)> = s.iter().map(|(k, v)| (*k, v.value.as_int())).collect();
        assert_eq!(got, [(a.name, Some(4)), (c.name, Some(7))]);
    }

    /// The environments the schema accepts are the model's, by the same names.
    #[test]
    fn environments_are_the_schemas() {
        let names: Vec<&str> = crate::schema::ENVIRONMENTS.iter().map(|v| v.name).collect();
        let model: Vec<&str> = [Environment::Staging, Environment::Production]
            .iter()
            .map(|e| e.name())
            .collect();
        assert_eq!(names, model);
        for n in names {
            assert_eq!(Environment::from_name(n).map(Environment::name), Some(n));
        }
    }

    /// The model and the value vocabulary sit below the phases: neither imports one (the
    /// checker, the resolver, the lints or the emitters), so a phase can change without
    /// touching what the others read.
    #[test]
    fn the_model_imports_no_phase() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for file in ["model.rs", "value.rs"] {
            let text = std::fs::read_to_string(src.join(file)).expect("a source file");
            // The code, not these tests.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(
                text.contains("use crate::schema::"),
                "{file}: the scan reads its imports"
            );
            for phase in ["check", "resolve", "lints", "emit", "fix", "render"] {
                for form in [format!("crate::{phase}::"), format!("crate::{phase};")] {
                    assert!(!text.contains(&form), "{file} imports `{form}`");
                }
            }
        }
    }
}
