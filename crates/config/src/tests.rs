//! Loading and validating settings.

use super::*;

#[test]
fn file_then_env_layers_apply() {
    let dir = std::env::temp_dir().join(format!("tbcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("textbird.toml");
    std::fs::write(
        &path,
        r#"
[http]
listen = "127.0.0.1:9000"
[[connectors]]
name = "carrier-a"
kind = "smpp"
host = "127.0.0.1"
port = 2776
system_id = "user"
password = "secret"
system_type = ""
bind = "transceiver"
window = 10
tps = 0
enquire_link_secs = 30
[[routes]]
prefix = ""
connector = "carrier-a"
priority = 0
[webhooks]
allow_private_networks = true
"#,
    )
    .unwrap();
    let s = Settings::load(&path, true).unwrap();
    assert_eq!(s.http.listen, "127.0.0.1:9000");
    assert_eq!(s.connectors[0].kind, ConnectorKind::Smpp);
    assert!(!format!("{s:?}").contains("\"secret\""), "password must not print");
    assert_eq!(s.connectors[0].password.expose(), "secret");
    assert!(s.webhooks.allow_private_networks);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn defaults_give_a_simulator_and_catch_all_route() {
    let s = Settings::load(Path::new("/nonexistent/textbird.toml"), false).unwrap();
    assert_eq!(s.connectors[0].kind, ConnectorKind::Simulator);
    assert_eq!(s.routes[0].prefix, "");
    assert!(Settings::load(Path::new("/nonexistent/textbird.toml"), true).is_err());
}

#[test]
fn unknown_route_connector_is_an_error() {
    let mut s = Settings::default();
    s.routes.push(RouteSettings { prefix: "31".into(), connector: "nope".into(), priority: 0 });
    s.fill_defaults();
    assert!(s.validate().is_err());
}
