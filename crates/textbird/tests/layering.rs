//! The crate graph keeps the layering: front ends (the HTTP API, the SMPP server, the dashboard) reach
//! storage only through `textbird-app`. Read from `cargo metadata`, so a
//! dependency added to any of their manifests fails here.

use std::process::Command;

use serde_json::Value;

const FRONT_ENDS: [&str; 3] = ["textbird-api", "textbird-smpp-server", "textbird-dashboard"];
const FORBIDDEN: [&str; 2] = ["textbird-store", "sqlx"];

#[test]
fn front_ends_do_not_depend_on_the_store() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    for front in FRONT_ENDS {
        let package =
            packages.iter().find(|p| p["name"] == front).unwrap_or_else(|| panic!("{front} is a workspace member"));
        let deps: Vec<&str> = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter_map(|d| d["name"].as_str())
            .collect();
        assert!(deps.contains(&"textbird-app"), "{front} goes through textbird-app: {deps:?}");
        for bad in FORBIDDEN {
            assert!(!deps.contains(&bad), "{front} depends on {bad} directly; go through textbird-app");
        }
    }
}
