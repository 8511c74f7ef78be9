-- documents: one row per loaded article: metadata and cleaned body.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view documents as
with source as (
    select * from read_parquet('{{lake}}/documents/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
