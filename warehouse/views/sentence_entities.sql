-- sentence_entities: one row per sentence and entity it mentions, with the entity's name and label.
-- Recomputed with entities by every run that loads documents, over the mentions the views show.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view sentence_entities as
with source as (
    select * from read_parquet('{{lake}}/sentence_entities/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
