-- mentions: one row per named-entity mention, offsets into documents.body (end exclusive).
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view mentions as
with source as (
    select * from read_parquet('{{lake}}/mentions/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
