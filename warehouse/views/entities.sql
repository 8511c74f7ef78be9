-- entities: one row per canonical entity, with its voted label and mention counts.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view entities as
with source as (
    select * from read_parquet('{{lake}}/entities/*.parquet', union_by_name = true)
),

final as (
    select * from source
)

select * from final;
