//! The board's query methods: shorthands for the current window's
//! [`Standings`] methods.

use super::Board;
use crate::{Cursor, Fanout, MemoryUsage, Page, RankStyle, RankedEntry};

impl Board {
    /// Number of entries in the current window.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::Board::new("b", Default::default()).unwrap().count(), 0);
    /// ```
    pub fn count(&self) -> u64 {
        self.current().count()
    }

    /// The member's entry and rank (board's rank style) in the current window.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0).metadata(b"Ann".to_vec())).unwrap();
    /// assert_eq!(b.entry("a").unwrap().entry.metadata.as_deref(), Some(&b"Ann"[..]));
    /// ```
    pub fn entry(&self, member: &str) -> Option<RankedEntry> {
        self.current().entry(member)
    }

    /// The member's rank in `style`.
    ///
    /// ```
    /// use leaderboard_core::{Board, RankStyle, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.rank("a", RankStyle::Ordinal), Some(1));
    /// ```
    pub fn rank(&self, member: &str, style: RankStyle) -> Option<u64> {
        self.current().rank(member, style)
    }

    /// Ranks of many members in one call.
    ///
    /// ```
    /// use leaderboard_core::{Board, RankStyle, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.ranks(&["a", "b"], RankStyle::Ordinal), vec![Some(1), None]);
    /// ```
    pub fn ranks<S: AsRef<str> + Sync>(&self, members: &[S], style: RankStyle) -> Vec<Option<u64>> {
        self.current().ranks(members, style)
    }

    /// The best `n` entries.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.top(3).len(), 1);
    /// ```
    pub fn top(&self, n: usize) -> Vec<RankedEntry> {
        self.current().top(n)
    }

    /// The best `n` entries with an explicit fan-out choice.
    ///
    /// ```
    /// use leaderboard_core::{Board, Fanout};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// assert!(b.top_with(3, Fanout::Parallel).is_empty());
    /// ```
    pub fn top_with(&self, n: usize, fanout: Fanout) -> Vec<RankedEntry> {
        self.current().top_with(n, fanout)
    }

    /// `limit` entries from 0-based rank `offset`.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert!(b.page(1, 10).is_empty());
    /// ```
    pub fn page(&self, offset: u64, limit: usize) -> Vec<RankedEntry> {
        self.current().page(offset, limit)
    }

    /// Keyset pagination (see [`crate::Standings::page_after`]).
    ///
    /// ```
    /// use leaderboard_core::Board;
    /// let b = Board::new("b", Default::default()).unwrap();
    /// assert!(b.page_after(None, 10).next_cursor.is_none());
    /// ```
    pub fn page_after(&self, cursor: Option<&Cursor>, limit: usize) -> Page {
        self.current().page_after(cursor, limit)
    }

    /// The member and its neighbours (see [`crate::Standings::around`]).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.around("a", 5, 5).unwrap().len(), 1);
    /// assert!(b.around("zz", 5, 5).is_none());
    /// ```
    pub fn around(&self, member: &str, above: usize, below: usize) -> Option<Vec<RankedEntry>> {
        self.current().around(member, above, below)
    }

    /// Percentile of the member (see [`crate::Standings::percentile`]).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.percentile("a"), Some(100.0));
    /// ```
    pub fn percentile(&self, member: &str) -> Option<f64> {
        self.current().percentile(member)
    }

    /// Memory of the current window, by kind.
    ///
    /// ```
    /// let b = leaderboard_core::Board::new("b", Default::default()).unwrap();
    /// assert_eq!(b.memory().entries, 0);
    /// ```
    pub fn memory(&self) -> MemoryUsage {
        self.current().memory()
    }
}
