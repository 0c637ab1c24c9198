//! Hotkeys must come out exactly as btcli / subkey derive them.

use std::str::FromStr;

use platform_types::{KeyError, Keypair, PublicKey};

fn address(suri: &str) -> String {
    Keypair::from_suri(suri).expect("valid suri").public().to_ss58()
}

/// The reference implementation: subxt-signer's own keypair (Parity's port of sp-core).
fn reference_public(suri: &str) -> [u8; 32] {
    let uri = subxt_signer::SecretUri::from_str(suri).expect("valid suri");
    subxt_signer::sr25519::Keypair::from_uri(&uri).expect("reference keypair").public_key().0
}

#[test]
fn dev_accounts_match_btcli() {
    assert_eq!(address("//Alice"), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    assert_eq!(address("//Bob"), "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
    assert_eq!(address("//Alice//stash"), "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY");
}

#[test]
fn the_dev_phrase_and_alices_raw_seed() {
    let dev = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
    assert_eq!(address(dev), "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV");
    assert_eq!(
        Keypair::from_suri(dev).expect("dev phrase").public().to_hex(),
        "0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
    );
    // The mini-secret subkey prints for //Alice gives //Alice's key directly.
    assert_eq!(
        address("0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a"),
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
}

#[test]
fn derivations_match_the_reference_implementation() {
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let seed = "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let cases = [
        phrase.to_string(),
        format!("{phrase}//hard"),
        format!("{phrase}/soft"),
        format!("{phrase}//hard/soft//0"),
        format!("{phrase}///password"),
        format!("{phrase}//validator/7///pass word"),
        seed.to_string(),
        format!("{seed}//hard/soft"),
        "//Charlie/soft/1".to_string(),
        "//1234//a-very-long-junction-name-that-is-longer-than-thirty-two-bytes".to_string(),
    ];
    for suri in cases {
        let ours = Keypair::from_suri(&suri).expect("valid suri").public();
        assert_eq!(ours.as_bytes(), &reference_public(&suri), "derivation differs for {suri:?}");
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let swapped = phrase.replace("yellow", "winner");
    assert!(matches!(Keypair::from_suri(&swapped), Err(KeyError::BadChecksum)));
    assert!(matches!(
        Keypair::from_suri(&phrase.replace("sausage", "sausagex")),
        Err(KeyError::UnknownWord { index: 6, .. })
    ));
    assert!(matches!(Keypair::from_suri("legal winner thank"), Err(KeyError::BadWordCount(3))));
    assert!(matches!(Keypair::from_suri("0x1234"), Err(KeyError::SeedLength(2))));
    assert!(matches!(Keypair::from_suri("0xzz"), Err(KeyError::SeedNotHex)));
    assert!(matches!(Keypair::from_suri(&format!("{phrase}//")), Err(KeyError::InvalidUri)));
    assert!(matches!(Keypair::from_suri("//Alice/"), Err(KeyError::InvalidUri)));
}

#[test]
fn generated_keys_round_trip_through_their_phrase() {
    for words in [12, 24] {
        let generated = Keypair::generate(words).expect("generate");
        assert_eq!(generated.phrase.split_whitespace().count(), words);
        let again = Keypair::from_suri(&generated.phrase).expect("phrase parses");
        assert_eq!(again.public(), generated.keypair.public());
    }
    assert!(Keypair::generate(13).is_err());
}

#[test]
fn substrate_signatures_verify_and_ours_verify_in_substrate() {
    let suri = "//Alice";
    let ours = Keypair::from_suri(suri).expect("alice");
    let reference =
        subxt_signer::sr25519::Keypair::from_uri(&subxt_signer::SecretUri::from_str(suri).expect("uri")).expect("ref");
    let message = b"a message signed by substrate tooling";
    let theirs = platform_types::Signature::from_bytes(reference.sign(message).0);
    assert_eq!(ours.public().verify_raw(message, &theirs), Ok(()));
    let mine = ours.sign_raw(message);
    assert!(subxt_signer::sr25519::verify(
        &subxt_signer::sr25519::Signature(*mine.as_bytes()),
        message,
        &reference.public_key()
    ));
    assert!(ours.public().verify_raw(b"another message", &mine).is_err());
}

/// A signer's key is decompressed once and remembered: checks after the first give the same
/// answers, and a key that is no curve point is refused every time (never remembered).
#[test]
fn remembered_keys_verify_as_before_and_bad_keys_stay_refused() {
    let alice = Keypair::from_suri("//Alice").expect("alice");
    let signature = alice.sign_raw(b"twice");
    for _ in 0..3 {
        assert_eq!(alice.public().verify_raw(b"twice", &signature), Ok(()));
        assert_eq!(alice.public().verify_raw(b"other", &signature), Err(platform_types::SignatureError::Invalid));
    }
    // Not a canonical Ristretto encoding (the top bit of the last byte set).
    let mut bytes = [0u8; 32];
    bytes[31] = 0xff;
    let bad = PublicKey::from_bytes(bytes);
    for _ in 0..3 {
        assert_eq!(bad.verify_raw(b"twice", &signature), Err(platform_types::SignatureError::BadPublicKey));
    }
}

#[test]
fn ss58_parsing_round_trips() {
    let alice = PublicKey::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").expect("valid");
    assert_eq!(alice, Keypair::from_suri("//Alice").expect("alice").public());
    assert!(PublicKey::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ").is_err());
}

#[test]
fn btcli_wallet_files_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let expected = Keypair::from_suri(phrase).expect("phrase").public();
    let path = platform_types::wallet_hotkey_path(Some(dir.path()), "owner", "default");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");

    let write = |json: serde_json::Value| std::fs::write(&path, json.to_string()).expect("write");
    write(serde_json::json!({
        "secretPhrase": phrase,
        "publicKey": expected.to_hex(),
        "ss58Address": expected.to_ss58(),
    }));
    assert_eq!(Keypair::from_wallet_file(&path).expect("phrase file").public(), expected);

    let seed_key =
        Keypair::from_suri("0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").expect("seed");
    write(serde_json::json!({ "secretSeed": "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60" }));
    assert_eq!(Keypair::from_wallet_file(&path).expect("seed file").public(), seed_key.public());

    write(
        serde_json::json!({ "secretPhrase": phrase, "ss58Address": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" }),
    );
    let mismatch = Keypair::from_wallet_file(&path).expect_err("mismatch detected");
    assert!(mismatch.to_string().contains("does not match"), "{mismatch}");

    std::fs::write(&path, "$NACL...").expect("write");
    assert!(Keypair::from_wallet_file(&path).expect_err("encrypted").to_string().contains("encrypted"));
    assert!(Keypair::from_wallet_file(&dir.path().join("missing")).is_err());
}
