//! Embedded tantivy backend.
//!
//! Schema: `id` (i64, indexed + fast, used for deletes, sorting and hit ids), five analyzed text
//! fields (lowercasing + ASCII-folding analyzer, freqs but no positions) and two raw keyword
//! fields holding the normalized topic/tags for the filters. Nothing is stored: hits are
//! resolved through the `id` fast field.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery};
use tantivy::query::{Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema};
use tantivy::schema::{TextFieldIndexing, TextOptions};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy};
use tantivy::{TantivyDocument, TantivyError, Term};

use super::SearchResults;
use super::{normalize_keyword, NormalizedQuery, QuestionDoc, SearchError, SearchHit};

const ANALYZER: &str = "question_folding";
const WRITER_MEMORY_BYTES: usize = 32 * 1024 * 1024;
/// Cap on analyzed query tokens (a hyphenated word can yield several).
const MAX_QUERY_TOKENS: usize = 32;
/// Multiplier on the BM25 score of exact term matches.
const EXACT_BOOST: f32 = 2.0;
/// Constant score (times field boost) of a fuzzy match; an exact match also gets it, so exact
/// always outranks fuzzy-only within a field.
const FUZZY_SCORE: f32 = 0.3;
/// Constant score (times field boost) of a prefix match of the last query token.
const PREFIX_SCORE: f32 = 0.2;

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    topic_kw: Field,
    tags_kw: Field,
    /// Analyzed fields with their boosts, text first.
    text: [(Field, f32); 5],
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_i64_field("id", NumericOptions::default().set_indexed().set_fast());
    let analyzed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let keyword = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic),
    );
    let text = [
        (b.add_text_field("text", analyzed.clone()), 3.0),
        (b.add_text_field("choices", analyzed.clone()), 1.5),
        (b.add_text_field("tags", analyzed.clone()), 1.5),
        (b.add_text_field("topic", analyzed.clone()), 1.2),
        (b.add_text_field("explanation", analyzed), 1.0),
    ];
    let topic_kw = b.add_text_field("topic_kw", keyword.clone());
    let tags_kw = b.add_text_field("tags_kw", keyword);
    let fields = Fields {
        id,
        topic_kw,
        tags_kw,
        text,
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Levenshtein distance allowed for a query token (by character count).
fn fuzzy_distance(token: &str) -> u8 {
    match token.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The tantivy index, its single writer and a manually reloaded reader.
pub(super) struct TantivyBackend {
    inner: Arc<Inner>,
}

struct Inner {
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
}

impl std::fmt::Debug for TantivyBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivyBackend")
            .field("num_docs", &self.doc_count())
            .finish()
    }
}

impl TantivyBackend {
    pub(super) fn open(path: &Path) -> Result<Self, SearchError> {
        let (schema, fields) = build_schema();
        std::fs::create_dir_all(path)?;
        let dir = || MmapDirectory::open(path).map_err(TantivyError::from);
        let index = if Index::exists(&dir()?).map_err(TantivyError::from)? {
            let existing = Index::open(dir()?)?;
            if existing.schema() == schema {
                existing
            } else {
                tracing::warn!(path = %path.display(), "search index schema changed; recreating it empty (run a reindex)");
                drop(existing);
                std::fs::remove_dir_all(path)?;
                std::fs::create_dir_all(path)?;
                Index::create(dir()?, schema, Default::default())?
            }
        } else {
            Index::create(dir()?, schema, Default::default())?
        };
        Self::from_index(index, fields)
    }

    pub(super) fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = build_schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<Self, SearchError> {
        index.tokenizers().register(ANALYZER, analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(TantivyBackend {
            inner: Arc::new(Inner {
                fields,
                reader,
                writer: Mutex::new(writer),
            }),
        })
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, SearchError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, SearchError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))?
    }

    pub(super) async fn upsert(&self, doc: QuestionDoc) -> Result<(), SearchError> {
        self.blocking(move |inner| {
            inner.write(|w, f| {
                w.delete_term(Term::from_field_i64(f.id, doc.id));
                w.add_document(to_document(f, &doc))?;
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn upsert_many(&self, docs: Vec<QuestionDoc>) -> Result<(), SearchError> {
        self.blocking(move |inner| {
            inner.write(|w, f| {
                for doc in &docs {
                    w.delete_term(Term::from_field_i64(f.id, doc.id));
                    w.add_document(to_document(f, doc))?;
                }
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn delete(&self, id: i64) -> Result<(), SearchError> {
        self.blocking(move |inner| {
            inner.write(|w, f| {
                w.delete_term(Term::from_field_i64(f.id, id));
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn rebuild(&self, docs: Vec<QuestionDoc>) -> Result<(), SearchError> {
        self.blocking(move |inner| {
            inner.write(|w, f| {
                w.delete_all_documents()?;
                for doc in &docs {
                    w.add_document(to_document(f, doc))?;
                }
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn search(&self, q: NormalizedQuery) -> Result<SearchResults, SearchError> {
        self.blocking(move |inner| inner.search(&q)).await
    }

    pub(super) fn doc_count(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    pub(super) fn ready(&self) -> Result<(), SearchError> {
        if self.inner.writer.is_poisoned() {
            return Err(SearchError::Task("index writer poisoned by a panic".into()));
        }
        Ok(())
    }
}

fn to_document(f: &Fields, doc: &QuestionDoc) -> TantivyDocument {
    let [text, choices, tags, topic, explanation] = f.text.map(|(field, _)| field);
    let mut d = TantivyDocument::default();
    d.add_i64(f.id, doc.id);
    d.add_text(text, &doc.text);
    for c in &doc.choices {
        d.add_text(choices, c);
    }
    for t in &doc.tags {
        d.add_text(tags, t);
        d.add_text(f.tags_kw, normalize_keyword(t));
    }
    d.add_text(topic, &doc.topic);
    d.add_text(f.topic_kw, normalize_keyword(&doc.topic));
    d.add_text(explanation, &doc.explanation);
    d
}

impl Inner {
    /// Runs `op` with the writer locked, commits and reloads the reader (rolls back on error).
    fn write<F>(&self, op: F) -> Result<(), SearchError>
    where
        F: FnOnce(&mut IndexWriter, &Fields) -> Result<(), SearchError>,
    {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError::Task("index writer poisoned by a panic".into()))?;
        let result = op(&mut writer, &self.fields).and_then(|()| Ok(writer.commit().map(drop)?));
        if let Err(e) = result {
            if let Err(rb) = writer.rollback() {
                tracing::error!(error = %rb, "search index rollback failed");
            }
            return Err(e);
        }
        self.reader.reload()?;
        Ok(())
    }

    fn analyze(&self, text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut tokens: Vec<String> = Vec::new();
        while stream.advance() {
            let t = &stream.token().text;
            if tokens.len() == MAX_QUERY_TOKENS {
                break;
            }
            if !t.is_empty() && !tokens.contains(t) {
                tokens.push(t.clone());
            }
        }
        tokens
    }

    /// Relevance part: per token and field, exact BM25 (boosted) + fuzzy (constant), plus a
    /// prefix match for the last token. `None` when `text` has no searchable token.
    fn text_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let tokens = self.analyze(text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let last = i + 1 == tokens.len();
            let distance = fuzzy_distance(token);
            for &(field, boost) in &self.fields.text {
                let term = Term::from_field_text(field, token);
                let exact = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(exact), boost * EXACT_BOOST)),
                ));
                if distance > 0 {
                    let fuzzy = FuzzyTermQuery::new(term.clone(), distance, true);
                    let score = boost * FUZZY_SCORE;
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(fuzzy), score)),
                    ));
                }
                if last && token.chars().count() >= 3 {
                    let prefix = FuzzyTermQuery::new_prefix(term, 0, true);
                    let score = boost * PREFIX_SCORE;
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(prefix), score)),
                    ));
                }
            }
        }
        if clauses.is_empty() {
            None
        } else {
            Some(Box::new(BooleanQuery::new(clauses)))
        }
    }

    fn search(&self, q: &NormalizedQuery) -> Result<SearchResults, SearchError> {
        let f = &self.fields;
        let mut filters: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut filter = |field: Field, value: &str| {
            let term = TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            );
            filters.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(term), 0.0)),
            ));
        };
        if let Some(topic) = &q.topic {
            filter(f.topic_kw, topic);
        }
        for tag in &q.tags {
            filter(f.tags_kw, tag);
        }
        let text = self.text_query(&q.text);
        let scored = text.is_some();
        if let Some(text) = text {
            filters.push((Occur::Must, text));
        }
        if !q.exclude.is_empty() && filters.is_empty() {
            // A boolean query of only MustNot clauses matches nothing.
            filters.push((Occur::Must, Box::new(AllQuery)));
        }
        for &id in &q.exclude {
            let term = TermQuery::new(Term::from_field_i64(f.id, id), IndexRecordOption::Basic);
            filters.push((Occur::MustNot, Box::new(term)));
        }
        let query: Box<dyn Query> = if filters.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(filters))
        };

        let searcher = self.reader.searcher();
        if q.limit == 0 {
            let total = searcher.search(&query, &Count)?;
            return Ok(SearchResults {
                total,
                hits: Vec::new(),
            });
        }
        let top = TopDocs::with_limit(q.limit).and_offset(q.offset);
        let id_of = |addr: DocAddress| -> Result<i64, SearchError> {
            let column = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .i64("id")?;
            column
                .first(addr.doc_id)
                .ok_or_else(|| SearchError::Protocol("indexed document without id".into()))
        };
        let (hits, total) = if scored {
            let (docs, total) = searcher.search(&query, &(top, Count))?;
            let hits = docs
                .into_iter()
                .map(|(score, addr)| {
                    Ok(SearchHit {
                        id: id_of(addr)?,
                        score,
                    })
                })
                .collect::<Result<Vec<_>, SearchError>>()?;
            (hits, total)
        } else {
            let by_id = top.order_by_fast_field::<i64>("id", Order::Desc);
            let (docs, total) = searcher.search(&query, &(by_id, Count))?;
            let hits = docs
                .into_iter()
                .map(|(id, _)| SearchHit { id, score: 0.0 })
                .collect();
            (hits, total)
        };
        Ok(SearchResults { total, hits })
    }
}
