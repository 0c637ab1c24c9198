//! Quorum maths and leader order, checked against data fixtures.

use platform_consensus::Committee;
use platform_types::{Epoch, Height, Keypair, PublicKey, Uid, Validator, ValidatorSet, View};

fn committee(stakes: &[u64]) -> (Committee, Vec<PublicKey>) {
    let keys: Vec<PublicKey> =
        (0..stakes.len()).map(|i| Keypair::from_suri(&format!("//q/{i}")).expect("key").public()).collect();
    let validators = keys
        .iter()
        .zip(stakes)
        .enumerate()
        .map(|(i, (k, s))| Validator { hotkey: *k, uid: Uid::new(i as u16), stake: *s })
        .collect();
    (Committee::new(ValidatorSet { epoch: Epoch::new(0), validators }).expect("valid set"), keys)
}

#[test]
fn thresholds_match_the_fixtures() {
    let text = include_str!("fixtures/quorum.txt");
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let stakes: Vec<u64> = cols[0].split(',').map(|s| s.trim().parse().expect("stake")).collect();
        let signers: Vec<usize> = cols[1].split(',').map(|s| s.trim().parse().expect("index")).collect();
        let (committee, keys) = committee(&stakes);
        let stake = committee.stake_of(signers.iter().map(|i| &keys[*i]));
        assert_eq!(committee.is_quorum(stake), cols[2] == "true", "quorum: {line}");
        assert_eq!(committee.exceeds_one_third(stake), cols[3] == "true", "one third: {line}");
        cases += 1;
    }
    assert!(cases >= 12);
}

#[test]
fn leaders_rotate_in_stake_order_with_ties_by_hotkey() {
    let (committee, keys) = committee(&[5, 9, 5, 7]);
    let order: Vec<PublicKey> = committee.members().iter().map(|v| v.hotkey).collect();
    let (low, high) = if keys[0] < keys[2] { (keys[0], keys[2]) } else { (keys[2], keys[0]) };
    assert_eq!(order, vec![keys[1], keys[3], low, high]);
    // (height + view) mod n indexes the order.
    assert_eq!(committee.leader(Height::new(1), View::new(0)), order[1]);
    assert_eq!(committee.leader(Height::new(1), View::new(1)), order[2]);
    assert_eq!(committee.leader(Height::new(4), View::new(0)), order[0]);
    assert_eq!(
        committee.leader(Height::new(u64::MAX), View::new(u64::MAX)),
        order[((2u128 * u64::MAX as u128) % 4) as usize]
    );
}

#[test]
fn invalid_sets_are_refused() {
    assert!(Committee::new(ValidatorSet { epoch: Epoch::new(0), validators: vec![] }).is_err());
    let key = Keypair::from_suri("//q/0").expect("key").public();
    let twice = vec![
        Validator { hotkey: key, uid: Uid::new(0), stake: 1 },
        Validator { hotkey: key, uid: Uid::new(1), stake: 1 },
    ];
    assert!(Committee::new(ValidatorSet { epoch: Epoch::new(0), validators: twice }).is_err());
    let zero = vec![Validator { hotkey: key, uid: Uid::new(0), stake: 0 }];
    assert!(Committee::new(ValidatorSet { epoch: Epoch::new(0), validators: zero }).is_err());
}
