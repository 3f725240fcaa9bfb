//! How entries are laid out in Redis.
//!
//! Each partition `p` of board `b` is three kinds of keys under one hash
//! tag, `{lb:b:p}`, so they live in one cluster slot and one Lua script
//! can touch them atomically:
//!
//! - `{lb:b:p}:z`: a sorted set whose members are *order keys* and whose
//!   scores are all 0. Redis orders equal-score members bytewise, so the
//!   order key is built so that byte order *is* rank order: oriented score,
//!   oriented subscore and time as sign-flipped big-endian `u64`s (24
//!   bytes), then the member id. That keeps the full `i64` range and every
//!   tie-break exact, which a `f64` zset score (53 bits) cannot.
//!   `ZRANK`/`ZLEXCOUNT` give counts above a key, `ZRANGE .. BYLEX` seeks.
//! - `{lb:b:p}:h`: a hash member -> bincode of the stored values
//!   (score, optional subscore, time, metadata).
//! - `{lb:b:p}:op:<hex>`: the outcome of an applied op id, with a TTL.

use serde::{Deserialize, Serialize};

use crate::{Entry, Error, Order, Result};

/// Values kept in the partition hash for one member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub score: i64,
    pub subscore: Option<i64>,
    pub at: i64,
    pub metadata: Option<Vec<u8>>,
}

impl Stored {
    pub fn from_entry(e: &Entry) -> Stored {
        Stored {
            score: e.score,
            subscore: e.subscore,
            at: e.at,
            metadata: e.metadata.clone(),
        }
    }

    pub fn into_entry(self, member: String) -> Entry {
        Entry {
            member,
            score: self.score,
            subscore: self.subscore,
            at: self.at,
            metadata: self.metadata,
        }
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(v, bincode::config::standard())
        .expect("encoding into a Vec cannot fail")
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| Error::Backend {
            message: format!("undecodable value in Redis: {e}"),
            retryable: false,
        })
}

fn flip(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn unflip(b: &[u8]) -> i64 {
    (u64::from_be_bytes(b.try_into().expect("8 bytes")) ^ (1 << 63)) as i64
}

fn orient(order: Order, v: i64) -> i64 {
    match order {
        Order::HighFirst => !v,
        Order::LowFirst => v,
    }
}

/// Bytes of the order key's tie group (score and subscore).
pub(crate) fn tie_prefix(order: Order, score: i64, sub: i64) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&flip(orient(order, score)));
    k.extend_from_slice(&flip(orient(order, sub)));
    k
}

/// The order key: byte order equals rank order.
pub(crate) fn order_key(order: Order, score: i64, sub: i64, at: i64, member: &str) -> Vec<u8> {
    let mut k = tie_prefix(order, score, sub);
    k.reserve(8 + member.len());
    k.extend_from_slice(&flip(at));
    k.extend_from_slice(member.as_bytes());
    k
}

/// Inverse of [`order_key`]: (score, subscore, at, member).
pub(crate) fn parse_order_key(order: Order, k: &[u8]) -> Result<(i64, i64, i64, String)> {
    let bad = || Error::Backend {
        message: "malformed order key in Redis".into(),
        retryable: false,
    };
    if k.len() < 25 {
        return Err(bad());
    }
    let member = String::from_utf8(k[24..].to_vec()).map_err(|_| bad())?;
    Ok((
        orient(order, unflip(&k[..8])),
        orient(order, unflip(&k[8..16])),
        unflip(&k[16..24]),
        member,
    ))
}

/// A `ZLEXCOUNT`/`ZRANGE BYLEX` bound: exclusive (`(`) or inclusive (`[`).
pub(crate) fn lex_bound(exclusive: bool, key: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(key.len() + 1);
    b.push(if exclusive { b'(' } else { b'[' });
    b.extend_from_slice(key);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SortKey;

    #[test]
    fn byte_order_is_rank_order() {
        let vals = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let members = ["a", "ab", "b", "\u{0}"];
        for order in [Order::HighFirst, Order::LowFirst] {
            let mut keys = Vec::new();
            for &s in &vals {
                for &sub in &vals[2..5] {
                    for &at in &vals[1..4] {
                        for m in members {
                            keys.push(SortKey::new(s, sub, at, m));
                        }
                    }
                }
            }
            for a in &keys {
                let ka = order_key(order, a.score, a.subscore, a.at, &a.member);
                let back = parse_order_key(order, &ka).unwrap();
                assert_eq!(back, (a.score, a.subscore, a.at, a.member.clone()));
                for b in keys.iter().step_by(7) {
                    let kb = order_key(order, b.score, b.subscore, b.at, &b.member);
                    assert_eq!(ka.cmp(&kb), a.cmp_in(b, order), "{a:?} vs {b:?}");
                }
            }
        }
    }
}
