//! `kumoc init`: a commented starter deployment that checks clean (a test proves it).

use std::path::Path;
use std::process::ExitCode;

use crate::{fail, write_atomically};

pub const TEMPLATE: &str = r#"// A KumoMTA deployment on Kubernetes, described for kumoc.
//
//   kumoc check .                    check it (add `--env production` for production)
//   kumoc explain CODE               learn about a diagnostic
//
// Every field is documented in the README's language tour; values carry their units
// (`24h`, `25Gi`, `100/s`, `80%`).

deployment "{{NAME}}" {
  namespace   = "kumomta"
  kumomta     = "2025.03.19-1d3f1f67" // the image tag; also decides which features may be used
  environment = staging // staging | production
}

// Where mail leaves from. Give every source an EHLO name whose DNS matches its address.
pool main {
  source main-00 {
    ehlo_domain = "mta.example.com"
    // Egress through a SOCKS5 proxy (e.g. KumoProxy) from an address whose PTR you control;
    // otherwise mail leaves from the node's NAT address. Before KumoMTA 2026.09.22 the
    // proxy is an IP: give its Service a fixed clusterIP.
    socks5_proxy_server         = "10.96.0.50:5000"
    socks5_proxy_source_address = 192.0.2.10
  }
}

queue default {
  egress_pool    = main
  max_age        = 24h
  retry_interval = 20m
}

// A sending domain, signed with a key kept in a Kubernetes Secret.
domain "example.com" {
  dkim {
    selector = "default"
    headers  = ["From", "To", "Subject", "Date", "Message-ID"]
    key      = secret("dkim-keys", "example.com.default.key")
  }
}

secret "dkim-keys" {
  keys = ["example.com.default.key"]
}

// Traffic shaping for every destination. The stdlib adds presets for the big providers
// (google, yahoo, outlook, ...); a `provider "google" { ... }` block changes one.
shaping default {
  enable_tls = opportunistic
}

provider "google" {
  enable_tls = required // Gmail expects TLS
}

smtp_listener {
  relay_hosts = [127.0.0.1] // who may relay: never 0.0.0.0/0
}

http_listener {
  trusted_hosts = [127.0.0.1]
}

cluster {
  pod_cidr = 10.244.0.0/16 // the cluster's pod network: the sink relays only for it

  mta {
    replicas = 1
    spool    = 25Gi // a persistent volume per pod: the spool is the queue

    resources {
      requests {
        cpu    = 4 // KumoMTA's production minimum
        memory = 8Gi
      }
      limits {
        cpu    = 4
        memory = 8Gi
      }
    }
  }

  sink {
    enabled = true // staging: accept and drop all mail; set false for real delivery
  }

  // Prometheus metrics on port 8080 for `scraper_cidrs` (by default the pod network). Before
  // KumoMTA has per-route access control, those hosts can also use the admin API on that port.
  metrics {
    enabled = false
  }

  // Overrides for production go in `env production { ... }`.
}

env production {
  cluster {
    sink {
      enabled = false
    }
  }

  shaping default {
    enable_tls = required // TLS with a valid certificate for every destination
  }
}
"#;

pub fn run(dir: &Path, name: &str, force: bool) -> ExitCode {
    if kumoc_compiler::grammars::check_k8s_name(name).is_err() || name.len() > 40 {
        return fail(format!(
            "`{name}` cannot name a deployment: use up to 40 lowercase letters, digits and `-`"
        ));
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    let path = dir.join("deployment.kumo");
    if path.exists() && !force {
        return fail(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        ));
    }
    let text = TEMPLATE.replace("{{NAME}}", name);
    if let Err(e) = write_atomically(&path, text.as_bytes()) {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    println!(
        "wrote {}\nnext: kumoc check {}",
        path.display(),
        dir.display()
    );
    ExitCode::SUCCESS
}
