-- entity_pairs_by_document: one row per document and pair of different entities it mentions
-- (entity_a < entity_b, so each pair once), with the document's date for trend queries.
-- Built on sentence_entities (mentions already grouped, names and labels joined); the date is
-- joined once per document and entity, before the pairs are formed: a document with n entities
-- has n*(n-1)/2 pairs, so joining after would cost far more.
create or replace view entity_pairs_by_document as
with per_document as (
    select doc_id, entity_id, name, label, cast(sum(n_mentions) as bigint) as n_mentions
    from sentence_entities
    group by all
),

dated as (
    select
        per_document.*,
        cast(coalesce(documents.published_at, documents.updated_at) as date) as article_date
    from per_document
    inner join documents using (doc_id)
),

final as (
    select
        a.doc_id,
        a.article_date,
        a.entity_id as entity_a,
        a.name as name_a,
        a.label as label_a,
        b.entity_id as entity_b,
        b.name as name_b,
        b.label as label_b,
        a.n_mentions as n_mentions_a,
        b.n_mentions as n_mentions_b
    from dated as a
    inner join per_document as b on a.doc_id = b.doc_id and a.entity_id < b.entity_id
)

select * from final;
