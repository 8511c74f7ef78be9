-- runs: one row per run of the flow, with its status, counts and stage timings.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view runs as
with source as (
    select * from read_parquet('{{lake}}/runs/*/*.parquet', hive_partitioning = true, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
