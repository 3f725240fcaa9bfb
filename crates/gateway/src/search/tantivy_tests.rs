//! End-to-end tests of the tantivy backend through the public [`SearchIndex`] API.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::*;

fn doc(id: i64, text: &str, topic: &str, tags: &[&str]) -> QuestionDoc {
    QuestionDoc {
        id,
        text: text.to_string(),
        choices: vec![],
        topic: topic.to_string(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        difficulty: "easy".to_string(),
        explanation: String::new(),
    }
}

fn query(q: &str) -> SearchQuery {
    SearchQuery {
        q: q.to_string(),
        ..SearchQuery::default()
    }
}

fn ids(r: &SearchResults) -> Vec<i64> {
    r.hits.iter().map(|h| h.id).collect()
}

async fn find(index: &SearchIndex, q: &str) -> Vec<i64> {
    ids(&index.search(&query(q)).await.unwrap())
}

/// A unique directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "gateway-search-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn corpus() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    let mut docs = vec![
        doc(
            1,
            "What does the Python GIL protect?",
            "Programming",
            &["python", "concurrency"],
        ),
        doc(
            2,
            "Which keyword declares a constant in JavaScript?",
            "Programming",
            &["javascript"],
        ),
        doc(
            3,
            "What does the borrow checker enforce in Rust?",
            "Programming",
            &["rust", "memory"],
        ),
        doc(
            4,
            "Which river flows through Paris?",
            "Geography",
            &["europe", "rivers"],
        ),
        doc(
            5,
            "Where was the Café de Flore founded?",
            "History",
            &["europe", "paris"],
        ),
        doc(
            6,
            "Which snake family includes the reticulated species?",
            "Biology",
            &["animals"],
        ),
    ];
    docs[5].explanation = "Pythons are constrictors; the python family is Pythonidae.".into();
    docs[2].choices = vec!["Ownership rules".into(), "Garbage collection".into()];
    for d in docs {
        index.upsert(d).await.unwrap();
    }
    index
}

#[tokio::test]
async fn finds_and_ranks_text_matches_first() {
    let index = corpus().await;
    assert_eq!(index.backend_name(), "tantivy");
    index.ready().await.unwrap();
    assert_eq!(index.doc_count().await.unwrap(), 6);
    // Doc 1 has "python" in its text, doc 6 only in its explanation.
    assert_eq!(find(&index, "python").await, vec![1, 6]);
    let r = index.search(&query("python")).await.unwrap();
    assert_eq!(r.total, 2);
    assert!(r.hits[0].score > r.hits[1].score);
    // Choices and tags are searched too.
    assert_eq!(find(&index, "ownership").await, vec![3]);
    assert_eq!(find(&index, "rivers").await, vec![4]);
    // Several words: the document matching more of them wins.
    assert_eq!(find(&index, "river paris").await[0], 4);
}

#[tokio::test]
async fn excluded_questions_are_in_neither_hits_nor_total() {
    let index = corpus().await;
    // Doc 6 matches "python" only through its explanation: excluded, not even counted.
    let r = index
        .search_excluding(&query("python"), &[6])
        .await
        .unwrap();
    assert_eq!((ids(&r), r.total), (vec![1], 1));
    let europe = SearchQuery {
        tags: vec!["europe".into()],
        ..SearchQuery::default()
    };
    let r = index.search_excluding(&europe, &[4]).await.unwrap();
    assert_eq!((ids(&r), r.total), (vec![5], 1));
    // A listing without text or filters still lists everything else.
    let r = index
        .search_excluding(&SearchQuery::default(), &[1, 2])
        .await
        .unwrap();
    assert_eq!((ids(&r), r.total), (vec![6, 5, 4, 3], 4));
}

#[tokio::test]
async fn typo_tolerance_and_exact_first() {
    let index = corpus().await;
    assert_eq!(find(&index, "pythn").await, vec![1, 6]);
    assert_eq!(find(&index, "borow chekcer").await, vec![3]);
    assert_eq!(find(&index, "javscrpt").await, vec![2]); // 8+ chars: two edits
    assert!(find(&index, "jvscrpt").await.is_empty()); // three edits: too far
    assert!(find(&index, "rist").await.contains(&3)); // 4 chars: one edit
    assert!(find(&index, "gul").await.is_empty()); // short words are never fuzzy

    let index = SearchIndex::in_memory().unwrap();
    index
        .upsert(doc(10, "pythons in the wild", "t", &[]))
        .await
        .unwrap();
    index
        .upsert(doc(11, "python in the wild", "t", &[]))
        .await
        .unwrap();
    let r = index.search(&query("python")).await.unwrap();
    assert_eq!(ids(&r), vec![11, 10]);
    assert!(r.hits[0].score > r.hits[1].score);
}

#[tokio::test]
async fn prefix_case_and_accent_folding() {
    let index = corpus().await;
    assert_eq!(find(&index, "GIL").await, vec![1]);
    assert_eq!(find(&index, "cafe").await, vec![5]);
    assert_eq!(find(&index, "CAFÉ").await, vec![5]);
    assert_eq!(find(&index, "constan").await, vec![2]); // last word as prefix
}

#[tokio::test]
async fn filters_and_listing() {
    let index = corpus().await;
    let mut q = query("");
    q.topic = Some("programming".into());
    let r = index.search(&q).await.unwrap();
    assert_eq!((r.total, ids(&r)), (3, vec![3, 2, 1]));
    assert!(r.hits.iter().all(|h| h.score == 0.0));

    q.topic = Some(" PROGRAMMING ".into());
    q.q = "what".into();
    assert_eq!(ids(&index.search(&q).await.unwrap()), vec![1, 3]);

    let mut q = query("");
    q.tags = vec!["Europe".into()];
    assert_eq!(ids(&index.search(&q).await.unwrap()), vec![5, 4]);
    q.tags.push("PARIS".into());
    assert_eq!(ids(&index.search(&q).await.unwrap()), vec![5]);
    q.tags.push("rivers".into());
    assert_eq!(index.search(&q).await.unwrap().total, 0);

    let mut q = query("paris");
    q.topic = Some("geography".into());
    assert_eq!(ids(&index.search(&q).await.unwrap()), vec![4]);
    q.topic = Some("nope".into());
    assert_eq!(index.search(&q).await.unwrap().total, 0);

    // No text and no filters lists everything, newest id first.
    assert_eq!(find(&index, "").await, vec![6, 5, 4, 3, 2, 1]);
}

#[tokio::test]
async fn paging_and_limits() {
    let index = SearchIndex::in_memory().unwrap();
    let docs: Vec<_> = (1..=150)
        .map(|i| doc(i, &format!("quiz question {i}"), "t", &["x"]))
        .collect();
    index.rebuild(docs).await.unwrap();
    let mut seen = Vec::new();
    for page in 0..3 {
        let r = index
            .search(&SearchQuery {
                q: "quiz".into(),
                limit: 10,
                offset: page * 10,
                ..SearchQuery::default()
            })
            .await
            .unwrap();
        assert_eq!((r.total, r.hits.len()), (150, 10));
        seen.extend(ids(&r));
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 30);

    let listing = |limit, offset| SearchQuery {
        tags: vec!["x".into()],
        limit,
        offset,
        ..SearchQuery::default()
    };
    let r = index.search(&listing(1000, 0)).await.unwrap();
    assert_eq!((r.total, r.hits.len(), r.hits[0].id), (150, MAX_LIMIT, 150));
    let r = index.search(&listing(10, 145)).await.unwrap();
    assert_eq!(ids(&r), vec![5, 4, 3, 2, 1]);
    let r = index.search(&listing(0, 0)).await.unwrap();
    assert_eq!((r.total, r.hits.len()), (150, 0));
    let r = index.search(&listing(10, usize::MAX)).await.unwrap();
    assert_eq!((r.total, r.hits.len()), (150, 0));
}

#[tokio::test]
async fn delete_update_and_rebuild() {
    let index = corpus().await;
    index.delete(1).await.unwrap();
    index.delete(424_242).await.unwrap(); // missing id is fine
    assert_eq!(find(&index, "python").await, vec![6]);

    index
        .upsert(doc(
            2,
            "Completely new wording about llamas",
            "Animals",
            &["zoo"],
        ))
        .await
        .unwrap();
    assert!(find(&index, "javascript").await.is_empty());
    assert_eq!(find(&index, "llamas").await, vec![2]);
    let mut q = query("");
    q.topic = Some("programming".into());
    assert_eq!(ids(&index.search(&q).await.unwrap()), vec![3]);
    assert_eq!(index.doc_count().await.unwrap(), 5);

    index
        .rebuild(vec![
            doc(100, "fresh start", "t", &[]),
            doc(101, "fresh again", "t", &[]),
        ])
        .await
        .unwrap();
    assert_eq!(index.doc_count().await.unwrap(), 2);
    assert!(find(&index, "llamas").await.is_empty());
    assert_eq!(find(&index, "fresh").await.len(), 2);
    index.rebuild(Vec::new()).await.unwrap();
    assert_eq!(index.doc_count().await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_writers_read_their_writes() {
    let index = SearchIndex::in_memory().unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let index = index.clone();
            tokio::spawn(async move {
                index
                    .upsert(doc(i, &format!("concurrent item {i}"), "t", &[]))
                    .await
                    .unwrap();
                // Visible as soon as the upsert returns.
                let r = index
                    .search(&query(&format!("concurrent {i}")))
                    .await
                    .unwrap();
                assert!(ids(&r).contains(&i));
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(index.search(&query("concurrent")).await.unwrap().total, 16);
}

#[tokio::test]
async fn reopens_from_disk() {
    let tmp = TempDir::new("reopen");
    {
        let index = SearchIndex::open_tantivy(&tmp.0).unwrap();
        index
            .upsert(doc(
                7,
                "persistent question about tides",
                "Science",
                &["ocean"],
            ))
            .await
            .unwrap();
        index
            .upsert(doc(8, "another one about tides", "Science", &[]))
            .await
            .unwrap();
        index.delete(8).await.unwrap();
    }
    assert!(tmp.0.join("index").join("meta.json").exists());
    let index = SearchIndex::open_tantivy(&tmp.0).unwrap();
    assert_eq!(find(&index, "tieds").await, vec![7]);
    assert_eq!(index.doc_count().await.unwrap(), 1);
    index
        .upsert(doc(9, "tides again", "Science", &[]))
        .await
        .unwrap();
    assert_eq!(find(&index, "tides").await.len(), 2);
}

#[tokio::test]
async fn recreates_index_with_foreign_schema() {
    let tmp = TempDir::new("schema");
    let path = tmp.0.join("index");
    std::fs::create_dir_all(&path).unwrap();
    let mut builder = ::tantivy::schema::Schema::builder();
    builder.add_text_field("other", ::tantivy::schema::TEXT);
    ::tantivy::Index::create_in_dir(&path, builder.build()).unwrap();

    let index = SearchIndex::open_tantivy(&tmp.0).unwrap();
    assert_eq!(index.doc_count().await.unwrap(), 0);
    index
        .upsert(doc(1, "works after recreation", "t", &[]))
        .await
        .unwrap();
    assert_eq!(find(&index, "recreation").await, vec![1]);
}

#[tokio::test]
async fn garbage_never_errors() {
    let index = corpus().await;
    let long_word = "x".repeat(100_000);
    let long_words = "pythn ".repeat(20_000);
    let nasty = [
        "",
        "   ",
        "\"",
        "'",
        "title:foo AND (",
        "*",
        "?",
        "~2",
        "a~",
        "+-!(){}[]^\"~*?:\\/",
        "NOT OR AND",
        "'; DROP TABLE questions; --",
        "\u{0}\u{1}\u{7f}",
        "😀🐍 python",
        "日本語のテキスト",
        "مرحبا بالعالم",
        "e\u{301}\u{301}\u{301}",
        "ǅ ß ﬁ İ",
        &long_word,
        &long_words,
        "%00%ff",
        "\\u0000",
        "<script>alert(1)</script>",
    ];
    for s in nasty {
        let r = index.search(&query(s)).await.unwrap();
        assert!(r.hits.len() <= DEFAULT_LIMIT);
        let mut q = query(s);
        q.topic = Some(s.to_string());
        q.tags = vec![s.to_string(), String::new()];
        index.search(&q).await.unwrap();
    }
    // Garbage documents index fine as well.
    for (i, s) in nasty.iter().enumerate() {
        let mut d = doc(1000 + i as i64, s, s, &[s, ""]);
        d.choices = vec![s.to_string()];
        index.upsert(d).await.unwrap();
    }
    assert_eq!(find(&index, "日本語のテキスト").await, vec![1014]);
    assert!(find(&index, "😀🐍 python").await.contains(&1));
    let mut q = query("");
    q.topic = Some("ǅ ß ﬁ İ".into());
    assert_eq!(ids(&index.search(&q).await.unwrap()), vec![1017]);
}
