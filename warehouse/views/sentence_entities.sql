-- sentence_entities: one row per sentence and entity it mentions, with the entity's name and
-- label, computed from the mentions the views show; the pair and co-occurrence views self-join it.
create or replace view sentence_entities as
with counted as (
    select doc_id, sentence_id, entity_id, count(*) as n_mentions
    from mentions
    group by doc_id, sentence_id, entity_id
),

final as (
    select counted.doc_id, counted.sentence_id, counted.entity_id, entities.name, entities.label, counted.n_mentions
    from counted
    inner join entities using (entity_id)
)

select * from final;
