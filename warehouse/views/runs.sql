-- runs: one row per run of the flow, with its status, counts and stage timings.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view runs as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/runs/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
