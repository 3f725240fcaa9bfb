//! The faults: a schedule drawn from the seed (which fault, against which role, for how long,
//! how long to rest after), played against the running cluster.
//!
//! The schedule is a pure function of the seed, so a failing seed replays the same sequence of
//! faults; the node a role names (the leader of a group at that moment) and the interleaving of
//! the workload depend on timing and are not repeatable, which is why every run also records
//! exactly what was done when ([`Nemesis::log`]).

use std::time::{Duration, Instant};

use shard_node::types::{GroupId, NodeId};

use super::cluster::Cluster;
use super::proxy::{Peer, Rule};
use super::rng::Rng;

/// Whom a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The current leader of the group.
    Leader,
    /// A node that is not the group's leader.
    Follower,
}

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, restart when healed.
    Kill(Role),
    /// SIGKILL the leader and a follower (no majority), restart both when healed.
    KillTwo,
    /// SIGKILL every node, restart them all when healed.
    KillAll,
    /// SIGSTOP, SIGCONT when healed.
    Pause(Role),
    /// Drop all packets between the node and the other nodes; the client still reaches it
    /// unless `client_too`.
    Isolate {
        /// The node.
        role: Role,
        /// Cut the client off from it too.
        client_too: bool,
    },
    /// Drop the packets between the leader and one follower only (the third node still talks
    /// to both: a partial partition).
    CutLink,
    /// Drop only what the other nodes send to the leader (it still sends; a one-way partition).
    Deafen,
    /// Delay every packet between nodes by `ms` plus up to `jitter_ms` (reordering them).
    Slow {
        /// Fixed delay.
        ms: u64,
        /// Random extra delay.
        jitter_ms: u64,
    },
    /// Lose `per_mille` / 1000 of all packets, client traffic included.
    Lossy {
        /// Loss rate.
        per_mille: u64,
    },
}

/// One step of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The fault.
    pub fault: Fault,
    /// The group whose leader the roles refer to.
    pub group: GroupId,
    /// How long the fault lasts.
    pub hold: Duration,
    /// Rest after healing it.
    pub calm: Duration,
}

/// The schedule for `seed`, long enough to fill `total`.
pub fn schedule(seed: u64, total: Duration, groups: u32) -> Vec<Step> {
    let mut rng = Rng::derive(seed, 0x6e656d65);
    let mut steps = Vec::new();
    let mut t = Duration::ZERO;
    // (weight, fault); long and short pauses both: a short one is a stall within the election
    // timeout, a long one lets the others elect a new leader behind the paused one's back.
    while t < total {
        let pick = rng.range(0, 99);
        let fault = match pick {
            0..=11 => Fault::Kill(Role::Leader),
            12..=19 => Fault::Kill(Role::Follower),
            20..=31 => Fault::Pause(Role::Leader),
            32..=37 => Fault::Pause(Role::Follower),
            38..=47 => Fault::Isolate {
                role: Role::Leader,
                client_too: false,
            },
            48..=52 => Fault::Isolate {
                role: Role::Leader,
                client_too: true,
            },
            53..=57 => Fault::Isolate {
                role: Role::Follower,
                client_too: false,
            },
            58..=64 => Fault::CutLink,
            65..=70 => Fault::Deafen,
            71..=78 => Fault::Slow {
                ms: rng.range(5, 60),
                jitter_ms: rng.range(0, 40),
            },
            79..=86 => Fault::Lossy {
                per_mille: rng.range(50, 300),
            },
            87..=92 => Fault::KillTwo,
            _ => Fault::KillAll,
        };
        let hold = match fault {
            Fault::Pause(_) if rng.chance(300) => rng.range(100, 250),
            _ => rng.range(500, 4_000),
        };
        let step = Step {
            fault,
            group: rng.range(0, u64::from(groups.max(1)) - 1) as GroupId,
            hold: Duration::from_millis(hold),
            calm: Duration::from_millis(rng.range(300, 2_500)),
        };
        t += step.hold + step.calm;
        steps.push(step);
    }
    steps
}

/// What has to be undone.
enum Undo {
    Restart(Vec<NodeId>),
    Resume(NodeId),
    Heal,
}

/// Plays a schedule.
pub struct Nemesis {
    /// Time origin shared with the history (so the log lines up with operations).
    start: Instant,
    rng: Rng,
    /// What was done, with times in ms since the start.
    pub log: Vec<String>,
    /// Faults applied.
    pub applied: usize,
}

impl Nemesis {
    /// A nemesis whose log counts time from `start`.
    pub fn new(seed: u64, start: Instant) -> Self {
        Self {
            start,
            rng: Rng::derive(seed, 0x726f6c65),
            log: Vec::new(),
            applied: 0,
        }
    }

    fn note(&mut self, what: String) {
        let ms = self.start.elapsed().as_secs_f64() * 1e3;
        self.log.push(format!("{ms:10.3} ms  {what}"));
    }

    /// Sleeps until `d` passed or `until`, whichever is first.
    async fn rest(d: Duration, until: Instant) {
        let end = (Instant::now() + d).min(until);
        tokio::time::sleep_until(end.into()).await;
    }

    /// Restarts nodes that exited on their own (each is recorded in the cluster as a failure).
    fn revive(&mut self, c: &mut Cluster) -> Result<(), String> {
        let ms = self.start.elapsed().as_secs_f64() * 1e3;
        for id in c.reap(ms) {
            self.note(format!("node {id} EXITED ON ITS OWN; restarting it"));
            c.restart(id)?;
        }
        Ok(())
    }

    async fn pick(&mut self, c: &Cluster, role: Role, group: GroupId) -> NodeId {
        let ids = c.ids();
        let leader = c.leader(group).await;
        match (role, leader) {
            (Role::Leader, Some(l)) => l,
            (Role::Follower, Some(l)) => {
                let others: Vec<NodeId> = ids.iter().copied().filter(|i| *i != l).collect();
                others[self.rng.index(others.len())]
            }
            // No leader known right now: any node.
            (_, None) => ids[self.rng.index(ids.len())],
        }
    }

    async fn apply(&mut self, c: &mut Cluster, step: &Step) -> Result<Undo, String> {
        let g = step.group;
        let nodes: Vec<Peer> = c.ids().into_iter().map(Peer::Node).collect();
        Ok(match step.fault {
            Fault::Kill(role) => {
                let id = self.pick(c, role, g).await;
                self.note(format!("SIGKILL node {id} ({role:?} of group {g})"));
                c.kill(id).await;
                Undo::Restart(vec![id])
            }
            Fault::KillTwo => {
                let a = self.pick(c, Role::Leader, g).await;
                let mut b = self.pick(c, Role::Follower, g).await;
                if b == a {
                    b = c.ids().into_iter().find(|i| *i != a).unwrap_or(a);
                }
                self.note(format!("SIGKILL nodes {a} and {b} (no majority)"));
                c.kill(a).await;
                c.kill(b).await;
                Undo::Restart(vec![a, b])
            }
            Fault::KillAll => {
                self.note("SIGKILL every node".into());
                let ids = c.ids();
                for id in &ids {
                    c.kill(*id).await;
                }
                Undo::Restart(ids)
            }
            Fault::Pause(role) => {
                let id = self.pick(c, role, g).await;
                self.note(format!(
                    "SIGSTOP node {id} ({role:?} of group {g}) for {:?}",
                    step.hold
                ));
                c.pause(id);
                Undo::Resume(id)
            }
            Fault::Isolate { role, client_too } => {
                let id = self.pick(c, role, g).await;
                self.note(format!(
                    "isolate node {id} ({role:?} of group {g}) from the other nodes{}",
                    if client_too { " and the client" } else { "" }
                ));
                for p in &nodes {
                    if *p != Peer::Node(id) {
                        c.net.set_both(Peer::Node(id), *p, Rule::Drop);
                    }
                }
                if client_too {
                    c.net.set_both(Peer::Node(id), Peer::Client, Rule::Drop);
                }
                Undo::Heal
            }
            Fault::CutLink => {
                let a = self.pick(c, Role::Leader, g).await;
                let mut b = self.pick(c, Role::Follower, g).await;
                if b == a {
                    b = c.ids().into_iter().find(|i| *i != a).unwrap_or(a);
                }
                self.note(format!("cut the link between nodes {a} and {b}"));
                c.net.set_both(Peer::Node(a), Peer::Node(b), Rule::Drop);
                Undo::Heal
            }
            Fault::Deafen => {
                let id = self.pick(c, Role::Leader, g).await;
                self.note(format!(
                    "drop what the other nodes send to node {id} (it still sends)"
                ));
                for p in &nodes {
                    if *p != Peer::Node(id) {
                        c.net.set(*p, Peer::Node(id), Rule::Drop);
                    }
                }
                Undo::Heal
            }
            Fault::Slow { ms, jitter_ms } => {
                self.note(format!(
                    "delay packets between nodes by {ms} ms + up to {jitter_ms} ms"
                ));
                for a in &nodes {
                    for b in &nodes {
                        if a != b {
                            c.net.set(*a, *b, Rule::Delay { ms, jitter_ms });
                        }
                    }
                }
                Undo::Heal
            }
            Fault::Lossy { per_mille } => {
                self.note(format!("lose {per_mille}/1000 of all packets"));
                let all: Vec<Peer> = nodes.iter().copied().chain([Peer::Client]).collect();
                for a in &all {
                    for b in &all {
                        if a != b {
                            c.net.set(*a, *b, Rule::Lossy { per_mille });
                        }
                    }
                }
                Undo::Heal
            }
        })
    }

    async fn undo(&mut self, c: &mut Cluster, undo: Undo) -> Result<(), String> {
        match undo {
            Undo::Restart(ids) => {
                self.note(format!("restart nodes {ids:?}"));
                for id in ids {
                    c.restart(id)?;
                }
            }
            Undo::Resume(id) => {
                self.note(format!("SIGCONT node {id}"));
                c.resume(id);
            }
            Undo::Heal => {
                self.note("heal the network".into());
                c.net.heal();
            }
        }
        Ok(())
    }

    /// Plays `steps` until `until` (the fault in force then is undone at once).
    pub async fn run(
        &mut self,
        c: &mut Cluster,
        steps: &[Step],
        until: Instant,
    ) -> Result<(), String> {
        for step in steps {
            if Instant::now() >= until {
                break;
            }
            self.revive(c)?;
            let undo = self.apply(c, step).await?;
            self.applied += 1;
            Self::rest(step.hold, until).await;
            self.revive(c)?;
            self.undo(c, undo).await?;
            Self::rest(step.calm, until).await;
        }
        // Every step undoes its fault before the next one, so nothing is left broken.
        self.revive(c)
    }
}
