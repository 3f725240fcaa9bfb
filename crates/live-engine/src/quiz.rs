//! A quiz as the engine plays it: questions with their answer keys, loaded
//! once when the session is created so the game never reads the database.

use livequiz_sdk::live::{ChoiceView, QuestionView, ScoringRules};
use serde::{Deserialize, Serialize};

/// One question of a live quiz, with its answer key (never sent to players
/// before the reveal). Serialisable: a session's checkpoint in Redis carries
/// its quiz, so a gateway taking the session over plays the same questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveQuestion {
    /// Id in the question bank.
    pub question_id: i64,
    /// Question text.
    pub text: String,
    /// Choice texts in display order.
    pub choices: Vec<String>,
    /// Indices of the correct choices, sorted, non-empty.
    pub correct: Vec<u32>,
    /// Time limit in ms.
    pub time_limit_ms: u32,
}

impl LiveQuestion {
    /// Whether `chosen` (validated, sorted, unique) is exactly the key.
    pub fn is_correct(&self, chosen: &[u32]) -> bool {
        chosen == self.correct.as_slice()
    }

    /// The full view (no key): the host's, and players' when the session
    /// shows texts on devices.
    pub fn view(&self, index: u32, total: u32, opened_at: i64) -> QuestionView {
        QuestionView {
            index,
            total,
            text: self.text.clone(),
            choices: self
                .choices
                .iter()
                .enumerate()
                .map(|(i, text)| ChoiceView {
                    index: i as u32,
                    text: text.clone(),
                })
                .collect(),
            multiple: self.correct.len() > 1,
            opened_at,
            deadline: opened_at + i64::from(self.time_limit_ms),
            time_limit_ms: self.time_limit_ms,
            hidden: false,
            extra_time_percent: None,
            latest_deadline: None,
        }
    }

    /// A player's view: texts emptied (and `hidden`) when the session hides
    /// them on devices; with extra time (`percent` over 100) their own
    /// deadline and limit.
    pub fn player_view(
        &self,
        index: u32,
        total: u32,
        opened_at: i64,
        hide: bool,
        percent: u32,
    ) -> QuestionView {
        let mut v = self.view(index, total, opened_at);
        if hide {
            v.text = String::new();
            for c in &mut v.choices {
                c.text = String::new();
            }
            v.hidden = true;
        }
        if percent != 100 {
            let limit = personal_limit_ms(self.time_limit_ms, percent);
            v.time_limit_ms = limit.min(u64::from(u32::MAX)) as u32;
            v.deadline = opened_at + limit as i64;
            v.extra_time_percent = Some(percent);
        }
        v
    }
}

/// A time limit stretched to `percent` (100: unchanged), in ms.
pub fn personal_limit_ms(limit_ms: u32, percent: u32) -> u64 {
    u64::from(limit_ms) * u64::from(percent) / 100
}

/// Everything a session needs to run, fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveQuiz {
    /// Quiz id in the database.
    pub quiz_id: i64,
    /// Questions in play order (at least one).
    pub questions: Vec<LiveQuestion>,
    /// Scoring knobs.
    pub rules: ScoringRules,
    /// Pause between reveal and the next question, in ms.
    pub reveal_ms: u64,
    /// Size of the pushed top list.
    pub top_n: usize,
    /// Players' devices get no question and choice texts (the session's
    /// `show_question_on_devices: false`); false in checkpoints that
    /// predate it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hide_text_on_devices: bool,
}

/// Normalises an answer: sorted, unique, in range and non-empty.
pub fn normalise_choices(choices: &[u32], count: usize) -> Option<Vec<u32>> {
    if choices.is_empty() || choices.len() > count {
        return None;
    }
    let mut out = choices.to_vec();
    out.sort_unstable();
    out.dedup();
    if out.len() != choices.len() || out.iter().any(|&c| c as usize >= count) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_normalised_or_refused() {
        assert_eq!(normalise_choices(&[2, 0], 4), Some(vec![0, 2]));
        assert_eq!(normalise_choices(&[], 4), None);
        assert_eq!(normalise_choices(&[1, 1], 4), None);
        assert_eq!(normalise_choices(&[4], 4), None);
    }

    #[test]
    fn views_hide_the_key() {
        let q = LiveQuestion {
            question_id: 9,
            text: "2+2".into(),
            choices: vec!["3".into(), "4".into()],
            correct: vec![1],
            time_limit_ms: 10_000,
        };
        let v = q.view(0, 3, 1_000);
        assert_eq!(v.deadline, 11_000);
        assert!(!v.multiple);
        assert!(q.is_correct(&[1]));
        assert!(!q.is_correct(&[0, 1]));
    }

    #[test]
    fn player_views_hide_texts_and_stretch_the_limit() {
        let q = LiveQuestion {
            question_id: 9,
            text: "2+2".into(),
            choices: vec!["3".into(), "4".into()],
            correct: vec![1],
            time_limit_ms: 10_000,
        };
        assert_eq!(q.player_view(0, 3, 1_000, false, 100), q.view(0, 3, 1_000));
        let hidden = q.player_view(0, 3, 1_000, true, 100);
        assert!(hidden.hidden);
        assert_eq!(hidden.text, "");
        assert_eq!(hidden.choices.len(), 2);
        assert!(hidden
            .choices
            .iter()
            .enumerate()
            .all(|(i, c)| c.text.is_empty() && c.index == i as u32));
        assert_eq!(hidden.deadline, 11_000);
        let json = serde_json::to_string(&hidden).unwrap();
        assert!(
            json.contains(r#""hidden":true"#) && !json.contains("2+2"),
            "{json}"
        );
        let slow = q.player_view(0, 3, 1_000, false, 150);
        assert_eq!((slow.deadline, slow.time_limit_ms), (16_000, 15_000));
        assert_eq!(slow.extra_time_percent, Some(150));
        assert_eq!(slow.text, "2+2");
    }
}
