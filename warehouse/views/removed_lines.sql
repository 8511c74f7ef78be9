-- removed_lines: one row per input line the cleaner removed, with the reason.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view removed_lines as
with source as (
    select * from read_parquet('{{lake}}/removed_lines/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
