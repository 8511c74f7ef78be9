-- entity_pairs_by_sentence: one row per sentence and pair of different entities it mentions
-- (entity_a < entity_b, so each pair once), with the document's date for trend queries.
create or replace view entity_pairs_by_sentence as
with per_sentence as (
    select distinct doc_id, sentence_id, entity_id
    from mentions
),

pairs as (
    select a.doc_id, a.sentence_id, a.entity_id as entity_a, b.entity_id as entity_b
    from per_sentence a
    join per_sentence b on a.doc_id = b.doc_id and a.sentence_id = b.sentence_id and a.entity_id < b.entity_id
),

final as (
    select
        pairs.doc_id,
        pairs.sentence_id,
        cast(coalesce(documents.published_at, documents.updated_at) as date) as article_date,
        pairs.entity_a,
        ea.name as name_a,
        ea.label as label_a,
        pairs.entity_b,
        eb.name as name_b,
        eb.label as label_b
    from pairs
    join entities ea on ea.entity_id = pairs.entity_a
    join entities eb on eb.entity_id = pairs.entity_b
    join documents on documents.doc_id = pairs.doc_id
)

select * from final;
