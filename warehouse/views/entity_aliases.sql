-- entity_aliases: one row per surface form and key of a canonical entity, with counts, computed
-- from the mentions the views show.
create or replace view entity_aliases as
with final as (
    select
        entity_id,
        text as alias,
        entity_key as alias_key,
        count(*) as n_mentions,
        count(distinct doc_id) as n_documents
    from mentions
    group by entity_id, text, entity_key
)

select * from final;
