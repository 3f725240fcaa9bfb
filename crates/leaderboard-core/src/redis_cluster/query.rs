//! Board-wide reads of [`RedisBoard`]: one command per partition, sent
//! concurrently, then merged.

use futures::future::try_join_all;
use redis::AsyncCommands;

use super::codec::{Stored, decode, lex_bound, order_key, parse_order_key};
use super::{RedisBoard, backend};
use crate::merge::assign_ranks;
use crate::{Cursor, Entry, Page, RankStyle, RankedEntry, Result};

/// Merges runs of order keys (byte order is rank order) and keeps the
/// first `limit`: ascending, or descending when `desc` (runs read in
/// reverse). Runs are at most `limit` long each, so sorting their
/// concatenation is as cheap as a heap merge at these sizes.
fn merge_keys(runs: Vec<Vec<Vec<u8>>>, limit: usize, desc: bool) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = runs.into_iter().flatten().collect();
    if desc {
        all.sort_unstable_by(|a, b| b.cmp(a));
    } else {
        all.sort_unstable();
    }
    all.truncate(limit);
    all
}

impl RedisBoard {
    /// Runs one `ZRANGE` per partition concurrently; `args` follow the key.
    async fn per_partition(&self, args: &[Vec<u8>]) -> Result<Vec<Vec<Vec<u8>>>> {
        try_join_all(self.partitions().map(|p| {
            let mut c = self.conn.clone();
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(self.zset(p));
            for a in args {
                cmd.arg(a.as_slice());
            }
            async move { cmd.query_async::<Vec<Vec<u8>>>(&mut c).await }
        }))
        .await
        .map_err(backend)
    }

    /// Full entries for merged order keys, in the same order (entries
    /// removed since the keys were read are skipped).
    async fn entries_for(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Entry>> {
        let order = self.config.order;
        let members: Vec<String> = keys
            .iter()
            .map(|k| parse_order_key(order, k).map(|t| t.3))
            .collect::<Result<_>>()?;
        let mut per: Vec<Vec<usize>> = vec![Vec::new(); self.config.partitions as usize];
        for (i, m) in members.iter().enumerate() {
            per[self.part(m) as usize].push(i);
        }
        let fetched = try_join_all(per.iter().enumerate().filter(|(_, v)| !v.is_empty()).map(
            |(p, idx)| {
                let mut c = self.conn.clone();
                let h = self.hash(p as u16);
                let names: Vec<&str> = idx.iter().map(|&i| members[i].as_str()).collect();
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(h).arg(&names);
                async move {
                    let vals: Vec<Option<Vec<u8>>> = cmd.query_async(&mut c).await?;
                    Ok::<_, redis::RedisError>((p, vals))
                }
            },
        ))
        .await
        .map_err(backend)?;
        let mut slots: Vec<Option<Vec<u8>>> = vec![None; members.len()];
        for (p, vals) in fetched {
            for (&i, v) in per[p].iter().zip(vals) {
                slots[i] = v;
            }
        }
        let mut out = Vec::with_capacity(members.len());
        for (m, v) in members.into_iter().zip(slots) {
            if let Some(v) = v {
                out.push(decode::<Stored>(&v)?.into_entry(m));
            }
        }
        Ok(out)
    }

    /// Ranks a run whose first entry has 0-based ordinal position `first_ord`.
    async fn rank_run(&self, run: Vec<Entry>, first_ord: u64) -> Result<Vec<RankedEntry>> {
        if run.is_empty() {
            return Ok(Vec::new());
        }
        let style = self.config.rank_style;
        let first_rank = match (style, run.first()) {
            (RankStyle::Competition, Some(e)) => self.position(e, style).await?.1,
            _ => first_ord + 1,
        };
        Ok(assign_ranks(run, first_ord + 1, first_rank, style))
    }

    /// Number of entries.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// println!("{} players", b.count().await?);
    /// # Ok(()) }
    /// ```
    pub async fn count(&self) -> Result<u64> {
        let counts = try_join_all(self.partitions().map(|p| {
            let mut c = self.conn.clone();
            let z = self.zset(p);
            async move { c.zcard::<_, u64>(z).await }
        }))
        .await
        .map_err(backend)?;
        Ok(counts.into_iter().sum())
    }

    /// The member's entry and rank in the board's rank style.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// if let Some(me) = b.entry("alice").await? { println!("#{}", me.rank); }
    /// # Ok(()) }
    /// ```
    pub async fn entry(&self, member: &str) -> Result<Option<RankedEntry>> {
        let Some(e) = self.load(member).await?.1 else {
            return Ok(None);
        };
        let rank = self.position(&e, self.config.rank_style).await?.1;
        Ok(Some(RankedEntry { rank, entry: e }))
    }

    /// The member's rank in `style`.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let r = b.rank("alice", leaderboard_core::RankStyle::Competition).await?;
    /// # Ok(()) }
    /// ```
    pub async fn rank(&self, member: &str, style: RankStyle) -> Result<Option<u64>> {
        match self.load(member).await?.1 {
            Some(e) => Ok(Some(self.position(&e, style).await?.1)),
            None => Ok(None),
        }
    }

    /// Ranks of many members, looked up concurrently.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let r = b.ranks(&["alice", "bob"], leaderboard_core::RankStyle::Ordinal).await?;
    /// assert_eq!(r.len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn ranks<S: AsRef<str>>(
        &self,
        members: &[S],
        style: RankStyle,
    ) -> Result<Vec<Option<u64>>> {
        try_join_all(members.iter().map(|m| self.rank(m.as_ref(), style))).await
    }

    /// The best `n` entries: each partition's top `n` fetched concurrently,
    /// then k-way merged.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// for r in b.top(10).await? { println!("{} {}", r.rank, r.entry.member); }
    /// # Ok(()) }
    /// ```
    pub async fn top(&self, n: usize) -> Result<Vec<RankedEntry>> {
        self.page(0, n).await
    }

    /// `limit` entries from 0-based rank `offset`. Each partition returns
    /// its first `offset + limit` keys, so deep offsets are costly: scroll
    /// with [`RedisBoard::page_after`].
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let second_page = b.page(20, 20).await?;
    /// # Ok(()) }
    /// ```
    pub async fn page(&self, offset: u64, limit: usize) -> Result<Vec<RankedEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Redis indexes are i64; an offset past that is past any set's end.
        if offset >= i64::MAX as u64 {
            return Ok(Vec::new());
        }
        let stop = offset.saturating_add(limit as u64 - 1).min(i64::MAX as u64);
        let runs = self
            .per_partition(&[b"0".to_vec(), stop.to_string().into_bytes()])
            .await?;
        let offset_len = usize::try_from(offset).unwrap_or(usize::MAX);
        let mut keys = merge_keys(runs, offset_len.saturating_add(limit), false);
        let keys = keys.split_off(offset_len.min(keys.len()));
        let run = self.entries_for(keys).await?;
        self.rank_run(run, offset).await
    }

    /// Keyset page after `cursor` (see [`crate::Standings::page_after`]);
    /// cursors are interchangeable with the in-memory board's.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let p1 = b.page_after(None, 50).await?;
    /// let p2 = b.page_after(p1.next_cursor.as_ref(), 50).await?;
    /// # Ok(()) }
    /// ```
    pub async fn page_after(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page> {
        let order = self.config.order;
        let min = match cursor {
            Some(c) => {
                let k = c.key();
                lex_bound(
                    true,
                    &order_key(order, k.score, k.subscore, k.at, &k.member),
                )
            }
            None => b"-".to_vec(),
        };
        // Redis counts are i64.
        let fetch = limit.min(i64::MAX as usize - 1) + 1;
        let runs = self
            .per_partition(&[
                min,
                b"+".to_vec(),
                b"BYLEX".to_vec(),
                b"LIMIT".to_vec(),
                b"0".to_vec(),
                fetch.to_string().into_bytes(),
            ])
            .await?;
        let mut keys = merge_keys(runs, fetch, false);
        let more = keys.len() > limit;
        keys.truncate(limit);
        let run = self.entries_for(keys).await?;
        let first_ord = match run.first() {
            Some(e) => self.position(e, RankStyle::Ordinal).await?.0,
            None => 0,
        };
        let next_cursor = match run.last() {
            Some(e) if more => Some(Cursor::from_key(e.sort_key())),
            _ => None,
        };
        Ok(Page {
            entries: self.rank_run(run, first_ord).await?,
            next_cursor,
        })
    }

    /// The member with up to `above` entries just above and `below` just
    /// below it, in rank order (`None` if absent).
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let near = b.around("alice", 2, 2).await?;
    /// # Ok(()) }
    /// ```
    pub async fn around(
        &self,
        member: &str,
        above: usize,
        below: usize,
    ) -> Result<Option<Vec<RankedEntry>>> {
        let Some(own) = self.load(member).await?.1 else {
            return Ok(None);
        };
        let order = self.config.order;
        let k = order_key(order, own.score, own.subscore.unwrap_or(0), own.at, member);
        let fetch = |from: Vec<u8>, to: Vec<u8>, rev: bool, n: usize| {
            let mut args = vec![from, to, b"BYLEX".to_vec()];
            if rev {
                args.push(b"REV".to_vec());
            }
            let count = n.min(i64::MAX as usize).to_string().into_bytes();
            args.extend([b"LIMIT".to_vec(), b"0".to_vec(), count]);
            async move {
                if n == 0 {
                    return Ok(Vec::new());
                }
                self.per_partition(&args).await
            }
        };
        let (up, down, ord) = futures::try_join!(
            fetch(lex_bound(true, &k), b"-".to_vec(), true, above),
            fetch(lex_bound(true, &k), b"+".to_vec(), false, below),
            self.position(&own, RankStyle::Ordinal),
        )?;
        let mut up = merge_keys(up, above, true);
        up.reverse();
        // Saturating: the reads are not one atomic cut, so a concurrent
        // removal may leave fewer entries above than the count said.
        let first_ord = ord.0.saturating_sub(up.len() as u64);
        let mut run = self.entries_for(up).await?;
        run.push(own);
        run.extend(self.entries_for(merge_keys(down, below, false)).await?);
        Ok(Some(self.rank_run(run, first_ord).await?))
    }

    /// Share of entries (in %) ranking at or below the member.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let pct = b.percentile("alice").await?;
    /// # Ok(()) }
    /// ```
    pub async fn percentile(&self, member: &str) -> Result<Option<f64>> {
        let Some(e) = self.load(member).await?.1 else {
            return Ok(None);
        };
        let ((ord, _), count) =
            futures::try_join!(self.position(&e, RankStyle::Ordinal), self.count())?;
        // A concurrent removal between the two reads must not underflow.
        let count = count.max(ord + 1);
        Ok(Some(100.0 * (count - ord) as f64 / count as f64))
    }
}
