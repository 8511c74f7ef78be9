-- sentences: one row per sentence of a loaded article, as offsets into documents.body.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view sentences as
with source as (
    select * from read_parquet('{{lake}}/sentences/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
