-- quarantine: one row per input file set aside instead of loaded, with stage and reason.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view quarantine as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/quarantine/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
