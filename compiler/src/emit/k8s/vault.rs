//! HashiCorp Vault for DKIM keys: what the MTA container needs to read them.
//!
//! KumoMTA's DKIM helper passes only `vault_mount` and `vault_path` to the key loader
//! (`assets/policy-extras/dkim_sign.lua`), which then takes the address and the token from
//! `VAULT_ADDR` and `VAULT_TOKEN` (`crates/data-loader/src/lib.rs`, `KeySource::Vault`): so
//! the pods get both as environment variables, the token from its Secret.

use serde_json::{Value, json};

use crate::model::Deployment;
use crate::value::Typed;

/// The container environment `base` plus `VAULT_ADDR` and `VAULT_TOKEN` when DKIM keys are
/// read from Vault.
pub(super) fn with_vault_env(d: &Deployment, mut base: Value) -> Value {
    if d.dkim_defaults.get("vault_mount").is_none() {
        return base;
    }
    let Some(list) = base.as_array_mut() else {
        return base;
    };
    if let Some(addr) = d.vault.get("address").and_then(|s| s.value.text()) {
        list.push(json!({ "name": "VAULT_ADDR", "value": addr }));
    }
    if let Some(Typed::Secret(r)) = d.vault.get("token").map(|s| &s.value) {
        let key = r.key.as_ref().map_or("token", |(k, _)| k.as_str());
        list.push(json!({
            "name": "VAULT_TOKEN",
            "valueFrom": { "secretKeyRef": { "name": r.name, "key": key } },
        }));
    }
    base
}
