//! Leaderboard operations over the cluster, mirroring leaderboard-core's [`Board`] API.
//!
//! Writes go to the group owning the member (through its batcher). Board-wide reads fan out to
//! every group in parallel and are merged with [`leaderboard_core::merge`]:
//!
//! * rank of a key = 1 + Σ over groups of entries above it (`merge::global_rank`);
//! * top N / page = k-way merge of each group's best run (`merge::kway`), numbered with
//!   `merge::assign_ranks`;
//! * keyset page = each group's run after the cursor, plus each group's count at or before the
//!   cursor, which gives the first entry's ordinal rank in the same round trip.
//!
//! Competition ranks need the first row's tie group counted across groups, so those reads take
//! one more round trip.
//!
//! [`Board`]: leaderboard_core::Board

use futures::future::try_join_all;
use leaderboard_core::merge::{assign_ranks, global_rank, kway};
use leaderboard_core::{
    BoardConfig, BoardId, Cursor, Entry, Page, RankStyle, RankedEntry, RemoveOutcome, SortKey,
    Window, Write, WriteOutcome,
};

use super::{unexpected, ShardClient, Target};
use crate::command::{Command, CommandOutcome, Query, QueryReply};
use crate::error::{Error, Result};
use crate::protocol::{ClientReply, ClientRequest, ReadConsistency};
use crate::state_machine::app::MAX_QUERY_ROWS;
use crate::types::GroupId;

/// How a read is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Linearizable (leader, read index; the default) or follower read (any replica, may lag).
    pub consistency: ReadConsistency,
    /// Which time window of the board.
    pub window: Window,
}

impl ReadOptions {
    /// Follower reads of the current window: cheaper, may be slightly stale.
    pub fn follower() -> Self {
        Self {
            consistency: ReadConsistency::Local,
            window: Window::Current,
        }
    }
}

fn bad_reply(r: QueryReply) -> Error {
    Error::Malformed(format!("unexpected query reply {r:?}"))
}

fn outcome_mismatch(o: CommandOutcome) -> Error {
    Error::Malformed(format!("unexpected command outcome {o:?}"))
}

fn check_rows(n: usize) -> Result<()> {
    if n > MAX_QUERY_ROWS {
        return Err(Error::Rejected(format!(
            "at most {MAX_QUERY_ROWS} rows per read, asked for {n}"
        )));
    }
    Ok(())
}

impl ShardClient {
    // ----- plumbing -------------------------------------------------------------------------

    /// Submits one command to `group` through its batcher (committed through Raft before the
    /// outcome returns).
    pub async fn submit(&self, group: GroupId, cmd: Command) -> Result<CommandOutcome> {
        let b = self
            .batchers
            .get(group as usize)
            .ok_or_else(|| Error::Config(format!("group {group} is outside the layout")))?;
        b.submit(cmd).await
    }

    /// Runs one query on `group`.
    pub async fn query(
        &self,
        group: GroupId,
        query: Query,
        consistency: ReadConsistency,
    ) -> Result<QueryReply> {
        let req = ClientRequest::Read { query, consistency };
        match self.call(group, req, Target::from(consistency)).await? {
            ClientReply::Read(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    /// Runs `query` on every group in parallel; answers in group order.
    async fn fan_out(&self, query: Query, c: ReadConsistency) -> Result<Vec<QueryReply>> {
        try_join_all(
            self.inner
                .cfg
                .layout
                .group_ids()
                .map(|g| self.query(g, query.clone(), c)),
        )
        .await
    }

    /// Commits `cmd` in every group in parallel (board-wide commands: create, drop, roll);
    /// outcomes in group order.
    async fn submit_all(&self, cmd: Command) -> Result<Vec<CommandOutcome>> {
        try_join_all(
            self.inner
                .cfg
                .layout
                .group_ids()
                .map(|g| self.submit(g, cmd.clone())),
        )
        .await
    }

    fn forget_board(&self, board: &str) {
        self.inner.boards.lock().expect("poisoned").remove(board);
    }

    /// The board's configuration (cached after the first call; configurations never change).
    pub async fn board_config(&self, board: &str) -> Result<BoardConfig> {
        if let Some(c) = self.inner.boards.lock().expect("poisoned").get(board) {
            return Ok(c.clone());
        }
        let q = Query::BoardConfig {
            board: BoardId::new(board),
        };
        match self.query(0, q, ReadConsistency::Linearizable).await? {
            QueryReply::BoardConfig(Some(c)) => {
                self.inner
                    .boards
                    .lock()
                    .expect("poisoned")
                    .insert(BoardId::new(board), c.clone());
                Ok(c)
            }
            QueryReply::BoardConfig(None) => {
                Err(leaderboard_core::Error::BoardNotFound(board.to_string()).into())
            }
            r => Err(bad_reply(r)),
        }
    }

    /// Board ids, sorted (every group holds every board).
    pub async fn boards(&self) -> Result<Vec<BoardId>> {
        match self
            .query(0, Query::Boards, ReadConsistency::Linearizable)
            .await?
        {
            QueryReply::Boards(ids) => Ok(ids),
            r => Err(bad_reply(r)),
        }
    }

    // ----- boards and writes ----------------------------------------------------------------

    /// Creates a board in every group. Idempotent: creating an existing board with the same
    /// configuration succeeds; with another configuration it fails with
    /// `Error::Leaderboard(BoardExists)`.
    pub async fn create_board(&self, board: &str, config: BoardConfig) -> Result<()> {
        config.validate()?;
        let id = BoardId::new(board);
        let cmd = Command::CreateBoard {
            board: id.clone(),
            config: config.clone(),
        };
        let outcomes = self.submit_all(cmd).await?;
        for o in outcomes {
            if o != CommandOutcome::Created {
                return Err(outcome_mismatch(o));
            }
        }
        self.inner
            .boards
            .lock()
            .expect("poisoned")
            .insert(id, config);
        Ok(())
    }

    /// Drops a board in every group; true if any group had it.
    pub async fn drop_board(&self, board: &str) -> Result<bool> {
        self.forget_board(board);
        let cmd = Command::DropBoard {
            board: BoardId::new(board),
        };
        let outcomes = self.submit_all(cmd).await?;
        let mut any = false;
        for o in outcomes {
            match o {
                CommandOutcome::Dropped(d) => any |= d,
                o => return Err(outcome_mismatch(o)),
            }
        }
        Ok(any)
    }

    async fn group_of(&self, board: &str, member: &str) -> Result<GroupId> {
        let cfg = self.board_config(board).await?;
        leaderboard_core::validate_member(member)?;
        Ok(self
            .inner
            .cfg
            .layout
            .group_of_member(member, cfg.partitions))
    }

    fn note_error<T>(&self, board: &str, r: Result<T>) -> Result<T> {
        if let Err(Error::Leaderboard(e)) = &r {
            if e.is_not_found() {
                self.forget_board(board);
            }
        }
        r
    }

    /// Applies one write, committed through the member's group before it returns. Give it an
    /// op id ([`Write::op_id`]) so retries across leader changes cannot apply it twice. See
    /// [`CommandOutcome::Written`] for which fields of the outcome are board-wide.
    pub async fn write(&self, board: &str, write: Write) -> Result<WriteOutcome> {
        let group = self.group_of(board, &write.member).await?;
        let cmd = Command::Write {
            board: BoardId::new(board),
            write,
        };
        match self.note_error(board, self.submit(group, cmd).await)? {
            CommandOutcome::Written(o) => Ok(o),
            o => Err(outcome_mismatch(o)),
        }
    }

    /// Applies many writes concurrently (they share Raft entries with each other and with other
    /// callers' writes); one result per write, in order.
    pub async fn write_batch(&self, board: &str, writes: Vec<Write>) -> Vec<Result<WriteOutcome>> {
        futures::future::join_all(writes.into_iter().map(|w| self.write(board, w))).await
    }

    /// Applies one write like [`ShardClient::write`] but asks for no outcome: no node computes
    /// its ranks (a large part of a write's cost), and the answer is only whether it was applied
    /// (false for a repeated op id). For callers that would discard the outcome.
    pub async fn apply(&self, board: &str, write: Write) -> Result<bool> {
        let group = self.group_of(board, &write.member).await?;
        let cmd = Command::Apply {
            board: BoardId::new(board),
            write,
        };
        match self.note_error(board, self.submit(group, cmd).await)? {
            CommandOutcome::Replicated(applied) => Ok(applied),
            o => Err(outcome_mismatch(o)),
        }
    }

    /// [`ShardClient::apply`] for many writes at once (they share Raft entries, like
    /// [`ShardClient::write_batch`]); one result per write, in order.
    pub async fn apply_batch(&self, board: &str, writes: Vec<Write>) -> Vec<Result<bool>> {
        futures::future::join_all(writes.into_iter().map(|w| self.apply(board, w))).await
    }

    /// Removes a member from the current window.
    pub async fn remove(&self, board: &str, member: &str) -> Result<Option<RemoveOutcome>> {
        let group = self.group_of(board, member).await?;
        let cmd = Command::Remove {
            board: BoardId::new(board),
            member: member.to_string(),
        };
        match self.note_error(board, self.submit(group, cmd).await)? {
            CommandOutcome::Removed(o) => Ok(o),
            o => Err(outcome_mismatch(o)),
        }
    }

    /// Rolls a board with a reset schedule forward to `now` in every group (call it from a
    /// timer, like `Board::roll`); true if any group rolled.
    pub async fn roll(&self, board: &str, now: i64) -> Result<bool> {
        let cmd = Command::Roll {
            board: BoardId::new(board),
            now,
        };
        let outcomes = self.submit_all(cmd).await?;
        let mut any = false;
        for o in outcomes {
            match o {
                CommandOutcome::Rolled(r) => any |= r,
                o => return Err(outcome_mismatch(o)),
            }
        }
        Ok(any)
    }

    // ----- reads (linearizable, current window) ---------------------------------------------

    /// Number of entries on the board.
    pub async fn count(&self, board: &str) -> Result<u64> {
        self.count_with(board, ReadOptions::default()).await
    }

    /// The member's entry and board-wide rank (board's rank style), `None` if absent.
    pub async fn entry(&self, board: &str, member: &str) -> Result<Option<RankedEntry>> {
        self.entry_with(board, member, ReadOptions::default()).await
    }

    /// The member's board-wide rank in `style`.
    pub async fn rank(&self, board: &str, member: &str, style: RankStyle) -> Result<Option<u64>> {
        self.rank_with(board, member, style, ReadOptions::default())
            .await
    }

    /// The best `n` entries, ranked.
    pub async fn top(&self, board: &str, n: usize) -> Result<Vec<RankedEntry>> {
        self.top_with(board, n, ReadOptions::default()).await
    }

    /// The member with up to `above` entries just above and `below` just below it.
    pub async fn around(
        &self,
        board: &str,
        member: &str,
        above: usize,
        below: usize,
    ) -> Result<Option<Vec<RankedEntry>>> {
        self.around_with(board, member, above, below, ReadOptions::default())
            .await
    }

    /// `limit` entries from 0-based `offset`. Costs O(offset + limit) per group: prefer
    /// [`ShardClient::page_after`] to scroll deep.
    pub async fn page(&self, board: &str, offset: u64, limit: usize) -> Result<Vec<RankedEntry>> {
        self.page_with(board, offset, limit, ReadOptions::default())
            .await
    }

    /// A keyset page after `cursor` (from the top if `None`).
    pub async fn page_after(
        &self,
        board: &str,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.page_after_with(board, cursor, limit, ReadOptions::default())
            .await
    }

    // ----- reads with options ---------------------------------------------------------------

    /// [`ShardClient::count`] with read options.
    pub async fn count_with(&self, board: &str, o: ReadOptions) -> Result<u64> {
        let q = Query::Count {
            board: BoardId::new(board),
            window: o.window,
        };
        let mut n = 0;
        for r in self.note_error(board, self.fan_out(q, o.consistency).await)? {
            match r {
                QueryReply::Count(c) => n += c,
                r => return Err(bad_reply(r)),
            }
        }
        Ok(n)
    }

    async fn raw_entry(&self, board: &str, member: &str, o: ReadOptions) -> Result<Option<Entry>> {
        let group = self.group_of(board, member).await?;
        let q = Query::Entry {
            board: BoardId::new(board),
            member: member.to_string(),
            window: o.window,
        };
        match self.note_error(board, self.query(group, q, o.consistency).await)? {
            QueryReply::Entry(e) => Ok(e),
            r => Err(bad_reply(r)),
        }
    }

    /// 1 + entries above `key` (or its tie group) across every group.
    async fn rank_of_key(
        &self,
        board: &str,
        key: &SortKey,
        style: RankStyle,
        o: ReadOptions,
    ) -> Result<u64> {
        let q = Query::CountAbove {
            board: BoardId::new(board),
            key: key.clone(),
            style,
            window: o.window,
        };
        let mut counts = Vec::new();
        for r in self.fan_out(q, o.consistency).await? {
            match r {
                QueryReply::CountAbove(c) => counts.push(c),
                r => return Err(bad_reply(r)),
            }
        }
        Ok(global_rank(counts))
    }

    /// [`ShardClient::entry`] with read options.
    pub async fn entry_with(
        &self,
        board: &str,
        member: &str,
        o: ReadOptions,
    ) -> Result<Option<RankedEntry>> {
        let style = self.board_config(board).await?.rank_style;
        let Some(entry) = self.raw_entry(board, member, o).await? else {
            return Ok(None);
        };
        let rank = self.rank_of_key(board, &entry.sort_key(), style, o).await?;
        Ok(Some(RankedEntry { rank, entry }))
    }

    /// [`ShardClient::rank`] with read options.
    pub async fn rank_with(
        &self,
        board: &str,
        member: &str,
        style: RankStyle,
        o: ReadOptions,
    ) -> Result<Option<u64>> {
        let Some(entry) = self.raw_entry(board, member, o).await? else {
            return Ok(None);
        };
        Ok(Some(
            self.rank_of_key(board, &entry.sort_key(), style, o).await?,
        ))
    }

    /// Each group's best `n` after `after`, merged; plus the summed at-or-before counts.
    async fn merged_after(
        &self,
        board: &str,
        after: Option<SortKey>,
        n: usize,
        o: ReadOptions,
    ) -> Result<(BoardConfig, Vec<Entry>, u64)> {
        check_rows(n)?;
        let cfg = self.board_config(board).await?;
        let q = Query::After {
            board: BoardId::new(board),
            after,
            n,
            window: o.window,
        };
        let mut runs = Vec::new();
        let mut before = 0;
        for r in self.note_error(board, self.fan_out(q, o.consistency).await)? {
            match r {
                QueryReply::After {
                    entries,
                    at_or_before,
                } => {
                    runs.push(entries);
                    before += at_or_before;
                }
                r => return Err(bad_reply(r)),
            }
        }
        let merged = kway(runs, cfg.order, n);
        Ok((cfg, merged, before))
    }

    /// [`ShardClient::top`] with read options.
    pub async fn top_with(
        &self,
        board: &str,
        n: usize,
        o: ReadOptions,
    ) -> Result<Vec<RankedEntry>> {
        let (cfg, run, _) = self.merged_after(board, None, n, o).await?;
        Ok(assign_ranks(run, 1, 1, cfg.rank_style))
    }

    /// [`ShardClient::page`] with read options.
    pub async fn page_with(
        &self,
        board: &str,
        offset: u64,
        limit: usize,
        o: ReadOptions,
    ) -> Result<Vec<RankedEntry>> {
        let n = usize::try_from(offset)
            .ok()
            .and_then(|off| off.checked_add(limit))
            .ok_or_else(|| Error::Rejected(format!("offset {offset} is too large")))?;
        let (cfg, run, _) = self.merged_after(board, None, n, o).await?;
        let ranked = assign_ranks(run, 1, 1, cfg.rank_style);
        Ok(ranked.into_iter().skip(offset as usize).collect())
    }

    /// Ranks a run whose first entry has ordinal rank `first_ordinal`.
    async fn rank_run(
        &self,
        board: &str,
        cfg: &BoardConfig,
        run: Vec<Entry>,
        first_ordinal: u64,
        o: ReadOptions,
    ) -> Result<Vec<RankedEntry>> {
        let first_rank = match (cfg.rank_style, run.first()) {
            (RankStyle::Competition, Some(first)) => {
                self.rank_of_key(board, &first.sort_key(), RankStyle::Competition, o)
                    .await?
            }
            _ => first_ordinal,
        };
        Ok(assign_ranks(run, first_ordinal, first_rank, cfg.rank_style))
    }

    /// [`ShardClient::page_after`] with read options.
    pub async fn page_after_with(
        &self,
        board: &str,
        cursor: Option<&Cursor>,
        limit: usize,
        o: ReadOptions,
    ) -> Result<Page> {
        let after = cursor.map(|c| c.key().clone());
        let (cfg, mut run, before) = self
            .merged_after(board, after, limit.saturating_add(1), o)
            .await?;
        let more = run.len() > limit;
        run.truncate(limit);
        let next_cursor = if more {
            run.last().map(|e| Cursor::from_key(e.sort_key()))
        } else {
            None
        };
        let entries = self.rank_run(board, &cfg, run, before + 1, o).await?;
        Ok(Page::new(entries, next_cursor))
    }

    /// [`ShardClient::around`] with read options.
    pub async fn around_with(
        &self,
        board: &str,
        member: &str,
        above: usize,
        below: usize,
        o: ReadOptions,
    ) -> Result<Option<Vec<RankedEntry>>> {
        check_rows(above)?;
        check_rows(below)?;
        let cfg = self.board_config(board).await?;
        let Some(own) = self.raw_entry(board, member, o).await? else {
            return Ok(None);
        };
        let key = own.sort_key();
        let id = BoardId::new(board);
        let before_q = Query::Before {
            board: id.clone(),
            key: key.clone(),
            n: above,
            window: o.window,
        };
        let (ordinal, befores, afters) = futures::try_join!(
            self.rank_of_key(board, &key, RankStyle::Ordinal, o),
            self.fan_out(before_q, o.consistency),
            self.merged_after(board, Some(key.clone()), below, o),
        )?;
        let mut run = Vec::new();
        for r in befores {
            match r {
                QueryReply::Before(v) => run.extend(v),
                r => return Err(bad_reply(r)),
            }
        }
        // Nearest `above` entries above the member, then best first.
        run.sort_by(|a, b| b.sort_key().cmp_in(&a.sort_key(), cfg.order));
        run.truncate(above);
        run.reverse();
        let first_ordinal = ordinal - run.len() as u64;
        run.push(own);
        run.extend(afters.1);
        Ok(Some(
            self.rank_run(board, &cfg, run, first_ordinal, o).await?,
        ))
    }
}
