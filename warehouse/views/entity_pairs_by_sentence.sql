-- entity_pairs_by_sentence: one row per sentence and pair of different entities it mentions
-- (entity_a < entity_b, so each pair once), with the document's date for trend queries.
-- Built on sentence_entities; the date is joined once per sentence and entity, before the pairs
-- are formed (see entity_pairs_by_document).
create or replace view entity_pairs_by_sentence as
with dated as (
    select
        sentence_entities.*,
        cast(coalesce(documents.published_at, documents.updated_at) as date) as article_date
    from sentence_entities
    inner join documents using (doc_id)
),

final as (
    select
        a.doc_id,
        a.sentence_id,
        a.article_date,
        a.entity_id as entity_a,
        a.name as name_a,
        a.label as label_a,
        b.entity_id as entity_b,
        b.name as name_b,
        b.label as label_b
    from dated as a
    inner join sentence_entities as b
        on a.doc_id = b.doc_id and a.sentence_id = b.sentence_id and a.entity_id < b.entity_id
)

select * from final;
