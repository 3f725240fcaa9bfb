//! The CSV form of the question bank (layout: [`livequiz_sdk::types::CSV_HEADER`]).
//!
//! Reading never stops at the first bad row: every row's problems are collected under the
//! field `row N` (N counts questions from 1, the header not included), so an author fixes a
//! file in one round.

use livequiz_sdk::types::{ChoiceInput, FieldError, QuestionInput, CSV_HEADER};

use crate::store::questions::MAX_CHOICES;

/// Column of the first choice.
const FIRST_CHOICE: usize = 5;
/// Column of the correct numbers.
const CORRECT: usize = FIRST_CHOICE + MAX_CHOICES;

/// A CSV import read into questions: each with its row number, and the problems of the rows
/// that could not be read into a question completely (the questions are validated later with
/// the JSON rules, so a row may get problems from both steps).
#[derive(Debug, Default)]
pub struct Parsed {
    /// `(row, question)` in file order.
    pub questions: Vec<(usize, QuestionInput)>,
    /// Problems found while reading.
    pub errors: Vec<FieldError>,
}

/// Parses a CSV import; `Err` only for a missing or wrong header row.
pub fn parse(body: &[u8]) -> Result<Parsed, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let header_ok = reader
        .headers()
        .map(|h| h.iter().map(str::trim).eq(CSV_HEADER.iter().copied()))
        .unwrap_or(false);
    if !header_ok {
        return Err(vec![FieldError {
            field: "header".into(),
            message: format!("the first row must be exactly: {}", CSV_HEADER.join(",")),
        }]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let row = i + 1;
        let mut bad = |message: String| {
            errors.push(FieldError {
                field: format!("row {row}"),
                message,
            })
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                bad(format!("unreadable CSV: {e}"));
                continue;
            }
        };
        if rec.len() != CSV_HEADER.len() {
            bad(format!(
                "has {} columns, expected {}",
                rec.len(),
                CSV_HEADER.len()
            ));
            continue;
        }
        let cell = |c: usize| rec.get(c).unwrap_or("");
        let difficulty = match cell(3).trim().parse::<u8>() {
            Ok(d) => d,
            Err(_) => {
                bad(format!(
                    "difficulty: must be a number from 1 to 5 (got {:?})",
                    cell(3)
                ));
                0
            }
        };
        let texts: Vec<&str> = (FIRST_CHOICE..CORRECT).map(cell).collect();
        let used = texts
            .iter()
            .rposition(|t| !t.trim().is_empty())
            .map_or(0, |p| p + 1);
        let mut choices: Vec<ChoiceInput> = texts[..used]
            .iter()
            .map(|t| ChoiceInput {
                id: None,
                text: (*t).to_string(),
                correct: false,
            })
            .collect();
        for n in cell(CORRECT)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match n.parse::<usize>() {
                Ok(k) if (1..=used).contains(&k) => choices[k - 1].correct = true,
                _ => bad(format!(
                    "correct: {n:?} is not the number of a filled choice column (1-{used})"
                )),
            }
        }
        out.push((
            row,
            QuestionInput {
                text: cell(0).to_string(),
                topic: cell(1).to_string(),
                tags: cell(2)
                    .split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect(),
                difficulty,
                explanation: cell(4).to_string(),
                choices,
            },
        ));
    }
    Ok(Parsed {
        questions: out,
        errors,
    })
}

/// Writes questions in the CSV layout (importable again by [`parse`]).
pub fn write(questions: &[QuestionInput]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for q in questions {
        let mut rec: Vec<String> = vec![
            q.text.clone(),
            q.topic.clone(),
            q.tags.join(";"),
            q.difficulty.to_string(),
            q.explanation.clone(),
        ];
        for i in 0..MAX_CHOICES {
            rec.push(q.choices.get(i).map(|c| c.text.clone()).unwrap_or_default());
        }
        let correct: Vec<String> = q
            .choices
            .iter()
            .enumerate()
            .filter(|(_, c)| c.correct)
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        rec.push(correct.join(";"));
        w.write_record(&rec)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_commas_quotes_and_keys() {
        let q = QuestionInput {
            text: "Say \"hi\", then, bye\nok".into(),
            topic: "greetings".into(),
            tags: vec!["a".into(), "b".into()],
            difficulty: 2,
            explanation: String::new(),
            choices: vec![
                ChoiceInput {
                    id: None,
                    text: "x".into(),
                    correct: false,
                },
                ChoiceInput {
                    id: None,
                    text: "y, z".into(),
                    correct: true,
                },
                ChoiceInput {
                    id: None,
                    text: "w".into(),
                    correct: true,
                },
            ],
        };
        let bytes = write(std::slice::from_ref(&q)).expect("write");
        let parsed = parse(&bytes).expect("parse");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions, vec![(1, q)]);
    }

    #[test]
    fn names_every_bad_row() {
        let body = format!(
            "{}\nq,t,,x,,a,b,,,,,1\nq,t,,1,,a,b,,,,,9\nshort,row\n",
            CSV_HEADER.join(",")
        );
        let parsed = parse(body.as_bytes()).expect("header is fine");
        let rows: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(rows, ["row 1", "row 2", "row 3"]);
    }

    #[test]
    fn refuses_a_wrong_header() {
        let errs = parse(b"text,topic\n").expect_err("header");
        assert_eq!(errs[0].field, "header");
    }
}
