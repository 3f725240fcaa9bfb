//! Unit tests of the harness itself (kept out of the harness files, which the chaos bench in
//! `benches/` includes without its tests).

mod checker {
    use crate::harness::checker::*;
    use crate::harness::rng::Rng;

    fn incr(invoke: u64, ret: u64, delta: i64, old: i64) -> Op {
        Op {
            invoke,
            ret: Some(ret),
            kind: Kind::Incr {
                delta,
                outcome: Some((old, old + delta)),
            },
        }
    }

    fn lost_incr(invoke: u64, delta: i64) -> Op {
        Op {
            invoke,
            ret: None,
            kind: Kind::Incr {
                delta,
                outcome: None,
            },
        }
    }

    fn read(invoke: u64, ret: u64, value: i64) -> Op {
        Op {
            invoke,
            ret: Some(ret),
            kind: Kind::Read { value },
        }
    }

    fn ok(ops: &[Op]) -> bool {
        match check(ops, 0, 1_000_000) {
            Verdict::Linearizable => true,
            Verdict::Violation(_) => false,
            Verdict::GaveUp { steps } => panic!("gave up after {steps} steps"),
        }
    }

    #[test]
    fn sequential_histories() {
        assert!(ok(&[]));
        assert!(ok(&[
            incr(0, 1, 2, 0),
            read(2, 3, 2),
            incr(4, 5, 3, 2),
            read(6, 7, 5)
        ]));
        // A read of the value before an increment that had already been acknowledged.
        assert!(!ok(&[incr(0, 1, 2, 0), read(2, 3, 0)]));
        // An acknowledged increment lost later (what a lost committed entry looks like).
        assert!(!ok(&[incr(0, 1, 1, 0), read(2, 3, 1), read(4, 5, 0)]));
        // An answer that contradicts itself.
        let bad = Op {
            invoke: 0,
            ret: Some(1),
            kind: Kind::Incr {
                delta: 1,
                outcome: Some((0, 5)),
            },
        };
        match check(&[bad], 0, 100) {
            Verdict::Violation(v) => assert!(v.note.is_some()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn concurrent_operations_may_go_either_way() {
        // Two overlapping increments, answered in either order.
        assert!(ok(&[incr(0, 10, 1, 2), incr(1, 9, 2, 0)]));
        assert!(ok(&[incr(0, 10, 1, 0), incr(1, 9, 2, 1)]));
        // A read overlapping an increment sees the old or the new value, nothing else.
        assert!(ok(&[incr(0, 10, 5, 0), read(1, 9, 0)]));
        assert!(ok(&[incr(0, 10, 5, 0), read(1, 9, 5)]));
        assert!(!ok(&[incr(0, 10, 5, 0), read(1, 9, 3)]));
        // Two reads inside one increment: once the new value was seen, the old one is gone.
        assert!(ok(&[incr(0, 10, 5, 0), read(1, 2, 0), read(3, 4, 5)]));
        assert!(!ok(&[incr(0, 10, 5, 0), read(1, 2, 5), read(3, 4, 0)]));
    }

    #[test]
    fn increments_without_an_answer() {
        // It may have happened...
        assert!(ok(&[lost_incr(0, 2), read(5, 6, 2)]));
        // ...or not...
        assert!(ok(&[lost_incr(0, 2), read(5, 6, 0)]));
        // ...but not before it was invoked, and not twice.
        assert!(!ok(&[read(0, 1, 2), lost_incr(2, 2)]));
        assert!(!ok(&[lost_incr(0, 2), read(5, 6, 4)]));
        // Once seen, it stays.
        assert!(!ok(&[lost_incr(0, 2), read(5, 6, 2), read(7, 8, 0)]));
        // An increment applied twice (a retry not recognized) shows as a value nobody explains.
        assert!(!ok(&[incr(0, 1, 3, 0), read(2, 3, 6)]));
    }

    #[test]
    fn violation_points_at_the_operation() {
        let ops = [
            incr(0, 1, 1, 0),
            read(2, 3, 1),
            incr(4, 5, 1, 1),
            read(6, 7, 1),
        ];
        match check(&ops, 0, 1000) {
            Verdict::Violation(v) => {
                assert_eq!(v.linearized, 3);
                assert_eq!(v.value, 2);
                assert_eq!(v.stuck, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Random concurrent histories built from a real sequential order (each operation's
    /// interval contains its linearization point) are accepted; changing one read to a value
    /// the counter never had makes them rejected.
    #[test]
    fn random_histories() {
        let mut rng = Rng::new(42);
        for round in 0..200 {
            let n = 2 + rng.index(60);
            let mut value = 0;
            let mut ops = Vec::new();
            for k in 0..n as u64 {
                let point = k * 10 + 5;
                let invoke = point - rng.range(0, 40).min(point);
                let ret = point + rng.range(0, 40);
                if rng.chance(500) {
                    let delta = rng.range(1, 3) as i64;
                    let lost = rng.chance(100);
                    ops.push(Op {
                        invoke,
                        ret: (!lost).then_some(ret),
                        kind: Kind::Incr {
                            delta,
                            outcome: (!lost).then_some((value, value + delta)),
                        },
                    });
                    value += delta;
                } else {
                    ops.push(read(invoke, ret, value));
                }
            }
            assert!(ok(&ops), "round {round}: {ops:?}");
            if let Some(i) = ops.iter().position(|o| matches!(o.kind, Kind::Read { .. })) {
                ops[i].kind = Kind::Read { value: -1 };
                assert!(!ok(&ops), "round {round}: {ops:?}");
            }
        }
    }
}

mod proxy {
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::net::UdpSocket;

    use crate::harness::proxy::*;

    /// An echo "node" behind a proxy: packets pass, are dropped per direction, and are delayed.
    #[tokio::test]
    async fn relays_and_obeys_rules() {
        let node = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let node_addr = node.local_addr().unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                let (n, from) = node.recv_from(&mut buf).await.unwrap();
                node.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let net = Arc::new(Net::new(1));
        let proxy = Proxy::start(1, node_addr, Arc::new(HashMap::new()), net.clone())
            .await
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(proxy.addr).await.unwrap();
        let mut buf = [0u8; 64];
        let ask = |msg: &'static [u8]| {
            let client = &client;
            async move {
                client.send(msg).await.unwrap();
            }
        };
        ask(b"one").await;
        let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"one");

        // Answers dropped (node → client): the request arrives, nothing comes back.
        net.set(Peer::Node(1), Peer::Client, Rule::Drop);
        ask(b"two").await;
        assert!(
            tokio::time::timeout(Duration::from_millis(300), client.recv(&mut buf))
                .await
                .is_err()
        );
        net.heal();
        net.set(
            Peer::Node(1),
            Peer::Client,
            Rule::Delay {
                ms: 5,
                jitter_ms: 5,
            },
        );
        ask(b"three").await;
        let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"three");
        assert!(net.dropped.load(Ordering::Relaxed) >= 1);
        echo.abort();
    }
}

mod rng {
    use crate::harness::rng::Rng;

    #[test]
    fn same_seed_same_sequence() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::new(7);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut d = Rng::derive(7, 1);
        assert_ne!(d.next_u64(), Rng::derive(7, 2).next_u64());
        for _ in 0..100 {
            assert!((3..=5).contains(&d.range(3, 5)));
        }
    }
}

mod nemesis {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use crate::harness::nemesis::{schedule, Fault, Role};

    fn kind(f: &Fault) -> &'static str {
        match f {
            Fault::Kill(Role::Leader) => "kill leader",
            Fault::Kill(Role::Follower) => "kill follower",
            Fault::KillTwo => "kill two",
            Fault::KillAll => "kill all",
            Fault::Pause(Role::Leader) => "pause leader",
            Fault::Pause(Role::Follower) => "pause follower",
            Fault::Isolate { .. } => "isolate",
            Fault::CutLink => "cut link",
            Fault::Deafen => "deafen",
            Fault::Slow { .. } => "slow",
            Fault::Lossy { .. } => "lossy",
        }
    }

    /// The schedule is a function of the seed, fills the time asked for, and over a few seeds
    /// uses every kind of fault.
    #[test]
    fn schedule_is_seeded_and_covers_every_fault() {
        let total = Duration::from_secs(60);
        assert_eq!(schedule(9, total, 2), schedule(9, total, 2));
        assert_ne!(schedule(9, total, 2), schedule(10, total, 2));
        let mut kinds = BTreeSet::new();
        for seed in 0..20 {
            let steps = schedule(seed, total, 2);
            let span: Duration = steps.iter().map(|s| s.hold + s.calm).sum();
            assert!(span >= total);
            assert!(steps.iter().all(|s| s.group < 2));
            kinds.extend(steps.iter().map(|s| kind(&s.fault)));
        }
        assert_eq!(kinds.len(), 11, "{kinds:?}");
    }
}
