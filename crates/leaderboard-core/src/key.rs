//! The total order of entries, and the keyset cursor built on it.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::{Error, Order, Result};

/// The full sort key of an entry: score, subscore, time, member id.
///
/// Rank order ("better first") is: score (descending on
/// [`Order::HighFirst`] boards, ascending on [`Order::LowFirst`]), then
/// subscore in the same direction (a missing subscore is 0), then the
/// earlier time, then the member id in byte order. Because the member id is
/// unique on a board, this is a total order: every entry has exactly one
/// position, which is what makes ordinal ranks and keyset cursors exact.
///
/// ```
/// use leaderboard_core::{Order, SortKey};
/// use std::cmp::Ordering;
/// let a = SortKey::new(10, 0, 5, "a");
/// let b = SortKey::new(10, 0, 3, "b");
/// // b reached 10 earlier, so b ranks first on either kind of board
/// assert_eq!(b.cmp_in(&a, Order::HighFirst), Ordering::Less);
/// assert_eq!(b.cmp_in(&a, Order::LowFirst), Ordering::Less);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SortKey {
    /// Score.
    pub score: i64,
    /// Subscore (0 when the entry has none).
    pub subscore: i64,
    /// Time the score was reached (ms since the epoch).
    pub at: i64,
    /// Member id.
    pub member: String,
}

impl SortKey {
    /// Builds a key.
    ///
    /// ```
    /// let k = leaderboard_core::SortKey::new(1, 2, 3, "m");
    /// assert_eq!(k.member, "m");
    /// ```
    pub fn new(score: i64, subscore: i64, at: i64, member: impl Into<String>) -> Self {
        SortKey {
            score,
            subscore,
            at,
            member: member.into(),
        }
    }

    /// Compares in rank order: `Less` means `self` ranks better.
    ///
    /// ```
    /// use leaderboard_core::{Order, SortKey};
    /// use std::cmp::Ordering;
    /// let hi = SortKey::new(9, 0, 0, "x");
    /// let lo = SortKey::new(1, 0, 0, "y");
    /// assert_eq!(hi.cmp_in(&lo, Order::HighFirst), Ordering::Less);
    /// assert_eq!(hi.cmp_in(&lo, Order::LowFirst), Ordering::Greater);
    /// ```
    pub fn cmp_in(&self, other: &SortKey, order: Order) -> Ordering {
        compare_parts(
            order,
            (self.score, self.subscore, self.at, &self.member),
            (other.score, other.subscore, other.at, &other.member),
        )
    }

    /// The smallest possible key tied with this one (same score and
    /// subscore): counting entries strictly above it gives the
    /// competition rank.
    ///
    /// ```
    /// use leaderboard_core::{Order, SortKey};
    /// let k = SortKey::new(5, 1, 100, "m");
    /// let floor = k.tie_floor();
    /// assert!(floor.cmp_in(&k, Order::HighFirst).is_lt());
    /// assert_eq!((floor.score, floor.subscore), (5, 1));
    /// ```
    pub fn tie_floor(&self) -> SortKey {
        SortKey {
            score: self.score,
            subscore: self.subscore,
            at: i64::MIN,
            member: String::new(),
        }
    }

    /// Whether two keys are tied for competition ranking.
    ///
    /// ```
    /// use leaderboard_core::SortKey;
    /// assert!(SortKey::new(5, 1, 1, "a").ties_with(&SortKey::new(5, 1, 9, "b")));
    /// ```
    pub fn ties_with(&self, other: &SortKey) -> bool {
        self.score == other.score && self.subscore == other.subscore
    }
}

/// Rank-order comparison on the key's parts (score, subscore, at, member);
/// shared by the index and the merge so both agree exactly.
pub(crate) fn compare_parts(
    order: Order,
    a: (i64, i64, i64, &str),
    b: (i64, i64, i64, &str),
) -> Ordering {
    let primary = match order {
        Order::HighFirst => b.0.cmp(&a.0).then(b.1.cmp(&a.1)),
        Order::LowFirst => a.0.cmp(&b.0).then(a.1.cmp(&b.1)),
    };
    primary
        .then(a.2.cmp(&b.2))
        .then_with(|| a.3.as_bytes().cmp(b.3.as_bytes()))
}

/// An opaque keyset cursor: the full sort key of the last entry of a page.
///
/// A cursor is a position in the order, not an offset, so it stays valid
/// across any number of writes: the next page starts with the first entry
/// that ranks after that key *now*, even if the entry it came from moved or
/// was removed. Serialize it with serde, or as a URL-safe token.
///
/// ```
/// use leaderboard_core::{Cursor, SortKey};
/// let c = Cursor::from_key(SortKey::new(10, 0, 5, "alice"));
/// let token = c.to_token();
/// assert_eq!(Cursor::from_token(&token).unwrap(), c);
/// assert!(Cursor::from_token("zz").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor(SortKey);

impl Cursor {
    /// Makes a cursor positioned right after `key`.
    ///
    /// ```
    /// let c = leaderboard_core::Cursor::from_key(leaderboard_core::SortKey::new(1, 0, 0, "a"));
    /// assert_eq!(c.key().member, "a");
    /// ```
    pub fn from_key(key: SortKey) -> Self {
        Cursor(key)
    }

    /// The key the cursor is positioned after.
    ///
    /// ```
    /// let c = leaderboard_core::Cursor::from_key(leaderboard_core::SortKey::new(1, 0, 0, "a"));
    /// assert_eq!(c.key().score, 1);
    /// ```
    pub fn key(&self) -> &SortKey {
        &self.0
    }

    /// Encodes the cursor as a lowercase hex token (safe in URLs).
    ///
    /// ```
    /// let c = leaderboard_core::Cursor::from_key(leaderboard_core::SortKey::new(1, 0, 0, "a"));
    /// assert!(c.to_token().bytes().all(|b| b.is_ascii_hexdigit()));
    /// ```
    pub fn to_token(&self) -> String {
        let bytes = bincode::serde::encode_to_vec(&self.0, bincode::config::standard())
            .expect("encoding a SortKey into a Vec cannot fail");
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(char::from_digit((b >> 4) as u32, 16).expect("nibble"));
            s.push(char::from_digit((b & 15) as u32, 16).expect("nibble"));
        }
        s
    }

    /// Decodes a token made by [`Cursor::to_token`].
    ///
    /// ```
    /// use leaderboard_core::{Cursor, Error};
    /// assert!(matches!(Cursor::from_token("0"), Err(Error::InvalidCursor(_))));
    /// ```
    pub fn from_token(token: &str) -> Result<Cursor> {
        let bad = |m: &str| Error::InvalidCursor(m.to_string());
        if token.len() % 2 != 0 || token.len() > 4 * crate::MAX_MEMBER_BYTES {
            return Err(bad("token has the wrong length"));
        }
        let digits = token.as_bytes();
        let mut bytes = Vec::with_capacity(digits.len() / 2);
        for pair in digits.chunks(2) {
            let hi = (pair[0] as char)
                .to_digit(16)
                .ok_or_else(|| bad("token is not hex"))?;
            let lo = (pair[1] as char)
                .to_digit(16)
                .ok_or_else(|| bad("token is not hex"))?;
            bytes.push((hi * 16 + lo) as u8);
        }
        let (key, used): (SortKey, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
                .map_err(|e| bad(&e.to_string()))?;
        if used != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(Cursor(key))
    }
}
