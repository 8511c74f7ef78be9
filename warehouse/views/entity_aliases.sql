-- entity_aliases: one row per surface form and key of a canonical entity, with counts.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view entity_aliases as
with source as (
    select * from read_parquet('{{lake}}/entity_aliases/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
