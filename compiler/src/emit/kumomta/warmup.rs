//! IP warm-up: the egress path handler, which limits each warming source to the day's
//! volume of its schedule.
//!
//! The schedule is data in `init.lua` (start as the second day 0 begins, midnight UTC, and
//! the daily volumes); the handler computes the day from the clock on every call, so the
//! ramp advances without a rebuild or a config change. The limit is a source selection
//! rate across every destination (`additional_source_selection_rates`, KumoMTA's documented
//! warm-up mechanism): once the source has been selected the day's number of times, the
//! pool's other sources are used. The shaping helper gives every path
//! `refresh_strategy = "Epoch"` (`assets/policy-extras/shaping.lua`): such a path is only
//! rebuilt when the configuration changes, so the limit computed on day 0 would stay. Paths
//! of a warming source are rebuilt on a timer instead (`Ttl`, every [`REFRESH`]).

use super::lua::{self, Value as L};
use super::policy::W;
use crate::emit::Provenance;
use crate::model::Deployment;

/// How often the path of a warming source is rebuilt: the day's limit applies at most this
/// long after midnight UTC.
const REFRESH: &str = "5m";

pub(super) fn write(w: &mut W, d: &Deployment, p: &Provenance<'_>) {
    if d.warmups.is_empty() {
        w.line("kumo.on('get_egress_path_config', shaper.get_egress_path_config)");
        return;
    }
    w.comment(
        0,
        "IP warm-up: a warming source may be selected at most the day's volume of its schedule,",
    );
    w.comment(
        0,
        "across every destination; the day is computed from the clock on each call (day 0 starts",
    );
    w.comment(
        0,
        &format!(
            "at `start`, midnight UTC), and its paths are rebuilt every {REFRESH} (not only on a config"
        ),
    );
    w.comment(
        0,
        "change, the shaping helper's Epoch strategy), so the ramp advances by itself.",
    );
    let entries: Vec<(String, L)> = d
        .warmups
        .iter()
        .map(|wu| {
            (
                wu.source.clone(),
                L::Table(vec![
                    ("start".to_string(), L::Int(wu.start_epoch)),
                    (
                        "ramp".to_string(),
                        L::List(wu.ramp.iter().map(|r| L::Int(r.value)).collect()),
                    ),
                ]),
            )
        })
        .collect();
    for wu in &d.warmups {
        w.comment(
            0,
            &format!(
                "{}: from {} ({}), {} days",
                wu.source,
                wu.start.value,
                p.at(wu.loc),
                wu.ramp.len()
            ),
        );
    }
    w.line(&format!(
        "local WARMUP = {}",
        lua::render(&L::Table(entries), 0)
    ));
    w.line("local function warmup_limit(source)");
    w.line("  local schedule = WARMUP[source]");
    w.line("  if not schedule then");
    w.line("    return nil");
    w.line("  end");
    w.line("  local day = math.max(0, (os.time() - schedule.start) // 86400)");
    w.line("  return schedule.ramp[day + 1]");
    w.line("end");
    w.line("kumo.on('get_egress_path_config', function(domain, egress_source, site_name)");
    w.line("  local limit = warmup_limit(egress_source)");
    w.line("  if not limit then");
    w.line("    return shaper.get_egress_path_config(domain, egress_source, site_name)");
    w.line("  end");
    w.line(
        "  local params = shaper.get_egress_path_config(domain, egress_source, site_name, true)",
    );
    w.line("  local rates = params.additional_source_selection_rates or {}");
    w.line("  rates['warmup-' .. egress_source] = string.format('%d/d,max_burst=1', limit)");
    w.line("  params.additional_source_selection_rates = rates");
    w.line("  params.refresh_strategy = 'Ttl'");
    w.line(&format!(
        "  params.refresh_interval = {}",
        lua::string(REFRESH)
    ));
    w.line("  return kumo.make_egress_path(params)");
    w.line("end)");
}
