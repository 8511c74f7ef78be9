-- entity_pairs_by_document: one row per document and pair of different entities it mentions
-- (entity_a < entity_b, so each pair once), with the document's date for trend queries.
create or replace view entity_pairs_by_document as
with per_document as (
    select doc_id, entity_id, count(*) as n_mentions
    from mentions
    group by doc_id, entity_id
),

pairs as (
    select a.doc_id, a.entity_id as entity_a, b.entity_id as entity_b, a.n_mentions as n_mentions_a, b.n_mentions as n_mentions_b
    from per_document a
    join per_document b on a.doc_id = b.doc_id and a.entity_id < b.entity_id
),

final as (
    select
        pairs.doc_id,
        cast(coalesce(documents.published_at, documents.updated_at) as date) as article_date,
        pairs.entity_a,
        ea.name as name_a,
        ea.label as label_a,
        pairs.entity_b,
        eb.name as name_b,
        eb.label as label_b,
        pairs.n_mentions_a,
        pairs.n_mentions_b
    from pairs
    join entities ea on ea.entity_id = pairs.entity_a
    join entities eb on eb.entity_id = pairs.entity_b
    join documents on documents.doc_id = pairs.doc_id
)

select * from final;
