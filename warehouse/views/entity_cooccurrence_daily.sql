-- entity_cooccurrence_daily: one row per day and pair of entities mentioned in the same sentence.
-- The pair is ordered (entity_a < entity_b); counts are of sentences and of documents that day.
create or replace view entity_cooccurrence_daily as
with sentence_entities as (
    select distinct m.doc_id, m.sentence_id, m.entity_id, d.day
    from mentions as m
    inner join document_dates as d using (doc_id)
),

pairs as (
    select a.day, a.entity_id as entity_a, b.entity_id as entity_b, a.doc_id, a.sentence_id
    from sentence_entities as a
    inner join sentence_entities as b
        on a.doc_id = b.doc_id and a.sentence_id = b.sentence_id and a.entity_id < b.entity_id
),

final as (
    select
        day,
        entity_a,
        entity_b,
        count(*) as n_sentences,
        count(distinct doc_id) as n_documents
    from pairs
    group by day, entity_a, entity_b
)

select * from final;
