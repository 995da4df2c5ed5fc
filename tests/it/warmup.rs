//! IP warm-up: the emitted egress path handler run in the Lua harness with a fixed clock:
//! day 0, day 3 and after the ramp, the limit as KumoMTA's source selection rate, and the
//! paths of a warming source rebuilt on a timer (not only on a config change).

use kumoc_compiler::emit;
use serde_json::{Value as Json, json};

use crate::lua_harness::{Arg, Policy};
use crate::support::build_production;

const VERSION: &str = "2025.03.19-1d3f1f67";
/// 2026-12-01T00:00:00Z
const START: i64 = 1_796_083_200;
const DAY: i64 = 86_400;

const DEPLOYMENT: &str = r#"
deployment "t" {
  namespace   = "mail"
  kumomta     = "2025.03.19-1d3f1f67"
  environment = production
}
pool main {
  source old-00 {
    ehlo_domain = "mta.example.com"
  }
  source new-00 {
    ehlo_domain = "mta2.example.com"
    warmup {
      start = "2026-12-01"
      ramp  = [500, 1000, 2000, 4000, 8000]
    }
  }
}
"#;

fn build(text: &str) -> emit::Output {
    build_production("warmup.kumo", text)
}

/// The egress path the handler makes for `source` to gmail.com at `now`.
fn path_at(p: &Policy, source: &str, now: i64) -> Json {
    p.eval(&format!("os.time = function() return {now} end"))
        .unwrap();
    p.clear_calls();
    p.fire(
        "get_egress_path_config",
        vec![
            Arg::Str("gmail.com".into()),
            Arg::Str(source.into()),
            Arg::Str("gmail.com".into()),
        ],
    )
    .unwrap();
    let made = p.calls_named("kumo.make_egress_path");
    assert_eq!(made.len(), 1, "{made:?}");
    made[0][0].clone()
}

#[test]
fn warmup_limit_follows_the_clock() {
    let out = build(DEPLOYMENT);
    crate::vault::validate_manifests(&out);
    let root = std::env::temp_dir().join(format!("kumoc-warmup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            let f = root.join("policy").join(name);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, content).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("files")).unwrap();
    let p = Policy::load(
        &root.join("policy"),
        &root.join("files"),
        "init.lua",
        VERSION,
    )
    .unwrap_or_else(|e| panic!("init.lua does not load: {e}"));
    p.fire("init", vec![]).unwrap();
    assert!(!p.call_validate().unwrap().failed, "{:?}", p.output());

    let limit = |path: &Json| path["additional_source_selection_rates"]["warmup-new-00"].clone();
    // Day 0 (and before the start): the first volume; the path is rebuilt on a timer.
    for now in [START - 3 * DAY, START, START + DAY - 1] {
        let path = path_at(&p, "new-00", now);
        assert_eq!(limit(&path), json!("500/d,max_burst=1"), "at {now}");
        assert_eq!(path["refresh_strategy"], "Ttl");
        assert_eq!(path["refresh_interval"], "5m");
    }
    // Day 3, one process, no rebuild: the clock alone moves the limit.
    let path = path_at(&p, "new-00", START + 3 * DAY + 7200);
    assert_eq!(limit(&path), json!("4000/d,max_burst=1"));
    // The last day, then after the ramp: no warm-up limit, the shaping helper's strategy.
    let path = path_at(&p, "new-00", START + 4 * DAY);
    assert_eq!(limit(&path), json!("8000/d,max_burst=1"));
    let path = path_at(&p, "new-00", START + 5 * DAY);
    assert_eq!(
        path.get("additional_source_selection_rates"),
        None,
        "{path}"
    );
    assert_eq!(path["refresh_strategy"], "Epoch");
    // A source that is not warming is never limited.
    let path = path_at(&p, "old-00", START + DAY);
    assert_eq!(
        path.get("additional_source_selection_rates"),
        None,
        "{path}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
