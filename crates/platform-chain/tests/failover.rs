//! A validator with two chain endpoints keeps setting weights when the first chopsticks process
//! is killed, follows the second's blocks, and goes back to the first when it returns. Two
//! real subtensor runtimes (spec 218) from the same chain spec, each on its own loopback port.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{net, register, set_permits, start, vector, within};
use platform_chain::{Chain, FailoverChain, FailoverOptions, Head, LocalChain, Submitted, WeightSetter};
use platform_types::MechanismId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_keep_landing_when_the_first_endpoint_dies_and_it_is_used_again_once_back() {
    let Some(a) = start().await else { return };
    let Some(b) = start().await else { return };
    within(async {
        // The same validator and miners on both chains (same spec, same registrations).
        let keys = register(&a, &["v", "m1", "m2"]).await;
        let uids = |k: &[(platform_types::Keypair, u16)]| k.iter().map(|(_, uid)| *uid).collect::<Vec<_>>();
        assert_eq!(uids(&register(&b, &["v", "m1", "m2"]).await), uids(&keys));
        let (validator, v_uid) = keys[0].clone();
        set_permits(&a, &[v_uid]).await;
        set_permits(&b, &[v_uid]).await;
        let options = FailoverOptions {
            call_timeout: Duration::from_secs(5),
            submit_timeout: Duration::from_secs(20),
            stall: Duration::from_secs(4),
            return_after: Duration::from_secs(2),
            ..FailoverOptions::default()
        };
        let chain = FailoverChain::connect(vec![a.local.url(), b.local.url()], options).await.expect("connects");
        assert_eq!(chain.active_endpoint(), a.local.url());
        let setter = WeightSetter::new(chain.clone(), Arc::new(platform_storage::MemoryStore::new()), validator);
        let (m1, m2) = (keys[1].1, keys[2].1);

        let first = setter.submit(vector(&[m1, m2], &[65535, 100], 0)).await.expect("lands on the first endpoint");
        assert!(matches!(first, Submitted::Set(_)), "{first:?}");
        let on_a = a.chain.weights(net(), MechanismId::new(0), v_uid, None).await.expect("read a");
        assert_eq!(on_a, vec![(m1, 65535), (m2, 100)]);

        let mut blocks = chain.blocks(Head::Best).await.expect("stream");
        // The first endpoint's process dies.
        let common::Fixture { local: local_a, config: config_a, .. } = a;
        local_a.stop().await;
        // The node retries transient refusals (chain_client); so does this test, at most twice.
        let mut second = setter.submit(vector(&[m1, m2], &[100, 65535], 0)).await;
        for _ in 0..2 {
            match &second {
                Err(e) if e.is_transient() => second = setter.submit(vector(&[m1, m2], &[100, 65535], 0)).await,
                _ => break,
            }
        }
        assert!(matches!(second, Ok(Submitted::Set(_))), "{second:?}");
        assert_eq!(chain.active_endpoint(), b.local.url());
        let on_b = b.chain.weights(net(), MechanismId::new(0), v_uid, None).await.expect("read b");
        assert_eq!(on_b, vec![(m1, 100), (m2, 65535)]);

        // The stream follows the second chain's blocks.
        let head_b = b.chain.block(Head::Best).await.expect("head b");
        b.local.new_blocks(2).await.expect("blocks on b");
        loop {
            let block = blocks.next().await.expect("stream open").expect("block");
            if block.number >= head_b.number + 2 && b.chain.metagraph(net(), Some(block)).await.is_ok() {
                break;
            }
        }

        // The first endpoint comes back on its port: the client returns to it.
        let local_a = LocalChain::start(&config_a).await.expect("restart a");
        let url_a = local_a.url();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while chain.active_endpoint() != url_a {
            assert!(tokio::time::Instant::now() < deadline, "never returned to the first endpoint");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(chain.block(Head::Best).await.is_ok());
        local_a.stop().await;
    })
    .await;
}
