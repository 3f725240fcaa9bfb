//! Full-text search over the question bank (tantivy embedded, Elasticsearch in cluster mode).
