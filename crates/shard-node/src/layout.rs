//! Which group owns which partition.
//!
//! Every board is split into `P` partitions (its `BoardConfig::partitions`) by
//! leaderboard-core's frozen member hash ([`leaderboard_core::partition_of`]); group `g` of
//! `groups` owns the partitions `p` with `p % groups == g`, of every board. The layout is static
//! configuration that nodes and clients must agree on; changing the number of groups means moving
//! data, which is not implemented. A board with fewer partitions than there are groups simply
//! leaves the higher groups empty for that board.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::GroupId;

/// The static partition → group map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Number of shard groups.
    pub groups: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Self { groups: 1 }
    }
}

impl Layout {
    /// A layout of `groups` groups.
    pub fn new(groups: u32) -> Self {
        Self { groups }
    }

    /// Validates the layout.
    pub fn validate(&self) -> Result<()> {
        if self.groups == 0 || self.groups > 4096 {
            return Err(Error::Config(format!(
                "layout needs 1..=4096 groups, got {}",
                self.groups
            )));
        }
        Ok(())
    }

    /// The group owning partition `p`.
    pub fn group_of_partition(&self, p: u16) -> GroupId {
        u32::from(p) % self.groups
    }

    /// The group owning `member` on a board of `partitions` partitions.
    pub fn group_of_member(&self, member: &str, partitions: u16) -> GroupId {
        self.group_of_partition(leaderboard_core::partition_of(member, partitions.max(1)))
    }

    /// All group ids.
    pub fn group_ids(&self) -> impl Iterator<Item = GroupId> {
        0..self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_map_to_their_partitions_group() {
        let l = Layout::new(3);
        assert!(l.validate().is_ok());
        assert!(Layout::new(0).validate().is_err());
        for m in ["alice", "bob", "carol", "dave"] {
            let p = leaderboard_core::partition_of(m, 8);
            assert_eq!(l.group_of_member(m, 8), u32::from(p) % 3);
        }
    }
}
