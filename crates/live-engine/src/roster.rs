//! Players of one session: ids, unique nicknames, resume tokens, streaks.
//! Their scores are on the session's board ([`crate::ranks`]), not here.

use std::collections::HashMap;

use livequiz_sdk::live::ErrorCode;

/// Longest nickname in characters.
pub const MAX_NICKNAME_CHARS: usize = 32;

/// One player.
#[derive(Debug, Clone)]
pub struct Player {
    /// Session-local id (1, 2, ...).
    pub id: u64,
    /// Display name, unique per session (case-insensitively).
    pub nickname: String,
    /// Account id when joined with a login token.
    pub account_id: Option<i64>,
    /// Secret to rejoin as this player.
    pub resume_token: String,
    /// Consecutive correct answers up to the last closed question.
    pub streak: u32,
    /// Whether a connection is attached right now.
    pub connected: bool,
    /// What the last `rank` frame told this player, to push only changes.
    pub last_pushed: Option<Pushed>,
    /// Version of the top list this connection has (0: none yet).
    pub top_seen: u64,
    /// This connection declared that it reads its standing from the reveal
    /// ([`livequiz_sdk::live::Capabilities::reads_reveal_standing`]): the
    /// reveal counts as its last rank frame, so the push after it sends no
    /// `rank` frame that would only repeat it.
    pub reads_reveal_standing: bool,
    /// Extra time in percent of each question's limit (100: none), as the
    /// host set it; a question uses the value it had when it opened.
    pub extra_time_percent: u32,
    /// Server time (ms) of the join (the checkpoint's tie-break time).
    pub joined_at: i64,
}

/// The content of a `rank` frame sent to a player: a new one goes out only
/// when one of these changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// Competition rank.
    pub rank: u64,
    /// Score.
    pub score: i64,
    /// Percentile among the players.
    pub percentile: u32,
    /// Players in the session (so the lobby count reaches every player).
    pub players: u32,
}

/// All players of a session. Removed players leave the map; their
/// nickname becomes free and their token stops working.
#[derive(Debug, Default)]
pub struct Roster {
    players: HashMap<u64, Player>,
    by_nick: HashMap<String, u64>,
    by_token: HashMap<String, u64>,
    by_account: HashMap<i64, u64>,
    next_id: u64,
}

/// Checks a nickname and returns its trimmed form.
pub fn validate_nickname(raw: &str) -> Result<String, ErrorCode> {
    let nick = raw.trim();
    let chars = nick.chars().count();
    if chars == 0 || chars > MAX_NICKNAME_CHARS || nick.chars().any(char::is_control) {
        return Err(ErrorCode::BadNickname);
    }
    Ok(nick.to_string())
}

fn nick_key(nick: &str) -> String {
    nick.to_lowercase()
}

impl Roster {
    /// Adds a player. An account that already plays gets its existing
    /// player back (same score), so a logged-in user cannot join twice.
    pub fn join(
        &mut self,
        nickname: &str,
        account_id: Option<i64>,
        token: String,
    ) -> Result<(u64, bool), ErrorCode> {
        if let Some(id) = account_id.and_then(|a| self.by_account.get(&a).copied()) {
            return Ok((id, false));
        }
        let nickname = validate_nickname(nickname)?;
        let key = nick_key(&nickname);
        if self.by_nick.contains_key(&key) {
            return Err(ErrorCode::NicknameTaken);
        }
        self.next_id += 1;
        let id = self.next_id;
        self.by_nick.insert(key, id);
        self.by_token.insert(token.clone(), id);
        if let Some(a) = account_id {
            self.by_account.insert(a, id);
        }
        self.players.insert(
            id,
            Player {
                id,
                nickname,
                account_id,
                resume_token: token,
                streak: 0,
                connected: false,
                last_pushed: None,
                top_seen: 0,
                reads_reveal_standing: false,
                extra_time_percent: 100,
                joined_at: 0,
            },
        );
        Ok((id, true))
    }

    /// Puts back a player with its original id (a session restored from its
    /// checkpoint); later joins get higher ids.
    pub fn restore(&mut self, player: Player) {
        self.by_nick.insert(nick_key(&player.nickname), player.id);
        self.by_token.insert(player.resume_token.clone(), player.id);
        if let Some(a) = player.account_id {
            self.by_account.insert(a, player.id);
        }
        self.next_id = self.next_id.max(player.id);
        self.players.insert(player.id, player);
    }

    /// Makes sure new players get ids above `id` (ids seen in durable
    /// answers of players whose join was never checkpointed).
    pub fn reserve_through(&mut self, id: u64) {
        self.next_id = self.next_id.max(id);
    }

    /// The player an account plays as.
    pub fn by_account(&self, account_id: i64) -> Option<u64> {
        self.by_account.get(&account_id).copied()
    }

    /// Whether a nickname is in use (case-insensitively).
    pub fn nick_taken(&self, nickname: &str) -> bool {
        self.by_nick.contains_key(&nick_key(nickname.trim()))
    }

    /// The player a resume token belongs to.
    pub fn by_token(&self, token: &str) -> Option<u64> {
        self.by_token.get(token).copied()
    }

    /// Removes a player for good.
    pub fn remove(&mut self, id: u64) -> Option<Player> {
        let p = self.players.remove(&id)?;
        self.by_nick.remove(&nick_key(&p.nickname));
        self.by_token.remove(&p.resume_token);
        if let Some(a) = p.account_id {
            self.by_account.remove(&a);
        }
        Some(p)
    }

    /// A player by id.
    pub fn get(&self, id: u64) -> Option<&Player> {
        self.players.get(&id)
    }

    /// A player by id, mutable.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Player> {
        self.players.get_mut(&id)
    }

    /// Number of players.
    pub fn len(&self) -> usize {
        self.players.len()
    }

    /// Whether there are no players.
    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
    }

    /// All players, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Player> {
        self.players.values()
    }

    /// All players, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Player> {
        self.players.values_mut()
    }

    /// Ids of all players, sorted (deterministic iteration for tests).
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.players.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_unique_case_insensitively() {
        let mut r = Roster::default();
        assert_eq!(r.join("Ann", None, "t1".into()), Ok((1, true)));
        assert_eq!(
            r.join(" ann ", None, "t2".into()),
            Err(ErrorCode::NicknameTaken)
        );
        assert_eq!(r.join("", None, "t3".into()), Err(ErrorCode::BadNickname));
        assert_eq!(
            r.join("a\u{7}", None, "t3".into()),
            Err(ErrorCode::BadNickname)
        );
        assert_eq!(r.by_token("t1"), Some(1));
        r.remove(1);
        assert_eq!(r.by_token("t1"), None);
        assert_eq!(r.join("ann", None, "t4".into()), Ok((2, true)));
    }

    #[test]
    fn an_account_joins_once() {
        let mut r = Roster::default();
        assert_eq!(r.join("bob", Some(7), "t1".into()), Ok((1, true)));
        assert_eq!(r.join("bob2", Some(7), "t2".into()), Ok((1, false)));
        assert_eq!(r.len(), 1);
    }
}
