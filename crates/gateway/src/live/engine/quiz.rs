//! A quiz as the engine plays it: questions with their answer keys, loaded
//! once when the session is created so the game never reads the database.

use sdk::live::{ChoiceView, QuestionView, ScoringRules};
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

    /// The player-facing view (no key).
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
        }
    }
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
}
