//! The scoring rules, pure and deterministic.
//!
//! - SINGLE_CHOICE and TRUE_FALSE: full points when the one chosen option is the correct one.
//! - MULTIPLE_CHOICE, `ALL_OR_NOTHING`: full points when exactly the correct options are chosen.
//! - MULTIPLE_CHOICE, `PARTIAL`: `points × max(0, (correct chosen − wrong chosen) / correct
//!   total)`, rounded to two decimals; choosing everything therefore earns nothing more than
//!   choosing nothing wrong.
//! - FILL_IN_BLANK: full points when the answer equals one accepted answer after both are
//!   [`normalize`]d (trimmed, inner whitespace collapsed to one space, lower-cased).
//! - ESSAY: no automatic score; an answered essay waits for a grader, an unanswered one earns 0.
//!
//! Percentages are `score / max × 100`, rounded to two decimals; an attempt passes when its
//! percentage is at least the quiz's passing score.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::questions::{ChoiceOption, Question, QuestionKind};

guild_kernel::string_enum!(
    /// How a quiz scores its MULTIPLE_CHOICE questions.
    ScoringMode {
        /// Full points for exactly the correct options, else nothing.
        AllOrNothing => "ALL_OR_NOTHING",
        /// `points × max(0, (correct chosen − wrong chosen) / correct total)`.
        Partial => "PARTIAL",
    }
);

/// A member's answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The question.
    pub question_id: Uuid,
    /// Chosen options (choice kinds).
    #[serde(default)]
    pub option_ids: Vec<String>,
    /// The text (FILL_IN_BLANK, ESSAY).
    #[serde(default)]
    pub text: Option<String>,
}

/// The outcome of one question in an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionResult {
    /// The question.
    pub question_id: Uuid,
    /// Its kind.
    pub kind: QuestionKind,
    /// Points earned; `None` while an essay waits for a grader.
    pub points_awarded: Option<f64>,
    /// Points possible.
    pub max_points: i32,
    /// Whether the answer earned every point; `None` for essays.
    pub correct: Option<bool>,
    /// The grader's feedback (essays).
    pub feedback: Option<String>,
}

/// Trims, collapses inner whitespace to one space and lower-cases.
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Rounds to two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `score / max` in percent, rounded to two decimals.
pub fn percent(score: f64, max: i32) -> f64 {
    if max <= 0 {
        return 0.0;
    }
    round2(score / f64::from(max) * 100.0).clamp(0.0, 100.0)
}

fn correct_ids(options: &[ChoiceOption]) -> Vec<&str> {
    options
        .iter()
        .filter(|o| o.correct)
        .map(|o| o.id.as_str())
        .collect()
}

/// Scores one question; `answer` is `None` when it was left out.
pub fn score(question: &Question, answer: Option<&Answer>, mode: ScoringMode) -> QuestionResult {
    let max = question.points;
    let full = f64::from(max);
    let chosen: Vec<&str> = answer
        .map(|a| a.option_ids.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let text = answer
        .and_then(|a| a.text.as_deref())
        .map(normalize)
        .filter(|t| !t.is_empty());
    let (points, correct) = match question.kind {
        QuestionKind::SingleChoice | QuestionKind::TrueFalse => {
            let right = chosen.len() == 1 && correct_ids(&question.options) == chosen;
            (if right { full } else { 0.0 }, Some(right))
        }
        QuestionKind::MultipleChoice => {
            let correct = correct_ids(&question.options);
            let right_chosen = chosen.iter().filter(|c| correct.contains(c)).count();
            let wrong_chosen = chosen.len() - right_chosen;
            let exact = wrong_chosen == 0 && right_chosen == correct.len();
            let points = if mode == ScoringMode::Partial && !correct.is_empty() {
                let net = right_chosen as f64 - wrong_chosen as f64;
                round2(full * (net / correct.len() as f64).max(0.0))
            } else if exact {
                full
            } else {
                0.0
            };
            (points, Some(exact))
        }
        QuestionKind::FillInBlank => {
            let right = text.as_ref().is_some_and(|t| {
                question
                    .accepted_answers
                    .iter()
                    .any(|accepted| normalize(accepted) == *t)
            });
            (if right { full } else { 0.0 }, Some(right))
        }
        // An answered essay waits for a grader.
        QuestionKind::Essay => {
            return QuestionResult {
                question_id: question.id,
                kind: question.kind,
                points_awarded: if text.is_some() { None } else { Some(0.0) },
                max_points: max,
                correct: None,
                feedback: None,
            };
        }
    };
    QuestionResult {
        question_id: question.id,
        kind: question.kind,
        points_awarded: Some(points),
        max_points: max,
        correct,
        feedback: None,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn question(kind: QuestionKind, correct: &[&str], all: &[&str], accepted: &[&str]) -> Question {
        Question {
            id: Uuid::now_v7(),
            quiz_id: Uuid::now_v7(),
            kind,
            prompt: "?".into(),
            options: all
                .iter()
                .map(|id| ChoiceOption {
                    id: (*id).into(),
                    text: (*id).into(),
                    correct: correct.contains(id),
                })
                .collect(),
            accepted_answers: accepted.iter().map(|a| (*a).to_owned()).collect(),
            points: 4,
            explanation: None,
            sort_order: 0,
            revision: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn choose(q: &Question, ids: &[&str]) -> Answer {
        Answer {
            question_id: q.id,
            option_ids: ids.iter().map(|i| (*i).to_owned()).collect(),
            text: None,
        }
    }

    #[test]
    fn partial_credit_subtracts_wrong_choices_and_never_goes_negative() {
        let q = question(
            QuestionKind::MultipleChoice,
            &["a", "b", "c"],
            &["a", "b", "c", "d"],
            &[],
        );
        let pts = |ids: &[&str], mode: ScoringMode| {
            score(&q, Some(&choose(&q, ids)), mode).points_awarded
        };
        assert_eq!(pts(&["a", "b"], ScoringMode::Partial), Some(2.67));
        assert_eq!(pts(&["a", "b", "d"], ScoringMode::Partial), Some(1.33));
        assert_eq!(pts(&["a", "d"], ScoringMode::Partial), Some(0.0));
        assert_eq!(pts(&["d"], ScoringMode::Partial), Some(0.0));
        assert_eq!(pts(&["a", "b", "c", "d"], ScoringMode::Partial), Some(2.67));
        assert_eq!(pts(&["a", "b", "c"], ScoringMode::Partial), Some(4.0));
        assert_eq!(pts(&["a", "b"], ScoringMode::AllOrNothing), Some(0.0));
        assert_eq!(pts(&["a", "b", "c"], ScoringMode::AllOrNothing), Some(4.0));
    }

    #[test]
    fn fill_in_blank_ignores_case_and_extra_whitespace() {
        let q = question(
            QuestionKind::FillInBlank,
            &[],
            &[],
            &["Hard  Hat", "helmet"],
        );
        let answer = |t: &str| Answer {
            question_id: q.id,
            option_ids: vec![],
            text: Some(t.into()),
        };
        assert_eq!(
            score(&q, Some(&answer("  hard\t hat ")), ScoringMode::Partial).points_awarded,
            Some(4.0)
        );
        assert_eq!(
            score(&q, Some(&answer("HELMET")), ScoringMode::Partial).points_awarded,
            Some(4.0)
        );
        assert_eq!(
            score(&q, Some(&answer("hardhat")), ScoringMode::Partial).points_awarded,
            Some(0.0)
        );
        assert_eq!(score(&q, None, ScoringMode::Partial).correct, Some(false));
    }

    #[test]
    fn single_choice_needs_the_one_correct_option() {
        let q = question(QuestionKind::SingleChoice, &["b"], &["a", "b"], &[]);
        assert_eq!(
            score(&q, Some(&choose(&q, &["b"])), ScoringMode::Partial).points_awarded,
            Some(4.0)
        );
        assert_eq!(
            score(&q, Some(&choose(&q, &["a"])), ScoringMode::Partial).points_awarded,
            Some(0.0)
        );
        assert_eq!(
            score(&q, Some(&choose(&q, &[])), ScoringMode::Partial).points_awarded,
            Some(0.0)
        );
    }

    #[test]
    fn an_answered_essay_waits_and_an_empty_one_earns_nothing() {
        let q = question(QuestionKind::Essay, &[], &[], &[]);
        let essay = Answer {
            question_id: q.id,
            option_ids: vec![],
            text: Some("Because.".into()),
        };
        assert_eq!(
            score(&q, Some(&essay), ScoringMode::Partial).points_awarded,
            None
        );
        assert_eq!(
            score(&q, None, ScoringMode::Partial).points_awarded,
            Some(0.0)
        );
    }
}
