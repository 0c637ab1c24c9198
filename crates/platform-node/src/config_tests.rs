use super::*;

fn with_secret() -> Settings {
    Settings { secret_key: Some("//Alice".into()), ..Settings::default() }
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = NodeConfig::from_settings(with_secret()).expect("valid");
    assert_eq!(config.endpoints, vec![DEFAULT_ENDPOINT.to_string()]);
    assert_eq!(config.netuid.get(), 100);
    assert_eq!(config.p2p_listen, "/ip4/0.0.0.0/tcp/9000");
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.min_stake_rao, 1_000 * RAO_PER_TAO);
    assert_eq!(config.hotkey.public().to_ss58(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
}

#[test]
fn flags_and_env_override_the_file() {
    let file: Settings =
        toml::from_str("netuid = 7\nhttp_addr = \"127.0.0.1:9\"\nsecret_key = \"//Bob\"").expect("toml");
    let flags = Settings { netuid: Some(3), ..Settings::default() };
    let config = NodeConfig::from_settings(flags.layered(file)).expect("valid");
    assert_eq!(config.netuid.get(), 3);
    assert_eq!(config.http_addr.to_string(), "127.0.0.1:9");
}

#[test]
fn the_example_file_in_deploy_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/validator.toml.example");
    let file = Settings::from_file(&path).expect("deploy/validator.toml.example parses");
    let config = NodeConfig::from_settings(with_secret().layered(file)).expect("valid");
    assert_eq!(config.netuid.get(), 100);
    assert_eq!(config.http_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/platform/data"));
}

#[test]
fn bad_values_name_their_setting() {
    let cases = [
        (Settings { secret_key: None, ..with_secret() }, "secret_key"),
        (Settings { secret_key: Some("not a key".into()), ..with_secret() }, "secret_key"),
        (Settings { subtensor_endpoint: Some("http://x".into()), ..with_secret() }, "subtensor_endpoint"),
        (Settings { http_addr: Some("localhost".into()), ..with_secret() }, "http_addr"),
        (Settings { bootstrap_peers: Some(vec!["peer".into()]), ..with_secret() }, "bootstrap_peers"),
        (Settings { sudo_key: Some("5abc".into()), ..with_secret() }, "sudo_key"),
        (Settings { view_timeout_ms: Some(1), ..with_secret() }, "view_timeout_ms"),
    ];
    for (settings, setting) in cases {
        let error = NodeConfig::from_settings(settings).expect_err(setting);
        assert_eq!(error.setting, setting, "{error}");
    }
    let unknown = toml::from_str::<Settings>("netuidd = 1").expect_err("unknown key");
    assert!(unknown.to_string().contains("netuidd"), "{unknown}");
}
