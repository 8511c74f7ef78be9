-- quotes: one row per direct quotation, offsets into documents.body, speaker resolved to an entity.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view quotes as
with source as (
    select * from read_parquet('{{lake}}/quotes/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
