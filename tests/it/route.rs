//! `kumoc route DOMAIN`: the example (staging goes to the sink; production to Google) and
//! `tests/fixtures/dns` (no Redis, so limits multiply; a source override; a wildcard
//! queue rule; a site shared through the snapshot; tenants choosing pools).

use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};
use kumoc_compiler::Options;
use kumoc_compiler::emit::{Places, Provenance};
use kumoc_compiler::route::{Layer, Query, route};
use serde_json::Value;

use crate::support::{analyze_fixture, root};

fn kumoc() -> Command {
    let mut c = Command::new(get_cargo_bin("kumoc"));
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    c
}

const GMAIL: &str = "gmail-smtp-in.l.google.com,alt1.gmail-smtp-in.l.google.com";

#[test]
fn route_example_and_fixture() {
    assert_cmd_snapshot!(
        "route_example_staging",
        kumoc().args(["route", "gmail.com", "examples/example-com", "--mx", GMAIL])
    );
    assert_cmd_snapshot!(
        "route_example_production",
        kumoc().args([
            "route",
            "gmail.com",
            "examples/example-com",
            "--env",
            "production",
            "--mx",
            GMAIL
        ])
    );
    assert_cmd_snapshot!(
        "route_fixture_gmail_snapshot",
        kumoc().args([
            "route",
            "gmail.com",
            "tests/fixtures/dns",
            "--snapshot",
            "tests/fixtures/dns/live-bad.zone"
        ])
    );
    assert_cmd_snapshot!(
        "route_fixture_yahoo_tenant",
        kumoc().args([
            "route",
            "shop.example.org",
            "tests/fixtures/dns",
            "--mx",
            "mta5.am0.yahoodns.net,mta6.am0.yahoodns.net",
            "--tenant",
            "news"
        ])
    );
}

fn query(
    path: &str,
    env: Option<kumoc_compiler::Environment>,
    q: &Query,
) -> kumoc_compiler::route::Route {
    let a = analyze_fixture(
        &root().join(path),
        &Options {
            env,
            ..Default::default()
        },
    );
    assert!(!a.has_errors());
    let places = Places::new(&a.sources, &a.parses);
    let prov = Provenance::new(&places, true);
    route(a.model.as_ref().unwrap(), &prov, q)
}

/// Each layer wins where KumoMTA's merge says it does, and says where it was written.
#[test]
fn route_layers_and_places() {
    let r = query(
        "examples/example-com",
        Some(kumoc_compiler::Environment::Production),
        &Query {
            domain: "example.org".into(),
            mx: Some(vec!["mx.example.org".into()]),
            ..Default::default()
        },
    );
    let src = &r.sources[0];
    let f = |name: &str| src.shaping.iter().find(|f| f.name == name).unwrap();
    // The env overlay wins over the default block, and says so.
    assert_eq!(f("enable_tls").value, "Required");
    assert_eq!(f("enable_tls").overlay.as_deref(), Some("production"));
    assert_eq!(f("enable_tls").layer, Layer::Default);
    assert_eq!(
        f("enable_tls").place,
        "production.kumo: env production > shaping default > enable_tls"
    );
    // A stdlib default, and KumoMTA's own default.
    assert_eq!(
        f("connection_limit").place,
        "<stdlib>: shaping default > connection_limit"
    );
    assert_eq!(f("max_ready").layer, Layer::BuiltIn);
    assert!(r.providers.is_empty());

    // The fixture: a site block, its source override, a provider, local limits × pods.
    let r = query(
        "tests/fixtures/dns",
        None,
        &Query {
            domain: "googlemail.com".into(),
            mx: Some(GMAIL.split(',').map(String::from).collect()),
            other_mx: [(
                "gmail.com".to_string(),
                GMAIL.split(',').map(String::from).collect(),
            )]
            .into(),
            ..Default::default()
        },
    );
    assert_eq!(r.site_name, "alt1?.gmail-smtp-in.l.google.com");
    assert_eq!(r.providers[0].name, "google");
    let main01 = r.sources.iter().find(|s| s.name == "main-01").unwrap();
    let cl = main01
        .shaping
        .iter()
        .find(|f| f.name == "connection_limit")
        .unwrap();
    assert_eq!(cl.layer, Layer::SourceOverride("gmail.com".into()));
    assert_eq!(cl.value, 2);
    let limit = main01
        .limits
        .iter()
        .find(|l| l.name == "connection_limit")
        .unwrap();
    assert!(limit.per_pod);
    assert_eq!(limit.cluster, "8", "2 per pod × 4 pods");
    // gmail.com's block applies to googlemail.com: the same site.
    let rate = main01
        .shaping
        .iter()
        .find(|f| f.name == "max_message_rate")
        .unwrap();
    assert_eq!(rate.layer, Layer::Site("gmail.com".into()));
    let main00 = r.sources.iter().find(|s| s.name == "main-00").unwrap();
    assert_eq!((main00.weight, main00.share), (3, 75.0));
    assert!(
        r.notes.iter().any(|n| n.contains("KUMO-SHP001")),
        "{:?}",
        r.notes
    );
}

/// The sink's block in a route is the one `shaping.toml` carries (a test, so the two cannot
/// drift apart).
#[test]
fn route_sink_block_matches_the_emitted_shaping_file() {
    let a = analyze_fixture(&root().join("examples/example-com"), &Options::default());
    let places = Places::new(&a.sources, &a.parses);
    let out = kumoc_compiler::emit::emit(a.checked_model().unwrap(), &places);
    let shaping: toml::Value = toml::from_str(out.get("policy/shaping.toml").unwrap()).unwrap();
    let sink = "example-com-sink.kumomta.svc.cluster.local";
    let block = shaping.get(sink).unwrap().as_table().unwrap();
    for (name, value) in kumoc_compiler::route::SINK_SETTINGS {
        let want: Value = serde_json::from_str(value).unwrap();
        let got = serde_json::to_value(block.get(*name).unwrap()).unwrap();
        assert_eq!(got, want, "{name}");
    }
    // And nothing in the emitted block is missing from the route's.
    for key in block.keys() {
        assert!(
            key == "smtp_port"
                || kumoc_compiler::route::SINK_SETTINGS
                    .iter()
                    .any(|(n, _)| n == key),
            "{key}"
        );
    }
}

/// JSON output parses, and lists every source even when the human output summarises.
#[test]
fn route_json_lists_every_source() {
    let out = kumoc()
        .args([
            "route",
            "gmail.com",
            "tests/fixtures/dns",
            "--mx",
            GMAIL,
            "--format",
            "json",
            "--top",
            "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"].as_array().unwrap().len(), 2);
    assert_eq!(v["pool"]["name"], "main");
    assert_eq!(v["queue"]["name"], "default@gmail.com");
    let human = kumoc()
        .args([
            "route",
            "gmail.com",
            "tests/fixtures/dns",
            "--mx",
            GMAIL,
            "--top",
            "1",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("+1 more sources"));
}
