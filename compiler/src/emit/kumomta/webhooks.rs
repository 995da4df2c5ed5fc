//! Event webhooks: one KumoMTA log hook per `webhook "name"` block, set up with
//! `policy-extras.log_hooks` before the queue helper (each registers a `get_queue_config`
//! handler for its own queue `<name>.log_hook`, and the queue helper must be the last).
//!
//! kumoc writes its own constructor (`log_hooks:new`) rather than `log_hooks:new_json`:
//! `new_json` sends no header but `Content-Type`, so no credentials, and answers every
//! non-2xx status with `kumo.reject(500, ...)`, which KumoMTA's Lua delivery
//! (`crates/kumod/src/lua_deliver.rs`) logs as a Bounce and removes from the spool: a record
//! refused by a restarting endpoint (503) is lost. kumoc's constructor retries what is
//! worth retrying (5xx, 408, 429: `kumo.reject(400, ...)`, a transient failure requeued with
//! the hook's retry intervals until `max_age`) and drops the rest (other 4xx: the endpoint
//! refuses the record itself).

use super::lua::{self, Value as L};
use super::policy::W;
use super::values;
use crate::emit::Provenance;
use crate::emit::names;
use crate::model::Deployment;
use crate::value::Typed;

/// The record types KumoMTA logs that a webhook can select (`per_record`): every other type
/// is turned off through `Any`.
fn per_record(records: &[crate::value::TypedAt]) -> L {
    let mut entries = vec![(
        "Any".to_string(),
        L::Table(vec![("enable".to_string(), L::Bool(false))]),
    )];
    let mut kinds: Vec<&str> = records
        .iter()
        .filter_map(|r| r.value.as_enum().map(|v| v.kumo))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    for k in kinds {
        entries.push((
            k.to_string(),
            L::Table(vec![("enable".to_string(), L::Bool(true))]),
        ));
    }
    L::Table(entries)
}

pub(super) fn write(w: &mut W, d: &Deployment, p: &Provenance<'_>) {
    if d.webhooks.is_empty() {
        return;
    }
    w.comment(
        0,
        "Event webhooks (policy-extras.log_hooks), before the queue helper: each hook queues its",
    );
    w.comment(
        0,
        "records as `<name>.log_hook` and answers get_queue_config for that queue. One record per",
    );
    w.comment(
        0,
        "POST. 2xx: delivered; 5xx, 408, 429 or no answer: retried (kumo.reject 4xx is a transient",
    );
    w.comment(
        0,
        "failure); any other status: dropped (kumo.reject 5xx is permanent: KumoMTA bounces it).",
    );
    w.line("local log_hooks = require 'policy-extras.log_hooks'");
    w.line("local function webhook(url, header_name, header_file)");
    w.line("  return function(domain, tenant, campaign)");
    w.line("    local header_value");
    w.line("    if header_file then");
    w.line("      local f = assert(io.open(header_file, 'r'))");
    w.line("      header_value = f:read('a'):gsub('[\\r\\n]+$', '')");
    w.line("      f:close()");
    w.line("    end");
    w.line("    local client = kumo.http.build_client {}");
    w.line("    local connection = {}");
    w.line("    function connection:send(message)");
    w.line("      local request = client:post(url):header('Content-Type', 'application/json')");
    w.line("      if header_value then");
    w.line("        request = request:header(header_name, header_value)");
    w.line("      end");
    w.line("      local response = request:body(message:get_data()):send()");
    w.line("      local code = response:status_code()");
    w.line("      local disposition =");
    w.line("        string.format('%d %s: %s', code, response:status_reason(), response:text())");
    w.line("      if response:status_is_success() then");
    w.line("        return disposition");
    w.line("      end");
    w.line("      if code >= 500 or code == 408 or code == 429 then");
    w.line("        kumo.reject(400, disposition)");
    w.line("      end");
    w.line("      kumo.reject(500, disposition)");
    w.line("    end");
    w.line("    function connection:close()");
    w.line("      client:close()");
    w.line("    end");
    w.line("    return connection");
    w.line("  end");
    w.line("end");
    for hook in &d.webhooks {
        let s = &hook.settings;
        w.comment(0, &format!("webhook {:?} ({})", hook.name, p.at(hook.loc)));
        let mut log_parameters: Vec<(String, L)> = Vec::new();
        for key in ["headers", "meta"] {
            if let Some(v) = s.get(key) {
                log_parameters.push((key.to_string(), values::lua(&v.value)));
            }
        }
        if let Some(records) = s.get("records").and_then(|r| r.value.as_list()) {
            log_parameters.push(("per_record".to_string(), per_record(records)));
        }
        let mut queue_config: Vec<(String, L)> = Vec::new();
        for key in ["retry_interval", "max_retry_interval", "max_age"] {
            if let Some(ms) = s.get(key).and_then(|v| v.value.as_duration_ms()) {
                queue_config.push((key.to_string(), L::Str(values::duration(ms))));
            }
        }
        let url = s
            .get("url")
            .and_then(|u| u.value.text())
            .unwrap_or_default();
        let header = match s.get("secret_header").map(|v| &v.value) {
            Some(Typed::Secret(r)) => {
                let name = s
                    .get("secret_header_name")
                    .and_then(|v| v.value.text())
                    .unwrap_or("Authorization");
                let key = r.key.as_ref().map_or("", |(k, _)| k.as_str());
                format!(
                    ", {}, {}",
                    lua::string(name),
                    lua::string(&names::secret_path(&r.name, key))
                )
            }
            _ => String::new(),
        };
        let mut options = vec![("name".to_string(), L::Str(hook.name.clone()))];
        if !log_parameters.is_empty() {
            options.push(("log_parameters".to_string(), L::Table(log_parameters)));
        }
        if !queue_config.is_empty() {
            options.push(("queue_config".to_string(), L::Table(queue_config)));
        }
        options.push((
            "constructor".to_string(),
            L::Raw(format!("webhook({}{header})", lua::string(url))),
        ));
        w.line(&format!(
            "log_hooks:new {}",
            lua::render(&L::Table(options), 0)
        ));
    }
    w.blank();
}
