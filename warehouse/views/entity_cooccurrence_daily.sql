-- entity_cooccurrence_daily: one row per day and pair of entities mentioned in the same sentence.
-- The pair is ordered (entity_a < entity_b); counts are of sentences and of documents that day.
-- Built on sentence_entities (one row per sentence and entity); the day is that of document_dates.
create or replace view entity_cooccurrence_daily as
with document_pairs as (
    select a.doc_id, a.entity_id as entity_a, b.entity_id as entity_b, count(*) as n_sentences
    from sentence_entities as a
    inner join sentence_entities as b
        on a.doc_id = b.doc_id and a.sentence_id = b.sentence_id and a.entity_id < b.entity_id
    group by a.doc_id, a.entity_id, b.entity_id
),

final as (
    select
        d.day,
        p.entity_a,
        p.entity_b,
        cast(sum(p.n_sentences) as bigint) as n_sentences,
        count(*) as n_documents
    from document_pairs as p
    inner join document_dates as d using (doc_id)
    group by d.day, p.entity_a, p.entity_b
)

select * from final;
