//! The registry of kumoc's own diagnostic codes: every code kumoc can emit (lint rules
//! keep theirs in `lints::rules`), its kebab-case name, phase, default severity and the
//! explanation `kumoc explain CODE` prints.
//!
//! Codes are stable: a code is never reused for another meaning. `K0xxx` are syntax errors,
//! `K1xxx` resolution errors, `K2xxx` type errors, `K3xxx` suppression findings, `K4xxx`
//! what `kumoc import` finds in a policy it reads (never `check` or `build`). Code writes
//! a code by its name (`codes::UNKNOWN_FIELD`), never as a string: a misspelt name does not
//! compile, and this file is the only one that spells a code (a test holds the rest of the
//! compiler to that).

use kumoc_lang::SyntaxCode;

use crate::severity::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Syntax,
    Resolution,
    Types,
    Lint,
    /// `kumoc import`: what an existing policy says that `.kumo` cannot.
    Import,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Syntax => "syntax",
            Phase::Resolution => "resolution",
            Phase::Types => "types",
            Phase::Lint => "lint",
            Phase::Import => "import",
        }
    }
}

#[derive(Debug)]
pub struct CodeInfo {
    pub code: &'static str,
    pub name: &'static str,
    pub phase: Phase,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what it means, an example, and how to fix it.
    pub explanation: &'static str,
}

/// One of kumoc's own codes: a registry entry, named by a constant of this module.
#[derive(Clone, Copy)]
pub struct Code(&'static CodeInfo);

impl Code {
    /// The code as users see it (`K1002`).
    pub fn as_str(self) -> &'static str {
        self.0.code
    }
    pub fn severity(self) -> Severity {
        self.0.severity
    }
    pub fn info(self) -> &'static CodeInfo {
        self.0
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.0.code == other.0.code
    }
}

impl Eq for Code {}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.code)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.code)
    }
}

const fn e(
    code: &'static str,
    name: &'static str,
    phase: Phase,
    summary: &'static str,
    explanation: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        name,
        phase,
        severity: Severity::Error,
        summary,
        explanation,
    }
}

/// Each entry becomes a constant [`Code`] of that name, and an element of [`CODES`].
macro_rules! registry {
    ($($id:ident = $info:expr),* $(,)?) => {
        $(
            #[doc = concat!("Registry entry `", stringify!($id), "`.")]
            pub const $id: Code = Code(&$info);
        )*
        /// Every code, in the order `kumoc explain` lists them.
        pub static CODES: &[&CodeInfo] = &[$($id.0),*];
    };
}

use Phase::{Import, Lint, Resolution, Syntax, Types};

registry! {
    UNEXPECTED_INPUT = e(
        "K0001",
        "unexpected-input",
        Syntax,
        "a statement the parser cannot read",
        "A statement is either `name = value` or a block `keyword [label] [from preset] { ... }`.
The parser skips what it cannot read up to the end of the line (or the matching `}`) and
goes on, so one run reports every syntax error.

```kumo
shaping default {
  enable_tls required      // K0001: `=` missing
}
```

Write `enable_tls = required`.",
    ),
    UNCLOSED_BLOCK = e(
        "K0002",
        "unclosed-block",
        Syntax,
        "a `{` without its `}`",
        "A block's `{` has no matching `}` before the end of the file. The label points at the
opening brace; add the `}` where the block should end.

```kumo
domain \"example.com\" {
  dkim { selector = \"default\" key = secret(\"dkim-keys\") }
// K0002: the file ends here
```",
    ),
    MISSING_VALUE = e(
        "K0003",
        "missing-value",
        Syntax,
        "`name =` with no value",
        "An attribute has nothing after its `=`.

```kumo
queue default {
  max_age =        // K0003
}
```

Write the value (`max_age = 24h`) or remove the line.",
    ),
    INVALID_VALUE = e(
        "K0004",
        "invalid-value",
        Syntax,
        "a value that is not a value",
        "After `=` comes one value: a string (`\"...\"` or `'...'`), a number with an optional
unit (`24h`, `25Gi`, `1000m`, `80%`), a rate (`100/s`, `local:10/s`), an IPv4 address or
CIDR, `true`/`false`, a name (`shared`, `required`), a list (`[a, b]`) or a call
(`secret(\"name\")`). Rates and units are written without spaces.

```kumo
shaping default {
  max_message_rate = 100 /s    // K0004: write 100/s
}
```",
    ),
    UNTERMINATED_STRING = e(
        "K0005",
        "unterminated-string",
        Syntax,
        "a string without its closing quote",
        "Strings end on the line they start. Add the closing quote.

```kumo
deployment \"example-com {     // K0005
```",
    ),
    INVALID_ESCAPE = e(
        "K0006",
        "invalid-escape",
        Syntax,
        "an unknown escape in a `\"...\"` string",
        "Double-quoted strings know the escapes `\\\\`, `\\\"`, `\\n`, `\\t`, `\\r`, `\\0` and
`\\u{...}`. For regular expressions, use a single-quoted string, which takes every
character literally:

```kumo
regex = \"\\d+ deferred\"     // K0006: \\d is not a string escape
regex = '\\d+ deferred'      // fine
```",
    ),
    UNCLOSED_BRACKET = e(
        "K0007",
        "unclosed-bracket",
        Syntax,
        "a `[` or `(` without its closing bracket",
        "A list or a call is not closed before the end of the line that ends it.

```kumo
relay_hosts = [\"10.0.0.0/8\"    // K0007: `]` expected
```",
    ),
    UNTERMINATED_COMMENT = e(
        "K0008",
        "unterminated-comment",
        Syntax,
        "a `/*` comment without `*/`",
        "A block comment runs to the end of the file. Close it with `*/`.",
    ),
    NESTING_TOO_DEEP = e(
        "K0009",
        "nesting-too-deep",
        Syntax,
        "brackets nested too deeply",
        "Blocks, lists and calls nest at most 32 levels. No deployment needs more; the limit keeps
the parser safe on hostile input.",
    ),
    INVALID_UTF8 = e(
        "K0010",
        "invalid-utf8",
        Syntax,
        "the file is not UTF-8",
        "`.kumo` files are UTF-8. The invalid bytes are replaced and the rest of the file is still
checked; save the file as UTF-8.",
    ),
    UNKNOWN_BLOCK = e(
        "K1001",
        "unknown-block",
        Resolution,
        "a block keyword that does not belong here",
        "Each block may contain only certain blocks (see the schema in `kumoc explain` of the
parent, or the language tour in the README). The help suggests the closest keyword or
where the block belongs.

```kumo
domian \"example.com\" { }   // K1001: did you mean `domain`?
```",
    ),
    UNKNOWN_FIELD = e(
        "K1002",
        "unknown-field",
        Resolution,
        "a field that does not exist in this block",
        "The field is not part of this block's schema. Field names are KumoMTA's own names where a
field maps onto a KumoMTA setting (`enable_tls`, `max_message_rate`, `egress_pool`, ...),
so KumoMTA's reference applies. KumoMTA itself rejects unknown keys at load time, or, in
`queues.toml`, silently takes them for tenant names; kumoc catches both before deploy.

```kumo
shaping default {
  tls = required       // K1002: did you mean `enable_tls`?
}
```",
    ),
    DUPLICATE_FIELD = e(
        "K1003",
        "duplicate-field",
        Resolution,
        "a field set twice in one block",
        "A block sets the same field twice; only one value can win. Remove one. (To change a value
per environment, put the new value in an `env` block instead.)",
    ),
    DUPLICATE_DEFINITION = e(
        "K1004",
        "duplicate-definition",
        Resolution,
        "a block defined twice",
        "Two blocks with the same keyword and name in one layer (possibly in two files). Merge
them. Blocks with the same name in different layers are not duplicates: a user block
merges over the stdlib preset of the same name, and an `env` block merges over the rest.

```kumo
pool shared { }
pool shared { }     // K1004
```",
    ),
    UNKNOWN_REFERENCE = e(
        "K1005",
        "unknown-reference",
        Resolution,
        "a name that refers to nothing",
        "A reference to a pool, source, tenant, secret or provider that is not defined. KumoMTA
would only notice at run time (a queue whose `egress_pool` does not exist falls back to
the host's default IP, or fails validation). The help suggests the closest name.

```kumo
queue default {
  egress_pool = shraed     // K1005: did you mean `shared`?
}
```",
    ),
    MISSING_DEPLOYMENT = e(
        "K1006",
        "missing-deployment",
        Resolution,
        "no `deployment` block",
        "Every description has exactly one `deployment` block: its name, namespace, KumoMTA
release and environment.

```kumo
deployment \"example-com\" {
  namespace   = \"kumomta\"
  kumomta     = \"2025.03.19-1d3f1f67\"
  environment = staging
}
```",
    ),
    MISSING_FIELD = e(
        "K1007",
        "missing-field",
        Resolution,
        "a required field is not set",
        "The block needs this field and has no default for it (after the stdlib and the selected
environment are merged in). The help names the field and its type.",
    ),
    INVALID_LABEL = e(
        "K1008",
        "invalid-label",
        Resolution,
        "a block's name is missing or not allowed",
        "Some blocks need a name (`pool shared`, `domain \"example.com\"`), some take none
(`cluster`), and `shaping`/`queue` take `default` or a quoted domain.

```kumo
shaping gmail.com { }    // K1008: write shaping \"gmail.com\"
```",
    ),
    INVALID_FROM = e(
        "K1009",
        "invalid-from",
        Resolution,
        "`from` where it is not allowed",
        "Only `shaping` blocks start `from provider.NAME`: the preset's shaping settings become the
block's defaults.",
    ),
    UNKNOWN_SECRET_KEY = e(
        "K1010",
        "unknown-secret-key",
        Resolution,
        "a key the secret does not declare",
        "`secret(\"name\", \"key\")` names a key that the `secret \"name\"` block does not list in
`keys` or `files`. Once a secret declares its keys, every reference must use one of them,
so a typo cannot mount a file that does not exist. A DKIM key defaults to
`<domain>.<selector>.key`.",
    ),
    UNUSABLE_POOL = e(
        "K1011",
        "unusable-pool",
        Resolution,
        "a queue sends from a pool that cannot send",
        "An `egress_pool` (of a queue, a tenant or a campaign) names a pool with no source, or
whose sources all have `weight = 0`. KumoMTA never picks a weight-0 source, and releases
before 2026.04.09 drop an empty pool when they load the sources file, so the mail queued for
that pool is never sent: it waits until `max_age` and bounces. That holds on every release,
so it is an error whatever `kumomta` says.

```kumo
pool dedicated {
  source ip-1 { weight = 0 }   // drained for maintenance
}

queue default {
  egress_pool = dedicated      // K1011: nothing in `dedicated` can send
}
```

Give the pool a source with a weight of at least 1, or point the queue at another pool. A
pool no queue uses may be empty (on releases that keep empty pools): it is a way to hold mail
deliberately only where something names it.",
    ),
    SECRET_TOO_LARGE = CodeInfo {
        severity: Severity::Warning,
        ..e("K1012", "secret-too-large", Resolution, "a Secret whose keys cannot fit in 1 MiB",
"The API server refuses a Secret whose data is over 1 MiB (1,048,576 bytes). The keys a
`secret` block is used for are estimated from their use: a DKIM key of RSA-2048 is a PEM of
about 1.7 KB (RSA-1024 about 0.9 KB, RSA-4096 about 3.3 KB, Ed25519 about 0.1 KB), so one
Secret holds at most about 600 RSA-2048 keys, and 10,000 of them (about 17 MB) cannot be one
Secret. With `kumoc build --secrets` the real size of the files is checked, and a Secret over
the limit is an error: nothing is written.

Split the keys into several `secret` blocks (each is its own Secret, mounted whole in its own
directory, so adding a key to one of them changes no pod template), e.g. one per few hundred
domains:

```kumo
secret \"dkim-keys-000\" {}
secret \"dkim-keys-001\" {}

domain \"d1.example.com\" {
  dkim { key = secret(\"dkim-keys-000\") }
}
```

Or keep the keys in HashiCorp Vault (`dkim_defaults { vault_mount = ... }` and a `vault`
block): nothing is mounted then.")
    },
    DKIM_KEY_SOURCE = e(
        "K1020",
        "dkim-key-source",
        Resolution,
        "a DKIM key source KumoMTA's DKIM helper cannot follow",
        "KumoMTA's DKIM helper (`policy-extras.dkim_sign`) reads the keys of *every* domain from
HashiCorp Vault once its `[base]` has `vault_mount`, and from files otherwise: it cannot mix
the two, and it reads Vault's address and token only from the `VAULT_ADDR` and `VAULT_TOKEN`
environment variables. So:

* with `dkim_defaults { vault_mount = ... }`, a domain's `key = secret(...)` would be read
  as a Vault path: remove it (`vault_path` says where the key is, when not at
  `<vault_path_prefix>/<domain>/<selector>.key`);
* `vault_path` needs `dkim_defaults { vault_mount = ... }`;
* `vault_mount` needs a `vault` block (its `address`, and the Secret holding the token).

```kumo
dkim_defaults { vault_mount = \"secret\" }
vault {
  address = \"https://vault.vault.svc:8200\"
  token   = secret(\"vault-token\", \"token\")
}
domain \"example.com\" {
  dkim {
    selector = \"s1\"
    key      = secret(\"dkim-keys\")   // K1020: the key is read from Vault
  }
}
```",
    ),
    TYPE_MISMATCH = e(
        "K2001",
        "type-mismatch",
        Types,
        "a value of the wrong type",
        "The field takes another kind of value. The message says what it expected.

```kumo
cluster {
  mta { spool = \"25Gi\" }   // K2001: sizes are written bare: 25Gi
}
```

Secret values are never written in `.kumo`: a field that takes a secret takes a reference,
`secret(\"name\")`.",
    ),
    INVALID_DURATION = e(
        "K2002",
        "invalid-duration",
        Types,
        "a duration that cannot be read",
        "Durations are written `<number><unit>` with units `ms`, `s`, `m`, `h`, `d`, `w`, and may
combine pieces: `90s`, `20m`, `24h`, `1h30m`, `7d`. A number without a unit is not a
duration. A string (`\"10 minutes\"`) is read as KumoMTA reads it, with humantime; which
humantime depends on the release (see K2008). kumoc writes every duration into the KumoMTA
files in a form every KumoMTA release parses.",
    ),
    INVALID_RATE = e(
        "K2003",
        "invalid-rate",
        Types,
        "a rate KumoMTA would reject",
        "Rates follow KumoMTA's throttle grammar: `[local:]LIMIT/[N]UNIT[,max_burst=B]` with unit
`s`, `sec`, `second`, `m`, `min`, `minute`, `h`, `hr`, `hour`, `d`, `day`, no spaces and no
plurals; the limit is above 0.

```kumo
max_message_rate = 1000/3600   // K2003: the period is a unit, not seconds: 1000/h
```",
    ),
    INVALID_QUANTITY = e(
        "K2004",
        "invalid-quantity",
        Types,
        "a size, CPU quantity or percentage that cannot be read",
        "Sizes are Kubernetes quantities (`25Gi`, `512Mi`, `1G`), CPU is cores or millicores
(`2`, `1000m`), percentages are whole numbers from 0 to 100 (`80%`).",
    ),
    INVALID_ADDRESS = e(
        "K2005",
        "invalid-address",
        Types,
        "an IP, CIDR, host:port or URL that cannot be read",
        "IP addresses and CIDRs are checked strictly, as KumoMTA does: a CIDR's host bits must be
zero (`192.168.1.0/24`, not `192.168.1.1/24`). IPv6 addresses are written in quotes.
URLs must not carry credentials: set them through a secret.",
    ),
    UNKNOWN_VALUE = e(
        "K2006",
        "unknown-value",
        Types,
        "a value that is not one of the allowed names",
        "Enum values are bare lowercase names (`required`, `opportunistic_insecure`, `rsa_sha256`).
KumoMTA's own spellings (`Required`, `OpportunisticInsecure`) are recognised and the fix
offers the `.kumo` spelling.",
    ),
    OUT_OF_RANGE = e(
        "K2007",
        "out-of-range",
        Types,
        "a number outside the allowed range",
        "The field's range is in the message (e.g. ports 1–65535, a connection limit of at least
1: to stop sending, suspend instead).

Some ranges come from where the value goes: a `spool` or TSA `storage` of 0 is a
PersistentVolumeClaim Kubernetes refuses; an autoscaling target of `0%` is refused too;
sizes above 8 EiB and CPU amounts above 2^63 millicores do not fit the 64-bit integers
KumoMTA's Lua and Kubernetes read; durations are at most 2^31 − 1 seconds (about 68
years), the most Kubernetes' 32-bit seconds and KumoMTA's run-time conversions hold. Probe
timings, the termination grace period and DKIM `expiration` are read in whole seconds, so
they are whole seconds, and at least `1s` where 0 would not mean what it says.",
    ),
    REQUIRES_NEWER_KUMOMTA = e(
        "K2008",
        "requires-newer-kumomta",
        Types,
        "a feature the deployment's KumoMTA release does not have",
        "The `kumomta` release in the `deployment` block decides what may be emitted. A feature
introduced later would make KumoMTA fail to load the policy (or silently ignore it), so it
is an error at the place that asks for it. Raise the release, or do without the feature.

Duration strings too: KumoMTA reads them with the humantime its release ships. Before
2025.12.02-67ee9e96 (humantime 2.2) there are no fractions (`\"1.5h\"`), no bare `\"0\"`
and no `wk`, `yr` or `µs`; the fix writes the same duration in whole units (`90m`).",
    ),
    INVALID_VERSION = e(
        "K2009",
        "invalid-version",
        Types,
        "a KumoMTA release that cannot be read",
        "A release is written as its image tag, `\"2025.03.19-1d3f1f67\"`: the release date and the
first 8 hex digits of its commit, as KumoMTA publishes them (`ghcr.io/kumocorp/kumomta`). A
bare date names no image: when it is the date of a release, the fix writes that release's
tag. With the default `image`, a tag KumoMTA never published (another commit, a day
without a release) is refused too; an `image` in another repository may hold builds of its
own. Pin the exact image with a digest in `image` (`...@sha256:<64 hex>`): kumoc keeps
it, and the pods run exactly those bytes.",
    ),
    INVALID_NAME = e(
        "K2010",
        "invalid-name",
        Types,
        "a domain, Kubernetes name or key that is not well formed",
        "Domains are dot-separated labels of letters, digits and `-`; Kubernetes names are at most
63 lowercase letters, digits and `-`; Secret keys are letters, digits, `-`, `_` and `.`.

Names that become something else in the output are checked for what they become, by the
grammar of the consumer that reads them:

- Secret and StorageClass names are Kubernetes names (lowercase letters, digits, `-` and
  `.`), and a Secret's name is also a directory on the pod; Secret keys cannot start with
  `..` (the kubelet's own files do);
- the deployment name prefixes every object: its Services need it to start with a letter,
  and the longest derived names must fit their kind's limit (`<name>-tsa-headless` is a
  Service of at most 63 characters; a StatefulSet such as `<name>-tsa` has at most 52, since
  its pods are labelled `<name>-<revision hash>`); the message says how long it may be;
- tenant and campaign names are parts of KumoMTA's queue names, `campaign:tenant@domain`,
  which KumoMTA splits at the first `:` and `@`, so they cannot contain either; and they are
  keys of the queue helper's tables beside its options, so they cannot be an option's name
  (`max_age`, `strategy`, `protocol`, `campaigns`, ...);
- a shaping block cannot be keyed `\"provider\"`: that key of `shaping.toml` holds the
  provider blocks;
- `unspecified` is KumoMTA's built-in pool and source, which it never asks the policy for: a
  pool of that name, or a source of that name with settings, would be silently replaced;
- a DKIM selector is a DNS label (and part of the key's path); tenant, campaign, scheduling
  and signed header names are header names (printable ASCII, no spaces, no `:`); `image` is
  an image repository; `routing_domain` is a domain, `[IP]` or `[IPv6:addr]`;
  `mx_suffix`, `domain_suffix` and `host_name` take a domain (an empty suffix would match
  every destination), and `mx_suffix` and `host_name` a lower-case one (KumoMTA compares MX
  host names in lower case).

```kumo
tenant \"acme:eu\" { }       // K2010: `:` separates a queue name's campaign and tenant
queue default {
  tenant max_age { }         // K2010: queues.toml would read it as the `max_age` option
}
```",
    ),
    INVALID_REGEX = e(
        "K2011",
        "invalid-regex",
        Types,
        "an automation regex that does not compile",
        "Automation rules use KumoMTA's regex engine (fancy-regex syntax, look-around allowed).
A pattern that does not compile makes KumoMTA reject the whole shaping file. An empty pattern
compiles but matches every response, so the rule would fire on every delivery: it is refused
too.",
    ),
    INVALID_CALL = e(
        "K2012",
        "invalid-call",
        Types,
        "a call with the wrong name or arguments",
        "Calls are `secret(\"name\"[, \"key\"])`, `threshold(RATE)`, `set_config(field = value)`,
`set_domain_config(field = value)`, `mx_suffix(\"...\")`, `domain_suffix(\"...\")` and
`host_name(\"...\")`, each where its field takes it.",
    ),
    INCONSISTENT_VALUES = e(
        "K2013",
        "inconsistent-values",
        Types,
        "values that contradict each other",
        "Two values cannot both hold, e.g. an autoscaler whose `max` is below its `min`, two
listeners on the same port (the sink's SMTP `port` cannot be 8000, its HTTP listener's), or
a resource request above its limit (Kubernetes refuses the pod).",
    ),
    INVALID_DATE = e(
        "K2020",
        "invalid-date",
        Types,
        "a date that is not a calendar day written `\"YYYY-MM-DD\"`",
        "A date (a warm-up's `start`) is a UTC calendar day, written `\"2026-12-01\"`: four-digit
year, two-digit month and day, a day that exists. kumoc turns it into the second its day 0
starts (midnight UTC), which the policy compares with the clock.

```kumo
source ip-1 {
  warmup {
    start = \"2026-02-30\"   // K2020: February has no 30th
    ramp  = [500, 1000, 2000]
  }
}
```",
    ),
    INVALID_TEXT = e(
        "K2015",
        "invalid-text",
        Types,
        "a string with control characters, or text its consumer cannot read",
        "Strings are one line of printable text: a newline, tab, NUL or other control character
in a banner, a user name or a header would be sent as is (an SMTP greeting with a line
break is two replies), so kumoc refuses it. Write the text without it.

Text with a grammar of its own is checked against it: `logging.filter` is a tracing filter
(comma-separated `target=level` directives, like `kumod=info,lua=debug`), which KumoMTA
refuses to load otherwise.

```kumo
smtp_listener {
  banner = \"Welcome\\r\\n250 OK\" // K2015: a control character
}
```",
    ),
    METRICS_LISTENER_UNRESTRICTED = CodeInfo {
        severity: Severity::Warning,
        ..e("K2014", "metrics-listener-unrestricted", Types, "the metrics port also opens the admin API to the scraper's network",
"KumoMTA serves `/metrics` on every HTTP listener, to trusted hosts only, and trusted hosts
may also inject mail and use the whole admin API without credentials. kumoc gives metrics a
listener of their own (the `metrics` port) that trusts only the scraper's network
(`cluster.metrics.scraper_cidrs`, by default the pod network). Releases before KumoMTA has
per-route access control cannot limit that listener to `/metrics`, so the scraper's
network can also reach `/api/admin/*` and `/api/inject/v1` on the metrics port.

From KumoMTA 2026.03.04 on, kumoc answers `get_acl_definition` so that the metrics
listener serves `/metrics` and `/metrics.json` to the scraper's network and denies every
other route, and this warning does not apply. On older releases, narrow `scraper_cidrs`
to where Prometheus runs, rely on the NetworkPolicy kumoc emits for the metrics port, or
upgrade KumoMTA.")
    },
    UNUSED_SUPPRESSION = CodeInfo {
        severity: Severity::Warning,
        ..e("K3001", "unused-suppression", Lint, "a `kumoc-allow(...)` comment that suppresses nothing",
"A suppression covers the statement after it (or the one it follows on the same line). When
nothing with that code is reported there, the comment is stale: remove it, so it does not
hide a future problem.")
    },
    SUPPRESSION_WITHOUT_REASON = CodeInfo {
        severity: Severity::Warning,
        ..e("K3002", "suppression-without-reason", Lint, "a suppression that does not say why",
"Every suppression carries its reason, so a reviewer can judge it:

```kumo
shaping \"legacy.example\" {
  // kumoc-allow(KUMO-TLS001): their MTA has no valid certificate; ticket OPS-42
  enable_tls = opportunistic_insecure
}
```

A suppression without a reason suppresses nothing.")
    },
    UNSUPPRESSIBLE_CODE = CodeInfo {
        severity: Severity::Warning,
        ..e("K3003", "unsuppressible-code", Lint, "a suppression of a code that cannot be suppressed",
"Only lint rules and warnings can be suppressed. Syntax, resolution and type errors mean
kumoc cannot build a correct deployment, so they must be fixed; an unknown code is
probably a typo (`kumoc explain` lists every code).")
    },
    IMPORT_LUA_SYNTAX = e(
        "K4001",
        "import-lua-syntax",
        Import,
        "`kumoc import`: a policy file that is not Lua 5.4",
        "The Lua file does not parse, so KumoMTA would not load it either, and the import
cannot read it. The diagnostic points at the first syntax error. Nothing is written: fix the
file, then import again.",
    ),
    IMPORT_DATA_FILE = e(
        "K4002",
        "import-data-file",
        Import,
        "`kumoc import`: a file the policy needs is missing or unreadable",
        "A helper data file (`sources.toml`, `dkim_data.toml`, `queues.toml`, `shaping.toml`,
TOML or JSON) that the policy names is not among the files imported, or does not parse; or
the MTA policy itself is missing. The import reads the policy directory as it is mounted
in the pod (`/opt/kumomta/etc/policy`): a file outside it cannot be read. Nothing is
written, since the deployment would be incomplete.

```lua
sources:setup { '/opt/kumomta/etc/policy/sources.toml' }  -- K4002 when sources.toml is not there
```",
    ),
    IMPORT_CODE_NOT_DESCRIBED = CodeInfo {
        severity: Severity::Warning,
        ..e("K4003", "import-code-not-described", Import, "`kumoc import`: Lua that kumoc does not describe",
"kumoc writes the KumoMTA policy itself, from the `.kumo` description, so custom Lua has no
place in `.kumo`: a custom event handler (`get_egress_path_config`,
`should_enqueue_log_record`, ...), a `dofile`, a loop, a condition on something known only
when the policy runs, a module of your own. The import reads the helpers' setup calls, the
`init` handler's spools, logs, Redis and listeners, the reception handlers and basic auth;
everything else is listed with this code and left out.

```lua
kumo.on('get_egress_path_config', function(domain, site_name, binding_group)  -- K4003
  ...
end)
```

Describe what the code did with `.kumo` settings: per-domain shaping is a `shaping` block,
per-source settings are its `source` blocks, pool choice is `egress_pool` on a `queue` or a
`tenant`.")
    },
    IMPORT_SETTING_NOT_DESCRIBED = CodeInfo {
        severity: Severity::Warning,
        ..e("K4004", "import-setting-not-described", Import, "`kumoc import`: a setting kumoc has no place for",
"A parameter of a call the import reads, or a key of a data file, that the `.kumo` language
cannot express (a log hook, `per_record` log templates, thread counts, a DKIM `signature`
block, a queue `protocol`), or that kumoc always sets its own way (the spools, the
conformance flags, the TSA fan-out). It is left out; the help says what kumoc does instead.

A key of a data file that kumoc does not know, with a plain value, is written into the
`.kumo` files anyway, so `kumoc check` reports it with \"did you mean\".")
    },
    IMPORT_NOT_A_LITERAL = CodeInfo {
        severity: Severity::Warning,
        ..e("K4005", "import-not-a-literal", Import, "`kumoc import`: a value known only when the policy runs",
"The import evaluates literals, tables of literals, local constants, `..` and
`kumo.string.split` over them, and `os.getenv(\"X\") or LITERAL` (see K4006). A value
computed any other way (a function call, a global set elsewhere) is not known without
running the policy, so the setting keeps kumoc's default.

```lua
kumo.configure_redis_throttles { node = 'redis://r', cluster = REDIS_CLUSTER_MODE }  -- K4005
```

Write the value in the `.kumo` file.")
    },
    IMPORT_ENVIRONMENT_VALUE = CodeInfo {
        severity: Severity::Info,
        ..e("K4006", "import-environment-value", Import, "`kumoc import`: a value read from the environment",
"`os.getenv(\"X\") or DEFAULT` makes the policy depend on the pod's environment. kumoc's
policy reads no environment variables: the import takes X from the environment it is
given, `--env-var X=VALUE` or the container `env` of `--helm-values`, else DEFAULT, and
writes that value into the `.kumo` files. This note says which. A secret from the
environment (a password) is never copied: it becomes a `secret(...)` reference (K4009).

```lua
node = os.getenv('KUMOMTA_REDIS_HOST') or 'redis://kumomta-redis',  -- K4006
```")
    },
    IMPORT_ENVIRONMENT_TYPE = CodeInfo {
        severity: Severity::Warning,
        ..e("K4007", "import-environment-type", Import, "`kumoc import`: a number or boolean that is a string when set from the environment",
"`os.getenv` returns a string, and KumoMTA reads these parameters with serde, which refuses a
string where a number or a boolean goes: the policy works with the default and fails to
start as soon as the variable is set.

```lua
pool_size = os.getenv('KUMOMTA_REDIS_POOL_SIZE') or 100,  -- K4007
```

The import writes the value with its type; in `.kumo` it is typed where it is written.")
    },
    IMPORT_QUEUE_CONFIG_SHADOWED = CodeInfo {
        severity: Severity::Warning,
        ..e("K4008", "import-queue-config-shadowed", Import, "`kumoc import`: a custom get_queue_config handler ahead of the helpers",
"`get_queue_config` handlers run in registration order and the first one that returns a
config wins. A custom handler registered before the shaping helper and the queue helper
answers instead of them: `queues.toml` (pools, `max_age`, tenants) is ignored, and the TSA
publisher queues are routed like mail, which breaks TSA publishing. The queue helper must
also be set up last, or `kumod --validate` fails.

kumoc sets up the shaping helper, then the queue helper last, and no other handler; routing
every message to the sink is `cluster.sink.enabled`, pools are `egress_pool`.")
    },
    IMPORT_SECRET_MATERIAL = CodeInfo {
        severity: Severity::Warning,
        ..e("K4009", "import-secret-material", Import, "`kumoc import`: a key or password found in the policy",
"Secrets never appear in `.kumo` files: they are references to Kubernetes Secrets. A DKIM
key file, a TLS key, a password from an environment variable or written in the policy
becomes `secret(\"name\", \"key\")` and a `secret` block naming the key; its value is never
read or copied. The diagnostic says which Secret and key the imported deployment expects:
create it in the cluster (or have `kumoc build --secrets` build it from a file).

A key file inside the policy directory is a key in a ConfigMap, readable by anyone who can
read ConfigMaps and usually committed with the chart: move it to a Secret.")
    },
    IMPORT_DERIVED_SHAPING = CodeInfo {
        severity: Severity::Info,
        ..e("K4010", "import-derived-shaping", Import, "`kumoc import`: a shaping block kumoc derives",
"kumoc writes the shaping blocks of the TSA publisher queues (`http://<replica>:<port>.tsa.kumomta`,
one per TSA replica it publishes to) and of the sink's routing domain itself, from the
`cluster` block. The import leaves such blocks out. When a block names a publisher the
policy does not publish to, it never applied (a warning): a sign that the TSA fan-out and
the shaping file disagree.")
    },
    IMPORT_ASSUMED_VALUE = CodeInfo {
        severity: Severity::Info,
        ..e("K4011", "import-assumed-value", Import, "`kumoc import`: something the policy does not say, assumed",
"A `.kumo` description needs things a KumoMTA policy does not contain: the deployment's name
and namespace, the KumoMTA release, how many TSA replicas there are, resources. The import
takes them from the policy where it can (TSA and sink service names), from `--helm-values`,
or from flags (`--name`, `--namespace`, `--kumomta`, `--pod-cidr`), and otherwise assumes a
value and says so here. The release matters most: it decides which settings and spellings
KumoMTA accepts, so an assumed release is a warning.")
    },
    IMPORT_CUSTOM_BASIC_AUTH = CodeInfo {
        severity: Severity::Warning,
        ..e("K4012", "import-custom-basic-auth", Import, "`kumoc import`: a custom HTTP basic auth handler",
"kumoc writes its own `http_server_validate_auth_basic` handler: it reads one file per user
from the Secret that `http_listener.users` names, and refuses user names with `/` or a
leading `.` before it opens anything. A custom handler is not imported. When it builds a
file path from the user name without checking it (`\"/opt/kumomta/etc/http_listener_keys/\"
.. user`), a user name like `../../../../etc/hostname` leaves the directory: whoever knows
a line of any readable file authenticates (path traversal).")
    },
    IMPORT_RELEASE_REJECTS_POLICY = CodeInfo {
        severity: Severity::Warning,
        ..e("K4013", "import-release-rejects-policy", Import, "`kumoc import`: the policy fails on its own KumoMTA release",
"KumoMTA releases before 2025.05.06-b29689af require `http_timeout` in every shaping
validation options table, including the one the shaping helper uses by default: a policy
that sets up the shaping helper without passing `validation_options` with `http_timeout`
fails `kumod --validate` with \"missing field `http_timeout`\", and one whose
`load_validation_options` lacks it fails to load its shaping data. kumoc writes the
validation options itself, with `http_timeout` where the release needs it, so the imported
deployment does not inherit the problem.")
    },
    IMPORT_INVALID_VALUE = CodeInfo {
        severity: Severity::Warning,
        ..e("K4014", "import-invalid-value", Import, "`kumoc import`: a value KumoMTA refuses, in code that is not imported",
"The import checks the literal values of the tables a policy passes to
`kumo.make_egress_path`, `kumo.make_queue_config` and `kumo.make_egress_source` wherever
they are, in custom handlers and in files run with `dofile` too, with the same grammars as
`kumoc check` (the rate grammar, durations for the release, limits, enum names). Such code
is not imported, but KumoMTA raises an error whenever it runs.

```lua
return kumo.make_egress_path { max_message_rate = '1000/3600' }  -- K4014: not a rate
```

In `.kumo`, write `max_message_rate = 1000/h` in the `shaping` block for the domain.")
    },
}

/// Look up a code (case-insensitive) or a code's name.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES
        .iter()
        .copied()
        .find(|c| c.code.eq_ignore_ascii_case(code) || c.name == code)
}

/// The registry entry of a syntax code (the parser's, in `kumoc_lang`).
pub fn syntax(code: SyntaxCode) -> Code {
    match code {
        SyntaxCode::UnexpectedInput => UNEXPECTED_INPUT,
        SyntaxCode::UnclosedBlock => UNCLOSED_BLOCK,
        SyntaxCode::MissingValue => MISSING_VALUE,
        SyntaxCode::InvalidValue => INVALID_VALUE,
        SyntaxCode::UnterminatedString => UNTERMINATED_STRING,
        SyntaxCode::InvalidEscape => INVALID_ESCAPE,
        SyntaxCode::UnclosedBracket => UNCLOSED_BRACKET,
        SyntaxCode::UnterminatedComment => UNTERMINATED_COMMENT,
        SyntaxCode::NestingTooDeep => NESTING_TOO_DEEP,
        SyntaxCode::InvalidUtf8 => INVALID_UTF8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut seen = BTreeSet::new();
        let mut names = BTreeSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert!(names.insert(c.name), "duplicate name {}", c.name);
            assert!(!c.explanation.trim().is_empty());
        }
        for s in SyntaxCode::ALL {
            let info = syntax(s).info();
            assert_eq!(info.code, s.code());
            assert_eq!(info.name, s.name());
            assert_eq!(info.phase, Phase::Syntax);
        }
    }

    /// Where a code is spelt as a string literal (`"K` + four digits + `"`) in `text`:
    /// (line, the literal).
    fn code_literals(text: &str) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let b = line.as_bytes();
            for i in 0..b.len() {
                let lit = b.get(i..i + 7);
                if let Some(&[b'"', b'K', d1, d2, d3, d4, b'"']) = lit {
                    if [d1, d2, d3, d4].iter().all(u8::is_ascii_digit) {
                        found.push((n + 1, line[i..i + 7].to_string()));
                    }
                }
            }
        }
        found
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("the compiler's sources are readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// A code is written by its name everywhere but here, so a misspelt code cannot compile.
    #[test]
    fn no_code_is_spelt_outside_the_registry() {
        // The scanner finds what it must (so this test can fail).
        let planted = format!("Diagnostic::new({q}K2010{q}, ...)", q = '"');
        assert_eq!(
            code_literals(&planted),
            vec![(1, format!("{q}K2010{q}", q = '"'))]
        );
        assert!(code_literals("see K2010, \"K201\", \"K20100\"").is_empty());

        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        assert!(files.len() > 20, "the compiler's sources: {files:?}");
        let registry = src.join("codes.rs");
        let mut spelt = Vec::new();
        for f in files.iter().filter(|f| **f != registry) {
            let text = std::fs::read_to_string(f).expect("a source file");
            for (line, lit) in code_literals(&text) {
                spelt.push(format!("{}:{line}: {lit}", f.display()));
            }
        }
        assert!(
            spelt.is_empty(),
            "codes written as strings outside codes.rs (use the registry's constants):\n{}",
            spelt.join("\n")
        );
    }
}
