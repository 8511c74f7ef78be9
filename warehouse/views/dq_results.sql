-- dq_results: one row per data-quality expectation evaluated in a run.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view dq_results as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/dq_results/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
