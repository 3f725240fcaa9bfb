//! Which group owns which partition.
//!
//! Every board is split into `partitions` partitions by leaderboard-core's stable member hash;
//! group `g` of `groups` owns the partitions `p` with `p % groups == g`. The layout is static
//! configuration shared by nodes and clients (both must agree); changing it means moving data,
//! which is not implemented.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::GroupId;

/// The static partition → group map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Number of shard groups.
    pub groups: u32,
    /// Partitions per board (across all groups).
    pub partitions: u16,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            groups: 1,
            partitions: 16,
        }
    }
}

impl Layout {
    /// Validates the layout.
    pub fn validate(&self) -> Result<()> {
        if self.groups == 0 || self.partitions == 0 || u32::from(self.partitions) < self.groups {
            return Err(Error::Config(format!(
                "layout needs 1 <= groups <= partitions, got {} groups and {} partitions",
                self.groups, self.partitions
            )));
        }
        Ok(())
    }

    /// The group owning partition `p`.
    pub fn group_of_partition(&self, p: u16) -> GroupId {
        u32::from(p) % self.groups
    }

    /// The partitions owned by `group`, ascending.
    pub fn partitions_of(&self, group: GroupId) -> Vec<u16> {
        (0..self.partitions)
            .filter(|p| self.group_of_partition(*p) == group)
            .collect()
    }

    /// All group ids.
    pub fn group_ids(&self) -> impl Iterator<Item = GroupId> {
        0..self.groups
    }
}
